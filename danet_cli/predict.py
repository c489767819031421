"""`danet predict`: masks for images, folders, glob patterns and videos."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from danet.errors import ConfigError
from danet_cli._options import (
    BackendOption,
    CompileOption,
    CropSizeOption,
    DeviceOption,
    FlipOption,
    ModeOption,
    MultiScaleOption,
    PrecisionOption,
    ScalesOption,
    StrideOption,
    TrustOption,
)

if TYPE_CHECKING:
    from danet.predict_files import PredictionSummary
    from danet.reporting import Reporter
    from danet.sources import Source

_HELP = "Predict masks for images, folders, glob patterns and videos."


def predict(
    sources: Annotated[
        list[str],
        typer.Argument(
            metavar="SOURCE...", help="Images, folders, glob patterns or videos.", show_default=False
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "-o", "--output", help="A file for a single image, else a folder (default runs/predict/NAME)."
        ),
    ] = None,
    checkpoint: Annotated[
        str | None,
        typer.Option(help="Checkpoint file or `danet train` run folder (default: newest run's best)."),
    ] = None,
    output_format: Annotated[
        str, typer.Option("--format", help="index, color, overlay, labelids (Cityscapes) or probs (.npz).")
    ] = "index",
    name: Annotated[str, typer.Option(help="Run name under runs/predict (numbered if taken).")] = "exp",
    recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Look in subfolders too.")] = False,
    save_frames: Annotated[
        bool, typer.Option("--save-frames", help="For videos, also write every frame's output.")
    ] = False,
    alpha: Annotated[float, typer.Option(min=0.0, max=1.0, help="Colour opacity of overlays.")] = 0.5,
    mode: ModeOption = None,
    crop_size: CropSizeOption = None,
    stride: StrideOption = None,
    flip: FlipOption = False,
    multi_scale: MultiScaleOption = False,
    scales: ScalesOption = None,
    batch_size: Annotated[
        int, typer.Option(min=1, help="Images (of one size) or windows per forward pass.")
    ] = 1,
    device: DeviceOption = "auto",
    precision: PrecisionOption = "auto",
    backend: BackendOption = None,
    trust: TrustOption = False,
    compile: CompileOption = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace existing output files.")] = False,
    skip_errors: Annotated[
        bool, typer.Option("--skip-errors", help="Warn about unreadable inputs and go on.")
    ] = False,
) -> None:
    """Predict masks for images, folders, glob patterns and videos."""
    from danet.fileio import increment_dir
    from danet.media import FORMATS, PredictionWriter, format_suffix
    from danet.predict_files import predict_sources
    from danet.predictor import Predictor
    from danet.sources import expand_sources, output_paths
    from danet_cli._console import RichReporter
    from danet_cli._options import build_inference
    from danet_cli._runs import resolve_checkpoint

    if output_format not in FORMATS:
        raise ConfigError(f"unknown --format {output_format!r}; use one of {', '.join(FORMATS)}")
    reporter = RichReporter()
    found = expand_sources(sources, recursive)
    path = resolve_checkpoint(checkpoint)
    inference = build_inference(
        protocol=None, mode=mode, crop_size=crop_size, stride=stride, flip=flip,
        multi_scale=multi_scale, scales=scales, batch_size=batch_size, align_corners=False,
    )  # fmt: skip
    model: Any = path
    if compile:
        from danet.backends import load_backend

        model = load_backend(path, backend, device=device, precision=precision, trust=trust, compile=True)
    predictor = Predictor(model, device, precision, backend=backend, trust=trust, inference=inference)
    meta = predictor.meta
    writer = PredictionWriter(
        output_format, num_classes=meta.num_classes, names=meta.class_names, palette=meta.palette,
        ignore_index=meta.ignore_index, dataset=meta.dataset, alpha=alpha,
    )  # fmt: skip
    single_file = output is not None and _is_file_target(output, found)
    if single_file:
        _check_suffix(output, output_format)
        targets = {found[0].path: output}
    else:
        folder = output if output is not None else increment_dir(Path("runs/predict"), name, create=False)
        targets = output_paths(found, folder, format_suffix(output_format))
    reporter.info(f"predicting {len(found)} source(s) with {path} on {predictor.device} ({meta.model_name})")
    summary = predict_sources(
        predictor, found, targets, writer, overwrite=overwrite, skip_errors=skip_errors,
        save_frames=save_frames, reporter=reporter,
    )  # fmt: skip
    where = output if single_file else folder
    _report(summary, where, reporter)


def _is_file_target(output: Path, found: list[Source]) -> bool:
    """`-o` names a file when there is one image and `-o` has a suffix and is not a folder."""
    return len(found) == 1 and not found[0].is_video and bool(output.suffix) and not output.is_dir()


def _check_suffix(output: Path, output_format: str) -> None:
    from danet.media import format_suffix

    expected = format_suffix(output_format)
    if output_format in ("index", "labelids", "probs") and output.suffix.lower() != expected:
        raise ConfigError(
            f"--format {output_format} writes {expected} files; name the output {output.stem}{expected}"
        )


def _report(summary: PredictionSummary, where: Path, reporter: Reporter) -> None:
    rows = [
        ["images", summary.images],
        ["videos", f"{summary.videos} ({summary.frames} frames)"],
        ["skipped", len(summary.skipped)],
        ["time", f"{summary.seconds:.2f} s"],
        ["per image", f"{summary.per_image_ms:.1f} ms"],
        ["outputs", str(where)],
    ]
    reporter.table("Prediction summary", ["", "value"], rows)


def register(app: typer.Typer) -> None:
    app.command("predict", help=_HELP)(predict)
