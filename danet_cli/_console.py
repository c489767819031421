"""Rich rendering shared by the commands: the console, error lines and the Rich `Reporter`."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from danet.reporting import format_score  # noqa: F401 - re-exported: the one unit of scores in text

# Tables and listings are laid out for this many columns at most: they wrap inside cells instead.
MAX_WIDTH = 100

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def fit_to_output() -> None:
    """Called at the start of every command: when output goes to a file or pipe, use COLUMNS or 160
    columns instead of Rich's 80, so names and paths in tables are not cut in logs."""
    for each in (console, err_console):
        if not each.is_terminal:
            columns = os.environ.get("COLUMNS", "")
            each.width = int(columns) if columns.isdigit() and int(columns) >= 20 else 160


def is_rank_zero() -> bool:
    """Under torchrun only rank 0 prints."""
    return os.environ.get("RANK", "0") == "0"


class _RichTask:
    def __init__(self, progress: Progress, task_id: Any) -> None:
        self._progress, self._task_id = progress, task_id

    def advance(self, steps: float = 1, **fields: Any) -> None:
        text = "  ".join(f"{k} {_fmt(v)}" for k, v in fields.items())
        self._progress.update(self._task_id, advance=steps, fields=text)


def narrow_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
    """A left-aligned table whose cells wrap (long words fold) so that it fits `MAX_WIDTH` columns."""
    table = Table(title=title, title_justify="left", expand=False)
    for column in columns:
        table.add_column(str(column), overflow="fold")
    for row in rows:
        table.add_row(*(str(v) for v in row))
    return table


def print_narrow(renderable: Any) -> None:
    """Print at most `MAX_WIDTH` columns wide (narrower when the terminal is)."""
    console.print(renderable, width=min(console.width, MAX_WIDTH))


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


class _AmountColumn(ProgressColumn):
    """Done / total: whole numbers for counts (iterations, images), one decimal for amounts such as
    MiB, so that a 0.4 MiB download does not read "0/0"."""

    def render(self, task: Any) -> Text:
        whole = float(task.total if task.total is not None else task.completed).is_integer()
        done = f"{task.completed:.0f}" if whole else f"{task.completed:.1f}"
        if task.total is None:
            return Text(done, style="progress.download")
        total = f"{task.total:.0f}" if whole else f"{task.total:.1f}"
        return Text(f"{done}/{total}", style="progress.download")


class RichReporter:
    """The CLI's implementation of `danet.reporting.Reporter`."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet or not is_rank_zero()

    @property
    def live_progress(self) -> bool:
        """Whether a live bar is drawn (a terminal); otherwise the trainer prints its log lines."""
        return not self.quiet and console.is_terminal

    def info(self, message: str) -> None:
        if not self.quiet:
            console.print(message)

    def warning(self, message: str) -> None:
        if not self.quiet:
            err_console.print(f"[yellow]warning:[/yellow] {message}")

    def table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        if self.quiet:
            return
        from danet.reporting import format_cell

        table = Table(title=title, title_justify="left")
        for i, column in enumerate(columns):
            table.add_column(str(column), justify="left" if i == 0 else "right", overflow="fold")
        for row in rows:
            table.add_row(*(format_cell(v) for v in row))
        console.print(table)

    @contextmanager
    def progress(self, description: str, total: float | None) -> Iterator[_RichTask]:
        progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            _AmountColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[fields]}"),
            console=console,
            disable=self.quiet,
            transient=False,
        )
        with progress:
            task_id = progress.add_task(description, total=total, fields="")
            yield _RichTask(progress, task_id)


def print_error(message: str) -> None:
    err_console.print(f"[bold red]error:[/bold red] {message}", soft_wrap=True)
