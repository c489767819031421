"""The documentation site builds with `mkdocs build --strict` (broken links and anchors fail it).

Skipped when mkdocs is not installed (it is the optional `docs` extra; scripts/setup.sh installs it).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_docs_site_builds_strictly(tmp_path: Path) -> None:
    pytest.importorskip("mkdocs", reason="the docs extra is not installed: pip install -e '.[docs]'")
    pytest.importorskip("material", reason="the docs extra is not installed: pip install -e '.[docs]'")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    home = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert "images/prediction.png" in home  # the README's picture, relinked from docs/images
    assert (tmp_path / "site" / "benchmark-notes" / "index.html").is_file()
    assert (tmp_path / "site" / "cli" / "index.html").is_file()
