"""PASCAL-in-Detail annotations (`trainval_merged.json`) read without the Detail API's C build.

The file is COCO-like: `images` (image_id, file_name, height, width, phase), `annos_segmentation`
(image_id, category_id = 459-class id, segmentation = COCO run-length encoding). A semantic map paints
each annotation's region with its category id in file order, as the Detail API's `getMask` does.
No torch here.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from danet.errors import DatasetError


def rle_counts(counts: str | list[int]) -> list[int]:
    """Run lengths of a COCO RLE: a list as is, or the compressed string (6-bit chars, 5 data bits,
    sign-extended, each count after the second stored as a difference to the one two back)."""
    if isinstance(counts, list):
        return [int(c) for c in counts]
    runs: list[int] = []
    pos = 0
    while pos < len(counts):
        value, shift, more = 0, 0, True
        while more:
            chunk = ord(counts[pos]) - 48
            value |= (chunk & 0x1F) << shift
            more = bool(chunk & 0x20)
            pos += 1
            shift += 5
            if not more and chunk & 0x10:
                value |= -1 << shift
        if len(runs) > 2:
            value += runs[-2]
        runs.append(value)
    return runs


def decode_rle(rle: dict[str, Any]) -> np.ndarray:
    """An H x W bool mask from a COCO RLE dict {size: [H, W], counts: ...} (column-major runs)."""
    height, width = (int(v) for v in rle["size"])
    runs = np.asarray(rle_counts(rle["counts"]), np.int64)
    if runs.sum() != height * width or (runs < 0).any():
        raise ValueError(f"run lengths cover {int(runs.sum())} pixels, the mask has {height * width}")
    values = np.arange(len(runs)) % 2 == 1  # runs alternate 0, 1, 0, ... starting with zeros
    flat = np.repeat(values, runs)
    return flat.reshape(width, height).T  # column-major -> (H, W)


class DetailAnnotations:
    """Semantic 459-class maps of the images of one phase (train or val)."""

    def __init__(self, path: Path) -> None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            self.images = {img["image_id"]: img for img in data["images"]}
            self.by_image: dict[Any, list[dict[str, Any]]] = defaultdict(list)
            for ann in data["annos_segmentation"]:
                self.by_image[ann["image_id"]].append(ann)
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise DatasetError(
                f"{path}: not a PASCAL-in-Detail annotation file ({error!r}); download it again"
            ) from error
        self.path = path

    def images_of(self, phase: str) -> list[tuple[str, Any]]:
        """(file stem, image id) of every image of `phase`, sorted by file name."""
        found = [
            (Path(img["file_name"]).stem, key)
            for key, img in self.images.items()
            if img.get("phase") == phase
        ]
        return sorted(found)

    def label_map(self, image_id: Any) -> np.ndarray:
        """H x W int32 map of 459-class ids (0 where nothing is annotated), later annotations on top."""
        img = self.images[image_id]
        label = np.zeros((int(img["height"]), int(img["width"])), np.int32)
        for ann in self.by_image.get(image_id, []):
            try:
                region = decode_rle(ann["segmentation"])
            except (KeyError, TypeError, ValueError) as error:
                raise DatasetError(f"{self.path}: bad segmentation of {img['file_name']}: {error}") from error
            if region.shape != label.shape:
                raise DatasetError(f"{self.path}: a segmentation of {img['file_name']} has the wrong size")
            label[region] = int(ann["category_id"])
        return label
