"""`danet export`: Export a checkpoint to ONNX or TorchScript."""

from __future__ import annotations

import typer

from danet_cli._pending import register_pending


def register(app: typer.Typer) -> None:
    register_pending(app, "export", "Export a checkpoint to ONNX or TorchScript")
