"""The registered architectures on ResNet-18/34/50/101/152.

- ``danet_resnet*``: DANet with both attention branches (the released model);
- ``danet_pam_resnet*`` / ``danet_cam_resnet*``: the paper's single-branch ablations (Table 1);
- ``fcn_resnet*``: the dilated-FCN baseline of that table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from danet.errors import ConfigError, UnknownNameError
from danet.models._registry import list_models, register_model
from danet.models.attention import PositionAttention
from danet.models.config import ModelConfig
from danet.models.segmentor import FCN, DANet, Segmentor

DEPTHS = (18, 34, 50, 101, 152)


@dataclass(frozen=True)
class Family:
    """One kind of model: its class and, for DANet, which attention branches it has."""

    prefix: str
    cls: type[Segmentor]
    attention: tuple[str, ...] = ()
    title: str = ""


FAMILIES = (
    Family("danet", DANet, ("pam", "cam"), "DANet"),
    Family("danet_pam", DANet, ("pam",), "DANet with the position attention branch only"),
    Family("danet_cam", DANet, ("cam",), "DANet with the channel attention branch only"),
    Family("fcn", FCN, (), "Dilated FCN"),
)
_ARCHITECTURES: dict[str, tuple[Family, int]] = {}


def _instantiate(family: Family, config: ModelConfig, depth: int) -> Segmentor:
    if family.cls is FCN:
        return FCN(config, depth)
    PositionAttention.check_implementation(config.pam_implementation)  # also where there is no PAM
    return DANet(config, depth, attention=family.attention)


def _build(family: Family, name: str, depth: int, num_classes: int, **options: Any) -> Segmentor:
    if family.cls is FCN and "pam_implementation" in options:
        raise ConfigError("pam_implementation applies to DANet models only")
    return _instantiate(family, ModelConfig(name=name, num_classes=num_classes, **options), depth)


def _register(family: Family, depth: int) -> None:
    name = f"{family.prefix}_resnet{depth}"

    def builder(*, num_classes: int, **options: Any) -> Segmentor:
        return _build(family, name, depth, num_classes, **options)

    builder.__name__ = name
    builder.__doc__ = f"{family.title} with a dilated ResNet-{depth} backbone."
    register_model(name)(builder)
    _ARCHITECTURES[name] = (family, depth)


for _family in FAMILIES:
    for _depth in DEPTHS:
        _register(_family, _depth)


def _architecture(name: str) -> tuple[Family, int]:
    if name not in _ARCHITECTURES:
        raise UnknownNameError("model", name, list_models())
    return _ARCHITECTURES[name]


def model_depth(name: str) -> int:
    """The ResNet depth of registered model `name`."""
    return _architecture(name)[1]


def build_from_config(config: ModelConfig) -> Segmentor:
    """Rebuild a model from the `ModelConfig` stored in a checkpoint (its name picks the architecture)."""
    family, depth = _architecture(config.name)
    return _instantiate(family, config, depth)
