"""COCO-Stuff, 171 classes: 164k (raw PNG values 0..181 mapped on the fly, 255 ignored) and 10k v1.1
(the DANet paper's setting: `.mat` label maps converted once to PNGs, read with reduce-zero-label)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from danet.datasets._registry import IGNORE_INDEX, DatasetInfo, register_dataset
from danet.datasets.ade20k import reduce_zero_lut
from danet.datasets.base import Item, SegmentationDataset, identity_lut, read_id_list
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


# ---- COCO-Stuff 10k (v1.1) ---------------------------------------------------------------------------
MAT_KEY = "S"  # the H x W uint8 label map inside annotations/<name>.mat
_10K_LISTS = "imageLists"
_10K_MMSEG_DIRS = {"train": "train2014", "test": "test2014"}  # mmseg's converter copies files here
_REDUCE_ZERO = reduce_zero_lut(171)


def mat_to_png_lut() -> np.ndarray:
    """`.mat` value (labels.txt id, 0 = unlabelled) -> the value danet (and mmseg's converter) writes
    to the PNG: 0 stays 0, each of the 171 present ids becomes its rank + 1 (1..171, so 182 -> 171),
    the 11 ids that have no pixels become 0; values above 182 are invalid (-1)."""
    lut = np.full(256, -1, np.int16)
    lut[:183] = 0
    lut[[v + 1 for v in COCO_STUFF.source_ids]] = np.arange(1, len(COCO_STUFF.source_ids) + 1)
    return lut


@register_dataset(
    DatasetInfo(
        name="coco_stuff10k",
        title="COCO-Stuff 10k (v1.1)",
        class_names=COCO_STUFF.names,
        palette=COCO_STUFF.palette,
        splits=("train", "test"),
        labelled_splits=("train", "test"),
        base_size=512,
        crop_size=(512, 512),
        layout=(
            "images/<name>.jpg, annotations/<name>_labelTrainIds.png (written from annotations/<name>.mat "
            "by danet's preparation) and imageLists/{train,test}.txt"
        ),
        download="coco_stuff10k",
        eval_split="test",
        notes=(
            "the paper's COCO-Stuff setting (DANet-101: 39.7 mIoU on the test list)",
            "the palette repeats colours, so it is for display only",
        ),
    )
)
class CocoStuff10k(SegmentationDataset):
    """PNG values 1..171 are the classes + 1 and 0 is unlabelled (read with reduce-zero-label: 0 -> 255,
    k -> k - 1). Also reads mmseg's converted layout (`images/{train2014,test2014}/`,
    `annotations/{train2014,test2014}/<name>_labelTrainIds.png`), which holds the same values."""

    @classmethod
    def layout_root(cls, root: Path) -> Path | None:
        for folder in (root, root / "coco_stuff10k", root / "cocostuff-10k-v1.1"):
            if (folder / _10K_LISTS).is_dir() and (folder / "images").is_dir():
                return folder
        return None

    def find_items(self) -> list[Item]:
        listing = self.root / _10K_LISTS / f"{self.split}.txt"
        if not listing.is_file():
            raise DatasetError(f"{listing}: split list missing; re-extract cocostuff-10k-v1.1.zip")
        return [self._item(name) for name in read_id_list(listing)]

    def _item(self, name: str) -> Item:
        sub = _10K_MMSEG_DIRS[self.split]
        image = _first_file(self.root / "images", (f"{name}.jpg", f"{sub}/{name}.jpg"))
        if image is None:
            raise DatasetError(
                f"{self.root / 'images' / name}.jpg: listed in {self.split}.txt but missing; "
                "re-extract cocostuff-10k-v1.1.zip"
            )
        mask_name = f"{name}{TRAIN_IDS_SUFFIX}"
        mask = _first_file(self.root / "annotations", (mask_name, f"{sub}/{mask_name}"))
        if mask is None:
            raise DatasetError(
                f"{self.root / 'annotations' / mask_name}: missing; run `danet download coco_stuff10k` "
                f"or `python -m danet.datasets.prepare coco_stuff10k {self.root}` to convert the .mat labels"
            )
        return Item(name, image, mask)

    def label_lut(self, item: Item) -> np.ndarray:
        return _REDUCE_ZERO


def _first_file(folder: Path, names: tuple[str, ...]) -> Path | None:
    return next((folder / n for n in names if (folder / n).is_file()), None)
