"""Saving and restoring the full training state of a run (rank 0 writes, every rank restores)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from danet.checkpoints import (
    FORMAT,
    VERSION,
    load_state_dict_strict,
    read_checkpoint,
    save_checkpoint,
    unwrap,
)
from danet.config import TrainConfig
from danet.distributed import DistContext, gather_objects
from danet.errors import CheckpointError, ConfigError
from danet.fileio import atomic_path
from danet.training.optim import PolyLR
from danet.training.state import capture_rng_state, restore_rng_state

# Keys a resumed run may change: they do not alter the arithmetic of training.
RESUME_OVERRIDABLE = (
    "iters", "epochs", "workers", "device", "precision", "channels_last", "data_root",
    "val_every", "log_every", "save_every", "val", "save_half", "logger", "patience",
)  # fmt: skip


@torch.no_grad()
def save_training_state(
    path: Path,
    model: nn.Module,
    ctx: DistContext,
    *,
    optimizer: torch.optim.Optimizer,
    scheduler: PolyLR,
    scaler: torch.amp.GradScaler,
    dataset: Mapping[str, Any],
    config: TrainConfig,
    **extra: Any,
) -> None:
    """Write a resumable checkpoint atomically; every rank must call this (RNG states are gathered)."""
    rng_states = gather_objects(ctx, capture_rng_state())
    if not ctx.is_main:
        return
    save_checkpoint(
        path,
        unwrap(model),
        dataset=dataset,
        config=config.to_dict(),
        optimizer=optimizer.state_dict(),
        scheduler=scheduler.state_dict(),
        scaler=scaler.state_dict(),
        rng=rng_states,
        world_size=ctx.world_size,
        **extra,
    )


# What only resuming needs; prediction, evaluation and export never read these.
TRAINING_STATE_KEYS = ("optimizer", "scheduler", "scaler", "rng", "world_size")


def lean_checkpoint(checkpoint: Mapping[str, Any], *, half: bool = False) -> dict[str, Any]:
    """`checkpoint` without its training state; with `half`, floating-point weights in fp16.

    Loading casts fp16 weights back to the model's fp32 (`load_state_dict` copies into the
    parameters), so a half checkpoint only loses the precision fp16 cannot hold.
    """
    lean = {k: v for k, v in checkpoint.items() if k not in TRAINING_STATE_KEYS}
    if half:
        lean["state_dict"] = {
            k: v.half() if v.is_floating_point() else v for k, v in checkpoint["state_dict"].items()
        }
        lean["weights_dtype"] = "float16"
    return lean


def write_checkpoint(path: Path, payload: Mapping[str, Any]) -> None:
    """torch.save `payload` atomically (a temporary file, then a rename)."""
    with atomic_path(path) as tmp:
        torch.save(dict(payload), tmp)


@torch.no_grad()
def save_lean_checkpoint(
    path: Path, model: nn.Module, *, dataset: Mapping[str, Any], config: TrainConfig, half: bool, **extra: Any
) -> None:
    """Write what prediction needs: weights, model and dataset metadata, config, scores (best.pt)."""
    model = unwrap(model)
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "model": model.config.to_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "dataset": dict(dataset),
        "config": config.to_dict(),
        **extra,
    }
    write_checkpoint(path, lean_checkpoint(payload, half=half))


def restore_training_state(
    checkpoint: Mapping[str, Any],
    model: nn.Module,
    ctx: DistContext,
    *,
    optimizer: torch.optim.Optimizer,
    scheduler: PolyLR,
    scaler: torch.amp.GradScaler,
    total_iters: int,
) -> list[str]:
    """Load weights and optimiser/scheduler/scaler/RNG states; returns warnings to show."""
    warnings = []
    load_state_dict_strict(unwrap(model), checkpoint["state_dict"], "the resumed checkpoint")
    optimizer.load_state_dict(checkpoint["optimizer"])
    scheduler.load_state_dict(checkpoint["scheduler"])
    if scheduler.max_iters != total_iters:
        warnings.append(
            f"the run length changed from {scheduler.max_iters} to {total_iters} iterations: "
            "the poly schedule is recomputed for the new total from here on"
        )
        scheduler.set_total(total_iters)
    if checkpoint.get("scaler"):
        scaler.load_state_dict(checkpoint["scaler"])
    rng = checkpoint.get("rng") or []
    if len(rng) == ctx.world_size:
        restore_rng_state(rng[ctx.rank])
    else:
        warnings.append(
            f"the checkpoint was written by {len(rng)} process(es), this run has {ctx.world_size}: random "
            "states are seeded afresh, so the result will not match an uninterrupted run bit for bit"
        )
    return warnings


TRAIN_TRUST_HINT = "danet train resumes only from checkpoints that danet train wrote; start a new run instead"


def read_resume_checkpoint(path: Path) -> dict[str, Any]:
    checkpoint = read_checkpoint(path, trust_hint=TRAIN_TRUST_HINT)
    if not isinstance(checkpoint, Mapping):
        raise CheckpointError(f"{path} is not a resumable training checkpoint (not a dict)")
    missing = [k for k in ("config", "optimizer", "scheduler", "iteration") if k not in checkpoint]
    if missing:
        raise CheckpointError(f"{path} is not a resumable training checkpoint (no {', '.join(missing)})")
    return checkpoint


def resume_config(checkpoint: Mapping[str, Any], overrides: Mapping[str, Any], source: str) -> TrainConfig:
    """The run's saved config with the few `overrides` a resumed run may change."""
    from danet.config import merge

    refused = sorted(k for k in overrides if k not in RESUME_OVERRIDABLE)
    if refused:
        raise ConfigError(
            f"--resume continues {source} with its saved settings; cannot change {', '.join(refused)} "
            f"(changeable: {', '.join(RESUME_OVERRIDABLE)})"
        )
    return TrainConfig.from_dict(merge(checkpoint["config"], overrides), source=source)


HASH_DIR_ENV = "DANET_TRAIN_HASH_DIR"  # tests: every process writes a hash of its final weights here


def write_weight_hash(model: nn.Module, rank: int) -> None:
    """With $DANET_TRAIN_HASH_DIR set, write `rank<N>.sha256` of the parameters (BN running stats,
    which DDP leaves per process, are skipped): lets tests check that all processes agree."""
    folder = os.environ.get(HASH_DIR_ENV)
    if not folder:
        return
    digest = hashlib.sha256()
    for name, tensor in sorted(unwrap(model).state_dict().items()):
        if tensor.is_floating_point() and "running_" not in name:
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    Path(folder).mkdir(parents=True, exist_ok=True)
    (Path(folder) / f"rank{rank}.sha256").write_text(digest.hexdigest())
