"""The built-in synthetic dataset: deterministic, offline, atomic, read through the folder adapter."""

from __future__ import annotations

import socket

import numpy as np
import pytest

from danet.datasets import get_dataset
from danet.datasets._scenes import CLASS_NAMES, generate_scene
from danet.datasets.folder import FolderDataset
from danet.datasets.synthetic import (
    SyntheticDataset,
    SyntheticSpec,
    ensure_synthetic,
    make_spec,
    synthetic_root,
)
from danet.errors import ConfigError
from danet.metrics import SegmentationMetric
from tests._data_helpers import make_synthetic


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the synthetic dataset must not use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)


def test_scenes_are_deterministic_by_seed():
    a = generate_scene(np.random.default_rng(3), 48, 64)
    b = generate_scene(np.random.default_rng(3), 48, 64)
    c = generate_scene(np.random.default_rng(4), 48, 64)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])
    assert a[0].shape == (48, 64, 3) and a[1].shape == (48, 64) and a[1].max() < len(CLASS_NAMES)


def test_generated_files_are_identical_for_the_same_spec(tmp_path):
    first = make_synthetic(tmp_path / "a", size=32, train_count=3, val_count=1, seed=7)
    second = make_synthetic(tmp_path / "b", size=32, train_count=3, val_count=1, seed=7)
    for path in sorted(first.rglob("*.png")):
        twin = second / path.relative_to(first)
        assert path.read_bytes() == twin.read_bytes()


def test_dataset_uses_the_folder_code_path(tmp_path):
    train = get_dataset("synthetic", root=tmp_path, split="train", size=(32, 48), train_count=5, val_count=2)
    assert isinstance(train, SyntheticDataset) and isinstance(train, FolderDataset)
    assert len(train) == 5 and train.info.name == "synthetic" and train.info.class_names == CLASS_NAMES
    assert train.root == synthetic_root(make_spec((32, 48), train_count=5, val_count=2), tmp_path)
    sample = train[0]
    assert sample["image"].shape == (32, 48, 3) and sample["mask"].shape == (32, 48)
    assert (
        len(get_dataset("synthetic", root=tmp_path, split="val", size=(32, 48), train_count=5, val_count=2))
        == 2
    )
    plain = get_dataset("folder", root=train.root, split="train")
    assert np.array_equal(plain[0]["mask"], sample["mask"])


def test_settings_get_separate_folders_and_are_generated_once(tmp_path):
    a = ensure_synthetic(make_spec(32, train_count=2, val_count=1), tmp_path)
    b = ensure_synthetic(make_spec(32, train_count=2, val_count=1, seed=1), tmp_path)
    assert a != b and "seed1" in b.name and "32x32" in a.name
    stamp = (a / "images" / "train" / "000000.png").stat().st_mtime_ns
    assert ensure_synthetic(make_spec(32, train_count=2, val_count=1), tmp_path) == a
    assert (a / "images" / "train" / "000000.png").stat().st_mtime_ns == stamp


def test_interrupted_generation_is_regenerated_not_used(tmp_path, monkeypatch):
    import danet.datasets.synthetic as synthetic

    spec = make_spec(32, train_count=3, val_count=1)
    calls = {"n": 0}

    def failing(rng, height, width):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return generate_scene(rng, height, width)

    monkeypatch.setattr(synthetic, "generate_scene", failing)
    with pytest.raises(KeyboardInterrupt):
        ensure_synthetic(spec, tmp_path)
    assert not synthetic_root(spec, tmp_path).exists()
    assert not list(tmp_path.glob(".*partial*"))
    monkeypatch.setattr(synthetic, "generate_scene", generate_scene)
    folder = ensure_synthetic(spec, tmp_path)
    assert len(list((folder / "images" / "train").glob("*.png"))) == 3


def test_abandoned_partial_folders_are_removed(tmp_path):
    spec = make_spec(32, train_count=1, val_count=1)
    stale = tmp_path / f".{spec.key}.partial-999999999-abc"
    (stale / "images").mkdir(parents=True)
    ensure_synthetic(spec, tmp_path)
    assert not stale.exists()


def test_default_spec_and_validation():
    spec = SyntheticSpec()
    assert spec.size == (128, 128) and spec.train_count == 400 and spec.val_count == 100 and spec.seed == 0
    assert spec.key == "v3-128x128-train400-val100-seed0"
    with pytest.raises(ConfigError):
        make_spec(8)
    with pytest.raises(ConfigError):
        make_spec(32, train_count=0)


def test_default_root_is_under_the_data_root(tmp_path, monkeypatch):
    monkeypatch.setenv("DANET_DATA", str(tmp_path))
    train = get_dataset("synthetic", split="train", size=32, train_count=2, val_count=1)
    assert train.root.parent == tmp_path / "synthetic"
    assert not SyntheticDataset.is_present()  # the default settings were not generated


def test_every_class_appears_and_colour_lookup_is_not_enough():
    """A per-colour majority vote fitted on training scenes scores far below what a model reaches."""
    scenes = [generate_scene(np.random.default_rng([0, 0, i]), 64, 64) for i in range(40)]
    held_out = [generate_scene(np.random.default_rng([0, 1, i]), 64, 64) for i in range(10)]
    masks = np.stack([m for _, m in scenes])
    assert set(np.unique(masks).tolist()) == set(range(len(CLASS_NAMES)))
    assert (np.bincount(masks.ravel()) / masks.size).min() > 0.03  # no class is a speck

    def colour_bin(image):
        q = image.astype(np.int64) // 16
        return q[..., 0] * 256 + q[..., 1] * 16 + q[..., 2]

    votes = np.zeros((4096, len(CLASS_NAMES)))
    for image, mask in scenes:
        np.add.at(votes, (colour_bin(image).ravel(), mask.ravel()), 1)
    metric = SegmentationMetric(len(CLASS_NAMES))
    for image, mask in held_out:
        metric.update(votes.argmax(1)[colour_bin(image)], mask)
    assert metric.compute()["miou"] < 0.5
