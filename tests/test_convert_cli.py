"""`danet convert`: official / mmseg files become danet checkpoints that load_model reads back."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import torch
from _interop_helpers import drop_counters, randomise, save, to_mmseg, to_official
from typer.testing import CliRunner

from danet.checkpoints import load_model, read_checkpoint
from danet.models import create_model
from danet_cli.app import app

runner = CliRunner()


@pytest.fixture(scope="module")
def source_model() -> torch.nn.Module:
    return randomise(create_model("danet_resnet18", num_classes=19, multi_grid=True), seed=5)


@pytest.fixture
def official_file(source_model, tmp_path: Path) -> Path:
    state = drop_counters(to_official(source_model.state_dict()))
    return save({"state_dict": state, "epoch": 3}, tmp_path / "DANet18.pth.tar")


def logits(model: torch.nn.Module) -> torch.Tensor:
    torch.manual_seed(0)
    with torch.no_grad():
        return model.eval()(torch.randn(1, 3, 48, 48))["out"]


def test_official_file_converts_to_a_loadable_danet_checkpoint(source_model, official_file, tmp_path):
    out = tmp_path / "converted.pt"
    result = runner.invoke(app, ["convert", str(official_file), str(out), "--dataset", "cityscapes"])
    assert result.exit_code == 0, result.output
    assert "danet_resnet18" in result.output and "filled" in result.output
    stored = read_checkpoint(out)
    assert stored["format"] == "danet"
    assert stored["converted_from"] == {"file": "DANet18.pth.tar", "format": "official"}
    model = load_model(out)
    assert model.config.multi_grid and model.config.stem == "7x7"
    assert model.meta.dataset == "cityscapes" and len(model.meta.class_names) == 19
    torch.testing.assert_close(logits(model), logits(source_model), rtol=0, atol=1e-6)


def test_convert_refuses_to_overwrite_unless_asked(official_file, tmp_path):
    out = tmp_path / "exists.pt"
    out.write_bytes(b"keep me")
    result = runner.invoke(app, ["convert", str(official_file), str(out)])
    assert result.exit_code == 1
    assert "--overwrite" in result.output
    assert out.read_bytes() == b"keep me"
    result = runner.invoke(app, ["convert", str(official_file), str(out), "--overwrite"])
    assert result.exit_code == 0, result.output
    assert load_model(out).config.name == "danet_resnet18"


def test_without_class_names_convert_says_how_to_add_them(official_file, tmp_path):
    result = runner.invoke(app, ["convert", str(official_file), str(tmp_path / "o.pt")])
    assert result.exit_code == 0, result.output
    assert "--dataset" in result.output
    assert load_model(tmp_path / "o.pt").meta.class_names == ()


def test_mmseg_file_overrides_reach_the_model(source_model, tmp_path):
    obj = {
        "meta": {"CLASSES": [f"c{i}" for i in range(19)]},
        "state_dict": to_mmseg(source_model.state_dict()),
    }
    path = save(obj, tmp_path / "danet_r18-d8_769x769_40k_cityscapes.pth")
    out = tmp_path / "m.pt"
    result = runner.invoke(app, ["convert", str(path), str(out), "--multi-grid", "--no-align-corners"])
    assert result.exit_code == 0, result.output
    model = load_model(out)
    assert model.config.multi_grid and not model.config.align_corners
    assert model.meta.class_names[0] == "c0"


def test_untrusted_pickles_need_the_trust_flag(source_model, tmp_path):
    obj = {"state_dict": to_official(source_model.state_dict()), "args": argparse.Namespace(lr=0.01)}
    path = save(obj, tmp_path / "old.pth.tar")
    result = runner.invoke(app, ["convert", str(path), str(tmp_path / "a.pt")])
    assert result.exit_code == 1
    assert "--trust" in result.output and "argparse.Namespace" in result.output
    result = runner.invoke(app, ["convert", str(path), str(tmp_path / "a.pt"), "--trust"])
    assert result.exit_code == 0, result.output


def test_a_missing_input_is_one_error_line(tmp_path):
    result = runner.invoke(app, ["convert", str(tmp_path / "nope.pth"), str(tmp_path / "x.pt")])
    assert result.exit_code == 1
    assert "does not exist" in result.output
    assert not (tmp_path / "x.pt").exists()
