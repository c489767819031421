"""`danet convert`: Convert official/mmseg checkpoints to danet checkpoints."""

from __future__ import annotations

import typer

from danet_cli._pending import register_pending


def register(app: typer.Typer) -> None:
    register_pending(app, "convert", "Convert official/mmseg checkpoints to danet checkpoints")
