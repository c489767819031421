"""One verified file on disk: skip it when already verified, else download, check and rename.

The download accumulates in `NAME.part` (kept for resuming after any failure except a checksum
mismatch) and becomes `NAME` only once its checksums match. Files without a published checksum get
their sha256 recorded on first download (`NAME.sha256`) and are held to that record afterwards.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import requests

from danet.download.catalog import Source
from danet.download.checksums import (
    Checksum,
    ChecksumError,
    check_digests,
    file_digests,
    forget_digests,
    hash_file,
    read_record,
    record_path,
    remember_digests,
    verify_file,
    write_record,
)
from danet.download.http import fetch, part_path
from danet.download.network import DiskFullError, TransferSettings
from danet.errors import DownloadError
from danet.fileio import write_failure
from danet.reporting import NullReporter, Reporter


def _record_check(path: Path, sha256: str, label: str) -> None:
    recorded = read_record(path)
    if recorded is not None and recorded != sha256:
        raise ChecksumError(
            f"sha256 mismatch for {label}: expected {recorded} (recorded at its first download in "
            f"{record_path(path)}), got {sha256}; if the file changed upstream on purpose, delete "
            "that record"
        )


def existing_ok(
    path: Path,
    checksums: Sequence[Checksum],
    *,
    record: bool,
    reporter: Reporter,
) -> bool:
    """True when `path` exists and passes its checks; a file that fails is deleted (with a warning)."""
    if not path.is_file():
        return False
    try:
        verify_file(path, checksums, label=path.name, reporter=reporter, delete=False)
        if record:
            sha256 = file_digests(path, {"sha256"}, reporter)["sha256"]
            if read_record(path) is None:
                write_record(path, sha256)
                reporter.info(f"{path.name}: no published checksum; recorded sha256 {sha256}")
            _record_check(path, sha256, path.name)
    except ChecksumError as error:
        path.unlink(missing_ok=True)
        forget_digests(path)
        reporter.warning(f"{error}; deleted {path}")
        return False
    return True


def ensure_file(
    source: Source,
    dest: Path,
    *,
    urls: Sequence[str] | None = None,
    checksums: Sequence[Checksum] | None = None,
    record: bool | None = None,
    session: requests.Session | None = None,
    mirror: str | None = None,
    settings: TransferSettings | None = None,
    reporter: Reporter | None = None,
    force: bool = False,
    allow_redirects: bool = True,
    inspect: Callable[[Path], None] | None = None,
) -> Path:
    """`dest`, downloaded from `urls` (default: the source's, tried in turn) and verified."""
    reporter = reporter or NullReporter()
    checksums = tuple(source.checksums if checksums is None else checksums)
    record = source.needs_record and not checksums if record is None else record
    with download_lock(dest, reporter):
        if force:
            for stale in (dest, part_path(dest)):
                stale.unlink(missing_ok=True)
            forget_digests(dest)
        elif existing_ok(dest, checksums, record=record, reporter=reporter):
            reporter.info(f"{dest.name}: already downloaded and verified ({dest})")
            return dest
        part = _fetch_any(urls or source.urls, dest, session, mirror, settings, reporter, allow_redirects)
        if inspect is not None:
            inspect(part)
        _accept(part, dest, checksums, record, reporter)
    reporter.info(f"{dest.name}: downloaded and verified ({dest})")
    return dest


def _accept(
    part: Path, dest: Path, checksums: tuple[Checksum, ...], record: bool, reporter: Reporter
) -> None:
    """Check the finished `.part` and rename it to `dest`; on a mismatch delete it and raise."""
    algos = {c.algo for c in checksums} | ({"sha256"} if record else set())
    digests = hash_file(part, algos, reporter, label=dest.name)
    try:
        check_digests(digests, checksums, dest.name)
        if record:
            _record_check(dest, digests["sha256"], dest.name)
    except ChecksumError as error:
        part.unlink(missing_ok=True)
        raise ChecksumError(f"{error}; deleted the download {part}") from None
    if record and read_record(dest) is None:
        write_record(dest, digests["sha256"])
        reporter.info(
            f"{dest.name}: no published checksum; sha256 {digests['sha256']} recorded in "
            f"{record_path(dest)} and checked from now on"
        )
    os.replace(part, dest)
    remember_digests(dest, digests)


@contextmanager
def download_lock(dest: Path, reporter: Reporter) -> Iterator[None]:
    """Hold `.<name>.lock` beside `dest` so two processes (distributed ranks, two shells) never
    write the same `.part`; the second waits and then finds the file verified.

    The lock file is deleted when released, so none stays behind; a waiter that finds its file
    deleted meanwhile locks the new one. A lock left by a killed process is free (the kernel drops
    it with the process) and is taken over.
    """
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise write_failure(dest, error) from None
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks
        yield
        return
    lock = dest.with_name(f".{dest.name}.lock")
    handle = _acquire(lock, dest, reporter, fcntl)
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)  # still holding it: a waiter sees the file gone and retries
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def _acquire(lock: Path, dest: Path, reporter: Reporter, fcntl: Any) -> IO[str]:
    """An open, exclusively locked handle on the file that is at `lock` now."""
    while True:
        try:
            handle = lock.open("a")
        except OSError as error:
            raise write_failure(lock, error) from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            reporter.info(f"waiting for another process that is downloading {dest.name}")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            current = os.stat(lock).st_ino
        except FileNotFoundError:
            current = None
        if current == os.fstat(handle.fileno()).st_ino:
            return handle
        handle.close()  # the previous holder deleted this file on release


def _fetch_any(
    urls: Sequence[str],
    dest: Path,
    session: requests.Session | None,
    mirror: str | None,
    settings: TransferSettings | None,
    reporter: Reporter,
    allow_redirects: bool,
) -> Path:
    """Fetch from the first URL that works; a full disk or the last URL's failure is final."""
    for index, url in enumerate(urls):
        try:
            return fetch(
                url,
                dest,
                session=session,
                mirror=mirror,
                settings=settings,
                reporter=reporter,
                allow_redirects=allow_redirects,
            )
        except DownloadError as error:
            if index == len(urls) - 1 or isinstance(error, DiskFullError):
                raise
            reporter.warning(f"{error}; trying {urls[index + 1]}")
    raise DownloadError(f"no URL to download {dest.name} from")
