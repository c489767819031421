"""Peak-memory probes: CUDA's allocator counters, or this process's peak resident set on CPU.

On Linux the CPU high-water mark (VmHWM) can be reset by writing 5 to /proc/self/clear_refs, so the
peak of one phase is measured exactly; elsewhere the peak since process start is used instead,
which is why CPU measurements run in a fresh process.
"""

from __future__ import annotations

import re
import resource
import sys
from dataclasses import dataclass

import torch

_MB = 1024 * 1024


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            match = re.search(rf"^{field}:\s+(\d+) kB", f.read(), re.MULTILINE)
    except OSError:
        return None
    return int(match.group(1)) if match else None


def rss_mb() -> float:
    """Current resident memory of this process in MiB (the peak where the current value is unknown)."""
    kb = _status_kb("VmRSS")
    return kb / 1024 if kb is not None else peak_rss_mb()


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MiB."""
    kb = _status_kb("VmHWM")
    if kb is not None:
        return kb / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / _MB if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux


def reset_peak_rss() -> bool:
    """Reset the CPU high-water mark to the current RSS (Linux); False where that is impossible."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
    except OSError:
        return False
    return True


@dataclass
class PeakMemory:
    """Measures the peak memory of the code run between `start()` and `stop()`."""

    device: torch.device
    baseline_mb: float = 0.0
    peak_mb: float = 0.0
    kind: str = ""

    def start(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self.baseline_mb = torch.cuda.memory_allocated(self.device) / _MB
            self.kind = "cuda_max_allocated"
            return
        exact = reset_peak_rss()
        self.baseline_mb = rss_mb()
        self.kind = "cpu_peak_rss" if exact else "cpu_peak_rss_since_start"

    def stop(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            self.peak_mb = torch.cuda.max_memory_allocated(self.device) / _MB
        else:
            self.peak_mb = peak_rss_mb()

    @property
    def added_mb(self) -> float:
        return max(0.0, self.peak_mb - self.baseline_mb)
