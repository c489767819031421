"""Datasets by name: `get_dataset("cityscapes", split="val")`, `list_datasets()`, `dataset_info(name)`.

Adapters read the real layouts of Cityscapes, ADE20K, PASCAL VOC (+SBD), PASCAL Context,
COCO-Stuff 164k and 10k, users' own `folder` datasets and the built-in offline `synthetic` scenes.
Samples are dicts (see `danet.datasets.base`); transforms live in `danet.datasets.transforms`, conversions
of downloaded archives in `danet.datasets.prepare`. Importing this package does not import torch,
and datasets never import models.
"""

from danet.datasets import ade20k, cityscapes, coco_stuff, folder, pascal_context, synthetic, voc
from danet.datasets._registry import (
    IGNORE_INDEX,
    DatasetInfo,
    dataset_class,
    dataset_info,
    get_dataset,
    list_datasets,
    register_dataset,
)
from danet.datasets.base import Item, SegmentationDataset
from danet.datasets.synthetic import SyntheticSpec, ensure_synthetic, synthetic_root

register = register_dataset
_ADAPTER_MODULES = (cityscapes, ade20k, voc, pascal_context, coco_stuff, folder, synthetic)

__all__ = [
    "IGNORE_INDEX",
    "DatasetInfo",
    "Item",
    "SegmentationDataset",
    "SyntheticSpec",
    "dataset_class",
    "dataset_info",
    "ensure_synthetic",
    "get_dataset",
    "list_datasets",
    "register",
    "register_dataset",
    "synthetic_root",
]
