"""Model files: where a checkpoint spec leads (`resolve`), how files are read and written, the layouts
danet reads (danet, official DANet, mmsegmentation), the run-folder layout and `ModelMeta`.

    model = load_model("danet_r50-d8_512x1024_40k_cityscapes")  # downloaded once, then cached
    model.meta.class_names, model.meta.dataset, model.meta.train_config

Importing this package is cheap: `runs` and `meta` need no torch, and the names below load their
module on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from danet.checkpoints.formats import (
        FORMATS,
        convert_to_danet,
        detect_format,
        extract_state_dict,
        infer_model_config,
    )
    from danet.checkpoints.loading import load_model
    from danet.checkpoints.meta import IMAGENET_MEAN, IMAGENET_STD, ModelMeta
    from danet.checkpoints.resolver import HubFile, is_offline, resolve
    from danet.checkpoints.runs import DEFAULT_PROJECT, checkpoint_of_run, find_latest_checkpoint
    from danet.checkpoints.serialization import (
        FORMAT,
        VERSION,
        is_danet_checkpoint,
        load_state_dict_strict,
        read_checkpoint,
        save_checkpoint,
        unwrap,
    )

_MODULES = {
    "formats": ("FORMATS", "convert_to_danet", "detect_format", "extract_state_dict", "infer_model_config"),
    "loading": ("load_model",),
    "meta": ("IMAGENET_MEAN", "IMAGENET_STD", "ModelMeta"),
    "resolver": ("HubFile", "is_offline", "resolve"),
    "runs": ("DEFAULT_PROJECT", "checkpoint_of_run", "find_latest_checkpoint"),
    "serialization": (
        "FORMAT",
        "VERSION",
        "is_danet_checkpoint",
        "load_state_dict_strict",
        "read_checkpoint",
        "save_checkpoint",
        "unwrap",
    ),
}
_LAZY = {name: f"danet.checkpoints.{module}" for module, names in _MODULES.items() for name in names}

__all__ = [
    "DEFAULT_PROJECT",
    "FORMAT",
    "FORMATS",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "VERSION",
    "HubFile",
    "ModelMeta",
    "checkpoint_of_run",
    "convert_to_danet",
    "detect_format",
    "extract_state_dict",
    "find_latest_checkpoint",
    "infer_model_config",
    "is_danet_checkpoint",
    "is_offline",
    "load_model",
    "load_state_dict_strict",
    "read_checkpoint",
    "resolve",
    "save_checkpoint",
    "unwrap",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'danet.checkpoints' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
