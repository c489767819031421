"""The shared adapter: find (image, mask) pairs, read them, map raw labels to train ids, validate.

A sample without a transform is a dict:
    image       H x W x 3 uint8 RGB numpy array
    mask        H x W uint8 numpy array of train ids, 255 = ignore (absent on unlabelled splits)
    name        the file stem (Cityscapes: `<city>_<seq>_<frame>`), used to name predictions
    image_path  str; mask_path str (labelled splits only)

With a transform, `transform(sample, rng)` receives that dict and a `numpy.random.Generator`. The
generator comes from `numpy.random.default_rng([seed, epoch, index])` (`seed` is an adapter option,
`epoch` is set with `set_epoch`), or from `dataset[(index, sample_seed)]`, which uses
`default_rng(sample_seed)`: the same key always gives the same augmented sample, in any worker.
No torch here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from danet.datasets.info import IGNORE_INDEX, DatasetInfo
from danet.errors import DatasetError
from danet.image_io import read_image, read_mask

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
Transform = Callable[[dict[str, Any], np.random.Generator], dict[str, Any]]


@dataclass(frozen=True)
class Item:
    """One sample on disk: its name, image file and mask file (None on unlabelled splits)."""

    name: str
    image: Path
    mask: Path | None


class SegmentationDataset(ABC):
    """Base of every adapter; subclasses define where files are and how raw labels map."""

    info: ClassVar[DatasetInfo]

    def __init__(
        self,
        root: str | Path | None = None,
        split: str = "train",
        transform: Transform | None = None,
        *,
        seed: int = 0,
    ) -> None:
        given = None if root is None else Path(root).expanduser()
        self.info = self.describe(given)
        if split not in self.info.splits:
            raise DatasetError(
                f"{self.info.name} has no split {split!r}; splits: {', '.join(self.info.splits)}"
            )
        self.split = split
        self.root = self.resolve_root(given or self.info.default_root)
        self.transform = transform
        self.seed, self.epoch = int(seed), 0
        self.items = self.find_items()
        if not self.items:
            raise DatasetError(
                f"{self.info.name}: split {split!r} under {self.root} is empty; expected {self.info.layout}"
            )

    # ---- what subclasses provide -------------------------------------------------------------
    @classmethod
    def describe(cls, root: Path | None) -> DatasetInfo:
        """The metadata; adapters whose classes live on disk (folder) read them from `root`."""
        return cls.info

    @classmethod
    @abstractmethod
    def layout_root(cls, root: Path) -> Path | None:
        """The folder where the expected layout starts inside `root`, or None if it is not there."""

    @abstractmethod
    def find_items(self) -> list[Item]:
        """Every image of the split, paired with its mask when the split is labelled."""

    def label_lut(self, item: Item) -> np.ndarray:
        """Raw mask value -> train id (255 ignore, -1 invalid), indexed by the raw value."""
        return identity_lut(self.info.num_classes)

    # ---- shared behaviour --------------------------------------------------------------------
    @classmethod
    def is_present(cls, root: str | Path | None = None) -> bool:
        """Whether the expected layout is found (a cheap check of a few folders, no scan)."""
        folder = Path(root).expanduser() if root is not None else cls.describe(None).default_root
        return folder.is_dir() and cls.layout_root(folder) is not None

    def resolve_root(self, root: Path) -> Path:
        found = self.layout_root(root) if root.is_dir() else None
        if found is None:
            raise missing_root_error(self.info, root)
        return found

    @property
    def has_labels(self) -> bool:
        return self.split in self.info.labelled_splits

    def __len__(self) -> int:
        return len(self.items)

    def set_epoch(self, epoch: int) -> None:
        """Select the augmentation stream of `epoch` (call before creating the epoch's iterator)."""
        self.epoch = int(epoch)

    def sample_rng(self, index: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.epoch, index])

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, Any]:
        index, sample_seed = key if isinstance(key, tuple) else (key, None)
        sample = self.load(index)
        if self.transform is None:
            return sample
        if sample_seed is None:
            rng = self.sample_rng(index % len(self))
        else:
            rng = np.random.default_rng(sample_seed)
        return self.transform(sample, rng)

    def load(self, index: int) -> dict[str, Any]:
        """The untransformed sample `index` (see the module docstring)."""
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} samples")
        item = self.items[index]
        image = read_image(item.image)
        sample: dict[str, Any] = {"image": image, "name": item.name, "image_path": str(item.image)}
        if item.mask is not None:
            sample["mask"] = self.read_label(item, image.shape[:2])
            sample["mask_path"] = str(item.mask)
        return sample

    def read_label(self, item: Item, image_shape: tuple[int, ...]) -> np.ndarray:
        """The train-id mask of `item`, checked against its image size and the class list."""
        path = Path(item.mask or "")
        raw = read_mask(path, palette=self.mask_palette())
        if raw.shape != image_shape:
            raise DatasetError(
                f"{path}: mask is {raw.shape[1]}x{raw.shape[0]} (WxH) but its image {item.image} "
                f"is {image_shape[1]}x{image_shape[0]}; masks must match their image pixel for pixel"
            )
        return apply_lut(raw, self.label_lut(item), path, self.info)

    def mask_palette(self) -> tuple[tuple[int, int, int], ...] | None:
        """Colours that colour-coded masks may use (only the folder adapter accepts them)."""
        return None


