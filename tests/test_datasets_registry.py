"""Registry, metadata, class tables and the seeding contract of every dataset."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import danet.datasets._registry as registry
from danet.datasets import (
    DatasetInfo,
    SegmentationDataset,
    dataset_info,
    get_dataset,
    list_datasets,
    register,
)
from danet.datasets.base import Item
from danet.datasets.classes import check_tables
from danet.datasets.transforms import train_transform
from danet.errors import ConfigError, UnknownNameError
from tests._data_helpers import make_folder_dataset

EXPECTED = {
    "cityscapes": 19,
    "ade20k": 150,
    "voc": 21,
    "voc_aug": 21,
    "pascal_context": 60,
    "pascal_context59": 59,
    "coco_stuff164k": 171,
    "coco_stuff10k": 171,
    "synthetic": 7,
}


def test_list_and_class_counts():
    assert list_datasets() == [*list(EXPECTED)[:8], "folder", "synthetic"]
    for name, count in EXPECTED.items():
        info = dataset_info(name)
        assert info.num_classes == count == len(info.palette)
        assert info.ignore_index == 255 and info.eval_split in info.splits
        assert set(info.labelled_splits) <= set(info.splits)


def test_class_tables_match_the_reference():
    check_tables()
    assert dataset_info("cityscapes").class_names[18] == "bicycle"
    assert dataset_info("ade20k").class_names[:3] == ("wall", "building", "sky")
    assert dataset_info("pascal_context59").class_names[0] == "aeroplane"
    assert dataset_info("coco_stuff164k").class_names[-1] == "wood"
    assert dataset_info("voc").palette[15] == (192, 128, 128)


def test_shared_roots(monkeypatch, tmp_path):
    monkeypatch.setenv("DANET_DATA", str(tmp_path))
    assert dataset_info("voc_aug").default_root == tmp_path / "voc"
    assert dataset_info("pascal_context59").default_root == tmp_path / "pascal_context"
    assert dataset_info("ade20k").default_root == tmp_path / "ade20k"


def test_unknown_name_lists_valid_names():
    with pytest.raises(UnknownNameError, match="valid names: cityscapes, ade20k"):
        get_dataset("citiscapes", split="train")


def test_register_a_custom_dataset(monkeypatch, tmp_path):
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    info = DatasetInfo(
        name="tiny",
        title="tiny",
        class_names=("a", "b"),
        palette=((0, 0, 0), (255, 255, 255)),
        splits=("train",),
        labelled_splits=(),
        base_size=8,
        crop_size=(8, 8),
        layout="one image",
    )

    @register(info)
    class Tiny(SegmentationDataset):
        @classmethod
        def layout_root(cls, root: Path) -> Path | None:
            return root

        def find_items(self) -> list[Item]:
            return [Item("x", self.root / "images" / "train" / "img_0.jpg", None)]

    make_folder_dataset(tmp_path, splits={"train": 1})
    assert "tiny" in list_datasets() and len(get_dataset("tiny", root=tmp_path, split="train")) == 1
    with pytest.raises(ConfigError, match="already registered"):
        register(info)(Tiny)


def test_importing_datasets_loads_neither_torch_nor_models():
    code = "import sys, danet.datasets; print('torch' in sys.modules, 'danet.models' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]


def test_augmentation_is_a_function_of_the_key(tmp_path):
    make_folder_dataset(tmp_path, splits={"train": 2}, size=(24, 32))
    dataset = get_dataset("folder", root=tmp_path, split="train", transform=train_transform(16), seed=3)
    a, b = dataset[(1, 1234)], dataset[(1, 1234)]
    assert torch.equal(a["image"], b["image"]) and torch.equal(a["mask"], b["mask"])
    first = dataset[1]
    assert torch.equal(first["image"], dataset[1]["image"])
    seen = {dataset[1]["image"].sum().item()}
    for epoch in range(1, 6):
        dataset.set_epoch(epoch)
        seen.add(dataset[1]["image"].sum().item())
    assert len(seen) > 1
    dataset.set_epoch(0)
    assert torch.equal(first["image"], dataset[1]["image"])
    rng = dataset.sample_rng(1)
    assert isinstance(rng, np.random.Generator)


def test_indexing_bounds(tmp_path):
    make_folder_dataset(tmp_path, splits={"train": 2})
    dataset = get_dataset("folder", root=tmp_path, split="train")
    assert dataset[-1]["name"] == "img_1"
    with pytest.raises(IndexError):
        dataset[2]
    assert [s["name"] for s in dataset] == ["img_0", "img_1"]  # iteration stops at IndexError


def test_is_present_is_a_cheap_layout_check(tmp_path):
    from danet.datasets import dataset_class

    assert not dataset_class("cityscapes").is_present(tmp_path)
    (tmp_path / "leftImg8bit").mkdir()
    assert dataset_class("cityscapes").is_present(tmp_path)
