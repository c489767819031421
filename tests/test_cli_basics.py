"""The command line shell: help without torch, version, info, and error rendering."""

from __future__ import annotations

import os
import subprocess
import sys

from typer.testing import CliRunner

from danet import __version__
from danet_cli.app import app

runner = CliRunner()


def test_help_lists_the_subcommands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("download", "train", "evaluate", "predict", "visualize", "export", "benchmark", "info"):
        assert command in result.output


def test_help_does_not_import_torch() -> None:
    code = (
        "import sys\n"
        "from danet_cli.app import app\n"
        "from typer.testing import CliRunner\n"
        "for args in (['--help'], ['train', '--help'], ['predict', '--help'], ['evaluate', '--help']):\n"
        "    CliRunner().invoke(app, args)\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().endswith("False")


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output


def test_module_entry_point() -> None:
    out = subprocess.run([sys.executable, "-m", "danet_cli", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and __version__ in out.stdout


def test_info_shows_devices() -> None:
    result = runner.invoke(app, ["info"])
    assert result.exit_code == 0
    assert "device (auto)" in result.output and "torch" in result.output and "bf16" in result.output


def test_errors_are_one_red_line_and_exit_1() -> None:
    result = runner.invoke(app, ["predict", "does-not-exist.jpg", "--checkpoint", "missing.pt"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output


def _complete(words: str, cword: int) -> list[str]:
    """What bash completion offers for `words` (the console script, as the shell calls it)."""
    env = {**os.environ, "_DANET_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(cword)}
    code = "import sys; sys.argv[0] = 'danet'; from danet_cli.app import main; main()"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    return out.stdout.split()


def test_shell_completion_script_and_answers() -> None:
    result = runner.invoke(app, ["--show-completion", "bash"])
    assert result.exit_code == 0 and "_DANET_COMPLETE=complete_bash" in result.output
    assert "--install-completion" in runner.invoke(app, ["--help"]).output
    assert _complete("danet ev", 1) == ["evaluate"]
    assert set(_complete("danet predict --mode ", 3)) == {"whole", "slide"}
