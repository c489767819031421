"""Export a checkpoint to ONNX or TorchScript and check that the exported model gives the same logits.

The exported model takes a normalised (B, 3, H, W) float32 RGB batch and returns the fused logits
`out` (B, K, H, W). Everything needed to run it without another file (class names, palette,
normalisation, align_corners) is stored inside: ONNX `metadata_props` with `danet.*` keys, or the
TorchScript extra file `danet_meta.json`. Position attention is exported with the `blocks`
implementation: the same numbers as the paper's N x N attention, computed over blocks of queries, so
the file's peak memory holds one block's energies instead of N x N (a whole 1024 x 2048 image through
`danet_resnet101` in ONNX Runtime: 5.4 GB with the N x N matrix, 1.26 GB with blocks). TorchScript
files and the legacy ONNX exporter with dynamic shapes use `naive`: a trace would freeze the block
boundaries of the example size.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn

from danet._version import __version__
from danet.checkpoints import ModelMeta, load_model
from danet.errors import CheckpointError, ConfigError, ExportError
from danet.fileio import atomic_path, check_writable
from danet.reporting import NullReporter, Reporter

FORMATS = ("onnx", "torchscript")
META_FILE = "danet_meta.json"
# Largest accepted max|exported - PyTorch| / max(1, max|PyTorch logit|) on the check inputs: 1e-3 in
# absolute terms for logits up to 10, and scaled with them beyond (fp32 rounding grows with the values;
# a briefly trained model can have logits of 1e4-1e5, whose last bits differ by 1e-2 between runtimes).
TOLERANCE = 1e-4
_ONNX_HINT = "ONNX export needs the onnx extra: pip install 'danet[onnx]'"


class Check(NamedTuple):
    """Exported vs PyTorch logits on one seeded random input."""

    shape: tuple[int, ...]
    max_abs_diff: float
    logit_scale: float  # max |PyTorch logit|

    @property
    def relative(self) -> float:
        """The difference relative to the logits' size (never divided by less than 1)."""
        return self.max_abs_diff / max(1.0, self.logit_scale)


@dataclass(frozen=True)
class ExportResult:
    path: Path
    format: str
    exporter: str  # "dynamo", "torchscript" (the legacy ONNX exporter) or "trace"
    checks: tuple[Check, ...]  # one per checked input shape

    @property
    def max_abs_diff(self) -> float:
        return max(check.max_abs_diff for check in self.checks)

    @property
    def max_relative_diff(self) -> float:
        return max(check.relative for check in self.checks)


