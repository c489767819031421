"""Adapters of the public datasets on tiny trees in their exact real layouts."""

from __future__ import annotations

import numpy as np
import pytest

from danet.datasets import get_dataset
from danet.datasets.prepare import prepare, trainaug_ids, write_cityscapes_train_ids
from danet.errors import DatasetError
from tests._data_helpers import (
    encode_rle,
    make_ade20k,
    make_cityscapes,
    make_coco_stuff164k,
    make_pascal_context_detail,
    make_pascal_context_sources,
    make_sbd,
    make_voc,
)


def _stripes(mask: np.ndarray) -> list[int]:
    """The value of each stripe left to right (the helpers' masks are vertical stripes)."""
    row = mask[-1].tolist()
    return [v for i, v in enumerate(row) if i == 0 or v != row[i - 1]]


def test_cityscapes_pairs_and_maps_label_ids(tmp_path):
    make_cityscapes(tmp_path)
    train = get_dataset("cityscapes", root=tmp_path, split="train")
    assert len(train) == 4
    sample = train[0]
    assert sample["name"] == "aachen_000000_000019"
    assert sample["image"].shape == (16, 24, 3) and sample["image"].dtype == np.uint8
    assert _stripes(sample["mask"]) == [255, 0, 13, 18]  # labelIds 0, 7, 26, 33
    assert sample["mask_path"].endswith("aachen_000000_000019_gtFine_labelIds.png")
    assert len(get_dataset("cityscapes", root=tmp_path, split="val")) == 2


def test_cityscapes_test_split_has_no_masks(tmp_path):
    make_cityscapes(tmp_path)
    test = get_dataset("cityscapes", root=tmp_path, split="test")
    assert not test.has_labels and "mask" not in test[0]


def test_cityscapes_prefers_label_train_ids(tmp_path):
    make_cityscapes(tmp_path, train_ids=True)
    sample = get_dataset("cityscapes", root=tmp_path, split="train")[0]
    assert sample["mask_path"].endswith("_gtFine_labelTrainIds.png")
    assert _stripes(sample["mask"]) == [255, 0, 13, 18]


def test_cityscapes_writing_train_ids_matches_on_the_fly_mapping(tmp_path):
    make_cityscapes(tmp_path)
    before = get_dataset("cityscapes", root=tmp_path, split="val")[0]["mask"]
    assert write_cityscapes_train_ids(tmp_path) == 8  # train 4, val 2, test 2
    assert write_cityscapes_train_ids(tmp_path) == 0  # idempotent
    after = get_dataset("cityscapes", root=tmp_path, split="val")[0]
    assert after["mask_path"].endswith("_labelTrainIds.png")
    assert np.array_equal(before, after["mask"])


def test_ade20k_reduces_zero_label(tmp_path):
    make_ade20k(tmp_path)
    train = get_dataset("ade20k", root=tmp_path, split="train")
    assert len(train) == 3 and train[0]["name"] == "ADE_train_00000001"
    assert _stripes(train[0]["mask"]) == [255, 0, 149]  # raw 0, 1, 150
    assert len(get_dataset("ade20k", root=tmp_path / "ADEChallengeData2016", split="val")) == 2


def test_voc_reads_palette_masks_with_border(tmp_path):
    make_voc(tmp_path, train=["2007_000032", "2007_000039"], val=["2007_000033"])
    train = get_dataset("voc", root=tmp_path, split="train")
    assert [s["name"] for s in (train[0], train[1])] == ["2007_000032", "2007_000039"]
    assert set(np.unique(train[0]["mask"]).tolist()) == {0, 15, 20, 255}
    assert len(get_dataset("voc", root=tmp_path, split="trainval")) == 3


def test_voc_aug_conversion_and_trainaug(tmp_path):
    make_voc(tmp_path, train=["a1", "a2"], val=["v1"])
    jpegs = tmp_path / "VOCdevkit" / "VOC2012" / "JPEGImages"
    make_sbd(tmp_path, train=["a1", "s1", "v1"], val=["s2"], voc_images=jpegs)
    prepare("voc_aug", tmp_path)
    lists = tmp_path / "VOCdevkit" / "VOC2012" / "ImageSets" / "Segmentation"
    assert (lists / "trainaug.txt").read_text().split() == ["a1", "a2", "s1", "s2"]
    assert (lists / "aug.txt").read_text().split() == ["s1", "s2"]
    train = get_dataset("voc_aug", root=tmp_path, split="train")
    assert len(train) == 4
    by_name = {s["name"]: s for s in (train[i] for i in range(4))}
    assert "SegmentationClass/" in by_name["a1"]["mask_path"]  # VOC's own mask wins
    assert "SegmentationClassAug" in by_name["s1"]["mask_path"]
    assert _stripes(by_name["s1"]["mask"]) == [0, 1, 7]
    assert len(get_dataset("voc_aug", root=tmp_path, split="val")) == 1
    prepare("voc_aug", tmp_path)  # idempotent


