"""Evaluate a logits function on a labelled dataset split: full-resolution images, one confusion matrix.

Every image is scored at its original size through `danet.inference.predict_probs` (so whole, slide,
multi-scale and flip all work the same way here as in predict), and the predictions are counted into
one `SegmentationMetric` on the forward's device. With `distributed=True` each process takes every
`world_size`-th image and the matrices are summed over processes at the end.

Metric convention: the standard one (see `danet.metrics`): ignore label 255, IoU over the whole split,
classes absent from both prediction and ground truth left out of the mean.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from danet.checkpoints.meta import ModelMeta
from danet.errors import CheckpointError, ConfigError, DatasetError
from danet.inference import InferenceConfig, LogitsFn, predict_probs, resize
from danet.inference.memory_check import check_inference_memory
from danet.metrics import SegmentationMetric
from danet.reporting import NullReporter, Reporter, format_score

if TYPE_CHECKING:
    from danet.evaluation_saver import PredictionSaver

METRIC_CONVENTION = (
    "standard (mmseg/torchmetrics/Cityscapes): one confusion matrix over the split, label 255 ignored, "
    "IoU = TP / (TP + FP + FN), classes absent from both ground truth and prediction are NaN and left "
    "out of the mean"
)
_PREFETCH = 2  # images decoded ahead of the one being evaluated


@dataclass(frozen=True)
class EvaluationResult:
    """Scores of one evaluation run, the confusion matrix behind them, and how they were obtained."""

    metrics: dict[str, Any]
    confusion: np.ndarray  # (K, K) int64, rows = ground truth, cols = prediction
    num_images: int
    settings: dict[str, Any]
    class_names: tuple[str, ...] = ()  # filled by `danet.evaluate`: the evaluated dataset's

    @property
    def miou(self) -> float:
        return float(self.metrics["miou"])

    def to_json(self, class_names: Sequence[str]) -> dict[str, Any]:
        """A JSON-ready dict: scores (NaN -> null), per-class scores by name, the matrix as lists."""
        names = [str(n) for n in class_names]
        if len(names) != self.confusion.shape[0]:
            raise ConfigError(f"{len(names)} class names given for {self.confusion.shape[0]} classes")
        return {
            "miou": _finite(self.metrics["miou"]),
            "pixel_acc": _finite(self.metrics["pixel_acc"]),
            "mean_acc": _finite(self.metrics["mean_acc"]),
            "fw_iou": _finite(self.metrics["fw_iou"]),
            "per_class_iou": {
                n: _finite(v) for n, v in zip(names, self.metrics["per_class_iou"], strict=True)
            },
            "per_class_acc": {
                n: _finite(v) for n, v in zip(names, self.metrics["per_class_acc"], strict=True)
            },
            "class_names": names,
            "confusion": self.confusion.astype(np.int64).tolist(),
            "num_images": self.num_images,
            "settings": dict(self.settings),
            "metric_convention": METRIC_CONVENTION,
        }


def _finite(value: Any) -> float | None:
    value = float(value)
    return None if math.isnan(value) else value


def inference_settings(config: InferenceConfig) -> dict[str, Any]:
    """The inference options as plain JSON values (tuples become lists, `extras` dropped)."""
    settings = asdict(config)
    settings.pop("extras", None)
    settings["protocol"] = config.name  # official-ms for the official protocol with several scales
    return {k: list(v) if isinstance(v, tuple) else v for k, v in settings.items()}


def shard_indices(total: int, rank: int, world_size: int) -> list[int]:
    """The images process `rank` of `world_size` evaluates: every `world_size`-th one from `rank`.

    Together the shards cover 0..total-1 exactly once; interleaving keeps the shards balanced when
    image sizes change along the split.
    """
    if world_size < 1 or not 0 <= rank < world_size:
        raise ConfigError(f"rank {rank} is not within a world of {world_size} processes")
    return list(range(rank, max(0, total), world_size))


def _rank_and_world(distributed: bool) -> tuple[int, int]:
    dist = torch.distributed
    if distributed and dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def forward_device(forward: Callable[..., Any]) -> torch.device:
    """Where `forward` computes: the `.device` of the object a bound method belongs to, else the CPU."""
    owner = getattr(forward, "__self__", None)
    device = getattr(owner, "device", None)
    return torch.device(device) if device is not None else torch.device("cpu")


def image_tensor(image: Any, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """A normalised float (3, H, W) tensor from an H x W x 3 uint8 RGB array (the shared
    `danet.datasets.transforms.image_to_tensor`); a float tensor is taken as already normalised."""
    from danet.datasets.transforms import image_to_tensor

    if isinstance(image, torch.Tensor) and image.is_floating_point():
        if image.ndim != 3 or image.shape[0] != 3:
            raise DatasetError(f"expected a normalised (3, H, W) image tensor, got {tuple(image.shape)}")
        return image
    try:
        return image_to_tensor(np.asarray(image), mean, std)
    except ValueError as error:
        raise DatasetError(str(error)) from None


def image_to_batch(
    image: Any, device: torch.device, mean: Sequence[float], std: Sequence[float]
) -> torch.Tensor:
    """`image_tensor` as a (1, 3, H, W) batch on `device`."""
    return image_tensor(image, mean, std).unsqueeze(0).to(device)


def _load(
    dataset: Any, index: int, mean: Sequence[float], std: Sequence[float], keep: bool = False
) -> dict[str, Any]:
    sample = dict(dataset[index])
    image = sample["image"]
    if keep and isinstance(image, np.ndarray) and image.dtype == np.uint8:
        sample["picture"] = image  # the photo itself, for a saved overlay
    sample["image"] = image_tensor(image, mean, std)
    sample["index"] = index
    return sample


def _prefetched(
    dataset: Any, indices: list[int], mean: Sequence[float], std: Sequence[float], keep: bool = False
) -> Iterator[dict[str, Any]]:
    """Samples in order, decoded and normalised by background threads a couple of images ahead;
    `keep` also keeps each uint8 photo under ``picture``."""
    with ThreadPoolExecutor(max_workers=_PREFETCH, thread_name_prefix="danet-eval-io") as pool:
        pending: list[Future[dict[str, Any]]] = []
        position = 0
        while position < len(indices) or pending:
            while position < len(indices) and len(pending) <= _PREFETCH:
                pending.append(pool.submit(_load, dataset, indices[position], mean, std, keep))
                position += 1
            yield pending.pop(0).result()


def _mask_tensor(sample: dict[str, Any], device: torch.device) -> torch.Tensor:
    mask = sample.get("mask")
    if mask is None:
        name = sample.get("image_path") or sample.get("name") or "a sample"
        raise DatasetError(f"{name} has no label mask; evaluate needs a labelled split (for example val)")
    target = mask if isinstance(mask, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(mask))
    return target.to(device).unsqueeze(0)  # (1, H, W)


def evaluate_dataset(
    forward: LogitsFn,
    dataset: Any,
    *,
    num_classes: int,
    inference: InferenceConfig,
    reporter: Reporter | None = None,
    ignore_index: int = 255,
    distributed: bool = False,
    limit: int | None = None,
    device: str | torch.device | None = None,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    saver: PredictionSaver | None = None,
) -> EvaluationResult:
    """Score `forward` on every image of `dataset` (the first `limit` ones if given) at full size.

    `forward` maps a normalised (B, 3, h, w) batch to logits (B, K, h, w); a model must already be in
    eval mode. Images are read and normalised with `mean`/`std` (default ImageNet) by background
    threads, then moved to `device` (default: the `.device` of the backend whose `forward` this is,
    else the CPU). `dataset[i]` must give a dict with `image` (H x W x 3 uint8 RGB, or an already
    normalised (3, H, W) float tensor, as `transforms.eval_transform` makes) and `mask` (H x W); the
    prediction is resized to the mask when the sizes differ.
    Every process must call this when `distributed` is set; all get the same result. Processes run
    different numbers of forward passes, so give the plain model's forward (`checkpoints.unwrap`), not
    a DistributedDataParallel wrapper's. A plain function around a model on a GPU needs `device=`.
    With `saver` (`danet.evaluation_saver.PredictionSaver`) each image's prediction, the argmax the
    metric counts, is written as soon as it is scored; its files are checked before the first image.
    """
    from danet.checkpoints.meta import IMAGENET_MEAN, IMAGENET_STD

    reporter = reporter or NullReporter()
    run_device = torch.device(device) if device is not None else forward_device(forward)
    total = len(dataset) if limit is None else max(0, min(int(limit), len(dataset)))
    rank, world = _rank_and_world(distributed)
    indices = shard_indices(total, rank, world)
    metric = SegmentationMetric(num_classes, ignore_index=ignore_index)
    mean, std = mean or IMAGENET_MEAN, std or IMAGENET_STD
    if saver is not None:
        saver.prepare(_image_names(dataset, list(range(total))), mine=set(indices))
    keep = saver is not None and saver.needs_image
    with torch.inference_mode(), reporter.progress("evaluating", total=len(indices)) as task:
        for count, sample in enumerate(_prefetched(dataset, indices, mean, std, keep), start=1):
            batch = sample["image"].unsqueeze(0).to(run_device)  # (1, 3, H, W)
            check_inference_memory(
                inference, batch=1, height=batch.shape[2], width=batch.shape[3], classes=num_classes,
                device=run_device,
            )  # fmt: skip
            probs = predict_probs(batch, forward, inference)  # (1, K, H, W)
            if probs.shape[1] != num_classes:
                raise ConfigError(
                    f"the model predicts {probs.shape[1]} classes but the dataset has {num_classes}"
                )
            target = _mask_tensor(sample, probs.device)
            # An eval transform may have resized the image but not the mask: score at mask size.
            probs = resize(probs, target.shape[-2:], inference.align_corners)
            prediction = probs.argmax(dim=1)  # (1, H, W)
            metric.update(prediction, target)
            if saver is not None:
                saver.save(sample["index"], sample, prediction[0].cpu().numpy())
            live = count % 10 == 0 or count == len(indices)
            fields = {"miou": format_score(metric.compute()["miou"])} if live else {}
            task.advance(1, **fields)
    if distributed:
        metric.all_reduce()
    confusion = metric.confusion_matrix.detach().cpu().numpy().astype(np.int64)
    return EvaluationResult(
        metrics=metric.compute(),
        confusion=confusion,
        num_images=total,
        settings=inference_settings(inference),
    )


def _image_names(dataset: Any, indices: list[int]) -> dict[int, str]:
    """Each index's image name from the dataset's items (empty when it has none: named on save)."""
    items = getattr(dataset, "items", None)
    if not isinstance(items, Sequence) or max(indices, default=-1) >= len(items):
        return {}
    return {i: str(getattr(items[i], "name", "")) for i in indices}


def open_dataset(
    meta: ModelMeta, *, name: str | None = None, root: str | None = None, split: str = "val"
) -> Any:
    """The labelled split to score a model on: `name`/`root` if given, else those it was trained on.

    The training config a danet checkpoint carries (``meta.train_config``) names the dataset, its
    folder and its options; other files name at most the dataset (``meta.dataset``).
    """
    from danet.datasets import get_dataset

    config = meta.train_config
    dataset_name = name or config.get("dataset") or meta.dataset or None
    if not dataset_name:
        raise ConfigError(
            f"{meta.source or 'the checkpoint'} does not say which dataset it was trained on; "
            "pass --dataset NAME (dataset=NAME)"
        )
    same = dataset_name == config.get("dataset")
    if root is None and same:
        root = config.get("data_root") or None
    options = config.get("dataset_options") if same else None
    data = get_dataset(dataset_name, root=root, split=split, **(options or {}))
    if not data.has_labels:
        labelled = ", ".join(data.info.labelled_splits) or "none"
        raise DatasetError(
            f"{dataset_name} split {split!r} has no labels to score; labelled splits: {labelled}"
        )
    return data


def check_classes(meta: ModelMeta, dataset: Any, reporter: Reporter | None = None) -> None:
    """Same number of classes, or an error naming both; differing names only warn."""
    if meta.num_classes != dataset.info.num_classes:
        raise CheckpointError(
            f"{meta.source or 'the model'} predicts {meta.num_classes} classes but dataset "
            f"{dataset.info.name} ({dataset.root}) has {dataset.info.num_classes}; evaluate it on the "
            "dataset it was trained for"
        )
    if meta.class_names and tuple(meta.class_names) != tuple(dataset.info.class_names):
        (reporter or NullReporter()).warning(
            f"the checkpoint's class names differ from those of {dataset.info.name}; "
            "scores are listed under the dataset's names"
        )
