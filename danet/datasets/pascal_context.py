"""PASCAL Context on VOC2010 images: 60 classes with background, or 59 with background ignored.

Masks are the 0..59 `SegmentationClassContext/<id>.png` files that `prepare.convert_pascal_context`
writes from the 459-class label maps (see that function for the source files it needs).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from danet.datasets._registry import DatasetInfo, register_dataset
from danet.datasets.ade20k import reduce_zero_lut
from danet.datasets.base import Item, SegmentationDataset, first_existing, items_from_ids, read_id_list
from danet.datasets.classes import PASCAL_CONTEXT, PASCAL_CONTEXT59, ClassTable
from danet.errors import DatasetError

CONTEXT_DIRS = ("", "VOCdevkit/VOC2010", "VOC2010")
CONTEXT_LISTS = "ImageSets/SegmentationContext"
CONTEXT_MASKS = "SegmentationClassContext"
_LAYOUT = (
    "VOCdevkit/VOC2010/{JPEGImages/<id>.jpg, SegmentationClassContext/<id>.png, "
    "ImageSets/SegmentationContext/{train,val}.txt} (written by danet's preparation)"
)


def context_root(root: Path) -> Path | None:
    return first_existing(root, CONTEXT_DIRS, CONTEXT_LISTS)


def _info(name: str, title: str, table: ClassTable) -> DatasetInfo:
    return DatasetInfo(
        name=name,
        title=title,
        class_names=table.names,
        palette=table.palette,
        splits=("train", "val"),
        labelled_splits=("train", "val"),
        base_size=520,
        crop_size=(480, 480),
        layout=_LAYOUT,
        root_name="pascal_context",
        download="pascal_context",
    )


@register_dataset(_info("pascal_context", "PASCAL Context (60 incl. background)", PASCAL_CONTEXT))
class PascalContext(SegmentationDataset):
    """Background (0) is a real class here."""

    @classmethod
    def layout_root(cls, root: Path) -> Path | None:
        return context_root(root)

    def find_items(self) -> list[Item]:
        listing = self.root / CONTEXT_LISTS / f"{self.split}.txt"
        if not listing.is_file():
            raise DatasetError(
                f"{listing}: split list missing; run `python -m danet.datasets.prepare "
                f"pascal_context <root>` (or `danet download pascal_context`)"
            )
        return items_from_ids(
            read_id_list(listing),
            lambda i: self.root / "JPEGImages" / f"{i}.jpg",
            lambda i: self.root / CONTEXT_MASKS / f"{i}.png",
        )


_LUT59 = reduce_zero_lut(59)


@register_dataset(_info("pascal_context59", "PASCAL Context (59, background ignored)", PASCAL_CONTEXT59))
class PascalContext59(PascalContext):
    """Background -> ignore, class v -> v - 1: how the official code (NUM_CLASS = 59) trains Context.

    The paper's 52.6 mIoU is, per its first author, measured on 60 classes with background, so it
    is not directly comparable with this variant's 59-class mIoU.
    """

    def label_lut(self, item: Item) -> np.ndarray:
        return _LUT59
