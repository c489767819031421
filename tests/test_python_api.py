"""`danet.evaluate` and `danet.predict`: the commands as Python calls, giving what the CLI gives."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import danet
from danet.errors import CheckpointError, ConfigError, DatasetError
from danet.image_io import read_mask
from danet.reporting import NullReporter
from danet_cli.app import app
from tests._predict_helpers import random_rgb, write_bgr
from tests._predict_helpers import write_checkpoint as write_cityscapes_checkpoint
from tests.test_evaluate_cli import CLASSES, write_checkpoint, write_folder_dataset

runner = CliRunner()


@pytest.fixture(scope="module")
def labelled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("api")
    data = write_folder_dataset(base / "data", CLASSES)
    checkpoint = write_checkpoint(base / "runs" / "train" / "exp" / "checkpoints" / "best.pt", 3, data)
    return {"data": data, "checkpoint": checkpoint}


class Recorder(NullReporter):
    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, message: str) -> None:
        self.lines.append(message)


def cli(*args: object) -> None:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output


def test_evaluate_returns_the_scores_the_cli_writes(labelled: dict[str, Path], tmp_path: Path) -> None:
    cli_json, api_json = tmp_path / "cli.json", tmp_path / "api.json"
    cli("evaluate", labelled["checkpoint"], "--device", "cpu", "--crop-size", "32", "--json", cli_json)
    reporter = Recorder()
    result = danet.evaluate(
        labelled["checkpoint"], device="cpu", crop_size=32, json_path=api_json, reporter=reporter
    )
    from_cli, from_api = json.loads(cli_json.read_text()), json.loads(api_json.read_text())
    assert from_api == from_cli
    assert result.class_names == tuple(CLASSES) and result.num_images == 3
    assert result.miou == pytest.approx(from_cli["miou"])
    assert result.confusion.tolist() == from_cli["confusion"]
    assert (result.settings["mode"], result.settings["crop_size"]) == ("slide", [32, 32])
    assert any(line.startswith("evaluating ") for line in reporter.lines)


def test_evaluate_defaults_and_errors_match_the_cli(labelled: dict[str, Path], tmp_path: Path) -> None:
    limited = danet.evaluate(str(labelled["checkpoint"]), device="cpu", limit=1)
    assert limited.num_images == 1 and limited.settings["protocol"] == "danet"
    with pytest.raises(ConfigError, match="--mode slide"):
        danet.evaluate(labelled["checkpoint"], device="cpu", mode="whole", crop_size=(32, 32))
    with pytest.raises(DatasetError):
        danet.evaluate(labelled["checkpoint"], device="cpu", data_root=tmp_path / "missing")
    with pytest.raises(ConfigError, match="--crop-size"):
        danet.evaluate(labelled["checkpoint"], device="cpu", crop_size=(0, 32))


def test_predict_writes_the_files_the_cli_writes(tmp_path: Path) -> None:
    checkpoint = write_cityscapes_checkpoint(tmp_path / "tiny.pt")
    images = tmp_path / "images"
    write_bgr(images / "a.png", random_rgb(40, 48, 1))
    write_bgr(images / "b.jpg", random_rgb(36, 44, 2))
    cli("predict", images, "-o", tmp_path / "cli", "--checkpoint", checkpoint, "--device", "cpu")
    summary = danet.predict(images, checkpoint=checkpoint, output=tmp_path / "api", device="cpu")
    assert (summary.images, summary.videos, summary.skipped) == (2, 0, [])
    assert summary.destination == tmp_path / "api"
    for name in ("a.png", "b.png"):
        assert np.array_equal(read_mask(tmp_path / "api" / name), read_mask(tmp_path / "cli" / name))


def test_predict_one_image_to_one_file_and_its_errors(tmp_path: Path) -> None:
    checkpoint = write_cityscapes_checkpoint(tmp_path / "tiny.pt")
    image = write_bgr(tmp_path / "x.png", random_rgb(40, 40))
    summary = danet.predict([image], checkpoint=checkpoint, output=tmp_path / "x.npz", output_format="probs")
    assert summary.destination == tmp_path / "x.npz" and (tmp_path / "x.npz").is_file()
    with pytest.raises(ConfigError, match="unknown --format"):
        danet.predict(image, checkpoint=checkpoint, output_format="jpeg")
    with pytest.raises(ConfigError, match="name the output x.png"):
        danet.predict(image, checkpoint=checkpoint, output=tmp_path / "x.jpg")
    with pytest.raises(CheckpointError):
        danet.predict(image, checkpoint=tmp_path / "nothing.pt", output=tmp_path / "out")


def test_every_checkpoint_command_takes_dash_c(labelled: dict[str, Path], tmp_path: Path) -> None:
    both = tmp_path / "both.json"
    cli("evaluate", "-c", labelled["checkpoint"], "--device", "cpu", "--limit", "1", "--json", both)
    assert json.loads(both.read_text())["checkpoint"] == str(labelled["checkpoint"])
    twice = runner.invoke(app, ["evaluate", str(labelled["checkpoint"]), "-c", str(tmp_path / "other.pt")])
    assert twice.exit_code == 1 and "two checkpoints given" in twice.output
    for command in (
        ["evaluate"],
        ["export"],
        ["predict", "x.png"],
        ["visualize", "attention", "x.png"],
        ["visualize", "overlay", "x.png"],
        ["benchmark"],
    ):
        help_text = runner.invoke(app, [*command, "--help"]).output
        assert "--checkpoint" in help_text and "-c" in help_text, command


def test_every_command_has_a_top_level_call() -> None:
    from danet.export import export_model
    from danet.training.api import train

    assert danet.export_model is export_model and danet.train is train
    assert {"evaluate", "predict", "train", "export_model"} <= set(danet.__all__)
