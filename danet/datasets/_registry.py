"""The dataset registry: names -> adapter classes with their metadata. No torch here."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from danet.datasets.info import IGNORE_INDEX, DatasetInfo
from danet.errors import ConfigError, UnknownNameError

if TYPE_CHECKING:
    from danet.datasets.base import SegmentationDataset

__all__ = [
    "IGNORE_INDEX",
    "DatasetInfo",
    "dataset_class",
    "dataset_info",
    "get_dataset",
    "list_datasets",
    "register_dataset",
]

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
            raise ConfigError(f"dataset {info.name!r} is already registered")
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
