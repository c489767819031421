"""Running averages of the loss terms and timings between two log lines."""

from __future__ import annotations

from typing import Any


class Window:
    """Running sums between two log lines."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.losses: dict[str, float] = {}
        self.lr = getattr(self, "lr", 0.0)
        self.count, self.data_time, self.step_time = 0, 0.0, 0.0

    def add_losses(self, values: dict[str, float], lr: float) -> None:
        self.lr = lr  # the backbone learning rate this step used
        for key, value in values.items():
            self.losses[key] = self.losses.get(key, 0.0) + value

    def add_time(self, data_time: float, step_time: float) -> None:
        self.count += 1
        self.data_time += data_time
        self.step_time += step_time

    def means(self) -> dict[str, float]:
        n = max(self.count, 1)
        return {
            **{k: v / n for k, v in self.losses.items()},
            "lr": self.lr,
            "data_time": self.data_time / n,
            "step_time": self.step_time / n,
        }

    def fields(self) -> dict[str, Any]:
        n = max(self.count, 1)
        return {
            "loss": self.losses.get("loss", 0.0) / n,
            "lr": self.lr,
            "it/s": n / (self.data_time + self.step_time) if self.count else 0.0,
            "data": f"{self.data_time / n:.3f}s",
        }


def progress_line(record: dict[str, Any], total: int) -> str:
    """`iter 20/100  loss 1.2345 ...  lr 0.003  2.50 it/s  eta 0:00:32  data 0.010s  step 0.390s`."""
    iteration = int(record["iteration"])
    seconds = record["data_time"] + record["step_time"]
    speed = 1.0 / seconds if seconds > 0 else 0.0
    eta = _clock((total - iteration) / speed) if speed > 0 else "-"
    terms = "  ".join(f"{k} {v:.4f}" for k, v in record.items() if k.startswith("loss"))
    return (
        f"iter {iteration}/{total}  {terms}  lr {record['lr']:.3g}  {speed:.2f} it/s  eta {eta}  "
        f"data {record['data_time']:.3f}s  step {record['step_time']:.3f}s"
    )


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"
