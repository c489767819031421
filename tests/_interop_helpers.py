"""Builders for checkpoint-interop tests: published layouts with random weights, written to disk."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from danet.models.naming import MMSEG_PREFIXES, OFFICIAL_PREFIXES, invert, map_key

# A copy of shared/reference/official-danet101-keys.tsv: every name and shape of the released file.
OFFICIAL_KEYS_TSV = Path(__file__).parent / "data" / "official-danet101-keys.tsv"


def official_key_shapes() -> list[tuple[str, tuple[int, ...]]]:
    """The 664 (name, shape) rows of the released DANet101.pth.tar."""
    rows = []
    for line in OFFICIAL_KEYS_TSV.read_text().splitlines():
        name, shape = line.split("\t")
        dims = shape.strip("()").replace(" ", "").split(",")
        rows.append((name, tuple(int(d) for d in dims if d)))
    return rows


def random_tensor(name: str, shape: tuple[int, ...]) -> torch.Tensor:
    """A value of the right kind for a parameter called `name`, scaled so deep nets stay finite."""
    if name.endswith("num_batches_tracked"):
        return torch.tensor(1000)
    tensor = torch.empty(shape)
    if name.endswith("running_var"):
        return tensor.uniform_(0.5, 1.5)
    if name.endswith(("running_mean", "bias")):
        return tensor.normal_(0.0, 0.1)
    if name.endswith("gamma") or name.endswith("gamma.scale"):
        return tensor.fill_(0.5)
    if len(shape) == 1:  # BatchNorm scale
        return tensor.uniform_(0.5, 1.0)
    fan_in = math.prod(shape[1:])
    return tensor.normal_(0.0, 1.0 / math.sqrt(fan_in))


def randomise(model: nn.Module, seed: int = 0) -> nn.Module:
    """Give every parameter and BN statistic of `model` a random (seeded) value; eval mode."""
    torch.manual_seed(seed)
    state = {k: random_tensor(k, tuple(v.shape)) for k, v in model.state_dict().items()}
    model.load_state_dict(state)
    return model.eval()


def official_r101_state_dict(seed: int = 0) -> dict[str, torch.Tensor]:
    """All 664 official names and shapes (including the unused ``pretrained.fc``) with random values."""
    torch.manual_seed(seed)
    return {name: random_tensor(name, shape) for name, shape in official_key_shapes()}


def to_official(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """danet names -> official names (gammas as (1,) like the release)."""
    table = invert(OFFICIAL_PREFIXES)
    out = {}
    for key, value in state_dict.items():
        name = map_key(key, table)
        out[name] = value.reshape(1) if name.endswith("gamma") else value
    return out


def to_mmseg(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """danet names -> mmsegmentation names (gammas as ``gamma.scale`` of shape ())."""
    table = invert(MMSEG_PREFIXES)
    return {map_key(key, table): value for key, value in state_dict.items()}


def drop_counters(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """As in 2018 files: no BatchNorm ``num_batches_tracked``."""
    return {k: v for k, v in state_dict.items() if not k.endswith("num_batches_tracked")}


def by_hand_from_official(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The official -> danet renaming written out independently of `danet.models.naming`."""
    head = {
        "conv5a": "pam_in",
        "conv5c": "cam_in",
        "sa.query_conv": "pam.query",
        "sa.key_conv": "pam.key",
        "sa.value_conv": "pam.value",
        "sa.gamma": "pam.gamma",
        "sc.gamma": "cam.gamma",
        "conv51": "pam_out",
        "conv52": "cam_out",
        "conv6": "pam_classifier",
        "conv7": "cam_classifier",
        "conv8": "classifier",
    }
    out = {}
    for key, value in state_dict.items():
        if key.startswith("pretrained.fc."):
            continue
        if key.startswith("pretrained."):
            out["backbone." + key[len("pretrained.") :]] = value
            continue
        rest = key[len("head.") :]
        for src, dst in head.items():
            if rest == src or rest.startswith(src + "."):
                rest = dst + rest[len(src) :]
                break
        out["head." + rest] = value.reshape(()) if rest.endswith("gamma") else value
    return out


def save(obj: object, path: Path, *, legacy: bool = False) -> Path:
    torch.save(obj, path, _use_new_zipfile_serialization=not legacy)
    return path
