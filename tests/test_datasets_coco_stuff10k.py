"""COCO-Stuff 10k v1.1: .mat conversion, the adapter, and `danet download coco_stuff10k` end to end."""

from __future__ import annotations

import hashlib
import io
import zipfile

import numpy as np
import pytest
from _http_server import LocalServer, isolate_downloads

from danet.datasets import dataset_info, get_dataset
from danet.datasets.prepare import prepare
from danet.download import download_dataset
from danet.errors import DatasetError
from danet.image_io import read_mask
from tests._data_helpers import (
    coco10k_files,
    coco10k_mat,
    label_pattern,
    make_coco_stuff10k,
    random_image,
    write_gray,
    write_rgb,
)

pytest.importorskip("scipy")

# .mat values (labels.txt ids): unlabelled, person, street sign (no pixels in COCO-Stuff), stop sign, wood
PNG_VALUES = [0, 1, 0, 12, 171]  # what the conversion writes: 0 or the class + 1
TRAIN_IDS = [255, 0, 255, 11, 170]  # what the adapter returns: reduce-zero-label of the PNG
ARCHIVE_PATH = "/wp-content/uploads/data/cocostuffdataset/cocostuff-10k-v1.1.zip"


def _stripes(mask: np.ndarray) -> list[int]:
    row = mask[-1].tolist()
    return [v for i, v in enumerate(row) if i == 0 or v != row[i - 1]]


TRAIN = ["COCO_train2014_000000000077", "COCO_train2014_000000000078"]
TEST = ["COCO_train2014_000000000081"]


def test_preparation_writes_pngs_of_class_plus_one(tmp_path):
    make_coco_stuff10k(tmp_path, TRAIN, TEST)
    prepare("coco_stuff10k", tmp_path)
    png = tmp_path / "annotations" / f"{TRAIN[0]}_labelTrainIds.png"
    assert _stripes(read_mask(png)) == PNG_VALUES


def test_adapter_reduces_zero_label_into_the_171_classes(tmp_path):
    make_coco_stuff10k(tmp_path, TRAIN, TEST)
    prepare("coco_stuff10k", tmp_path)
    train = get_dataset("coco_stuff10k", root=tmp_path, split="train")
    assert [train.items[i].name for i in range(len(train))] == TRAIN
    sample = train[0]
    assert sample["image"].shape == (16, 24, 3)
    assert _stripes(sample["mask"]) == TRAIN_IDS
    info = dataset_info("coco_stuff10k")
    assert info.class_names[11] == "stop sign" and info.class_names[170] == "wood"
    assert info.class_names == dataset_info("coco_stuff164k").class_names
    assert info.eval_split == "test" and len(get_dataset("coco_stuff10k", root=tmp_path, split="test")) == 1


def test_preparation_is_idempotent(tmp_path):
    make_coco_stuff10k(tmp_path, TRAIN, TEST)
    prepare("coco_stuff10k", tmp_path)
    png = tmp_path / "annotations" / f"{TEST[0]}_labelTrainIds.png"
    before = png.stat().st_mtime_ns
    prepare("coco_stuff10k", tmp_path)
    assert png.stat().st_mtime_ns == before


def test_values_beyond_the_182_ids_are_refused_naming_the_file(tmp_path):
    make_coco_stuff10k(tmp_path, TRAIN, TEST)
    bad = tmp_path / "annotations" / f"{TRAIN[1]}.mat"
    bad.write_bytes(coco10k_mat(label_pattern((0, 183, 200))))
    with pytest.raises(DatasetError, match=rf"{TRAIN[1]}\.mat: label values \[183, 200\].*v1\.1"):
        prepare("coco_stuff10k", tmp_path)


def test_a_mat_file_without_the_label_map_is_refused(tmp_path):
    make_coco_stuff10k(tmp_path, TRAIN, TEST)
    (tmp_path / "annotations" / f"{TEST[0]}.mat").write_bytes(coco10k_mat(label_pattern((1,)), key="L"))
    with pytest.raises(DatasetError, match=rf"{TEST[0]}\.mat: no label map 'S'"):
        prepare("coco_stuff10k", tmp_path)


def test_adapter_checks_the_values_present_in_each_png(tmp_path):
    make_coco_stuff10k(tmp_path, TRAIN, TEST)
    prepare("coco_stuff10k", tmp_path)
    png = tmp_path / "annotations" / f"{TRAIN[1]}_labelTrainIds.png"
    write_gray(png, label_pattern((0, 171, 172)))
    train = get_dataset("coco_stuff10k", root=tmp_path, split="train")
    assert _stripes(train[0]["mask"]) == TRAIN_IDS
    with pytest.raises(DatasetError, match=rf"{TRAIN[1]}_labelTrainIds\.png: label values 172 "):
        train[1]


def test_an_unprepared_tree_says_how_to_convert_it(tmp_path):
    make_coco_stuff10k(tmp_path, TRAIN, TEST)
    with pytest.raises(DatasetError, match="prepare coco_stuff10k"):
        get_dataset("coco_stuff10k", root=tmp_path, split="train")


def test_mmseg_converted_layout_is_read_the_same_way(tmp_path):
    for split, names in (("train2014", TRAIN), ("test2014", TEST)):
        for i, name in enumerate(names):
            write_rgb(tmp_path / "images" / split / f"{name}.jpg", random_image(i))
            mask = tmp_path / "annotations" / split / f"{name}_labelTrainIds.png"
            write_gray(mask, label_pattern([0, 1, 171]))
    (tmp_path / "imageLists").mkdir()
    (tmp_path / "imageLists" / "train.txt").write_text("\n".join(TRAIN) + "\n")
    (tmp_path / "imageLists" / "test.txt").write_text("\n".join(TEST) + "\n")
    test = get_dataset("coco_stuff10k", root=tmp_path, split="test")
    assert _stripes(test[0]["mask"]) == [255, 0, 170]


def test_download_extracts_prepares_and_records_the_sha256(monkeypatch, tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for relative, data in coco10k_files(TRAIN, TEST).items():
            archive.writestr(relative, data)
    body = buffer.getvalue()
    isolate_downloads(monkeypatch, tmp_path / "home")
    with LocalServer() as server:
        monkeypatch.setenv("DANET_MIRROR", server.url)
        server.serve(ARCHIVE_PATH, body)
        root = download_dataset("coco_stuff10k", tmp_path / "c10k")
        assert download_dataset("coco_stuff10k", tmp_path / "c10k") == root  # extracted: nothing fetched
        assert len(server.hits_for(ARCHIVE_PATH)) == 1
    record = root / "downloads" / "cocostuff-10k-v1.1.zip.sha256"
    assert record.read_text().split() == [hashlib.sha256(body).hexdigest(), "cocostuff-10k-v1.1.zip"]
    train = get_dataset("coco_stuff10k", root=root, split="train")
    assert len(train) == 2 and _stripes(train[1]["mask"]) == TRAIN_IDS
