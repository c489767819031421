"""Writing the run folder: config.yaml, metrics.jsonl, train.log and checkpoints/{last,best}.pt.

The layout (file names) is defined once in `danet.checkpoints.runs`, which the readers use too.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from danet.checkpoints.runs import (
    BEST,
    CHECKPOINT_DIR,
    CONFIG_FILE,
    LAST,
    LOG_FILE,
    METRICS_FILE,
    best_checkpoint,
    last_checkpoint,
)
from danet.config import TrainConfig, dump_yaml
from danet.errors import ConfigError
from danet.fileio import atomic_write_text, check_output_location, increment_dir, write_failure
from danet.reporting import Reporter, format_cell

# Everything a run writes into its folder: removed first when --exist-ok reuses a folder, so no file
# of the previous run is mistaken for this one's (names as danet.checkpoints.runs and the writers say).
PREVIOUS_RUN_FILES = (
    CONFIG_FILE, METRICS_FILE, LOG_FILE, f"{CHECKPOINT_DIR}/{LAST}", f"{CHECKPOINT_DIR}/{BEST}",
    "results.csv", "eval.json", "curves.png", "confusion_matrix.png", "tensorboard/events.out.tfevents.*",
    "events.out.tfevents.*",
)  # fmt: skip


class RunDir:
    """Paths and writers of one run folder (only the main process writes)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._pending: list[str] | None = None  # log lines held until the folder exists
        self._reuse = False  # --exist-ok: materialize empties this folder instead of taking name2

    def remove_previous_run(self) -> None:
        """Delete the files a previous run wrote here (--exist-ok), so none is mistaken for this run's."""
        for pattern in PREVIOUS_RUN_FILES:
            for path in self.path.glob(pattern):
                if path.is_file():
                    path.unlink()

    @classmethod
    def planned(cls, config: TrainConfig) -> RunDir:
        """The folder a new run will use, not created yet: a run that fails to start leaves nothing.

        The project folder is checked for writing now; `materialize` creates the run folder.
        """
        check_output_location(config.project, folder=True)
        if config.exist_ok:
            run = cls(Path(config.project) / config.run_name)
            run._reuse = True
        else:
            run = cls(increment_dir(Path(config.project), config.run_name, create=False))
        run._pending = []
        return run

    def materialize(self) -> None:
        """Create a `planned` folder (the next free name if it was taken meanwhile) and write the held
        log lines into it."""
        if self._pending is None:
            return
        if self._reuse and self.path.is_dir():
            self.remove_previous_run()
        elif self.path.exists():
            self.path = increment_dir(self.path.parent, self.path.name)
        else:
            try:
                self.path.mkdir(parents=True)
            except FileExistsError:
                self.path = increment_dir(self.path.parent, self.path.name)
            except OSError as error:
                raise write_failure(self.path, error) from None
        pending, self._pending = self._pending, None
        for line in pending:
            self._write_log(line)

    @classmethod
    def existing(cls, path: str | Path) -> RunDir:
        run = cls(path)
        if not run.last.is_file():
            raise ConfigError(
                f"cannot resume {run.path}: {run.last} does not exist "
                "(give the run folder, e.g. runs/train/cityscapes)"
            )
        return run

    @property
    def last(self) -> Path:
        return last_checkpoint(self.path)

    @property
    def best(self) -> Path:
        return best_checkpoint(self.path)

    def write_config(self, config: TrainConfig) -> None:
        atomic_write_text(self.path / CONFIG_FILE, dump_yaml(config))

    def append_metrics(self, record: dict[str, Any]) -> None:
        line = json.dumps(_json_safe(record), allow_nan=False)
        with open(self.path / METRICS_FILE, "a", encoding="utf-8") as f:
            f.write(line + "\n")

    def truncate_metrics(self, iteration: int) -> None:
        """Drop records after `iteration` (written after the checkpoint a resumed run starts from)."""
        path = self.path / METRICS_FILE
        if not path.is_file():
            return
        lines = path.read_text(encoding="utf-8").splitlines()
        kept = [line for line in lines if line.strip() and _iteration_of(line) <= iteration]
        atomic_write_text(path, "".join(f"{line}\n" for line in kept))

    def log(self, message: str) -> None:
        line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}\n"
        if self._pending is not None:
            self._pending.append(line)
        else:
            self._write_log(line)

    def _write_log(self, line: str) -> None:
        with open(self.path / LOG_FILE, "a", encoding="utf-8") as f:
            f.write(line)


def _iteration_of(line: str) -> int:
    """The iteration of a metrics line; a half-written line (a crash mid-write) counts as too late."""
    try:
        return int(json.loads(line)["iteration"])
    except (ValueError, KeyError, TypeError):
        return 1 << 62


def _json_safe(value: Any) -> Any:
    """NaN and inf become null (JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


class LoggingReporter:
    """Passes everything to `inner` and copies messages and tables into the run's train.log."""

    def __init__(self, inner: Reporter, run: RunDir | None) -> None:
        self.inner, self.run = inner, run

    def _log(self, message: str) -> None:
        if self.run is not None:
            self.run.log(message)

    def info(self, message: str) -> None:
        self._log(message)
        self.inner.info(message)

    def warning(self, message: str) -> None:
        self._log(f"warning: {message}")
        self.inner.warning(message)

    def progress_line(self, message: str) -> None:
        """A log-step line: always in train.log; shown unless `inner` draws a live progress bar
        (a terminal), so redirected output (nohup, SLURM, CI) and scripts see training move."""
        self._log(message)
        if not getattr(self.inner, "live_progress", False):
            self.inner.info(message)

    def table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        self._log(title)
        self._log("  ".join(str(c) for c in columns))
        for row in rows:
            self._log("  ".join(format_cell(v) for v in row))
        self.inner.table(title, columns, rows)

    @contextmanager
    def progress(self, description: str, total: float | None) -> Iterator[Any]:
        with self.inner.progress(description, total) as task:
            yield task
