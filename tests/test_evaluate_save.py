"""`danet evaluate --save-dir`: each prediction written as it is scored, equal to what the metric counted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from _data_helpers import make_folder_dataset
from typer.testing import CliRunner

from danet.checkpoints import save_checkpoint
from danet.datasets import get_dataset
from danet.errors import OutputExistsError
from danet.evaluation import evaluate_dataset
from danet.evaluation_saver import PredictionSaver
from danet.image_io import read_image, read_mask
from danet.inference import InferenceConfig
from danet.models import create_model
from danet_cli.app import app

runner = CliRunner()
SIZE = (40, 56)
CLASSES = ["sky", "road", "car"]
PALETTE = [[70, 130, 180], [128, 64, 128], [0, 0, 142]]


def channel_forward(batch: torch.Tensor) -> torch.Tensor:
    """Logits = the normalised RGB channels: class c wins where channel c is brightest. (B, 3, H, W)."""
    return batch[:, :3] * 4.0


@pytest.fixture(scope="module")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("save") / "data"
    return make_folder_dataset(root, CLASSES, {"train": 1, "val": 3}, size=SIZE, palette=PALETTE)


def _checkpoint(path: Path, data_root: Path) -> Path:
    """A ResNet-18 DANet checkpoint that says it was trained on the `folder` dataset at `data_root`.

    (Not the registered tiny backbone of `_tiny_models`: registering it here would change the model
    list other test files in the same worker check.)"""
    torch.manual_seed(0)
    model = create_model("danet_resnet18", num_classes=len(CLASSES))
    dataset = {"name": "folder", "class_names": CLASSES, "palette": PALETTE, "ignore_index": 255}
    config = {"dataset": "folder", "data_root": str(data_root), "model": "danet_resnet18"}
    return save_checkpoint(path, model, dataset=dataset, config=config)


def _saver(folder: Path, fmt: str = "index", overwrite: bool = False) -> PredictionSaver:
    return PredictionSaver(folder, fmt, num_classes=3, names=CLASSES, palette=PALETTE, overwrite=overwrite)


def _evaluate(data: Any, saver: PredictionSaver, **options: Any) -> Any:
    return evaluate_dataset(
        channel_forward, data, num_classes=3, inference=InferenceConfig(), saver=saver, **options
    )


def test_saved_masks_are_the_argmax_the_metric_counted(data_root: Path, tmp_path: Path) -> None:
    data = get_dataset("folder", root=data_root, split="val")
    result = _evaluate(data, _saver(tmp_path / "out"))
    files = sorted((tmp_path / "out").iterdir())
    assert [f.name for f in files] == ["img_0.png", "img_1.png", "img_2.png"]
    confusion = np.zeros((3, 3), np.int64)
    for index, path in enumerate(files):
        saved = read_mask(path)
        sample = data[index]
        assert saved.shape == sample["mask"].shape
        valid = sample["mask"] != 255
        np.add.at(confusion, (sample["mask"][valid], saved[valid]), 1)
    assert np.array_equal(confusion, result.confusion)  # the very pixels the metric scored
    assert len(np.unique(confusion.nonzero()[1])) > 1  # not one class everywhere


@pytest.mark.parametrize("fmt", ["color", "overlay"])
def test_color_and_overlay_pictures_decode_at_the_label_size(
    data_root: Path, tmp_path: Path, fmt: str
) -> None:
    data = get_dataset("folder", root=data_root, split="val")
    evaluate_dataset(
        channel_forward,
        data,
        num_classes=3,
        inference=InferenceConfig(),
        saver=_saver(tmp_path, fmt),
        limit=2,
    )
    pictures = [read_image(tmp_path / f"img_{i}.png") for i in range(2)]
    assert all(p.shape == (*SIZE, 3) and p.dtype == np.uint8 for p in pictures)
    if fmt == "color":  # exactly the palette colours
        colours = {tuple(int(v) for v in c) for c in pictures[0].reshape(-1, 3)}
        assert colours <= {tuple(c) for c in PALETTE}
    else:  # the photo shows through the blend
        assert len(np.unique(pictures[0].reshape(-1, 3), axis=0)) > len(PALETTE)


def test_existing_files_stop_the_run_before_any_image(data_root: Path, tmp_path: Path) -> None:
    data = get_dataset("folder", root=data_root, split="val")
    (tmp_path / "img_1.png").write_bytes(b"keep me")
    with pytest.raises(OutputExistsError, match="img_1.png"):
        evaluate_dataset(
            channel_forward, data, num_classes=3, inference=InferenceConfig(), saver=_saver(tmp_path)
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["img_1.png"]
    assert (tmp_path / "img_1.png").read_bytes() == b"keep me"
    evaluate_dataset(
        channel_forward,
        data,
        num_classes=3,
        inference=InferenceConfig(),
        saver=_saver(tmp_path, overwrite=True),
    )
    assert read_mask(tmp_path / "img_1.png").shape == SIZE


def test_repeated_names_get_their_own_files(tmp_path: Path) -> None:
    saver = _saver(tmp_path)
    saver.prepare({0: "a/frame", 1: "b/frame", 2: ""})
    assert [p.name for p in saver.targets.values()] == ["frame.png", "frame-2.png", "image_000002.png"]


def test_each_process_checks_only_its_own_files(tmp_path: Path) -> None:
    (tmp_path / "frame.png").write_bytes(b"written by process 0")
    saver = _saver(tmp_path)
    saver.prepare({0: "frame", 1: "frame"}, mine={1})  # process 1 of 2: its image is frame-2.png
    assert saver.targets[1].name == "frame-2.png"
    with pytest.raises(OutputExistsError):
        _saver(tmp_path).prepare({0: "frame", 1: "frame"}, mine={0})


def test_cli_save_dir_writes_overlays_and_refuses_to_replace(data_root: Path, tmp_path: Path) -> None:
    checkpoint = _checkpoint(tmp_path / "model.pt", data_root)
    out = tmp_path / "pred"
    args = [
        "evaluate",
        str(checkpoint),
        "--device",
        "cpu",
        "--save-dir",
        str(out),
        "--save-format",
        "overlay",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["img_0.png", "img_1.png", "img_2.png"]
    assert read_image(out / "img_0.png").shape == (*SIZE, 3)
    again = runner.invoke(app, args, terminal_width=200)
    assert again.exit_code == 1 and "--overwrite" in again.output and "Traceback" not in again.output
    assert runner.invoke(app, [*args, "--overwrite"]).exit_code == 0


def test_cli_checks_the_save_dir_before_loading_anything(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    result = runner.invoke(app, ["evaluate", str(tmp_path / "missing.pt"), "--save-dir", str(blocker)])
    assert result.exit_code == 1 and "not a folder" in result.output
