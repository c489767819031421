"""docs/cli.md is generated from the Typer app and must match it."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import typer

from danet_cli.app import app

ROOT = Path(__file__).resolve().parents[1]


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_cli_docs", ROOT / "scripts" / "gen_cli_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _visible_commands(command: object, path: tuple[str, ...]) -> list[tuple[str, ...]]:
    found = [path]
    for name, sub in getattr(command, "commands", {}).items():
        if not sub.hidden:
            found += _visible_commands(sub, (*path, name))
    return found


def test_committed_cli_reference_is_up_to_date() -> None:
    generator = _generator()
    committed = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert committed == generator.render(), (
        f"docs/cli.md is stale: regenerate it with `{generator.REGENERATE}` and commit the result"
    )


def test_reference_has_a_section_for_every_visible_command() -> None:
    text = _generator().render()
    for path in _visible_commands(typer.main.get_command(app), ("danet",)):
        assert re.search(rf"^#+ `{' '.join(path)}`$", text, re.MULTILINE), path


def test_reference_lists_options_with_their_defaults_and_hides_hidden_ones() -> None:
    text = _generator().render()
    assert "| `--split` | option | `<str>` | `val` | Labelled split to score. |" in text
    assert "| `-f, --format` | option | `<onnx|torchscript>` | `onnx` | File format. |" in text
    assert "--stop-after" not in text  # hidden test option
    assert "Also: `danet eval`." in text  # the hidden alias is named under evaluate


def test_check_mode_reports_a_stale_file(tmp_path: Path, capsys: object) -> None:
    generator = _generator()
    generator.OUTPUT = tmp_path / "cli.md"
    generator.OUTPUT.write_text("old\n", encoding="utf-8")
    generator.ROOT = tmp_path
    assert generator.main(["--check"]) == 1
    assert generator.main([]) == 0
    assert generator.main(["--check"]) == 0
