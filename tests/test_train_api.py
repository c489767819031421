"""`danet.train` from Python: a plain script without a main guard finishes (workers > 0), results."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import danet
from danet.errors import ConfigError
from danet.reporting import NullReporter
from danet.training.workers import needs_main

TINY = dict(
    model="danet_resnet18", batch_size=2, crop_size=32, device="cpu", precision="fp32", lr=0.01,
    backbone_weights="none", dataset_options={"size": 32, "train_count": 4, "val_count": 2},
    scale_range=[0.75, 1.25], log_every=1,
)  # fmt: skip

UNGUARDED_SCRIPT = """
import danet

result = danet.train(
    "synthetic", iters=2, workers=1, val_split=None, data_root={data!r}, project={project!r}, **{tiny!r}
)
print("RESULT", result.status, result.run_dir)
"""


def test_a_script_without_main_guard_trains_with_worker_processes(tmp_path: Path) -> None:
    script = tmp_path / "train_me.py"
    project = tmp_path / "runs"
    script.write_text(
        textwrap.dedent(UNGUARDED_SCRIPT).format(data=str(tmp_path / "data"), project=str(project), tiny=TINY)
    )
    repo = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([repo, os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"RESULT finished {project / 'synthetic'}" in done.stdout
    assert sorted(p.name for p in project.iterdir()) == ["synthetic"]  # no stray run folder


def test_train_returns_the_run_folder_and_final_metrics(tmp_path: Path) -> None:
    result = danet.train(
        "synthetic", iters=2, workers=0, data_root=str(tmp_path / "data"), project=str(tmp_path / "runs"),
        reporter=NullReporter(), **TINY,
    )  # fmt: skip
    assert result.status == "finished" and result.iteration == 2
    assert result.run_dir == tmp_path / "runs" / "synthetic"
    assert result.best_checkpoint.is_file() and result.last_checkpoint.is_file()
    assert 0.0 <= result.metrics["miou"] <= 1.0 and len(result.metrics["per_class_iou"]) == 7


def test_train_accepts_a_config_object_with_overrides(tmp_path: Path) -> None:
    config = danet.TrainConfig.from_dict({"dataset": "synthetic", **TINY, "iters": 5})
    result = danet.train(
        config, iters=1, workers=0, val_split=None, data_root=str(tmp_path / "data"),
        project=str(tmp_path / "runs"), reporter=NullReporter(),
    )  # fmt: skip
    assert (result.iteration, result.total_iters, result.metrics) == (1, 1, None)


def test_unknown_option_is_a_config_error_before_anything_starts(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown key 'learning_rate'"):
        danet.train("synthetic", learning_rate=0.1, project=str(tmp_path / "runs"))
    assert not (tmp_path / "runs").exists()


class _MainDataset:
    pass


def test_objects_defined_in_main_are_detected() -> None:
    local = _MainDataset()
    assert not needs_main(local, len)
    _MainDataset.__module__ = "__main__"
    try:
        assert needs_main(local)
    finally:
        _MainDataset.__module__ = __name__
