"""`loss_average`: labelled-pixel (official) vs all-pixel (mmseg) averaging, checked by hand."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from _train_helpers import train_cli

from danet.checkpoints import load_model
from danet.config import LossWeights, TrainConfig, load_recipe
from danet.errors import ConfigError
from danet.training.losses import SegmentationLoss, cross_entropy

# Two classes; every pixel has logits (0, ln 3), so p(class 0) = 1/4 and p(class 1) = 3/4.
LOGITS = torch.stack([torch.zeros(2, 2), torch.full((2, 2), math.log(3.0))]).unsqueeze(0)  # (1, 2, 2, 2)
TARGET = torch.tensor([[[0, 1], [1, 255]]])  # (1, 2, 2): three labelled pixels, one ignored
LABELLED_SUM = math.log(4.0) + 2 * math.log(4.0 / 3.0)  # -ln(1/4) + 2 x -ln(3/4)


def test_labelled_average_divides_by_the_labelled_pixels() -> None:
    loss = cross_entropy(LOGITS, TARGET, 255, "labelled")
    assert loss.item() == pytest.approx(LABELLED_SUM / 3)


def test_all_average_counts_ignored_pixels_as_zero() -> None:
    loss = cross_entropy(LOGITS, TARGET, 255, "all")
    assert loss.item() == pytest.approx(LABELLED_SUM / 4)
    labelled = cross_entropy(LOGITS, TARGET, 255, "labelled")
    assert loss.item() == pytest.approx(labelled.item() * 3 / 4)  # labelled mean x labelled fraction


def test_both_averages_agree_when_nothing_is_ignored() -> None:
    target = torch.tensor([[[0, 1], [1, 1]]])
    assert cross_entropy(LOGITS, target, 255, "all").item() == pytest.approx(
        cross_entropy(LOGITS, target, 255, "labelled").item()
    )


def test_all_average_spans_the_whole_batch() -> None:
    logits = LOGITS.expand(2, -1, -1, -1)
    target = torch.cat([TARGET, torch.full_like(TARGET, 255)])  # the second image is all ignored
    assert cross_entropy(logits, target, 255, "all").item() == pytest.approx(LABELLED_SUM / 8)
    assert cross_entropy(logits, target, 255, "labelled").item() == pytest.approx(LABELLED_SUM / 3)


def test_the_weighted_sum_uses_the_chosen_average_for_every_term() -> None:
    outputs = {"out": LOGITS, "pam": LOGITS, "aux": LOGITS}
    total, terms = SegmentationLoss(LossWeights(aux=0.4), average="all")(outputs, TARGET)
    assert {k: round(v.item(), 6) for k, v in terms.items()} == {
        k: round(LABELLED_SUM / 4, 6) for k in ("loss_out", "loss_pam", "loss_aux")
    }
    assert total.item() == pytest.approx(2.4 * LABELLED_SUM / 4)


def test_unknown_averages_are_rejected() -> None:
    with pytest.raises(ConfigError, match="labelled, all"):
        SegmentationLoss(LossWeights(), average="mean")
    with pytest.raises(ConfigError, match="loss_average"):
        TrainConfig(dataset="synthetic", loss_average="pixels")


@pytest.mark.parametrize(
    ("recipe", "average", "align_corners"),
    [
        ("cityscapes", "labelled", None),  # the official recipe: defaults (labelled, align_corners=True)
        ("pascal_context59", "labelled", None),
        ("ade20k", "all", False),
        ("voc_aug", "all", False),
        ("coco_stuff164k", "all", False),
        ("coco_stuff10k", "all", False),
    ],
)
def test_recipes_follow_their_source(recipe: str, average: str, align_corners: bool | None) -> None:
    config = TrainConfig.from_dict(load_recipe(recipe))
    assert config.loss_average == average
    assert config.model_options.get("align_corners") == align_corners


def test_a_pam_only_run_trains_with_all_pixel_averaging_and_reloads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, tuple[str, ...]]] = []
    original = SegmentationLoss.__call__

    def spy(self, outputs, target):
        seen.append((self.average, tuple(sorted(outputs))))
        return original(self, outputs, target)

    monkeypatch.setattr(SegmentationLoss, "__call__", spy)
    extra = ("--model", "danet_pam_resnet18", "--iters", "2", "--set", "loss_average=all")
    result = train_cli(tmp_path, *extra, "--set", "val_split=null", "--name", "pam")
    assert result.exit_code == 0, result.output
    assert seen == [("all", ("out", "pam"))] * 2
    model = load_model(tmp_path / "runs" / "pam" / "checkpoints" / "last.pt")
    assert model.config.name == "danet_pam_resnet18" and model.head.cam is None
