"""Device and precision selection with mocked hardware."""

from __future__ import annotations

import pytest
import torch

from danet import devices
from danet.errors import DeviceError


@pytest.fixture
def hardware(monkeypatch: pytest.MonkeyPatch):
    def set_hardware(cuda: int = 0, mps: bool = False, bf16: bool = True) -> None:
        monkeypatch.setattr(devices, "cuda_available", lambda: cuda > 0)
        monkeypatch.setattr(devices, "mps_available", lambda: mps)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: cuda)
        monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: bf16)

    return set_hardware


def test_auto_prefers_cuda(hardware) -> None:
    hardware(cuda=2, mps=True)
    assert devices.resolve_device("auto") == torch.device("cuda", 0)


def test_auto_falls_back_to_mps_then_cpu(hardware) -> None:
    hardware(cuda=0, mps=True)
    assert devices.resolve_device("auto") == torch.device("mps")
    hardware(cuda=0, mps=False)
    assert devices.resolve_device(None) == torch.device("cpu")


def test_explicit_devices(hardware) -> None:
    hardware(cuda=2)
    assert devices.resolve_device("cuda:1") == torch.device("cuda", 1)
    assert devices.resolve_device("CPU") == torch.device("cpu")


@pytest.mark.parametrize(
    ("cuda", "mps", "spec", "message"),
    [
        (0, False, "cuda", "CUDA is not available"),
        (1, False, "cuda:3", "has 1 CUDA device"),
        (1, False, "cuda:x", "cuda:N"),
        (0, False, "mps", "MPS is not available"),
        (0, False, "tpu", "unknown device"),
    ],
)
def test_unavailable_explicit_device_is_a_clear_error(hardware, cuda, mps, spec, message) -> None:
    hardware(cuda=cuda, mps=mps)
    with pytest.raises(DeviceError, match=message):
        devices.resolve_device(spec)


def test_precision_auto(hardware) -> None:
    hardware(cuda=1, bf16=True)
    assert devices.resolve_precision("auto", torch.device("cuda", 0)).name == "bf16"
    hardware(cuda=1, bf16=False)
    fp16 = devices.resolve_precision("auto", torch.device("cuda", 0))
    assert fp16.name == "fp16" and fp16.needs_scaler
    assert devices.resolve_precision("auto", torch.device("cpu")).name == "fp32"


def test_fp16_on_cpu_and_unknown_precision_are_errors() -> None:
    with pytest.raises(DeviceError, match="fp16"):
        devices.resolve_precision("fp16", torch.device("cpu"))
    with pytest.raises(DeviceError, match="unknown precision"):
        devices.resolve_precision("fp8", torch.device("cpu"))


def test_bf16_on_cpu_follows_the_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(devices, "_cpu_has_bf16", lambda: False)
    with pytest.raises(DeviceError, match="bf16"):
        devices.resolve_precision("bf16", torch.device("cpu"))
    monkeypatch.setattr(devices, "_cpu_has_bf16", lambda: True)
    precision = devices.resolve_precision("bf16", torch.device("cpu"))
    assert precision.autocast and precision.dtype == torch.bfloat16 and not precision.needs_scaler
