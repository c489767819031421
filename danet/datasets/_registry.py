"""The dataset registry: names -> adapter classes with their metadata. No torch here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from danet.errors import UnknownNameError
from danet.paths import default_dataset_root

if TYPE_CHECKING:
    from danet.datasets.base import SegmentationDataset

IGNORE_INDEX = 255


@dataclass(frozen=True)
class DatasetInfo:
    """What a dataset is: classes, colours, splits, where it lives and its default recipe sizes.

    `base_size` is the short side the training rescale is relative to (the official recipe draws the
    short side from [0.75, 2.0] x base_size); `crop_size` is (height, width) of training crops.
    `root_name` is the folder under `danet.paths.data_root()`; datasets that share files share it
    (voc and voc_aug, pascal_context and pascal_context59). Masks always use `ignore_index` 255.
    """

    name: str
    title: str
    class_names: tuple[str, ...]
    palette: tuple[tuple[int, int, int], ...]
    splits: tuple[str, ...]
    labelled_splits: tuple[str, ...]
    base_size: int
    crop_size: tuple[int, int]
    layout: str
    root_name: str = ""
    download: str | None = None
    eval_split: str = "val"
    ignore_index: int = IGNORE_INDEX
    notes: tuple[str, ...] = field(default=())

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def default_root(self) -> Path:
        """`default_dataset_root(root_name)`: where the dataset is looked for without a root."""
        return default_dataset_root(self.root_name or self.name)


_T = TypeVar("_T", bound="type[SegmentationDataset]")
_REGISTRY: dict[str, type[SegmentationDataset]] = {}
_DISPLAY_ORDER = (
    "cityscapes",
    "ade20k",
    "voc",
    "voc_aug",
    "pascal_context",
    "pascal_context59",
    "coco_stuff164k",
    "coco_stuff10k",
    "folder",
    "synthetic",
)


def register_dataset(info: DatasetInfo) -> Callable[[_T], _T]:
    """Class decorator: register an adapter under `info.name` and attach `info` to it."""

    def wrap(cls: _T) -> _T:
        if info.name in _REGISTRY:
            raise ValueError(f"dataset {info.name!r} is already registered")
        cls.info = info
        _REGISTRY[info.name] = cls
        return cls

    return wrap


def dataset_class(name: str) -> type[SegmentationDataset]:
    """The adapter class registered as `name`; unknown names list the valid ones."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownNameError("dataset", name, list_datasets()) from None


def list_datasets() -> list[str]:
    """Registered dataset names: the built-in ones in a fixed order, then any added later."""
    known = [name for name in _DISPLAY_ORDER if name in _REGISTRY]
    return known + [name for name in _REGISTRY if name not in _DISPLAY_ORDER]


def dataset_info(name: str, root: str | Path | None = None) -> DatasetInfo:
    """The metadata of `name`; the `folder` dataset needs its `root` to know its classes."""
    return dataset_class(name).describe(None if root is None else Path(root))


def get_dataset(
    name: str,
    *,
    root: str | Path | None = None,
    split: str,
    transform: Callable[..., Any] | None = None,
    **options: Any,
) -> SegmentationDataset:
    """An indexable dataset of `split`; `root` defaults to `dataset_info(name).default_root`.

    `options` go to the adapter (for example `size`, `train_count`, `seed` of `synthetic`, or
    `seed` of the augmentation stream). See `SegmentationDataset` for the sample format.
    """
    return dataset_class(name)(root=root, split=split, transform=transform, **options)
