"""How the core talks to people without depending on a UI library.

Library code receives a `Reporter`; the CLI passes a Rich implementation, notebooks and scripts get
`PrintReporter` (plain text) or `NullReporter` (silence). Nothing here imports torch or Rich.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol


class ProgressTask(Protocol):
    def advance(self, steps: float = 1, **fields: Any) -> None:
        """Move the bar on; `fields` are shown beside it (loss=..., lr=...)."""


class Reporter(Protocol):
    def info(self, message: str) -> None: ...

    def warning(self, message: str) -> None: ...

    def table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None: ...

    def progress(self, description: str, total: float | None) -> Any:
        """A context manager yielding a `ProgressTask`."""
        ...


class _NullTask:
    def advance(self, steps: float = 1, **fields: Any) -> None:
        return None


class NullReporter:
    """Says nothing: for tests and embedding."""

    def info(self, message: str) -> None:
        return None

    def warning(self, message: str) -> None:
        return None

    def table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        return None

    @contextmanager
    def progress(self, description: str, total: float | None) -> Iterator[ProgressTask]:
        yield _NullTask()


class PrintReporter(NullReporter):
    """Plain `print` output, for notebooks and scripts."""

    def info(self, message: str) -> None:
        print(message)

    def warning(self, message: str) -> None:
        print(f"warning: {message}")

    def table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        print(title)
        print("  ".join(str(c) for c in columns))
        for row in rows:
            print("  ".join(str(v) for v in row))


def format_score(value: float | None, digits: int = 2) -> str:
    """A score (a fraction in [0, 1]: IoU, accuracy, mIoU) as the one unit of text output: a
    percentage with `digits` decimals ("29.55%"); a missing or NaN score is a dash. JSON, metrics.jsonl
    and results.csv keep fractions."""
    if value is None or value != value:
        return "-"
    return f"{100.0 * float(value):.{digits}f}%"


def format_cell(value: Any) -> str:
    """Format a table cell: floats with 4 decimals, NaN as a dash."""
    if isinstance(value, float):
        return "-" if value != value else f"{value:.4f}"
    return str(value)
