"""`danet visualize`: Overlays, attention maps, confusion matrices and curves."""

from __future__ import annotations

import typer

from danet_cli._pending import register_pending


def register(app: typer.Typer) -> None:
    register_pending(app, "visualize", "Overlays, attention maps, confusion matrices and curves")
