"""Checkpoint layouts as danet models: detect the layout, infer the architecture, load strictly.

Layouts (`detect_format`): ``danet`` (our own checkpoint), ``official`` (the DANet release, keys under
``pretrained.`` / ``head.conv5a`` ...), ``mmseg`` (mmsegmentation, ``backbone.stem`` / ``decode_head``)
and ``state_dict`` (bare tensors in danet naming). Each may be wrapped in ``{'state_dict': ...}`` and
carry a DataParallel ``module.`` prefix. Nothing that the weights decide (stem, depth, classes, heads) is
guessed: it is read from tensor shapes; what they cannot tell (dilations, resize mode) comes from the
format's published setting, the mmseg config stored in the file, or the caller's overrides.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import torch
from torch import nn

from danet.checkpoints.meta import ModelMeta
from danet.checkpoints.serialization import is_danet_checkpoint, load_state_dict_strict
from danet.errors import CheckpointError
from danet.models import ModelConfig, build_from_config, list_models
from danet.models.backbones import DEPTHS
from danet.models.naming import (
    MMSEG_PREFIXES,
    OFFICIAL_PREFIXES,
    PrefixTable,
    invert,
    map_key,
    rename_state_dict,
)
from danet.reporting import NullReporter, Reporter

FORMATS = ("danet", "official", "mmseg", "state_dict")
_TABLES: dict[str, PrefixTable] = {"official": OFFICIAL_PREFIXES, "mmseg": MMSEG_PREFIXES}
_TITLES = {"official": "official DANet", "mmseg": "mmsegmentation", "state_dict": "danet state dict"}
# What the weights cannot tell: official DANet101 was released with multi-grid (4, 8, 16) and
# align_corners=True; mmseg configs use no multi-grid and align_corners=False except at 769x769.
_FORMAT_DEFAULTS: dict[str, dict[str, Any]] = {
    "official": {"multi_grid": True, "align_corners": True},
    "mmseg": {"multi_grid": False, "align_corners": False},
    "state_dict": {},
}
_FROM_WEIGHTS = ("name", "num_classes", "stem", "aux")  # options the tensors decide
_STEMS = {(64, 3, 7, 7): "7x7", 32: "v1c", 64: "s"}
_ALIGN_SETTING = re.compile(r"align_corners\s*=\s*(True|False)")
_DATASET_TOKENS = (
    ("cityscapes", "cityscapes"),
    ("ade20k", "ade20k"),
    ("voc12aug", "voc_aug"),
    ("voc", "voc"),
)


def model_from_danet_checkpoint(checkpoint: Mapping[str, Any], source: str, **overrides: Any) -> nn.Module:
    """Rebuild the model a danet checkpoint describes (through the model registry) and load it strictly."""
    stored = checkpoint.get("model")
    if not isinstance(stored, Mapping) or not isinstance(checkpoint.get("state_dict"), Mapping):
        raise CheckpointError(
            f"{source} is a damaged danet checkpoint: its 'model' entry must be a dict of model options "
            f"and 'state_dict' a dict of tensors (found {type(stored).__name__} and "
            f"{type(checkpoint.get('state_dict')).__name__})"
        )
    try:
        config = ModelConfig.from_dict({**stored, **overrides})
    except (TypeError, ValueError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CheckpointError(f"{source} has unusable model options: {first}") from None
    stored_classes = stored.get("num_classes")
    if config.num_classes != stored_classes:
        raise CheckpointError(
            f"{source} was trained for {stored_classes} classes but {config.num_classes} were asked for"
        )
    if config.name not in list_models():
        raise CheckpointError(
            f"{source} holds a {config.name!r} model, which is not registered in this process; import "
            "the module that registers it (danet.models.register_model) before loading"
        )
    model = build_from_config(config)
    load_state_dict_strict(model, checkpoint["state_dict"], source)
    return model


def _is_tensor_map(obj: Any) -> bool:
    return (
        isinstance(obj, Mapping)
        and len(obj) > 0
        and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items())
    )


def extract_state_dict(obj: Any, source: str = "checkpoint") -> dict[str, torch.Tensor]:
    """The tensors of a checkpoint: its ``state_dict`` (or ``model``) entry, or `obj` itself.

    A ``module.`` prefix on every key (DataParallel) is removed; a pickled whole model (only readable
    with --trust) gives its ``state_dict()``.
    """
    if isinstance(obj, nn.Module):
        obj = obj.state_dict()
    if isinstance(obj, Mapping):
        for wrapper in ("state_dict", "model"):
            if _is_tensor_map(obj.get(wrapper)):
                obj = obj[wrapper]
                break
    if not _is_tensor_map(obj):
        found = ", ".join(map(str, list(obj)[:8])) if isinstance(obj, Mapping) else type(obj).__name__
        raise CheckpointError(
            f"{source} holds no weights: expected a 'state_dict' entry or a dict of tensors, found {found}"
        )
    if all(key.startswith("module.") for key in obj):
        return {key[len("module.") :]: value for key, value in obj.items()}
    return dict(obj)


def detect_format(obj: Any, source: str = "checkpoint") -> str:
    """Which layout a loaded checkpoint object uses: "danet", "official", "mmseg" or "state_dict"."""
    if is_danet_checkpoint(obj):
        return "danet"
    keys = list(extract_state_dict(obj, source))
    if any(k.startswith(("pretrained.", "head.conv5", "head.sa.", "head.sc.")) for k in keys):
        return "official"
    if any(k.startswith(("decode_head.", "auxiliary_head.", "backbone.stem.")) for k in keys):
        return "mmseg"
    if any(k.startswith("backbone.") for k in keys) and any(k.startswith("head.") for k in keys):
        return "state_dict"
    raise CheckpointError(
        f"{source} is not a DANet checkpoint in a known layout (danet, official DANet, mmsegmentation); "
        f"its first keys are {', '.join(keys[:5])}"
    )


def to_danet_names(
    state_dict: Mapping[str, torch.Tensor], fmt: str
) -> tuple[dict[str, torch.Tensor], dict[str, str], list[str]]:
    """(tensors under danet names, danet name -> name in the file, keys dropped as unused)."""
    if fmt not in _TABLES:
        return dict(state_dict), {}, []
    renamed, dropped = rename_state_dict(state_dict, _TABLES[fmt])
    origins = {map_key(key, _TABLES[fmt]): key for key in state_dict}
    return renamed, {k: v for k, v in origins.items() if k is not None}, dropped


def _count_blocks(state_dict: Mapping[str, torch.Tensor], stage: int) -> int:
    prefix = f"backbone.layer{stage}."
    return len({key[len(prefix) :].split(".", 1)[0] for key in state_dict if key.startswith(prefix)})


def _infer_stem(state_dict: Mapping[str, torch.Tensor], source: str) -> str:
    seven = state_dict.get("backbone.conv1.weight")
    deep = state_dict.get("backbone.conv1.0.weight")
    if seven is not None and tuple(seven.shape) in _STEMS:
        return _STEMS[tuple(seven.shape)]
    if deep is not None and deep.shape[0] in _STEMS:
        return _STEMS[deep.shape[0]]
    first = seven if seven is not None else deep
    shape = "missing" if first is None else tuple(first.shape)
    raise CheckpointError(
        f"{source}: cannot tell the backbone stem (first conv {shape}); expected a 7x7 conv "
        "(64, 3, 7, 7) or a deep stem whose first conv has 32 (v1c) or 64 (s) output channels"
    )


def _infer_depth(state_dict: Mapping[str, torch.Tensor], source: str) -> int:
    kind = "bottleneck" if "backbone.layer1.0.conv3.weight" in state_dict else "basic"
    counts = tuple(_count_blocks(state_dict, stage) for stage in (1, 2, 3, 4))
    for depth, (block, layers) in DEPTHS.items():
        if block == kind and layers == counts:
            return depth
    raise CheckpointError(
        f"{source}: {kind} blocks per stage {counts} match no supported ResNet "
        f"(18/34: basic (2,2,2,2)/(3,4,6,3); 50/101/152: bottleneck with 6/23/36 blocks in layer3)"
    )


def _infer_from_weights(state_dict: Mapping[str, torch.Tensor], source: str) -> dict[str, Any]:
    if "head.pam_in.0.weight" in state_dict:
        arch = "danet"
    elif "head.block.0.weight" in state_dict:
        arch = "fcn"
    else:
        raise CheckpointError(f"{source} has no DANet or FCN head weights (head.conv5a / decode_head)")
    classifier = state_dict.get("head.classifier.1.weight")
    if classifier is None:
        raise CheckpointError(f"{source} has no classifier weights (conv8 / decode_head.conv_seg)")
    return {
        "name": f"{arch}_resnet{_infer_depth(state_dict, source)}",
        "num_classes": int(classifier.shape[0]),
        "stem": _infer_stem(state_dict, source),
        "aux": any(key.startswith("aux_head.") for key in state_dict),
    }


def infer_model_config(
    state_dict: Mapping[str, torch.Tensor],
    fmt: str,
    hints: Mapping[str, Any] | None = None,
    *,
    source: str = "checkpoint",
) -> ModelConfig:
    """The `ModelConfig` that fits `state_dict` (named as in `fmt`).

    `hints` set what the weights cannot tell (``multi_grid``, ``output_stride``, ``align_corners`` ...);
    a hint that contradicts the weights (``num_classes``, ``stem``, ``name``, ``aux``) raises.
    """
    if fmt == "danet":
        fmt = "state_dict"
    if fmt not in _FORMAT_DEFAULTS:
        raise CheckpointError(f"unknown checkpoint format {fmt!r}; use one of {', '.join(FORMATS)}")
    return _config_for(to_danet_names(state_dict, fmt)[0], fmt, hints or {}, source)


def _config_for(
    renamed: Mapping[str, torch.Tensor], fmt: str, hints: Mapping[str, Any], source: str
) -> ModelConfig:
    inferred = _infer_from_weights(renamed, source)
    for option in _FROM_WEIGHTS:
        if option in hints and hints[option] != inferred[option]:
            if option == "num_classes":
                raise CheckpointError(
                    f"{source} has {inferred[option]} classes but {hints[option]} were asked for"
                )
            raise CheckpointError(
                f"{source} holds a model with {option}={inferred[option]!r} (from its weights) "
                f"but {option}={hints[option]!r} was asked for"
            )
    return ModelConfig.from_dict({**inferred, **_FORMAT_DEFAULTS[fmt], **hints})


def mmseg_settings(meta: Any, filename: str = "") -> dict[str, Any]:
    """align_corners of an mmseg checkpoint: from its stored config, else from the config/file name."""
    meta = meta if isinstance(meta, Mapping) else {}
    config = str(meta.get("config") or meta.get("cfg") or "")
    if config:
        match = _ALIGN_SETTING.search(config, max(config.find("decode_head"), 0))
        if match:
            return {"align_corners": match.group(1) == "True"}
    names = f"{meta.get('exp_name', '')} {filename} {config}"
    return {"align_corners": "769x769" in names or "(769, 769)" in names}


def checkpoint_origin(obj: Any, fmt: str, filename: str = "") -> dict[str, str]:
    """Who trained the weights, which picks `danet evaluate`'s default protocol (`danet.protocols`).

    ``{"origin": "official" | "mmseg" | "danet", "config": mmseg config name or ""}``; the mmseg name
    comes from the file's meta (``exp_name`` / stored config file name) or the file name. A danet
    checkpoint written by `danet convert` keeps the origin of the file it came from (``converted_from``).
    """
    from danet.protocols import mmseg_config_name

    if fmt == "danet":
        source = obj.get("converted_from") if isinstance(obj, Mapping) else None
        if not isinstance(source, Mapping) or source.get("format") not in ("official", "mmseg"):
            return {"origin": "danet", "config": ""}
        config = str(source.get("config") or "") or mmseg_config_name(str(source.get("file") or ""))
        return {"origin": str(source["format"]), "config": config if source["format"] == "mmseg" else ""}
    if fmt != "mmseg":
        return {"origin": "official" if fmt == "official" else "danet", "config": ""}
    meta = obj.get("meta") if isinstance(obj, Mapping) else None
    meta = meta if isinstance(meta, Mapping) else {}
    names = [str(meta.get("exp_name") or ""), str(meta.get("config_name") or ""), filename]
    return {"origin": "mmseg", "config": next((n for n in map(mmseg_config_name, names) if n), "")}


def _dataset_name(texts: list[str]) -> str:
    for text in texts:
        lowered = text.lower()
        for token, name in _DATASET_TOKENS:
            if token in lowered:
                return name
    return ""


def file_dataset_meta(obj: Any, fmt: str, filename: str = "") -> dict[str, Any] | None:
    """Dataset metadata stored in the file: danet ``dataset``, mmseg 0.x ``CLASSES``/``PALETTE`` or 1.x
    ``dataset_meta``. None when the file carries no class names."""
    if not isinstance(obj, Mapping):
        return None
    if fmt == "danet":
        return dict(obj["dataset"]) if isinstance(obj.get("dataset"), Mapping) else None
    meta = obj.get("meta")
    if not isinstance(meta, Mapping):
        return None
    nested = meta.get("dataset_meta") if isinstance(meta.get("dataset_meta"), Mapping) else {}
    classes = meta.get("CLASSES") or nested.get("classes")
    if not classes:
        return None
    palette = meta.get("PALETTE") or nested.get("palette") or []
    texts = [filename, str(meta.get("exp_name", "")), str(meta.get("config") or meta.get("cfg") or "")]
    return {
        "name": _dataset_name(texts),
        "class_names": [str(name) for name in classes],
        "palette": [[int(v) for v in colour] for colour in palette],
        "ignore_index": 255,
    }


def hinted_dataset_meta(name: str) -> dict[str, Any]:
    """Class names and palette of a registered dataset, for files that carry none."""
    from danet.datasets import dataset_info

    info = dataset_info(name)
    return {
        "name": info.name,
        "class_names": list(info.class_names),
        "palette": [list(colour) for colour in info.palette],
        "ignore_index": info.ignore_index,
    }


def _resolve_dataset_meta(
    stored: dict[str, Any] | None, dataset: str | None, num_classes: int, source: str
) -> dict[str, Any] | None:
    hinted = hinted_dataset_meta(dataset) if dataset else None
    for label, meta in (("its stored class list", stored), (f"dataset {dataset!r}", hinted)):
        names = (meta or {}).get("class_names") or []
        if names and len(names) != num_classes:
            raise CheckpointError(f"{source} has {num_classes} classes but {label} has {len(names)}")
    return stored or hinted


def _fill_batch_counters(model: nn.Module, state_dict: dict[str, torch.Tensor]) -> int:
    """Add the BN ``num_batches_tracked`` counters that 2018 files lack (inference never reads them)."""
    filled = 0
    for key, value in model.state_dict().items():
        if key.endswith("num_batches_tracked") and key not in state_dict:
            state_dict[key] = torch.zeros_like(value)
            filled += 1
    return filled


def _display(fmt: str, origins: Mapping[str, str]) -> Callable[[str], str]:
    inverse = invert(_TABLES.get(fmt, []))
    return lambda key: origins.get(key) or map_key(key, inverse) or key


def convert_to_danet(
    obj: Any,
    fmt: str,
    *,
    source: str = "checkpoint",
    filename: str = "",
    dataset: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    reporter: Reporter | None = None,
) -> tuple[nn.Module, ModelMeta]:
    """Build the model a loaded checkpoint object holds and load every tensor strictly.

    Returns (model in eval mode, its `ModelMeta`). Keys the model lacks, keys missing from the file,
    and shape mismatches raise `CheckpointError` naming them as they appear in the file.
    """
    reporter = reporter or NullReporter()
    overrides = dict(overrides or {})
    if fmt == "danet":
        model = model_from_danet_checkpoint(obj, source, **overrides)
        stored = file_dataset_meta(obj, fmt)
    else:
        state_dict, origins, dropped = to_danet_names(extract_state_dict(obj, source), fmt)
        meta = obj.get("meta") if isinstance(obj, Mapping) else None
        hints = {**(mmseg_settings(meta, filename) if fmt == "mmseg" else {}), **overrides}
        config = _config_for(state_dict, fmt, hints, source)
        model = build_from_config(config)
        filled = _fill_batch_counters(model, state_dict)
        load_state_dict_strict(model, state_dict, source, display=_display(fmt, origins))
        stored = file_dataset_meta(obj, fmt, filename)
        _report(reporter, fmt, config, dropped, filled)
    record = _resolve_dataset_meta(stored, dataset, model.config.num_classes, source)
    trained = checkpoint_origin(obj, fmt, filename)
    meta = model_meta(model.config, record, _train_config(obj, fmt), fmt, source)
    return model.eval(), replace(meta, trained_by=trained["origin"], mmseg_config=trained["config"])


def model_meta(
    config: ModelConfig,
    dataset: Mapping[str, Any] | None,
    train_config: Mapping[str, Any],
    origin: str,
    source: str,
) -> ModelMeta:
    """The `ModelMeta` of a loaded model: its config, dataset record and training config."""
    meta = ModelMeta(
        model_name=config.name,
        num_classes=config.num_classes,
        align_corners=config.align_corners,
        data_root=str(train_config.get("data_root") or ""),
        origin=origin,
        source=source,
        train_config=dict(train_config),
    )
    meta = meta.with_dataset(dataset)
    if not meta.dataset and train_config.get("dataset"):
        meta = replace(meta, dataset=str(train_config["dataset"]))
    return meta


def _train_config(obj: Any, fmt: str) -> dict[str, Any]:
    """The training config a danet checkpoint was written with ({} for other layouts)."""
    config = obj.get("config") if fmt == "danet" and isinstance(obj, Mapping) else None
    return dict(config) if isinstance(config, Mapping) else {}


def _report(reporter: Reporter, fmt: str, config: ModelConfig, dropped: list[str], filled: int) -> None:
    reporter.info(
        f"{_TITLES[fmt]} checkpoint: {config.name}, stem {config.stem}, {config.num_classes} classes, "
        f"multi-grid {'on' if config.multi_grid else 'off'}, align_corners={config.align_corners}, "
        f"auxiliary head {'yes' if config.aux else 'no'}"
    )
    if dropped:
        reporter.info(f"dropped {len(dropped)} unused key(s): {', '.join(dropped)}")
    if filled:
        reporter.info(f"filled {filled} BatchNorm num_batches_tracked counter(s) the file does not store")


__all__ = [
    "FORMATS",
    "checkpoint_origin",
    "convert_to_danet",
    "detect_format",
    "extract_state_dict",
    "file_dataset_meta",
    "infer_model_config",
    "mmseg_settings",
    "model_from_danet_checkpoint",
    "model_meta",
]
