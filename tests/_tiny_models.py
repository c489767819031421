"""A tiny backbone registered the way user code adds one, and checkpoints of kilobytes built on it.

Registering `tiny_cnn` also checks the extension path: one module, one `register_backbone`, then
`register_architectures` gives `danet_tiny_cnn` and `fcn_tiny_cnn`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from danet.checkpoints import save_checkpoint
from danet.models import create_model, list_backbones, register_architectures, register_backbone

BACKBONE = "tiny_cnn"
MODEL = f"danet_{BACKBONE}"
CLASSES = ["sky", "road", "car"]
PALETTE = [[70, 130, 180], [128, 64, 128], [0, 0, 142]]


class TinyBackbone(nn.Module):
    """Two strided convs: c3 (B, 16, H/8, W/8) and c4 (B, 32, H/8, W/8)."""

    c3_channels = 16
    out_channels = 32

    def __init__(self, **_: Any) -> None:
        super().__init__()
        self.stage3 = nn.Sequential(nn.Conv2d(3, 16, 3, stride=8, padding=1), nn.BatchNorm2d(16), nn.ReLU())
        self.stage4 = nn.Sequential(nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU())

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        c3 = self.stage3(x)  # (B, 16, H/8, W/8)
        return c3, self.stage4(c3)  # (B, 32, H/8, W/8)


def register_tiny() -> None:
    """Register the tiny backbone and its DANet/FCN once per process."""
    if BACKBONE not in list_backbones():
        register_backbone(BACKBONE)(TinyBackbone)
        register_architectures(BACKBONE)


def tiny_model(num_classes: int = len(CLASSES), seed: int = 0) -> nn.Module:
    register_tiny()
    torch.manual_seed(seed)
    return create_model(MODEL, num_classes=num_classes).eval()


def tiny_checkpoint(path: Path, *, data_root: Path | None = None, seed: int = 0) -> Path:
    """A danet checkpoint of the tiny DANet trained (so the config says) on a `folder` dataset."""
    dataset = {"name": "folder", "class_names": CLASSES, "palette": PALETTE, "ignore_index": 255}
    config = {"dataset": "folder", "data_root": str(data_root) if data_root else None, "model": MODEL}
    return save_checkpoint(path, tiny_model(seed=seed), dataset=dataset, config=config)
