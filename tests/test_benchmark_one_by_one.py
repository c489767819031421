"""The one-by-one evaluation loop: the reference batched inference must reproduce exactly."""

from __future__ import annotations

import pytest
import torch

from danet.benchmark.one_by_one import compare_batched, count_forwards, one_by_one_probs
from danet.inference import InferenceConfig, predict_probs


def forward_fn():
    """A tiny deterministic logits function whose output depends on position and context."""
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(3, 4, 3, padding=1)

    @torch.no_grad()
    def forward(batch: torch.Tensor) -> torch.Tensor:
        return conv(batch) + batch.mean(dim=(1, 2, 3), keepdim=True)  # (B, 4, h, w)

    return forward


CONFIGS = {
    "slide multi-scale flip": InferenceConfig(
        mode="slide", crop_size=(24, 24), stride=(16, 16), scales=(0.5, 1.0, 1.5), flip=True, batch_size=8
    ),
    "slide small image padded": InferenceConfig(mode="slide", crop_size=(64, 64), stride=(40, 40)),
    "whole multi-scale flip": InferenceConfig(mode="whole", scales=(0.75, 1.25), flip=True),
}


@pytest.mark.parametrize("name", CONFIGS)
def test_one_by_one_loop_equals_batched_inference(name: str) -> None:
    image = torch.randn(2, 3, 40, 52)
    want = predict_probs(image, forward_fn(), CONFIGS[name])
    got = one_by_one_probs(image, forward_fn(), CONFIGS[name])
    assert got.shape == want.shape == (2, 4, 40, 52)
    assert torch.allclose(got, want, atol=1e-6)


def test_one_by_one_runs_every_crop_alone() -> None:
    calls = []
    forward = forward_fn()

    def counting(batch: torch.Tensor) -> torch.Tensor:
        calls.append(batch.shape[0])
        return forward(batch)

    image, config = torch.randn(1, 3, 40, 52), CONFIGS["slide multi-scale flip"]
    one_by_one_probs(image, counting, config)
    assert set(calls) == {1}
    assert len(calls) == count_forwards(image, config)


def test_compare_batched_reports_speedup_and_agreement() -> None:
    result = compare_batched(
        torch.randn(1, 3, 32, 40), forward_fn(), CONFIGS["slide multi-scale flip"], rounds=1
    )
    assert result["pixel_agreement"] == 1.0
    assert result["speedup"] > 0 and len(result["times_s"]["batched"]) == 1


@pytest.mark.parametrize(("device", "expected"), [("cpu", 2), ("cuda", 8), ("cuda:1", 8), ("mps", 8)])
def test_default_batch_size_follows_the_measurements(device: str, expected: int) -> None:
    from danet.inference import default_batch_size

    assert default_batch_size(device) == expected
    assert default_batch_size(torch.device(device)) == expected
