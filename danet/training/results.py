"""What a run records as it goes: `results.csv` (one row per log step and per validation) and,
optionally, a TensorBoard event file in the run folder.

The CSV has a fixed header: the loss terms, learning rate, speed, the validation scores and one
`iou_<class>` column per class, empty where a row has no value. A resumed run drops the rows written
after the checkpoint it starts from and appends below them, so no iteration appears twice.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from danet.errors import ConfigError
from danet.fileio import atomic_write_text

RESULTS_FILE = "results.csv"
LOGGERS = ("none", "tensorboard")
TRAIN_COLUMNS = (
    "loss", "loss_out", "loss_pam", "loss_cam", "loss_aux", "lr", "it_per_s", "data_time", "step_time",
)  # fmt: skip
VAL_COLUMNS = ("val_miou", "val_pixel_acc", "val_mean_acc", "val_time")


def results_columns(class_names: Sequence[str]) -> list[str]:
    """The header: kind (train / val), iteration, the training values, then the validation scores."""
    return ["kind", "iteration", *TRAIN_COLUMNS, *VAL_COLUMNS, *(f"iou_{n}" for n in class_names)]


def train_row(record: Mapping[str, Any]) -> dict[str, Any]:
    """A CSV row from a log-step record of `Window.means()` (plus `iteration`)."""
    seconds = record.get("data_time", 0.0) + record.get("step_time", 0.0)
    row = {"kind": "train", "iteration": record["iteration"], "it_per_s": 1.0 / seconds if seconds else None}
    row.update({k: record[k] for k in TRAIN_COLUMNS if k in record})
    return row


def val_row(
    iteration: int, metrics: Mapping[str, Any], seconds: float, names: Sequence[str]
) -> dict[str, Any]:
    """A CSV row from validation scores (per-class IoU under each class's column)."""
    row = {
        "kind": "val", "iteration": iteration, "val_miou": metrics["miou"],
        "val_pixel_acc": metrics["pixel_acc"], "val_mean_acc": metrics["mean_acc"], "val_time": seconds,
    }  # fmt: skip
    row.update({f"iou_{n}": v for n, v in zip(names, metrics["per_class_iou"], strict=True)})
    return row


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if not math.isfinite(value) else f"{value:.6g}"
    return str(value)


class ResultsCsv:
    """`results.csv` of a run folder, written row by row (the main process only)."""

    def __init__(self, folder: Path, class_names: Sequence[str]) -> None:
        self.path = Path(folder) / RESULTS_FILE
        self.columns = results_columns(class_names)

    def start(self, keep_until: int | None) -> None:
        """Begin a run: a fresh file, or (resuming at `keep_until`) the rows up to that iteration."""
        rows = self._read() if keep_until is not None else []
        kept = [r for r in rows if _iteration(r) <= (keep_until or 0)]
        text = io.StringIO()
        writer = csv.DictWriter(text, self.columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows({c: r.get(c, "") for c in self.columns} for r in kept)
        atomic_write_text(self.path, text.getvalue())

    def append(self, row: Mapping[str, Any]) -> None:
        with open(self.path, "a", encoding="utf-8", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow([_cell(row.get(c)) for c in self.columns])

    def _read(self) -> list[dict[str, str]]:
        if not self.path.is_file():
            return []
        with open(self.path, encoding="utf-8", newline="") as f:
            return list(csv.DictReader(f))


def _iteration(row: Mapping[str, str]) -> int:
    """The iteration of a row; a half-written row (a crash mid-write) counts as too late."""
    try:
        return int(row.get("iteration") or "")
    except ValueError:
        return 1 << 62


def require_logger(name: str) -> None:
    """Fail before anything is created when the package of logger `name` is not installed."""
    if name == "tensorboard":
        _summary_writer()


def _summary_writer() -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise ConfigError(
            "--logger tensorboard needs the tensorboard package: pip install tensorboard "
            "(also in danet's `tensorboard` extra), or drop --logger"
        ) from None
    return SummaryWriter


class TensorBoardLogger:
    """Scalars in a TensorBoard event file in the run folder (``tensorboard --logdir runs/train``)."""

    def __init__(self, folder: Path, *, start: int) -> None:
        SummaryWriter = _summary_writer()  # noqa: N806 - a class
        # purge_step: a resumed run hides the events written after its checkpoint
        self.writer = SummaryWriter(str(folder), purge_step=start if start > 0 else None)

    def log_train(self, record: Mapping[str, Any]) -> None:
        step = int(record["iteration"])
        for key in TRAIN_COLUMNS:
            if key.startswith("loss") and key in record:
                self.writer.add_scalar(f"train/{key}", record[key], step)
        self.writer.add_scalar("train/lr", record["lr"], step)
        self.writer.add_scalar("train/data_time", record["data_time"], step)
        self.writer.add_scalar("train/step_time", record["step_time"], step)

    def log_val(self, iteration: int, metrics: Mapping[str, Any], names: Sequence[str]) -> None:
        for key in ("miou", "pixel_acc", "mean_acc"):
            self.writer.add_scalar(f"val/{key}", metrics[key], iteration)
        for name, value in zip(names, metrics["per_class_iou"], strict=True):
            self.writer.add_scalar(f"val_iou/{name}", value, iteration)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


class RunRecorder:
    """results.csv and the optional logger of one run; the trainer calls it at each log and validation."""

    def __init__(self, folder: Path, class_names: Sequence[str], *, logger: str, start: int) -> None:
        self.names = list(class_names)
        self.csv = ResultsCsv(folder, self.names)
        self.csv.start(start if start > 0 else None)
        self.logger = TensorBoardLogger(folder, start=start) if logger == "tensorboard" else None

    def log_train(self, record: Mapping[str, Any]) -> None:
        self.csv.append(train_row(record))
        if self.logger is not None:
            self.logger.log_train(record)

    def log_val(self, iteration: int, metrics: Mapping[str, Any], seconds: float) -> None:
        self.csv.append(val_row(iteration, metrics, seconds, self.names))
        if self.logger is not None:
            self.logger.log_val(iteration, metrics, self.names)

    def close(self) -> None:
        if self.logger is not None:
            self.logger.close()
