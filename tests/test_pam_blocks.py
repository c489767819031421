"""The blockwise PAM kernel (`_attend_chunked`): exact against the naive one in every code path."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

import danet.models.attention as attention


def qkv(batch: int, n: int, channels: int = 32) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    torch.manual_seed(batch * 1000 + n)
    q = torch.randn(batch, n, channels // 8)  # (B, N, C/8)
    k = torch.randn(batch, channels // 8, n)  # (B, C/8, N)
    v = torch.randn(batch, channels, n)  # (B, C, N)
    return q, k, v


@pytest.mark.parametrize(("batch", "n", "rows"), [(1, 150, 64), (3, 150, 64), (2, 97, 7), (1, 40, 512)])
def test_blocks_with_a_partial_last_block_equal_naive(
    batch: int, n: int, rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(attention, "BLOCK_ROWS", rows)
    q, k, v = qkv(batch, n)
    with torch.inference_mode():
        got = attention._attend_chunked(q, k, v)
        want = attention._attend_naive(q, k, v)
    assert got.shape == want.shape == (batch, 32, n)
    assert (got - want).abs().max().item() < 1e-5


def test_block_size_is_capped_by_chunk_elements(monkeypatch: pytest.MonkeyPatch) -> None:
    assert attention._block_rows(1, 32768) == attention.BLOCK_ROWS
    monkeypatch.setattr(attention, "CHUNK_ELEMENTS", 1 << 20)
    assert attention._block_rows(4, 4096) == 64
    assert attention._block_rows(4, 1 << 20) == 1


def test_cuda_blocks_are_bounded_only_by_chunk_elements() -> None:
    # On CUDA the cost is kernel launches: blocks grow to CHUNK_ELEMENTS energies (2048 rows at N=32k).
    assert attention._block_rows(1, 32768, "cuda") == attention.CHUNK_ELEMENTS // 32768
    assert attention._block_rows(1, 32768, "cpu") == attention.BLOCK_ROWS
    assert attention._block_rows(1, 100, "cuda") == 100  # one block when everything fits


@pytest.mark.parametrize(
    ("device", "dtype", "expected"),
    [
        ("cuda", torch.bfloat16, "sdpa"),
        ("cuda", torch.float16, "sdpa"),
        ("cuda", torch.float32, "chunked"),  # SDPA's fp32 kernel measured 2x slower than blocks
        ("cpu", torch.bfloat16, "chunked"),
        ("cpu", torch.float32, "chunked"),
        ("mps", torch.float16, "chunked"),
    ],
)
def test_efficient_picks_sdpa_only_for_half_precision_on_cuda(
    device: str, dtype: torch.dtype, expected: str
) -> None:
    # A stand-in for a CUDA tensor: the choice reads only the device type and the dtype.
    q = SimpleNamespace(device=torch.device(device), dtype=dtype)
    assert attention.efficient_choice(q) == expected


def test_bf16_autocast_keeps_the_naive_dtype_and_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(attention, "BLOCK_ROWS", 16)
    q, k, v = (t.bfloat16() for t in qkv(2, 50))
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        got = attention._attend_chunked(q, k, v)
        want = attention._attend_naive(q, k, v)
    assert got.dtype == want.dtype == torch.bfloat16
    assert torch.allclose(got.float(), want.float(), atol=0.05, rtol=0.02)


def test_gradients_through_several_blocks_equal_naive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(attention, "BLOCK_ROWS", 8)
    grads = []
    for fn in (attention._attend_naive, attention._attend_chunked):
        q, k, v = (t.requires_grad_() for t in qkv(2, 30))
        fn(q, k, v).square().sum().backward()
        grads.append([t.grad for t in (q, k, v)])
    for naive, chunked in zip(*grads, strict=True):
        assert torch.allclose(naive, chunked, atol=1e-4)


def test_inputs_that_require_grad_still_take_the_fast_path_under_no_grad() -> None:
    q, k, v = (t.requires_grad_() for t in qkv(1, 20))
    with torch.no_grad():
        got = attention._attend_chunked(q, k, v)
    assert not got.requires_grad
    assert torch.allclose(got, attention._attend_naive(q, k, v).detach(), atol=1e-5)
