"""`danet evaluate` / `danet eval`: checkpoint and dataset discovery, options, JSON, errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from typer.testing import CliRunner

from danet.checkpoints import save_checkpoint
from danet.image_io import write_image, write_index_png
from danet.models import create_model
from danet_cli.app import app

CLASSES = ["sky", "road", "car"]
JSON_KEYS = {
    "miou", "pixel_acc", "mean_acc", "fw_iou", "per_class_iou", "per_class_acc", "class_names",
    "confusion", "num_images", "checkpoint", "dataset", "split", "settings", "metric_convention",
}  # fmt: skip
runner = CliRunner()


def write_folder_dataset(
    root: Path, names: list[str], count: int = 3, size: tuple[int, int] = (40, 48)
) -> Path:
    """A tiny `folder` dataset with train and val splits of random images and masks."""
    rng = np.random.default_rng(0)
    (root).mkdir(parents=True, exist_ok=True)
    (root / "dataset.yaml").write_text(yaml.safe_dump({"names": names}), encoding="utf-8")
    for split in ("train", "val"):
        for i in range(count):
            image = rng.integers(0, 256, (*size, 3)).astype(np.uint8)
            mask = rng.integers(0, len(names), size).astype(np.uint8)
            write_image(root / "images" / split / f"{i:03d}.png", image)
            write_index_png(
                root / "masks" / split / f"{i:03d}.png", mask, [(i * 40, 0, 0) for i in range(len(names))]
            )
    return root


def write_checkpoint(path: Path, num_classes: int, data_root: Path | None, dataset: str = "folder") -> Path:
    torch.manual_seed(0)
    model = create_model("danet_resnet18", num_classes=num_classes)
    meta = {"name": dataset, "class_names": CLASSES[:num_classes], "palette": None, "ignore_index": 255}
    config = {"dataset": dataset, "data_root": str(data_root) if data_root else None}
    return save_checkpoint(path, model, dataset=meta, config=config)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("evaluate")
    data = write_folder_dataset(base / "data", CLASSES)
    run = base / "runs" / "train" / "exp"
    checkpoint = write_checkpoint(run / "checkpoints" / "best.pt", 3, data)
    return {"base": base, "data": data, "checkpoint": checkpoint, "run": run}


def invoke(*args: str) -> object:
    result = runner.invoke(app, list(args))
    return result


def test_eval_writes_every_json_key(setup: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    result = invoke("eval", str(setup["checkpoint"]), "--json", str(out), "--device", "cpu")
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert set(data) >= JSON_KEYS
    assert data["num_images"] == 3 and data["dataset"] == "folder" and data["split"] == "val"
    assert data["class_names"] == CLASSES and list(data["per_class_iou"]) == CLASSES
    assert np.array(data["confusion"]).shape == (3, 3)
    assert sum(map(sum, data["confusion"])) == 3 * 40 * 48
    assert data["settings"]["mode"] == "whole" and data["settings"]["scales"] == [1.0]
    assert data["settings"]["batch_size"] == 2  # the CPU default: batching larger does not pay there
    assert "mean" in result.output and "mIoU" in result.output


def test_default_is_the_newest_runs_best_checkpoint(
    setup: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(setup["base"])
    older = setup["base"] / "runs" / "train" / "old" / "checkpoints" / "best.pt"
    older.parent.mkdir(parents=True, exist_ok=True)
    older.write_bytes(b"not a checkpoint")
    os.utime(older, (1, 1))
    result = invoke("evaluate", "--limit", "1", "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert "exp" in result.output


def test_run_folder_stands_for_its_best_checkpoint(setup: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    result = invoke("eval", str(setup["run"]), "--limit", "1", "--json", str(out), "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["checkpoint"] == str(setup["checkpoint"])


def test_flip_multi_scale_and_slide_run(setup: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "tta.json"
    args = ["eval", str(setup["checkpoint"]), "--limit", "1", "--device", "cpu", "--json", str(out)]
    result = invoke(*args, "--flip", "--scales", "0.75,1", "--batch-size", "3")
    assert result.exit_code == 0, result.output
    settings = json.loads(out.read_text())["settings"]
    assert settings["flip"] is True and settings["scales"] == [0.75, 1.0] and settings["batch_size"] == 3
    result = invoke(*args, "--mode", "slide", "--crop-size", "32", "--stride", "24", "--multi-scale")
    assert result.exit_code == 0, result.output
    settings = json.loads(out.read_text())["settings"]
    assert (
        settings["mode"] == "slide" and settings["crop_size"] == [32, 32] and settings["stride"] == [24, 24]
    )
    assert settings["scales"] == [0.5, 0.75, 1.0, 1.25, 1.5, 1.75]


def test_official_protocol_settings(setup: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    import danet.evaluation

    seen = {}
    original = danet.evaluation.evaluate_dataset

    def spy(forward, dataset, **kwargs):  # noqa: ANN001, ANN202 - test double
        seen.update(kwargs)
        return original(forward, dataset, **{**kwargs, "limit": 0})

    monkeypatch.setattr(danet.evaluation, "evaluate_dataset", spy)
    args = ("eval", str(setup["checkpoint"]), "--batch-size", "2", "--device", "cpu", "--crop-size", "768")
    result = invoke(*args, "--protocol", "official")
    assert result.exit_code == 0, result.output
    config = seen["inference"]
    assert (config.protocol, config.crop_size, config.stride, config.flip) == (
        "official",
        (768, 768),
        (512, 512),
        True,
    )
    assert config.scales == (1.0,) and config.batch_size == 2 and config.base_size is None
    assert config.pad_value == pytest.approx((-0.485 / 0.229, -0.456 / 0.224, -0.406 / 0.225))
    assert seen["num_classes"] == 3 and seen["ignore_index"] == 255
    result = invoke(*args, "--protocol", "official-ms", "--base-size", "96")
    assert result.exit_code == 0, result.output
    config = seen["inference"]
    assert config.scales == (0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.2) and config.stride == (384, 384)
    assert config.base_size == 96 and "protocolofficial-ms" in "".join(result.output.split())  # folded lines


def test_protocol_with_window_flags_is_an_error(setup: dict[str, Path]) -> None:
    result = invoke("eval", str(setup["checkpoint"]), "--protocol", "official", "--mode", "whole")
    assert result.exit_code == 1 and "--protocol official fixes" in result.output


def test_missing_data_root_names_the_layout(setup: dict[str, Path], tmp_path: Path) -> None:
    result = invoke("eval", str(setup["checkpoint"]), "--data-root", str(tmp_path / "nowhere"))
    assert result.exit_code == 1
    assert "not found" in result.output and "dataset.yaml" in result.output


def test_no_checkpoint_found_says_how_to_train(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("eval")
    assert result.exit_code == 1 and "danet train synthetic" in result.output


def test_checkpoint_for_other_class_count_names_both(setup: dict[str, Path], tmp_path: Path) -> None:
    checkpoint = write_checkpoint(tmp_path / "two.pt", 2, setup["data"])
    result = invoke("eval", str(checkpoint), "--device", "cpu")
    assert result.exit_code == 1
    assert "2 classes" in result.output and "has 3" in result.output


def test_unknown_dataset_lists_valid_names(setup: dict[str, Path]) -> None:
    result = invoke("eval", str(setup["checkpoint"]), "--dataset", "nope", "--device", "cpu")
    assert result.exit_code == 1
    assert "unknown dataset 'nope'" in result.output and "cityscapes" in result.output


def test_eval_is_a_hidden_alias() -> None:
    result = invoke("--help")
    assert "evaluate" in result.output and " eval " not in result.output


def test_window_flags_parse_and_imply_slide() -> None:
    from danet.errors import ConfigError
    from danet_cli._options import inference_flags, parse_pair

    assert parse_pair("512", "--crop-size") == (512, 512)
    assert parse_pair("512,1024", "--crop-size") == parse_pair("512x1024", "--crop-size") == (512, 1024)
    for bad in ("3x", "0", "a,b", "1,2,3"):
        with pytest.raises(ConfigError):
            parse_pair(bad, "--crop-size")
    from danet.api import protocol_request
    from danet.checkpoints import ModelMeta
    from danet.protocols import model_inference

    meta = ModelMeta(model_name="danet_resnet18", num_classes=3)
    flags = inference_flags(crop_size="96", stride=None, scales=None, test_size=None)
    config = model_inference(protocol_request(**flags), meta, batch_size=1)
    assert (config.mode, config.crop_size, config.stride) == ("slide", (96, 96), (64, 64))
    with pytest.raises(ConfigError, match="--mode slide"):
        model_inference(protocol_request(**flags, mode="whole"), meta, batch_size=1)
    with pytest.raises(ConfigError, match="unknown --mode"):
        model_inference(protocol_request(mode="tiles"), meta, batch_size=1)


def test_synthetic_checkpoint_finds_its_generated_dataset(tmp_path: Path) -> None:
    from danet.datasets import dataset_info

    info = dataset_info("synthetic")
    torch.manual_seed(0)
    model = create_model("danet_resnet18", num_classes=info.num_classes)
    meta = {"name": "synthetic", "class_names": list(info.class_names), "ignore_index": 255}
    options = {"size": 32, "train_count": 1, "val_count": 2}
    config = {"dataset": "synthetic", "data_root": None, "dataset_options": options}
    checkpoint = save_checkpoint(tmp_path / "synthetic.pt", model, dataset=meta, config=config)
    out = tmp_path / "synthetic.json"
    result = invoke("eval", str(checkpoint), "--json", str(out), "--device", "cpu")
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["dataset"] == "synthetic" and data["num_images"] == 2
    assert data["class_names"] == list(info.class_names)


def test_unlabelled_split_is_refused_before_loading_images(setup: dict[str, Path], tmp_path: Path) -> None:
    data = write_folder_dataset(tmp_path / "data", CLASSES, count=1)
    (data / "images" / "test").mkdir()
    write_image(data / "images" / "test" / "x.png", np.zeros((8, 8, 3), np.uint8))
    result = invoke("eval", str(setup["checkpoint"]), "--data-root", str(data), "--split", "test")
    assert result.exit_code == 1 and "has no labels" in result.output and "val" in result.output
