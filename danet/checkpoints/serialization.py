"""Checkpoint files: atomic saving, safe reading (`weights_only=True`) and strict loading of weights.

Turning a file into a model is `danet.checkpoints.load_model`; the layouts it reads are in
`danet.checkpoints.formats`. A danet checkpoint is a dict::

    {"format": "danet", "version": 1,
     "model": ModelConfig as a dict, "state_dict": {...},
     "dataset": {"name", "class_names", "palette", "ignore_index"},
     "config": resolved training config (dict) or None,
     ...training state (optimizer, scheduler, scaler, rng, iteration) when written by training}
"""

from __future__ import annotations

import os
import pickle
import re
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from danet.errors import CheckpointError
from danet.fileio import atomic_path
from danet.models.naming import describe_mismatch

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
    if not hasattr(model, "config"):
        raise CheckpointError(
            f"cannot save a {type(model).__name__}: it has no `config` saying how to rebuild it; build "
            "models with danet.create_model (a registered builder) so they carry one"
        )
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
        try:
            torch.save(payload, tmp)
        except RuntimeError as error:  # torch's writer reports a full disk as RuntimeError
            raise CheckpointError(
                f"could not write {path}: {_first_line(error)} (is the disk full?)"
            ) from None
    return Path(path)


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _first_line(error: BaseException) -> str:
    """The first non-empty line of an error, without terminal colour codes; its type when empty."""
    lines = [line.strip() for line in _ANSI.sub("", str(error)).splitlines() if line.strip()]
    return lines[0][:300] if lines else type(error).__name__


TRUST_HINT = "If the file comes from a source you trust, pass --trust (trust=True)"


def read_checkpoint(
    path: str | os.PathLike[str], *, trust: bool = False, trust_hint: str = TRUST_HINT
) -> Any:
    """Load a checkpoint file on the CPU with `weights_only=True` (or full unpickling if `trust`).

    `trust_hint` ends the message of a refused file (a command without --trust says what to do instead).
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path} is not a readable PyTorch checkpoint: the file is empty (0 bytes)")
    try:
        return torch.load(path, map_location="cpu", weights_only=not trust)
    except pickle.UnpicklingError as error:
        raise CheckpointError(_unpickling_message(path, _ANSI.sub("", str(error)), trust_hint)) from None
    except (ImportError, AttributeError) as error:  # a trusted pickle naming missing code
        raise CheckpointError(
            f"{path} needs Python code that is not installed to be unpickled ({_first_line(error)}); "
            "it is not a checkpoint danet can read"
        ) from None
    except EOFError:
        raise CheckpointError(
            f"{path} is not a readable PyTorch checkpoint: the file ends early (truncated?)"
        ) from None
    except (RuntimeError, zipfile.BadZipFile, OSError, ValueError) as error:
        raise CheckpointError(f"{path} is not a readable PyTorch checkpoint: {_first_line(error)}") from None
    except Exception as error:  # noqa: BLE001 - a malformed pickle stream can raise anything
        raise CheckpointError(
            f"{path} is not a readable PyTorch checkpoint: {type(error).__name__}: {_first_line(error)}"
        ) from None


def _unpickling_message(path: Path, text: str, trust_hint: str) -> str:
    """Explain a weights-only refusal: an unsafe class (name it), or a file that is not a checkpoint."""
    unsafe = re.search(r"Unsupported global: GLOBAL (\S+)", text)
    if unsafe:
        return (
            f"{path} contains objects other than tensors and plain containers ({unsafe.group(1)}), "
            f"which could run arbitrary code when loaded; refusing it. {trust_hint}"
        )
    reason = re.search(r"WeightsUnpickler error:\s*(.+)", text)
    detail = reason.group(1).strip() if reason else (text.splitlines() or [""])[0][:200]
    return (
        f"{path} is not a readable PyTorch checkpoint (the safe reader stopped: "
        f"{detail or 'no reason given'}). {trust_hint}"
    )


def load_state_dict_strict(
    model: nn.Module,
    state_dict: Mapping[str, torch.Tensor],
    source: str,
    *,
    display: Callable[[str], str] | None = None,
) -> None:
    """Load every tensor by name; any missing, unexpected or mis-shaped key raises, naming the keys.

    `display` turns a danet key into the name shown in errors (the key as the file spells it).
    """
    show = display or (lambda key: key)
    not_tensors = [str(k) for k, v in state_dict.items() if not isinstance(v, torch.Tensor)]
    if not_tensors:
        raise CheckpointError(f"{source} holds non-tensor weights: {', '.join(not_tensors[:5])}")
    own = model.state_dict()
    missing = [show(k) for k in own if k not in state_dict]
    unexpected = [show(k) for k in state_dict if k not in own]
    wrong = [
        f"{show(k)} {tuple(state_dict[k].shape)} vs {tuple(own[k].shape)}"
        for k in state_dict
        if k in own and tuple(state_dict[k].shape) != tuple(own[k].shape)
    ]
    if missing or unexpected or wrong:
        raise CheckpointError(
            f"{source} does not fit the model: " + describe_mismatch(missing, unexpected, wrong)
        )
    model.load_state_dict(state_dict, strict=True)


def is_danet_checkpoint(obj: Any) -> bool:
    """Whether a loaded object is a checkpoint written by `save_checkpoint`."""
    return isinstance(obj, Mapping) and obj.get("format") == FORMAT and "state_dict" in obj
