"""danet's parameter names map one-to-one onto the official and mmseg checkpoint layouts."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import danet
from danet.errors import CheckpointError
from danet.models import load_backbone_state_dict
from danet.models.naming import (
    MMSEG_PREFIXES,
    OFFICIAL_PREFIXES,
    invert,
    map_key,
    rename_state_dict,
)

TSV = Path(__file__).parent / "data" / "official-danet101-keys.tsv"  # copy of the reference list


def _official_shapes() -> dict[str, tuple[int, ...]]:
    shapes = {}
    for line in TSV.read_text().splitlines():
        key, shape = line.split("\t")
        shapes[key] = tuple(int(v) for v in shape.strip("()").split(",") if v.strip())
    return shapes


def test_official_danet101_keys_map_one_to_one() -> None:
    official = _official_shapes()
    assert len(official) == 664
    model = danet.create_model("danet_resnet101", num_classes=19, multi_grid=True)
    ours = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    renamed, dropped = rename_state_dict({k: torch.empty(s) for k, s in official.items()}, OFFICIAL_PREFIXES)
    assert sorted(dropped) == ["pretrained.fc.bias", "pretrained.fc.weight"]
    assert set(renamed) == set(ours)
    assert {k: tuple(v.shape) for k, v in renamed.items()} == ours
    back = {map_key(k, invert(OFFICIAL_PREFIXES)) for k in ours}
    assert back == set(official) - set(dropped)


@pytest.mark.parametrize(("depth", "keys", "params"), [(50, 376, 49_846_574), (101, 682, 68_838_702)])
def test_mmseg_layout_counts(depth: int, keys: int, params: int) -> None:
    model = danet.create_model(f"danet_resnet{depth}", num_classes=19, stem="v1c", aux=True)
    mmseg = {map_key(k, invert(MMSEG_PREFIXES)): v for k, v in model.state_dict().items()}
    assert len(mmseg) == keys
    assert "backbone.stem.7.running_var" in mmseg and "decode_head.pam.gamma.scale" in mmseg
    assert "auxiliary_head.convs.0.conv.weight" in mmseg
    assert sum(p.numel() for p in model.parameters()) == params
    renamed, dropped = rename_state_dict(mmseg, MMSEG_PREFIXES)
    assert not dropped and set(renamed) == set(model.state_dict())


def test_gamma_shapes_are_normalised_to_scalars() -> None:
    renamed, _ = rename_state_dict({"head.sa.gamma": torch.ones(1)}, OFFICIAL_PREFIXES)
    assert renamed["head.pam.gamma"].shape == ()


def _v1c_name(key: str) -> str:
    if key.startswith("module.conv1."):
        return "module.stem." + key[len("module.conv1.") :]
    return key.replace("module.bn1.", "module.stem.7.")


@pytest.mark.parametrize("stem", ["7x7", "v1c", "s"])
def test_imagenet_backbone_files_load_strictly(stem: str) -> None:
    source = danet.create_model("danet_resnet18", num_classes=3, stem=stem).backbone
    state = {f"module.{k}": v + 1 for k, v in source.state_dict().items() if "num_batches" not in k}
    state["module.fc.weight"] = torch.zeros(1000, 512)
    if stem == "v1c":  # mmseg v1c files name the stem stem.0 ... stem.7
        state = {_v1c_name(k): v for k, v in state.items()}
    target = danet.create_model("danet_resnet18", num_classes=3, stem=stem).backbone
    load_backbone_state_dict(target, state)
    assert torch.equal(target.layer1[0].conv1.weight, source.layer1[0].conv1.weight + 1)


def test_backbone_mismatch_names_the_keys() -> None:
    target = danet.create_model("danet_resnet18", num_classes=3).backbone
    state = dict(target.state_dict())
    del state["layer2.0.conv1.weight"]
    with pytest.raises(CheckpointError, match="layer2.0.conv1.weight"):
        load_backbone_state_dict(target, state)