class FusedLogits(nn.Module):
    """The model reduced to one output, the fused logits `out` (an exported graph returns tensors)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)["out"]


def metadata(
    meta: ModelMeta,
    *,
    size: tuple[int, int],
    dynamic: bool,
    config: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """The `danet.*` key/value strings stored with an exported model: the model's own (`ModelMeta`),
    the architecture (`config`, so benchmarks can count the file's FLOPs), then the export's."""
    extra = {"danet.model_config": json.dumps(dict(config))} if config else {}
    return {
        **extra,
        **meta.to_text(),
        "danet.input": "input: (B, 3, H, W) float32 RGB, (pixel / 255 - mean) / std",
        "danet.output": "out: (B, K, H, W) logits at the input size",
        "danet.export_size": json.dumps(list(size)),
        "danet.dynamic": json.dumps(dynamic),
        "danet.version": __version__,
    }


def meta_from_metadata(values: Mapping[str, str]) -> ModelMeta:
    """`ModelMeta` back from the strings `metadata` wrote (for backends that run exported files)."""
    try:
        return ModelMeta.from_text(values)
    except CheckpointError as error:
        raise ExportError(str(error)) from None


def read_onnx_metadata(path: str | os.PathLike[str]) -> dict[str, str]:
    """The `danet.*` metadata_props of an ONNX file."""
    onnx = _require_onnx()
    model = onnx.load(str(path), load_external_data=False)
    return {p.key: p.value for p in model.metadata_props if p.key.startswith("danet.")}


def read_torchscript_metadata(path: str | os.PathLike[str]) -> dict[str, str]:
    """The metadata saved beside a TorchScript model (`danet_meta.json`)."""
    extra = {META_FILE: ""}
    with _quiet_exporters():
        torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
    return json.loads(extra[META_FILE] or "{}")


def _require_onnx() -> Any:
    try:
        import onnx
        import onnxruntime  # noqa: F401
    except ImportError:
        raise ExportError(_ONNX_HINT) from None
    return onnx


@contextlib.contextmanager
def _quiet_exporters() -> Iterator[None]:
    """Silence the exporters' deprecation chatter and logging; real failures still raise."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def check_shapes(size: tuple[int, int], dynamic: bool) -> list[tuple[int, int, int, int]]:
    """Input shapes the exported model is checked on: the export size, plus another batch and size
    when the export claims dynamic shapes."""
    height, width = size
    shapes = [(1, 3, height, width)]
    if dynamic:
        shapes.append((2, 3, max(16, height // 2 + 5), max(16, width // 2 + 3)))
    return shapes


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"


def _onnx_proto(
    wrapper: nn.Module, example: torch.Tensor, opset: int | None, dynamic: bool, reporter: Reporter
) -> tuple[Any, str]:
    """The ONNX graph from the dynamo exporter, or from the TorchScript-based one if dynamo fails."""
    onnx = _require_onnx()
    names: dict[str, Any] = {"input_names": ["input"], "output_names": ["out"]}
    set_export_attention(wrapper.model, "blocks")
    try:
        shapes = None
        if dynamic:
            from torch.export import Dim

            shapes = ({0: Dim("batch"), 2: Dim("height"), 3: Dim("width")},)
        with _quiet_exporters():
            program = torch.onnx.export(
                wrapper,
                (example,),
                dynamo=True,
                verbose=False,
                opset_version=opset,
                dynamic_shapes=shapes,
                **names,
            )
        return program.model_proto, "dynamo"
    except Exception as error:  # noqa: BLE001 - any dynamo failure: the legacy exporter may still work
        reporter.warning(
            f"the dynamo ONNX exporter failed ({_first_line(error)}); using the TorchScript-based one"
        )
    axes = {"input": {0: "batch", 2: "height", 3: "width"}, "out": {0: "batch", 2: "height", 3: "width"}}
    set_export_attention(wrapper.model, "naive" if dynamic else "blocks")
    buffer = io.BytesIO()
    try:
        with _quiet_exporters():
            torch.onnx.export(
                wrapper, (example,), buffer, dynamo=False, opset_version=opset or 17,
                dynamic_axes=axes if dynamic else None, **names,
            )  # fmt: skip
    except Exception as error:  # noqa: BLE001 - report why in one line
        raise ExportError(f"ONNX export failed: {_first_line(error)}") from error
    return onnx.load_from_string(buffer.getvalue()), "torchscript"


def _write_onnx(proto: Any, path: Path, props: Mapping[str, str]) -> None:
    onnx = _require_onnx()
    for key, value in props.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save_model(proto, str(path))


def _onnx_runner(path: Path) -> Any:
    """The file through the ONNX Runtime backend on the CPU: the check runs the fully optimised
    graph, which the backend caches, so later sessions on this machine start from it."""
    from danet.backends.onnx_backend import OnnxRuntimeBackend

    backend = OnnxRuntimeBackend(path, device="cpu")
    return lambda x: backend.forward(x).numpy()


def _write_torchscript(
    wrapper: nn.Module, example: torch.Tensor, path: Path, props: Mapping[str, str]
) -> None:
    with _quiet_exporters(), torch.no_grad():
        traced = torch.jit.trace(wrapper, example, check_trace=False)
        torch.jit.save(traced, str(path), _extra_files={META_FILE: json.dumps(dict(props))})


def _torchscript_runner(path: Path) -> Any:
    with _quiet_exporters():
        loaded = torch.jit.load(str(path), map_location="cpu")
    return lambda x: loaded(x).detach().numpy()


def _compare(wrapper: nn.Module, run: Any, shapes: list[tuple[int, int, int, int]]) -> tuple[Check, ...]:
    """Max |exported - PyTorch| and the logits' size on seeded random inputs of each shape."""
    generator = torch.Generator().manual_seed(0)
    wrapper.eval()  # the legacy exporter may leave the modules in training mode
    results = []
    for shape in shapes:
        x = torch.randn(*shape, generator=generator)
        with torch.inference_mode():
            expected = wrapper(x).numpy()
            got = np.asarray(run(x))
        if got.shape != expected.shape:
            raise ExportError(
                f"the exported model returned {got.shape} for input {shape}, expected {expected.shape}"
            )
        results.append(Check(shape, float(np.abs(got - expected).max()), float(np.abs(expected).max())))
    return tuple(results)


def _load(checkpoint: str | os.PathLike[str] | None, trust: bool) -> tuple[nn.Module, ModelMeta]:
    model = load_model(checkpoint, trust=trust).float().eval()
    return model, model.meta


def set_export_attention(model: nn.Module, implementation: str) -> None:
    """Position attention as the exporter should record it (`blocks` or `naive`; same numbers)."""
    if hasattr(model, "set_pam_implementation"):
        model.set_pam_implementation(implementation)


def export_model(
    checkpoint: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    fmt: str = "onnx",
    size: tuple[int, int] = (512, 512),
    dynamic: bool = False,
    opset: int | None = None,
    overwrite: bool = False,
    trust: bool = False,
    tolerance: float = TOLERANCE,
    reporter: Reporter | None = None,
) -> ExportResult:
    """Export `checkpoint` to `output` and check it against PyTorch; the file appears only if it passes."""
    reporter = reporter or NullReporter()
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    if min(size) < 16:
        raise ConfigError(f"export size must be at least 16x16, got {size[0]}x{size[1]}")
    if fmt == "onnx":
        _require_onnx()
    target = check_writable(output, overwrite)
    model, meta = _load(checkpoint, trust)
    wrapper = FusedLogits(model).eval()
    example = torch.randn(1, 3, *size, generator=torch.Generator().manual_seed(1))
    config = model.config.to_dict() if hasattr(model, "config") else None
    props = metadata(meta, size=size, dynamic=dynamic, config=config)
    with atomic_path(target) as tmp:
        if fmt == "onnx":
            proto, exporter = _onnx_proto(wrapper, example, opset, dynamic, reporter)
            _write_onnx(proto, tmp, props)
            run = _onnx_runner(tmp)
        else:
            set_export_attention(model, "naive" if dynamic else "blocks")
            _write_torchscript(wrapper, example, tmp, props)
            exporter, run = "trace", _torchscript_runner(tmp)
        checks = _compare(wrapper, run, check_shapes(size, dynamic))
        worst = max(checks, key=lambda check: check.relative)
        if not worst.relative <= tolerance:
            raise ExportError(
                f"the exported model differs from PyTorch by {worst.max_abs_diff:.2e} on logits up to "
                f"{worst.logit_scale:.3g} ({worst.relative:.1e} relative, more than {tolerance:.0e})"
            )
    return ExportResult(target, fmt, exporter, checks)
