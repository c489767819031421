"""The contract every registered dataset keeps, checked on a tiny tree in its real layout.

A new adapter adds one `Case` below (how to write its tree, which split is labelled, which is not);
the parametrized tests then check that its layout is found, images and masks pair up, labels are
class ids or 255, a missing root is named with the expected layout, and unlabelled splits say so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _data_helpers import (
    make_ade20k,
    make_cityscapes,
    make_coco_stuff10k,
    make_coco_stuff164k,
    make_folder_dataset,
    make_pascal_context_sources,
    make_sbd,
    make_voc,
)

from danet.datasets import dataset_class, get_dataset, list_datasets
from danet.datasets.prepare import prepare
from danet.errors import DatasetError


@dataclass(frozen=True)
class Case:
    """How to write a tiny tree of a dataset under a root, and what to expect of it."""

    make: Callable[[Path], Any]
    labelled: str = "val"
    unlabelled: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    generated: bool = False  # made on demand, so there is no missing root to report


def _voc_aug(root: Path) -> None:
    make_voc(root, train=["a1", "a2"], val=["v1"])
    make_sbd(root, train=["a1", "s1"], val=["s2"], voc_images=root / "VOCdevkit" / "VOC2012" / "JPEGImages")
    prepare("voc_aug", root)


def _coco_stuff10k(root: Path) -> None:
    make_coco_stuff10k(root, train=["COCO_train2014_000000000077"], test=["COCO_train2014_000000000081"])
    prepare("coco_stuff10k", root)


def _pascal_context(root: Path) -> None:
    make_pascal_context_sources(root, train=["2008_000002"], val=["2008_000007"])
    prepare("pascal_context", root)


CASES: dict[str, Case] = {
    "cityscapes": Case(make_cityscapes, unlabelled="test"),
    "ade20k": Case(make_ade20k),
    "voc": Case(lambda root: make_voc(root, train=["a1"], val=["v1", "v2"])),
    "voc_aug": Case(_voc_aug),
    "pascal_context": Case(_pascal_context),
    "pascal_context59": Case(_pascal_context),
    "coco_stuff164k": Case(make_coco_stuff164k),
    "coco_stuff10k": Case(_coco_stuff10k, labelled="test"),
    "folder": Case(
        lambda root: make_folder_dataset(root, splits={"val": 2, "test": 1}, unlabelled=("test",)),
        unlabelled="test",
    ),
    "synthetic": Case(
        lambda root: None, options={"size": 32, "train_count": 1, "val_count": 2}, generated=True
    ),
}


def _case(name: str) -> Case:
    if name not in CASES:
        pytest.fail(f"dataset {name!r} has no contract case: add one to CASES in {Path(__file__).name}")
    return CASES[name]


@pytest.fixture
def built(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, Case, Path]:
    name = request.param
    case = _case(name)
    case.make(tmp_path)
    return name, case, tmp_path


DATASETS = list_datasets()


@pytest.mark.parametrize("built", DATASETS, indirect=True)
def test_the_layout_is_found(built: tuple[str, Case, Path]) -> None:
    name, case, root = built
    data = get_dataset(name, root=root, split=case.labelled, **case.options)
    assert len(data) > 0 and data.has_labels
    if not case.generated:
        assert dataset_class(name).is_present(root)


@pytest.mark.parametrize("built", DATASETS, indirect=True)
def test_images_and_masks_pair_up_and_labels_are_classes_or_ignore(built: tuple[str, Case, Path]) -> None:
    name, case, root = built
    data = get_dataset(name, root=root, split=case.labelled, **case.options)
    valid = set(range(data.info.num_classes)) | {data.info.ignore_index}
    names = []
    for index in range(len(data)):
        sample = data[index]
        image, mask = sample["image"], sample["mask"]
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
        assert mask.shape == image.shape[:2], sample["image_path"]
        assert Path(sample["image_path"]).is_file() and Path(sample["mask_path"]).is_file()
        assert set(np.unique(mask).tolist()) <= valid, sample["mask_path"]
        names.append(sample["name"])
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("name", DATASETS)
def test_a_missing_root_is_named_with_the_expected_layout(name: str, tmp_path: Path) -> None:
    case = _case(name)
    if case.generated:
        pytest.skip(f"{name} is generated on demand")
    missing = tmp_path / "nowhere"
    with pytest.raises(DatasetError) as caught:
        get_dataset(name, root=missing, split=case.labelled, **case.options)
    message = str(caught.value)
    assert str(missing) in message and dataset_class(name).info.layout in message


@pytest.mark.parametrize("built", [n for n in DATASETS if n in CASES and CASES[n].unlabelled], indirect=True)
def test_unlabelled_splits_say_so_and_give_no_mask(built: tuple[str, Case, Path]) -> None:
    name, case, root = built
    data = get_dataset(name, root=root, split=case.unlabelled, **case.options)
    assert len(data) > 0 and not data.has_labels
    assert "mask" not in data[0] and data[0]["image"].ndim == 3
