"""`danet predict`: masks for images, folders, glob patterns and videos."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from danet.errors import ConfigError
from danet_cli._options import (
    BackendOption,
    BaseSizeOption,
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
        typer.Option(
            help="Checkpoint file, run folder, weight name or hf://OWNER/REPO/FILE (default: newest run)."
        ),
    ] = None,
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
    from danet.checkpoints import resolve
    from danet.evaluation import inference_settings
    from danet.fileio import check_output_location, increment_dir
    from danet.media import FORMATS, PredictionWriter, format_suffix
    from danet.predict_files import predict_sources
    from danet.predictor import Predictor, open_backend
    from danet.sources import expand_sources, output_paths
    from danet_cli._console import RichReporter
    from danet_cli._options import build_inference, describe_inference

    if output_format not in FORMATS:
        raise ConfigError(f"unknown --format {output_format!r}; use one of {', '.join(FORMATS)}")
    reporter = RichReporter()
    if max_image_pixels is not None:
        from danet.limits import set_max_image_pixels

        set_max_image_pixels(max_image_pixels)
    found = expand_sources(sources, recursive)
    single_file = output is not None and _is_file_target(output, found)
    if single_file:
        _check_file_output(output, output_format)
        folder = output
    else:
        folder = output if output is not None else increment_dir(Path("runs/predict"), name, create=False)
        check_output_location(folder, folder=True)
    path = resolve(checkpoint, reporter=reporter)
    model = open_backend(path, backend, device=device, precision=precision, trust=trust, compile=compile)
    meta = model.meta
    inference = build_inference(
        protocol=protocol, mode=mode, crop_size=crop_size, stride=stride, flip=flip,
        multi_scale=multi_scale, scales=scales, test_size=test_size, base_size=base_size,
        batch_size=batch_size, align_corners=meta.align_corners, meta=meta, dataset=meta.dataset,
        val=meta.train_config.get("val") if meta.trained_by == "danet" else None,
    )  # fmt: skip
    predictor = Predictor(model, inference=inference)
    writer = PredictionWriter(
        output_format, num_classes=meta.num_classes, names=meta.class_names, palette=meta.palette,
        ignore_index=meta.ignore_index, dataset=meta.dataset, alpha=alpha,
    )  # fmt: skip
    if single_file:
        targets = {found[0].path: output}
    else:
        targets = output_paths(found, folder, format_suffix(output_format))
    reporter.info(
        f"predicting {len(found)} source(s) with {path} on {predictor.device} ({meta.model_name}), "
        f"{describe_inference(inference_settings(inference))}"
    )
    summary = predict_sources(
        predictor, found, targets, writer, overwrite=overwrite, skip_errors=skip_errors,
        save_frames=save_frames, reporter=reporter,
    )  # fmt: skip
    where = output if single_file else folder
    _report(summary, where, reporter)


def _is_file_target(output: Path, found: list[Source]) -> bool:
    """`-o` names a file when there is one image and `-o` has a suffix and is not a folder."""
    return len(found) == 1 and not found[0].is_video and bool(output.suffix) and not output.is_dir()


def _check_file_output(output: Path, output_format: str) -> None:
    """Before the model is loaded: the extension suits the format and the file can be written."""
    from danet.fileio import check_output_location
    from danet.image_io import check_image_suffix
    from danet.media import format_suffix

    expected = format_suffix(output_format)
    if output_format in ("index", "labelids", "probs") and output.suffix.lower() != expected:
        raise ConfigError(
            f"--format {output_format} writes {expected} files; name the output {output.stem}{expected}"
        )
    if output_format not in ("index", "labelids", "probs"):
        check_image_suffix(output)
    check_output_location(output)


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
