"""`danet predict`: Predict masks for images, folders, globs and videos."""

from __future__ import annotations

import typer

from danet_cli._pending import register_pending


def register(app: typer.Typer) -> None:
    register_pending(app, "predict", "Predict masks for images, folders, globs and videos")
