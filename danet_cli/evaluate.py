"""`danet evaluate` (alias `eval`): mIoU of a checkpoint on a labelled split, per class and overall."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from danet_cli._options import (
    BackendOption,
    BaseSizeOption,
    ChannelsLastOption,
    CheckpointArg,
    CheckpointOption,
    CompileOption,
    CropSizeOption,
    DeviceOption,
    FlipOption,
    ModeOption,
    MultiScaleOption,
    PrecisionOption,
    ProtocolOption,
    SaveFormat,
    ScalesOption,
    StrideOption,
    TestSizeOption,
    TrustOption,
    inference_flags,
    one_checkpoint,
)

if TYPE_CHECKING:
    from danet.evaluation import EvaluationResult

_HELP = "Evaluate a checkpoint: mIoU, pixel accuracy and per-class IoU on a labelled split."


def report(result: EvaluationResult, class_names: list[str], reporter: Any) -> None:
    """The per-class table with a mean row, then the overall scores and the metric convention."""
    from danet.evaluation import METRIC_CONVENTION
    from danet_cli._console import format_score as pct

    metrics = result.metrics
    rows: list[list[Any]] = [
        [name, pct(iou), pct(acc)]
        for name, iou, acc in zip(
            class_names, metrics["per_class_iou"], metrics["per_class_acc"], strict=True
        )
    ]
    rows.append(["mean", pct(metrics["miou"]), pct(metrics["mean_acc"])])
    reporter.table(f"Per-class scores ({result.num_images} images)", ["class", "IoU", "accuracy"], rows)
    reporter.info(
        f"mIoU {pct(metrics['miou'])}  pixel acc {pct(metrics['pixel_acc'])}  "
        f"mean acc {pct(metrics['mean_acc'])}  fwIoU {pct(metrics['fw_iou'])}"
    )
    reporter.info(f"metric: {METRIC_CONVENTION} ('-' in the table)")


def evaluate(
    checkpoint: CheckpointArg = None,
    checkpoint_option: CheckpointOption = None,
    dataset: Annotated[str | None, typer.Option(help="Dataset name (default: the checkpoint's).")] = None,
    data_root: Annotated[str | None, typer.Option(help="Dataset folder (default: the checkpoint's).")] = None,
    split: Annotated[str, typer.Option(help="Labelled split to score.")] = "val",
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
        int | None,
        typer.Option(min=1, help="Images or windows per forward pass [default: 2 on the CPU, 8 on GPUs]."),
    ] = None,
    device: DeviceOption = "auto",
    precision: PrecisionOption = "auto",
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N images (quick checks).")] = None,
    backend: BackendOption = None,
    trust: TrustOption = False,
    compile: CompileOption = False,
    channels_last: ChannelsLastOption = None,
    json_path: Annotated[
        Path | None,
        typer.Option("--json", help="Also write the scores, per-class table and confusion matrix here."),
    ] = None,
    save_dir: Annotated[
        Path | None,
        typer.Option(help="Write each image's prediction here as it is scored, named after the image."),
    ] = None,
    save_format: Annotated[
        SaveFormat, typer.Option(help="--save-dir files: class-id palette PNG, class colours or overlay.")
    ] = "index",
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace files already in --save-dir.")
    ] = False,
) -> None:
    """Evaluate a checkpoint: mIoU, pixel accuracy and per-class IoU on a labelled split."""
    from danet.api import evaluate as run_evaluation
    from danet_cli._console import RichReporter

    reporter = RichReporter()
    result = run_evaluation(
        one_checkpoint(checkpoint, checkpoint_option), dataset=dataset, data_root=data_root, split=split,
        protocol=protocol, mode=mode,
        flip=flip, multi_scale=multi_scale, base_size=base_size, batch_size=batch_size, device=device,
        precision=precision, limit=limit, backend=backend, trust=trust, compile=compile,
        channels_last=channels_last, json_path=json_path, save_dir=save_dir, save_format=save_format,
        overwrite=overwrite, reporter=reporter,
        **inference_flags(crop_size=crop_size, stride=stride, scales=scales, test_size=test_size),
    )  # fmt: skip
    report(result, list(result.class_names), reporter)


def register(app: typer.Typer) -> None:
    app.command("evaluate", help=_HELP)(evaluate)
    app.command("eval", help=_HELP, hidden=True)(evaluate)
