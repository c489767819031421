"""Semantic segmentation scores from one confusion matrix accumulated over a whole split.

Convention (the standard one of mmsegmentation, torchmetrics `MulticlassJaccardIndex` and the
Cityscapes scripts): pixels whose target is `ignore_index` are skipped; IoU_c = TP / (TP + FP + FN);
a class whose union is empty (absent from both prediction and ground truth) has IoU NaN and is left out
of the mean, while a class predicted but absent from the ground truth has IoU 0 and counts.

Other tools differ on small sets: the official DANet / PyTorch-Encoding code divides by all classes
(absent classes count as 0), Ultralytics averages over the classes present in the ground truth, and
segmentation_models.pytorch's macro default scores an empty union as 1. `compute()` reports the
standard number; see docs/evaluation.md, "How the scores are computed".
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from danet.errors import ConfigError

# Ignore indices up to this value take the fast path (the bincount grows with the index).
_MAX_FAST_IGNORE = 1024
# CPU counting works through the pixels this many at a time: the pair indices of one chunk (2 MB)
# stay in cache and their buffer is reused, instead of a full-size temporary per batch.
_CPU_CHUNK = 1 << 18


def _as_tensor(value: Any) -> torch.Tensor:
    """A tensor view of `value`; numpy arrays are shared, not copied (unsigned wide ints widened)."""
    if isinstance(value, torch.Tensor):
        return value
    array = np.asarray(value)
    if array.dtype in (np.uint16, np.uint32, np.uint64):
        array = array.astype(np.int64)
    return torch.from_numpy(np.ascontiguousarray(array))


class SegmentationMetric:
    """Confusion-matrix accumulator: `update` per batch, `compute` once at the end.

    Rows of the matrix are ground-truth classes, columns predicted classes. The matrix lives on the
    device of the first `update` (int64), so GPU evaluation never copies predictions to the host.
    """

    def __init__(self, num_classes: int, ignore_index: int = 255) -> None:
        if num_classes < 1:
            raise ConfigError(f"num_classes must be at least 1, got {num_classes}")
        self.num_classes = int(num_classes)
        self.ignore_index = int(ignore_index)
        self._matrix: torch.Tensor | None = None

    @property
    def confusion_matrix(self) -> torch.Tensor:
        """The (K, K) int64 matrix: entry [t, p] counts pixels of class t predicted as p."""
        if self._matrix is None:
            return torch.zeros(self.num_classes, self.num_classes, dtype=torch.int64)
        return self._matrix

    def reset(self) -> None:
        self._matrix = None

    def update(self, pred: Any, target: Any) -> None:
        """Add one batch: class ids of any shape matching `target` (tensors or numpy arrays).

        `pred` may also be logits with one more dimension at position 1 (B, K, ...); they are
        reduced with argmax. Target values outside 0..K-1 other than `ignore_index` are an error.
        """
        pred_t, target_t = _as_tensor(pred), _as_tensor(target)
        if pred_t.dim() == target_t.dim() + 1 and pred_t.shape[1] == self.num_classes:
            pred_t = pred_t.argmax(dim=1)
        if pred_t.shape != target_t.shape:
            raise ValueError(f"prediction shape {tuple(pred_t.shape)} != target {target_t.shape}")
        if pred_t.device != target_t.device:
            pred_t = pred_t.to(target_t.device)
        self._accumulate(pred_t.reshape(-1), target_t.reshape(-1))

    def _accumulate(self, pred: torch.Tensor, target: torch.Tensor) -> None:
        if pred.is_floating_point() or target.is_floating_point():
            raise TypeError("update() needs integer class ids (or logits shaped (B, K, ...))")
        if target.numel() == 0:
            return
        k, ignore = self.num_classes, self.ignore_index
        p_low, p_high = _min_max(pred)
        if p_low < 0 or p_high >= k:
            raise ValueError(f"prediction holds values outside 0..{k - 1}")
        t_low, t_high = _min_max(target)
        if t_low >= 0 and k <= ignore <= _MAX_FAST_IGNORE and t_high <= ignore:
            counts = self._count_unmasked(pred, target, t_high)
        else:
            counts = self._count_masked(pred, target)
        if self._matrix is None:
            self._matrix = counts
        else:
            self._matrix += counts.to(self._matrix.device)

    def _count_unmasked(self, pred: torch.Tensor, target: torch.Tensor, t_high: int) -> torch.Tensor:
        """Count without a masking pass: an ignored pixel lands in row `ignore`, outside K x K."""
        k = self.num_classes
        rows = max(t_high + 1, k)
        if pred.device.type == "cpu":
            counts = _pair_counts_cpu(pred.numpy(), target.numpy(), k, rows * k).reshape(rows, k)
        else:
            # (N,) pair index target * K + pred -> (rows * K,) counts -> (rows, K). int32 holds every
            # index (< 1025 * K) and is faster than int64 or a mixed-dtype add, even counting the casts.
            index = torch.add(pred.to(torch.int32), target.to(torch.int32), alpha=k)
            counts = torch.bincount(index, minlength=rows * k).reshape(rows, k)
        if rows > k:
            stray = counts[k:].sum(dim=1).nonzero().flatten() + k
            stray = stray[stray != self.ignore_index]
            if stray.numel():
                self._bad_target(stray)
        return counts[:k].contiguous()

    def _count_masked(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """General path (negative or unusual ignore values): drop ignored pixels, then count."""
        k = self.num_classes
        valid = target != self.ignore_index
        target, pred = target[valid].long(), pred[valid].long()
        stray = (target < 0) | (target >= k)
        if bool(stray.any()):
            self._bad_target(torch.unique(target[stray]))
        return torch.bincount(target * k + pred, minlength=k * k).reshape(k, k)

    def _bad_target(self, values: torch.Tensor) -> None:
        listed = values[:10].tolist()
        raise ValueError(
            f"target holds values {listed} that are neither classes 0..{self.num_classes - 1} "
            f"nor the ignore index {self.ignore_index}"
        )

    def merge(self, other: SegmentationMetric) -> None:
        """Add another accumulator's counts (same number of classes) into this one."""
        if other.num_classes != self.num_classes:
            raise ValueError(f"cannot merge {other.num_classes} classes into {self.num_classes}")
        if other._matrix is None:
            return
        if self._matrix is None:
            self._matrix = other._matrix.clone()
        else:
            self._matrix += other._matrix.to(self._matrix.device)

    def all_reduce(self) -> None:
        """Sum the matrix over all processes when torch.distributed is initialised (else no-op).

        Every rank must call this, including ranks that saw no data.
        """
        if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
            return
        matrix = self.confusion_matrix
        if torch.distributed.get_backend() == "nccl" and matrix.device.type != "cuda":
            device = torch.device("cuda", torch.cuda.current_device())
            matrix = matrix.to(device)
        matrix = matrix.clone()
        torch.distributed.all_reduce(matrix, op=torch.distributed.ReduceOp.SUM)
        self._matrix = matrix

    def compute(self) -> dict[str, Any]:
        """Scores of everything seen so far (plain floats and lists; NaN where undefined).

        Keys: `miou`, `pixel_acc`, `mean_acc`, `fw_iou`, `per_class_iou`, `per_class_acc`.
        """
        return scores_from_confusion(self.confusion_matrix.detach().cpu().numpy())


