"""HTTP transfers: streamed into `NAME.part`, resumed with Range, retried with backoff, mirrorable.

A transfer never writes the final file: `fetch` returns the complete `.part` and the caller renames it
once verified. Transient failures (connection errors, timeouts, 5xx, 408, 429) are retried with
exponential backoff and resume where the partial file ends; other 4xx answers fail at once.
`DANET_MIRROR` (or `mirror=`) swaps the scheme and host of every URL and keeps the path.
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

import requests

from danet.errors import ConfigError, DownloadError
from danet.reporting import NullReporter, Reporter

MIRROR_ENV = "DANET_MIRROR"
_MIB = float(1 << 20)


@dataclass(frozen=True)
class TransferSettings:
    """Network knobs: per-request timeout (s), retries after the first try, backoff base (s)."""

    timeout: float = 30.0
    retries: int = 5
    backoff: float = 1.0
    max_backoff: float = 60.0
    chunk_size: int = 1 << 20

    @classmethod
    def from_env(cls) -> TransferSettings:
        """Defaults, overridden by DANET_DOWNLOAD_TIMEOUT, DANET_DOWNLOAD_RETRIES, DANET_DOWNLOAD_BACKOFF."""
        values: dict[str, Any] = {}
        for field, kind in (("timeout", float), ("retries", int), ("backoff", float)):
            raw = os.environ.get(f"DANET_DOWNLOAD_{field.upper()}", "").strip()
            if raw:
                try:
                    values[field] = kind(raw)
                except ValueError:
                    raise ConfigError(f"DANET_DOWNLOAD_{field.upper()}={raw!r} is not a number") from None
        return cls(**values)


def resolve_mirror(mirror: str | None = None) -> str | None:
    """The mirror to use: `mirror` if given, else `$DANET_MIRROR`; None when neither is set."""
    value = (mirror if mirror is not None else os.environ.get(MIRROR_ENV, "")).strip()
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"mirror {value!r} must look like http://host:port (set by --mirror or {MIRROR_ENV})"
        )
    return value.rstrip("/")


def apply_mirror(url: str, mirror: str | None) -> str:
    """`url` with the mirror's scheme and host (and path prefix, if any); the path is kept."""
    if not mirror:
        return url
    base, parts = urlsplit(mirror), urlsplit(url)
    path = base.path.rstrip("/") + parts.path
    return urlunsplit((base.scheme, base.netloc, path, parts.query, parts.fragment))


def part_path(dest: Path) -> Path:
    """Where a download of `dest` accumulates until it is complete and verified."""
    return dest.with_name(dest.name + ".part")


class DiskFullError(DownloadError):
    """The disk filled up while writing; the partial file is kept for resuming."""


class _Retry(Exception):
    """A transient failure: worth another attempt after a pause."""

    def __init__(self, reason: str, unreachable: bool = False) -> None:
        super().__init__(reason)
        self.unreachable = unreachable


class _Restart(Exception):
    """The partial file cannot be continued; it was deleted and the download starts over."""


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _open_part(path: Path, mode: str) -> IO[bytes]:
    """Open the partial file (a seam for tests that simulate a full disk)."""
    return path.open(mode)


def _find_cause(error: BaseException, kind: type | tuple[type, ...]) -> BaseException | None:
    """Search an exception, its arguments, `.reason` and causes for an instance of `kind`."""
    seen, todo = set(), [error]
    while todo:
        item = todo.pop()
        if id(item) in seen or not isinstance(item, BaseException):
            continue
        seen.add(id(item))
        if isinstance(item, kind):
            return item
        todo.extend([*item.args, getattr(item, "reason", None), item.__cause__, item.__context__])
    return None


def _connection_reason(error: requests.ConnectionError) -> tuple[str, bool]:
    """A short reason for a failed connection, and whether retrying is pointless (no such host)."""
    from urllib3.exceptions import NameResolutionError

    if _find_cause(error, NameResolutionError) is not None:
        return "the host name could not be resolved", True
    if _find_cause(error, ConnectionRefusedError) is not None:
        return "connection refused", False
    unreachable = _find_cause(error, OSError)
    if getattr(unreachable, "errno", None) in (errno.ENETUNREACH, errno.EHOSTUNREACH):
        return "no route to the host", True
    if isinstance(error, requests.ConnectTimeout):
        return "connecting timed out", False
    cause = _find_cause(error, OSError)
    text = str(getattr(cause, "strerror", None) or cause or error)
    return text.splitlines()[0][:160], False


def unreachable_message(url: str, reason: str) -> str:
    host = urlsplit(url).netloc
    return (
        f"cannot reach {host} ({reason}); check the network connection, or download through a "
        f"reachable mirror with --mirror http://host:port (or {MIRROR_ENV})"
    )


