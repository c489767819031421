"""The `danet` Typer application.

Every subcommand lives in its own module and imports torch only inside its function body, so
`danet --help` and `danet <cmd> --help` stay fast. `DanetError`s become one red line and exit 1.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from danet._version import __version__
from danet.errors import DanetError
from danet_cli import (
    benchmark,
    convert,
    datasets,
    download,
    evaluate,
    export,
    info,
    predict,
    train,
    visualize,
)
from danet_cli._console import fit_to_output, print_error

_DEBUG = {"on": os.environ.get("DANET_DEBUG", "") not in ("", "0")}


class DanetGroup(TyperGroup):
    """Turns library errors into a clean message; `--debug` keeps the traceback."""

    def list_commands(self, ctx: typer.Context) -> list[str]:
        return list(self.commands)  # registration order, not alphabetical

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DanetError as error:
            if _DEBUG["on"]:
                raise
            print_error(str(error))
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            print_error("interrupted")
            raise typer.Exit(130) from None
        except (OSError, MemoryError) as error:  # a file-system or memory failure no check foresaw
            if _DEBUG["on"]:
                raise
            print_error(describe_system_error(error))
            raise typer.Exit(1) from None


def describe_system_error(error: OSError | MemoryError) -> str:
    """One line for an unforeseen OSError or MemoryError (rerun with --debug for the traceback)."""
    if isinstance(error, MemoryError):
        return (
            "out of memory; use smaller inputs, a smaller --batch-size or --mode slide (--debug shows where)"
        )
    from danet.fileio import os_error_reason

    where = f"{error.filename}: " if error.filename is not None else ""
    return f"{where}{os_error_reason(error)} (--debug shows where)"


app = typer.Typer(
    name="danet",
    cls=DanetGroup,
    help="DANet semantic segmentation: download, train, evaluate, predict, visualise, export.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"danet {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", "-V", callback=_version_callback, is_eager=True, help="Show the version."),
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show full tracebacks (also DANET_DEBUG=1).")
    ] = False,
) -> None:
    """DANet semantic segmentation: download, train, evaluate, predict, visualise, export."""
    if debug:
        _DEBUG["on"] = True
    fit_to_output()


_COMMANDS = (
    download,
    train,
    evaluate,
    predict,
    visualize,
    export,
    benchmark,
    convert,
    datasets,
    info,
)
for module in _COMMANDS:
    module.register(app)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except DanetError as error:  # raised outside a command (e.g. during registration)
        if _DEBUG["on"]:
            raise
        print_error(str(error))
        sys.exit(1)
