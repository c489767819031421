"""PAM and CAM against a direct, loop-based reading of the formulas in the paper/released code."""

from __future__ import annotations

import pytest
import torch

from danet.errors import ConfigError
from danet.models import ChannelAttention, PositionAttention


def _pam_by_loops(module: PositionAttention, x: torch.Tensor) -> torch.Tensor:
    """out_i = sum_j softmax_j(<q_i, k_j>) v_j; result = gamma * out + x (no 1/sqrt(d) scaling)."""
    b, c, h, w = x.shape
    q = module.query(x).reshape(b, -1, h * w)
    k = module.key(x).reshape(b, -1, h * w)
    v = module.value(x).reshape(b, c, h * w)
    out = torch.zeros(b, c, h * w, dtype=torch.float64)
    for n in range(b):
        for i in range(h * w):
            energy = torch.stack([(q[n, :, i] * k[n, :, j]).sum() for j in range(h * w)]).double()
            weights = torch.exp(energy - energy.max())
            weights = weights / weights.sum()
            out[n, :, i] = (v[n].double() * weights).sum(dim=1)
    return module.gamma.double() * out.reshape(b, c, h, w) + x.double()


def _cam_by_loops(module: ChannelAttention, x: torch.Tensor) -> torch.Tensor:
    """energy = X X^T; attention = softmax(rowmax(energy) - energy); out = attention X."""
    b, c, h, w = x.shape
    flat = x.reshape(b, c, h * w).double()
    out = torch.zeros_like(flat)
    for n in range(b):
        energy = torch.zeros(c, c, dtype=torch.float64)
        for i in range(c):
            for j in range(c):
                energy[i, j] = (flat[n, i] * flat[n, j]).sum()
        for i in range(c):
            row = energy[i].max() - energy[i]
            weights = torch.exp(row - row.max())
            weights = weights / weights.sum()
            out[n, i] = (weights[:, None] * flat[n]).sum(dim=0)
    return module.gamma.double() * out.reshape(b, c, h, w) + x.double()


@pytest.fixture
def pam() -> PositionAttention:
    torch.manual_seed(0)
    module = PositionAttention(16, implementation="naive").eval()
    with torch.no_grad():
        module.gamma.fill_(0.7)
    return module


@pytest.mark.parametrize("implementation", ["naive", "chunked", "sdpa", "efficient"])
def test_pam_matches_the_formula(pam: PositionAttention, implementation: str) -> None:
    x = torch.randn(2, 16, 3, 5)
    pam.implementation = implementation
    with torch.no_grad():
        got = pam(x)
        want = _pam_by_loops(pam, x)
    assert torch.allclose(got.double(), want, atol=1e-5)


def test_cam_matches_the_formula_including_the_rowmax_trick() -> None:
    torch.manual_seed(1)
    cam = ChannelAttention()
    with torch.no_grad():
        cam.gamma.fill_(-0.3)
    x = torch.randn(2, 6, 4, 3) * 0.5
    with torch.no_grad():
        assert torch.allclose(cam(x).double(), _cam_by_loops(cam, x), atol=1e-5)


def test_cam_weights_less_similar_channels_more() -> None:
    x = torch.tensor([[1.0, 1.0], [1.0, 1.0], [-1.0, -1.0]]).reshape(1, 3, 1, 2)
    attention = ChannelAttention.attention(x)[0]
    assert attention[0, 2] > attention[0, 1]  # channel 2 is the least similar to channel 0
    assert torch.allclose(attention.sum(-1), torch.ones(3))


def test_gamma_zero_gives_the_identity() -> None:
    x = torch.randn(1, 16, 4, 4)
    with torch.no_grad():
        assert torch.equal(PositionAttention(16)(x), x)
        assert torch.equal(ChannelAttention()(x), x)


def test_gammas_are_learned_scalars_starting_at_zero() -> None:
    pam, cam = PositionAttention(64), ChannelAttention()
    assert pam.gamma.shape == () and pam.gamma.item() == 0 and pam.gamma.requires_grad
    assert cam.gamma.shape == () and cam.gamma.item() == 0
    assert pam.query.out_channels == pam.key.out_channels == 8  # C/8
    assert pam.value.out_channels == 64


@pytest.mark.parametrize("shape", [(1, 32, 7, 9), (3, 32, 16, 16), (2, 64, 33, 20), (1, 32, 64, 72)])
@pytest.mark.parametrize("implementation", ["chunked", "sdpa"])
def test_efficient_pam_equals_naive(
    shape: tuple[int, int, int, int], implementation: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import danet.models.attention as attention

    monkeypatch.setattr(attention, "CHUNK_ELEMENTS", 4096)  # force many query blocks at test sizes
    torch.manual_seed(2)
    module = PositionAttention(shape[1]).eval()
    with torch.no_grad():
        module.gamma.fill_(1.3)
        x = torch.randn(*shape)
        module.implementation = "naive"
        want = module(x)
        module.implementation = implementation
        got = module(x)
    assert (got - want).abs().max().item() < 1e-4


def test_chunked_pam_backpropagates_like_naive() -> None:
    torch.manual_seed(3)
    module = PositionAttention(16)
    with torch.no_grad():
        module.gamma.fill_(0.5)
    x = torch.randn(2, 16, 6, 6, requires_grad=True)
    grads = []
    for implementation in ("naive", "chunked"):
        module.implementation = implementation
        module.zero_grad()
        x.grad = None
        module(x).square().sum().backward()
        grads.append((x.grad.clone(), module.query.weight.grad.clone()))
    assert torch.allclose(grads[0][0], grads[1][0], atol=1e-4)
    assert torch.allclose(grads[0][1], grads[1][1], atol=1e-3)


def test_attention_rows_equal_the_naive_matrix_rows(pam: PositionAttention) -> None:
    x = torch.randn(1, 16, 5, 6)
    q = pam.query(x).flatten(2).transpose(1, 2)
    k = pam.key(x).flatten(2)
    full = torch.softmax(torch.bmm(q, k), dim=-1)
    rows = torch.tensor([0, 7, 29])
    with torch.no_grad():
        got = pam.attention_rows(x, rows)
    assert torch.allclose(got, full[:, rows].detach(), atol=1e-6)
    assert torch.allclose(got.sum(-1), torch.ones(1, 3))


def test_cam_stays_fp32_under_bf16_autocast() -> None:
    torch.manual_seed(4)
    cam = ChannelAttention()
    with torch.no_grad():
        cam.gamma.fill_(1.0)
    x = torch.randn(1, 32, 16, 16) * 10
    with torch.no_grad():
        want = cam(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            got = cam(x)
    assert got.dtype == x.dtype
    assert torch.allclose(got, want, atol=1e-4)


def test_unknown_pam_implementation_is_an_error() -> None:
    with pytest.raises(ConfigError, match="naive"):
        PositionAttention(16, implementation="fast")
