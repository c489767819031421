"""COCO-Stuff 164k: raw PNG values 0..181 mapped to 171 contiguous classes, 255 kept as ignore."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from danet.datasets._registry import IGNORE_INDEX, DatasetInfo, register_dataset
from danet.datasets.base import Item, SegmentationDataset, identity_lut
from danet.datasets.classes import COCO_STUFF, COCO_STUFF_DROPPED
from danet.errors import DatasetError

_SPLIT_DIRS = {"train": "train2017", "val": "val2017"}
TRAIN_IDS_SUFFIX = "_labelTrainIds.png"


def raw_to_train_lut() -> np.ndarray:
    """Raw value v (labels.txt id - 1) -> rank among the 171 present values; dropped ids and 255
    -> ignore; values 182..254 are invalid."""
    lut = np.full(256, -1, np.int16)
    lut[list(COCO_STUFF.source_ids)] = np.arange(len(COCO_STUFF.source_ids))
    lut[list(COCO_STUFF_DROPPED)] = IGNORE_INDEX
    lut[IGNORE_INDEX] = IGNORE_INDEX
    return lut


_RAW = raw_to_train_lut()
_TRAIN_IDS = identity_lut(171)


@register_dataset(
    DatasetInfo(
        name="coco_stuff164k",
        title="COCO-Stuff 164k",
        class_names=COCO_STUFF.names,
        palette=COCO_STUFF.palette,
        splits=("train", "val"),
        labelled_splits=("train", "val"),
        base_size=512,
        crop_size=(512, 512),
        layout="images/{train2017,val2017}/*.jpg and annotations/{train2017,val2017}/*.png",
        download="coco_stuff164k",
        notes=("the palette repeats colours, so it is for display only",),
    )
)
class CocoStuff164k(SegmentationDataset):
    """Raw stuffthingmaps PNGs are mapped on the fly; `<name>_labelTrainIds.png` wins if present."""

    @classmethod
    def layout_root(cls, root: Path) -> Path | None:
        for folder in (root, root / "coco_stuff164k"):
            if (folder / "images").is_dir() and (folder / "annotations").is_dir():
                return folder
        return None

    def find_items(self) -> list[Item]:
        folder = _SPLIT_DIRS[self.split]
        items = []
        for image in sorted((self.root / "images" / folder).glob("*.jpg")):
            masks = self.root / "annotations" / folder
            for mask in (masks / f"{image.stem}{TRAIN_IDS_SUFFIX}", masks / f"{image.stem}.png"):
                if mask.is_file():
                    items.append(Item(image.stem, image, mask))
                    break
            else:
                raise DatasetError(
                    f"{image}: has no mask (expected {masks / (image.stem + '.png')}); "
                    "extract stuffthingmaps_trainval2017.zip into annotations/"
                )
        return items

    def label_lut(self, item: Item) -> np.ndarray:
        is_train_ids = item.mask is not None and item.mask.name.endswith(TRAIN_IDS_SUFFIX)
        return _TRAIN_IDS if is_train_ids else _RAW
