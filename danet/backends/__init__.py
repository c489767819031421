"""Inference backends by name: `torch` (danet/official/mmseg checkpoints) and later others.

`load_backend(path)` picks the backend from the file (or `backend=`), so predict, evaluate and
benchmark share one code path whatever runs the model.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from danet.backends.base import IMAGENET_MEAN, IMAGENET_STD, Backend, ModelMeta
from danet.checkpoints.resolver import resolve
from danet.errors import ConfigError, UnknownNameError
from danet.reporting import Reporter

_LOADERS: dict[str, Callable[..., Backend]] = {}
_SUFFIXES: dict[str, str] = {}


def register_backend(name: str, loader: Callable[..., Backend], suffixes: tuple[str, ...] = ()) -> None:
    """Register `loader(path, **options) -> Backend` under `name`, claiming file suffixes."""
    if name in _LOADERS:
        raise ConfigError(f"backend {name!r} is already registered")
    _LOADERS[name] = loader
    for suffix in suffixes:
        _SUFFIXES[suffix] = name


def list_backends() -> list[str]:
    return sorted(_LOADERS)


def backend_for_file(path: str | os.PathLike[str]) -> str:
    """The backend a file implies: `.onnx` -> onnxruntime, anything else -> torch."""
    return _SUFFIXES.get(Path(path).suffix.lower(), "torch")


def load_backend(
    spec: str | os.PathLike[str] | None,
    backend: str | None = None,
    *,
    reporter: Reporter | None = None,
    **options: Any,
) -> Backend:
    """Load the checkpoint `spec` stands for (`danet.checkpoints.resolve`: a file, a run folder, a
    weight name, an ``hf://`` file or None) with `backend` (default: inferred from the file name)."""
    if backend is not None and backend not in _LOADERS:
        raise UnknownNameError("backend", backend, list_backends())
    path = resolve(spec, reporter=reporter)
    return _LOADERS[backend or backend_for_file(path)](path, **options)


def _load_torch(path: str | os.PathLike[str], **options: Any) -> Backend:
    from danet.backends.torch_backend import TorchBackend

    return TorchBackend.from_file(path, **options)


def _load_onnxruntime(path: str | os.PathLike[str], **options: Any) -> Backend:
    from danet.backends.onnx_backend import load_onnxruntime

    return load_onnxruntime(path, **options)


register_backend("torch", _load_torch, (".pt", ".pth", ".tar"))
register_backend("onnxruntime", _load_onnxruntime, (".onnx",))

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "Backend",
    "ModelMeta",
    "backend_for_file",
    "list_backends",
    "load_backend",
    "register_backend",
]
