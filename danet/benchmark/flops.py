"""FLOP counts (on fake tensors, so counting allocates nothing and runs no kernels) and the conv probe.

The conv probe times one representative 3x3 convolution (the shape of a ResNet layer3 conv on a
512 x 1024 image at output stride 8) at the benchmark's precision, in both memory formats, and keeps
the faster: this machine's practical convolution throughput. A model's GFLOP/s is reported as a
fraction of it. (The formats differ a lot for bf16 on CPU: oneDNN's NCHW bf16 path is about half
as fast as its channels-last one.)
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch._subclasses.fake_tensor import FakeTensorMode
from torch.utils.flop_counter import FlopCounterMode

from danet.devices import Precision

# (batch, channels, height, width) of the probe's input; 3x3 kernel, channels -> channels.
PROBE_SHAPE = (1, 256, 64, 128)


def count_flops(build: Callable[[], nn.Module], input_shape: tuple[int, ...], *, train: bool = False) -> int:
    """FLOPs (multiply and add counted separately) of one forward (and backward if `train`).

    `build` runs under fake tensors (shapes and a CPU device, no storage), so the model's weights and
    activations are never allocated and CPU-only code paths such as autocast still apply.
    """
    counter = FlopCounterMode(display=False)
    with FakeTensorMode():
        module = build().train(train)
        x = torch.empty(input_shape)
        with counter, torch.set_grad_enabled(train):
            out = module(x)
            if train:
                tensors = out.values() if isinstance(out, dict) else [out]
                sum(t.float().sum() for t in tensors).backward()
    return int(counter.get_total_flops())


def conv_flops(shape: tuple[int, int, int, int], kernel: int = 3) -> int:
    """FLOPs of a same-size conv (channels -> channels, stride 1) on an input of `shape`."""
    b, c, h, w = shape
    return 2 * b * c * c * kernel * kernel * h * w


def conv_throughput(
    device: torch.device,
    precision: Precision,
    *,
    channels_last: bool = False,
    shape: tuple[int, int, int, int] = PROBE_SHAPE,
    repeats: int = 7,
) -> float:
    """GFLOP/s of a 3x3 conv on `device` at `precision` (median of `repeats` timed runs)."""
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    weight = torch.randn(shape[1], shape[1], 3, 3, device=device) * 0.02
    x = torch.randn(shape, device=device).contiguous(memory_format=memory_format)
    weight = weight.contiguous(memory_format=memory_format)
    times = []
    with torch.inference_mode(), precision.context():
        for i in range(repeats + 2):
            start = time.perf_counter()
            F.conv2d(x, weight, padding=1)
            synchronize(device)
            if i >= 2:  # the first two runs pick algorithms and warm caches
                times.append(time.perf_counter() - start)
    return conv_flops(shape) / statistics.median(times) / 1e9


def conv_probe(device: torch.device, precision: Precision) -> dict[str, float]:
    """The probe's GFLOP/s in each memory format and the best of them (`best`)."""
    speeds = {
        "contiguous": conv_throughput(device, precision, channels_last=False),
        "channels_last": conv_throughput(device, precision, channels_last=True),
    }
    return {**speeds, "best": max(speeds.values())}


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()
