"""The backbone registry: names -> builders of feature extractors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import torch
from torch import nn

from danet.errors import ConfigError, UnknownNameError


class Backbone(Protocol):
    """What a segmentor needs from its backbone."""

    c3_channels: int  # channels of c3 (the auxiliary head's input)
    out_channels: int  # channels of c4 (the main head's input)

    def __call__(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]: ...


_BUILDERS: dict[str, Callable[..., nn.Module]] = {}


def register_backbone(name: str) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Register `builder(*, stem, output_stride, multi_grid) -> Backbone` under `name`; twice is an error."""

    def decorate(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _BUILDERS:
            raise ConfigError(f"backbone {name!r} is already registered")
        _BUILDERS[name] = builder
        return builder

    return decorate


def list_backbones() -> list[str]:
    """Registered backbone names, in registration order."""
    return list(_BUILDERS)


def create_backbone(name: str, **options: Any) -> nn.Module:
    """Build the backbone `name` with `options` (``stem``, ``output_stride``, ``multi_grid``)."""
    if name not in _BUILDERS:
        raise UnknownNameError("backbone", name, list_backbones())
    return _BUILDERS[name](**options)
