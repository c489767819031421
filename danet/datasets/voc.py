"""PASCAL VOC 2012 (21 classes, 255 border) and VOC 2012 + SBD "trainaug" (10,582 training images)."""

from __future__ import annotations

from pathlib import Path

from danet.datasets._registry import DatasetInfo, register_dataset
from danet.datasets.base import Item, SegmentationDataset, first_existing, items_from_ids, read_id_list
from danet.datasets.classes import VOC
from danet.errors import DatasetError

VOC_DIRS = ("", "VOCdevkit/VOC2012", "VOC2012")
SPLIT_LISTS = "ImageSets/Segmentation"
AUG_MASKS = "SegmentationClassAug"


def voc_root(root: Path) -> Path | None:
    """The VOC2012 folder inside `root` (root itself, root/VOCdevkit/VOC2012 or root/VOC2012)."""
    return first_existing(root, VOC_DIRS, SPLIT_LISTS)


def _info(name: str, title: str, splits: tuple[str, ...], layout: str) -> DatasetInfo:
    return DatasetInfo(
        name=name,
        title=title,
        class_names=VOC.names,
        palette=VOC.palette,
        splits=splits,
        labelled_splits=splits,
        base_size=512,
        crop_size=(512, 512),
        layout=layout,
        root_name="voc",
        download=name,
    )


_VOC_LAYOUT = (
    "VOCdevkit/VOC2012/{JPEGImages/<id>.jpg, SegmentationClass/<id>.png, ImageSets/Segmentation/<split>.txt}"
)


@register_dataset(_info("voc", "PASCAL VOC 2012", ("train", "val", "trainval"), _VOC_LAYOUT))
class VOC2012(SegmentationDataset):
    """Palette PNG masks hold class ids 0..20 and 255 on object borders (ignored)."""

    @classmethod
    def layout_root(cls, root: Path) -> Path | None:
        return voc_root(root)

    def find_items(self) -> list[Item]:
        ids = read_id_list(self._list(self.split))
        return items_from_ids(ids, self._image, lambda i: self.root / "SegmentationClass" / f"{i}.png")

    def _list(self, split: str) -> Path:
        path = self.root / SPLIT_LISTS / f"{split}.txt"
        if not path.is_file():
            raise DatasetError(f"{path}: split list missing; {self._list_hint()}")
        return path

    def _list_hint(self) -> str:
        return "re-extract VOCtrainval_11-May-2012.tar"

    def _image(self, name: str) -> Path:
        return self.root / "JPEGImages" / f"{name}.jpg"


_AUG_LAYOUT = _VOC_LAYOUT + (
    " plus SegmentationClassAug/<id>.png and ImageSets/Segmentation/trainaug.txt "
    "(made from SBD benchmark_RELEASE by danet's preparation)"
)


@register_dataset(_info("voc_aug", "PASCAL VOC 2012 + SBD (trainaug)", ("train", "val"), _AUG_LAYOUT))
class VOCAug(VOC2012):
    """train = trainaug: VOC train ids use SegmentationClass, the SBD additions SegmentationClassAug;
    val = VOC 2012 val (1,449 images), as in mmsegmentation."""

    def find_items(self) -> list[Item]:
        if self.split == "val":
            return super().find_items()
        voc_train = set(read_id_list(self._list("train")))
        ids = read_id_list(self._list("trainaug"))

        def mask_for(name: str) -> Path:
            folder = "SegmentationClass" if name in voc_train else AUG_MASKS
            return self.root / folder / f"{name}.png"

        return items_from_ids(ids, self._image, mask_for)

    def _list_hint(self) -> str:
        return (
            "run `danet download voc_aug`, or `python -m danet.datasets.prepare voc_aug <root>` "
            "once SBD's benchmark_RELEASE is extracted beside VOCdevkit"
        )
