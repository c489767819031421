"""Safe extraction of zip and tar archives.

Every member is checked before anything is written: absolute names, `..` components, links that
point outside the target and device files are refused, naming the member. Extraction goes into a
hidden staging folder inside the target and is then moved into place, so an interrupted extraction
leaves no half-written tree behind the completion marker and is simply redone.
"""

from __future__ import annotations

import errno
import gzip
import lzma
import os
import posixpath
import re
import shutil
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

from danet.download.network import write_error
from danet.errors import DownloadError
from danet.fileio import pid_alive
from danet.reporting import NullReporter, Reporter


def archive_kind(path: Path) -> str:
    """'zip', 'tar' or 'tgz' from the file name."""
    name = path.name.lower()
    if name.endswith(".zip"):
        return "zip"
    if name.endswith((".tgz", ".tar.gz")):
        return "tgz"
    if name.endswith(".tar"):
        return "tar"
    raise DownloadError(f"{path.name} is not a .zip, .tar or .tgz archive")


def _unsafe_name(name: str) -> str | None:
    """Why a member name must not be extracted, or None when it is fine."""
    normal = name.replace("\\", "/")
    if normal.startswith("/") or re.match(r"^[A-Za-z]:", normal):
        return "has an absolute path"
    if ".." in normal.split("/"):
        return "has a '..' component"
    return None


def _unsafe_link(member: str, target: str, hard: bool) -> str | None:
    """Why a link `member -> target` escapes the extraction folder, or None."""
    normal = target.replace("\\", "/")
    if normal.startswith("/") or re.match(r"^[A-Za-z]:", normal):
        return f"links to the absolute path {target!r}"
    # symlinks resolve from the member's folder, hard links from the archive root
    base = "" if hard else posixpath.dirname(member.replace("\\", "/"))
    resolved = posixpath.normpath(posixpath.join(base, normal))
    if resolved == ".." or resolved.startswith("../"):
        return f"links to {target!r}, outside the extraction folder"
    return None


def _zip_members(archive: zipfile.ZipFile) -> Iterator[tuple[str, str | None]]:
    for info in archive.infolist():
        mode = info.external_attr >> 16
        why = _unsafe_name(info.filename)
        if why is None and stat.S_ISLNK(mode):
            why = _unsafe_link(info.filename, archive.read(info).decode("utf-8", "replace"), False)
        yield info.filename, why


def _tar_members(archive: tarfile.TarFile) -> Iterator[tuple[str, str | None]]:
    for member in archive.getmembers():
        why = _unsafe_name(member.name)
        if why is None and (member.issym() or member.islnk()):
            why = _unsafe_link(member.name, member.linkname, member.islnk())
        if why is None and (member.ischr() or member.isblk() or member.isfifo()):
            why = "is a device or pipe"
        yield member.name, why


def check_members(path: Path, members: Iterable[tuple[str, str | None]]) -> int:
    """Raise for the first unsafe member; return how many members there are."""
    count = 0
    for name, why in members:
        if why is not None:
            raise DownloadError(
                f"refusing to extract {path.name}: member {name!r} {why}; nothing was extracted"
            )
        count += 1
    return count


_FILTER_ERRORS: tuple[type[BaseException], ...] = (
    (tarfile.FilterError,) if hasattr(tarfile, "FilterError") else ()
)


def _open(path: Path) -> zipfile.ZipFile | tarfile.TarFile:
    try:
        if archive_kind(path) == "zip":
            return zipfile.ZipFile(path)
        return tarfile.open(path, "r:*")
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, zlib.error, lzma.LZMAError) as error:
        raise DownloadError(
            f"{path} is not a readable archive ({error}); delete it or use --force to download it again"
        ) from None


def _counted(items: Iterable, task: object) -> Iterator:
    for item in items:
        yield item
        task.advance(1)  # type: ignore[attr-defined]


def _extract_all(handle: zipfile.ZipFile | tarfile.TarFile, staging: Path, task: object) -> None:
    if isinstance(handle, zipfile.ZipFile):
        handle.extractall(staging, members=_counted(handle.infolist(), task))
    elif hasattr(tarfile, "data_filter"):  # a second line of defence where Python has it
        handle.extractall(staging, members=_counted(handle.getmembers(), task), filter="data")
    else:  # pragma: no cover - Python without extraction filters; members were checked above
        handle.extractall(staging, members=_counted(handle.getmembers(), task))


