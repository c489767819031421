"""Refuse whole-image inference that would clearly not fit in the free memory of its device.

One check for every caller of whole-image inference (`danet predict`, `danet evaluate`, the Python
`Predictor`), before the forward pass: an out-of-memory crash halfway through a split is the worst way
to learn that `--mode slide` was needed.
"""

from __future__ import annotations

import torch

from danet.inference.settings import InferenceConfig, inference_size


def free_memory(device: torch.device) -> int | None:
    """Bytes still free on `device` (CUDA: the driver's count; CPU: MemAvailable), None where unknown."""
    from danet.limits import available_memory_bytes

    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    return available_memory_bytes() if device.type == "cpu" else None


def check_inference_memory(
    config: InferenceConfig, *, batch: int, height: int, width: int, classes: int, device: torch.device
) -> None:
    """Raise `NotEnoughMemoryError` when whole-image inference of `batch` images of `height` x `width`
    is estimated to need more than `device` has free; sliding windows (and the official protocol, which
    always slides) are not checked: their memory is that of one window."""
    from danet.limits import check_whole_image_memory, whole_image_bytes

    if config.mode != "whole" or config.protocol == "official":
        return
    h, w = inference_size((height, width), config.test_size)
    largest = max(config.scales)
    h, w = max(h, round(h * largest)), max(w, round(w * largest))
    copies = 2 if config.flip else 1
    needed = whole_image_bytes(h, w, batch=batch, classes=classes, scales=copies)
    check_whole_image_memory(needed, free_memory(device), (height, width), str(device))
