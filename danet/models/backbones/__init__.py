"""Backbones by name: `create_backbone("resnet50", stem=..., output_stride=..., multi_grid=...)`.

A backbone maps a (B, 3, H, W) image batch to the features ``(c3, c4)`` at the output stride, and
says how wide they are (``c3_channels``, ``out_channels``). A new backbone is one module here that
calls `register_backbone` for each of its names, imported below; `danet.models.zoo` then builds the
DANet and FCN of every registered backbone.
"""

from danet.models.backbones import resnet as _resnet  # noqa: F401  (registers resnet18 ... resnet152)
from danet.models.backbones._registry import (
    Backbone,
    create_backbone,
    list_backbones,
    register_backbone,
)
from danet.models.backbones.resnet import (
    DEPTHS,
    STEMS,
    BasicBlock,
    Bottleneck,
    ResNet,
    load_backbone_state_dict,
)

__all__ = [
    "DEPTHS",
    "STEMS",
    "Backbone",
    "BasicBlock",
    "Bottleneck",
    "ResNet",
    "create_backbone",
    "list_backbones",
    "load_backbone_state_dict",
    "register_backbone",
]
