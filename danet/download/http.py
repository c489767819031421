"""HTTP transfers: streamed into `NAME.part`, resumed with Range, retried, shown as progress.

A transfer never writes the final file: `fetch` returns the complete `.part` and the caller renames it
once verified. After a cut connection the next try asks for the rest with a Range request; a server
that ignores Range (200) or refuses the offset (416) makes the download start over.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import requests

from danet.download.network import (
    Restart,
    Retry,
    TransferSettings,
    apply_mirror,
    file_size,
    find_cause,
    resolve_mirror,
    send,
    with_retries,
    write_error,
)
from danet.errors import DownloadError
from danet.reporting import NullReporter, Reporter

_MIB = float(1 << 20)


def part_path(dest: Path) -> Path:
    """Where a download of `dest` accumulates until it is complete and verified."""
    return dest.with_name(dest.name + ".part")


def _open_part(path: Path, mode: str) -> IO[bytes]:
    """Open the partial file (a seam for tests that simulate a full disk)."""
    return path.open(mode)


_clock = time.monotonic  # a seam for tests
_RATE_WINDOW = 5.0  # seconds of transfer the speed is measured over
_RATE_EVERY = 0.5  # seconds between speed updates


def format_rate(bytes_per_second: float) -> str:
    """A transfer speed in the unit that reads best: "850 KiB/s", "12.3 MiB/s", "1.05 GiB/s"."""
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if bytes_per_second >= size:
            return f"{bytes_per_second / size:.3g} {unit}/s"
    return f"{bytes_per_second:.0f} B/s"


class _Bar:
    """A progress bar in MiB, opened at the first answer (when the size becomes known).

    Each step also reports `speed` (bytes received per second over the last few seconds of this
    transfer, resumed bytes excluded); the reporter derives the time left from it and the total.
    """

    def __init__(self, stack: ExitStack, reporter: Reporter, label: str) -> None:
        self._stack, self._reporter, self._label = stack, reporter, label
        self._task: Any = None
        self._done = 0
        self._samples: deque[tuple[float, int]] = deque()
        self._speed: dict[str, str] = {}

    def start(self, total: int | None, offset: int) -> None:
        if self._task is None:
            megabytes = total / _MIB if total else None
            self._task = self._stack.enter_context(self._reporter.progress(f"{self._label} (MiB)", megabytes))
        self.advance(offset - self._done)
        self._samples = deque([(_clock(), self._done)])  # a new connection: measure from here

    def advance(self, count: int) -> None:
        self._done += count
        if count:
            self._task.advance(count / _MIB, **self._rate())

    def finish(self) -> None:
        """Report the speed once more at the end of a transfer (short ones get their only one)."""
        if self._task is not None:
            self._task.advance(0, **self._rate(final=True))

    def _rate(self, final: bool = False) -> dict[str, str]:
        now = _clock()
        if (
            self._samples
            and now > self._samples[-1][0]
            and (final or now - self._samples[-1][0] >= _RATE_EVERY)
        ):
            self._samples.append((now, self._done))
            while len(self._samples) > 2 and now - self._samples[1][0] >= _RATE_WINDOW:
                self._samples.popleft()
            start, done = self._samples[0]
            self._speed = {"speed": format_rate((self._done - done) / (now - start))}
        return self._speed


@contextmanager
def _maybe_session(session: requests.Session | None) -> Iterator[requests.Session]:
    if session is not None:
        yield session
        return
    with requests.Session() as own:
        yield own


def fetch(
    url: str,
    dest: Path,
    *,
    session: requests.Session | None = None,
    mirror: str | None = None,
    settings: TransferSettings | None = None,
    reporter: Reporter | None = None,
    allow_redirects: bool = True,
) -> Path:
    """Download `url` into `dest.part`, continuing what is already there; return that `.part`.

    The caller verifies and renames it. `mirror` (or `$DANET_MIRROR`) rewrites the URL first.
    """
    settings = settings or TransferSettings.from_env()
    reporter = reporter or NullReporter()
    url = apply_mirror(url, resolve_mirror(mirror))
    dest = Path(dest)
    part = part_path(dest)
    part.parent.mkdir(parents=True, exist_ok=True)
    with _maybe_session(session) as http, ExitStack() as stack:
        bar = _Bar(stack, reporter, dest.name)

        def attempt() -> None:
            _attempt(http, url, part, settings, bar, allow_redirects, reporter)

        with_retries(attempt, url, settings, reporter, lambda: file_size(part), part)
    return part


def _attempt(
    session: requests.Session,
    url: str,
    part: Path,
    settings: TransferSettings,
    bar: _Bar,
    allow_redirects: bool,
    reporter: Reporter,
) -> None:
    offset = file_size(part)
    headers = {"Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    response = send(
        session, "GET", url, settings, headers=headers, stream=True, allow_redirects=allow_redirects
    )
    with response:
        total, complete = _judge(response, url, part, offset, reporter)
        if complete:
            return
        if response.status_code == 200:
            offset = 0
        bar.start(total, offset)
        _stream(response, part, "ab" if offset else "wb", settings, bar)
    size = file_size(part)
    if total is not None and size < total:
        raise Retry(f"connection closed after {size} of {total} bytes")
    if total is not None and size > total:
        part.unlink()
        raise Restart(f"the partial file {part} is longer than the file on the server")


def _judge(
    response: requests.Response, url: str, part: Path, offset: int, reporter: Reporter
) -> tuple[int | None, bool]:
    """Check the answer to a (range) request: return (total size or None, already complete)."""
    status = response.status_code
    content_range = response.headers.get("Content-Range", "")
    if status == 416:
        total = content_range.rsplit("/", 1)[-1]
        if offset and total.isdigit() and int(total) == offset:
            return offset, True
        part.unlink(missing_ok=True)
        raise Restart("the server refused the resume offset (HTTP 416)")
    if 300 <= status < 400:
        where = response.headers.get("Location", "?")
        raise DownloadError(f"{url} answered with a redirect to {where} instead of the file")
    if status >= 400:
        hint = " (access denied)" if status in (401, 403) else ""
        raise DownloadError(f"HTTP {status} {response.reason or ''}{hint} for {url}".strip())
    if status == 206:
        start, _, total = content_range.removeprefix("bytes ").partition("/")
        if not start.split("-")[0].isdigit() or int(start.split("-")[0]) != offset:
            part.unlink(missing_ok=True)
            raise Restart(f"the server resumed at the wrong place ({content_range!r})")
        return (int(total) if total.isdigit() else None), False
    if status != 200:
        raise DownloadError(f"unexpected HTTP {status} for {url}")
    if offset:
        reporter.info(f"{urlsplit(url).netloc} cannot resume downloads; starting {part.name} again")
    length = response.headers.get("Content-Length", "")
    return (int(length) if length.isdigit() else None), False


def _chunks(response: requests.Response, size: int) -> Iterator[bytes]:
    """The body as it arrives; `read1` keeps every byte received before a connection drops."""
    raw = response.raw
    if not hasattr(raw, "read1"):  # urllib3 1.x
        yield from raw.stream(size, decode_content=False)
        return
    while chunk := raw.read1(size, decode_content=False):
        yield chunk


def _stream(
    response: requests.Response, part: Path, mode: str, settings: TransferSettings, bar: _Bar
) -> None:
    from urllib3.exceptions import HTTPError as Urllib3Error

    try:
        with _open_part(part, mode) as fh:
            for chunk in _chunks(response, settings.chunk_size):
                fh.write(chunk)
                bar.advance(len(chunk))
        bar.finish()
    except (requests.RequestException, Urllib3Error) as error:  # before OSError (a base of both)
        reason = "timed out" if find_cause(error, TimeoutError) else "connection lost"
        raise Retry(f"{reason} after {file_size(part)} bytes") from None
    except OSError as error:
        raise write_error(part, error) from None
