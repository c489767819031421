"""What every request shares: settings, the mirror, retries with backoff, and error wording.

Transient failures (connection errors, timeouts, 5xx, 408, 429) are retried with exponential backoff;
other 4xx answers fail at once; a host that cannot be resolved fails at once with a hint to use a
mirror. `DANET_MIRROR` (or `mirror=`) swaps the scheme and host of every URL and keeps the path.
"""

from __future__ import annotations

import errno
import math
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

from danet.errors import ConfigError, DownloadError
from danet.reporting import NullReporter, Reporter

MIRROR_ENV = "DANET_MIRROR"


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
        for field, kind, valid, rule in _ENV_FIELDS:
            name = f"DANET_DOWNLOAD_{field.upper()}"
            raw = os.environ.get(name, "").strip()
            if not raw:
                continue
            try:
                value = kind(raw)
            except ValueError:
                value = None
            if value is None or not math.isfinite(value) or not valid(value):
                raise ConfigError(f"{name}={raw!r} is not valid: it must be {rule}")
            values[field] = value
        return cls(**values)


_ENV_FIELDS: tuple[tuple[str, type, Callable[[float], bool], str], ...] = (
    ("timeout", float, lambda v: v > 0, "a number of seconds above 0, such as 30"),
    ("retries", int, lambda v: v >= 0, "a whole number, 0 or more, such as 5"),
    ("backoff", float, lambda v: v >= 0, "a number of seconds, 0 or more, such as 1"),
)


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


class DiskFullError(DownloadError):
    """The disk filled up while writing; the partial file is kept for resuming."""


class Retry(Exception):
    """A transient failure: worth another attempt after a pause."""

    def __init__(self, reason: str, unreachable: bool = False) -> None:
        super().__init__(reason)
        self.unreachable = unreachable


class Restart(Exception):
    """The partial file cannot be continued; it was deleted and the download starts over."""


def file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def find_cause(error: BaseException, kind: type | tuple[type, ...]) -> BaseException | None:
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
    if find_cause(error, socket.gaierror) is not None:
        return "the host name could not be resolved", True
    if find_cause(error, ConnectionRefusedError) is not None:
        return "connection refused", False
    cause = find_cause(error, OSError)
    if getattr(cause, "errno", None) in (errno.ENETUNREACH, errno.EHOSTUNREACH):
        return "no route to the host", True
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
    return with_retries(lambda: send(session, method, url, settings, **kwargs), url, settings, reporter)


def send(
    session: requests.Session, method: str, url: str, settings: TransferSettings, **kwargs: Any
) -> requests.Response:
    try:
        response = session.request(method, url, timeout=settings.timeout, **kwargs)
    except requests.ConnectTimeout:  # before Timeout and ConnectionError, its two bases
        raise Retry(f"connecting timed out after {settings.timeout:g} s", unreachable=True) from None
    except requests.Timeout:
        raise Retry(f"no answer within {settings.timeout:g} s") from None
    except requests.ConnectionError as error:
        reason, fatal = _connection_reason(error)
        if fatal:
            raise DownloadError(unreachable_message(url, reason)) from None
        raise Retry(reason, unreachable=True) from None
    except requests.RequestException as error:
        raise DownloadError(f"cannot request {url}: {error}") from None
    if response.status_code in (408, 429) or response.status_code >= 500:
        status = f"HTTP {response.status_code} {response.reason or ''}".strip()
        response.close()
        raise Retry(status)
    return response


def with_retries(
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
        except Restart as why:
            restarts += 1
            if restarts > settings.retries + 1:
                raise DownloadError(f"cannot download {url}: {why}") from None
        except Retry as why:
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


def _give_up(url: str, why: Retry, attempts: int, part: Path | None) -> DownloadError:
    if why.unreachable and (part is None or file_size(part) == 0):
        return DownloadError(unreachable_message(url, str(why)))
    kept = f"; the partial file {part} is kept: run again to resume" if part and file_size(part) else ""
    return DownloadError(f"downloading {url} failed after {attempts} attempts ({why}){kept}")


def write_error(path: Path, error: OSError) -> DownloadError:
    """A clear message for a failed write; a full disk keeps the partial file for resuming."""
    if error.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return DiskFullError(
            f"disk full while writing {path}; the partial file is kept: free some space and run "
            "the same command again to resume"
        )
    return DownloadError(f"cannot write {path}: {error.strerror or error}")
