"""`danet benchmark`: Measure speed and memory."""

from __future__ import annotations

import typer

from danet_cli._pending import register_pending


def register(app: typer.Typer) -> None:
    register_pending(app, "benchmark", "Measure speed and memory")
