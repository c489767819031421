"""Official DANet and mmsegmentation checkpoints load strictly into the right architecture."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import torch
from _interop_helpers import (
    by_hand_from_official,
    drop_counters,
    official_r101_state_dict,
    randomise,
    save,
    to_mmseg,
    to_official,
)

from danet.checkpoints import load_model, save_checkpoint
from danet.checkpoints.formats import (
    detect_format,
    extract_state_dict,
    file_dataset_meta,
    infer_model_config,
    mmseg_settings,
)
from danet.datasets.classes import CITYSCAPES
from danet.errors import CheckpointError, DanetError
from danet.models import create_model

NAMES = list(CITYSCAPES.names)
PALETTE = [list(colour) for colour in CITYSCAPES.palette]


def outputs(model: torch.nn.Module, seed: int = 1) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    with torch.no_grad():
        return model.eval()(torch.randn(1, 3, 64, 64), all_outputs=True)


def assert_same_outputs(loaded: torch.nn.Module, reference: torch.nn.Module) -> None:
    got, want = outputs(loaded), outputs(reference)
    assert sorted(got) == sorted(want)
    for name in want:
        assert torch.isfinite(want[name]).all() and want[name].std() > 0
        torch.testing.assert_close(got[name], want[name], rtol=0, atol=1e-6)


def meta_model(name: str, **options: object) -> torch.nn.Module:
    """A model with no storage, for shape-only checks."""
    with torch.device("meta"):
        return create_model(name, **options)


# --- official DANet101 (all 664 released names and shapes) -------------------------------------


@pytest.fixture(scope="module")
def official_r101(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, torch.Tensor]]:
    state = official_r101_state_dict(seed=0)
    path = tmp_path_factory.mktemp("official") / "DANet101.pth.tar"
    return save({"state_dict": state, "epoch": 3}, path), state


def test_official_release_loads_into_the_official_configuration(official_r101) -> None:
    path, state = official_r101
    model = load_model(path)
    config = model.config
    assert (config.name, config.stem, config.num_classes) == ("danet_resnet101", "7x7", 19)
    assert config.multi_grid and config.align_corners and not config.aux
    assert model.meta.class_names == () and model.meta.dataset == ""
    reference = create_model("danet_resnet101", num_classes=19, multi_grid=True)
    reference.load_state_dict(by_hand_from_official(state))
    assert_same_outputs(model, reference)


def test_official_file_without_batch_counters_legacy_format_loads(official_r101, tmp_path: Path) -> None:
    state = drop_counters(official_r101[1])
    assert len(state) == 664 - 108  # 104 backbone + 4 head BatchNorms
    path = save({"state_dict": state, "epoch": 3, "best_pred": 0.5}, tmp_path / "old.pth.tar", legacy=True)
    model = load_model(path, dataset="cityscapes")
    assert model.config.name == "danet_resnet101"
    assert list(model.meta.class_names) == NAMES
    assert int(model.backbone.bn1.num_batches_tracked) == 0


# --- mmsegmentation R-50 / R-101 --------------------------------------------------------------


@pytest.fixture(scope="module")
def mmseg_r50() -> torch.nn.Module:
    model = create_model("danet_resnet50", num_classes=19, stem="v1c", aux=True, align_corners=False)
    return randomise(model, seed=2)


def test_mmseg_r50_loads_with_class_names_from_meta(mmseg_r50, tmp_path: Path) -> None:
    state = to_mmseg(mmseg_r50.state_dict())
    assert len(state) == 376
    path = save({"meta": {"CLASSES": NAMES, "PALETTE": PALETTE}, "state_dict": state}, tmp_path / "m.pth")
    model = load_model(path)
    config = model.config
    assert (config.name, config.stem, config.aux, config.multi_grid) == ("danet_resnet50", "v1c", True, False)
    assert config.align_corners is False
    assert list(model.meta.class_names) == NAMES
    assert [list(c) for c in model.meta.palette] == PALETTE
    assert_same_outputs(model, mmseg_r50)


def test_mmseg_r101_layout_has_682_keys_and_68838702_parameters() -> None:
    model = meta_model("danet_resnet101", num_classes=19, stem="v1c", aux=True)
    state = to_mmseg(model.state_dict())
    assert len(state) == 682
    buffers = ("running_mean", "running_var", "num_batches_tracked")
    assert sum(v.numel() for k, v in state.items() if not k.endswith(buffers)) == 68_838_702
    assert detect_format({"meta": {}, "state_dict": state}) == "mmseg"
    config = infer_model_config(state, "mmseg")
    assert (config.name, config.stem, config.aux, config.align_corners) == (
        "danet_resnet101",
        "v1c",
        True,
        False,
    )


@pytest.mark.parametrize(
    ("meta", "filename", "expected"),
    [
        ({"config": "model = dict(decode_head=dict(align_corners=True))"}, "x.pth", True),
        ({"config": "norm_cfg = dict()\ndecode_head=dict(align_corners=False)"}, "x.pth", False),
        ({}, "danet_r101-d8_769x769_80k_cityscapes_20200607_132918-f3a929e7.pth", True),
        ({}, "danet_r50-d8_512x1024_40k_cityscapes_20200605_191324-c0dbfa5f.pth", False),
        ({"exp_name": "danet_r50-d8_769x769_40k_cityscapes.py"}, "latest.pth", True),
        ({}, "danet_r50-d8_512x512_80k_ade20k_20200615_015125-edb18e08.pth", False),
    ],
)
def test_mmseg_align_corners_follows_the_stored_config(meta, filename, expected) -> None:
    assert mmseg_settings(meta, filename) == {"align_corners": expected}


def test_mmseg_1x_dataset_meta_and_name_from_the_config() -> None:
    obj = {"meta": {"dataset_meta": {"classes": ("a", "b"), "palette": [(1, 2, 3), (4, 5, 6)]}}}
    meta = file_dataset_meta(obj, "mmseg", "danet_r50-d8_512x512_20k_voc12aug_x.pth")
    assert meta == {
        "name": "voc_aug",
        "class_names": ["a", "b"],
        "palette": [[1, 2, 3], [4, 5, 6]],
        "ignore_index": 255,
    }


# --- architecture inference ---------------------------------------------------------------------


@pytest.mark.parametrize("depth", [18, 34, 50, 101, 152])
@pytest.mark.parametrize("stem", ["7x7", "v1c", "s"])
def test_architecture_is_read_from_the_weights(depth: int, stem: str) -> None:
    state = meta_model(f"danet_resnet{depth}", num_classes=7, stem=stem).state_dict()
    for fmt, named in (("state_dict", state), ("official", to_official(state)), ("mmseg", to_mmseg(state))):
        config = infer_model_config(named, fmt)
        assert (config.name, config.stem, config.num_classes) == (f"danet_resnet{depth}", stem, 7)


def test_fcn_weights_give_an_fcn_model() -> None:
    state = meta_model("fcn_resnet50", num_classes=5, aux=True).state_dict()
    config = infer_model_config(state, "state_dict")
    assert (config.name, config.aux) == ("fcn_resnet50", True)


def test_unknown_stem_and_block_counts_are_explained() -> None:
    state = dict(meta_model("danet_resnet18", num_classes=3).state_dict())
    state["backbone.conv1.weight"] = torch.empty(64, 3, 5, 5, device="meta")
    with pytest.raises(CheckpointError, match="stem"):
        infer_model_config(state, "state_dict")
    state = {k: v for k, v in meta_model("danet_resnet18", num_classes=3).state_dict().items()}
    state = {k: v for k, v in state.items() if not k.startswith("backbone.layer3.1.")}
    with pytest.raises(CheckpointError, match=r"\(2, 2, 1, 2\)"):
        infer_model_config(state, "state_dict")


# --- small R-18 files for the error paths --------------------------------------------------------


@pytest.fixture(scope="module")
def small() -> torch.nn.Module:
    return randomise(create_model("danet_resnet18", num_classes=19, multi_grid=True), seed=3)


def test_dataparallel_prefix_and_bare_dicts_load(small, tmp_path: Path) -> None:
    prefixed = {f"module.{k}": v for k, v in to_official(small.state_dict()).items()}
    model = load_model(save(prefixed, tmp_path / "dp.pth"))
    assert model.config.multi_grid
    assert_same_outputs(model, small)
    bare = save(dict(small.state_dict()), tmp_path / "bare.pth")
    assert detect_format(torch.load(bare, weights_only=True)) == "state_dict"
    loaded = load_model(bare, multi_grid=True)
    assert_same_outputs(loaded, small)


def test_wrong_class_count_names_both_numbers(tmp_path: Path) -> None:
    model = create_model("danet_resnet18", num_classes=21)
    path = save({"state_dict": to_official(model.state_dict())}, tmp_path / "voc.pth.tar")
    with pytest.raises(CheckpointError, match=r"21 classes but 19 were asked for"):
        load_model(path, num_classes=19)
    with pytest.raises(CheckpointError, match=r"21 classes but dataset 'cityscapes' has 19"):
        load_model(path, dataset="cityscapes")


def test_extra_missing_and_misshaped_keys_are_named_as_in_the_file(small, tmp_path: Path) -> None:
    state = to_official(small.state_dict())
    state["head.conv9.1.weight"] = torch.zeros(3)
    del state["head.conv8.1.bias"]
    state["head.sa.query_conv.bias"] = torch.zeros(5)
    with pytest.raises(CheckpointError) as error:
        load_model(save({"state_dict": state}, tmp_path / "bad.pth"))
    message = str(error.value)
    assert "unexpected keys: head.conv9.1.weight" in message
    assert "missing keys: head.conv8.1.bias" in message
    assert "head.sa.query_conv.bias (5,) vs (16,)" in message


def test_unused_fc_is_dropped_and_counters_are_filled(small, tmp_path: Path) -> None:
    state = drop_counters(to_official(small.state_dict()))
    state["pretrained.fc.weight"] = torch.zeros(1000, 512)
    model = load_model(save({"state_dict": state}, tmp_path / "fc.pth"))
    assert_same_outputs(model, small)


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", "truncated"])
def test_corrupt_or_truncated_files_are_refused(small, tmp_path: Path, content) -> None:
    path = tmp_path / "broken.pth"
    if content == "truncated":
        whole = save({"state_dict": small.state_dict()}, tmp_path / "whole.pth").read_bytes()
        content = whole[: len(whole) // 2]
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match="not a readable PyTorch checkpoint"):
        load_model(path)


def test_files_without_danet_weights_are_explained(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="holds no weights"):
        load_model(save({"epoch": 3, "state_dict": {}}, tmp_path / "empty.pth"))
    with pytest.raises(CheckpointError, match="not a DANet checkpoint in a known layout"):
        load_model(save({"fc.weight": torch.zeros(2)}, tmp_path / "other.pth"))
    with pytest.raises(CheckpointError, match="does not exist"):
        load_model(tmp_path / "missing.pth")


class TrainerState:
    """Stands in for the non-tensor objects old training scripts pickled next to the weights."""

    def __init__(self) -> None:
        self.lr = 0.01


@pytest.mark.parametrize("extra", [TrainerState(), argparse.Namespace(lr=0.01)])
def test_pickled_objects_need_trust(small, tmp_path: Path, extra: object) -> None:
    path = save({"state_dict": to_official(small.state_dict()), "optimizer": extra}, tmp_path / "o.tar")
    with pytest.raises(CheckpointError, match="--trust") as error:
        load_model(path)
    assert type(extra).__name__ in str(error.value)
    assert load_model(path, trust=True).config.name == "danet_resnet18"


def test_file_class_names_win_over_the_dataset_hint(small, tmp_path: Path) -> None:
    names = [f"thing{i}" for i in range(19)]
    obj = {"meta": {"CLASSES": names}, "state_dict": to_mmseg(small.state_dict())}
    model = load_model(save(obj, tmp_path / "mine.pth"), dataset="cityscapes")
    assert list(model.meta.class_names) == names


def test_danet_checkpoints_take_the_dataset_hint_when_they_have_none(small, tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path / "d.pt", small)
    assert load_model(path).meta.class_names == ()
    assert load_model(path, dataset="cityscapes").meta.dataset == "cityscapes"


def test_registered_weight_names_resolve_to_the_cache(small, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DANET_OFFLINE", "1")  # not cached: refused here, downloaded otherwise
    with pytest.raises(DanetError, match="DANET_OFFLINE=1 forbids downloading"):
        load_model("danet101_official")
    from danet.paths import weights_dir

    weights_dir().mkdir(parents=True, exist_ok=True)
    save({"state_dict": to_official(small.state_dict())}, weights_dir() / "DANet101.pth.tar")
    assert load_model("danet101_official").config.name == "danet_resnet18"


def test_extract_state_dict_refuses_non_dicts() -> None:
    with pytest.raises(CheckpointError, match="holds no weights"):
        extract_state_dict([torch.zeros(1)], "list.pth")
