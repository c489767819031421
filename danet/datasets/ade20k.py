"""ADE20K SceneParsing (ADEChallengeData2016), 150 classes; raw 0 ("other") is ignored."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from danet.datasets._registry import IGNORE_INDEX, DatasetInfo, register_dataset
from danet.datasets.base import Item, SegmentationDataset
from danet.datasets.classes import ADE20K as ADE20K_CLASSES
from danet.errors import DatasetError

_SPLIT_DIRS = {"train": "training", "val": "validation"}


def reduce_zero_lut(num_classes: int) -> np.ndarray:
    """Raw 0 -> ignore, raw k -> k - 1 for k in 1..K; larger values are invalid."""
    lut = np.full(256, -1, np.int16)
    lut[0] = IGNORE_INDEX
    lut[1 : num_classes + 1] = np.arange(num_classes)
    return lut


_LUT = reduce_zero_lut(150)


@register_dataset(
    DatasetInfo(
        name="ade20k",
        title="ADE20K SceneParsing",
        class_names=ADE20K_CLASSES.names,
        palette=ADE20K_CLASSES.palette,
        splits=("train", "val"),
        labelled_splits=("train", "val"),
        base_size=512,
        crop_size=(512, 512),
        layout=(
            "ADEChallengeData2016/images/{training,validation}/*.jpg and "
            "ADEChallengeData2016/annotations/{training,validation}/*.png"
        ),
        download="ade20k",
    )
)
class ADE20K(SegmentationDataset):
    """The root may be the folder holding ADEChallengeData2016 or that folder itself."""

    @classmethod
    def layout_root(cls, root: Path) -> Path | None:
        for folder in (root / "ADEChallengeData2016", root):
            if (folder / "images").is_dir() and (folder / "annotations").is_dir():
                return folder
        return None

    def find_items(self) -> list[Item]:
        folder = _SPLIT_DIRS[self.split]
        images = sorted((self.root / "images" / folder).glob("*.jpg"))
        items = []
        for image in images:
            mask = self.root / "annotations" / folder / f"{image.stem}.png"
            if not mask.is_file():
                raise DatasetError(f"{image}: has no mask (expected {mask}); re-extract the archive")
            items.append(Item(image.stem, image, mask))
        return items

    def label_lut(self, item: Item) -> np.ndarray:
        return _LUT
