"""A real two-process `torchrun` run on the CPU (gloo): one run folder, identical weights on both ranks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch
from _train_helpers import TINY

REPO = Path(__file__).resolve().parents[1]


def test_two_process_gloo_run_ends_with_identical_weights_and_one_run_folder(tmp_path: Path) -> None:
    hashes = tmp_path / "hashes"
    env = {
        **os.environ,
        "DANET_TRAIN_HASH_DIR": str(hashes),
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    }
    args = [
        *TINY,
        "--batch-size",
        "4",
        "--iters",
        "3",
        "--val-every",
        "2",
        "--project",
        str(tmp_path / "runs"),
    ]
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
        "-m", "danet_cli", "train", "synthetic", *args,
    ]  # fmt: skip
    done = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    rank0, rank1 = (hashes / "rank0.sha256").read_text(), (hashes / "rank1.sha256").read_text()
    assert rank0 == rank1
    assert [p.name for p in (tmp_path / "runs").iterdir()] == ["synthetic"]
    run = tmp_path / "runs" / "synthetic"
    checkpoint = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    assert checkpoint["iteration"] == 3 and checkpoint["world_size"] == 2 and len(checkpoint["rng"]) == 2
    log = (run / "train.log").read_text()
    assert "2 processes x 2" in log and "per process" in log
    assert (run / "checkpoints" / "best.pt").is_file()
