"""Placeholder registration for subcommands that later issues build: says so and exits 1."""

from __future__ import annotations

import typer

from danet.errors import DanetError


def register_pending(app: typer.Typer, name: str, summary: str) -> None:
    """Register `name` as a command that explains it is not available in this version."""

    def command() -> None:
        raise DanetError(f"'danet {name}' is not available in this version of danet yet")

    command.__doc__ = f"{summary} (not available in this version yet)"
    settings = {"ignore_unknown_options": True, "allow_extra_args": True}
    app.command(name, context_settings=settings)(command)