def test_trainaug_set_arithmetic():
    trainaug, aug = trainaug_ids({"t1", "t2"}, {"v1"}, {"t1", "v1", "s1"})
    assert trainaug == ["s1", "t1", "t2"] and aug == ["s1"]


def test_voc_aug_without_preparation_says_how(tmp_path):
    make_voc(tmp_path, train=["a1"], val=["v1"])
    with pytest.raises(DatasetError, match="prepare voc_aug"):
        get_dataset("voc_aug", root=tmp_path, split="train")


def test_pascal_context_conversion_and_both_variants(tmp_path):
    make_pascal_context_sources(tmp_path, train=["2008_000002", "2008_000003"], val=["2008_000007"])
    prepare("pascal_context", tmp_path)
    ctx60 = get_dataset("pascal_context", root=tmp_path, split="train")
    ctx59 = get_dataset("pascal_context59", root=tmp_path, split="train")
    assert len(ctx60) == 2 and len(get_dataset("pascal_context", root=tmp_path, split="val")) == 1
    # 459-class ids 0, 2, 458, 1 (not kept), 260 -> 0, 1, 59, 0, 36 ; 59-class: -1 and 255 ignore
    assert _stripes(ctx60[0]["mask"]) == [0, 1, 59, 0, 36]
    assert _stripes(ctx59[0]["mask"]) == [255, 0, 58, 255, 35]
    assert ctx59.info.num_classes == 59 and ctx60.info.class_names[0] == "background"


def test_pascal_context_from_detail_json_matches_the_label_map_route(tmp_path):
    make_pascal_context_detail(tmp_path, train=["2008_000002", "2008_000003"], val=["2008_000007"])
    prepare("pascal_context", tmp_path)
    train = get_dataset("pascal_context", root=tmp_path, split="train")
    assert [train[i]["name"] for i in range(2)] == ["2008_000002", "2008_000003"]
    assert _stripes(train[0]["mask"]) == [0, 1, 59, 0, 36]
    assert len(get_dataset("pascal_context59", root=tmp_path, split="val")) == 1
    prepare("pascal_context", tmp_path)  # idempotent


@pytest.mark.parametrize("seed", range(5))
def test_coco_rle_round_trip(seed):
    from danet.datasets._detail import decode_rle, rle_counts

    mask = np.random.default_rng(seed).random((23, 37)) < 0.3
    mask[:, 5:30] |= seed % 2 == 0  # long runs exercise multi-chunk and negative differences
    assert np.array_equal(decode_rle(encode_rle(mask)), mask)
    assert rle_counts([3, 4]) == [3, 4]


# Produced by pycocotools.mask.encode (checked once, offline) for the masks built in the test below.
PYCOCOTOOLS_STRINGS = {
    0: (
        "3111004OO1MO40M0O010010OO0113ON1O0OO00?0B040L020M010O20la01R^O25OK00N080H0:1FO20N13OM080"
        "L0M0O13OO0N030M1<OE0O020N0135ML170"
    ),
    "full": "0cj0",
}


def test_rle_decoder_matches_pycocotools_strings():
    from danet.datasets._detail import decode_rle

    mask = np.random.default_rng(0).random((23, 37)) < 0.3
    mask[:, 5:30] = True
    assert np.array_equal(decode_rle({"size": [23, 37], "counts": PYCOCOTOOLS_STRINGS[0]}), mask)
    assert decode_rle({"size": [23, 37], "counts": PYCOCOTOOLS_STRINGS["full"]}).all()
    assert encode_rle(mask)["counts"] == PYCOCOTOOLS_STRINGS[0]


def test_pascal_context_without_label_maps_names_the_archive(tmp_path):
    make_pascal_context_sources(tmp_path, train=["x"], val=["y"])
    for mat in (tmp_path / "trainval").glob("*.mat"):
        mat.unlink()
    with pytest.raises(DatasetError, match="trainval.tar.gz"):
        prepare("pascal_context", tmp_path)


def test_coco_stuff_maps_182_to_171(tmp_path):
    make_coco_stuff164k(tmp_path)
    train = get_dataset("coco_stuff164k", root=tmp_path, split="train")
    assert len(train) == 2 and train[0]["name"] == "000000000009"
    assert _stripes(train[0]["mask"]) == [0, 255, 11, 170, 255]  # raw 0, 11 (dropped), 12, 181, 255


def test_prepare_is_a_no_op_for_datasets_without_conversion(tmp_path):
    prepare("cityscapes", tmp_path)
    prepare("coco_stuff164k", tmp_path)


def test_transform_output_is_model_ready(tmp_path):
    from danet.datasets.transforms import train_transform

    make_cityscapes(tmp_path)
    train = get_dataset("cityscapes", root=tmp_path, split="train", transform=train_transform(8))
    sample = train[0]
    assert tuple(sample["image"].shape) == (3, 8, 8) and str(sample["image"].dtype) == "torch.float32"
    assert tuple(sample["mask"].shape) == (8, 8) and str(sample["mask"].dtype) == "torch.int64"
