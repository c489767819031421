"""The contract every registered model keeps, and the exact published architecture sizes."""

from __future__ import annotations

import pytest
import torch

import danet
from danet.errors import ConfigError, UnknownNameError
from danet.models import list_models

SMALL = [n for n in list_models() if n.endswith("resnet18")] + ["danet_resnet34", "fcn_resnet34"]
BRANCH_OUTPUTS = {"danet": {"pam", "cam"}, "danet_pam": {"pam"}, "danet_cam": {"cam"}, "fcn": set()}


def _params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_registry_lists_every_depth_of_every_family() -> None:
    names = list_models()
    for depth in (18, 34, 50, 101, 152):
        for family in BRANCH_OUTPUTS:
            assert f"{family}_resnet{depth}" in names
    assert list_models("fcn_*") == [n for n in names if n.startswith("fcn_")]


def test_unknown_model_lists_valid_names() -> None:
    with pytest.raises(UnknownNameError, match="danet_resnet50"):
        danet.create_model("danet_resnet51", num_classes=3)


@pytest.mark.parametrize(
    "options",
    [{"stem": "5x5"}, {"output_stride": 32}, {"num_classes": 0}, {"colour": "red"}],
)
def test_bad_options_raise_config_errors(options: dict) -> None:
    options = {"num_classes": 3, **options}
    with pytest.raises(ConfigError):
        danet.create_model("danet_resnet18", **options)


@pytest.mark.parametrize("name", SMALL)
def test_eval_output_is_the_fused_map_at_input_size(name: str) -> None:
    model = danet.create_model(name, num_classes=5).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, 37, 51))
    assert list(out) == ["out"]
    assert out["out"].shape == (2, 5, 37, 51)
    assert torch.isfinite(out["out"]).all()


@pytest.mark.parametrize("name", SMALL)
def test_train_outputs_and_backward(name: str) -> None:
    model = danet.create_model(name, num_classes=4, aux=True).train()
    out = model(torch.randn(2, 3, 45, 33))
    expected = {"out", "aux"} | BRANCH_OUTPUTS[name.rpartition("_resnet")[0]]
    assert set(out) == expected
    assert all(v.shape == (2, 4, 45, 33) for v in out.values())
    sum(v.mean() for v in out.values()).backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads if g is not None)
    assert model.backbone.conv1.weight.grad is not None


def test_all_outputs_on_request_in_eval_mode() -> None:
    model = danet.create_model("danet_resnet18", num_classes=3).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, 32, 32), all_outputs=True)
    assert set(out) == {"out", "pam", "cam"}


@pytest.mark.parametrize("stem", ["7x7", "v1c", "s"])
@pytest.mark.parametrize("output_stride", [8, 16])
def test_stems_and_output_strides(stem: str, output_stride: int) -> None:
    model = danet.create_model("danet_resnet18", num_classes=3, stem=stem, output_stride=output_stride)
    model.eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        c3, c4 = model.backbone(x)
        out = model(x)["out"]
    assert c4.shape[-2:] == (64 // output_stride, 64 // output_stride)
    assert out.shape == (1, 3, 64, 64)


def test_dilations_follow_the_reference() -> None:
    model = danet.create_model("danet_resnet101", num_classes=19, multi_grid=True)
    layer3 = [b.conv2.dilation[0] for b in model.backbone.layer3]
    layer4 = [b.conv2.dilation[0] for b in model.backbone.layer4]
    assert layer3 == [1] + [2] * 22 and layer4 == [4, 8, 16]
    assert model.backbone.layer3[0].conv2.stride == (1, 1)
    plain = danet.create_model("danet_resnet50", num_classes=19)
    assert [b.conv2.dilation[0] for b in plain.backbone.layer4] == [2, 4, 4]
    os16 = danet.create_model("danet_resnet50", num_classes=19, output_stride=16)
    assert os16.backbone.layer3[0].conv2.stride == (2, 2)
    assert [b.conv2.dilation[0] for b in os16.backbone.layer4] == [1, 2, 2]


def test_exact_parameter_counts() -> None:
    assert _params(danet.create_model("danet_resnet50", num_classes=19)) == 47_462_651
    official = danet.create_model("danet_resnet101", num_classes=19, multi_grid=True)
    assert _params(official) == 66_454_779
    assert _params(official.head) == 23_954_619


def test_head_is_exactly_the_released_head() -> None:
    head = danet.create_model("danet_resnet50", num_classes=19).head
    assert head.pam_in[0].weight.shape == (512, 2048, 3, 3) and head.pam_in[0].bias is None
    assert head.cam_in[0] is not head.pam_in[0]
    assert head.pam.query.weight.shape == (64, 512, 1, 1)
    for classifier in (head.pam_classifier, head.cam_classifier, head.classifier):
        assert isinstance(classifier[0], torch.nn.Dropout2d) and classifier[0].p == 0.1
        assert classifier[1].weight.shape == (19, 512, 1, 1) and classifier[1].bias is not None


def test_new_model_is_a_dilated_fcn_until_gammas_learn() -> None:
    model = danet.create_model("danet_resnet18", num_classes=3)
    assert model.head.pam.gamma.item() == 0 and model.head.cam.gamma.item() == 0


def test_align_corners_option_changes_upsampling() -> None:
    torch.manual_seed(0)
    a = danet.create_model("danet_resnet18", num_classes=3, align_corners=True).eval()
    b = danet.create_model("danet_resnet18", num_classes=3, align_corners=False).eval()
    b.load_state_dict(a.state_dict())
    x = torch.randn(1, 3, 40, 40)
    with torch.no_grad():
        assert not torch.allclose(a(x)["out"], b(x)["out"])


def test_constructors_touch_neither_network_nor_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins
    import socket

    def refuse(*args, **kwargs):
        raise AssertionError("model construction must not do I/O")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(builtins, "open", refuse)
    monkeypatch.setattr(torch, "load", refuse)
    danet.create_model("danet_resnet50", num_classes=19, aux=True)


def test_set_pam_implementation_keeps_the_numbers() -> None:
    torch.manual_seed(0)
    model = danet.create_model("danet_resnet18", num_classes=3).eval()
    with torch.no_grad():
        model.head.pam.gamma.fill_(0.5)
        x = torch.randn(1, 3, 64, 64)
        a = model(x)["out"]
        model.set_pam_implementation("naive")
        b = model(x)["out"]
    assert torch.allclose(a, b, atol=1e-4)
