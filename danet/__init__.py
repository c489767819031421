"""danet: DANet (Dual Attention Network) semantic segmentation.

Importing `danet` is cheap: torch and the heavier modules load on first use of the names below.
"""

from __future__ import annotations

import importlib
from typing import Any

from danet._version import __version__
from danet.errors import DanetError

# public name -> module that defines it
_LAZY = {
    "create_model": "danet.models",
    "list_models": "danet.models",
    "PositionAttention": "danet.models",
    "ChannelAttention": "danet.models",
    "get_dataset": "danet.datasets",
    "list_datasets": "danet.datasets",
    "SegmentationMetric": "danet.metrics",
    "resolve_device": "danet.devices",
    "resolve_precision": "danet.devices",
    "load_model": "danet.checkpoints",
    "ModelMeta": "danet.checkpoints",
    "Predictor": "danet.prediction.predictor",
    "train": "danet.training.api",
    "evaluate": "danet.api",
    "predict": "danet.api",
    "export_model": "danet.export",
    "TrainConfig": "danet.config",
}

__all__ = ["__version__", "DanetError", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'danet' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
