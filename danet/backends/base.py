"""The inference backend interface: a model file in, a logits function out.

`ModelMeta` lives in `danet.checkpoints.meta`; it is re-exported here for older imports.
"""

from __future__ import annotations

from typing import Protocol

import torch

from danet.checkpoints.meta import IMAGENET_MEAN, IMAGENET_STD, ModelMeta


class Backend(Protocol):
    """A loaded model: `forward` maps a normalised (B, 3, h, w) float batch to (B, K, h, w) logits."""

    name: str
    meta: ModelMeta
    device: torch.device

    def forward(self, batch: torch.Tensor) -> torch.Tensor: ...


__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "Backend", "ModelMeta"]
