"""Cityscapes, fine annotations, 19 train classes (labelIds mapped on the fly)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from danet.datasets._registry import DatasetInfo, register_dataset
from danet.datasets.base import Item, SegmentationDataset, identity_lut
from danet.datasets.classes import CITYSCAPES, CITYSCAPES_LABEL_TO_TRAIN
from danet.errors import DatasetError

IMAGE_SUFFIX = "_leftImg8bit.png"
LABEL_IDS_SUFFIX = "_gtFine_labelIds.png"
TRAIN_IDS_SUFFIX = "_gtFine_labelTrainIds.png"


def label_id_lut() -> np.ndarray:
    """Cityscapes labelId (0..33) -> trainId; other values are invalid (-1)."""
    lut = np.full(256, -1, np.int16)
    lut[: len(CITYSCAPES_LABEL_TO_TRAIN)] = CITYSCAPES_LABEL_TO_TRAIN
    return lut


_LABEL_IDS = label_id_lut()
_TRAIN_IDS = identity_lut(19)


@register_dataset(
    DatasetInfo(
        name="cityscapes",
        title="Cityscapes (fine)",
        class_names=CITYSCAPES.names,
        palette=CITYSCAPES.palette,
        splits=("train", "val", "test"),
        labelled_splits=("train", "val"),
        base_size=1024,
        crop_size=(768, 768),
        layout=(
            "leftImg8bit/<split>/<city>/*_leftImg8bit.png and "
            "gtFine/<split>/<city>/*_gtFine_labelIds.png (or *_gtFine_labelTrainIds.png)"
        ),
        download="cityscapes",
        notes=("test has no public labels (placeholder masks are not read)",),
    )
)
class Cityscapes(SegmentationDataset):
    """`*_gtFine_labelTrainIds.png` is used when present, else `*_gtFine_labelIds.png` is mapped."""

    @classmethod
    def layout_root(cls, root: Path) -> Path | None:
        return root if (root / "leftImg8bit").is_dir() else None

    def find_items(self) -> list[Item]:
        images = sorted((self.root / "leftImg8bit" / self.split).glob(f"*/*{IMAGE_SUFFIX}"))
        return [self._item(path) for path in images]

    def _item(self, image: Path) -> Item:
        name = image.name[: -len(IMAGE_SUFFIX)]
        if not self.has_labels:
            return Item(name, image, None)
        folder = self.root / "gtFine" / self.split / image.parent.name
        for suffix in (TRAIN_IDS_SUFFIX, LABEL_IDS_SUFFIX):
            if (folder / f"{name}{suffix}").is_file():
                return Item(name, image, folder / f"{name}{suffix}")
        raise DatasetError(
            f"{image}: has no mask (expected {folder / (name + LABEL_IDS_SUFFIX)}); "
            "extract gtFine_trainvaltest.zip into the same root"
        )

    def label_lut(self, item: Item) -> np.ndarray:
        is_train_ids = item.mask is not None and item.mask.name.endswith(TRAIN_IDS_SUFFIX)
        return _TRAIN_IDS if is_train_ids else _LABEL_IDS
