"""The two attention modules of DANet.

Both follow the released code exactly: query/key projections to C/8 channels, no 1/sqrt(d) scaling,
scalar gammas that start at 0 (so a new module is the identity), and the channel attention applied to
rowmax(E) - E.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from danet.errors import ConfigError

PAM_IMPLEMENTATIONS = ("efficient", "chunked", "sdpa", "naive", "blocks")
# The chunked PAM computes BLOCK_ROWS queries at a time. Measured on a 2-core AVX-512 CPU (32 MB L3)
# at N = 4k, 8k and 32k positions, 512 rows was fastest at every size: fewer rows re-read V (C x N)
# once per block too often, more rows spill the (rows x N) energy block out of cache. CHUNK_ELEMENTS
# caps a block's size (all images together) at 64M energies = 256 MB in fp32 for very large inputs.
# On CUDA a block is as tall as CHUNK_ELEMENTS allows: there the cost is kernel launches, not cache.
BLOCK_ROWS = 512
CHUNK_ELEMENTS = 1 << 26
# `blocks` (for export) splits the queries into this many blocks when the size is not fixed at trace
# time: a dynamic ONNX file at 1024 x 2048 (N = 32k) then holds 1k x 32k energies (128 MB) at a time.
EXPORT_BLOCKS = 8
# The fused SDPA kernels handle the value width C by splitting it into C/d heads of the key width d,
# so they compute the energies C/d (= 8) times. Half precision pays that back: on an H100 at 128 x 256
# cuDNN's flash kernel ran the PAM in 5.4 ms against 13.8 ms naive. In fp32 only the memory-efficient
# kernel runs, and it took 65 ms against 31 ms naive and 31 ms for the blocks (a danet_resnet101
# training step at 768 x 768, batch 8: 422 ms with it, 347 ms with the blocks), so fp32 uses blocks.
_HALF = (torch.float16, torch.bfloat16)


class PositionAttention(nn.Module):
    """Position attention (PAM): every position attends to every other position.

    ``implementation`` chooses how the same numbers are computed:
    - ``naive``: the N x N attention matrix at once (N = H*W), as in the paper; O(N^2) memory.
    - ``chunked``: exact softmax attention over blocks of queries; memory O(N * block).
    - ``sdpa``: ``scaled_dot_product_attention`` with ``scale=1.0`` (fused kernels on CUDA).
    - ``efficient`` (default): ``sdpa`` on CUDA in half precision (autocast), ``chunked`` otherwise.
    - ``blocks``: the ``chunked`` block loop written with plain tensor ops, for exporters: unrolled
      into ceil(N / BLOCK_ROWS) blocks at a fixed size, EXPORT_BLOCKS blocks for any size.
    """

    def __init__(self, in_channels: int, *, implementation: str = "efficient") -> None:
        super().__init__()
        if in_channels < 8:
            raise ConfigError(f"PositionAttention needs at least 8 channels, got {in_channels}")
        self.in_channels = in_channels
        self.key_channels = in_channels // 8
        self.query = nn.Conv2d(in_channels, self.key_channels, 1)
        self.key = nn.Conv2d(in_channels, self.key_channels, 1)
        self.value = nn.Conv2d(in_channels, in_channels, 1)
        self.gamma = nn.Parameter(torch.zeros(()))
        self.implementation = implementation

    @property
    def implementation(self) -> str:
        return self._implementation

    @implementation.setter
    def implementation(self, value: str) -> None:
        self._implementation = self.check_implementation(value)

    @staticmethod
    def check_implementation(value: str) -> str:
        """`value` if it names a PAM implementation, else a `ConfigError` listing them."""
        if value not in PAM_IMPLEMENTATIONS:
            raise ConfigError(
                f"unknown PAM implementation {value!r}; use one of {', '.join(PAM_IMPLEMENTATIONS)}"
            )
        return value

    def _project(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        b, c, h, w = x.shape
        q = self.query(x).flatten(2).transpose(1, 2)  # (B, N, C/8)
        k = self.key(x).flatten(2)  # (B, C/8, N)
        v = self.value(x).flatten(2)  # (B, C, N)
        return q, k, v

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q, k, v = self._project(x)
        mode = self._implementation
        if mode == "efficient":
            mode = efficient_choice(q)
        if mode == "naive":
            out = _attend_naive(q, k, v)
        elif mode == "sdpa":
            out = _attend_sdpa(q, k, v)
        elif mode == "blocks":
            out = _attend_blocks(q, k, v)
        else:
            out = _attend_chunked(q, k, v)
        out = out.reshape(b, c, h, w)  # (B, C, N) -> (B, C, H, W)
        return self.gamma * out + x

    def attention_rows(self, x: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
        """Attention weights of the query positions ``indices`` (flat, 0..N-1): (B, len, N).

        Only the requested rows are computed, so this works at any resolution.
        """
        q, k, _ = self._project(x)
        q = q[:, indices]  # (B, L, C/8)
        energy = torch.bmm(q.float(), k.float())  # (B, L, C/8) @ (B, C/8, N) -> (B, L, N)
        return torch.softmax(energy, dim=-1)


def efficient_choice(q: torch.Tensor) -> str:
    """What ``efficient`` runs for queries `q`: ``sdpa`` (CUDA, half precision) or ``chunked``."""
    return "sdpa" if q.device.type == "cuda" and q.dtype in _HALF else "chunked"


def _attend_naive(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    energy = torch.bmm(q, k)  # (B, N, C/8) @ (B, C/8, N) -> (B, N, N)
    attention = torch.softmax(energy, dim=-1)  # rows: queries, softmax over keys
    return torch.bmm(v, attention.transpose(1, 2))  # (B, C, N) @ (B, N, N) -> (B, C, N)


def _block_rows(batch: int, n: int, device_type: str = "cpu") -> int:
    """Query rows per block: BLOCK_ROWS (on CUDA: no such cap), fewer if the block would exceed
    CHUNK_ELEMENTS energies."""
    rows = CHUNK_ELEMENTS // max(1, batch * n)
    if device_type != "cuda":
        rows = min(BLOCK_ROWS, rows)
    if rows >= 64:
        rows -= rows % 64
    return max(1, min(n, rows))


def _attend_chunked(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Exact attention one block of queries at a time, without autograd.

    One energy buffer is reused for every block and the softmax runs in place, so the memory beyond
    the inputs and output is one (B, rows, N) block; the output is written straight into its final
    (B, C, N) layout, so V is never transposed or copied.
    """
    if torch.is_grad_enabled() and (q.requires_grad or k.requires_grad or v.requires_grad):
        return _attend_chunked_autograd(q, k, v)
    b, n, _ = q.shape
    rows = _block_rows(b, n, q.device.type)
    out = v.new_empty(b, v.shape[1], n)  # (B, C, N)
    buffer = q.new_empty(b * rows * n)
    for start in range(0, n, rows):
        stop = min(n, start + rows)
        energy = buffer[: b * (stop - start) * n].view(b, stop - start, n)  # contiguous (B, n_q, N)
        torch.bmm(q[:, start:stop], k, out=energy)  # (B, n_q, C/8) @ (B, C/8, N) -> (B, n_q, N)
        torch.softmax(energy, dim=-1, out=energy)  # in place; rows: queries, softmax over keys
        # (B, C, N) @ (B, N, n_q) -> (B, C, n_q), the columns start:stop of the output
        torch.bmm(v, energy.transpose(1, 2), out=out[:, :, start:stop])
    return out


