"""mmsegmentation's test pipeline (`EncoderDecoder.inference` / `aug_test`) for any logits function.

Per ratio r of `scales` (1.0 alone for single-scale): the image is resized keep-ratio to the test
scale (long, short) * r (`test_size`, or the image's own size), then:

- whole mode: the logits of the resized image;
- slide mode: flush windows on the resized image (grid max(H - crop + stride - 1, 0) // stride + 1
  per axis, the last window moved back to end at the border, an image smaller than the crop run
  unpadded at its own size), window LOGITS summed and divided by the count map;

the logits are resized to the ORIGINAL size (bilinear, the model's align_corners), then softmax.
With flip the flipped image goes through the same steps and its softmax is flipped back. The
softmax maps of every ratio and flip are averaged. Windows (and flipped images) of one size are
batched: the result is the same.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from danet.inference.settings import InferenceConfig, LogitsFn, keep_ratio_size, resize, resize_image


def mmseg_window_starts(length: int, crop: int, stride: int) -> list[int]:
    """Window starts along an axis: mmseg's grid, the last window moved back to end flush."""
    count = max(length - crop + stride - 1, 0) // stride + 1
    return [max(min(i * stride + crop, length) - crop, 0) for i in range(count)]


def mmseg_sizes(size: Sequence[int], config: InferenceConfig) -> list[tuple[int, int]]:
    """The resized (height, width) of each ratio: the test scale (or the image's own) times the ratio."""
    h, w = int(size[0]), int(size[1])
    long, short = config.test_size if config.test_size is not None else (max(h, w), min(h, w))
    return [keep_ratio_size((h, w), (int(long * r), int(short * r))) for r in config.scales]


def mmseg_probs(image: torch.Tensor, forward: LogitsFn, config: InferenceConfig) -> torch.Tensor:
    """Softmax scores (B, K, H, W) for a normalised batch (B, 3, H, W); see the module docstring."""
    b = image.shape[0]
    size = tuple(image.shape[-2:])
    total: torch.Tensor | None = None
    for resized_size in mmseg_sizes(size, config):
        resized = resize_image(image, resized_size)
        batch = torch.cat([resized, resized.flip(-1)]) if config.flip else resized  # (2B or B, 3, h, w)
        if config.mode == "whole":
            logits = _batched(batch, forward, config.batch_size)
        else:
            logits = _slide_logits(batch, forward, config)
        probs = torch.softmax(resize(logits, size, config.align_corners), dim=1)
        if config.flip:
            probs = torch.cat([probs[:b], probs[b:].flip(-1)])  # flipped outputs flipped back
        probs = probs.view(-1, b, *probs.shape[1:]).sum(0)  # (B, K, H, W): sum over flips
        total = probs if total is None else total + probs
    assert total is not None  # InferenceConfig guarantees at least one scale
    return total / (len(config.scales) * (2 if config.flip else 1))


def _batched(batch: torch.Tensor, forward: LogitsFn, batch_size: int) -> torch.Tensor:
    """forward over `batch` in chunks of `batch_size`, float logits concatenated."""
    return torch.cat(
        [forward(batch[i : i + batch_size]).float() for i in range(0, batch.shape[0], batch_size)]
    )


def _slide_logits(image: torch.Tensor, forward: LogitsFn, config: InferenceConfig) -> torch.Tensor:
    """Window logits averaged over the count map, at the size of `image` (N, K, h, w)."""
    n, _, h, w = image.shape
    crop_h, crop_w = min(config.crop_size[0], h), min(config.crop_size[1], w)
    starts = [
        (y, x)
        for y in mmseg_window_starts(h, config.crop_size[0], config.stride[0])
        for x in mmseg_window_starts(w, config.crop_size[1], config.stride[1])
    ]
    total: torch.Tensor | None = None
    count = image.new_zeros(1, 1, h, w)
    per_forward = max(1, config.batch_size // n)
    for first in range(0, len(starts), per_forward):
        group = starts[first : first + per_forward]
        windows = torch.cat([image[:, :, y : y + crop_h, x : x + crop_w] for y, x in group])
        logits = forward(windows).float()  # (len(group)*N, K, crop_h, crop_w)
        if total is None:
            total = logits.new_zeros(n, logits.shape[1], h, w)
        for j, (y, x) in enumerate(group):
            total[:, :, y : y + crop_h, x : x + crop_w] += logits[j * n : (j + 1) * n]
            count[:, :, y : y + crop_h, x : x + crop_w] += 1
    assert total is not None  # there is always at least one window
    return total / count
