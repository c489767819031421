"""Build the model of a run and initialise its backbone from ImageNet weights."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn

from danet.checkpoints import read_checkpoint
from danet.config import TrainConfig
from danet.datasets import DatasetInfo
from danet.errors import CheckpointError, DanetError
from danet.models import create_model, load_backbone_state_dict
from danet.reporting import Reporter


def dataset_meta(name: str, info: DatasetInfo) -> dict[str, Any]:
    """What a checkpoint records about its classes (read back by evaluate and predict)."""
    return {
        "name": name,
        "class_names": [str(n) for n in info.class_names],
        "palette": [[int(v) for v in colour] for colour in info.palette],
        "ignore_index": int(info.ignore_index),
    }


def build_model(config: TrainConfig, num_classes: int, reporter: Reporter, *, pretrained: bool) -> nn.Module:
    """The model of `config`; with `pretrained`, the backbone starts from ImageNet weights if any."""
    model = create_model(config.model, num_classes=num_classes, **config.model_options)
    if pretrained:
        init_backbone(model, config, reporter)
    return model


def cached_weight_names(depth: int, stem: str) -> list[str]:
    """Download names of ImageNet weights that fit a ResNet of `depth` with `stem`, preferred first."""
    if stem == "v1c":
        return [f"resnet{depth}_v1c"]
    if stem == "s":
        return [f"resnet{depth}s"]
    return [f"resnet{depth}_imagenet1k_v1", f"resnet{depth}_imagenet1k_v2"]


def find_backbone_weights(depth: int, stem: str) -> Path | None:
    """The first verified cached file among `cached_weight_names`, or None."""
    from danet.download import find_cached_weights

    for name in cached_weight_names(depth, stem):
        try:
            found = find_cached_weights(name)
        except DanetError:  # a name the download registry does not know (e.g. ResNet-18 7x7)
            continue
        if found is not None:
            return found
    return None


def init_backbone(model: nn.Module, config: TrainConfig, reporter: Reporter) -> None:
    """Load `config.backbone_weights` (a path, `auto` = the danet cache, or `none`) into the backbone."""
    choice = (config.backbone_weights or "none").strip()
    stem = model.config.stem
    depth = getattr(model.backbone, "depth", None)  # ImageNet weights are published for ResNets only
    if choice.lower() == "none":
        reporter.warning(
            "training the backbone from scratch (backbone_weights: none): without ImageNet weights "
            "accuracy is far lower than published numbers"
        )
        return
    if choice.lower() == "auto" and depth is None:
        reporter.warning(
            f"danet knows no ImageNet weights for the backbone of {model.config.name}, so it trains from "
            "scratch; pass --backbone-weights PATH to start from your own"
        )
        return
    path = find_backbone_weights(depth, stem) if choice.lower() == "auto" else Path(choice).expanduser()
    if path is None:
        names = cached_weight_names(depth, stem)
        reporter.warning(
            f"no ImageNet weights for ResNet-{depth} ({stem} stem) in the danet cache, so the backbone "
            f"trains from scratch and accuracy will be far lower; run `danet download weights {names[0]}` "
            "(`danet download --list` shows the available weights) or pass --backbone-weights PATH"
        )
        return
    load_backbone_file(model, path)
    reporter.info(f"backbone initialised from {path}")


BACKBONE_TRUST_HINT = "--backbone-weights takes a file of tensors only (a state dict saved with torch.save)"


def load_backbone_file(model: nn.Module, path: Path) -> None:
    if not path.is_file():
        raise CheckpointError(f"backbone weights {path} do not exist; check --backbone-weights")
    state = read_checkpoint(path, trust_hint=BACKBONE_TRUST_HINT)
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise CheckpointError(f"{path} does not hold a state dict of tensors")
    try:
        load_backbone_state_dict(model.backbone, state)
    except CheckpointError as error:
        raise CheckpointError(f"{path} does not fit the {model.config.name} backbone: {error}") from None
