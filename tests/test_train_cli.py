"""`danet train` end to end on the CPU: the run folder, --dry-run, flags, and user errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from _train_helpers import load, train_cli

from danet.checkpoints import load_model

RUN_FILES = ["config.yaml", "metrics.jsonl", "train.log", "checkpoints/last.pt", "checkpoints/best.pt"]
NO_VAL = ("--set", "val_split=null")


@pytest.fixture(scope="module")
def run4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One 4-iteration run validated at 2 and 4, shared by the tests that only read its folder."""
    tmp = tmp_path_factory.mktemp("run4")
    result = train_cli(tmp, "--iters", "4", "--val-every", "2", "--data-root", str(tmp / "data"))
    assert result.exit_code == 0, result.output
    return tmp / "runs" / "synthetic"


def test_a_short_run_writes_every_file_of_the_run_folder(run4: Path) -> None:
    run = run4
    for name in RUN_FILES:
        assert (run / name).is_file(), name
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert (config["dataset"], config["model"], config["iters"], config["batch_size"]) == (
        "synthetic", "danet_resnet18", 4, 2,
    )  # fmt: skip
    assert "data_root" in config and isinstance(config["model_options"], dict)
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    train_records = [r for r in records if "loss" in r]
    val_records = [r for r in records if "miou" in r]
    assert [r["iteration"] for r in train_records] == [1, 2, 3, 4]
    for key in ("loss", "loss_out", "loss_pam", "loss_cam", "lr", "data_time", "step_time"):
        assert key in train_records[0]
    assert [r["iteration"] for r in val_records] == [2, 4]
    assert len(val_records[0]["per_class_iou"]) == 7 and "pixel_acc" in val_records[0]
    assert "mean_acc" in val_records[0]
    log = (run / "train.log").read_text()
    assert "iter 4/4" in log
    # The run ends by saying where its checkpoint is and how to use it.
    assert re.search(
        rf"checkpoint: {re.escape(str(run / 'checkpoints' / 'best.pt'))} \(val mIoU \d+\.\d\d%\)", log
    )
    # Scores read as percentages in text; metrics.jsonl keeps fractions.
    assert re.search(r"iteration 2: val mIoU \d+\.\d\d%  pixel acc \d+\.\d\d%  mean acc \d+\.\d\d%", log)
    assert all(0.0 <= r["miou"] <= 1.0 for r in val_records)
    assert f"danet predict IMAGE --checkpoint {run / 'checkpoints' / 'best.pt'}" in log
    assert f"danet evaluate {run}" in log


def test_checkpoints_hold_weights_metadata_config_and_training_state(run4: Path) -> None:
    checkpoint = load(run4 / "checkpoints" / "last.pt")
    for key in ("state_dict", "model", "dataset", "config", "optimizer", "scheduler", "scaler", "rng"):
        assert key in checkpoint, key
    assert checkpoint["iteration"] == 4 and checkpoint["total_iters"] == 4
    assert checkpoint["dataset"]["name"] == "synthetic" and checkpoint["dataset"]["ignore_index"] == 255
    assert len(checkpoint["dataset"]["class_names"]) == len(checkpoint["dataset"]["palette"]) == 7
    assert set(checkpoint["rng"][0]) == {"torch", "numpy", "python"}
    assert isinstance(checkpoint["best_miou"], float)
    model = load_model(run4 / "checkpoints" / "best.pt")
    assert model.config.name == "danet_resnet18" and model.meta.dataset == "synthetic"


def test_run_folder_name_is_incremented_when_taken(tmp_path: Path) -> None:
    (tmp_path / "runs" / "exp").mkdir(parents=True)
    assert train_cli(tmp_path, "--iters", "1", "--name", "exp", *NO_VAL).exit_code == 0
    assert (tmp_path / "runs" / "exp2" / "checkpoints" / "last.pt").is_file()


def test_fcn_with_aux_head_logs_the_aux_loss(tmp_path: Path) -> None:
    result = train_cli(
        tmp_path, "--iters", "1", "--model", "fcn_resnet18", "--set", "model_options={aux: true}", *NO_VAL
    )
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "runs" / "synthetic" / "metrics.jsonl").read_text().splitlines()[0])
    assert {"loss_out", "loss_aux"} <= set(record) and "loss_pam" not in record


def test_dry_run_prints_the_resolved_config_and_sizes_without_training(tmp_path: Path) -> None:
    config_file = tmp_path / "c.yaml"
    config_file.write_text("lr: 0.1\nbatch_size: 4\nseed: 7\n")
    result = train_cli(tmp_path, "--config", str(config_file), "--lr", "0.5", "--iters", "9", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "train: 8 images (train); val: 2 images (val)" in result.output
    assert "iterations: 9 (4 per epoch" in result.output
    printed = yaml.safe_load(result.output.split("train: 8 images")[0])
    assert (printed["lr"], printed["batch_size"], printed["seed"]) == (0.5, 2, 7)  # flag > file > recipe
    assert not (tmp_path / "runs").exists()


def test_unknown_dataset_lists_valid_names(tmp_path: Path) -> None:
    result = train_cli(tmp_path, "--dry-run", dataset="citiscapes")
    assert result.exit_code == 1
    assert "unknown dataset 'citiscapes'" in result.output and "cityscapes" in result.output


def test_unknown_optimizer_is_one_clear_error(tmp_path: Path) -> None:
    result = train_cli(tmp_path, "--dry-run", "--optimizer", "adam")
    assert result.exit_code == 2  # a usage error, caught before anything runs
    text = " ".join(result.output.replace("│", " ").split())  # the error box wraps at 80 columns
    assert "'adam' is not one of 'sgd', 'adamw'" in text and "Traceback" not in text


def test_unknown_model_lists_valid_names(tmp_path: Path) -> None:
    result = train_cli(tmp_path, "--iters", "1", "--model", "danet_resnet99")
    assert result.exit_code == 1
    assert "unknown model 'danet_resnet99'" in result.output and "danet_resnet50" in result.output


def test_missing_data_root_says_where_it_looked(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    result = train_cli(
        tmp_path,
        "--data-root",
        str(missing),
        "--iters",
        "1",
        "--set",
        "dataset_options={}",
        dataset="cityscapes",
    )
    assert result.exit_code == 1
    assert "cityscapes not found" in result.output and "nowhere" in result.output


def test_unknown_config_key_in_file_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("momentun: 0.9\n")
    result = train_cli(tmp_path, "--config", str(bad), "--dry-run")
    assert result.exit_code == 1 and "momentun" in result.output and "bad.yaml" in result.output


def test_batch_larger_than_the_training_split_is_an_error(tmp_path: Path) -> None:
    result = train_cli(tmp_path, "--iters", "1", "--batch-size", "16")
    assert result.exit_code == 1 and "fewer than the batch size 16" in result.output


def test_missing_backbone_weights_file_is_an_error(tmp_path: Path) -> None:
    result = train_cli(tmp_path, "--iters", "1", "--backbone-weights", str(tmp_path / "nope.pth"))
    assert result.exit_code == 1 and "nope.pth do not exist" in result.output
