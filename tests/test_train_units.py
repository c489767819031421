"""Building blocks of training: data order, poly schedule, param groups, loss terms, RNG state, signals."""

from __future__ import annotations

import io
import os
import random
import signal

import numpy as np
import pytest
import torch

from danet.config import LossWeights
from danet.errors import ConfigError
from danet.models import create_model
from danet.training.data import DeterministicBatchSampler, epoch_order
from danet.training.losses import SegmentationLoss
from danet.training.optim import PolyLR, param_groups
from danet.training.signals import stop_requests
from danet.training.state import capture_rng_state, restore_rng_state


def sampler(**options) -> DeterministicBatchSampler:
    settings = {"num_samples": 10, "batch_size": 4, "seed": 3, "start": 0, "stop": 6, **options}
    return DeterministicBatchSampler(**settings)


def test_batches_depend_only_on_seed_and_iteration() -> None:
    full = list(sampler())
    assert list(sampler(start=4)) == full[4:]  # resuming at 4 sees the same batches
    assert list(sampler(seed=4)) != full
    assert len(full) == 6 and all(len(batch) == 4 for batch in full)


def test_each_epoch_draws_samples_without_replacement() -> None:
    batches = list(sampler(stop=2))  # 10 samples, batch 4: 2 iterations per epoch, 2 samples skipped
    indices = [index for batch in batches for index, _ in batch]
    assert len(set(indices)) == 8
    assert indices == epoch_order(3, 0, 10)[:8].tolist()


def test_augmentation_seeds_differ_between_epochs_for_the_same_image() -> None:
    keys = [key for batch in sampler(num_samples=4, stop=2) for key in batch]  # 1 iteration per epoch
    seeds = {index: [] for index in range(4)}
    for index, seed in keys:
        seeds[index].append(seed)
    assert all(len(set(values)) == len(values) for values in seeds.values())


def test_distributed_ranks_split_the_global_batch() -> None:
    whole = list(sampler())
    parts = [list(sampler(rank=r, world_size=2)) for r in range(2)]
    for i, batch in enumerate(whole):
        assert parts[0][i] + parts[1][i] == batch


def test_global_batch_must_split_evenly_across_processes() -> None:
    with pytest.raises(ConfigError, match="split evenly over 3 processes"):
        sampler(world_size=3)


def _optimizer(lr: float = 0.1) -> torch.optim.SGD:
    params = [torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))]
    groups = [{"params": [params[0]], "lr": lr}, {"params": [params[1]], "lr": lr * 10}]
    return torch.optim.SGD(groups, lr=lr, momentum=0.9)


def _advance(optimizer: torch.optim.Optimizer, scheduler: PolyLR, steps: int) -> None:
    for _ in range(steps):
        optimizer.step()
        scheduler.step()


def test_poly_schedule_per_iteration_keeps_the_head_at_ten_times() -> None:
    optimizer = _optimizer()
    scheduler = PolyLR(optimizer, max_iters=10, power=0.9)
    assert scheduler.get_last_lr() == pytest.approx([0.1, 1.0])
    _advance(optimizer, scheduler, 5)
    assert scheduler.get_last_lr() == pytest.approx([0.1 * 0.5**0.9, 1.0 * 0.5**0.9])
    _advance(optimizer, scheduler, 5)
    assert scheduler.get_last_lr() == pytest.approx([0.0, 0.0])


def test_poly_floor_and_extending_the_total() -> None:
    optimizer = _optimizer()
    scheduler = PolyLR(optimizer, max_iters=10, power=1.0, min_lr=0.01)
    _advance(optimizer, scheduler, 5)
    assert scheduler.get_last_lr()[0] == pytest.approx(0.09 * 0.5 + 0.01)
    scheduler.set_total(20)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.09 * 0.75 + 0.01)


def test_head_parameters_get_the_multiplied_learning_rate() -> None:
    model = create_model("danet_resnet18", num_classes=3, aux=True)
    backbone, head = param_groups(model, 0.01, 10.0)
    assert backbone["lr"] == 0.01 and head["lr"] == pytest.approx(0.1)
    assert len(backbone["params"]) == len(list(model.backbone.parameters()))
    assert len(backbone["params"]) + len(head["params"]) == len(list(model.parameters()))


def test_danet_loss_sums_fused_pam_and_cam_and_weights_aux() -> None:
    target = torch.randint(0, 3, (2, 8, 8))
    target[0, 0, 0] = 255  # ignored
    logits = {name: torch.randn(2, 3, 8, 8) for name in ("out", "pam", "cam", "aux")}
    total, terms = SegmentationLoss(LossWeights())(logits, target)
    ce = {k: torch.nn.functional.cross_entropy(v, target, ignore_index=255) for k, v in logits.items()}
    assert set(terms) == {"loss_out", "loss_pam", "loss_cam", "loss_aux"}
    assert total.item() == pytest.approx((ce["out"] + ce["pam"] + ce["cam"] + 0.4 * ce["aux"]).item())


