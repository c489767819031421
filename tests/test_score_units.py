"""One unit for scores in text output: percentages ("32.26%"); JSON and metrics files keep fractions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest
import torch

from danet.evaluation import evaluate_dataset
from danet.inference import InferenceConfig
from danet.reporting import NullReporter, format_score
from danet_cli import _console


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.3226, "32.26%"), (1.0, "100.00%"), (0.0, "0.00%"), (float("nan"), "-"), (None, "-")],
)
def test_format_score_is_a_percentage_or_a_dash(value: float | None, text: str) -> None:
    assert format_score(value) == text
    assert _console.format_score is format_score  # the CLI and the core print the same unit


class _Recorder(NullReporter):
    """Keeps every progress field the evaluation reports."""

    def __init__(self) -> None:
        self.fields: list[dict[str, Any]] = []

    @contextmanager
    def progress(self, description: str, total: float | None) -> Iterator[Any]:
        recorder = self

        class Task:
            def advance(self, steps: float = 1, **fields: Any) -> None:
                recorder.fields.append(fields)

        yield Task()


def test_evaluation_progress_shows_miou_as_a_percentage() -> None:
    masks = [np.zeros((8, 8), np.uint8), np.ones((8, 8), np.uint8)]
    data = [{"image": np.zeros((8, 8, 3), np.uint8), "mask": m} for m in masks]
    reporter = _Recorder()

    def always_zero(batch: torch.Tensor) -> torch.Tensor:
        logits = torch.zeros(batch.shape[0], 2, *batch.shape[2:])  # (B, 2, H, W)
        logits[:, 0] = 1.0
        return logits

    whole = InferenceConfig()
    result = evaluate_dataset(always_zero, data, num_classes=2, inference=whole, reporter=reporter)
    assert reporter.fields[-1] == {"miou": "25.00%"}  # class 0: IoU 0.5, class 1: IoU 0
    assert result.metrics["miou"] == pytest.approx(0.25)  # the result itself stays a fraction