def missing_root_error(info: DatasetInfo, root: Path) -> DatasetError:
    if info.download:
        fix = f"run `danet download {info.download}` or point the dataset root at the folder"
    else:
        fix = "create it as described in docs/datasets.md ('Your own data') or pass its folder as the root"
    return DatasetError(f"{info.name} not found at {root}: expected {info.layout}; {fix}")


def identity_lut(num_classes: int, ignore_values: Iterable[int] = (IGNORE_INDEX,)) -> np.ndarray:
    """Raw value v -> v for classes 0..K-1; `ignore_values` -> 255; everything else invalid (-1)."""
    lut = np.full(256, -1, np.int16)
    lut[:num_classes] = np.arange(num_classes)
    for value in ignore_values:
        lut[value] = IGNORE_INDEX
    return lut


def apply_lut(raw: np.ndarray, lut: np.ndarray, path: Path, info: DatasetInfo) -> np.ndarray:
    """Map raw values through `lut` to a uint8 train-id mask; unknown values name the file."""
    if raw.dtype != np.uint8 and raw.size and int(raw.max()) >= len(lut):
        bad = np.unique(raw[raw >= len(lut)])
        _raise_bad_values(bad, path, info)
    mapped = lut[raw]
    if mapped.min(initial=0) < 0:
        _raise_bad_values(np.unique(raw[mapped < 0]), path, info)
    return mapped.astype(np.uint8)


def _raise_bad_values(values: np.ndarray, path: Path, info: DatasetInfo) -> None:
    listed = ", ".join(str(v) for v in values[:12].tolist()) + (" ..." if len(values) > 12 else "")
    raise DatasetError(
        f"{path}: label values {listed} are not classes of {info.name} "
        f"(expected raw values that map to 0..{info.num_classes - 1} or ignore); "
        "check that the mask holds class ids, not colours, and that every class is listed"
    )


def read_id_list(path: Path) -> list[str]:
    """Ids from a split list file (one per line, first column, blank lines skipped)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise DatasetError(f"{path}: cannot read the split list ({error.strerror or error})") from error
    return [line.split()[0] for line in lines if line.strip()]


def items_from_ids(
    ids: Iterable[str], image_for: Callable[[str], Path], mask_for: Callable[[str], Path] | None
) -> list[Item]:
    """Items for listed ids; a listed image or mask that does not exist is an error naming it."""
    items = []
    for name in ids:
        image, mask = image_for(name), mask_for(name) if mask_for else None
        if not image.is_file():
            raise DatasetError(f"{image}: listed in the split but missing; re-extract the dataset")
        if mask is not None and not mask.is_file():
            raise DatasetError(
                f"{image}: has no mask (expected {mask}); add the mask or re-run the preparation"
            )
        items.append(Item(name, image, mask))
    return items


def first_existing(root: Path, candidates: Iterable[str], marker: str) -> Path | None:
    """The first `root/candidate` that contains `marker` (a relative path), or None."""
    for candidate in candidates:
        folder = root / candidate if candidate else root
        if (folder / marker).exists():
            return folder
    return None
