"""Every command as a Python call: `evaluate` and `predict` do what `danet evaluate` and `danet predict`
do (same defaults, same errors, same protocol resolution) and return their results; the CLI only parses
flags, calls these and renders what they report.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from danet.errors import ConfigError
from danet.protocols import ProtocolRequest
from danet.reporting import NullReporter, Reporter

if TYPE_CHECKING:
    from danet.evaluation import EvaluationResult
    from danet.prediction.run import PredictionSummary
    from danet.prediction.sources import Source

Size = int | tuple[int, int]
PathLike = str | os.PathLike[str]


def _pair(value: Size | None, flag: str) -> tuple[int, int] | None:
    if value is None:
        return None
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, int) and v >= 1 for v in pair):
        raise ConfigError(f"{flag} takes one positive size or (height, width), got {value!r}")
    return pair[0], pair[1]


def protocol_request(
    *,
    protocol: str | None = None,
    mode: str | None = None,
    crop_size: Size | None = None,
    stride: Size | None = None,
    flip: bool | None = None,
    multi_scale: bool = False,
    scales: Sequence[float] | None = None,
    test_size: tuple[int, int] | None = None,
    base_size: int | None = None,
) -> ProtocolRequest:
    """The inference settings asked for, checked; None leaves a setting to the protocol resolution
    (`danet.protocols`). `test_size` (0, 0) turns the test-size resize off."""
    return ProtocolRequest(
        protocol=protocol,
        mode=mode,
        crop_size=_pair(crop_size, "--crop-size"),
        stride=_pair(stride, "--stride"),
        flip=flip,
        multi_scale=multi_scale,
        scales=tuple(float(s) for s in scales) if scales else None,
        test_size=None if test_size is None else (int(test_size[0]), int(test_size[1])),
        base_size=base_size,
    )


def evaluate(
    checkpoint: PathLike | None = None,
    *,
    dataset: str | None = None,
    data_root: PathLike | None = None,
    split: str = "val",
    protocol: str | None = None,
    mode: str | None = None,
    crop_size: Size | None = None,
    stride: Size | None = None,
    flip: bool | None = None,
    multi_scale: bool = False,
    scales: Sequence[float] | None = None,
    test_size: tuple[int, int] | None = None,
    base_size: int | None = None,
    batch_size: int | None = None,
    device: str = "auto",
    precision: str = "auto",
    limit: int | None = None,
    backend: str | None = None,
    trust: bool = False,
    compile: bool = False,
    channels_last: bool | None = None,
    json_path: PathLike | None = None,
    save_dir: PathLike | None = None,
    save_format: str = "index",
    overwrite: bool = False,
    reporter: Reporter | None = None,
) -> EvaluationResult:
    """Score a checkpoint (file, run folder, weight name; None: the newest run) on a labelled split of
    `dataset` (default: the one it was trained on): mIoU, accuracies, per-class IoU, confusion matrix.

    `json_path` also writes the scores, the per-class table and the matrix there as JSON; `save_dir`
    each image's prediction as it is scored (`save_format` index, color or overlay; named after the
    images; existing files are refused unless `overwrite`).
    """
    from danet.evaluation import check_classes, evaluate_dataset, inference_settings, open_dataset
    from danet.fileio import atomic_write_text, check_output_location
    from danet.inference import default_batch_size
    from danet.prediction.predictor import open_backend
    from danet.protocols import describe_inference, model_inference, protocol_source

    request = protocol_request(
        protocol=protocol, mode=mode, crop_size=crop_size, stride=stride, flip=flip,
        multi_scale=multi_scale, scales=scales, test_size=test_size, base_size=base_size,
    )  # fmt: skip
    if json_path is not None:  # fail in the first second, not after the evaluation
        check_output_location(Path(json_path))
    if save_dir is not None:
        check_output_location(Path(save_dir), folder=True)
    reporter = reporter or NullReporter()
    path = _resolve(checkpoint, reporter)
    model = open_backend(
        path, backend, device=device, precision=precision, trust=trust, compile=compile,
        channels_last=channels_last,
    )  # fmt: skip
    root = None if data_root is None else str(data_root)
    data = open_dataset(model.meta, name=dataset, root=root, split=split)
    check_classes(model.meta, data, reporter)
    inference = model_inference(
        request, model.meta, batch_size=batch_size or default_batch_size(model.device),
        dataset=data.info.name, dataset_crop=data.info.crop_size,
    )  # fmt: skip
    origin = protocol_source(model.meta, protocol)
    count = len(data) if limit is None else min(limit, len(data))
    reporter.info(
        f"evaluating {path} on {data.info.name} {split} ({count} images, {data.root}) "
        f"on {model.device}: {describe_inference(inference_settings(inference))} ({origin['protocol_from']})"
    )
    result = evaluate_dataset(
        model.forward, data, num_classes=data.info.num_classes, inference=inference, reporter=reporter,
        ignore_index=data.info.ignore_index, limit=limit, device=model.device, mean=model.meta.mean,
        std=model.meta.std, saver=_saver(save_dir, save_format, data.info, overwrite),
    )  # fmt: skip
    result = replace(result, class_names=tuple(str(n) for n in data.info.class_names))
    if json_path is not None:
        names = list(result.class_names)
        payload = {**result.to_json(names), "checkpoint": str(path), "dataset": data.info.name}
        payload["settings"].update(origin)
        payload.update(split=split, data_root=str(data.root), backend=model.name)
        atomic_write_text(Path(json_path), json.dumps(payload, indent=2) + "\n")
        reporter.info(f"wrote {json_path}")
    return result


def _saver(folder: PathLike | None, fmt: str, info: Any, overwrite: bool) -> Any:
    """The writer of `evaluate(save_dir=...)`, or None."""
    if folder is None:
        return None
    from danet.evaluation_saver import PredictionSaver

    return PredictionSaver(
        Path(folder), fmt, num_classes=info.num_classes, names=info.class_names, palette=info.palette,
        ignore_index=info.ignore_index, overwrite=overwrite,
    )  # fmt: skip


def predict(
    sources: PathLike | Sequence[PathLike],
    *,
    checkpoint: PathLike | None = None,
    output: PathLike | None = None,
    output_format: str = "index",
    name: str = "exp",
    recursive: bool = False,
    save_frames: bool = False,
    alpha: float = 0.5,
    protocol: str | None = None,
    mode: str | None = None,
    crop_size: Size | None = None,
    stride: Size | None = None,
    flip: bool | None = None,
    multi_scale: bool = False,
    scales: Sequence[float] | None = None,
    test_size: tuple[int, int] | None = None,
    base_size: int | None = None,
    batch_size: int = 1,
    device: str = "auto",
    precision: str = "auto",
    backend: str | None = None,
    trust: bool = False,
    compile: bool = False,
    channels_last: bool | None = None,
    overwrite: bool = False,
    skip_errors: bool = False,
    max_image_pixels: int | None = None,
    reporter: Reporter | None = None,
) -> PredictionSummary:
    """Predict masks for images, folders, glob patterns and videos and write them as `output_format`.

    `output` is a file for a single image (with a suffix), else a folder (default runs/predict/NAME,
    numbered if taken); the summary's `destination` says where the outputs went.
    """
    from danet.evaluation import inference_settings
    from danet.fileio import check_output_location, increment_dir
    from danet.prediction.media import FORMATS, PredictionWriter, format_suffix
    from danet.prediction.predictor import Predictor, open_backend
    from danet.prediction.run import predict_sources
    from danet.prediction.sources import expand_sources, output_paths
    from danet.protocols import describe_inference, model_inference

    if output_format not in FORMATS:
        raise ConfigError(f"unknown --format {output_format!r}; use one of {', '.join(FORMATS)}")
    request = protocol_request(
        protocol=protocol, mode=mode, crop_size=crop_size, stride=stride, flip=flip,
        multi_scale=multi_scale, scales=scales, test_size=test_size, base_size=base_size,
    )  # fmt: skip
    reporter = reporter or NullReporter()
    if max_image_pixels is not None:
        from danet.limits import set_max_image_pixels

        set_max_image_pixels(max_image_pixels)
    names = [str(sources)] if isinstance(sources, str | os.PathLike) else [str(s) for s in sources]
    found = expand_sources(names, recursive)
    target = None if output is None else Path(output)
    single_file = target is not None and _is_file_target(target, found)
    if single_file:
        _check_file_output(target, output_format)
        folder = target
    else:
        folder = target if target is not None else increment_dir(Path("runs/predict"), name, create=False)
        check_output_location(folder, folder=True)
    path = _resolve(checkpoint, reporter)
    model = open_backend(
        path, backend, device=device, precision=precision, trust=trust, compile=compile,
        channels_last=channels_last,
    )  # fmt: skip
    meta = model.meta
    inference = model_inference(request, meta, batch_size=batch_size, dataset=meta.dataset)
    predictor = Predictor(model, inference=inference)
    writer = PredictionWriter(
        output_format, num_classes=meta.num_classes, names=meta.class_names, palette=meta.palette,
        ignore_index=meta.ignore_index, dataset=meta.dataset, alpha=alpha,
    )  # fmt: skip
    targets = (
        {found[0].path: folder} if single_file else output_paths(found, folder, format_suffix(output_format))
    )
    reporter.info(
        f"predicting {len(found)} source(s) with {path} on {predictor.device} ({meta.model_name}), "
        f"{describe_inference(inference_settings(inference))}"
    )
    summary = predict_sources(
        predictor, found, targets, writer, overwrite=overwrite, skip_errors=skip_errors,
        save_frames=save_frames, reporter=reporter,
    )  # fmt: skip
    summary.destination = folder
    return summary


def _resolve(checkpoint: PathLike | None, reporter: Reporter) -> Any:
    from danet.checkpoints import resolve

    return resolve(None if checkpoint is None else str(checkpoint), reporter=reporter)


def _is_file_target(output: Path, found: list[Source]) -> bool:
    """`output` names a file when there is one image and it has a suffix and is not a folder."""
    return len(found) == 1 and not found[0].is_video and bool(output.suffix) and not output.is_dir()


def _check_file_output(output: Path, output_format: str) -> None:
    """Before the model is loaded: the extension suits the format and the file can be written."""
    from danet.fileio import check_output_location
    from danet.image_io import check_image_suffix
    from danet.prediction.media import format_suffix

    expected = format_suffix(output_format)
    if output_format in ("index", "labelids", "probs") and output.suffix.lower() != expected:
        raise ConfigError(
            f"--format {output_format} writes {expected} files; name the output {output.stem}{expected}"
        )
    if output_format not in ("index", "labelids", "probs"):
        check_image_suffix(output)
    check_output_location(output)
