"""Resume exactness, extending a run, Ctrl-C and non-finite losses."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
import torch
from _train_helpers import assert_same_tensors, load, runner, train_cli

from danet.training.losses import SegmentationLoss
from danet_cli.app import app


def resume(run: Path, *extra: str):
    return runner.invoke(app, ["train", "--resume", str(run), *extra])


@pytest.mark.parametrize("optimizer", ["sgd", "adamw"])
def test_stopped_and_resumed_run_is_bit_identical_to_an_uninterrupted_one(
    tmp_path: Path, optimizer: str
) -> None:
    common = ("--iters", "6", "--val-every", "3", "--optimizer", optimizer)
    straight = train_cli(tmp_path, *common, "--name", "a")
    assert straight.exit_code == 0, straight.output
    stopped = train_cli(tmp_path, *common, "--name", "b", "--workers", "1", "--stop-after", "3")
    assert stopped.exit_code == 0, stopped.output
    run_a, run_b = tmp_path / "runs" / "a", tmp_path / "runs" / "b"
    assert load(run_b / "checkpoints" / "last.pt")["iteration"] == 3
    assert f"danettrain--resume{run_b}" in "".join(stopped.output.split())  # Rich wraps long paths
    resumed = resume(run_b)
    assert resumed.exit_code == 0, resumed.output
    a, b = load(run_a / "checkpoints" / "last.pt"), load(run_b / "checkpoints" / "last.pt")
    assert b["iteration"] == 6 and b["config"]["optimizer"] == optimizer
    assert ("exp_avg" in str(b["optimizer"]["state"])) == (optimizer == "adamw")
    for key in ("state_dict", "optimizer", "scheduler", "scaler", "rng", "best_miou", "val_metrics"):
        assert_same_tensors(a[key], b[key], key)
    assert_same_tensors(
        load(run_a / "checkpoints" / "best.pt")["state_dict"],
        load(run_b / "checkpoints" / "best.pt")["state_dict"],
    )
    losses_a = [json.loads(x) for x in (run_a / "metrics.jsonl").read_text().splitlines()]
    losses_b = [json.loads(x) for x in (run_b / "metrics.jsonl").read_text().splitlines()]
    strip = ("data_time", "step_time", "val_time")
    assert [{k: v for k, v in r.items() if k not in strip} for r in losses_a] == [
        {k: v for k, v in r.items() if k not in strip} for r in losses_b
    ]


def test_resume_with_more_iterations_extends_the_run(tmp_path: Path) -> None:
    assert train_cli(tmp_path, "--iters", "2", "--set", "val_split=null").exit_code == 0
    run = tmp_path / "runs" / "synthetic"
    finished = resume(run)
    assert finished.exit_code == 1 and "already reached iteration 2 of 2" in finished.output
    extended = resume(run, "--iters", "4")
    assert extended.exit_code == 0, extended.output
    checkpoint = load(run / "checkpoints" / "last.pt")
    assert checkpoint["iteration"] == 4 and checkpoint["scheduler"]["max_iters"] == 4
    assert checkpoint["config"]["iters"] == 4
    iterations = [json.loads(x)["iteration"] for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert iterations == [1, 2, 3, 4]


def test_resume_refuses_settings_that_change_the_arithmetic(tmp_path: Path) -> None:
    assert train_cli(tmp_path, "--iters", "1", "--set", "val_split=null").exit_code == 0
    result = resume(tmp_path / "runs" / "synthetic", "--lr", "0.1", "--iters", "3")
    assert result.exit_code == 1 and "cannot change lr" in result.output


def test_resume_of_a_folder_without_checkpoint_is_an_error(tmp_path: Path) -> None:
    result = resume(tmp_path)
    assert result.exit_code == 1 and "last.pt does not exist" in result.output


def _patch_loss(monkeypatch: pytest.MonkeyPatch, on_call: int, action, *, once: bool = False) -> None:
    original = SegmentationLoss.__call__
    calls = {"n": 0}

    def patched(self, outputs, target):
        calls["n"] += 1
        total, terms = original(self, outputs, target)
        if calls["n"] == on_call or (calls["n"] > on_call and not once):
            total = action(total)
        return total, terms

    monkeypatch.setattr(SegmentationLoss, "__call__", patched)


def test_ctrl_c_saves_a_checkpoint_and_says_how_to_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupt(total: torch.Tensor) -> torch.Tensor:
        os.kill(os.getpid(), signal.SIGINT)
        return total

    _patch_loss(monkeypatch, 3, interrupt, once=True)
    before = signal.getsignal(signal.SIGINT)  # SIG_IGN when the suite runs in the background
    result = train_cli(tmp_path, "--iters", "6", "--set", "val_split=null")
    assert result.exit_code == 130, result.output
    run = tmp_path / "runs" / "synthetic"
    assert load(run / "checkpoints" / "last.pt")["iteration"] == 2
    output = "".join(result.output.split())  # Rich wraps long paths anywhere
    assert "interruptedatiteration2of6" in output and f"danettrain--resume{run}" in output
    assert signal.getsignal(signal.SIGINT) is before  # the handler it found is restored


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _patch_loss(monkeypatch, 4, lambda total: total * float("nan"))
    result = train_cli(tmp_path, "--iters", "6", "--set", "save_every=2", "--set", "val_split=null")
    assert result.exit_code == 1
    assert "the loss became nan at iteration 4" in result.output
    assert "last good checkpoint" in result.output
    checkpoint = load(tmp_path / "runs" / "synthetic" / "checkpoints" / "last.pt")
    assert checkpoint["iteration"] == 2
    assert all(torch.isfinite(t).all() for t in checkpoint["state_dict"].values() if t.is_floating_point())