def _merge_into(source: Path, target: Path) -> None:
    """Move the contents of `source` into `target`, replacing files and merging folders."""
    target.mkdir(parents=True, exist_ok=True)
    for child in source.iterdir():
        dest = target / child.name
        if child.is_dir() and not child.is_symlink() and dest.is_dir() and not dest.is_symlink():
            _merge_into(child, dest)
            continue
        if dest.is_dir() and not dest.is_symlink():
            shutil.rmtree(dest)
        elif dest.exists() or dest.is_symlink():
            dest.unlink()
        os.replace(child, dest)


def _extract_error(archive: Path, target: Path, error: OSError) -> DownloadError:
    if error.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return DownloadError(
            f"disk full while extracting {archive.name} into {target}; free some space and run the "
            "same command again (the extraction is redone, the archive is kept)"
        )
    return DownloadError(f"cannot extract {archive.name} into {target}: {error.strerror or error}")


def staging_dir(target: Path, archive: Path) -> Path:
    """This process's staging folder (the pid tells a live extraction from a dead one's leftover)."""
    return target / f".extracting-{archive.name}.{os.getpid()}"


def remove_stale_staging(target: Path, archive: Path) -> None:
    """Delete staging folders of `archive` left in `target` by processes that no longer run."""
    prefix = f".extracting-{archive.name}"
    try:
        entries = [e for e in target.iterdir() if e.name.startswith(prefix) and e.is_dir()]
    except OSError:
        return
    for entry in entries:
        pid = entry.name[len(prefix) :].lstrip(".")
        if pid.isdigit() and (int(pid) == os.getpid() or pid_alive(int(pid))):
            continue
        shutil.rmtree(entry, ignore_errors=True)  # without a pid: an older danet's leftover


_DAMAGED = (zipfile.BadZipFile, tarfile.TarError, EOFError, zlib.error, lzma.LZMAError, OSError)


def _check_all(path: Path, handle: zipfile.ZipFile | tarfile.TarFile) -> int:
    """Check every member (reading a tar's whole index, where truncation shows)."""
    try:
        if isinstance(handle, zipfile.ZipFile):
            return check_members(path, _zip_members(handle))
        return check_members(path, _tar_members(handle))
    except _DAMAGED as error:
        raise _damaged(path, error) from None


def _damaged(path: Path, error: BaseException) -> DownloadError:
    reason = str(error) or type(error).__name__
    return DownloadError(f"{path} is damaged or truncated ({reason}); use --force to download it again")


def extract(path: Path, target: Path, *, reporter: Reporter | None = None) -> None:
    """Safely extract the archive `path` into the folder `target` (merging with what is there)."""
    reporter = reporter or NullReporter()
    remove_stale_staging(target, path)
    staging = staging_dir(target, path)
    with _open(path) as handle:
        count = _check_all(path, handle)
        try:
            if staging.exists():  # our pid, reused from a process that died mid-extraction
                shutil.rmtree(staging)
            staging.mkdir(parents=True)
            with reporter.progress(f"extracting {path.name}", count) as task:
                _extract_all(handle, staging, task)
            _merge_into(staging, target)
        except _FILTER_ERRORS as error:  # the second line of defence refused a member
            raise DownloadError(
                f"refusing to extract {path.name}: {error}; the archive is unsafe and was not extracted"
            ) from None
        except (gzip.BadGzipFile, EOFError, zlib.error, lzma.LZMAError) as error:
            raise _damaged(path, error) from None
        except OSError as error:
            raise _extract_error(path, target, error) from None
        except _DAMAGED as error:
            raise _damaged(path, error) from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def extract_member(path: Path, member: str, dest: Path) -> Path:
    """Copy one member of a zip to `dest` (checked like `extract`); return `dest`."""
    with _open(path) as handle:
        if not isinstance(handle, zipfile.ZipFile):
            raise DownloadError(f"{path.name}: only zip members can be taken out one by one")
        names = dict(_zip_members(handle))
        if member not in names:
            found = ", ".join(sorted(names)[:5])
            raise DownloadError(f"{path.name} does not contain {member!r} (it has: {found})")
        check_members(path, [(member, names[member])])
        try:
            with handle.open(member) as src, dest.open("wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
        except OSError as error:
            dest.unlink(missing_ok=True)
            raise write_error(dest, error) from None
    return dest
