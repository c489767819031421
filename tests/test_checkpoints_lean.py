"""Lean checkpoints: best.pt without training state, fp16 weights, and `danet convert --strip/--half`."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from _train_helpers import load
from typer.testing import CliRunner

from danet.checkpoints import load_model, save_checkpoint
from danet.models import create_model
from danet.training.checkpointing import TRAINING_STATE_KEYS, lean_checkpoint
from danet_cli.app import app

runner = CliRunner()


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    torch.manual_seed(0)
    return create_model("danet_resnet18", num_classes=5)


@pytest.fixture
def full_file(model: torch.nn.Module, tmp_path: Path) -> Path:
    """A checkpoint as training wrote them before lean best.pt: weights plus AdamW state."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model.train()
    model(torch.randn(2, 3, 32, 32))["out"].mean().backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    meta = {"name": "toy", "class_names": list("abcde"), "palette": [[i, i, i] for i in range(5)]}
    path = tmp_path / "full.pt"
    save_checkpoint(
        path, model, dataset={**meta, "ignore_index": 255}, config={"dataset": "toy"},
        optimizer=optimizer.state_dict(), scheduler={"last_epoch": 1}, scaler={}, rng=[{"x": 1}],
        world_size=1, iteration=1, best_miou=0.5,
    )  # fmt: skip
    return path


def logits(model: torch.nn.Module) -> torch.Tensor:
    torch.manual_seed(1)
    with torch.no_grad():
        return model.eval()(torch.randn(1, 3, 32, 32))["out"]


def test_lean_checkpoint_drops_only_the_training_state(full_file: Path) -> None:
    full = load(full_file)
    lean = lean_checkpoint(full)
    assert set(full) - set(lean) == set(TRAINING_STATE_KEYS)
    assert lean["config"] == {"dataset": "toy"} and lean["best_miou"] == 0.5 and lean["iteration"] == 1


def test_convert_strip_slims_a_full_checkpoint_that_still_predicts_the_same(full_file, tmp_path) -> None:
    out = tmp_path / "lean.pt"
    result = runner.invoke(app, ["convert", str(full_file), str(out), "--strip"])
    assert result.exit_code == 0, result.output
    assert "MiB" in result.output
    assert out.stat().st_size < 0.5 * full_file.stat().st_size  # AdamW keeps two tensors per weight
    assert not set(TRAINING_STATE_KEYS) & set(load(out))
    torch.testing.assert_close(logits(load_model(out)), logits(load_model(full_file)), rtol=0, atol=0)
    assert load_model(out).meta.class_names == tuple("abcde")


def test_convert_half_stores_fp16_and_loads_back_as_fp32(full_file, tmp_path) -> None:
    out = tmp_path / "half.pt"
    result = runner.invoke(app, ["convert", str(full_file), str(out), "--half"])
    assert result.exit_code == 0, result.output
    stored = load(out)
    assert stored["weights_dtype"] == "float16"
    assert stored["state_dict"]["backbone.conv1.weight"].dtype == torch.float16
    assert stored["state_dict"]["backbone.bn1.num_batches_tracked"].dtype == torch.int64
    half_model = load_model(out)
    assert all(p.dtype == torch.float32 for p in half_model.parameters())
    torch.testing.assert_close(logits(half_model), logits(load_model(full_file)), rtol=0.05, atol=0.05)


def test_old_full_checkpoints_still_load(full_file: Path, model: torch.nn.Module) -> None:
    torch.testing.assert_close(logits(load_model(full_file)), logits(model), rtol=0, atol=0)
