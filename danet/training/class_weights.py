"""Per-class loss weights: checked explicit lists, or `auto` from the training labels' frequencies.

`auto` is median frequency balancing (Eigen and Fergus, 2015): weight_c = median(freq) / freq_c over
the classes present, so rare classes weigh more and the median class weighs 1. Counting reads every
training mask once; the result is cached under $DANET_HOME/cache/class_weights, keyed by the mask
files (paths, sizes, modification times), so later runs on the same data start at once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from danet.config import TrainConfig
from danet.datasets.base import SegmentationDataset, apply_lut
from danet.errors import ConfigError
from danet.fileio import atomic_write_text
from danet.image_io import read_mask
from danet.paths import danet_home
from danet.reporting import Reporter


def resolve_class_weights(
    config: TrainConfig, dataset: SegmentationDataset, reporter: Reporter
) -> list[float] | None:
    """The weights `config.class_weights` asks for, one per class of `dataset`, or None."""
    names = list(dataset.info.class_names)
    if config.class_weights is None:
        return None
    if config.class_weights == "auto":
        weights = median_frequency_weights(cached_label_counts(dataset, reporter))
        shown = ", ".join(f"{n} {w:.3g}" for n, w in zip(names, weights, strict=True))
        reporter.info(f"class weights (auto, median frequency): {shown}")
        return weights
    weights = list(config.class_weights)
    if len(weights) != len(names):
        raise ConfigError(
            f"class_weights has {len(weights)} values but {dataset.info.name} has {len(names)} classes "
            f"({', '.join(names)}); give one weight per class, in this order, or class_weights: auto"
        )
    return weights


def median_frequency_weights(counts: Sequence[int]) -> list[float]:
    """median(freq) / freq_c for the classes with pixels; classes without any get weight 1."""
    counts = np.asarray(counts, dtype=np.float64)
    present = counts > 0
    if not present.any():
        raise ConfigError("class_weights: auto found no labelled pixels in the training masks")
    freq = counts / counts.sum()
    median = float(np.median(freq[present]))
    return [float(median / f) if f > 0 else 1.0 for f in freq]


def label_counts(dataset: SegmentationDataset) -> list[int]:
    """Labelled pixels per class over every mask of `dataset` (ignored pixels not counted)."""
    k = dataset.info.num_classes
    total = np.zeros(k, dtype=np.int64)
    for item in dataset.items:
        if item.mask is None:
            continue
        raw = read_mask(item.mask, palette=dataset.mask_palette())
        ids = apply_lut(raw, dataset.label_lut(item), item.mask, dataset.info)
        total += np.bincount(ids[ids < k].ravel(), minlength=k)[:k]
    return total.tolist()


def cached_label_counts(dataset: SegmentationDataset, reporter: Reporter) -> list[int]:
    path = danet_home() / "cache" / "class_weights" / f"{_fingerprint(dataset)}.json"
    if path.is_file():
        try:
            counts = json.loads(path.read_text(encoding="utf-8"))["counts"]
            if len(counts) == dataset.info.num_classes:
                return [int(c) for c in counts]
        except (OSError, ValueError, KeyError, TypeError):
            pass  # a damaged cache entry is counted again and rewritten
    reporter.info(f"counting label frequencies over {len(dataset)} training masks (cached afterwards)")
    counts = label_counts(dataset)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps({"dataset": dataset.info.name, "counts": counts}) + "\n")
    return counts


def _fingerprint(dataset: SegmentationDataset) -> str:
    digest = hashlib.sha256(f"{dataset.info.name}|{dataset.info.class_names}".encode())
    for item in dataset.items:
        if item.mask is not None:
            stat = Path(item.mask).stat()
            digest.update(f"{Path(item.mask).resolve()}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:32]
