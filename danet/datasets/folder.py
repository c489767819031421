"""Users' own data: `images/<split>/*` and `masks/<split>/*` paired by file stem, plus dataset.yaml.

my_data/
  dataset.yaml              names (required), palette, ignore_index, reduce_zero_label,
                            mask_suffix, base_size, crop_size (optional)
  images/train/0001.jpg     any of .jpg .jpeg .png .bmp .tif .tiff .webp
  masks/train/0001.png      class ids (gray or palette PNG); colour masks if a palette is given
  images/val/...  masks/val/...
  images/test/...           a split without masks/<split> is unlabelled (prediction only)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from danet.datasets._registry import IGNORE_INDEX, DatasetInfo, register_dataset
from danet.datasets.base import IMAGE_SUFFIXES, Item, SegmentationDataset
from danet.datasets.classes import voc_colormap
from danet.errors import DatasetError
from danet.fileio import read_yaml

CONFIG_NAME = "dataset.yaml"
_LAYOUT = "dataset.yaml, images/<split>/* and masks/<split>/* paired by file stem"
TEMPLATE = DatasetInfo(
    name="folder",
    title="Your own images and masks",
    class_names=(),
    palette=(),
    splits=("train", "val"),
    labelled_splits=("train", "val"),
    base_size=512,
    crop_size=(512, 512),
    layout=_LAYOUT,
    notes=("classes come from dataset.yaml",),
)


def _load_yaml(path: Path) -> dict[str, Any]:
    data = read_yaml(path, DatasetError)
    if not isinstance(data, dict) or "names" not in data:
        raise DatasetError(f"{path}: must be a mapping with `names:` (the class names in id order)")
    return data


def _names(value: Any, path: Path) -> tuple[str, ...]:
    if isinstance(value, dict):
        ids = sorted(value)
        if ids != list(range(len(ids))):
            raise DatasetError(f"{path}: `names` ids must be 0..{len(ids) - 1} without gaps")
        value = [value[i] for i in ids]
    if not isinstance(value, list) or not value or not all(isinstance(n, str) for n in value):
        raise DatasetError(f"{path}: `names` must be a non-empty list of class names")
    if len(value) > 255:
        raise DatasetError(f"{path}: at most 255 classes are supported (255 marks ignored pixels)")
    return tuple(value)


def _palette(value: Any, count: int, path: Path) -> tuple[tuple[int, int, int], ...]:
    if value is None:
        return voc_colormap(count)
    ok = isinstance(value, list) and len(value) == count
    ok = ok and all(isinstance(c, list | tuple) and len(c) == 3 for c in value)
    if not ok or not all(0 <= int(v) <= 255 for c in value for v in c):
        raise DatasetError(f"{path}: `palette` must list {count} [R, G, B] colours (0..255), one per class")
    return tuple((int(r), int(g), int(b)) for r, g, b in value)


def _size_pair(value: Any, default: tuple[int, int]) -> tuple[int, int]:
    if value is None:
        return default
    return (int(value), int(value)) if isinstance(value, int) else (int(value[0]), int(value[1]))


def read_folder_info(root: Path, name: str = "folder") -> tuple[DatasetInfo, dict[str, Any]]:
    """The DatasetInfo of a folder dataset (classes from dataset.yaml, splits from images/)."""
    path = root / CONFIG_NAME
    config = _load_yaml(path)
    names = _names(config["names"], path)
    splits = tuple(sorted(p.name for p in (root / "images").iterdir() if p.is_dir()))
    labelled = tuple(s for s in splits if (root / "masks" / s).is_dir())
    crop = _size_pair(config.get("crop_size"), TEMPLATE.crop_size)
    info = DatasetInfo(
        name=name,
        title=str(config.get("title", f"{name} dataset at {root}")),
        class_names=names,
        palette=_palette(config.get("palette"), len(names), path),
        splits=splits,
        labelled_splits=labelled,
        base_size=int(config.get("base_size", min(crop))),
        crop_size=crop,
        layout=_LAYOUT,
        eval_split="val" if "val" in splits else (labelled[-1] if labelled else "val"),
    )
    return info, config


def _index(folder: Path) -> dict[str, Path]:
    """stem -> file for the image-like files in `folder`; two files with one stem are an error."""
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
            if path.stem in found:
                raise DatasetError(f"{path} and {found[path.stem]} share a name; keep one of them")
            found[path.stem] = path
    return found


@register_dataset(TEMPLATE)
class FolderDataset(SegmentationDataset):
    """Adapter for the layout above; every image of a labelled split needs its mask."""

    @classmethod
    def describe(cls, root: Path | None) -> DatasetInfo:
        folder = root if root is not None else cls.info.default_root
        if cls.layout_root(folder) is None:
            return cls.info
        return read_folder_info(folder, cls.info.name)[0]

    @classmethod
    def layout_root(cls, root: Path) -> Path | None:
        ok = (root / CONFIG_NAME).is_file() and (root / "images").is_dir()
        return root if ok else None

    def find_items(self) -> list[Item]:
        self.config = read_folder_info(self.root, self.info.name)[1]
        self._lut = self._build_lut()
        images = _index(self.root / "images" / self.split)
        if not self.has_labels:
            return [Item(stem, path, None) for stem, path in images.items()]
        suffix = str(self.config.get("mask_suffix", ""))
        masks = _index(self.root / "masks" / self.split)
        items = []
        for stem, image in images.items():
            mask = masks.pop(stem + suffix, None)
            if mask is None:
                expected = self.root / "masks" / self.split / f"{stem}{suffix}.png"
                raise DatasetError(f"{image}: has no mask (expected {expected}); add it or remove the image")
            items.append(Item(stem, image, mask))
        if masks:
            extra = ", ".join(p.name for p in list(masks.values())[:5])
            raise DatasetError(
                f"{self.root / 'masks' / self.split}: masks without an image ({extra}); "
                "mask names must equal image names (plus `mask_suffix` from dataset.yaml)"
            )
        return items

    def label_lut(self, item: Item) -> np.ndarray:
        return self._lut

    def _build_lut(self) -> np.ndarray:
        count = self.info.num_classes
        lut = np.full(256, -1, np.int16)
        if self.config.get("reduce_zero_label", False):
            lut[0], lut[1 : count + 1] = IGNORE_INDEX, np.arange(count)
        else:
            lut[:count] = np.arange(count)
        lut[int(self.config.get("ignore_index", IGNORE_INDEX))] = IGNORE_INDEX
        return lut

    def mask_palette(self) -> tuple[tuple[int, int, int], ...] | None:
        return self.info.palette if "palette" in self.config else None
