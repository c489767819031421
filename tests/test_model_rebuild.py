"""Models are rebuilt through the registry: user models and backbones round-trip, old files still load."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from _tiny_models import BACKBONE, MODEL, register_tiny, tiny_checkpoint, tiny_model
from torch import nn

from danet.checkpoints import ModelMeta, load_model, save_checkpoint
from danet.errors import CheckpointError, ConfigError, UnknownNameError
from danet.models import (
    ModelConfig,
    create_backbone,
    create_model,
    list_backbones,
    list_models,
    register_model,
)

X = torch.rand(2, 3, 32, 40, generator=torch.Generator().manual_seed(0))


class PixelClassifier(nn.Module):
    """A model that is no Segmentor at all: a 1x1 conv from colour to class logits."""

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, num_classes, 1)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"out": self.conv(x)}  # (B, K, H, W)


def _pixel_classifier(*, num_classes: int, **options: object) -> nn.Module:
    return PixelClassifier(num_classes)


def test_a_model_registered_by_user_code_round_trips(tmp_path: Path) -> None:
    if "pixel_classifier" not in list_models():
        register_model("pixel_classifier")(_pixel_classifier)
    model = create_model("pixel_classifier", num_classes=4, align_corners=False)
    assert model.config == ModelConfig("pixel_classifier", 4, align_corners=False)
    loaded = load_model(save_checkpoint(tmp_path / "user.pt", model))
    assert type(loaded) is PixelClassifier and loaded.meta.model_name == "pixel_classifier"
    assert torch.equal(loaded(X)["out"], model.eval()(X)["out"])


def test_a_new_backbone_is_one_registration(tmp_path: Path) -> None:
    register_tiny()
    assert BACKBONE in list_backbones() and {MODEL, f"fcn_{BACKBONE}"} <= set(list_models())
    model = tiny_model()
    assert type(model.backbone).__name__ == "TinyBackbone"
    loaded = load_model(tiny_checkpoint(tmp_path / "tiny.pt"))
    assert torch.equal(loaded(X)["out"], model(X)["out"])


def test_resnets_are_registered_backbones() -> None:
    assert {f"resnet{depth}" for depth in (18, 34, 50, 101, 152)} <= set(list_backbones())
    backbone = create_backbone("resnet18", output_stride=16)
    c3, c4 = backbone(torch.rand(1, 3, 64, 64))
    assert c3.shape == (1, backbone.c3_channels, 4, 4) and c4.shape == (1, backbone.out_channels, 4, 4)
    with pytest.raises(UnknownNameError, match="resnet50"):
        create_backbone("resnet51")


def test_registering_a_backbone_twice_is_refused() -> None:
    from danet.models import register_backbone

    with pytest.raises(ConfigError, match="already registered"):
        register_backbone("resnet18")(lambda **options: nn.Identity())


def test_a_checkpoint_written_before_the_registry_rebuild_still_loads(tmp_path: Path) -> None:
    """The layout the earlier code wrote: format/version, the ModelConfig dict, the tensors, the dataset
    record, the training config and training state; non-default options must survive the rebuild."""
    torch.manual_seed(0)
    old_config = {
        "name": "fcn_resnet18", "num_classes": 3, "stem": "v1c", "output_stride": 16, "multi_grid": True,
        "aux": True, "align_corners": False, "dropout": 0.1, "pam_implementation": "efficient",
    }  # fmt: skip
    reference = create_model("fcn_resnet18", **_without(old_config, "name", "pam_implementation"))
    payload = {
        "format": "danet",
        "version": 1,
        "model": old_config,
        "state_dict": reference.state_dict(),
        "dataset": {"name": "folder", "class_names": ["a", "b", "c"], "palette": None, "ignore_index": 255},
        "config": {"dataset": "folder", "data_root": "/data/mine", "model": "fcn_resnet18"},
        "iteration": 7,
        "optimizer": {"state": {}, "param_groups": []},
    }
    torch.save(payload, tmp_path / "old.pt")
    model = load_model(tmp_path / "old.pt")
    assert model.config == ModelConfig.from_dict(old_config)
    assert torch.equal(model(X)["out"], reference.eval()(X)["out"])
    assert model.meta.dataset == "folder" and model.meta.data_root == "/data/mine"
    assert model.meta.train_config["model"] == "fcn_resnet18" and model.meta.palette == ()


def _without(options: dict, *names: str) -> dict:
    return {key: value for key, value in options.items() if key not in names}


def test_a_model_whose_builder_is_not_registered_says_what_to_import(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path / "user.pt", create_model("danet_resnet18", num_classes=2))
    payload = torch.load(path, weights_only=True)
    payload["model"]["name"] = "someone_elses_net"
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="'someone_elses_net' model, which is not registered"):
        load_model(path)


def test_a_module_without_a_config_cannot_be_saved(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="no `config`"):
        save_checkpoint(tmp_path / "x.pt", nn.Conv2d(3, 2, 1))


def test_model_meta_text_form_round_trips() -> None:
    meta = ModelMeta(
        "danet_resnet50", 2, ("sky", "road"), ((1, 2, 3), (4, 5, 6)), dataset="folder", data_root="/d",
        align_corners=False, origin="danet", train_config={"dataset": "folder", "iterations": 10},
    )  # fmt: skip
    text = meta.to_text()
    assert all(key.startswith("danet.") and isinstance(value, str) for key, value in text.items())
    back = ModelMeta.from_text(text)
    assert back == meta and back.train_config == meta.train_config


def test_text_written_by_an_older_export_still_reads() -> None:
    old = {
        "danet.model_name": "danet_resnet50", "danet.num_classes": "2", "danet.class_names": '["a", "b"]',
        "danet.palette": "[]", "danet.mean": "[0.5, 0.5, 0.5]", "danet.std": "[0.2, 0.2, 0.2]",
        "danet.align_corners": "true", "danet.dataset": "", "danet.ignore_index": "255",
    }  # fmt: skip
    meta = ModelMeta.from_text(old, origin="onnx")
    assert meta.class_names == ("a", "b") and meta.mean == (0.5, 0.5, 0.5) and meta.train_config == {}
    with pytest.raises(CheckpointError, match="missing or damaged"):
        ModelMeta.from_text({k: v for k, v in old.items() if k != "danet.mean"})
