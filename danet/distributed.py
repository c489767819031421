"""Process-group helpers for `torchrun` training: start-up, rank queries, small collectives.

Launched by `torchrun` the environment holds RANK, WORLD_SIZE, LOCAL_RANK and the rendezvous address;
without it everything here describes a single process and the collectives are no-ops. NCCL is used on
CUDA, gloo on the CPU.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

from danet.devices import resolve_device
from danet.errors import ConfigError, DeviceError


@dataclass(frozen=True)
class DistContext:
    """Where this process stands: its rank, the number of processes and its device."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")
    backend: str | None = None

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def _env_int(name: str, default: str) -> int:
    """A whole-number launcher variable (WORLD_SIZE, RANK, LOCAL_RANK); a bad value is a ConfigError."""
    raw = os.environ.get(name, default).strip()
    if not raw.isdigit():
        raise ConfigError(f"{name}={raw!r} must be a whole number 0 or more (torchrun sets it)")
    return int(raw)


def launched_by_torchrun() -> bool:
    return _env_int("WORLD_SIZE", "1") > 1


def init_distributed(device_spec: str = "auto") -> DistContext:
    """Resolve the device and, under torchrun, join the process group (one GPU per process)."""
    if not launched_by_torchrun():
        return DistContext(device=resolve_device(device_spec))
    rank, world = _env_int("RANK", ""), _env_int("WORLD_SIZE", "1")
    local_rank = _env_int("LOCAL_RANK", "0")
    device = _distributed_device(device_spec, local_rank)
    backend = "nccl" if device.type == "cuda" else "gloo"
    if not dist.is_initialized():
        if device.type == "cuda":
            dist.init_process_group(backend, device_id=device)
        else:
            dist.init_process_group(backend)
    return DistContext(rank, world, local_rank, device, backend)


def _distributed_device(spec: str, local_rank: int) -> torch.device:
    spec = (spec or "auto").lower()
    base = resolve_device("cuda" if spec.startswith("cuda") else spec)
    if base.type == "mps":
        raise DeviceError("distributed training runs on CUDA (NCCL) or the CPU (gloo), not on MPS")
    if base.type != "cuda":
        return base
    if spec.startswith("cuda:"):
        raise ConfigError("under torchrun give --device cuda (each process takes its LOCAL_RANK GPU)")
    if local_rank >= torch.cuda.device_count():
        raise DeviceError(
            f"LOCAL_RANK {local_rank} but this machine has {torch.cuda.device_count()} CUDA device(s); "
            "use --nproc_per_node at most the number of GPUs"
        )
    torch.cuda.set_device(local_rank)
    return torch.device("cuda", local_rank)


def cleanup() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def barrier(ctx: DistContext) -> None:
    if ctx.distributed:
        dist.barrier()


def broadcast_object(ctx: DistContext, value: Any) -> Any:
    """Rank 0's `value` on every rank."""
    if not ctx.distributed:
        return value
    box = [value if ctx.is_main else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def gather_objects(ctx: DistContext, value: Any) -> list[Any]:
    """Every rank's `value`, in rank order, on every rank."""
    if not ctx.distributed:
        return [value]
    values: list[Any] = [None] * ctx.world_size
    dist.all_gather_object(values, value)
    return values


def any_true(ctx: DistContext, flags: list[bool]) -> list[bool]:
    """Element-wise OR of boolean flags over all ranks (one small all-reduce)."""
    if not ctx.distributed:
        return list(flags)
    device = ctx.device if ctx.backend == "nccl" else torch.device("cpu")
    tensor = torch.tensor([1.0 if f else 0.0 for f in flags], device=device)
    dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
    return [bool(v) for v in tensor.tolist()]
