"""The `folder` adapter (users' own data) and the dataset errors, each naming the file and the fix."""

from __future__ import annotations

import numpy as np
import pytest

from danet.datasets import dataset_info, get_dataset
from danet.errors import DatasetError
from tests._data_helpers import make_cityscapes, make_folder_dataset, write_gray, write_rgb


def test_folder_pairs_by_stem_and_reads_classes_from_yaml(tmp_path):
    make_folder_dataset(tmp_path, names=("bg", "road", "car"), splits={"train": 3, "val": 2})
    train = get_dataset("folder", root=tmp_path, split="train")
    assert len(train) == 3 and train.info.class_names == ("bg", "road", "car")
    assert train.info.splits == ("train", "val") and train.info.num_classes == 3
    sample = train[1]
    assert sample["name"] == "img_1" and sample["image_path"].endswith("img_1.jpg")
    assert sample["mask"].dtype == np.uint8 and sample["mask"][0, 0] == 255
    assert set(np.unique(sample["mask"]).tolist()) <= {0, 1, 2, 255}
    assert dataset_info("folder", root=tmp_path).class_names == ("bg", "road", "car")


def test_folder_split_without_masks_is_unlabelled(tmp_path):
    make_folder_dataset(tmp_path, splits={"train": 2, "test": 2}, unlabelled=("test",))
    test = get_dataset("folder", root=tmp_path, split="test")
    assert not test.has_labels and "mask" not in test[0]


def test_folder_options_ignore_index_reduce_zero_and_names_mapping(tmp_path):
    make_folder_dataset(tmp_path, names=("a", "b"), splits={"train": 1})
    (tmp_path / "dataset.yaml").write_text("names: {0: a, 1: b}\nreduce_zero_label: true\nignore_index: 9\n")
    write_gray(tmp_path / "masks" / "train" / "img_0.png", np.array([[0, 1, 2, 9] * 6] * 16, np.uint8))
    mask = get_dataset("folder", root=tmp_path, split="train")[0]["mask"]
    assert mask[0, :4].tolist() == [255, 0, 1, 255]


def test_folder_colour_masks_with_a_palette(tmp_path):
    palette = [(0, 0, 0), (255, 0, 0), (0, 0, 255)]
    make_folder_dataset(tmp_path, names=("bg", "red", "blue"), splits={"train": 1}, palette=palette)
    colour = np.zeros((16, 24, 3), np.uint8)
    colour[:, 12:] = (0, 0, 255)
    colour[:, :4] = (255, 0, 0)
    write_rgb(tmp_path / "masks" / "train" / "img_0.png", colour)
    mask = get_dataset("folder", root=tmp_path, split="train")[0]["mask"]
    assert mask[0, [0, 5, 20]].tolist() == [1, 0, 2]


def test_mask_suffix_option(tmp_path):
    make_folder_dataset(tmp_path, splits={"train": 1}, extra_yaml={"mask_suffix": "_mask"})
    masks = tmp_path / "masks" / "train"
    (masks / "img_0.png").rename(masks / "img_0_mask.png")
    assert get_dataset("folder", root=tmp_path, split="train")[0]["mask_path"].endswith("img_0_mask.png")


# ---- errors ------------------------------------------------------------------------------------------
def test_missing_root_names_the_layout_and_the_download(tmp_path):
    with pytest.raises(DatasetError) as error:
        get_dataset("cityscapes", root=tmp_path / "nowhere", split="train")
    message = str(error.value)
    assert (
        "nowhere" in message and "leftImg8bit/<split>" in message and "danet download cityscapes" in message
    )
    with pytest.raises(DatasetError, match="docs/datasets.md"):
        get_dataset("folder", root=tmp_path / "nowhere", split="train")


def test_image_without_mask(tmp_path):
    make_folder_dataset(tmp_path, splits={"train": 2})
    (tmp_path / "masks" / "train" / "img_1.png").unlink()
    with pytest.raises(DatasetError, match=r"img_1\.jpg: has no mask \(expected .*img_1\.png\)"):
        get_dataset("folder", root=tmp_path, split="train")
    city = tmp_path / "city"
    make_cityscapes(city)
    next((city / "gtFine" / "val").rglob("*_labelIds.png")).unlink()
    with pytest.raises(DatasetError, match="has no mask"):
        get_dataset("cityscapes", root=city, split="val")


