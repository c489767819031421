"""Google Drive: turn a share link into a URL that serves the bytes.

Small files come straight from `uc?export=download&id=ID`. For large ones Drive first sends an HTML
page ("cannot scan this file for viruses") whose form carries `id`, `confirm` and `uuid`; submitting it
yields the file. Older pages put the token in a `download_warning*` cookie or a `confirm=` link.
"""

from __future__ import annotations

from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import requests

from danet.download.network import TransferSettings, apply_mirror, request
from danet.errors import DownloadError
from danet.reporting import Reporter

DOWNLOAD_URL = "https://drive.google.com/uc"
_MAX_PAGE = 2 << 20  # an interstitial page is small; anything bigger is the file itself


def file_id(url: str) -> str:
    """The file ID in a Drive link (`open?id=`, `uc?id=`, `/file/d/ID/view`)."""
    parts = urlsplit(url)
    query = parse_qs(parts.query).get("id")
    if query:
        return query[0]
    segments = parts.path.split("/")
    if "d" in segments and segments.index("d") + 1 < len(segments):
        return segments[segments.index("d") + 1]
    raise DownloadError(f"cannot find a Google Drive file ID in {url}")


class _FormParser(HTMLParser):
    """Collects each form's action and its hidden inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[dict[str, str], dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {key: unescape(value or "") for key, value in attrs}
        if tag == "form":
            self.forms.append((values, {}))
        elif tag == "input" and self.forms and values.get("name"):
            self.forms[-1][1][values["name"]] = values.get("value", "")


def _from_form(page: str, base: str) -> str | None:
    parser = _FormParser()
    parser.feed(page)
    for attrs, inputs in parser.forms:
        if "confirm" in inputs or attrs.get("id") == "download-form":
            action = urljoin(base, attrs.get("action") or base)
            return f"{action}?{urlencode(inputs)}"
    return None


def _from_token(page: str, session: requests.Session, first: str) -> str | None:
    token = next((v for k, v in session.cookies.items() if k.startswith("download_warning")), None)
    if token is None and "confirm=" in page:
        tail = page.split("confirm=", 1)[1]
        token = "".join(c for c in tail[:64] if c.isalnum() or c in "-_") or None
    return f"{first}&confirm={token}" if token else None


def resolve(
    url: str,
    *,
    session: requests.Session,
    mirror: str | None,
    settings: TransferSettings,
    reporter: Reporter,
) -> str:
    """The (mirrored) URL that sends the file itself, past the large-file interstitial."""
    first = apply_mirror(f"{DOWNLOAD_URL}?{urlencode({'export': 'download', 'id': file_id(url)})}", mirror)
    answer = request(session, "GET", first, settings=settings, reporter=reporter, stream=True)
    with answer:
        if answer.status_code >= 400:
            raise DownloadError(f"Google Drive answered HTTP {answer.status_code} for {url}")
        if "text/html" not in answer.headers.get("Content-Type", ""):
            return answer.url  # no interstitial: this is the file
        page = answer.raw.read(_MAX_PAGE, decode_content=True).decode("utf-8", "replace")
    target = _from_form(page, answer.url) or _from_token(page, session, first)
    if target is None:
        raise DownloadError(
            f"Google Drive did not offer {url} for download (quota exceeded or access denied); "
            "download it in a browser and put it in the weights folder (see `danet download --list`)"
        )
    if mirror and urlsplit(target).netloc != urlsplit(first).netloc:
        target = apply_mirror(target, mirror)
    return target


def refuse_html(path: Path, label: str) -> None:
    """Raise when a 'downloaded file' is in fact a web page (Drive's error pages arrive as 200)."""
    with path.open("rb") as fh:
        head = fh.read(512).lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")):
        path.unlink(missing_ok=True)
        raise DownloadError(
            f"Google Drive sent a web page instead of {label} (quota exceeded or access denied); "
            "try again later or download it in a browser"
        )
