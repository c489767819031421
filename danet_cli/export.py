"""`danet export`: a checkpoint as ONNX or TorchScript, checked against PyTorch."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from danet.errors import ConfigError
from danet_cli._options import CheckpointArg, TrustOption

_HELP = "Export a checkpoint to ONNX or TorchScript (checked against PyTorch)."
_SUFFIXES = {"onnx": ".onnx", "torchscript": ".torchscript.pt"}


def export(
    checkpoint: CheckpointArg = None,
    output_format: Annotated[str, typer.Option("--format", "-f", help="onnx or torchscript.")] = "onnx",
    output: Annotated[
        Path | None,
        typer.Option(
            "-o", "--output", help="File to write (default: CHECKPOINT_NAME.onnx / .torchscript.pt)."
        ),
    ] = None,
    size: Annotated[
        tuple[int, int], typer.Option(metavar="H W", help="Input height and width to export and check at.")
    ] = (512, 512),
    dynamic: Annotated[
        bool,
        typer.Option("--dynamic", help="Accept any batch size, height and width (checked at two sizes)."),
    ] = False,
    opset: Annotated[int | None, typer.Option(min=7, help="ONNX opset (default: the exporter's).")] = None,
    trust: TrustOption = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing output file.")] = False,
) -> None:
    """Export a checkpoint to ONNX or TorchScript (checked against PyTorch)."""
    from danet.checkpoints import resolve
    from danet.export import FORMATS, export_model
    from danet_cli._console import RichReporter

    if output_format not in FORMATS:
        raise ConfigError(f"unknown --format {output_format!r}; use one of {', '.join(FORMATS)}")
    if opset is not None and output_format != "onnx":
        raise ConfigError("--opset applies to --format onnx only")
    reporter = RichReporter()
    path = resolve(checkpoint, reporter=reporter)
    target = output or Path(path.name.split(".")[0] + _SUFFIXES[output_format])
    reporter.info(
        f"exporting {path} to {output_format} at {size[0]}x{size[1]}{' (dynamic)' if dynamic else ''}"
    )
    result = export_model(
        path, target, fmt=output_format, size=size, dynamic=dynamic, opset=opset,
        overwrite=overwrite, trust=trust, reporter=reporter,
    )  # fmt: skip
    rows = [
        ["x".join(str(v) for v in check.shape), f"{check.max_abs_diff:.2e}", f"{check.logit_scale:.3g}"]
        + [f"{check.relative:.1e}"]
        for check in result.checks
    ]
    reporter.table("Exported vs PyTorch logits", ["input", "max abs diff", "max |logit|", "relative"], rows)
    size_mb = result.path.stat().st_size / 1e6
    reporter.info(f"wrote {result.path} ({size_mb:.1f} MB, exporter: {result.exporter})")
    reporter.info(
        f"max abs diff {result.max_abs_diff:.2e} ({result.max_relative_diff:.1e} of the largest logit)"
    )


def register(app: typer.Typer) -> None:
    app.command("export", help=_HELP)(export)
