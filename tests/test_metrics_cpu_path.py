"""The chunked NumPy counting path of `SegmentationMetric` on CPU tensors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import danet.metrics as metrics


def brute_force(pred: np.ndarray, target: np.ndarray, k: int, ignore: int) -> np.ndarray:
    matrix = np.zeros((k, k), np.int64)
    for t, p in zip(target.ravel().tolist(), pred.ravel().tolist(), strict=True):
        if t != ignore:
            matrix[t, p] += 1
    return matrix


@pytest.mark.parametrize(
    "dtypes", [(torch.int64, torch.int64), (torch.int64, torch.uint8), (torch.uint8, torch.uint8)]
)
@pytest.mark.parametrize("chunk", [7, 64, 1 << 18])
def test_chunks_and_dtypes_count_like_brute_force(
    dtypes, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(metrics, "_CPU_CHUNK", chunk)
    generator = torch.Generator().manual_seed(chunk)
    pred = torch.randint(0, 5, (3, 11, 13), generator=generator)
    target = torch.randint(0, 5, (3, 11, 13), generator=generator)
    target[0, :4] = 255
    metric = metrics.SegmentationMetric(5)
    metric.update(pred.to(dtypes[0]), target.to(dtypes[1]))
    metric.update(pred.to(dtypes[0]), target.to(dtypes[1]))
    want = 2 * brute_force(pred.numpy(), target.numpy(), 5, 255)
    assert np.array_equal(metric.confusion_matrix.numpy(), want)


def test_errors_are_unchanged_on_the_cpu_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics, "_CPU_CHUNK", 3)
    metric = metrics.SegmentationMetric(3)
    with pytest.raises(ValueError, match="prediction holds values outside"):
        metric.update(torch.tensor([0, 3]), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match=r"\[7\]"):
        metric.update(torch.tensor([0, 1, 2, 0]), torch.tensor([0, 7, 255, 1]))
