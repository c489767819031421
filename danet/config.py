"""Training configuration: frozen dataclasses, YAML recipes and the recipe < --config < flags merge.

No torch here, so `danet train --help` can show the recipes' defaults without importing it.

A config is flat, with four nested mappings: `model_options` (given to `create_model`),
`dataset_options` (given to `get_dataset`), `loss_weights` and `val` (how validation infers).
Every dataset has a recipe, `danet/recipes/<dataset>.yaml`; datasets without one use `default.yaml`.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from danet.errors import ConfigError
from danet.fileio import read_yaml

RECIPES_DIR = Path(__file__).resolve().parent / "recipes"
DEFAULT_RECIPE = "default"
SCALE_MODES = ("short_side", "ratio")


@dataclass(frozen=True)
class LossWeights:
    """Weights of the cross-entropy terms: fused (`out`), PAM, CAM and the auxiliary FCN head."""

    out: float = 1.0
    pam: float = 1.0
    cam: float = 1.0
    aux: float = 0.4


@dataclass(frozen=True)
class ValConfig:
    """How periodic validation predicts full-size images (see `danet.inference.InferenceConfig`)."""

    mode: str = "whole"
    crop_size: tuple[int, int] = (768, 768)
    stride: tuple[int, int] = (512, 512)
    scales: tuple[float, ...] = (1.0,)
    flip: bool = False
    batch_size: int = 2
    limit: int | None = None  # score only the first N images (quick looks; not the real number)
    protocol: str = "danet"  # danet | official | mmseg (see danet.protocols)
    test_size: tuple[int, int] | None = None  # (long, short): keep-ratio resize before inference
    base_size: int | None = None  # official protocol: long side at scale 1.0 (None: the image's)


OPTIMIZERS = ("sgd", "adamw")
# How each cross-entropy term is averaged: over the labelled pixels (the official code, PyTorch's
# default) or over all pixels with ignored ones counting as zero (mmsegmentation's default,
# avg_non_ignore=False), which scales each term by the labelled fraction of the batch.
LOSS_AVERAGES = ("labelled", "all")
LOGGERS = ("none", "tensorboard")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run; saved as `config.yaml` and inside every checkpoint."""

    dataset: str
    data_root: str | None = None
    dataset_options: dict[str, Any] = field(default_factory=dict)
    train_split: str = "train"
    val_split: str | None = "val"
    model: str = "danet_resnet50"
    model_options: dict[str, Any] = field(default_factory=dict)
    backbone_weights: str | None = "auto"  # auto (danet cache) | none | a file path
    iters: int | None = None
    epochs: int | None = None
    batch_size: int = 8  # global: split evenly across distributed processes
    optimizer: str = "sgd"  # sgd (the paper's) | adamw
    lr: float = 0.003
    head_lr_mult: float = 10.0
    momentum: float = 0.9
    weight_decay: float = 1e-4
    poly_power: float = 0.9
    min_lr: float = 0.0
    loss_weights: LossWeights = field(default_factory=LossWeights)
    loss_average: str = "labelled"  # labelled (official) | all (mmseg): see LOSS_AVERAGES
    crop_size: tuple[int, int] | None = None  # None: the dataset's default crop
    base_size: int | None = None  # None: the dataset's base size
    scale_mode: str = "short_side"
    scale_range: tuple[float, float] = (0.75, 2.0)
    flip: bool = True
    photometric: bool = False  # mmseg's random brightness/contrast/saturation/hue
    cat_max_ratio: float = 1.0  # mmseg: re-draw crops where one class covers more than this share
    workers: int = 4
    device: str = "auto"
    precision: str = "auto"
    channels_last: bool = False
    sync_bn: bool = True
    seed: int = 0
    log_every: int = 20
    val_every: int = 0  # 0: validate only at the end
    save_every: int | None = None  # None: whenever validating
    val: ValConfig = field(default_factory=ValConfig)
    project: str = "runs/train"
    name: str | None = None  # None: the dataset name
    save_half: bool = False  # best.pt with fp16 weights (loading casts them back to fp32)
    exist_ok: bool = False  # reuse project/name (its previous run files are replaced) instead of name2
    logger: str = "none"  # none | tensorboard (event file in the run folder; needs `tensorboard`)
    patience: int | None = None  # stop after N validations without a better mIoU (needs val_every)
    class_weights: Any = None  # None | "auto" (from the training labels' frequencies) | one per class
    ohem: bool = False  # online hard example mining of pixels (mmseg's OHEMPixelSampler)
    ohem_thresh: float = 0.7  # keep pixels whose true-class probability is below this
    ohem_min_kept: int = 100000  # ... but at least this many per batch (the hardest ones)

    def __post_init__(self) -> None:
        object.__setattr__(self, "class_weights", _class_weights(self.class_weights))
        _validate(self)

    def to_dict(self) -> dict[str, Any]:
        """Plain YAML/JSON values (tuples become lists)."""
        return _plain(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "the config") -> TrainConfig:
        """Build from a mapping; unknown keys and badly typed values raise `ConfigError` naming `source`."""
        return _build(cls, data, source, prefix="")

    def replace(self, **changes: Any) -> TrainConfig:
        return dataclasses.replace(self, **changes)

    @property
    def run_name(self) -> str:
        return self.name or self.dataset


