"""The registered architectures: DANet and dilated FCN on every registered backbone."""

from __future__ import annotations

from typing import Any

from danet.errors import ConfigError
from danet.models._registry import register_model
from danet.models.backbones import list_backbones
from danet.models.config import ModelConfig
from danet.models.segmentor import FCN, DANet, Segmentor


def _build(cls: type[Segmentor], name: str, backbone: str, num_classes: int, **options: Any) -> Segmentor:
    if cls is FCN and "pam_implementation" in options:
        raise ConfigError("pam_implementation applies to DANet models only")
    return cls(ModelConfig(name=name, num_classes=num_classes, **options), backbone)


def _register(cls: type[Segmentor], prefix: str, backbone: str) -> None:
    name = f"{prefix}_{backbone}"

    def builder(*, num_classes: int, **options: Any) -> Segmentor:
        return _build(cls, name, backbone, num_classes, **options)

    builder.__name__ = name
    builder.__doc__ = f"{cls.__name__} with the {backbone} backbone."
    register_model(name)(builder)


def register_architectures(backbone: str) -> None:
    """Register ``danet_<backbone>`` and ``fcn_<backbone>`` for a registered backbone."""
    _register(DANet, "danet", backbone)
    _register(FCN, "fcn", backbone)


for _backbone in list_backbones():
    register_architectures(_backbone)
