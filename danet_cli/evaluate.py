"""`danet evaluate` (alias `eval`): mIoU of a checkpoint on a labelled split, per class and overall."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from danet_cli._options import (
    BackendOption,
    BaseSizeOption,
    CheckpointArg,
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
    build_inference,
    describe_inference,
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
    from danet.backends import load_backend
    from danet.checkpoints import resolve
    from danet.evaluation import check_classes, evaluate_dataset, inference_settings, open_dataset
    from danet.fileio import atomic_write_text
    from danet.inference import default_batch_size
    from danet_cli._console import RichReporter

    if json_path is not None:  # fail in the first second, not after the evaluation
        from danet.fileio import check_output_location

        check_output_location(json_path)
    if save_dir is not None:
        from danet.fileio import check_output_location

        check_output_location(save_dir, folder=True)
    reporter = RichReporter()
    path = resolve(checkpoint, reporter=reporter)
    options = {"compile": True} if compile else {}
    model = load_backend(path, backend=backend, device=device, precision=precision, trust=trust, **options)
    data = open_dataset(model.meta, name=dataset, root=data_root, split=split)
    check_classes(model.meta, data, reporter)
    inference = build_inference(
        protocol=protocol, mode=mode, crop_size=crop_size, stride=stride, flip=flip,
        multi_scale=multi_scale, scales=scales, test_size=test_size, base_size=base_size,
        batch_size=batch_size or default_batch_size(model.device), align_corners=model.meta.align_corners,
        meta=model.meta, dataset=data.info.name, dataset_crop=data.info.crop_size,
        val=_saved_val(dict(model.meta.train_config), model.meta.trained_by),
    )  # fmt: skip
    origin = _origin_settings(model.meta, protocol)
    count = len(data) if limit is None else min(limit, len(data))
    reporter.info(
        f"evaluating {path} on {data.info.name} {split} ({count} images, {data.root}) "
        f"on {model.device}: {describe_inference(inference_settings(inference))} ({origin['protocol_from']})"
    )
    result = evaluate_dataset(
        model.forward,
        data,
        num_classes=data.info.num_classes,
        inference=inference,
        reporter=reporter,
        ignore_index=data.info.ignore_index,
        limit=limit,
        device=model.device,
        mean=model.meta.mean,
        std=model.meta.std,
        saver=_saver(save_dir, save_format, data.info, overwrite),
    )
    names = list(data.info.class_names)
    report(result, names, reporter)
    if json_path is not None:
        payload = {**result.to_json(names), "checkpoint": str(path), "dataset": data.info.name}
        payload["settings"].update(origin)
        payload.update(split=split, data_root=str(data.root), backend=model.name)
        atomic_write_text(json_path, json.dumps(payload, indent=2) + "\n")
        reporter.info(f"wrote {json_path}")


def _saver(folder: Path | None, fmt: str, info: Any, overwrite: bool) -> Any:
    """The `--save-dir` writer, or None."""
    if folder is None:
        return None
    from danet.evaluation_saver import PredictionSaver

    return PredictionSaver(
        folder, fmt, num_classes=info.num_classes, names=info.class_names, palette=info.palette,
        ignore_index=info.ignore_index, overwrite=overwrite,
    )  # fmt: skip


def _saved_val(config: dict[str, Any], origin: str) -> dict[str, Any] | None:
    """A danet checkpoint's recipe validation settings (`val:` of its saved training config)."""
    val = config.get("val") if origin == "danet" else None
    return dict(val) if isinstance(val, dict) else None


def _origin_settings(meta: Any, protocol: str | None) -> dict[str, str]:
    """Where the checkpoint's weights come from and why this protocol ran (for the console and --json)."""
    if protocol is not None:
        source = "--protocol"
    elif meta.trained_by == "danet":
        source = "the recipe's validation settings"
    else:
        source = f"the {meta.trained_by} origin of the checkpoint"
    return {"origin": meta.trained_by, "origin_config": meta.mmseg_config, "protocol_from": source}


def register(app: typer.Typer) -> None:
    app.command("evaluate", help=_HELP)(evaluate)
    app.command("eval", help=_HELP, hidden=True)(evaluate)
