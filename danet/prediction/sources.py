"""What to predict on: SOURCE arguments (files, folders, glob patterns) expanded into images and videos.

Each source remembers its path relative to the folder or glob base it came from, so outputs mirror the
input layout and two `a/x.png`, `b/x.png` found under one folder never collide. No torch here.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from danet.errors import ConfigError, DanetError

IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm", ".jp2"}
)
VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mov", ".mkv"})
_GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True)
class Source:
    path: Path
    kind: str  # "image" | "video"
    relative: Path  # used to name the outputs

    @property
    def is_video(self) -> bool:
        return self.kind == "video"


def kind_of(path: Path) -> str | None:
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return "image"
    if suffix in VIDEO_SUFFIXES:
        return "video"
    return None


def _from_folder(folder: Path, recursive: bool) -> list[Source]:
    files = folder.rglob("*") if recursive else folder.glob("*")
    found = []
    for path in sorted(files):
        kind = kind_of(path)
        if kind and path.is_file() and not path.name.startswith("."):
            found.append(Source(path, kind, path.relative_to(folder)))
    return found


def _glob_base(pattern: str) -> Path:
    """The longest leading part of `pattern` without wildcards."""
    parts = Path(pattern).parts
    fixed = []
    for part in parts:
        if _GLOB_CHARS & set(part):
            break
        fixed.append(part)
    return Path(*fixed) if fixed else Path(".")


def _from_glob(pattern: str, recursive: bool) -> list[Source]:
    base = _glob_base(pattern)
    found = []
    for name in sorted(glob.glob(pattern, recursive=recursive)):
        path = Path(name)
        kind = kind_of(path)
        if kind and path.is_file():
            found.append(Source(path, kind, Path(os.path.relpath(path, base))))
    return found


def expand_one(argument: str, recursive: bool = False) -> list[Source]:
    """The images and videos one SOURCE argument names."""
    path = Path(argument).expanduser()
    if path.is_file():
        return [Source(path, kind_of(path) or "image", Path(path.name))]  # named explicitly: try it
    if path.is_dir():
        found = _from_folder(path, recursive)
        if not found:
            hint = "" if recursive else " (pass --recursive to look in subfolders)"
            raise DanetError(f"{path} holds no images or videos{hint}")
        return found
    if _GLOB_CHARS & set(argument):
        found = _from_glob(str(path), recursive)
        if not found:
            raise DanetError(f"the pattern {argument!r} matches no images or videos")
        return found
    raise DanetError(f"{argument} does not exist (expected an image, video, folder or glob pattern)")


def expand_sources(arguments: Iterable[str], recursive: bool = False) -> list[Source]:
    """All sources named by `arguments`, in order, each file once."""
    seen: set[Path] = set()
    sources = []
    for argument in arguments:
        for source in expand_one(str(argument), recursive):
            key = source.path.resolve()
            if key not in seen:
                seen.add(key)
                sources.append(source)
    if not sources:
        raise ConfigError("no SOURCE given: pass image files, folders, glob patterns or videos")
    return sources


def output_paths(
    sources: Sequence[Source], folder: Path, image_suffix: str, video_suffix: str = ".mp4"
) -> dict[Path, Path]:
    """Where each source's output goes inside `folder`: its relative path with the output suffix.

    Two sources that would write the same file, or an output that would replace its own input, are
    errors (rename or move one, or predict them in separate runs).
    """
    planned: dict[Path, Path] = {}
    owners: dict[Path, Path] = {}
    for source in sources:
        suffix = video_suffix if source.is_video else image_suffix
        target = folder / source.relative.with_suffix(suffix)
        if target in owners:
            raise ConfigError(
                f"{source.path} and {owners[target]} would both write {target}; predict them separately"
            )
        if target.resolve() == source.path.resolve():
            raise ConfigError(
                f"the output for {source.path} would replace the input; choose another -o folder"
            )
        owners[target] = source.path
        planned[source.path] = target
    return planned
