"""DANet models: backbones, attention modules, heads and the model registry."""

from danet.models import zoo as _zoo  # noqa: F401  (registers the architectures)
from danet.models._registry import build_from_config, create_model, list_models, register_model
from danet.models.attention import ChannelAttention, PositionAttention
from danet.models.backbones import (
    ResNet,
    create_backbone,
    list_backbones,
    load_backbone_state_dict,
    register_backbone,
)
from danet.models.model_config import ModelConfig
from danet.models.segmentor import FCN, DANet, Segmentor
from danet.models.zoo import register_architectures

__all__ = [
    "DANet",
    "FCN",
    "ChannelAttention",
    "ModelConfig",
    "PositionAttention",
    "ResNet",
    "Segmentor",
    "build_from_config",
    "create_backbone",
    "create_model",
    "list_backbones",
    "list_models",
    "load_backbone_state_dict",
    "register_architectures",
    "register_backbone",
    "register_model",
]
