"""The inference backend interface: a model file in, a logits function out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import torch

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class ModelMeta:
    """What inference needs to know besides the weights."""

    model_name: str
    num_classes: int
    class_names: tuple[str, ...] = ()
    palette: tuple[tuple[int, int, int], ...] = ()
    ignore_index: int = 255
    dataset: str = ""
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    align_corners: bool = True
    origin: str = "danet"  # who trained the weights: danet | official | mmseg (picks the protocol)
    origin_config: str = ""  # the mmseg config name when known, e.g. danet_r50-d8_769x769_40k_cityscapes
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def names(self) -> tuple[str, ...]:
        """Class names, or class_0 ... when the file carries none."""
        return self.class_names or tuple(f"class_{i}" for i in range(self.num_classes))


class Backend(Protocol):
    """A loaded model: `forward` maps a normalised (B, 3, h, w) float batch to (B, K, h, w) logits."""

    name: str
    meta: ModelMeta
    device: torch.device

    def forward(self, batch: torch.Tensor) -> torch.Tensor: ...
