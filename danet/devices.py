"""The one place that inspects hardware and decides device and numeric precision."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from danet.errors import DeviceError

PRECISIONS = ("auto", "fp32", "bf16", "fp16")


def cuda_available() -> bool:
    return torch.cuda.is_available()


def mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def resolve_device(spec: str | torch.device | None = "auto") -> torch.device:
    """Turn `auto`, `cpu`, `cuda`, `cuda:N` or `mps` into a usable `torch.device`.

    `auto` picks CUDA, then Apple MPS, then CPU. An explicit device that is not available raises
    `DeviceError` rather than silently falling back.
    """
    if isinstance(spec, torch.device):
        spec = str(spec)
    spec = (spec or "auto").strip().lower()
    if spec == "auto":
        if cuda_available():
            return torch.device("cuda", torch.cuda.current_device())
        if mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if spec == "cpu":
        return torch.device("cpu")
    if spec == "mps":
        if not mps_available():
            raise DeviceError("device 'mps' was requested but Apple MPS is not available here")
        return torch.device("mps")
    if spec == "cuda" or spec.startswith("cuda:"):
        return _resolve_cuda(spec)
    raise DeviceError(f"unknown device {spec!r}; use auto, cpu, cuda, cuda:N or mps")


def _resolve_cuda(spec: str) -> torch.device:
    if not cuda_available():
        raise DeviceError(f"device {spec!r} was requested but CUDA is not available here")
    if spec == "cuda":
        return torch.device("cuda", torch.cuda.current_device())
    index_text = spec.split(":", 1)[1]
    if not index_text.isdigit():
        raise DeviceError(f"bad CUDA device {spec!r}; expected cuda:N with N a number")
    index, count = int(index_text), torch.cuda.device_count()
    if index >= count:
        raise DeviceError(f"device {spec!r} does not exist: this machine has {count} CUDA device(s)")
    return torch.device("cuda", index)


def bf16_supported(device: torch.device) -> bool:
    """Whether bf16 autocast is usable (and worthwhile) on `device`."""
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    if device.type == "cpu":
        return _cpu_has_bf16()
    if device.type == "mps":
        return hasattr(torch.backends, "mps") and torch.backends.mps.is_macos_or_newer(14, 0)
    return False


def _cpu_has_bf16() -> bool:
    try:
        capability = torch.backends.cpu.get_cpu_capability()
    except AttributeError:  # pragma: no cover - very old torch
        return False
    if capability.startswith("AVX512"):
        flags = _cpu_flags()
        return bool(flags & {"avx512_bf16", "amx_bf16"}) or not flags
    return False


def _cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


@dataclass(frozen=True)
class Precision:
    """How to run the forward pass: plain fp32 or autocast to bf16/fp16 (fp16 with a GradScaler)."""

    name: str  # "fp32" | "bf16" | "fp16"
    dtype: torch.dtype
    device_type: str

    @property
    def autocast(self) -> bool:
        return self.name != "fp32"

    @property
    def needs_scaler(self) -> bool:
        return self.name == "fp16"

    def context(self):
        """An autocast context for this precision (a no-op for fp32)."""
        return torch.autocast(self.device_type, dtype=self.dtype, enabled=self.autocast)


def resolve_precision(precision: str, device: torch.device) -> Precision:
    """Pick the numeric precision. `auto`: bf16 on CUDA with bf16, fp16 on other CUDA, else fp32."""
    precision = (precision or "auto").lower()
    if precision not in PRECISIONS:
        raise DeviceError(f"unknown precision {precision!r}; use one of {', '.join(PRECISIONS)}")
    if precision == "auto":
        if device.type == "cuda":
            precision = "bf16" if bf16_supported(device) else "fp16"
        else:
            precision = "fp32"
    if precision == "bf16" and not bf16_supported(device):
        raise DeviceError(f"bf16 is not supported on device {device}; use --precision fp32")
    if precision == "fp16" and device.type not in ("cuda", "mps"):
        raise DeviceError(f"fp16 autocast needs a GPU; device {device} supports fp32 or bf16")
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    return Precision(precision, dtype, device.type)


def default_channels_last(device: torch.device, precision: Precision) -> bool:
    """Whether inference runs in channels-last (NHWC) memory when not told: where it measured faster.

    CPU (oneDNN): `danet_resnet50` at 512x1024 was 1.08x faster in fp32 and 1.13x in bf16. CUDA with
    bf16/fp16 autocast: 1.18x on an H100. CUDA fp32 and MPS were not measured and stay NCHW.
    """
    if device.type == "cpu":
        return True
    if device.type == "cuda":
        return precision.name != "fp32"
    return False


def describe_devices() -> dict[str, object]:
    """What `danet info` shows: devices found, the `auto` choice, CPU threads, bf16."""
    auto = resolve_device("auto")
    cuda = [
        {"index": i, "name": torch.cuda.get_device_name(i)}
        for i in range(torch.cuda.device_count() if cuda_available() else 0)
    ]
    return {
        "auto": str(auto),
        "cuda": cuda,
        "mps": mps_available(),
        "cpu_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "cpu_capability": getattr(torch.backends.cpu, "get_cpu_capability", lambda: "?")(),
        "bf16": bf16_supported(auto),
    }
