"""Finding training runs and their checkpoints: shared by `danet evaluate` and `danet predict`.

A training run is a folder `runs/train/<name>/` holding `checkpoints/best.pt` (the best validation
score so far) and `checkpoints/last.pt` (the latest state). No torch at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from danet.errors import CheckpointError

DEFAULT_PROJECT = "runs/train"
BEST = "best.pt"
LAST = "last.pt"


def find_latest_checkpoint(project: str | Path = DEFAULT_PROJECT) -> Path:
    """The newest `<project>/*/checkpoints/best.pt` by modification time."""
    folder = Path(project)
    found = [path for path in folder.glob(f"*/checkpoints/{BEST}") if path.is_file()]
    if not found:
        raise CheckpointError(
            f"no trained checkpoint found (looked for {folder}/*/checkpoints/{BEST}); train one with "
            "`danet train synthetic` (a few minutes on a CPU) or pass a checkpoint file or run folder"
        )
    return max(found, key=lambda path: (path.stat().st_mtime, str(path)))


def checkpoint_of_run(run_dir: str | Path) -> Path:
    """The checkpoint a run folder stands for: its best one, else its last one."""
    run = Path(run_dir)
    for name in (BEST, LAST):
        candidate = run / "checkpoints" / name
        if candidate.is_file():
            return candidate
    raise CheckpointError(
        f"{run} is a folder but holds no checkpoints/{BEST} or checkpoints/{LAST}; "
        "pass a run folder of `danet train` or a checkpoint file"
    )


def resolve_checkpoint(source: str | Path | None, project: str | Path = DEFAULT_PROJECT) -> Path:
    """A checkpoint file from a file, a run folder, or nothing (the newest run's best checkpoint)."""
    if source is None or str(source) == "":
        return find_latest_checkpoint(project)
    path = Path(source).expanduser()
    if path.is_dir():
        return checkpoint_of_run(path)
    if not path.exists():
        raise CheckpointError(f"{path} does not exist; pass a checkpoint file or a `danet train` run folder")
    return path


def training_config(path: str | Path) -> dict[str, Any]:
    """The training config stored in a danet checkpoint (`config`), or {} if it holds none.

    Reads the file memory-mapped and with `weights_only=True`, so the tensors are not loaded again.
    Anything that is not a danet checkpoint gives {}: the backend has already said what is wrong.
    """
    import torch

    try:
        checkpoint = torch.load(Path(path), map_location="cpu", weights_only=True, mmap=True)
    except Exception:  # noqa: BLE001 - only metadata; a bad file was reported by load_backend
        return {}
    config = checkpoint.get("config") if isinstance(checkpoint, dict) else None
    return dict(config) if isinstance(config, dict) else {}
