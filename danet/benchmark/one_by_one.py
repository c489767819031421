"""The one-by-one evaluation loop (every scale, window and flip its own forward pass, as the official
DANet code runs them) as a reference for `danet.inference.predict_probs`, which batches them, and a
side-by-side timing of the two."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from danet.inference import InferenceConfig, LogitsFn, predict_probs, resize, scaled_size, window_starts


def one_by_one_probs(image: torch.Tensor, forward: LogitsFn, config: InferenceConfig) -> torch.Tensor:
    """Class probabilities (B, K, H, W) with every image, scale, window and flip run alone."""
    return torch.cat([_image_probs(image[i : i + 1], forward, config) for i in range(image.shape[0])])


def _single(crop: torch.Tensor, forward: LogitsFn, flip: bool) -> torch.Tensor:
    probs = torch.softmax(forward(crop).float(), dim=1)  # (1, K, h, w)
    if flip:
        flipped = torch.softmax(forward(crop.flip(-1)).float(), dim=1).flip(-1)
        probs = 0.5 * (probs + flipped)
    return probs


def _image_probs(image: torch.Tensor, forward: LogitsFn, config: InferenceConfig) -> torch.Tensor:
    h, w = image.shape[-2:]
    total = 0.0
    for scale in config.scales:
        scaled = resize(image, scaled_size((h, w), scale), config.align_corners)
        if config.mode == "whole":
            probs = _single(scaled, forward, config.flip)
        else:
            probs = _slide(scaled, forward, config)
        total = total + resize(probs, (h, w), config.align_corners)
    return total / len(config.scales)


def _slide(image: torch.Tensor, forward: LogitsFn, config: InferenceConfig) -> torch.Tensor:
    sh, sw = image.shape[-2:]
    crop_h, crop_w = config.crop_size
    padded = F.pad(image, (0, max(0, crop_w - sw), 0, max(0, crop_h - sh)))  # bottom/right
    ph, pw = padded.shape[-2:]
    windows = [
        (y, x)
        for y in window_starts(ph, crop_h, config.stride[0])
        for x in window_starts(pw, crop_w, config.stride[1])
    ]
    counts = padded.new_zeros(1, 1, ph, pw)
    sums = None  # (1, K, ph, pw) once the number of classes is known
    for y, x in windows:
        probs = _single(padded[:, :, y : y + crop_h, x : x + crop_w], forward, config.flip)
        if sums is None:
            sums = probs.new_zeros(1, probs.shape[1], ph, pw)
        sums[:, :, y : y + crop_h, x : x + crop_w] += probs
        counts[:, :, y : y + crop_h, x : x + crop_w] += 1
    return (sums / counts)[:, :, :sh, :sw]


def time_interleaved(
    runners: dict[str, Callable[[], torch.Tensor]], rounds: int
) -> tuple[dict[str, list[float]], dict[str, torch.Tensor]]:
    """Run each probability function once per round, interleaved (A, B, A, B); the seconds of every
    run and each one's last mask, moved to the host (which waits for the device)."""
    times: dict[str, list[float]] = {name: [] for name in runners}
    masks: dict[str, torch.Tensor] = {}
    for _ in range(rounds):
        for name, run in runners.items():
            start = time.perf_counter()
            masks[name] = run().argmax(dim=1).cpu()
            times[name].append(time.perf_counter() - start)
    return times, masks


def compare_batched(
    image: torch.Tensor, forward: LogitsFn, config: InferenceConfig, *, rounds: int = 2
) -> dict[str, Any]:
    """Time `one_by_one_probs` and `predict_probs` interleaved (A, B, A, B) and compare predictions."""
    times, masks = time_interleaved(
        {
            "one_by_one": lambda: one_by_one_probs(image, forward, config),
            "batched": lambda: predict_probs(image, forward, config),
        },
        rounds,
    )
    one, batched = (statistics.median(times[k]) for k in ("one_by_one", "batched"))
    agreement = (masks["one_by_one"] == masks["batched"]).float().mean().item()
    return {
        "one_by_one_s": one,
        "batched_s": batched,
        "speedup": one / batched,
        "pixel_agreement": agreement,
        "times_s": times,
        "forward_passes": count_forwards(image, config),
    }


def count_forwards(image: torch.Tensor, config: InferenceConfig) -> int:
    """Forward passes the one-by-one loop makes for `image`."""
    h, w = image.shape[-2:]
    per_image = 0
    for scale in config.scales:
        sh, sw = scaled_size((h, w), scale)
        if config.mode == "whole":
            per_image += 1
            continue
        rows = window_starts(max(sh, config.crop_size[0]), config.crop_size[0], config.stride[0])
        cols = window_starts(max(sw, config.crop_size[1]), config.crop_size[1], config.stride[1])
        per_image += len(rows) * len(cols)
    return per_image * image.shape[0] * (2 if config.flip else 1)
