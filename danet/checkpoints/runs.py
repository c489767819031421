"""The run folder of `danet train`: the one definition its writer and every reader use.

A training run is a folder `runs/train/<name>/` holding `config.yaml`, `metrics.jsonl`, `train.log`
and `checkpoints/best.pt` (the best validation score so far) and `checkpoints/last.pt` (the latest
state, for resuming). No torch here.
"""

from __future__ import annotations

from pathlib import Path

from danet.errors import CheckpointError

DEFAULT_PROJECT = "runs/train"
CONFIG_FILE = "config.yaml"
METRICS_FILE = "metrics.jsonl"
LOG_FILE = "train.log"
CHECKPOINT_DIR = "checkpoints"
BEST = "best.pt"
LAST = "last.pt"


def best_checkpoint(run_dir: str | Path) -> Path:
    """Where a run keeps its best checkpoint."""
    return Path(run_dir) / CHECKPOINT_DIR / BEST


def last_checkpoint(run_dir: str | Path) -> Path:
    """Where a run keeps its latest checkpoint (the one training resumes from)."""
    return Path(run_dir) / CHECKPOINT_DIR / LAST


def is_run_dir(path: str | Path) -> bool:
    """Whether `path` is a run folder holding at least one checkpoint."""
    return best_checkpoint(path).is_file() or last_checkpoint(path).is_file()


def checkpoint_of_run(run_dir: str | Path) -> Path:
    """The checkpoint a run folder stands for: its best one, else its last one."""
    for candidate in (best_checkpoint(run_dir), last_checkpoint(run_dir)):
        if candidate.is_file():
            return candidate
    raise CheckpointError(
        f"{run_dir} is a folder but holds no {CHECKPOINT_DIR}/{BEST} or {CHECKPOINT_DIR}/{LAST}; "
        "pass a run folder of `danet train`, a checkpoint file or a weight name (`danet download --list`)"
    )


def find_latest_checkpoint(project: str | Path = DEFAULT_PROJECT) -> Path:
    """The checkpoint (best, else last) of the newest run under `project`, by modification time."""
    folder = Path(project)
    found = [checkpoint_of_run(run) for run in sorted(folder.glob("*")) if is_run_dir(run)]
    if not found:
        raise CheckpointError(
            f"no trained checkpoint found (looked for {folder}/*/{CHECKPOINT_DIR}/{BEST} or {LAST}); train "
            "one with `danet train synthetic` (a few minutes on a CPU), or pass a checkpoint file, a run "
            "folder or a weight name"
        )
    return max(found, key=lambda path: (path.stat().st_mtime, str(path)))
