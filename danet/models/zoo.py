"""The registered architectures: DANet and dilated FCN on ResNet-18/34/50/101/152."""

from __future__ import annotations

from typing import Any

from danet.errors import ConfigError
from danet.models._registry import register_model
from danet.models.config import ModelConfig
from danet.models.segmentor import FCN, DANet, Segmentor

DEPTHS = (18, 34, 50, 101, 152)


def _build(cls: type[Segmentor], name: str, depth: int, num_classes: int, **options: Any) -> Segmentor:
    if cls is FCN and "pam_implementation" in options:
        raise ConfigError("pam_implementation applies to DANet models only")
    return cls(ModelConfig(name=name, num_classes=num_classes, **options), depth)


def _register(cls: type[Segmentor], prefix: str, depth: int) -> None:
    name = f"{prefix}_resnet{depth}"

    def builder(*, num_classes: int, **options: Any) -> Segmentor:
        return _build(cls, name, depth, num_classes, **options)

    builder.__name__ = name
    builder.__doc__ = f"{cls.__name__} with a dilated ResNet-{depth} backbone."
    register_model(name)(builder)


for _depth in DEPTHS:
    _register(DANet, "danet", _depth)
    _register(FCN, "fcn", _depth)


def model_depth(name: str) -> int:
    """The ResNet depth encoded in a registered model name."""
    return int(name.rsplit("resnet", 1)[1])


def build_from_config(config: ModelConfig) -> Segmentor:
    """Rebuild a model from the `ModelConfig` stored in a checkpoint."""
    cls = DANet if config.name.startswith("danet_") else FCN
    return cls(config, model_depth(config.name))
