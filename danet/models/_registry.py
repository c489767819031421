"""Model registry: builders by name, `create_model` and `list_models`."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import fields
from typing import Any

from torch import nn

from danet.errors import ConfigError, UnknownNameError
from danet.models.model_config import ModelConfig

_BUILDERS: dict[str, Callable[..., nn.Module]] = {}
_CONFIG_FIELDS = {f.name for f in fields(ModelConfig)}


def register_model(name: str) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Register a builder under `name`; registering a name twice is an error."""

    def decorate(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _BUILDERS:
            raise ConfigError(f"model {name!r} is already registered")
        _BUILDERS[name] = builder
        return builder

    return decorate


def list_models(pattern: str | None = None) -> list[str]:
    """Registered model names, optionally filtered by a glob pattern (e.g. ``"danet_*"``)."""
    names = sorted(_BUILDERS, key=_natural_key)
    return [n for n in names if pattern is None or fnmatch.fnmatch(n, pattern)]


def _natural_key(name: str) -> tuple[str, int, str]:
    """Sort danet_resnet18 before danet_resnet101: the trailing number compares as a number."""
    stem = name.rstrip("0123456789")
    number = name[len(stem) :]
    return (stem, int(number) if number else -1, name)


def create_model(name: str, *, num_classes: int, **options: Any) -> nn.Module:
    """Build a model by name. Never touches the network or the disk.

    Names: ``danet_resnet{18,34,50,101,152}``, the single-branch ablations ``danet_pam_resnet*`` and
    ``danet_cam_resnet*``, and the dilated-FCN baseline ``fcn_resnet*`` (see `list_models`).
    Options: ``stem`` (7x7 | v1c | s), ``output_stride`` (8 | 16), ``multi_grid``, ``aux``,
    ``align_corners``, ``dropout``, ``pam_implementation`` (DANet only).
    """
    if name not in _BUILDERS:
        raise UnknownNameError("model", name, list_models())
    try:
        model = _BUILDERS[name](num_classes=num_classes, **options)
    except TypeError as error:
        raise ConfigError(f"bad options for model {name!r}: {error}") from None
    if not isinstance(getattr(model, "config", None), ModelConfig) and set(options) <= _CONFIG_FIELDS:
        # a user builder returned a plain module: record how it was made, so it can be saved and rebuilt
        model.config = ModelConfig(name=name, num_classes=num_classes, **options)
    return model


def build_from_config(config: ModelConfig) -> nn.Module:
    """Rebuild a model from the `ModelConfig` stored in a checkpoint, through the registry.

    Only the options that differ from their defaults are passed, so a builder sees the options it
    was created with (the defaults are its own).
    """
    return create_model(config.name, num_classes=config.num_classes, **config.options())
