"""The registered architectures: every model family on every registered backbone.

- ``danet_<backbone>``: DANet with both attention branches (the released model);
- ``danet_pam_<backbone>`` / ``danet_cam_<backbone>``: the paper's single-branch ablations (Table 1);
- ``fcn_<backbone>``: the dilated-FCN baseline of that table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from danet.errors import ConfigError
from danet.models._registry import register_model
from danet.models.attention import PositionAttention
from danet.models.backbones import list_backbones
from danet.models.model_config import ModelConfig
from danet.models.segmentor import FCN, DANet, Segmentor


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


def _build(family: Family, name: str, backbone: str, num_classes: int, **options: Any) -> Segmentor:
    if family.cls is FCN:
        if "pam_implementation" in options:
            raise ConfigError("pam_implementation applies to DANet models only")
        return FCN(ModelConfig(name=name, num_classes=num_classes, **options), backbone)
    config = ModelConfig(name=name, num_classes=num_classes, **options)
    PositionAttention.check_implementation(config.pam_implementation)  # also where there is no PAM
    return DANet(config, backbone, attention=family.attention)


def _register(family: Family, backbone: str) -> None:
    name = f"{family.prefix}_{backbone}"

    def builder(*, num_classes: int, **options: Any) -> Segmentor:
        return _build(family, name, backbone, num_classes, **options)

    builder.__name__ = name
    builder.__doc__ = f"{family.title} with the {backbone} backbone."
    register_model(name)(builder)


def register_architectures(backbone: str) -> None:
    """Register every model family (``danet_``, ``danet_pam_``, ``danet_cam_``, ``fcn_``) on a backbone."""
    for family in FAMILIES:
        _register(family, backbone)


for _backbone in list_backbones():
    register_architectures(_backbone)
