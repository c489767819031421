"""Inference settings and the resizing rules every protocol shares (`danet.inference` runs them)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from danet.errors import ConfigError

LogitsFn = Callable[[torch.Tensor], torch.Tensor]
MODES = ("whole", "slide")
PROTOCOLS = ("danet", "official", "mmseg")
MULTI_SCALES = (0.5, 0.75, 1.0, 1.25, 1.5, 1.75)


@dataclass(frozen=True)
class InferenceConfig:
    """How to turn an image into class scores (see the module docstring for the protocols).

    `base_size` (official only): the long side at scale 1.0; None uses each image's own long side.
    `test_size`: (long, short) bounds of a keep-ratio resize applied before inference, or None.
    `pad_value`: the normalised colour the official protocol pads with (black: -mean/std).
    """

    mode: str = "whole"
    crop_size: tuple[int, int] = (768, 768)
    stride: tuple[int, int] = (512, 512)
    scales: tuple[float, ...] = (1.0,)
    flip: bool = False
    batch_size: int = 4
    align_corners: bool = False
    protocol: str = "danet"
    base_size: int | None = None
    test_size: tuple[int, int] | None = None
    pad_value: tuple[float, float, float] = (0.0, 0.0, 0.0)
    extras: dict[str, object] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ConfigError(f"unknown inference mode {self.mode!r}; use whole or slide")
        if self.protocol not in PROTOCOLS:
            raise ConfigError(f"unknown protocol {self.protocol!r}; valid: {', '.join(PROTOCOLS)}")
        if not self.scales or any(s <= 0 for s in self.scales):
            raise ConfigError(f"scales must be positive numbers, got {self.scales}")
        if min(self.crop_size) < 1 or min(self.stride) < 1:
            raise ConfigError("crop size and stride must be positive")
        if self.batch_size < 1:
            raise ConfigError("batch size must be at least 1")
        if self.base_size is not None and self.base_size < 1:
            raise ConfigError(f"base size must be positive, got {self.base_size}")
        if self.test_size is not None and min(self.test_size) < 1:
            raise ConfigError(f"test size must be two positive numbers (long, short), got {self.test_size}")

    @property
    def name(self) -> str:
        """The protocol as `--protocol` names it (``official-ms`` for official with several scales)."""
        if self.protocol == "official" and len(self.scales) > 1:
            return "official-ms"
        return self.protocol


def default_batch_size(device: str | torch.device) -> int:
    """Windows/images per forward pass when none is asked for: 8 on GPUs, where one crop leaves the
    device idle (1.2x fp32, 2.1x bf16 over one by one on an H100), 2 on the CPU, where batching does
    not pay (a window and its flip: as fast as one by one; batch 8 was 0.88x on 2 cores)."""
    return 2 if torch.device(device).type == "cpu" else 8


def keep_ratio_size(size: Sequence[int], scale: Sequence[float]) -> tuple[int, int]:
    """(height, width) after mmseg's keep-ratio resize of an image of `size` to `scale` = (long, short).

    Factor f = min(long / max(h, w), short / min(h, w)); size int(h*f + 0.5) x int(w*f + 0.5); it
    can enlarge. Example: 375 x 500 with (2048, 512) -> 512 x 683.
    """
    h, w = int(size[0]), int(size[1])
    long, short = max(scale), min(scale)  # as mmseg: the order of the two bounds does not matter
    factor = min(float(long) / max(h, w), float(short) / min(h, w))
    return max(1, int(h * factor + 0.5)), max(1, int(w * factor + 0.5))


def inference_size(size: Sequence[int], test_size: Sequence[int] | None) -> tuple[int, int]:
    """The size inference runs at: `keep_ratio_size` with `test_size`, or `size` itself."""
    return (int(size[0]), int(size[1])) if test_size is None else keep_ratio_size(size, test_size)


def resize_image(image: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """A normalised image resized bilinearly with pixel-centre alignment (as OpenCV resizes in mmseg)."""
    return resize(image, size, align_corners=False)


def resize(x: torch.Tensor, size: Sequence[int], align_corners: bool) -> torch.Tensor:
    """Bilinear resize of (B, C, h, w) to `size` (unchanged when already that size)."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=align_corners)


def scaled_size(size: Sequence[int], scale: float) -> tuple[int, int]:
    """`size` times `scale`, rounded, at least 1 pixel."""
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))
