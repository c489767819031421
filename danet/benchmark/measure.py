"""Measure one workload in this process: warm-up, timed repeats, peak memory, FLOPs, conv probe."""

from __future__ import annotations

import gc
import os
import platform
import statistics
import time
from typing import Any

import torch

from danet.benchmark.flops import PROBE_SHAPE, conv_probe, synchronize
from danet.benchmark.memory import PeakMemory
from danet.benchmark.settings import BenchmarkSettings
from danet.benchmark.workloads import Workload, build_workload


def measure(settings: BenchmarkSettings) -> dict[str, Any]:
    """Run `settings` here and return the result record (see `RESULT_KEYS`)."""
    threads = torch.get_num_threads()
    if settings.threads:
        torch.set_num_threads(settings.threads)
    try:
        return _measure(settings)
    finally:
        torch.set_num_threads(threads)


def _measure(settings: BenchmarkSettings) -> dict[str, Any]:
    workload = build_workload(settings)
    gc.collect()
    memory = PeakMemory(workload.device)
    memory.start()
    times = time_steps(workload, settings.warmup, settings.repeats)
    memory.stop()
    extras = workload.extras() if workload.extras else {}
    flops = workload.flops()
    probe = conv_probe(workload.device, workload.precision) if settings.conv_probe else {}
    return {**summarise(settings, times, memory, flops, probe, workload), **extras}


def time_steps(workload: Workload, warmup: int, repeats: int) -> list[float]:
    """Seconds of each timed step, after `warmup` untimed ones (device work included)."""
    for _ in range(warmup):
        workload.step()
    synchronize(workload.device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        workload.step()
        synchronize(workload.device)
        times.append(time.perf_counter() - start)
    return times


def summarise(
    settings: BenchmarkSettings,
    times: list[float],
    memory: PeakMemory,
    flops: int | None,
    probe: dict[str, float],
    workload: Workload,
) -> dict[str, Any]:
    median = statistics.median(times)
    conv_gflops_per_s = probe.get("best")
    gflops = flops / 1e9 if flops is not None else None
    achieved = gflops / median if gflops is not None else None
    fraction = achieved / conv_gflops_per_s if achieved and conv_gflops_per_s else None
    return {
        "workload": settings.workload,
        "latency_ms": median * 1e3,
        "min_ms": min(times) * 1e3,
        "times_ms": [t * 1e3 for t in times],
        "images_per_s": settings.batch / median,
        "peak_mem_mb": memory.peak_mb,
        "peak_mem_added_mb": memory.added_mb,
        "baseline_mem_mb": memory.baseline_mb,
        "memory_kind": memory.kind,
        "gflops": gflops,
        "gflops_per_s": achieved,
        "conv_gflops_per_s": conv_gflops_per_s,
        "conv_fraction": fraction,
        "conv_probe": {"shape": list(PROBE_SHAPE), **probe} if probe else None,
        "settings": {**settings.to_dict(), "channels_last": workload.channels_last},
        "environment": environment(workload.device),
    }


def environment(device: torch.device) -> dict[str, Any]:
    """Where the numbers were measured."""
    info: dict[str, Any] = {
        "device": str(device),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "cpu_capability": getattr(torch.backends.cpu, "get_cpu_capability", lambda: "?")(),
        "machine": platform.machine(),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info
