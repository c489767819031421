"""Safe file writing: temporary name then atomic rename; never overwrite silently. No torch here."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from danet.errors import DanetError, OutputExistsError


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it is renamed onto `path` atomically.

    A crash or a full disk leaves `path` untouched (the old file, or nothing) and no partial file.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, target)
    except OSError as error:
        tmp.unlink(missing_ok=True)
        raise DanetError(f"could not write {target}: {error.strerror or error}") from error
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


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
        candidate.mkdir(parents=True, exist_ok=False)
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
