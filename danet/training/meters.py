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
