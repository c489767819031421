"""Safe file writing: temporary name then atomic rename; never overwrite silently. No torch here.

Temporary files are named `.NAME.PID-RANDOM.tmp` so that a later process can tell a leftover of a
dead process (removed by `remove_stale_temps`) from the file another process is still writing.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from danet.errors import DanetError, OutputExistsError

_TEMP_NAME = re.compile(r"^\.(?P<name>.+)\.(?:(?P<pid>\d+)-)?[A-Za-z0-9_]+\.tmp$")
LEGACY_TEMP_AGE_S = 3600.0  # a temp file without a pid in its name is stale after this long


def write_failure(path: str | os.PathLike[str], error: OSError) -> DanetError:
    """One clear line for an OSError met while writing `path` (read-only, full disk, not a folder...)."""
    return DanetError(f"cannot write {Path(path)}: {os_error_reason(error)}")


def os_error_reason(error: OSError) -> str:
    """What an OSError means, in words a user acts on."""
    code = error.errno
    if code == errno.EROFS:
        why = "the file system is read-only"
    elif code in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        why = "the disk is full (or the quota is reached); free some space"
    elif code in (errno.EACCES, errno.EPERM):
        why = "permission denied"
    elif code == errno.ENOTDIR and error.filename is not None:
        why = f"a part of {error.filename} is a file where a folder is needed"
    elif code == errno.EEXIST and error.filename is not None and Path(error.filename).is_file():
        why = f"{error.filename} is a file where a folder is needed"
    else:
        why = error.strerror or str(error)
    return why


def current_umask() -> int:
    """The process umask (read without changing it where /proc allows)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # not thread-safe, but only where /proc is missing
    os.umask(mask)
    return mask


def _final_mode(target: Path) -> int:
    """The mode `target` should get: its current one when it exists, else what open() would give."""
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except OSError:
        return 0o666 & ~current_umask()


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it is renamed onto `path` atomically.

    A crash or a full disk leaves `path` untouched (the old file, or nothing) and no partial file.
    The result has the mode a plain `open()` would give under the umask, or the mode of the file it
    replaces. Failing to create the folder or the temporary file is a `DanetError` naming `path`.
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{target.name}.{os.getpid()}-", suffix=".tmp", dir=target.parent
        )
        os.close(fd)
    except OSError as error:
        raise write_failure(target, error) from None
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, _final_mode(target))
        os.replace(tmp, target)
    except OSError as error:
        tmp.unlink(missing_ok=True)
        raise write_failure(target, error) from error
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this machine."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:
        return False
    return True


def remove_stale_temps(folder: str | os.PathLike[str]) -> list[Path]:
    """Delete `atomic_path` leftovers in `folder` whose writer is gone; returns what was removed.

    A temp file naming a live pid is kept (another process is writing it); one without a pid (older
    danet versions) is removed once it is an hour old.
    """
    removed: list[Path] = []
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        match = _TEMP_NAME.match(entry.name)
        if match is None or not entry.is_file():
            continue
        pid = match.group("pid")
        if pid is not None and (int(pid) == os.getpid() or pid_alive(int(pid))):
            continue
        try:
            if pid is None and now - entry.stat().st_mtime < LEGACY_TEMP_AGE_S:
                continue
            entry.unlink()
        except OSError:
            continue
        removed.append(entry)
    return removed


def check_output_location(path: str | os.PathLike[str], *, folder: bool = False) -> Path:
    """Fail now, before any work, when `path` (a file, or a folder with `folder`) cannot be written.

    Nothing is created: the nearest existing folder above `path` is probed with a temporary file,
    which catches read-only file systems as well as permissions.
    """
    target = Path(path)
    if folder and target.exists() and not target.is_dir():
        raise DanetError(f"cannot write into {target}: it is a file, not a folder")
    if not folder and target.is_dir():
        raise DanetError(f"cannot write {target}: it is a folder; give a file name")
    probe_dir = target if folder else target.parent
    probe_dir = Path(os.path.abspath(probe_dir))
    while not probe_dir.exists():
        probe_dir = probe_dir.parent
    if not probe_dir.is_dir():
        raise DanetError(f"cannot write {target}: {probe_dir} is a file where a folder is needed")
    try:
        fd, name = tempfile.mkstemp(prefix=f".danet-probe.{os.getpid()}-", suffix=".tmp", dir=probe_dir)
        os.close(fd)
        os.unlink(name)
    except OSError as error:
        raise write_failure(target, error) from None
    return target


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write `data` to `path` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write `text` (UTF-8) to `path` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def check_writable(path: str | os.PathLike[str], overwrite: bool) -> Path:
    """Refuse to replace an existing file unless `overwrite` is set."""
    target = Path(path)
    if target.exists() and not overwrite:
        raise OutputExistsError(f"{target} exists; pass --overwrite to replace it")
    return target


def increment_dir(parent: str | os.PathLike[str], name: str, *, create: bool = True) -> Path:
    """`parent/name`, or `parent/name2`, `name3`, ... if taken (the YOLO-style run folder rule)."""
    parent = Path(parent)
    candidate = parent / name
    if candidate.exists():
        stem = re.sub(r"\d+$", "", name) or name
        n = 2
        while (parent / f"{stem}{n}").exists():
            n += 1
        candidate = parent / f"{stem}{n}"
    if create:
        try:
            candidate.mkdir(parents=True, exist_ok=False)
        except OSError as error:
            raise write_failure(candidate, error) from None
    return candidate


def read_yaml(path: str | os.PathLike[str], error: type[DanetError] = DanetError) -> Any:
    """Parse a YAML file (an empty file is None); unreadable or invalid files raise `error`."""
    import yaml

    path = Path(path)
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise error(f"cannot read {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise error(f"{path} is not valid YAML: {exc}") from None
