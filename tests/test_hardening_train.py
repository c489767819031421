"""Training fails cleanly and leaves nothing behind (issue 14, cases 2, 5, 8, 10 and 11).

Each `train_cli` run is a few seconds of a ResNet-18 DANet on 32 px synthetic images.
"""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import danet.checkpoints.serialization
from danet.training import data as training_data
from danet.training.losses import SegmentationLoss
from danet_cli.app import app
from tests._data_helpers import make_folder_dataset
from tests._train_helpers import load, runner, train_cli

# TINY without the synthetic dataset's options, for `folder` datasets
FOLDER_TINY = [
    "--model", "danet_resnet18", "--batch-size", "2", "--crop-size", "32", "--device", "cpu",
    "--precision", "fp32", "--backbone-weights", "none",
]  # fmt: skip
DEAD_PID = 2**22 + 17  # above Linux's largest pid_max, so no process has it
NO_VAL = ("--set", "val_split=null")


def _clean(result: object) -> str:
    output = result.output  # type: ignore[attr-defined]
    assert result.exit_code == 1, output  # type: ignore[attr-defined]
    assert "Traceback" not in output and "\x1b[" not in output, output
    return " ".join(output.split())


def test_a_full_disk_while_saving_keeps_the_old_checkpoint_and_says_how_to_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_save, calls = torch.save, {"n": 0}

    def save(obj: object, path: object) -> None:
        calls["n"] += 1
        if calls["n"] == 2:  # the message torch gives when the disk fills up mid-write
            raise RuntimeError("[enforce fail at inline_container.cc:626] . unexpected pos 64 vs 0")
        real_save(obj, path)

    monkeypatch.setattr(danet.checkpoints.serialization.torch, "save", save)
    result = train_cli(tmp_path, "--iters", "4", "--set", "save_every=2", *NO_VAL)
    text = _clean(result)
    run = tmp_path / "runs" / "synthetic"
    assert "is the disk full?" in text and "the previous checkpoint" in text and "is intact" in text
    assert f"danettrain--resume{run}" in "".join(result.output.split())  # Rich wraps long paths
    assert load(run / "checkpoints" / "last.pt")["iteration"] == 2
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["last.pt"]  # no temp left


@pytest.mark.parametrize(
    "extra",
    [
        ("--backbone-weights", "{tmp}/garbage.pth"),
        ("--device", "cuda:7"),
        ("--model", "no_such_model"),
    ],
    ids=["bad-backbone-weights", "no-cuda", "unknown-model"],
)
def test_a_run_that_cannot_start_leaves_no_run_folder(tmp_path: Path, extra: tuple[str, str]) -> None:
    (tmp_path / "garbage.pth").write_text("not weights")
    args = [value.format(tmp=tmp_path) for value in extra]
    _clean(train_cli(tmp_path, *args, *NO_VAL))
    runs = tmp_path / "runs"
    assert not runs.exists() or list(runs.iterdir()) == []


def test_a_run_on_missing_data_leaves_no_run_folder(tmp_path: Path) -> None:
    args = ["train", "folder", *FOLDER_TINY, "--data-root", str(tmp_path / "no_such_data")]
    result = runner.invoke(app, [*args, "--project", str(tmp_path / "runs"), *NO_VAL])
    assert "no_such_data" in _clean(result)
    assert not (tmp_path / "runs").exists()


def test_two_failed_starts_do_not_take_two_names_and_a_later_run_gets_the_first(tmp_path: Path) -> None:
    (tmp_path / "garbage.pth").write_text("not weights")
    for _ in range(2):
        _clean(train_cli(tmp_path, "--backbone-weights", str(tmp_path / "garbage.pth"), *NO_VAL))
    assert train_cli(tmp_path, "--iters", "1", *NO_VAL).exit_code == 0
    assert [p.name for p in (tmp_path / "runs").iterdir()] == ["synthetic"]
    assert "garbage.pth" not in (tmp_path / "runs" / "synthetic" / "train.log").read_text()


def test_sigterm_saves_exits_143_and_resume_removes_stale_temp_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original, calls = SegmentationLoss.__call__, {"n": 0}

    def loss(self: SegmentationLoss, outputs: object, target: torch.Tensor) -> object:
        calls["n"] += 1
        if calls["n"] == 2:
            os.kill(os.getpid(), signal.SIGTERM)
        return original(self, outputs, target)

    monkeypatch.setattr(SegmentationLoss, "__call__", loss)
    before = signal.getsignal(signal.SIGTERM)
    result = train_cli(tmp_path, "--iters", "4", *NO_VAL)
    assert result.exit_code == 143, result.output
    assert signal.getsignal(signal.SIGTERM) is before
    run = tmp_path / "runs" / "synthetic"
    stale = run / "checkpoints" / f".last.pt.{DEAD_PID}-k2j4h5.tmp"  # a save killed by kill -9
    stale.write_bytes(b"half a checkpoint")
    monkeypatch.setattr(SegmentationLoss, "__call__", original)
    resumed = runner.invoke(app, ["train", "--resume", str(run), "--iters", "2"])
    assert resumed.exit_code == 0, resumed.output
    assert not stale.exists()


def test_resuming_from_an_unsafe_file_does_not_advise_a_missing_trust_flag(tmp_path: Path) -> None:
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    torch.save({"a": pathlib.PurePosixPath("x")}, run / "checkpoints" / "last.pt")
    text = _clean(runner.invoke(app, ["train", "--resume", str(run)]))
    assert "--trust" not in text and "resumes only from checkpoints that danet train wrote" in text


def test_workers_are_capped_by_the_usable_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(training_data, "usable_cpus", lambda: 2)
    assert training_data.sensible_workers(4) == 2
    assert training_data.sensible_workers(4, world_size=2) == 1
    assert training_data.sensible_workers(1) == 1 and training_data.sensible_workers(0) == 0


def test_a_bad_mask_read_in_a_worker_is_one_clean_error(tmp_path: Path) -> None:
    data = make_folder_dataset(tmp_path / "data", splits={"train": 4}, size=(32, 32))
    (data / "masks" / "train" / "img_2.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    command = [
        sys.executable, "-m", "danet_cli", "train", "folder", *FOLDER_TINY, "--workers", "1",
        "--data-root", str(data),
        "--project", str(tmp_path / "runs"), "--iters", "4", *NO_VAL,
    ]  # fmt: skip
    env = {**os.environ, "PYTHONWARNINGS": "default"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "Traceback" not in output and "DataLoader worker" not in output, output
    assert output.count("error:") == 1 and "img_2.png" in output
    assert "grfmt" not in output  # OpenCV's own decoder log lines are silenced
    assert "UserWarning" not in output  # no torch warning about too many workers
