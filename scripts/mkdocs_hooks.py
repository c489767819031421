"""mkdocs hooks: publish the repository pages the docs link to, and keep every link working.

The Markdown files are written to be read on a code host, where a link such as
`../benchmarks/README.md` from `docs/training.md` works. A site built from `docs/` alone would not
contain that page, so these hooks

- add README.md (as the home page), CONTRIBUTING.md and benchmarks/README.md to the site, and
- rewrite each relative link by the repository file it points to: a published page or a file in
  `docs/` becomes a link within the site; any other file that exists (a script, a JSON record) becomes
  its plain name in code, since the site does not carry it.

A link to a file that does not exist is left alone, so `mkdocs build --strict` still fails on it.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[1]
DOCS = "docs"
# repository path -> path in the site
PUBLISHED = {
    "README.md": "index.md",
    "CONTRIBUTING.md": "contributing.md",
    "benchmarks/README.md": "benchmark-notes.md",
}
_SOURCE_OF = {site: repo for repo, site in PUBLISHED.items()}
_LINK = re.compile(r"(!?\[[^\]]*\])\(([^)\s]+)\)|(<(?:img|a)\b[^>]*?(?:src|href)=\")([^\"]+)(\")")
_FENCE = re.compile(r"^(```|~~~)")


def on_files(files: Files, config: Any) -> Files:
    """Add the published repository pages to the site's files."""
    for repo_path, site_path in PUBLISHED.items():
        text = (ROOT / repo_path).read_text(encoding="utf-8")
        files.append(File.generated(config, site_path, content=text))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    """Rewrite the page's relative links from repository paths to site paths."""
    site_path = page.file.src_uri
    repo_path = _SOURCE_OF.get(site_path, f"{DOCS}/{site_path}")
    return _rewrite(markdown, repo_path, site_path)


def _rewrite(markdown: str, repo_path: str, site_path: str) -> str:
    lines, in_code = [], False
    for line in markdown.splitlines(keepends=True):
        if _FENCE.match(line.lstrip()):
            in_code = not in_code
        lines.append(line if in_code else _LINK.sub(lambda m: _replace(m, repo_path, site_path), line))
    return "".join(lines)


def _replace(match: re.Match[str], repo_path: str, site_path: str) -> str:
    markdown_link = match.group(1) is not None
    target = match.group(2) if markdown_link else match.group(4)
    new = _site_target(target, repo_path, site_path)
    if new is None:
        return match.group(0)
    if new.startswith("`"):  # an existing repository file the site does not carry
        text = match.group(1)[1:-1] if markdown_link else target
        return text if text.startswith("`") else f"`{text}`"
    if markdown_link:
        return f"{match.group(1)}({new})"
    return f"{match.group(3)}{new}{match.group(5)}"


def _site_target(target: str, repo_path: str, site_path: str) -> str | None:
    """The link as the site needs it, '`' for an unpublished existing file, None to leave it alone."""
    if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith(("#", "/")):
        return None
    path, _, anchor = target.partition("#")
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(repo_path), path))
    if resolved in PUBLISHED:
        new_site = PUBLISHED[resolved]
    elif resolved.startswith(f"{DOCS}/"):
        new_site = resolved[len(DOCS) + 1 :]
    elif (ROOT / resolved).exists() and not resolved.startswith(".."):
        return "`"
    else:
        return None
    relative = posixpath.relpath(new_site, posixpath.dirname(site_path) or ".")
    return relative + (f"#{anchor}" if anchor else "")
