"""File checksums: one-pass hashing, a size+mtime keyed cache, and trust-on-first-use records.

Hashing an 11 GB archive takes a while, so every digest computed for a file is remembered in a small
`<file>.verified` JSON sidecar keyed on its size and modification time; a later check of the unchanged
file reads the sidecar instead of the file. Files with no published checksum get their sha256 recorded
in a `<file>.sha256` sidecar on first download and are checked against that record afterwards.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from danet.errors import ConfigError, DownloadError
from danet.reporting import NullReporter, Reporter

DIGEST_LENGTHS = {"md5": 32, "sha1": 40, "sha256": 64}
_BLOCK = 1 << 20
_MIB = float(1 << 20)


class ChecksumError(DownloadError):
    """A file's digest differs from the expected one (the file has been deleted)."""


@dataclass(frozen=True)
class Checksum:
    """An expected digest; a value shorter than the full digest (>= 8 hex digits) is a prefix."""

    algo: str
    value: str
    origin: str = ""

    def __post_init__(self) -> None:
        if self.algo not in DIGEST_LENGTHS:
            valid = ", ".join(DIGEST_LENGTHS)
            raise ConfigError(f"unknown checksum algorithm {self.algo!r}; valid: {valid}")
        full = DIGEST_LENGTHS[self.algo]
        value = self.value.lower()
        if not (8 <= len(value) <= full) or any(c not in "0123456789abcdef" for c in value):
            raise ConfigError(f"{self.algo} checksum {self.value!r} must be 8 to {full} hex digits")
        object.__setattr__(self, "value", value)

    @property
    def is_prefix(self) -> bool:
        return len(self.value) < DIGEST_LENGTHS[self.algo]

    def matches(self, digest: str) -> bool:
        return digest.lower().startswith(self.value) if self.is_prefix else digest == self.value

    def __str__(self) -> str:
        return f"{self.algo} {self.value}{'...' if self.is_prefix else ''}"


def hash_file(
    path: Path, algos: Iterable[str], reporter: Reporter | None = None, label: str | None = None
) -> dict[str, str]:
    """Compute several digests of `path` in one read (progress in MiB, titled `label` or the name)."""
    hashers = {algo: hashlib.new(algo) for algo in sorted(set(algos))}
    reporter = reporter or NullReporter()
    size = path.stat().st_size
    title = f"checking {label or path.name} (MiB)"
    with reporter.progress(title, total=size / _MIB) as task, path.open("rb") as fh:
        while block := fh.read(_BLOCK):
            for hasher in hashers.values():
                hasher.update(block)
            task.advance(len(block) / _MIB)
    return {algo: hasher.hexdigest() for algo, hasher in hashers.items()}


def _cache_path(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _stat_key(path: Path) -> dict[str, int]:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def cached_digests(path: Path) -> dict[str, str]:
    """The digests remembered for `path`, or {} when there are none or the file has changed."""
    try:
        record = json.loads(_cache_path(path).read_text(encoding="utf-8"))
        if record.get("size") == path.stat().st_size and record.get("mtime_ns") == (path.stat().st_mtime_ns):
            return {str(k): str(v) for k, v in record.get("digests", {}).items()}
    except (OSError, ValueError, AttributeError):
        pass
    return {}


def remember_digests(path: Path, digests: dict[str, str]) -> None:
    """Store `digests` for the current size+mtime of `path` (best effort: a failure is ignored)."""
    record = {**_stat_key(path), "digests": {**cached_digests(path), **digests}}
    with contextlib.suppress(OSError):
        _cache_path(path).write_text(json.dumps(record, indent=1), encoding="utf-8")


def forget_digests(path: Path) -> None:
    _cache_path(path).unlink(missing_ok=True)


def file_digests(path: Path, algos: Iterable[str], reporter: Reporter | None = None) -> dict[str, str]:
    """Digests of `path` for `algos`, reading the file only for those not cached."""
    algos = set(algos)
    known = cached_digests(path)
    missing = algos - set(known)
    if missing:
        known.update(hash_file(path, missing, reporter))
        remember_digests(path, known)
    return {algo: known[algo] for algo in algos}


def check_digests(digests: dict[str, str], checksums: Iterable[Checksum], label: str) -> None:
    """Raise `ChecksumError` (expected vs got, naming `label`) unless every checksum matches."""
    for checksum in checksums:
        got = digests[checksum.algo]
        if not checksum.matches(got):
            origin = f" ({checksum.origin})" if checksum.origin else ""
            raise ChecksumError(
                f"{checksum.algo} mismatch for {label}: expected {checksum.value}"
                f"{'...' if checksum.is_prefix else ''}{origin}, got {got}"
            )


def verify_file(
    path: Path,
    checksums: Iterable[Checksum],
    *,
    label: str | None = None,
    reporter: Reporter | None = None,
    delete: bool = True,
) -> dict[str, str]:
    """Check `path` against every checksum (using the digest cache); on a mismatch delete the
    file (if `delete`) and raise `ChecksumError`."""
    checksums = list(checksums)
    digests = file_digests(path, {c.algo for c in checksums}, reporter)
    try:
        check_digests(digests, checksums, label or str(path))
    except ChecksumError as error:
        if not delete:
            raise
        path.unlink(missing_ok=True)
        forget_digests(path)
        raise ChecksumError(f"{error}; deleted {path}") from None
    return digests


def is_verified_cached(path: Path, checksums: Iterable[Checksum]) -> bool | None:
    """True/False when the cache alone can answer for `path`, None when hashing would be needed."""
    checksums = list(checksums)
    known = cached_digests(path)
    if not path.is_file() or any(c.algo not in known for c in checksums):
        return None
    return all(c.matches(known[c.algo]) for c in checksums)


def record_path(path: Path) -> Path:
    """The trust-on-first-use record of a file with no published checksum."""
    return path.with_name(path.name + ".sha256")


def read_record(path: Path) -> str | None:
    """The sha256 recorded for `path` (sha256sum format), or None."""
    try:
        text = record_path(path).read_text(encoding="utf-8").split()
    except OSError:
        return None
    return text[0].lower() if text else None


def write_record(path: Path, digest: str, name: str | None = None) -> Path:
    """Write `<digest>  <name>` (the sha256sum format) beside `path`."""
    record = record_path(path)
    tmp = record.with_name(record.name + ".tmp")
    tmp.write_text(f"{digest}  {name or path.name}\n", encoding="utf-8")
    os.replace(tmp, record)
    return record
