"""Training controls for custom data: class weights, OHEM, --patience early stopping, --exist-ok."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from _train_helpers import load, train_cli

import danet
from danet.config import LossWeights, TrainConfig
from danet.datasets import get_dataset
from danet.errors import ConfigError
from danet.evaluation import EvaluationResult
from danet.reporting import NullReporter
from danet.training import class_weights, validation
from danet.training.losses import OhemSampler, SegmentationLoss

NO_VAL = ("--set", "val_split=null")


def one_hot_logits(probs_of_true: list[float], classes: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits (1, K, 1, N) whose softmax gives class 0 exactly `probs_of_true`, and a target of 0s."""
    p = torch.tensor(probs_of_true)
    rest = (1 - p) / (classes - 1)
    probs = torch.stack([p, *[rest] * (classes - 1)])  # (K, N)
    return probs.log()[None, :, None, :], torch.zeros(1, 1, len(probs_of_true), dtype=torch.long)


def test_ohem_keeps_pixels_below_the_threshold() -> None:
    logits, target = one_hot_logits([0.9, 0.2, 0.6, 0.95, 0.1])
    kept = OhemSampler(thresh=0.7, min_kept=1).select(logits, target)
    assert (kept[0, 0] != 255).tolist() == [False, True, True, False, True]


def test_ohem_keeps_at_least_min_kept_hardest_pixels_and_never_labels_ignored_ones() -> None:
    logits, target = one_hot_logits([0.9, 0.8, 0.95, 0.99, 0.85])
    target[0, 0, 1] = 255
    kept = OhemSampler(thresh=0.5, min_kept=2).select(logits, target)
    assert (kept[0, 0] != 255).tolist() == [True, False, False, False, True]


def test_ohem_applies_to_the_danet_outputs_but_not_the_aux_head() -> None:
    logits, target = one_hot_logits([0.9, 0.2, 0.6, 0.95, 0.1])
    loss = SegmentationLoss(LossWeights(), ohem=OhemSampler(thresh=0.7, min_kept=1))
    _, terms = loss({"out": logits, "aux": logits}, target)
    hard = torch.tensor([0.2, 0.6, 0.1])
    assert terms["loss_out"].item() == pytest.approx(-hard.log().mean().item(), rel=1e-5)
    all_pixels = torch.tensor([0.9, 0.2, 0.6, 0.95, 0.1])
    assert terms["loss_aux"].item() == pytest.approx(-all_pixels.log().mean().item(), rel=1e-5)


def test_class_weights_reach_the_cross_entropy() -> None:
    torch.manual_seed(0)
    logits, target = torch.randn(2, 3, 4, 4), torch.randint(0, 3, (2, 4, 4))
    weight = torch.tensor([1.0, 3.0, 0.5])
    total, _ = SegmentationLoss(LossWeights(pam=0, cam=0, aux=0), class_weight=weight)(
        {"out": logits}, target
    )
    assert total.item() == pytest.approx(F.cross_entropy(logits, target, weight=weight).item(), rel=1e-6)


def test_median_frequency_weights_favour_rare_classes() -> None:
    weights = class_weights.median_frequency_weights([100, 300, 0, 200])
    assert weights == pytest.approx([2.0, 2 / 3, 1.0, 1.0])


def synthetic(tmp_path: Path):
    return get_dataset(
        "synthetic", root=tmp_path / "data", split="train", size=32, train_count=3, val_count=1
    )


def test_auto_weights_count_the_training_masks_once_then_use_the_cache(tmp_path, monkeypatch) -> None:
    dataset = synthetic(tmp_path)
    config = TrainConfig(dataset="synthetic", class_weights="auto")
    first = class_weights.resolve_class_weights(config, dataset, NullReporter())
    masks = [np.asarray(dataset.load(i)["mask"]) for i in range(len(dataset))]
    counts = np.bincount(np.concatenate([m[m < 255].ravel() for m in masks]), minlength=7)[:7]
    assert first == pytest.approx(class_weights.median_frequency_weights(counts.tolist()))

    def not_again(_):
        raise AssertionError("counted again although cached")

    monkeypatch.setattr(class_weights, "label_counts", not_again)
    assert class_weights.resolve_class_weights(config, dataset, NullReporter()) == first


