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
from danet.errors import ConfigError, UnknownNameError

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


def load_backend(path: str | os.PathLike[str], backend: str | None = None, **options: Any) -> Backend:
    """Load `path` with `backend` (default: inferred from the file name)."""
    name = backend or backend_for_file(path)
    if name not in _LOADERS:
        raise UnknownNameError("backend", name, list_backends())
    return _LOADERS[name](path, **options)


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
