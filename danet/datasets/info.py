"""What a dataset is (`DatasetInfo`): the metadata every adapter carries. No torch here."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from danet.paths import default_dataset_root

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