def request(
    session: requests.Session,
    method: str,
    url: str,
    *,
    settings: TransferSettings,
    reporter: Reporter | None = None,
    **kwargs: Any,
) -> requests.Response:
    """One small request (no body streaming) with the same retry rules as `fetch`.

    `url` must already be mirrored. Returns any response below 500 (the caller judges it).
    """
    return _with_retries(lambda: _send(session, method, url, settings, **kwargs), url, settings, reporter)


def _send(
    session: requests.Session, method: str, url: str, settings: TransferSettings, **kwargs: Any
) -> requests.Response:
    try:
        response = session.request(method, url, timeout=settings.timeout, **kwargs)
    except requests.Timeout:
        raise _Retry(f"no answer within {settings.timeout:g} s") from None
    except requests.ConnectionError as error:
        reason, fatal = _connection_reason(error)
        if fatal:
            raise DownloadError(unreachable_message(url, reason)) from None
        raise _Retry(reason, unreachable=True) from None
    except requests.RequestException as error:
        raise DownloadError(f"cannot request {url}: {error}") from None
    if response.status_code in (408, 429) or response.status_code >= 500:
        status = f"HTTP {response.status_code} {response.reason or ''}".strip()
        response.close()
        raise _Retry(status)
    return response


def _with_retries(
    attempt: Callable[[], Any],
    url: str,
    settings: TransferSettings,
    reporter: Reporter | None,
    progress: Callable[[], int] = lambda: 0,
    part: Path | None = None,
) -> Any:
    """Run `attempt` until it returns, pausing 1, 2, 4, ... x backoff between transient failures.

    A try that moved `progress()` forward resets the failure count, so a long download that is
    cut now and then still finishes.
    """
    failures = restarts = 0
    never_answered = True  # a host that refused every connection so far gets at most 2 retries
    while True:
        before = progress()
        try:
            return attempt()
        except _Restart as why:
            restarts += 1
            if restarts > settings.retries + 1:
                raise DownloadError(f"cannot download {url}: {why}") from None
        except _Retry as why:
            never_answered = never_answered and why.unreachable
            failures = 1 if progress() > before else failures + 1
            limit = min(2, settings.retries) if never_answered else settings.retries
            if failures > limit:
                raise _give_up(url, why, failures, part) from None
            delay = min(settings.max_backoff, settings.backoff * 2 ** (failures - 1))
            (reporter or NullReporter()).warning(
                f"{urlsplit(url).netloc}: {why}; retry {failures}/{limit} in {delay:.3g} s"
            )
            time.sleep(delay)


def _give_up(url: str, why: _Retry, attempts: int, part: Path | None) -> DownloadError:
    if why.unreachable and (part is None or _size(part) == 0):
        return DownloadError(unreachable_message(url, str(why)))
    kept = f"; the partial file {part} is kept: run again to resume" if part and _size(part) else ""
    return DownloadError(f"downloading {url} failed after {attempts} attempts ({why}){kept}")


class _Bar:
    """A progress bar in MiB, opened at the first answer (when the size becomes known)."""

    def __init__(self, stack: ExitStack, reporter: Reporter, label: str) -> None:
        self._stack, self._reporter, self._label = stack, reporter, label
        self._task: Any = None
        self._done = 0

    def start(self, total: int | None, offset: int) -> None:
        if self._task is None:
            megabytes = total / _MIB if total else None
            self._task = self._stack.enter_context(self._reporter.progress(f"{self._label} (MiB)", megabytes))
        self.advance(offset - self._done)

    def advance(self, count: int) -> None:
        self._done += count
        if count:
            self._task.advance(count / _MIB)


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

        _with_retries(attempt, url, settings, reporter, lambda: _size(part), part)
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
    offset = _size(part)
    headers = {"Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    response = _send(
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
    size = _size(part)
    if total is not None and size < total:
        raise _Retry(f"connection closed after {size} of {total} bytes")
    if total is not None and size > total:
        part.unlink()
        raise _Restart(f"the partial file {part} is longer than the file on the server")


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
        raise _Restart("the server refused the resume offset (HTTP 416)")
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
            raise _Restart(f"the server resumed at the wrong place ({content_range!r})")
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
    except (requests.RequestException, Urllib3Error) as error:  # before OSError (a base of both)
        reason = "timed out" if _find_cause(error, TimeoutError) else "connection lost"
        raise _Retry(f"{reason} after {_size(part)} bytes") from None
    except OSError as error:
        raise write_error(part, error) from None


def write_error(path: Path, error: OSError) -> DownloadError:
    """A clear message for a failed write; a full disk keeps the partial file for resuming."""
    if error.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return DiskFullError(
            f"disk full while writing {path}; the partial file is kept: free some space and run "
            "the same command again to resume"
        )
    return DownloadError(f"cannot write {path}: {error.strerror or error}")
