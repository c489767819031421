"""Test-time inference shared by evaluate, predict and every backend.

Everything here works on a *logits function*: a callable mapping a normalised float batch
(B, 3, h, w) to logits (B, K, h, w) at the same size. The PyTorch backend wraps a model (with
device, precision and `inference_mode`), the ONNX Runtime backend wraps a session, so sliding
windows, scales and flips are written once, for every backend.

Three protocols (`InferenceConfig.protocol`), each a pure function of the logits function:

- ``danet``: windows moved flush with the image end, softmax probabilities averaged over windows,
  flips and scales (this package). Windows, flips and (in slide mode) scales are batched.
- ``official``: the official DANet evaluator step for step (`danet.inference.official`).
- ``mmseg``: mmsegmentation's test pipeline (`danet.inference.mmseg`).

`InferenceConfig.test_size` (LONG, SHORT) first resizes each image keep-ratio as mmsegmentation's
`Resize(keep_ratio=True)` does; every protocol returns its scores at the ORIGINAL image size.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from danet.errors import ConfigError
from danet.inference.settings import (
    MODES,
    MULTI_SCALES,
    PROTOCOLS,
    InferenceConfig,
    LogitsFn,
    default_batch_size,
    inference_size,
    keep_ratio_size,
    resize,
    resize_image,
    scaled_size,
)


@dataclass
class _Window:
    scale: int  # index into the scale list
    y: int
    x: int


def window_starts(length: int, crop: int, stride: int) -> list[int]:
    """Start offsets of windows of size `crop` covering `length`; the last one is flush with the end."""
    if length <= crop:
        return [0]
    count = math.ceil((length - crop) / stride) + 1
    return [min(i * stride, length - crop) for i in range(count)]


def predict_probs(image: torch.Tensor, forward: LogitsFn, config: InferenceConfig) -> torch.Tensor:
    """Class probabilities (B, K, H, W) at the size of a normalised batch (B, 3, H, W).

    For the official protocol these are its scores divided by their sum over classes (same argmax).
    """
    if image.ndim != 4 or image.shape[1] != 3:
        raise ConfigError(f"expected a (B, 3, H, W) batch, got shape {tuple(image.shape)}")
    if config.protocol == "official":
        from danet.inference.official import official_log_scores

        return torch.softmax(official_log_scores(image, forward, config), dim=1)
    if config.protocol == "mmseg":
        from danet.inference.mmseg import mmseg_probs

        return mmseg_probs(image, forward, config)
    size = tuple(image.shape[-2:])
    resized = resize_image(image, inference_size(size, config.test_size))
    if config.mode == "whole":
        probs = _predict_whole(resized, forward, config)
    else:
        probs = _predict_slide(resized, forward, config)
    return resize(probs, size, config.align_corners)


def predict_mask(image: torch.Tensor, forward: LogitsFn, config: InferenceConfig) -> torch.Tensor:
    """Class ids (B, H, W) for a normalised batch."""
    return predict_probs(image, forward, config).argmax(dim=1)


def _flip_batch(x: torch.Tensor, flip: bool) -> torch.Tensor:
    return torch.cat([x, x.flip(-1)]) if flip else x  # (2B, ...) when flipping


def _unflip_mean(probs: torch.Tensor, batch: int, flip: bool) -> torch.Tensor:
    if not flip:
        return probs
    return 0.5 * (probs[:batch] + probs[batch:].flip(-1))  # (B, K, h, w)


def _predict_whole(image: torch.Tensor, forward: LogitsFn, config: InferenceConfig) -> torch.Tensor:
    b, _, h, w = image.shape
    total: torch.Tensor | None = None
    for scale in config.scales:
        scaled = resize(image, scaled_size((h, w), scale), config.align_corners)
        probs = _run_batched(_flip_batch(scaled, config.flip), forward, config.batch_size)
        probs = resize(_unflip_mean(probs, b, config.flip), (h, w), config.align_corners)
        total = probs if total is None else total + probs
    return total / len(config.scales)


def _run_batched(batch: torch.Tensor, forward: LogitsFn, batch_size: int) -> torch.Tensor:
    outputs = [
        torch.softmax(forward(batch[i : i + batch_size]).float(), dim=1)
        for i in range(0, batch.shape[0], batch_size)
    ]
    return torch.cat(outputs)


def _predict_slide(image: torch.Tensor, forward: LogitsFn, config: InferenceConfig) -> torch.Tensor:
    b, _, h, w = image.shape
    crop_h, crop_w = config.crop_size
    scaled = [
        _pad_to(resize(image, scaled_size((h, w), s), config.align_corners), config.crop_size)
        for s in config.scales
    ]
    windows = [
        _Window(i, y, x)
        for i, img in enumerate(scaled)
        for y in window_starts(img.shape[2], crop_h, config.stride[0])
        for x in window_starts(img.shape[3], crop_w, config.stride[1])
    ]
    sums: list[torch.Tensor | None] = [None] * len(scaled)
    counts = [img.new_zeros(1, 1, img.shape[2], img.shape[3]) for img in scaled]
    per_forward = max(1, config.batch_size // (b * (2 if config.flip else 1)))
    for group in _chunks(windows, per_forward):
        crops = torch.cat(
            [scaled[wd.scale][:, :, wd.y : wd.y + crop_h, wd.x : wd.x + crop_w] for wd in group]
        )
        probs = _run_batched(_flip_batch(crops, config.flip), forward, crops.shape[0] * 2)
        probs = _unflip_mean(probs, crops.shape[0], config.flip)  # (len(group)*B, K, ch, cw)
        for j, wd in enumerate(group):
            if sums[wd.scale] is None:
                img = scaled[wd.scale]
                sums[wd.scale] = probs.new_zeros(b, probs.shape[1], img.shape[2], img.shape[3])
            sums[wd.scale][:, :, wd.y : wd.y + crop_h, wd.x : wd.x + crop_w] += probs[j * b : (j + 1) * b]
            counts[wd.scale][:, :, wd.y : wd.y + crop_h, wd.x : wd.x + crop_w] += 1
    total = None
    for i, scale in enumerate(config.scales):
        sh, sw = scaled_size((h, w), scale)
        probs = (sums[i] / counts[i])[:, :, :sh, :sw]  # drop the padding
        probs = resize(probs, (h, w), config.align_corners)
        total = probs if total is None else total + probs
    return total / len(config.scales)


def _pad_to(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Zero-pad (in normalised space, i.e. the mean colour) at the bottom/right up to `size`."""
    pad_h, pad_w = max(0, size[0] - x.shape[2]), max(0, size[1] - x.shape[3])
    return F.pad(x, (0, pad_w, 0, pad_h)) if pad_h or pad_w else x


def _chunks(items: list[_Window], size: int) -> Iterator[list[_Window]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


__all__ = [
    "MODES",
    "MULTI_SCALES",
    "PROTOCOLS",
    "InferenceConfig",
    "LogitsFn",
    "default_batch_size",
    "inference_size",
    "keep_ratio_size",
    "predict_mask",
    "predict_probs",
    "resize",
    "resize_image",
    "scaled_size",
    "window_starts",
]
