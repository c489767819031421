"""The official DANet evaluator (v0.5.0 `MultiEvalModule`) step for step, for any logits function.

Per image of size h x w and per scale s: the long side becomes ceil(base_size * s) and the short
side int(short * long / long_original + 0.5); the normalised image is resized to that (bilinear,
align_corners=True) and padded bottom/right with black (`pad_value`, i.e. -mean/std) to at least
the crop. Windows start at multiples of the stride (the last row/column is NOT moved back flush;
it is padded with black instead), each window is padded to the crop and scored as
exp(L + flip(L of the flipped padded window)), the window scores are summed and divided by the
number of windows covering each pixel, the padding is cut off, the map is resized to h x w
(bilinear, align_corners=True) and the maps of all scales are SUMMED. Prediction = argmax.

Numerics: the raw exp overflows float32 for logits above ~88, so everything is computed in log
space, which is order-preserving and exact up to rounding: the window sum is a `logaddexp`, the
count division a subtraction of log(count), the bilinear resize of the exp-scores is done as
log-sum-exp over the same two taps and weights per axis that `F.interpolate(align_corners=True)`
uses, and the sum over scales is again a `logaddexp`. `official_log_scores` returns log(scores);
its argmax is the official prediction, and its softmax over classes is the scores normalised per
pixel. Windows of one scale (and their flips) are batched: the result is the same.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from danet.inference.settings import InferenceConfig, LogitsFn, inference_size, resize_image

OFFICIAL_MULTI_SCALES = (0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.2)


def official_stride(crop: int, num_scales: int) -> int:
    """int(crop * 2/3) for one scale, int(crop / 2) for several (as the official evaluator)."""
    return int(crop * 2.0 / 3.0) if num_scales == 1 else int(crop * 1.0 / 2.0)


def official_size(size: Sequence[int], base_size: int, scale: float) -> tuple[int, int]:
    """(height, width) of an image of `size` at `scale`: long side ceil(base_size * scale)."""
    h, w = int(size[0]), int(size[1])
    long = int(math.ceil(base_size * scale))
    if h > w:
        return long, int(1.0 * w * long / h + 0.5)
    return int(1.0 * h * long / w + 0.5), long


def official_window_starts(length: int, crop: int, stride: int) -> list[int]:
    """Window starts along an axis of padded `length`: multiples of the stride, never moved flush."""
    count = int(math.ceil(max(0, length - crop) / stride)) + 1
    return [i * stride for i in range(count)]


def official_log_scores(image: torch.Tensor, forward: LogitsFn, config: InferenceConfig) -> torch.Tensor:
    """log of the official scores (B, K, H, W) for a normalised batch (B, 3, H, W); see the module."""
    size = tuple(image.shape[-2:])
    work = resize_image(image, inference_size(size, config.test_size))
    base = config.base_size or max(work.shape[-2:])
    total: torch.Tensor | None = None
    for scale in config.scales:
        height, width = official_size(work.shape[-2:], base, scale)
        scaled = F.interpolate(work, size=(height, width), mode="bilinear", align_corners=True)
        scores = _scale_log_scores(scaled, forward, config)[:, :, :height, :width]
        scores = log_resize(scores, work.shape[-2:])
        total = scores if total is None else torch.logaddexp(total, scores)
    assert total is not None  # InferenceConfig guarantees at least one scale
    return log_resize(total, size)


def _pad(x: torch.Tensor, height: int, width: int, value: Sequence[float]) -> torch.Tensor:
    """Pad (B, 3, h, w) bottom/right to height x width with the per-channel `value`."""
    pad_h, pad_w = height - x.shape[2], width - x.shape[3]
    if pad_h <= 0 and pad_w <= 0:
        return x
    out = x.new_empty(x.shape[0], x.shape[1], max(height, x.shape[2]), max(width, x.shape[3]))
    out[:] = torch.tensor(value, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    out[:, :, : x.shape[2], : x.shape[3]] = x
    return out


def _scale_log_scores(scaled: torch.Tensor, forward: LogitsFn, config: InferenceConfig) -> torch.Tensor:
    """log(window scores summed / count) over the black-padded image (B, K, ph, pw)."""
    b = scaled.shape[0]
    crop_h, crop_w = config.crop_size
    padded = _pad(scaled, crop_h, crop_w, config.pad_value)  # (B, 3, ph, pw)
    ph, pw = padded.shape[-2:]
    starts = [
        (y, x)
        for y in official_window_starts(ph, crop_h, config.stride[0])
        for x in official_window_starts(pw, crop_w, config.stride[1])
    ]
    acc: torch.Tensor | None = None
    count = padded.new_zeros(1, 1, ph, pw)
    per_forward = max(1, config.batch_size // (b * (2 if config.flip else 1)))
    for first in range(0, len(starts), per_forward):
        group = starts[first : first + per_forward]
        windows = torch.cat([_window(padded, y, x, crop_h, crop_w, config) for y, x in group])
        logits = _window_logits(windows, forward, config.flip)  # (len(group)*B, K, crop_h, crop_w)
        if acc is None:
            acc = logits.new_full((b, logits.shape[1], ph, pw), float("-inf"))
        for j, (y, x) in enumerate(group):
            y1, x1 = min(y + crop_h, ph), min(x + crop_w, pw)
            part = logits[j * b : (j + 1) * b, :, : y1 - y, : x1 - x]
            acc[:, :, y:y1, x:x1] = torch.logaddexp(acc[:, :, y:y1, x:x1], part)
            count[:, :, y:y1, x:x1] += 1
    assert acc is not None  # there is always at least one window
    return acc - count.log()


def _window(
    padded: torch.Tensor, y: int, x: int, crop_h: int, crop_w: int, config: InferenceConfig
) -> torch.Tensor:
    """The window at (y, x), padded bottom/right with black to crop_h x crop_w."""
    crop = padded[:, :, y : y + crop_h, x : x + crop_w]
    return _pad(crop, crop_h, crop_w, config.pad_value)


def _window_logits(windows: torch.Tensor, forward: LogitsFn, flip: bool) -> torch.Tensor:
    """L, or L + flip(L of the flipped window) with flip: the log of the official exp(...) score."""
    n = windows.shape[0]
    batch = torch.cat([windows, windows.flip(-1)]) if flip else windows  # (2N or N, 3, ch, cw)
    logits = forward(batch).float()
    return logits[:n] + logits[n:].flip(-1) if flip else logits


def log_resize(log_x: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """log(bilinear align_corners=True resize of exp(log_x)), computed without leaving log space."""
    out = _log_resize_axis(log_x, int(size[0]), dim=2)
    return _log_resize_axis(out, int(size[1]), dim=3)


def _log_resize_axis(log_x: torch.Tensor, length: int, dim: int) -> torch.Tensor:
    source = log_x.shape[dim]
    if source == length:
        return log_x
    scale = (source - 1) / (length - 1) if length > 1 else 0.0
    position = torch.arange(length, dtype=torch.float64, device=log_x.device) * scale
    low = position.floor().clamp(max=source - 1).long()
    high = (low + 1).clamp(max=source - 1)
    weight = (position - low.to(torch.float64)).clamp(0.0, 1.0)
    shape = [1] * log_x.ndim
    shape[dim] = length
    log_high = weight.log().to(log_x.dtype).view(shape)  # log(t), -inf where t = 0
    log_low = torch.log1p(-weight).to(log_x.dtype).view(shape)  # log(1 - t)
    return torch.logaddexp(log_x.index_select(dim, low) + log_low, log_x.index_select(dim, high) + log_high)
