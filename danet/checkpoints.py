"""danet checkpoints: atomic saving, safe loading (`weights_only=True`), and `load_model`.

A danet checkpoint is a dict::

    {"format": "danet", "version": 1,
     "model": ModelConfig as a dict, "state_dict": {...},
     "dataset": {"name", "class_names", "palette", "ignore_index"},
     "config": resolved training config (dict) or None,
     ...training state (optimizer, scheduler, scaler, rng, iteration) when written by training}
"""

from __future__ import annotations

import os
import pickle
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from danet.errors import CheckpointError
from danet.fileio import atomic_path
from danet.models import ModelConfig, build_from_config

FORMAT = "danet"
VERSION = 1


def unwrap(model: nn.Module) -> nn.Module:
    """The plain model inside DDP / torch.compile wrappers."""
    while True:
        inner = getattr(model, "module", None) or getattr(model, "_orig_mod", None)
        if not isinstance(inner, nn.Module):
            return model
        model = inner


def save_checkpoint(
    path: str | os.PathLike[str],
    model: nn.Module,
    *,
    dataset: Mapping[str, Any] | None = None,
    config: Mapping[str, Any] | None = None,
    **state: Any,
) -> Path:
    """Write a danet checkpoint atomically (temporary file, then rename)."""
    model = unwrap(model)
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "model": model.config.to_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "dataset": dict(dataset) if dataset else None,
        "config": dict(config) if config else None,
        **state,
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return Path(path)


def read_checkpoint(path: str | os.PathLike[str], *, trust: bool = False) -> Any:
    """Load a checkpoint file on the CPU with `weights_only=True` (or full unpickling if `trust`)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        return torch.load(path, map_location="cpu", weights_only=not trust)
    except pickle.UnpicklingError as error:
        raise CheckpointError(
            f"{path} contains objects other than tensors and plain containers, which could run "
            f"arbitrary code when loaded; refusing it. If you trust the file, pass --trust "
            f"(detail: {str(error).splitlines()[0]})"
        ) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as error:
        raise CheckpointError(f"{path} is not a readable PyTorch checkpoint: {error}") from None


def load_state_dict_strict(model: nn.Module, state_dict: Mapping[str, torch.Tensor], source: str) -> None:
    """Load every tensor by name; any missing, unexpected or mis-shaped key raises, naming the keys."""
    own = model.state_dict()
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    wrong = [
        f"{k} {tuple(state_dict[k].shape)} vs {tuple(own[k].shape)}"
        for k in state_dict
        if k in own and tuple(state_dict[k].shape) != tuple(own[k].shape)
    ]
    if missing or unexpected or wrong:
        raise CheckpointError(f"{source} does not fit the model: " + _describe(missing, unexpected, wrong))
    model.load_state_dict(state_dict, strict=True)


def _describe(missing: list[str], unexpected: list[str], wrong: list[str]) -> str:
    parts = []
    for label, keys in (("missing keys", missing), ("unexpected keys", unexpected), ("wrong shapes", wrong)):
        if keys:
            shown = ", ".join(keys[:5]) + (f" and {len(keys) - 5} more" if len(keys) > 5 else "")
            parts.append(f"{label}: {shown}")
    return "; ".join(parts)


def is_danet_checkpoint(obj: Any) -> bool:
    return isinstance(obj, Mapping) and obj.get("format") == FORMAT and "state_dict" in obj


def model_from_danet_checkpoint(checkpoint: Mapping[str, Any], source: str, **overrides: Any) -> nn.Module:
    """Build the model a danet checkpoint describes and load its weights strictly."""
    options = {**checkpoint["model"], **overrides}
    config = ModelConfig.from_dict(options)
    stored_classes = checkpoint["model"]["num_classes"]
    if config.num_classes != stored_classes:
        raise CheckpointError(
            f"{source} was trained for {stored_classes} classes but {config.num_classes} were asked for"
        )
    model = build_from_config(config)
    load_state_dict_strict(model, checkpoint["state_dict"], source)
    return model


def load_model(path: str | os.PathLike[str], *, trust: bool = False, **overrides: Any) -> nn.Module:
    """A ready model (eval mode, CPU) from a danet checkpoint file.

    ``overrides`` replace stored model options that do not change the weights (``align_corners``,
    ``pam_implementation``). The dataset metadata is attached as ``model.dataset_meta`` (a dict or None).
    """
    checkpoint = read_checkpoint(path, trust=trust)
    if not is_danet_checkpoint(checkpoint):
        raise CheckpointError(f"{path} is not a danet checkpoint (no 'format': 'danet' entry)")
    model = model_from_danet_checkpoint(checkpoint, str(path), **overrides)
    model.dataset_meta = checkpoint.get("dataset")
    return model.eval()
