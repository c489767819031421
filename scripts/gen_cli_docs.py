"""Write docs/cli.md, the command-line reference, from the `danet` Typer application.

    python scripts/gen_cli_docs.py            # (re)write docs/cli.md
    python scripts/gen_cli_docs.py --check    # exit 1 when docs/cli.md is out of date

Every command and subcommand is listed with its usage line, its help, and a table of its arguments
and options (type, default, help). Hidden commands are left out, except aliases, which are named
under the command they stand for. tests/test_cli_docs.py fails when the committed file is stale.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "docs" / "cli.md"
REGENERATE = "python scripts/gen_cli_docs.py"

_HEADER = f"""# Command-line reference

<!-- Generated from the Typer application by `{REGENERATE}`: do not edit by hand. -->

Every `danet` command with its arguments and options, as `danet COMMAND --help` shows them. The
topic pages ([training](training.md), [evaluation](evaluation.md), [prediction](prediction.md), ...)
explain what the options do and when to use them. Every command also takes `-h` / `--help`.
"""


def _root_command() -> Any:
    """The click command tree behind `danet` (Typer's vendored click objects)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import typer

    from danet_cli.app import app

    return typer.main.get_command(app)


def _escape(text: str) -> str:
    """Markdown-safe table cell: pipes escaped, `<...>` kept literal outside code spans."""
    pieces = text.replace("|", "\\|").split("`")
    for index in range(0, len(pieces), 2):  # even pieces are outside backticks
        pieces[index] = pieces[index].replace("<", "&lt;").replace(">", "&gt;")
    return "`".join(pieces).replace("\n", " ")


def _code(text: str) -> str:
    """Inline code for a table cell. A pipe would end the cell, and an escaped one shows its backslash
    in some renderers, so such text becomes an HTML code element with the pipe as an entity."""
    if "|" not in text:
        return f"`{text}`"
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "&#124;")
    return f"<code>{escaped}</code>"


def _default(param: Any) -> str:
    """The default as the user sees it; empty when the command decides (None) or there is none."""
    value = param.default
    if callable(value) or value is None or value == () or value == []:
        return ""
    if isinstance(value, bool):
        return "on" if value else "off"
    return f"`{value}`"


def _split_record(param: Any, ctx: Any) -> tuple[str, str, str]:
    """(declaration, type, help) from click's own help record, less the `[default: ...]` it appends."""
    declaration, help_text = param.get_help_record(ctx)
    match = re.match(r"^(.*?)(?: (<[^>]*>))?$", declaration)
    names, type_name = (match.group(1), match.group(2) or "") if match else (declaration, "")
    own = (param.help or "").strip()
    if own and help_text.startswith(own):  # keep the author's text; drop only what click appended
        help_text = own + re.sub(r"\s*\[default: [^\]]*\]", "", help_text[len(own) :])
    return names, type_name, re.sub(r"\s{2,}", " ", help_text).strip()


def _help_lines(text: str) -> list[str]:
    """A command's help as Markdown: paragraphs as text, indented paragraphs (examples) as code."""
    lines: list[str] = []
    for paragraph in text.strip().split("\n\n"):
        if all(line.startswith("  ") for line in paragraph.splitlines()):
            lines += ["```text", *(line.strip() for line in paragraph.splitlines()), "```", ""]
        else:
            lines += [_escape(paragraph), ""]
    return lines


def _param_rows(command: Any, ctx: Any) -> list[str]:
    rows = []
    for param in command.params:
        if getattr(param, "hidden", False) or param.get_help_record(ctx) is None:
            continue
        names, type_name, help_text = _split_record(param, ctx)
        kind = "argument" if param.param_type_name == "argument" else "option"
        type_cell = f"`{type_name}`" if type_name else ""
        rows.append(f"| {_code(names)} | {kind} | {type_cell} | {_default(param)} | {_escape(help_text)} |")
    return rows


def _aliases(group: Any, name: str) -> list[str]:
    """Hidden commands that run the same function as `name` (e.g. `eval` for `evaluate`)."""
    target = _function(group.commands[name])
    return [
        other
        for other, command in group.commands.items()
        if other != name and command.hidden and _function(command) is target
    ]


def _function(command: Any) -> Any:
    """The user function behind a command (Typer wraps it once per registration)."""
    return getattr(command.callback, "__wrapped__", command.callback)


def _section(command: Any, path: list[str], ctx: Any, aliases: list[str]) -> list[str]:
    level = "#" * min(len(path) + 1, 4)
    lines = [f"{level} `{' '.join(path)}`", ""]
    usage = " ".join([*path, *command.collect_usage_pieces(ctx)])
    lines += ["```text", usage, "```", ""]
    if command.help:
        lines += _help_lines(command.help)
    if aliases:
        lines += ["Also: " + ", ".join(f"`{' '.join([*path[:-1], alias])}`" for alias in aliases) + ".", ""]
    rows = _param_rows(command, ctx)
    if rows:
        lines += ["| name | kind | type | default | help |", "|---|---|---|---|---|", *rows, ""]
    if command.epilog:
        lines += ["```text", command.epilog.strip().replace("\n\n", "\n"), "```", ""]
    return lines


def _walk(command: Any, path: list[str], parent: Any, aliases: list[str]) -> list[str]:
    """Sections for `command` and, for a group, each visible subcommand in registration order."""
    import typer

    ctx = typer.Context(command, info_name=path[-1], parent=parent)
    lines = _section(command, path, ctx, aliases)
    for name, sub in getattr(command, "commands", {}).items():
        if not sub.hidden:
            lines += _walk(sub, [*path, name], ctx, _aliases(command, name))
    return lines


def render() -> str:
    """The full text of docs/cli.md."""
    return _HEADER + "\n" + "\n".join(_walk(_root_command(), ["danet"], None, [])).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/cli.md is out of date")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
        if current != text:
            print(f"{OUTPUT.relative_to(ROOT)} is out of date: run `{REGENERATE}`", file=sys.stderr)
            return 1
        return 0
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
