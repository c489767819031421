"""`danet export`: a checkpoint as ONNX or TorchScript, checked against PyTorch."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from danet.errors import ConfigError
from danet_cli._options import CheckpointArg, CheckpointOption, ExportFormat, TrustOption, one_checkpoint

_HELP = "Export a checkpoint to ONNX or TorchScript (checked against PyTorch)."
_SUFFIXES = {"onnx": ".onnx", "torchscript": ".torchscript.pt"}


def export(
    checkpoint: CheckpointArg = None,
    checkpoint_option: CheckpointOption = None,
    output_format: Annotated[ExportFormat, typer.Option("--format", "-f", help="File format.")] = "onnx",
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
    int8: Annotated[
        bool,
        typer.Option(
            "--int8", help="Also write an int8 ONNX file (NAME.int8.onnx), calibrated with --calibrate."
        ),
    ] = False,
    calibrate: Annotated[
        str | None,
        typer.Option(metavar="DATASET", help="Dataset whose train images calibrate --int8 (any registered)."),
    ] = None,
    calibrate_images: Annotated[
        int, typer.Option(min=1, help="Calibration images for --int8 (spread over the split).")
    ] = 32,
    calibrate_split: Annotated[str, typer.Option(help="Split the calibration images come from.")] = "train",
    data_root: Annotated[
        str | None, typer.Option(help="Folder of the --calibrate dataset (default: the checkpoint's).")
    ] = None,
    int8_format: Annotated[
        str, typer.Option(help="qoperator (QLinearConv) or qdq (QuantizeLinear/DequantizeLinear pairs).")
    ] = "qoperator",
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
    if int8 and (output_format != "onnx" or not calibrate):
        raise ConfigError("--int8 needs --format onnx and --calibrate DATASET (e.g. --calibrate cityscapes)")
    reporter = RichReporter()
    path = resolve(one_checkpoint(checkpoint, checkpoint_option), reporter=reporter)
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
    if int8:
        calibration = _Calibration(calibrate or "", calibrate_split, calibrate_images, data_root)
        _export_int8(result.path, calibration, int8_format, overwrite, reporter)


@dataclass(frozen=True)
class _Calibration:
    dataset: str
    split: str
    images: int
    root: str | None


def _export_int8(fp32: Path, calibration: _Calibration, fmt: str, overwrite: bool, reporter: Any) -> None:
    """NAME.int8.onnx beside the fp32 file, calibrated on the dataset's images; agreement on its
    evaluation split."""
    from danet.checkpoints import ModelMeta
    from danet.datasets import dataset_info, get_dataset
    from danet.export import read_onnx_metadata
    from danet.quantize import quantize_model

    config = dict(ModelMeta.from_text(read_onnx_metadata(fp32)).train_config)  # what the model trained on
    same = calibration.dataset == config.get("dataset")
    root = calibration.root or (config.get("data_root") if same else None)
    options = (config.get("dataset_options") or {}) if same else {}
    data = get_dataset(calibration.dataset, root=root, split=calibration.split, **options)
    check_split = dataset_info(calibration.dataset).eval_split
    check = get_dataset(calibration.dataset, root=root, split=check_split, **options)
    target = fp32.with_name(fp32.name.removesuffix(".onnx") + ".int8.onnx")
    result = quantize_model(
        fp32, target, calibration=data, check=check, images=calibration.images, fmt=fmt,
        overwrite=overwrite, reporter=reporter,
    )  # fmt: skip
    size_mb = result.path.stat().st_size / 1e6
    reporter.info(
        f"wrote {result.path} ({size_mb:.1f} MB, int8 {result.format}, {result.calibration_images} "
        f"calibration images); {100 * result.agreement:.2f}% of pixels keep the fp32 class "
        f"on {result.checked_images} {check_split} images"
    )


def register(app: typer.Typer) -> None:
    app.command("export", help=_HELP)(export)