def test_a_list_of_the_wrong_length_names_the_classes(tmp_path) -> None:
    config = TrainConfig(dataset="synthetic", class_weights=[1, 2])
    with pytest.raises(ConfigError, match="class_weights has 2 values but synthetic has 7 classes"):
        class_weights.resolve_class_weights(config, synthetic(tmp_path), NullReporter())


def test_bad_class_weights_flag_and_patience_without_validation_are_config_errors(tmp_path) -> None:
    result = train_cli(tmp_path, "--iters", "1", "--class-weights", "1,x")
    assert result.exit_code == 1 and "expected auto or numbers" in result.output
    result = train_cli(tmp_path, "--iters", "1", "--patience", "2", "--val-every", "0")
    assert result.exit_code == 1 and "patience counts validations: set val_every" in result.output


def scripted_validation(scores: list[float]):
    """A stand-in for evaluate_dataset returning the next of `scores` as the mIoU."""
    calls = iter(scores)

    def fake(*args, num_classes: int, **kwargs) -> EvaluationResult:
        miou = next(calls)
        per_class = [miou] * num_classes
        metrics = {"miou": miou, "pixel_acc": miou, "mean_acc": miou, "fw_iou": miou,
                   "per_class_iou": per_class, "per_class_acc": per_class}  # fmt: skip
        return EvaluationResult(metrics, np.eye(num_classes, dtype=np.int64), 1, {})

    return fake


def test_patience_stops_after_validations_without_improvement(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(validation, "evaluate_dataset", scripted_validation([0.5, 0.6, 0.55, 0.58, 0.9]))
    lines: list[str] = []

    class Collect(NullReporter):
        def info(self, message: str) -> None:
            lines.append(message)

    result = danet.train(
        "synthetic", model="danet_resnet18", batch_size=2, crop_size=32, workers=0, device="cpu",
        precision="fp32", backbone_weights="none", iters=10, val_every=1, patience=2,
        dataset_options={"size": 32, "train_count": 4, "val_count": 1}, data_root=str(tmp_path / "data"),
        project=str(tmp_path / "runs"), reporter=Collect(),
    )  # fmt: skip
    assert (result.status, result.iteration, result.best_miou) == ("early_stopped", 4, 0.6)
    assert any(
        "early stopping at iteration 4 of 10: val mIoU has not improved for 2 validations" in line
        and "best 60.00% at iteration 2" in line
        for line in lines
    ), lines
    assert any("val mIoU 60.00%" in line and "(best 60.00%, new best)" in line for line in lines), lines
    assert load(result.best_checkpoint)["iteration"] == 2 and load(result.last_checkpoint)["iteration"] == 4
    assert (result.run_dir / "eval.json").is_file()


def test_exist_ok_reuses_the_folder_and_replaces_the_previous_run_with_loss_controls_on(tmp_path) -> None:
    assert train_cli(tmp_path, "--iters", "2", *NO_VAL).exit_code == 0
    controls = ("--class-weights", "auto", "--ohem", "--ohem-min-kept", "64")
    result = train_cli(tmp_path, "--iters", "1", *NO_VAL, "--exist-ok", *controls)
    assert result.exit_code == 0, result.output
    assert "class weights (auto, median frequency): sky " in result.output
    runs = tmp_path / "runs"
    assert sorted(p.name for p in runs.iterdir()) == ["synthetic"]
    records = [json.loads(line) for line in (runs / "synthetic" / "metrics.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in records] == [1]
    assert load(runs / "synthetic" / "checkpoints" / "last.pt")["iteration"] == 1
