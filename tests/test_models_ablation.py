"""The paper's single-branch ablations: PAM-only and CAM-only DANet (Table 1)."""

from __future__ import annotations

import pytest
import torch

import danet
from danet.checkpoints import read_checkpoint, save_checkpoint
from danet.checkpoints.formats import model_from_danet_checkpoint
from danet.config import LossWeights
from danet.errors import CheckpointError, ConfigError
from danet.models import list_models
from danet.training.losses import SegmentationLoss

OTHER = {"pam": "cam", "cam": "pam"}


def _params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _branch_modules(head: torch.nn.Module, branch: str) -> list[torch.nn.Module]:
    """The modules that make up one branch of the full head (in-conv, attention, out-conv, classifier)."""
    return [getattr(head, f"{branch}{part}") for part in ("_in", "", "_out", "_classifier")]


def _randomise(model: torch.nn.Module) -> torch.nn.Module:
    """Non-zero gammas and BN statistics, so both attention and every module change the output."""
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith("gamma"):
                param.fill_(0.5)
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 1.5)
    return model


def test_both_ablations_are_registered_for_every_depth() -> None:
    for branch in ("pam", "cam"):
        expected = [f"danet_{branch}_resnet{d}" for d in (18, 34, 50, 101, 152)]
        registered = [
            n for n in list_models(f"danet_{branch}_*") if "_resnet" in n
        ]  # other tests may add backbones
        assert registered == expected


@pytest.mark.parametrize("depth", [18, 34, 50, 101, 152])
@pytest.mark.parametrize("branch", ["pam", "cam"])
def test_parameters_are_the_full_model_minus_exactly_the_other_branch(branch: str, depth: int) -> None:
    full = danet.create_model(f"danet_resnet{depth}", num_classes=19)
    single = danet.create_model(f"danet_{branch}_resnet{depth}", num_classes=19)
    removed = _branch_modules(full.head, OTHER[branch])
    assert _params(single) == _params(full) - sum(_params(m) for m in removed)
    kept = {k for k in full.state_dict() if not k.startswith(f"head.{OTHER[branch]}")}
    assert set(single.state_dict()) == kept


def test_the_removed_branch_is_absent_not_unused() -> None:
    head = danet.create_model("danet_pam_resnet18", num_classes=3).head
    assert head.attention == ("pam",)
    assert all(getattr(head, f"cam{part}") is None for part in ("_in", "", "_out", "_classifier"))
    assert not any(name.startswith("cam") for name, _ in head.named_modules() if name)


@pytest.mark.parametrize("branch", ["pam", "cam"])
def test_fused_output_is_the_branch_features_through_the_fused_classifier(branch: str) -> None:
    torch.manual_seed(0)
    single = _randomise(danet.create_model(f"danet_{branch}_resnet18", num_classes=5)).eval()
    head = single.head
    x = torch.randn(1, 3, 48, 40)
    with torch.no_grad():
        _, c4 = single.backbone(x)
        features = getattr(head, f"{branch}_out")(getattr(head, branch)(getattr(head, f"{branch}_in")(c4)))
        expected_out = single.upsample(head.classifier(features), x.shape[-2:])
        expected_branch = single.upsample(getattr(head, f"{branch}_classifier")(features), x.shape[-2:])
        outputs = single(x, all_outputs=True)
    assert set(outputs) == {"out", branch}
    torch.testing.assert_close(outputs["out"], expected_out)
    torch.testing.assert_close(outputs[branch], expected_branch)


@pytest.mark.parametrize("branch", ["pam", "cam"])
def test_forward_backward_and_the_loss_without_the_missing_branch(branch: str) -> None:
    torch.manual_seed(1)
    model = danet.create_model(f"danet_{branch}_resnet18", num_classes=4, aux=True).train()
    outputs = model(torch.randn(2, 3, 32, 32))
    assert set(outputs) == {"out", branch, "aux"}
    assert all(v.shape == (2, 4, 32, 32) for v in outputs.values())
    target = torch.randint(0, 4, (2, 32, 32))
    target[:, :5] = 255
    loss, terms = SegmentationLoss(LossWeights(out=1.0, pam=1.0, cam=1.0, aux=0.4))(outputs, target)
    assert set(terms) == {"loss_out", f"loss_{branch}", "loss_aux"}
    assert torch.isclose(loss, terms["loss_out"] + terms[f"loss_{branch}"] + 0.4 * terms["loss_aux"])
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


@pytest.mark.parametrize("branch", ["pam", "cam"])
def test_checkpoint_round_trip_rebuilds_the_ablation(branch: str, tmp_path) -> None:
    torch.manual_seed(2)
    model = _randomise(danet.create_model(f"danet_{branch}_resnet18", num_classes=3, align_corners=False))
    path = save_checkpoint(tmp_path / "single.pt", model.eval())
    loaded = model_from_danet_checkpoint(read_checkpoint(path), str(path)).eval()
    assert loaded.config == model.config and loaded.attention == (branch,)
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x)["out"], model(x)["out"])
    full = danet.create_model("danet_resnet18", num_classes=3)
    with pytest.raises(CheckpointError, match=f"head.{OTHER[branch]}_in"):
        model_from_danet_checkpoint(
            {"model": full.config.to_dict(), "state_dict": model.state_dict()}, "single.pt"
        )


def test_pam_implementation_is_checked_and_switching_it_is_harmless_without_pam() -> None:
    with pytest.raises(ConfigError, match="unknown PAM implementation"):
        danet.create_model("danet_cam_resnet18", num_classes=3, pam_implementation="fast")
    model = danet.create_model("danet_cam_resnet18", num_classes=3)
    model.set_pam_implementation("naive")
    with pytest.raises(ConfigError, match="unknown PAM implementation"):
        model.set_pam_implementation("fast")
    pam_only = danet.create_model("danet_pam_resnet18", num_classes=3)
    pam_only.set_pam_implementation("naive")
    assert pam_only.head.pam.implementation == "naive"


def test_attention_is_chosen_by_name_not_by_option() -> None:
    with pytest.raises(ConfigError, match="attention"):
        danet.create_model("danet_resnet18", num_classes=3, attention=["pam"])


def test_single_branch_models_export_to_torchscript(tmp_path) -> None:
    from danet.export import export_model

    torch.manual_seed(3)
    model = _randomise(danet.create_model("danet_pam_resnet18", num_classes=3)).eval()
    dataset = {"name": "toy", "class_names": ["a", "b", "c"], "palette": [[0, 0, 0]] * 3, "ignore_index": 255}
    checkpoint = save_checkpoint(tmp_path / "pam.pt", model, dataset=dataset)
    result = export_model(checkpoint, tmp_path / "pam.ts", fmt="torchscript", size=(32, 32))
    assert result.path.is_file() and result.max_abs_diff < 1e-3


def test_a_checkpoint_naming_an_unregistered_model_lists_the_valid_names() -> None:
    from danet.errors import UnknownNameError
    from danet.models import ModelConfig, build_from_config

    with pytest.raises(UnknownNameError, match="danet_pam_resnet50"):
        build_from_config(ModelConfig(name="danet_attn_resnet50", num_classes=3))