def test_mask_without_image(tmp_path):
    make_folder_dataset(tmp_path, splits={"train": 1})
    write_gray(tmp_path / "masks" / "train" / "stray.png", np.zeros((16, 24), np.uint8))
    with pytest.raises(DatasetError, match="masks without an image.*stray.png"):
        get_dataset("folder", root=tmp_path, split="train")


def test_mask_size_differs_from_image(tmp_path):
    make_folder_dataset(tmp_path, splits={"train": 1})
    write_gray(tmp_path / "masks" / "train" / "img_0.png", np.zeros((8, 8), np.uint8))
    with pytest.raises(DatasetError, match=r"img_0\.png: mask is 8x8 .* is 24x16"):
        get_dataset("folder", root=tmp_path, split="train")[0]


def test_label_values_outside_the_classes_are_listed(tmp_path):
    make_folder_dataset(tmp_path, names=("a", "b"), splits={"train": 1})
    write_gray(tmp_path / "masks" / "train" / "img_0.png", np.array([[0, 1, 7, 42] * 6] * 16, np.uint8))
    with pytest.raises(DatasetError, match=r"img_0\.png: label values 7, 42 are not classes"):
        get_dataset("folder", root=tmp_path, split="train")[0]
    write_gray(tmp_path / "masks" / "train" / "img_0.png", np.full((16, 24), 1000, np.uint16))
    with pytest.raises(DatasetError, match="1000"):
        get_dataset("folder", root=tmp_path, split="train")[0]


def test_cityscapes_label_ids_outside_the_table(tmp_path):
    make_cityscapes(tmp_path)
    mask = sorted((tmp_path / "gtFine" / "val").rglob("*_labelIds.png"))[0]
    write_gray(mask, np.full((16, 24), 40, np.uint8))
    with pytest.raises(DatasetError, match="label values 40"):
        get_dataset("cityscapes", root=tmp_path, split="val")[0]


def test_unreadable_image(tmp_path):
    make_folder_dataset(tmp_path, splits={"train": 1})
    (tmp_path / "images" / "train" / "img_0.jpg").write_bytes(b"\xff\xd8 truncated")
    with pytest.raises(DatasetError, match=r"img_0\.jpg: not a readable image"):
        get_dataset("folder", root=tmp_path, split="train")[0]


def test_empty_split(tmp_path):
    make_folder_dataset(tmp_path, splits={"train": 1})
    (tmp_path / "images" / "val").mkdir()
    with pytest.raises(DatasetError, match="split 'val' under .* is empty"):
        get_dataset("folder", root=tmp_path, split="val")


def test_unknown_split_lists_the_splits(tmp_path):
    make_folder_dataset(tmp_path, splits={"train": 1})
    with pytest.raises(DatasetError, match="no split 'valid'; splits: train"):
        get_dataset("folder", root=tmp_path, split="valid")


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("names: [a, b\n", "not valid YAML"),
        ("classes: [a]\n", "must be a mapping with `names:`"),
        ("names: []\n", "non-empty list"),
        ("names: [a, b]\npalette: [[0, 0, 0]]\n", "palette` must list 2"),
    ],
)
def test_bad_dataset_yaml(tmp_path, yaml_text, message):
    make_folder_dataset(tmp_path, splits={"train": 1})
    (tmp_path / "dataset.yaml").write_text(yaml_text)
    with pytest.raises(DatasetError, match=message):
        get_dataset("folder", root=tmp_path, split="train")


def test_two_images_with_one_stem(tmp_path):
    make_folder_dataset(tmp_path, splits={"train": 1})
    write_rgb(tmp_path / "images" / "train" / "img_0.png", np.zeros((16, 24, 3), np.uint8))
    with pytest.raises(DatasetError, match="share a name"):
        get_dataset("folder", root=tmp_path, split="train")