def _validate(c: TrainConfig) -> None:
    checks = [
        (c.batch_size >= 1, "batch_size must be at least 1"),
        (c.lr > 0, "lr must be positive"),
        (c.optimizer in OPTIMIZERS, f"optimizer must be one of {', '.join(OPTIMIZERS)}"),
        (c.loss_average in LOSS_AVERAGES, f"loss_average must be one of {', '.join(LOSS_AVERAGES)}"),
        (c.head_lr_mult > 0, "head_lr_mult must be positive"),
        (c.iters is None or c.iters >= 1, "iters must be at least 1"),
        (c.epochs is None or c.epochs >= 1, "epochs must be at least 1"),
        (c.iters is None or c.epochs is None, "give either iters or epochs, not both"),
        (c.workers >= 0, "workers must be 0 or more"),
        (c.log_every >= 1, "log_every must be at least 1"),
        (c.val_every >= 0, "val_every must be 0 (only at the end) or more"),
        (c.save_every is None or c.save_every >= 1, "save_every must be at least 1"),
        (c.scale_mode in SCALE_MODES, f"scale_mode must be one of {', '.join(SCALE_MODES)}"),
        (0 < c.scale_range[0] <= c.scale_range[1], "scale_range must be [low, high] with 0 < low <= high"),
        (c.crop_size is None or min(c.crop_size) >= 1, "crop_size must be positive"),
        (c.val.mode in ("whole", "slide"), "val.mode must be whole or slide"),
        (c.val.protocol in ("danet", "official", "mmseg"), "val.protocol must be danet, official or mmseg"),
        (c.val.test_size is None or min(c.val.test_size) >= 1, "val.test_size must be two positive sizes"),
        (0 <= c.min_lr < c.lr, "min_lr must be at least 0 and below lr"),
        (0 < c.cat_max_ratio <= 1, "cat_max_ratio must be in (0, 1]"),
        (c.logger in LOGGERS, f"logger must be one of {', '.join(LOGGERS)}"),
        (c.patience is None or c.patience >= 1, "patience must be at least 1"),
        (c.patience is None or c.val_every > 0, "patience counts validations: set val_every too"),
        (0 < c.ohem_thresh <= 1, "ohem_thresh must be in (0, 1]"),
        (c.ohem_min_kept >= 1, "ohem_min_kept must be at least 1"),
    ]
    for ok, message in checks:
        if not ok:
            raise ConfigError(f"invalid training config: {message}")


