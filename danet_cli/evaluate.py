"""`danet evaluate`: Evaluate a checkpoint (mIoU)."""

from __future__ import annotations

import typer

from danet_cli._pending import register_pending


def register(app: typer.Typer) -> None:
    register_pending(app, "evaluate", "Evaluate a checkpoint (mIoU)")