def _min_max(values: torch.Tensor) -> tuple[int, int]:
    """Smallest and largest value; NumPy on the CPU (no thread synchronisation, see below)."""
    if values.device.type == "cpu":
        array = values.numpy()
        return int(array.min()), int(array.max())
    low, high = torch.aminmax(values)
    return int(low), int(high)


def _pair_counts_cpu(pred: np.ndarray, target: np.ndarray, k: int, bins: int) -> torch.Tensor:
    """Counts of the pair indices target * k + pred (all < `bins`), chunk by chunk with NumPy.

    Single-threaded NumPy in cache-sized chunks sustains 300-500 Mpixel/s on a busy 2-core CPU, where
    torch's threaded kernels stall on synchronisation (about 50 Mpixel/s measured there).
    """
    counts = np.zeros(bins, np.int64)
    index = np.empty(min(pred.size, _CPU_CHUNK), np.intp)
    for start in range(0, pred.size, _CPU_CHUNK):
        stop = min(pred.size, start + _CPU_CHUNK)
        chunk = index[: stop - start]
        np.multiply(target[start:stop], k, out=chunk, dtype=np.intp, casting="unsafe")
        np.add(chunk, pred[start:stop], out=chunk, dtype=np.intp, casting="unsafe")
        counts += np.bincount(chunk, minlength=bins)
    return torch.from_numpy(counts)


def _nanmean(values: np.ndarray) -> float:
    finite = values[~np.isnan(values)]
    return float(finite.mean()) if finite.size else math.nan


def scores_from_confusion(matrix: np.ndarray) -> dict[str, Any]:
    """The standard scores of a (K, K) confusion matrix (rows = ground truth)."""
    matrix = np.asarray(matrix, dtype=np.float64)
    true_pos = np.diag(matrix)
    gt_total = matrix.sum(axis=1)
    pred_total = matrix.sum(axis=0)
    union = gt_total + pred_total - true_pos
    labelled = matrix.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(union > 0, true_pos / union, np.nan)
        acc = np.where(gt_total > 0, true_pos / gt_total, np.nan)
    freq = gt_total / labelled if labelled else np.zeros_like(gt_total)
    present = gt_total > 0
    return {
        "miou": _nanmean(iou),
        "pixel_acc": float(true_pos.sum() / labelled) if labelled else math.nan,
        "mean_acc": _nanmean(acc),
        "fw_iou": float((freq[present] * iou[present]).sum()) if labelled else math.nan,
        "per_class_iou": iou.tolist(),
        "per_class_acc": acc.tolist(),
    }