def _class_weights(value: Any) -> str | tuple[float, ...] | None:
    """None, "auto", or a tuple of positive numbers (one per class; the count is checked at training)."""
    if value is None or value == "auto":
        return value
    if isinstance(value, str) or not isinstance(value, (list, tuple)) or not value:
        raise ConfigError(
            f"invalid training config: class_weights must be auto or a list of numbers, got {value!r}"
        )
    try:
        weights = tuple(float(v) for v in value if not isinstance(v, bool))
    except (TypeError, ValueError):
        weights = ()
    if len(weights) != len(value) or not all(w >= 0 for w in weights) or not any(weights):
        raise ConfigError(
            f"invalid training config: class_weights must be numbers >= 0 (not all 0), got {list(value)}"
        )
    return weights


# ---- building dataclasses from plain mappings -----------------------------------------------------


def _build(cls: type, data: Mapping[str, Any], source: str, prefix: str) -> Any:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: {prefix.rstrip('.') or 'the config'} must be a mapping")
    hints = typing.get_type_hints(cls)
    known = [f.name for f in dataclasses.fields(cls)]
    for key in data:
        if key not in known:
            raise ConfigError(f"{source}: unknown key {prefix}{key!r}; valid keys: {', '.join(known)}")
    values = {key: _coerce(hints[key], value, f"{prefix}{key}", source) for key, value in data.items()}
    try:
        return cls(**values)
    except TypeError as error:  # a required key is missing
        raise ConfigError(f"{source}: {error}") from None


