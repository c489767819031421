"""`danet evaluate` (alias `eval`): mIoU of a checkpoint on a labelled split, per class and overall."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from danet.errors import CheckpointError, ConfigError, DatasetError
from danet_cli._options import (
    BackendOption,
    CheckpointArg,
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
    build_inference,
)

if TYPE_CHECKING:
    from danet.evaluation import EvaluationResult
    from danet.inference import InferenceConfig

_HELP = "Evaluate a checkpoint: mIoU, pixel accuracy and per-class IoU on a labelled split."


def open_dataset(meta: Any, config: dict[str, Any], *, name: str | None, root: str | None, split: str) -> Any:
    """The split to score: flags first, then the checkpoint's training config, then its metadata."""
    from danet.datasets import get_dataset

    trained_on = config.get("dataset") or meta.dataset or None
    dataset_name = name or trained_on
    if not dataset_name:
        raise ConfigError("the checkpoint does not say which dataset it was trained on; pass --dataset NAME")
    if root is None and dataset_name == config.get("dataset"):
        root = config.get("data_root")
    options = config.get("dataset_options") if dataset_name == config.get("dataset") else None
    data = get_dataset(dataset_name, root=root, split=split, **(options or {}))
    if not data.has_labels:
        labelled = ", ".join(data.info.labelled_splits) or "none"
        raise DatasetError(
            f"{dataset_name} split {split!r} has no labels to score; labelled splits: {labelled}"
        )
    return data


def check_classes(checkpoint: Path, meta: Any, dataset: Any, reporter: Any) -> None:
    """Same number of classes, or an error naming both; differing names only warn."""
    if meta.num_classes != dataset.info.num_classes:
        raise CheckpointError(
            f"{checkpoint} predicts {meta.num_classes} classes but dataset {dataset.info.name} "
            f"({dataset.root}) has {dataset.info.num_classes}; evaluate it on the dataset it was trained for"
        )
    if meta.class_names and tuple(meta.class_names) != tuple(dataset.info.class_names):
        reporter.warning(
            f"the checkpoint's class names differ from those of {dataset.info.name}; "
            "scores are listed under the dataset's names"
        )


def report(result: EvaluationResult, class_names: list[str], reporter: Any) -> None:
    """The per-class table with a mean row, then the overall scores and the metric convention."""
    from danet.evaluation import METRIC_CONVENTION

    metrics = result.metrics
    rows: list[list[Any]] = [
        [name, iou, acc]
        for name, iou, acc in zip(
            class_names, metrics["per_class_iou"], metrics["per_class_acc"], strict=True
        )
    ]
    rows.append(["mean", metrics["miou"], metrics["mean_acc"]])
    reporter.table(f"Per-class scores ({result.num_images} images)", ["class", "IoU", "accuracy"], rows)
    reporter.info(
        f"mIoU {_pct(metrics['miou'])}  pixel acc {_pct(metrics['pixel_acc'])}  "
        f"mean acc {_pct(metrics['mean_acc'])}  fwIoU {_pct(metrics['fw_iou'])}"
    )
    reporter.info(f"metric: {METRIC_CONVENTION} ('-' in the table)")


def _pct(value: float) -> str:
    return "-" if math.isnan(value) else f"{100 * value:.2f}%"


def describe(settings: dict[str, Any]) -> str:
    text = settings["mode"]
    if settings["mode"] == "slide":
        text += f" crop {settings['crop_size']} stride {settings['stride']}"
    if len(settings["scales"]) > 1 or settings["scales"][0] != 1.0:
        text += f", scales {settings['scales']}"
    return text + (", flip" if settings["flip"] else "")


def evaluate(
    checkpoint: CheckpointArg = None,
    dataset: Annotated[str | None, typer.Option(help="Dataset name (default: the checkpoint's).")] = None,
    data_root: Annotated[str | None, typer.Option(help="Dataset folder (default: the checkpoint's).")] = None,
    split: Annotated[str, typer.Option(help="Labelled split to score.")] = "val",
    protocol: Annotated[
        str | None,
        typer.Option(help="'official': slide 768, stride 512, flip (the official single-scale protocol)."),
    ] = None,
    mode: ModeOption = None,
    crop_size: CropSizeOption = None,
    stride: StrideOption = None,
    flip: FlipOption = False,
    multi_scale: MultiScaleOption = False,
    scales: ScalesOption = None,
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
) -> None:
    """Evaluate a checkpoint: mIoU, pixel accuracy and per-class IoU on a labelled split."""
    from danet.backends import load_backend
    from danet.evaluation import evaluate_dataset
    from danet.fileio import atomic_write_text
    from danet.inference import default_batch_size
    from danet_cli._console import RichReporter
    from danet_cli._runs import resolve_checkpoint, training_config

    reporter = RichReporter()
    path = resolve_checkpoint(checkpoint)
    options = {"compile": True} if compile else {}
    model = load_backend(path, backend=backend, device=device, precision=precision, trust=trust, **options)
    config = training_config(path) or dict(model.meta.extra.get("config") or {})
    data = open_dataset(model.meta, config, name=dataset, root=data_root, split=split)
    check_classes(path, model.meta, data, reporter)
    inference = build_inference(
        protocol=protocol,
        mode=mode,
        crop_size=crop_size,
        stride=stride,
        flip=flip,
        multi_scale=multi_scale,
        scales=scales,
        batch_size=batch_size or default_batch_size(model.device),
        align_corners=model.meta.align_corners,
    )
    count = len(data) if limit is None else min(limit, len(data))
    reporter.info(
        f"evaluating {path} on {data.info.name} {split} ({count} images, {data.root}) "
        f"on {model.device}: {describe(_settings(inference))}"
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
    )
    names = list(data.info.class_names)
    report(result, names, reporter)
    if json_path is not None:
        payload = {**result.to_json(names), "checkpoint": str(path), "dataset": data.info.name}
        payload.update(split=split, data_root=str(data.root), backend=model.name)
        atomic_write_text(json_path, json.dumps(payload, indent=2) + "\n")
        reporter.info(f"wrote {json_path}")


def _settings(inference: InferenceConfig) -> dict[str, Any]:
    from danet.evaluation import inference_settings

    return inference_settings(inference)


def register(app: typer.Typer) -> None:
    app.command("evaluate", help=_HELP)(evaluate)
    app.command("eval", help=_HELP, hidden=True)(evaluate)
