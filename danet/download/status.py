"""What `danet download --list` and `--dry-run` report: each file, its size, source and state.

Nothing here touches the network or reads big files: the state comes from the file system and the
digest cache, so a file never checked before shows as "present, not verified yet".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from danet.download.catalog import Source, all_sources, dataset_sources, get_download, get_source
from danet.download.checksums import Checksum, is_verified_cached, read_record
from danet.download.datasets import dataset_root, file_path, is_extracted
from danet.download.http import part_path
from danet.download.network import apply_mirror, resolve_mirror
from danet.download.weights import weights_file

_TRANSPORT_NOTES = {"cityscapes": " (login)", "gdrive": " (Google Drive)", "http": ""}


def format_size(size: int | None) -> str:
    """Bytes as B/KiB/MiB/GiB; '?' when unknown."""
    if not size:
        return "?"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit in ("B", "KiB", "MiB") else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


@dataclass(frozen=True)
class Entry:
    """One row of `danet download --list`."""

    name: str  # dataset or weights name
    kind: str
    filename: str
    size: int | None
    source: str
    status: str
    notes: str
    path: Path


def file_state(path: Path, checksums: tuple[Checksum, ...], record: bool) -> str:
    """'verified', 'present, not verified yet', 'checksum mismatch', 'partial (...)' or 'missing'."""
    if path.is_file():
        checks = tuple(checksums)
        if record:
            known = read_record(path)
            if known is None:
                return "present, not verified yet"
            checks += (Checksum("sha256", known),)
        verdict = is_verified_cached(path, checks)
        if verdict is None:
            return "present, not verified yet"
        return "verified" if verdict else "checksum mismatch"
    part = part_path(path)
    if part.is_file():
        return f"partial ({format_size(part.stat().st_size)} so far)"
    return "missing"


def _metrics(source: Source) -> str:
    shown = ", ".join(f"{key} {value:g}" for key, value in source.metrics)
    return "; ".join(part for part in (shown, source.notes) if part)


def source_entry(source: Source, root: Path | None = None) -> Entry:
    """The row for one source (datasets: under `root`, default the dataset's own folder)."""
    origin = source.host + _TRANSPORT_NOTES[source.via]
    if source.kind == "dataset":
        base = root if root is not None else dataset_root(source.group)
        path = file_path(source, base)
        if is_extracted(source, base):
            status = "extracted"
        else:
            status = file_state(path, source.checksums, source.needs_record)
        notes = source.notes or get_download(source.group).description
        return Entry(source.group, "dataset", source.filename, source.size, origin, status, notes, path)
    path = weights_file(source)
    checks = source.member_checksums if source.member else source.checksums
    status = file_state(path, checks, source.needs_record)
    return Entry(source.name, "weights", path.name, source.size, origin, status, _metrics(source), path)


def list_entries() -> list[Entry]:
    """Every registered dataset file and weight file, datasets first."""
    return [source_entry(s) for s in all_sources("dataset")] + [
        source_entry(s) for s in all_sources("weights")
    ]


@dataclass(frozen=True)
class PlanStep:
    """What a download would do for one file (`--dry-run`)."""

    name: str
    filename: str
    url: str
    dest: Path
    size: int | None
    action: str
    extract_to: Path | None = None


def _action(entry: Entry, force: bool, login: bool) -> str:
    if force:
        return "download again (--force)"
    if entry.status in ("verified", "extracted"):
        return f"skip ({entry.status})"
    if entry.status.startswith("partial"):
        return f"resume ({entry.status})"
    if entry.status == "present, not verified yet":
        return "verify (download again if the check fails)"
    return "log in, then download" if login else "download"


def plan_dataset(
    name: str, root: str | Path | None = None, *, mirror: str | None = None, force: bool = False
) -> list[PlanStep]:
    """The files `download_dataset(name, root)` would fetch, where to, and what it would do."""
    base = dataset_root(name, root)
    mirror = resolve_mirror(mirror)
    steps = []
    for source in dataset_sources(name):
        entry = source_entry(source, base)
        steps.append(
            PlanStep(
                name,
                source.filename,
                apply_mirror(source.urls[0], mirror),
                entry.path,
                source.size,
                _action(entry, force, source.via == "cityscapes"),
                base / source.target if source.archive else None,
            )
        )
    return steps


def plan_weights(name: str, *, mirror: str | None = None, force: bool = False) -> PlanStep:
    """What `download_weights(name)` would do."""
    source = get_source(name, "weights")
    entry = source_entry(source)
    return PlanStep(
        source.name,
        source.filename,
        apply_mirror(source.urls[0], resolve_mirror(mirror)),
        entry.path if not source.member else entry.path.with_name(source.filename),
        source.size,
        _action(entry, force, False),
        entry.path if source.member else None,
    )
