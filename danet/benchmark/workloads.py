"""Turn `BenchmarkSettings` into a step function to time: model inference, training, a model file
through any backend, or position attention alone."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from danet.benchmark.flops import count_flops
from danet.benchmark.settings import BenchmarkSettings
from danet.devices import Precision, resolve_device, resolve_precision
from danet.errors import ConfigError


@dataclass
class Workload:
    """One timed step (a whole batch), where it runs, and how to count its FLOPs."""

    step: Callable[[], Any]
    device: torch.device
    precision: Precision
    flops: Callable[[], int | None]
    extras: Callable[[], dict[str, Any]] | None = None  # more record fields, read after the runs
    channels_last: bool = False  # the memory format it ran in (settings' None resolved)


def build_workload(settings: BenchmarkSettings) -> Workload:
    device = resolve_device(settings.device)
    precision = resolve_precision(settings.precision, device)
    if settings.pam_only:
        return _pam_workload(settings, device, precision)
    if settings.checkpoint:
        return _checkpoint_workload(settings, device, precision)
    if settings.train:
        return _train_workload(settings, device, precision)
    return _inference_workload(settings, device, precision)


def _model_options(settings: BenchmarkSettings) -> dict[str, Any]:
    options: dict[str, Any] = {
        "num_classes": settings.num_classes,
        "output_stride": settings.output_stride,
        "multi_grid": settings.multi_grid,
    }
    if settings.model.startswith("danet_"):
        options["pam_implementation"] = settings.pam
    return options


def _build_model(settings: BenchmarkSettings) -> nn.Module:
    from danet.models import create_model

    return create_model(settings.model, **_model_options(settings))


def _input(settings: BenchmarkSettings, channels: int, device: torch.device) -> torch.Tensor:
    x = torch.randn(settings.batch, channels, *settings.size, device=device)
    return x.contiguous(memory_format=torch.channels_last) if settings.channels_last else x


def _maybe_compile(module: Any, settings: BenchmarkSettings) -> Any:
    return torch.compile(module) if settings.compile else module


def _inference_workload(settings: BenchmarkSettings, device: torch.device, precision: Precision) -> Workload:
    from danet.backends.torch_backend import TorchBackend

    backend = TorchBackend(
        _build_model(settings),
        device=device,
        precision=precision.name,
        channels_last=settings.channels_last,
        compile=settings.compile,  # with freezing, as `danet predict --compile` runs it
    )
    x = _input(settings, 3, device)
    shape = tuple(x.shape)
    return Workload(
        step=lambda: backend.forward(x),
        device=device,
        precision=precision,
        flops=lambda: count_flops(lambda: _build_model(settings), shape),
        channels_last=backend.channels_last,
    )


def _train_workload(settings: BenchmarkSettings, device: torch.device, precision: Precision) -> Workload:
    memory_format = torch.channels_last if settings.channels_last else torch.contiguous_format
    model = _build_model(settings).to(device, memory_format=memory_format).train()
    compiled = _maybe_compile(model, settings)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)
    scaler = torch.amp.GradScaler(device.type, enabled=precision.needs_scaler)
    x = _input(settings, 3, device)
    target = torch.randint(0, settings.num_classes, (settings.batch, *settings.size), device=device)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        with precision.context():
            outputs = compiled(x)
        loss = sum(F.cross_entropy(o.float(), target) for o in outputs.values())
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()

    shape = tuple(x.shape)
    return Workload(
        step=step,
        device=device,
        precision=precision,
        flops=lambda: count_flops(lambda: _build_model(settings), shape, train=True),
        channels_last=bool(settings.channels_last),
    )


def _pam_workload(settings: BenchmarkSettings, device: torch.device, precision: Precision) -> Workload:
    from danet.models import PositionAttention

    def build() -> nn.Module:
        return PositionAttention(settings.channels, implementation=settings.pam)

    module = _maybe_compile(build().to(device).eval(), settings)
    x = _input(settings, settings.channels, device)

    @torch.inference_mode()
    def step() -> torch.Tensor:
        with precision.context():
            return module(x)

    shape = tuple(x.shape)
    return Workload(
        step=step,
        device=device,
        precision=precision,
        flops=lambda: count_flops(build, shape),
        channels_last=bool(settings.channels_last),
    )


def _checkpoint_workload(settings: BenchmarkSettings, device: torch.device, precision: Precision) -> Workload:
    from danet.backends import backend_for_file, load_backend
    from danet.checkpoints import resolve

    options: dict[str, Any] = {"device": str(device), "precision": precision.name}
    options["channels_last"] = settings.channels_last
    path = resolve(settings.checkpoint)
    name = settings.backend or backend_for_file(path)
    if settings.threads and name != "torch":  # torch threads are already set in this process
        options["threads"] = settings.threads
    if name == "onnxruntime":
        options.update(_ort_options(settings))
    elif settings.profile:
        raise ConfigError("--profile reads ONNX Runtime's per-node profile; use it with an .onnx file")
    if name == "torch":  # the PyTorch model itself, so --pam and --compile apply before it is wrapped
        from danet.backends.torch_backend import TorchBackend
        from danet.checkpoints import load_model

        model = load_model(path)
        if settings.pam != "efficient":
            if not hasattr(model, "set_pam_implementation"):
                raise ConfigError(f"--pam applies to DANet models, not {model.config.name}")
            model.set_pam_implementation(settings.pam)
        backend = TorchBackend(model, compile=settings.compile, **options)
    else:
        if settings.pam != "efficient" or settings.compile:
            flag = "--pam" if settings.pam != "efficient" else "--compile"
            raise ConfigError(f"{flag} applies to PyTorch checkpoints (the torch backend), not {name}")
        backend = load_backend(path, name, **options)
        model = None
    x = torch.randn(settings.batch, 3, *settings.size, device=backend.device)
    shape = tuple(x.shape)
    return Workload(
        step=lambda: backend.forward(x),
        device=torch.device(backend.device),
        precision=precision,
        flops=lambda: _backend_flops(backend, model, shape),
        extras=(lambda: _ort_profile(backend)) if settings.profile else None,
        channels_last=bool(getattr(backend, "channels_last", False)),
    )


def _ort_options(settings: BenchmarkSettings) -> dict[str, Any]:
    options: dict[str, Any] = {
        "optimization": settings.ort_optimization,
        "spinning": settings.ort_spinning,
        "arena": settings.ort_arena,
    }
    if settings.profile:
        import tempfile

        options["profile"] = str(Path(tempfile.mkdtemp(prefix="danet-ort-profile-")) / "profile")
    return options


def _ort_profile(backend: Any) -> dict[str, Any]:
    """The top operators of ONNX Runtime's per-node profile (warm-up and timed steps)."""
    from danet.backends.onnx_session import top_operators

    path = backend.session.end_profiling()
    rows = top_operators(path)
    return {"top_operators": [{"op": op, "ms": ms, "share": share} for op, ms, share in rows]}


def _backend_flops(backend: Any, model: Any, shape: tuple[int, ...]) -> int | None:
    """FLOPs of the architecture behind a backend: its torch model's config, or a `model_config`
    dict in its metadata; None when the exact architecture is unknown (e.g. an ONNX file)."""
    from danet.models import ModelConfig, build_from_config

    config = getattr(model, "config", None)
    stored = backend.meta.extra.get("model_config")
    if config is None and isinstance(stored, dict):
        config = ModelConfig.from_dict(stored)
    if config is None:
        return None
    return count_flops(lambda: build_from_config(config), shape)