def _attend_chunked_autograd(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """The differentiable block loop (training): each block's attention is kept for backward."""
    b, n, _ = q.shape
    rows = _block_rows(b, n, q.device.type)
    if rows >= n:
        return _attend_naive(q, k, v)
    blocks = []
    for start in range(0, n, rows):
        energy = torch.bmm(q[:, start : start + rows], k)  # (B, n_q, C/8) @ (B, C/8, N) -> (B, n_q, N)
        attention = torch.softmax(energy, dim=-1)
        blocks.append(torch.bmm(v, attention.transpose(1, 2)))  # (B, C, N) @ (B, N, n_q) -> (B, C, n_q)
    return torch.cat(blocks, dim=2)  # (B, C, N)


def _attend_blocks(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Exact attention over a fixed number of query blocks, without in-place or `out=` ops, so an
    exporter records it as a graph whose peak memory is one block's energies, not N x N.

    V is transposed once so each block is a plain (n_q, N) @ (N, C) product: in ONNX Runtime that ran
    the value product faster than V @ attention^T (which it fuses with a transpose per block).
    """
    n = q.shape[1]
    # A plain int when the exporter traces a fixed size, a symbolic size for a dynamic export
    # (slices with symbolic bounds stay symbolic; tensor_split would freeze the example's split).
    parts = math.ceil(n / BLOCK_ROWS) if isinstance(n, int) else EXPORT_BLOCKS
    rows = (n + parts - 1) // parts
    values = v.transpose(1, 2)  # (B, C, N) -> (B, N, C)
    blocks = []
    for i in range(parts):
        q_block = q[:, i * rows : (i + 1) * rows]  # (B, n_q, C/8); the last blocks may be short or empty
        energy = torch.bmm(q_block, k)  # (B, n_q, C/8) @ (B, C/8, N) -> (B, n_q, N)
        attention = torch.softmax(energy, dim=-1)  # rows: queries, softmax over keys
        blocks.append(torch.bmm(attention, values))  # (B, n_q, N) @ (B, N, C) -> (B, n_q, C)
    return torch.cat(blocks, dim=1).transpose(1, 2)  # (B, N, C) -> (B, C, N)


def _attend_sdpa(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """SDPA with scale 1.0. The value width (C) is split into heads of the key width (C/8) that share
    the same query and key, so fused kernels (which need equal head sizes) can run."""
    b, n, d = q.shape
    c = v.shape[1]
    heads = math.ceil(c / d)
    if heads * d != c:
        return _attend_chunked(q, k, v)
    query = q.unsqueeze(1).expand(b, heads, n, d)  # (B, heads, N, d)
    key = k.transpose(1, 2).unsqueeze(1).expand(b, heads, n, d)  # (B, heads, N, d)
    value = v.reshape(b, heads, d, n).transpose(2, 3)  # (B, C, N) -> (B, heads, N, d)
    out = F.scaled_dot_product_attention(
        query.contiguous(), key.contiguous(), value.contiguous(), scale=1.0
    )  # (B, heads, N, d)
    return out.transpose(2, 3).reshape(b, c, n)  # (B, heads, d, N) -> (B, C, N)


class ChannelAttention(nn.Module):
    """Channel attention (CAM): every channel attends to every channel, weighted by dissimilarity.

    The released DANet code (and so every published checkpoint) applies softmax to
    rowmax(E) - E, which equals softmax(-E): channels that are *less* similar get *more* weight.
    The paper's formula says softmax(E); we follow the code.
    """

    def __init__(self) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        # Energies are sums over all N positions (1e3-1e4 on real features): keep CAM in fp32
        # even under bf16/fp16 autocast, where it would lose up to 15% accuracy.
        with torch.autocast(x.device.type, enabled=False):
            attention = self.attention(x)  # (B, C, C)
            flat = x.float().reshape(b, c, h * w)  # (B, C, N)
            out = torch.bmm(attention, flat).reshape(b, c, h, w)  # (B, C, C) @ (B, C, N)
        return (self.gamma * out + x).to(x.dtype)

    @staticmethod
    def attention(x: torch.Tensor) -> torch.Tensor:
        """The (B, C, C) channel attention matrix of ``x``, computed in fp32."""
        b, c = x.shape[:2]
        flat = x.float().reshape(b, c, -1)  # (B, C, N)
        energy = torch.bmm(flat, flat.transpose(1, 2))  # (B, C, N) @ (B, N, C) -> (B, C, C)
        energy = energy.amax(dim=-1, keepdim=True) - energy  # rowmax(E) - E
        return torch.softmax(energy, dim=-1)
