"""SegmentationMetric: the standard convention, checked by hand and by properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from danet.errors import ConfigError
from danet.metrics import SegmentationMetric, scores_from_confusion

IGNORE = 255


@st.composite
def labelled_pairs(draw, max_classes: int = 6, max_pixels: int = 200):
    """(num_classes, pred, target) with some ignored target pixels."""
    k = draw(st.integers(1, max_classes))
    n = draw(st.integers(1, max_pixels))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    target = rng.integers(0, k, n)
    target[rng.random(n) < 0.2] = IGNORE
    pred = rng.integers(0, k, n)
    return k, pred, target


def _metric(k: int, pred, target) -> SegmentationMetric:
    metric = SegmentationMetric(k, ignore_index=IGNORE)
    metric.update(pred, target)
    return metric


def _same(a: list[float], b: list[float]) -> bool:
    return all((math.isnan(x) and math.isnan(y)) or math.isclose(x, y) for x, y in zip(a, b, strict=True))


def test_toy_case_with_absent_and_false_positive_classes():
    # 4 classes over three "images": class 3 never appears; class 2 is predicted, never labelled.
    metric = SegmentationMetric(4)
    metric.update(torch.tensor([0, 0]), torch.tensor([0, 0]))
    metric.update(torch.tensor([1, 1]), torch.tensor([0, 1]))
    metric.update(np.array([2, 0]), np.array([1, 255]))
    expected = [[2, 1, 0, 0], [0, 1, 1, 0], [0, 0, 0, 0], [0, 0, 0, 0]]
    assert metric.confusion_matrix.tolist() == expected
    scores = metric.compute()
    iou = scores["per_class_iou"]
    assert iou[:3] == pytest.approx([2 / 3, 1 / 3, 0.0]) and math.isnan(iou[3])
    assert scores["miou"] == pytest.approx(1 / 3)  # (2/3 + 1/3 + 0) / 3 classes with a union
    assert scores["pixel_acc"] == pytest.approx(3 / 5)
    assert scores["mean_acc"] == pytest.approx((2 / 3 + 1 / 2) / 2)
    assert scores["fw_iou"] == pytest.approx(3 / 5 * 2 / 3 + 2 / 5 * 1 / 3)
    acc = scores["per_class_acc"]
    assert acc[:2] == pytest.approx([2 / 3, 1 / 2]) and math.isnan(acc[2]) and math.isnan(acc[3])
    # The other tools' conventions from the same per-class IoUs (docs/evaluation.md):
    total = 2 / 3 + 1 / 3 + 0.0
    assert total / 4 == pytest.approx(0.25)  # official DANet / PyTorch-Encoding: divide by K
    assert total / 2 == pytest.approx(0.5)  # Ultralytics: classes present in the ground truth
    assert (total + 1.0) / 4 == pytest.approx(0.5)  # smp macro: empty union scores 1


def test_reference_toy_numbers_follow_from_the_conventions():
    # danet-model.md section 6: standard 0.4956 over 4 classes with a union; the others follow.
    total = 0.4956 * 4
    assert round(total / 5, 4) == pytest.approx(0.3965, abs=1e-4)
    assert round(total / 3, 4) == pytest.approx(0.6608, abs=1e-4)
    assert round((total + 1) / 5, 4) == pytest.approx(0.5965, abs=1e-4)


@settings(max_examples=60, deadline=None)
@given(labelled_pairs())
def test_perfect_prediction_scores_one(case):
    k, _, target = case
    pred = np.where(target == IGNORE, 0, target)
    scores = _metric(k, pred, target).compute()
    if (target != IGNORE).any():
        assert scores["miou"] == pytest.approx(1.0)
        assert scores["pixel_acc"] == pytest.approx(1.0)
        assert scores["mean_acc"] == pytest.approx(1.0)
        assert scores["fw_iou"] == pytest.approx(1.0)


@settings(max_examples=60, deadline=None)
@given(labelled_pairs(), st.integers(1, 50), st.integers(0, 2**31 - 1))
def test_ignored_pixels_change_nothing(case, extra, seed):
    k, pred, target = case
    rng = np.random.default_rng(seed)
    more_pred = np.concatenate([pred, rng.integers(0, k, extra)])
    more_target = np.concatenate([target, np.full(extra, IGNORE)])
    a = _metric(k, pred, target).confusion_matrix
    b = _metric(k, more_pred, more_target).confusion_matrix
    assert torch.equal(a, b)


@settings(max_examples=60, deadline=None)
@given(labelled_pairs(), st.lists(st.integers(0, 200), max_size=5))
def test_batching_changes_nothing(case, cuts):
    k, pred, target = case
    whole = _metric(k, pred, target)
    parts = SegmentationMetric(k)
    bounds = sorted({0, len(target), *[c % (len(target) + 1) for c in cuts]})
    for lo, hi in zip(bounds, bounds[1:], strict=False):
        parts.update(torch.from_numpy(pred[lo:hi]), torch.from_numpy(target[lo:hi]))
    assert torch.equal(whole.confusion_matrix, parts.confusion_matrix)


@settings(max_examples=60, deadline=None)
@given(labelled_pairs())
def test_matrix_sums_to_labelled_pixels(case):
    k, pred, target = case
    assert int(_metric(k, pred, target).confusion_matrix.sum()) == int((target != IGNORE).sum())


@settings(max_examples=60, deadline=None)
@given(labelled_pairs(), st.integers(0, 2**31 - 1))
def test_relabelling_permutes_per_class_results(case, seed):
    k, pred, target = case
    perm = np.random.default_rng(seed).permutation(k)
    lut = np.append(perm, 0)  # index k is unused; ignore stays ignore below
    relabel_target = np.where(target == IGNORE, IGNORE, lut[np.minimum(target, k)])
    before = _metric(k, pred, target).compute()
    after = _metric(k, perm[pred], relabel_target).compute()
    for key in ("per_class_iou", "per_class_acc"):
        moved = [math.nan] * k
        for old, new in enumerate(perm):
            moved[new] = before[key][old]
        assert _same(moved, after[key])
    assert _same([before["miou"]], [after["miou"]])


def test_merge_equals_one_accumulator():
    rng = np.random.default_rng(0)
    pred, target = rng.integers(0, 5, 1000), rng.integers(0, 5, 1000)
    left, right = SegmentationMetric(5), SegmentationMetric(5)
    left.update(pred[:400], target[:400])
    right.update(pred[400:], target[400:])
    left.merge(right)
    assert torch.equal(left.confusion_matrix, _metric(5, pred, target).confusion_matrix)


def test_logits_are_reduced_with_argmax():
    logits = torch.zeros(1, 3, 2, 2)
    logits[0, 2, 0, 0] = 5.0
    target = torch.tensor([[[2, 0], [0, 0]]])
    assert _metric(3, logits, target).compute()["pixel_acc"] == 1.0


def test_numpy_uint8_and_uint16_inputs_match_tensors():
    rng = np.random.default_rng(1)
    pred, target = rng.integers(0, 4, (8, 8)), rng.integers(0, 4, (8, 8))
    target[0] = IGNORE
    expected = _metric(4, torch.from_numpy(pred), torch.from_numpy(target)).confusion_matrix
    for dtype in (np.uint8, np.uint16, np.int32):
        got = _metric(4, pred.astype(dtype), target.astype(dtype)).confusion_matrix
        assert torch.equal(got, expected)


def test_negative_ignore_index_is_supported():
    metric = SegmentationMetric(3, ignore_index=-1)
    metric.update(torch.tensor([0, 1, 2]), torch.tensor([0, -1, 2]))
    assert metric.compute()["pixel_acc"] == 1.0
    assert int(metric.confusion_matrix.sum()) == 2


def test_target_outside_classes_is_an_error_listing_values():
    with pytest.raises(ValueError, match=r"\[7\]"):
        _metric(3, np.array([0, 1]), np.array([7, 1]))
    with pytest.raises(ValueError, match="prediction"):
        _metric(3, np.array([0, 3]), np.array([0, 1]))


def test_reset_and_empty_metric():
    metric = SegmentationMetric(2)
    assert math.isnan(metric.compute()["miou"])
    metric.update(np.array([1]), np.array([1]))
    metric.reset()
    assert int(metric.confusion_matrix.sum()) == 0
    with pytest.raises(ConfigError):
        SegmentationMetric(0)


def test_all_reduce_without_distributed_is_a_no_op():
    metric = _metric(2, np.array([0, 1]), np.array([0, 0]))
    before = metric.confusion_matrix.clone()
    metric.all_reduce()
    assert torch.equal(metric.confusion_matrix, before)


def test_scores_from_confusion_handles_an_all_zero_matrix():
    scores = scores_from_confusion(np.zeros((3, 3)))
    assert math.isnan(scores["miou"]) and math.isnan(scores["pixel_acc"])
