"""Model registry: builders by name, `create_model` and `list_models`."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from typing import Any

from torch import nn

from danet.errors import ConfigError, UnknownNameError

_BUILDERS: dict[str, Callable[..., nn.Module]] = {}


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


def _natural_key(name: str) -> tuple[str, int]:
    prefix, _, depth = name.rpartition("resnet")
    return (prefix, int(depth) if depth.isdigit() else 0)


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
        return _BUILDERS[name](num_classes=num_classes, **options)
    except TypeError as error:
        raise ConfigError(f"bad options for model {name!r}: {error}") from None
