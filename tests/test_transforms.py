"""Transforms: image and mask stay aligned under every random operation; padding, dtypes, seeding."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from danet.datasets.transforms import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    Compose,
    PadToSize,
    PhotometricDistortion,
    RandomCrop,
    RandomFlip,
    RandomRescale,
    ResizeShortSide,
    ToTensor,
    eval_transform,
    image_to_tensor,
    train_transform,
)
from danet.errors import ConfigError

STEP = 40  # image red channel = class * STEP, so the image tells which class a pixel shows


def blocks_sample(height: int = 48, width: int = 64) -> dict:
    """Large class blocks with the class written into the image's red channel."""
    rows, cols = np.mgrid[0:height, 0:width]
    mask = ((rows // 12) * 3 + (cols // 16)) % 6
    image = np.zeros((height, width, 3), np.uint8)
    image[..., 0] = mask * STEP
    image[..., 1] = 7
    return {"image": image, "mask": mask.astype(np.uint8), "name": "x"}


def assert_aligned(sample: dict) -> None:
    """Where the mask is a class and its 3x3 neighbourhood agrees, the image shows that class."""
    mask = sample["mask"].astype(np.int32)
    red = sample["image"][..., 0].astype(np.int32)
    padded = np.pad(mask, 1, constant_values=-1)  # crop borders may hide a neighbour: skip them
    same = np.ones_like(mask, bool)
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            same &= padded[dy : dy + mask.shape[0], dx : dx + mask.shape[1]] == mask
    interior = same & (mask != 255)
    assert interior.sum() > 0.3 * mask.size
    assert np.abs(red[interior] - mask[interior] * STEP).max() <= 2
    assert sample["image"].shape[:2] == sample["mask"].shape


RANDOM_OPS = {
    "flip": RandomFlip(prob=1.0),
    "rescale_ratio": RandomRescale((0.5, 2.0)),
    "rescale_short_side": RandomRescale((0.75, 2.0), base_size=40, mode="short_side"),
    "crop_with_pad": RandomCrop(56),
    "crop_balanced": RandomCrop((24, 32), cat_max_ratio=0.75),
    "pipeline": Compose([RandomFlip(), RandomRescale((0.5, 2.0), base_size=48), RandomCrop(40)]),
}


@pytest.mark.parametrize("name", sorted(RANDOM_OPS))
@pytest.mark.parametrize("seed", range(12))
def test_random_operations_keep_image_and_mask_aligned(name, seed):
    out = RANDOM_OPS[name](blocks_sample(), np.random.default_rng(seed))
    assert out["mask"].dtype == np.uint8 and out["image"].dtype == np.uint8
    assert_aligned(out)


def test_flip_mirrors_both():
    sample = blocks_sample()
    out = RandomFlip(prob=1.0)(sample, np.random.default_rng(0))
    assert np.array_equal(out["mask"], sample["mask"][:, ::-1])
    assert np.array_equal(out["image"], sample["image"][:, ::-1])


def test_photometric_distortion_changes_colours_not_labels():
    sample = blocks_sample()
    changed = 0
    for seed in range(8):
        out = PhotometricDistortion()(sample, np.random.default_rng(seed))
        assert out["mask"] is sample["mask"] and out["image"].dtype == np.uint8
        changed += not np.array_equal(out["image"], sample["image"])
    assert changed >= 4


def test_padding_uses_zero_for_the_image_and_ignore_for_the_mask():
    out = PadToSize((60, 70))(blocks_sample())
    assert out["image"].shape == (60, 70, 3) and out["mask"].shape == (60, 70)
    assert (out["image"][48:] == 0).all() and (out["image"][:, 64:] == 0).all()
    assert (out["mask"][48:] == 255).all() and (out["mask"][:, 64:] == 255).all()
    assert np.array_equal(out["mask"][:48, :64], blocks_sample()["mask"])


def test_crop_is_always_the_crop_size():
    for seed in range(10):
        out = train_transform((40, 56), base_size=32)(blocks_sample(), np.random.default_rng(seed))
        assert tuple(out["image"].shape) == (3, 40, 56) and tuple(out["mask"].shape) == (40, 56)


def test_short_side_mode_draws_from_the_official_range():
    shorts = set()
    for seed in range(40):
        out = RandomRescale((0.75, 2.0), base_size=40, mode="short_side")(
            blocks_sample(), np.random.default_rng(seed)
        )
        shorts.add(min(out["image"].shape[:2]))
    assert min(shorts) >= 30 and max(shorts) <= 80 and len(shorts) > 10


def test_balanced_crop_avoids_single_class_crops():
    mask = np.zeros((40, 80), np.uint8)
    mask[:, 70:] = 1
    sample = {"image": np.zeros((40, 80, 3), np.uint8), "mask": mask}
    balanced = 0
    for seed in range(10):
        out = RandomCrop((40, 40), cat_max_ratio=0.9)(sample, np.random.default_rng(seed))
        balanced += len(np.unique(out["mask"])) == 2
    assert balanced >= 8


def test_to_tensor_normalises_with_imagenet_statistics():
    sample = {"image": np.full((2, 3, 3), 255, np.uint8), "mask": np.array([[0, 1, 255]] * 2, np.uint8)}
    out = ToTensor()(sample)
    assert out["image"].dtype == torch.float32 and tuple(out["image"].shape) == (3, 2, 3)
    expected = [(1 - m) / s for m, s in zip(IMAGENET_MEAN, IMAGENET_STD, strict=True)]
    assert out["image"][:, 0, 0].tolist() == pytest.approx(expected, rel=1e-6)
    assert out["mask"].dtype == torch.int64 and out["mask"][0].tolist() == [0, 1, 255]
    with pytest.raises(ValueError):
        image_to_tensor(np.zeros((2, 2), np.uint8))


def test_same_generator_seed_gives_the_same_sample():
    transform = train_transform(32, photometric=True)
    a = transform(blocks_sample(), np.random.default_rng(5))
    b = transform(blocks_sample(), np.random.default_rng(5))
    c = transform(blocks_sample(), np.random.default_rng(6))
    assert torch.equal(a["image"], b["image"]) and torch.equal(a["mask"], b["mask"])
    assert not torch.equal(a["image"], c["image"])


def test_eval_transform_keeps_size_or_resizes_only_the_image():
    sample = blocks_sample()
    plain = eval_transform()(sample)
    assert tuple(plain["image"].shape) == (3, 48, 64) and tuple(plain["mask"].shape) == (48, 64)
    resized = eval_transform(base_size=24)(sample)
    assert tuple(resized["image"].shape) == (3, 24, 32) and tuple(resized["mask"].shape) == (48, 64)
    both = ResizeShortSide(24, resize_mask=True)(sample)
    assert both["mask"].shape == (24, 32)
    assert_aligned(both)


def test_samples_without_masks_pass_through():
    sample = {"image": blocks_sample()["image"], "name": "unlabelled"}
    out = train_transform(32, photometric=True)(sample, np.random.default_rng(0))
    assert "mask" not in out and out["name"] == "unlabelled" and tuple(out["image"].shape) == (3, 32, 32)


def test_invalid_settings_are_config_errors():
    with pytest.raises(ConfigError):
        RandomRescale(mode="random")
    with pytest.raises(ConfigError):
        RandomRescale(mode="short_side")
    with pytest.raises(ConfigError):
        RandomRescale((2.0, 0.5))