def _coerce(hint: Any, value: Any, key: str, source: str) -> Any:
    """Check and convert one value to the annotated type (YAML gives lists for tuples, '1e-4' as text)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _coerce(inner, value, key, source)
    if dataclasses.is_dataclass(hint):
        if isinstance(value, hint):
            return value
        return _build(hint, value or {}, source, prefix=f"{key}.")
    if origin is tuple:
        return _coerce_tuple(args, value, key, source)
    if origin is dict or hint is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{source}: {key} must be a mapping, got {value!r}")
        return dict(value)
    return _coerce_scalar(hint, value, key, source)


def _coerce_tuple(args: tuple[Any, ...], value: Any, key: str, source: str) -> tuple[Any, ...]:
    if isinstance(value, (int, float, str)) and len(args) == 2 and args[0] is args[1]:
        value = [value, value]  # `crop_size: 512` means 512 x 512
    if not isinstance(value, (list, tuple)):
        raise ConfigError(f"{source}: {key} must be a list, got {value!r}")
    if len(args) == 2 and args[1] is Ellipsis:
        return tuple(_coerce_scalar(args[0], v, key, source) for v in value)
    if len(value) != len(args):
        raise ConfigError(f"{source}: {key} must have {len(args)} values, got {list(value)}")
    return tuple(_coerce_scalar(a, v, key, source) for a, v in zip(args, value, strict=True))


def _coerce_scalar(kind: Any, value: Any, key: str, source: str) -> Any:
    bad = ConfigError(f"{source}: {key} must be {_kind_name(kind)}, got {value!r}")
    if kind is bool:
        if not isinstance(value, bool):
            raise bad
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise bad
        try:
            number = float(value)
        except ValueError:
            raise bad from None
        if not number.is_integer():
            raise bad
        return int(number)
    if kind is float:
        if isinstance(value, bool):
            raise bad
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad from None
    if kind is str:
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise bad
        return str(value)
    return value


def _kind_name(kind: Any) -> str:
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string"}.get(kind, str(kind))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


# ---- YAML files and layering ----------------------------------------------------------------------


def load_yaml(path: str | Path) -> dict[str, Any]:
    """A YAML mapping from `path` (an empty file is an empty mapping)."""
    path = Path(path)
    data = read_yaml(path, ConfigError)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping of config keys, not {type(data).__name__}")
    return data


def recipe_names() -> list[str]:
    """Datasets that ship a recipe (`default` is the fallback for the others)."""
    return sorted(p.stem for p in RECIPES_DIR.glob("*.yaml") if p.stem != DEFAULT_RECIPE)


def recipe_path(dataset: str) -> Path:
    path = RECIPES_DIR / f"{dataset}.yaml"
    return path if path.is_file() else RECIPES_DIR / f"{DEFAULT_RECIPE}.yaml"


def load_recipe(dataset: str) -> dict[str, Any]:
    """The recipe of `dataset` as a mapping, with `dataset` set (checked against the schema)."""
    path = recipe_path(dataset)
    data = load_yaml(path)
    data["dataset"] = dataset
    TrainConfig.from_dict(data, source=str(path))
    return data


NESTED = ("model_options", "dataset_options", "loss_weights", "val")
_LENGTH_KEYS = ("iters", "epochs")


def merge(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """`overlay` over `base`: nested mappings merge key by key; setting iters clears epochs and back."""
    merged = dict(base)
    for key, value in overlay.items():
        if key in NESTED and isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
        if key in _LENGTH_KEYS and value is not None:
            other = _LENGTH_KEYS[1 - _LENGTH_KEYS.index(key)]
            if other not in overlay:
                merged[other] = None
    return merged


def resolve_config(
    dataset: str | None,
    *,
    config_file: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> TrainConfig:
    """Recipe of the dataset < `config_file` < `overrides` (the command-line flags)."""
    file_layer = load_yaml(config_file) if config_file else {}
    if file_layer:
        _check_keys(file_layer, str(config_file))
    named = dataset or file_layer.get("dataset")
    if not named:
        raise ConfigError("no dataset given: pass DATASET or set `dataset:` in the --config file")
    if dataset and file_layer.get("dataset") not in (None, dataset):
        raise ConfigError(f"{config_file} is for dataset {file_layer['dataset']!r} but {dataset!r} was given")
    layered = merge(load_recipe(str(named)), file_layer)
    if file_layer:
        TrainConfig.from_dict(layered, source=str(config_file))
    return TrainConfig.from_dict(merge(layered, dict(overrides or {})), source="the command line")


def _check_keys(layer: Mapping[str, Any], source: str) -> None:
    """Reject unknown keys early, naming the file they came from."""
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    for key in layer:
        if key not in known:
            raise ConfigError(f"{source}: unknown key {key!r}; valid keys: {', '.join(sorted(known))}")


def parse_set_options(items: Iterable[str]) -> dict[str, Any]:
    """`--set key=value` / `--set val.flip=true` -> a nested mapping; values parsed as YAML."""
    result: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE (for example --set min_lr=1e-4)")
        try:
            value = yaml.safe_load(text) if text.strip() else None
        except yaml.YAMLError:
            value = text
        target = result
        *parents, leaf = key.strip().split(".")
        for part in parents:
            target = target.setdefault(part, {})
        target[leaf] = value
    return result


def dump_yaml(config: TrainConfig) -> str:
    return yaml.safe_dump(config.to_dict(), sort_keys=False, default_flow_style=None)


def recipe_summary() -> list[str]:
    """One line per shipped recipe (for `danet train --help`)."""
    lines = []
    for name in [*recipe_names(), DEFAULT_RECIPE]:
        data = load_yaml(RECIPES_DIR / f"{name}.yaml")
        length = f"{data['iters']} iters" if data.get("iters") else f"{data.get('epochs')} epochs"
        crop = data.get("crop_size", "dataset")
        crop = "x".join(str(v) for v in crop) if isinstance(crop, list) else crop
        model = data.get("model", TrainConfig.model)
        batch, lr = data.get("batch_size", TrainConfig.batch_size), data.get("lr", TrainConfig.lr)
        lines.append(f"{name}: {model}, {length}, batch {batch}, crop {crop}, lr {lr}")
    return lines