def test_fcn_loss_uses_only_the_outputs_it_has() -> None:
    target = torch.randint(0, 3, (1, 4, 4))
    total, terms = SegmentationLoss(LossWeights())({"out": torch.randn(1, 3, 4, 4)}, target)
    assert set(terms) == {"loss_out"} and total.item() == pytest.approx(terms["loss_out"].item())


def test_rng_state_round_trips_through_a_weights_only_file() -> None:
    torch.manual_seed(1), np.random.seed(1), random.seed(1)
    state = capture_rng_state()
    buffer = io.BytesIO()
    torch.save(state, buffer)
    expected = (torch.rand(3), np.random.rand(3), random.random())
    buffer.seek(0)
    restore_rng_state(torch.load(buffer, weights_only=True))
    again = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(expected[0], again[0]) and np.array_equal(expected[1], again[1])
    assert expected[2] == again[2]


def test_sigint_inside_the_guard_sets_the_stop_flag_instead_of_raising() -> None:
    before = signal.getsignal(signal.SIGINT)  # SIG_IGN when the suite runs in the background
    with stop_requests() as stop:
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.is_set() and stop.exit_code == 130
        with pytest.raises(KeyboardInterrupt):  # a second Ctrl-C stops at once
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is before


def test_sigterm_inside_the_guard_asks_to_stop_with_exit_code_143() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with stop_requests() as stop:
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.is_set() and stop.signum == signal.SIGTERM and stop.exit_code == 143
    assert signal.getsignal(signal.SIGTERM) is before


@pytest.mark.parametrize("inherited", [signal.SIG_IGN, signal.default_int_handler])
def test_the_guard_restores_whatever_sigint_handler_it_found(inherited: object) -> None:
    previous = signal.signal(signal.SIGINT, inherited)
    try:
        with stop_requests():
            assert signal.getsignal(signal.SIGINT) is not inherited
        assert signal.getsignal(signal.SIGINT) is inherited
    finally:
        signal.signal(signal.SIGINT, previous)


class _Recorder:
    def __init__(self) -> None:
        self.messages: list[str] = []

    def info(self, message: str) -> None:
        self.messages.append(message)

    def warning(self, message: str) -> None:
        self.messages.append(f"warning: {message}")


def _torchvision_style_file(path, seed: int = 5):
    torch.manual_seed(seed)
    source = create_model("danet_resnet18", num_classes=3)
    state = dict(source.backbone.state_dict())
    state["fc.weight"], state["fc.bias"] = torch.zeros(1000, 512), torch.zeros(1000)  # dropped on load
    torch.save(state, path)
    return source


def test_backbone_weights_file_initialises_the_backbone(tmp_path) -> None:
    from danet.config import TrainConfig
    from danet.training.build import init_backbone

    source = _torchvision_style_file(tmp_path / "resnet18.pth")
    model, reporter = create_model("danet_resnet18", num_classes=3), _Recorder()
    config = TrainConfig(dataset="x", model="danet_resnet18", backbone_weights=str(tmp_path / "resnet18.pth"))
    init_backbone(model, config, reporter)
    for key, value in source.backbone.state_dict().items():
        assert torch.equal(model.backbone.state_dict()[key], value), key
    assert "backbone initialised from" in reporter.messages[0]


def test_auto_backbone_weights_come_from_the_danet_cache(tmp_path, monkeypatch) -> None:
    import danet.download
    from danet.config import TrainConfig
    from danet.training.build import init_backbone

    source = _torchvision_style_file(tmp_path / "cached.pth")
    asked = []

    def fake_find(name: str, **_: object):
        asked.append(name)
        return tmp_path / "cached.pth" if name == "resnet18_imagenet1k_v1" else None

    monkeypatch.setattr(danet.download, "find_cached_weights", fake_find)
    model = create_model("danet_resnet18", num_classes=3)
    init_backbone(model, TrainConfig(dataset="x", model="danet_resnet18"), _Recorder())
    assert asked[0] == "resnet18_imagenet1k_v1"
    assert torch.equal(model.backbone.conv1.weight, source.backbone.conv1.weight)


def test_training_from_scratch_warns(monkeypatch) -> None:
    import danet.download
    from danet.config import TrainConfig
    from danet.training.build import init_backbone

    monkeypatch.setattr(danet.download, "find_cached_weights", lambda name, **_: None)
    reporter = _Recorder()
    model = create_model("danet_resnet18", num_classes=3)
    init_backbone(model, TrainConfig(dataset="x", model="danet_resnet18"), reporter)
    assert reporter.messages[0].startswith("warning: no ImageNet weights for ResNet-18")
    assert "danet download weights" in reporter.messages[0]
