"""`danet predict`: masks for images, folders, glob patterns and videos."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from danet_cli._options import (
    BackendOption,
    BaseSizeOption,
    ChannelsLastOption,
    CheckpointOption,
    CompileOption,
    CropSizeOption,
    DeviceOption,
    FlipOption,
    ModeOption,
    MultiScaleOption,
    PrecisionOption,
    PredictFormat,
    ProtocolOption,
    ScalesOption,
    StrideOption,
    TestSizeOption,
    TrustOption,
    inference_flags,
)

if TYPE_CHECKING:
    from danet.prediction.run import PredictionSummary
    from danet.reporting import Reporter

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
    checkpoint: CheckpointOption = None,
    output_format: Annotated[
        PredictFormat,
        typer.Option(
            "--format",
            help="Class indices, colour, overlay, Cityscapes label ids or probabilities (.npz).",
        ),
    ] = "index",
    name: Annotated[str, typer.Option(help="Run name under runs/predict (numbered if taken).")] = "exp",
    recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Look in subfolders too.")] = False,
    save_frames: Annotated[
        bool, typer.Option("--save-frames", help="For videos, also write every frame's output.")
    ] = False,
    alpha: Annotated[float, typer.Option(min=0.0, max=1.0, help="Colour opacity of overlays.")] = 0.5,
    protocol: ProtocolOption = None,
    mode: ModeOption = None,
    crop_size: CropSizeOption = None,
    stride: StrideOption = None,
    flip: FlipOption = None,
    multi_scale: MultiScaleOption = False,
    scales: ScalesOption = None,
    test_size: TestSizeOption = None,
    base_size: BaseSizeOption = None,
    batch_size: Annotated[
        int, typer.Option(min=1, help="Images (of one size) or windows per forward pass.")
    ] = 1,
    device: DeviceOption = "auto",
    precision: PrecisionOption = "auto",
    backend: BackendOption = None,
    trust: TrustOption = False,
    compile: CompileOption = False,
    channels_last: ChannelsLastOption = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace existing output files.")] = False,
    skip_errors: Annotated[
        bool, typer.Option("--skip-errors", help="Warn about unreadable inputs and go on.")
    ] = False,
    max_image_pixels: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Refuse images above this many pixels, read from the header before decoding "
            "[default: $DANET_MAX_IMAGE_PIXELS or 100000000; 0: no limit].",
        ),
    ] = None,
) -> None:
    """Predict masks for images, folders, glob patterns and videos."""
    from danet.api import predict as run_prediction
    from danet_cli._console import RichReporter

    reporter = RichReporter()
    summary = run_prediction(
        sources, checkpoint=checkpoint, output=output, output_format=output_format, name=name,
        recursive=recursive, save_frames=save_frames, alpha=alpha, protocol=protocol, mode=mode,
        flip=flip, multi_scale=multi_scale, base_size=base_size, batch_size=batch_size, device=device,
        precision=precision, backend=backend, trust=trust, compile=compile, overwrite=overwrite,
        channels_last=channels_last, skip_errors=skip_errors, max_image_pixels=max_image_pixels,
        reporter=reporter,
        **inference_flags(crop_size=crop_size, stride=stride, scales=scales, test_size=test_size),
    )  # fmt: skip
    _report(summary, summary.destination or Path("."), reporter)


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
