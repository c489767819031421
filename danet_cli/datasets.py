"""`danet datasets`: List datasets and whether they are found."""

from __future__ import annotations

import typer

from danet_cli._pending import register_pending


def register(app: typer.Typer) -> None:
    register_pending(app, "datasets", "List datasets and whether they are found")
