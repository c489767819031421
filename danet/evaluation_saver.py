"""Save each prediction of an evaluation as it is scored (`danet evaluate --save-dir`, mmseg's --show-dir).

One file per image, named after the dataset's image name: `index` (palette PNG of class ids), `color`
(class colours) or `overlay` (the photo with the colours blended over it and a legend). The files are
the argmax the metric counted, at the label's size. No torch here.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from danet.errors import ConfigError, OutputExistsError
from danet.fileio import check_output_location
from danet.image_io import read_image
from danet.prediction.media import PredictionWriter

SAVE_FORMATS = ("index", "color", "overlay")


class PredictionSaver:
    """Writes `folder/NAME.png` for each scored image; refuses to replace files unless `overwrite`."""

    def __init__(
        self,
        folder: str | os.PathLike[str],
        fmt: str = "index",
        *,
        num_classes: int,
        names: Sequence[str] = (),
        palette: Sequence[Sequence[int]] = (),
        ignore_index: int = 255,
        overwrite: bool = False,
    ) -> None:
        if fmt not in SAVE_FORMATS:
            raise ConfigError(f"unknown save format {fmt!r}; use one of {', '.join(SAVE_FORMATS)}")
        self.folder = check_output_location(folder, folder=True)
        self.overwrite = overwrite
        self.writer = PredictionWriter(
            fmt, num_classes=num_classes, names=names, palette=palette, ignore_index=ignore_index
        )
        self.targets: dict[int, Path] = {}

    @property
    def needs_image(self) -> bool:
        """Whether the photo itself is drawn (overlay), not only the mask."""
        return self.writer.fmt == "overlay"

    def prepare(self, image_names: dict[int, str], mine: Collection[int] | None = None) -> None:
        """Fix each sample index's file before any work; an existing file among those of `mine` (the
        indices this process writes; default all) stops the run here.

        Names repeated in the split get `-2`, `-3`... so that no image replaces another's file; every
        process of a distributed run is given all the names, so all agree on the files.
        """
        seen: dict[str, int] = {}
        taken: list[Path] = []
        for index, name in image_names.items():
            stem = _safe_name(name, index)
            seen[stem] = seen.get(stem, 0) + 1
            unique = stem if seen[stem] == 1 else f"{stem}-{seen[stem]}"
            path = self.folder / f"{unique}{self.writer.suffix}"
            self.targets[index] = path
            if path.exists() and (mine is None or index in mine):
                taken.append(path)
        if taken and not self.overwrite:
            more = f" and {len(taken) - 1} more" if len(taken) > 1 else ""
            raise OutputExistsError(
                f"{taken[0]}{more} exist; choose an empty --save-dir or pass --overwrite to replace them"
            )
        self.folder.mkdir(parents=True, exist_ok=True)

    def save(self, index: int, sample: dict[str, Any], mask: np.ndarray) -> Path:
        """Write the (H, W) class-id `mask` of sample `index` (see `prepare`); returns the file."""
        path = self.targets.get(index)
        if path is None:
            path = self.folder / f"{_safe_name(str(sample.get('name', '')), index)}{self.writer.suffix}"
            if path.exists() and not self.overwrite:
                raise OutputExistsError(f"{path} exists; pass --overwrite to replace it")
        mask = mask.astype(np.uint8, copy=False)
        image = _picture(sample, mask.shape) if self.needs_image else None
        self.writer.write(path, image if image is not None else np.empty((0, 0, 3), np.uint8), mask)
        return path


def _safe_name(name: str, index: int) -> str:
    """A file stem from a dataset image name (its own sub-folders kept out: one flat folder)."""
    stem = Path(name.replace("\\", "/")).name.strip()
    return stem if stem and stem not in (".", "..") else f"image_{index:06d}"


def _picture(sample: dict[str, Any], shape: tuple[int, ...]) -> np.ndarray:
    """The photo (H x W x 3 uint8 RGB) at the label's size, for overlays."""
    image = sample.get("picture")
    if image is None:
        path = sample.get("image_path")
        if not path:
            raise ConfigError("--save-format overlay needs the image file; this dataset gives no image_path")
        image = read_image(path)
    if image.shape[:2] != tuple(shape):
        image = cv2.resize(image, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)
    return image
