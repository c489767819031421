"""Which protocol `danet evaluate` runs: the file's origin (official, mmseg, danet recipe) unless told."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from danet.checkpoints import save_checkpoint
from danet.checkpoints.formats import checkpoint_origin
from danet.errors import ConfigError
from danet.image_io import write_image, write_index_png
from danet.models import create_model
from danet.protocols import ProtocolRequest, mmseg_config_name, resolve_inference
from danet_cli.app import app
from tests._interop_helpers import randomise, save, to_mmseg, to_official

CLASSES = ["sky", "road", "car"]
MMSEG_FILE = "danet_r18-d8_512x512_80k_ade20k_20200615_015125-edb18e08.pth"
runner = CliRunner()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("protocols")
    data = base / "data"
    data.mkdir()
    spec = {"names": CLASSES, "crop_size": [32, 32], "base_size": 32}
    (data / "dataset.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    rng = np.random.default_rng(0)
    for split in ("train", "val"):
        write_image(data / "images" / split / "000.png", rng.integers(0, 256, (24, 40, 3)).astype(np.uint8))
        mask = rng.integers(0, 3, (24, 40)).astype(np.uint8)
        write_index_png(data / "masks" / split / "000.png", mask, [(0, 0, 0), (1, 1, 1), (2, 2, 2)])
    state = randomise(create_model("danet_resnet18", num_classes=3), seed=1).state_dict()
    return {
        "data": data,
        "official": save({"state_dict": to_official(state)}, base / "DANet18.pth.tar"),
        "mmseg": save({"state_dict": to_mmseg(state), "meta": {"CLASSES": CLASSES}}, base / MMSEG_FILE),
        "base": base,
    }


def evaluate(checkpoint: Path, files: dict[str, Path], out: Path, *flags: str) -> dict[str, object]:
    args = ["evaluate", str(checkpoint), "--dataset", "folder", "--data-root", str(files["data"])]
    result = runner.invoke(app, [*args, "--device", "cpu", "--json", str(out), *flags])
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text())["settings"]


def test_official_file_runs_the_official_protocol(files: dict[str, Path], tmp_path: Path) -> None:
    settings = evaluate(files["official"], files, tmp_path / "o.json")
    assert (settings["protocol"], settings["origin"], settings["flip"]) == ("official", "official", True)
    assert settings["crop_size"] == [32, 32] and settings["stride"] == [21, 21]  # int(32 * 2/3)
    assert settings["protocol_from"] == "the official origin of the checkpoint"


def test_mmseg_file_runs_its_configs_protocol(files: dict[str, Path], tmp_path: Path) -> None:
    settings = evaluate(files["mmseg"], files, tmp_path / "m.json", "--test-size", "64,32")
    assert (settings["protocol"], settings["origin"]) == ("mmseg", "mmseg")
    assert settings["origin_config"] == "danet_r18-d8_512x512_80k_ade20k"
    assert settings["mode"] == "whole" and settings["test_size"] == [64, 32] and settings["flip"] is False


def test_converted_mmseg_file_keeps_its_origin(files: dict[str, Path], tmp_path: Path) -> None:
    converted = tmp_path / "converted.pt"
    result = runner.invoke(app, ["convert", str(files["mmseg"]), str(converted)])
    assert result.exit_code == 0, result.output
    settings = evaluate(converted, files, tmp_path / "c.json", "--test-size", "none")
    assert (settings["protocol"], settings["origin"]) == ("mmseg", "mmseg")
    assert settings["origin_config"] == "danet_r18-d8_512x512_80k_ade20k" and settings["test_size"] is None


def test_flags_override_the_origin(files: dict[str, Path], tmp_path: Path) -> None:
    settings = evaluate(files["official"], files, tmp_path / "d.json", "--protocol", "danet")
    assert (settings["protocol"], settings["mode"], settings["protocol_from"]) == (
        "danet",
        "whole",
        "--protocol",
    )


def test_danet_checkpoint_keeps_its_recipes_validation_settings(
    files: dict[str, Path], tmp_path: Path
) -> None:
    model = create_model("danet_resnet18", num_classes=3)
    val = {"mode": "slide", "crop_size": [16, 16], "stride": [12, 12], "test_size": [48, 24], "flip": True}
    config = {"dataset": "folder", "data_root": str(files["data"]), "val": val}
    checkpoint = save_checkpoint(tmp_path / "best.pt", model, dataset={"name": "folder"}, config=config)
    settings = evaluate(checkpoint, files, tmp_path / "v.json")
    assert (settings["protocol"], settings["origin"], settings["mode"]) == ("danet", "danet", "slide")
    assert settings["crop_size"] == [16, 16] and settings["stride"] == [12, 12] and settings["flip"] is True
    assert (
        settings["test_size"] == [48, 24] and settings["protocol_from"] == "the recipe's validation settings"
    )


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--protocol", "mmseg", "--base-size", "64"], "--base-size"),
        (["--multi-scale", "--scales", "1,2"], "--multi-scale and --scales"),
        (["--protocol", "official-ms", "--scales", "1"], "official-ms is multi-scale"),
        (["--protocol", "official", "--mode", "slide"], "fixes --mode"),
        (["--test-size", "a,b"], "--test-size"),
    ],
)
def test_conflicting_flags_are_errors(files: dict[str, Path], flags: list[str], message: str) -> None:
    args = ["evaluate", str(files["official"]), "--dataset", "folder", "--data-root", str(files["data"])]
    result = runner.invoke(app, [*args, "--device", "cpu", *flags])
    assert result.exit_code == 1 and message in result.output


def test_mmseg_config_names_and_their_test_settings() -> None:
    assert mmseg_config_name(MMSEG_FILE) == "danet_r18-d8_512x512_80k_ade20k"
    assert mmseg_config_name("configs/danet/danet_r50-d8_769x769_40k_cityscapes.py") == (
        "danet_r50-d8_769x769_40k_cityscapes"
    )
    assert mmseg_config_name("DANet101.pth.tar") == ""
    common = {"mean": (0.5,) * 3, "std": (0.25,) * 3, "align_corners": True, "batch_size": 1}
    config = resolve_inference(
        ProtocolRequest(), origin="mmseg", origin_config="danet_r50-d8_769x769_40k_cityscapes", **common
    )
    assert (config.mode, config.crop_size, config.stride, config.test_size) == (
        "slide",
        (769, 769),
        (513, 513),
        (2049, 1025),
    )
    config = resolve_inference(ProtocolRequest(protocol="mmseg"), dataset="cityscapes", **common)
    assert (config.mode, config.test_size) == ("whole", (2048, 1024))
    config = resolve_inference(ProtocolRequest(protocol="mmseg"), dataset="pascal_context59", **common)
    assert (config.mode, config.crop_size, config.stride, config.test_size) == (
        "slide",
        (480, 480),
        (320, 320),
        (520, 520),
    )


def test_official_cityscapes_settings() -> None:
    common = {"mean": (0.5,) * 3, "std": (0.25,) * 3, "align_corners": True, "batch_size": 1}
    single = resolve_inference(ProtocolRequest(), origin="official", dataset="cityscapes", **common)
    assert (single.base_size, single.crop_size, single.stride, single.flip) == (
        2048,
        (768, 768),
        (512, 512),
        True,
    )
    assert single.pad_value == (-2.0, -2.0, -2.0) and single.name == "official"
    multi = resolve_inference(ProtocolRequest(protocol="official-ms"), dataset="cityscapes", **common)
    assert (multi.crop_size, multi.stride, multi.name) == ((1024, 1024), (512, 512), "official-ms")
    assert multi.scales == (0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.2)
    with pytest.raises(ConfigError):
        resolve_inference(ProtocolRequest(protocol="official", mode="whole"), **common)


def test_origin_is_read_from_each_layout() -> None:
    assert checkpoint_origin({}, "official") == {"origin": "official", "config": ""}
    assert checkpoint_origin({"meta": {"exp_name": "danet_r50-d8_512x1024_40k_cityscapes.py"}}, "mmseg") == {
        "origin": "mmseg",
        "config": "danet_r50-d8_512x1024_40k_cityscapes",
    }
    converted = {"converted_from": {"file": MMSEG_FILE, "format": "mmseg"}}
    assert checkpoint_origin(converted, "danet")["config"] == "danet_r18-d8_512x512_80k_ade20k"
    assert checkpoint_origin({"format": "danet"}, "danet") == {"origin": "danet", "config": ""}


def test_saved_validation_settings_are_the_default_and_flags_apply_on_top() -> None:
    val = {"protocol": "official", "mode": "slide", "base_size": 2048, "crop_size": [768, 768]}
    val.update(stride=[512, 512], flip=False, scales=[1.0], test_size=None)
    common = {"mean": (0.5,) * 3, "std": (0.25,) * 3, "align_corners": True, "batch_size": 1}
    saved = resolve_inference(ProtocolRequest(), val=val, dataset="cityscapes", **common)
    assert (saved.name, saved.crop_size, saved.flip, saved.base_size) == ("official", (768, 768), False, 2048)
    multi = resolve_inference(
        ProtocolRequest(multi_scale=True, flip=True), val=val, dataset="cityscapes", **common
    )
    assert (multi.name, multi.crop_size, multi.stride, multi.flip) == (
        "official-ms",
        (1024, 1024),
        (512, 512),
        True,
    )
    named = resolve_inference(ProtocolRequest(protocol="danet"), val=val, dataset="cityscapes", **common)
    assert (named.name, named.mode) == ("danet", "whole")


def test_recipe_val_protocol_is_checked() -> None:
    from danet.config import TrainConfig

    with pytest.raises(ConfigError, match="val.protocol"):
        TrainConfig.from_dict({"dataset": "synthetic", "val": {"protocol": "nope"}})
