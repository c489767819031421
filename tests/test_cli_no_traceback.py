"""A guard for the future: every subcommand, given bad inputs, answers with a message, never a Python
traceback (issue 14). The commands are listed from the Typer app, so a new one is covered as soon as
it is registered.

Every argument and every file-taking option gets the same bad input (a missing file, a text file, an
empty file, a folder, a PNG declaring 16000 x 16000 pixels); outputs go once to a writable folder and
once under a regular file. CliRunner keeps an escaped exception in `result.exception` instead of
printing it, so the test checks that too.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from danet_cli.app import app

runner = CliRunner()

# Options that name an input file or folder, by their Python name.
INPUT_OPTIONS = {"checkpoint", "config", "mask", "data_root", "resume", "backbone_weights"}
OUTPUT_OPTIONS = {"output", "json_path"}
# Keep the commands that would otherwise measure or train quick and in this process.
EXTRA = {
    ("benchmark",): [
        "--in-process", "--model", "danet_resnet18", "--warmup", "0", "--repeats", "1", "--size", "32",
    ],
}  # fmt: skip


def _leaf_commands() -> list[tuple[tuple[str, ...], Any]]:
    found = []

    def walk(command: Any, path: tuple[str, ...]) -> None:
        if hasattr(command, "commands"):
            for name, child in command.commands.items():
                walk(child, (*path, name))
        else:
            found.append((path, command))

    walk(typer.main.get_command(app), ())
    return found


COMMANDS = _leaf_commands()


def _bomb_png(path: Path) -> Path:
    """A PNG whose header declares 16000 x 16000 pixels (its data is a few bytes)."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + payload))
        return struct.pack(">I", len(payload)) + kind + payload + crc

    header = struct.pack(">IIBBBBB", 16000, 16000, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )
    return path


def _bad_inputs(root: Path) -> dict[str, Path]:
    root.mkdir()
    (root / "garbage.png").write_text("this is not an image, a checkpoint or JSON\n")
    (root / "empty.pt").write_bytes(b"")
    (root / "a_folder").mkdir()
    return {
        "missing": root / "missing.png",
        "garbage": root / "garbage.png",
        "empty": root / "empty.pt",
        "folder": root / "a_folder",
        "bomb": _bomb_png(root / "bomb.png"),
    }


def _arguments(command: Any, bad: Path, output: Path) -> list[str]:
    args: list[str] = []
    for param in command.params:
        name = param.name or ""
        value = str(output if name in OUTPUT_OPTIONS else bad)
        takes_file = param.required or name in INPUT_OPTIONS | OUTPUT_OPTIONS
        if param.param_type_name == "argument":
            args.append(value)
        elif param.param_type_name == "option" and not param.is_flag and takes_file:
            args += [param.opts[0], value]
    return args


def test_the_app_lists_every_registered_subcommand() -> None:
    names = {path[0] for path, _ in COMMANDS}
    for expected in ("download", "train", "evaluate", "predict", "visualize", "export", "benchmark", "info"):
        assert expected in names
    assert len(COMMANDS) >= 12  # the four visualize commands are reached through their group


@pytest.mark.parametrize("path", [path for path, _ in COMMANDS], ids=" ".join)
def test_no_subcommand_prints_a_traceback_for_bad_inputs(tmp_path: Path, path: tuple[str, ...]) -> None:
    command = dict(COMMANDS)[path]
    inputs = _bad_inputs(tmp_path / "inputs")
    (tmp_path / "blocker").write_text("a file where a folder should be")
    outputs = {"writable": tmp_path / "out" / "result.png", "unwritable": tmp_path / "blocker" / "out.png"}
    runs = [[*path, *EXTRA.get(path, [])]]  # no arguments at all
    for bad in inputs.values():
        for output in outputs.values():
            runs.append([*path, *_arguments(command, bad, output), *EXTRA.get(path, [])])
    for args in runs:
        result = runner.invoke(app, args)
        where = f"danet {' '.join(args)}"
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            f"{where} raised {result.exception!r}"
        )
        assert "Traceback" not in result.output, f"{where}:\n{result.output}"
        assert result.exit_code in (0, 1, 2), f"{where} exited {result.exit_code}:\n{result.output}"
