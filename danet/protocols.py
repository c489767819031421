"""Which evaluation protocol to run, with which settings: flags over the checkpoint's origin over defaults.

Protocols (`--protocol`): ``danet`` (danet's own: flush windows, softmax averaged), ``official`` and
``official-ms`` (the official DANet evaluator, single- and multi-scale) and ``mmseg``
(mmsegmentation's test pipeline). Without `--protocol` a file from the official release runs
``official``, an mmseg file ``mmseg`` (its config's test settings where the config name is known), a
danet checkpoint its recipe's validation settings (`val:`), with the other flags applied on top. A
named `--protocol` starts from that protocol's defaults for the dataset.

Per-dataset defaults:

- official: Cityscapes base size 2048 with crop 768 (single scale) or 1024 (multi-scale), the settings
  of the published runs. Other datasets: the dataset's crop size and each image's own long side as base
  size (scale 1.0 = no resize); set `--base-size` / `--crop-size` to follow another setting.
- mmseg: the test scale and mode of the dataset's mmseg configs (`MMSEG_TEST`): Cityscapes 512x1024
  configs (2048, 1024) whole, 769x769 configs (2049, 1025) slide 769/513; ADE20K, VOC (aug) and
  COCO-Stuff (2048, 512) whole; PASCAL Context (520, 520) slide 480/320. Others: original size, whole.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from danet.errors import ConfigError
from danet.inference import MULTI_SCALES, InferenceConfig
from danet.inference.official import OFFICIAL_MULTI_SCALES, official_stride

PROTOCOL_NAMES = ("danet", "official", "official-ms", "mmseg")
ORIGINS = ("danet", "official", "mmseg")
# dataset -> (base size, single-scale crop, multi-scale crop) of the published official runs
OFFICIAL_SETTINGS: dict[str, tuple[int, int, int]] = {"cityscapes": (2048, 768, 1024)}


@dataclass(frozen=True)
class MmsegTest:
    """An mmseg config's test settings: keep-ratio test scale (long, short), mode and slide windows."""

    test_size: tuple[int, int]
    mode: str = "whole"
    crop_size: tuple[int, int] = (512, 512)
    stride: tuple[int, int] = (341, 341)


_WIDE = MmsegTest((2048, 512))
_CONTEXT = MmsegTest((520, 520), "slide", (480, 480), (320, 320))
MMSEG_TEST: dict[str, MmsegTest] = {
    "cityscapes": MmsegTest((2048, 1024)),
    "ade20k": _WIDE,
    "voc": _WIDE,
    "voc_aug": _WIDE,
    "coco_stuff164k": _WIDE,
    "coco_stuff10k": _WIDE,
    "pascal_context": _CONTEXT,
    "pascal_context59": _CONTEXT,
}
MMSEG_CITYSCAPES_769 = MmsegTest((2049, 1025), "slide", (769, 769), (513, 513))
_CONFIG_DATASETS = (
    ("cityscapes", "cityscapes"),
    ("ade20k", "ade20k"),
    ("voc12aug", "voc_aug"),
    ("pascal_context_59", "pascal_context59"),
    ("pascal_context", "pascal_context"),
    ("coco-stuff164k", "coco_stuff164k"),
    ("coco-stuff10k", "coco_stuff10k"),
)
_CONFIG_NAME = re.compile(r"([a-z0-9]+_r\d+[a-z0-9-]*_\d+x\d+_\d+k_[a-z0-9_-]+?)(?:_\d{8}_\d{6}-[0-9a-f]+)?$")


@dataclass(frozen=True)
class ProtocolRequest:
    """What the user asked for; None (or False) = not given. `test_size` (0, 0) means none."""

    protocol: str | None = None
    mode: str | None = None
    crop_size: tuple[int, int] | None = None
    stride: tuple[int, int] | None = None
    flip: bool | None = None
    multi_scale: bool = False
    scales: tuple[float, ...] | None = None
    test_size: tuple[int, int] | None = None
    base_size: int | None = None


def mmseg_config_name(text: str) -> str:
    """The mmseg config name in a file or config name (``..._20200605_191324-c0dbfa5f.pth`` stripped)."""
    stem = re.sub(r"\.(pth|pt|py)$", "", text.strip().split("/")[-1].lower())
    match = _CONFIG_NAME.search(stem)
    return match.group(1) if match else ""


def mmseg_test_settings(config_name: str, dataset: str) -> MmsegTest | None:
    """The test settings of an mmseg config (by name), else of `dataset`'s configs; None if unknown."""
    name = config_name.lower()
    for token, dataset_name in _CONFIG_DATASETS:
        if token in name:
            dataset = dataset_name
            break
    if dataset == "cityscapes" and "769x769" in name:
        return MMSEG_CITYSCAPES_769
    return MMSEG_TEST.get(dataset)


def default_protocol(origin: str) -> str:
    """The protocol behind a file's published numbers: its origin's (danet files: danet's)."""
    return origin if origin in ("official", "mmseg") else "danet"


def black(mean: Sequence[float], std: Sequence[float]) -> tuple[float, float, float]:
    """A black pixel after normalisation: -mean/std per channel (the official padding colour)."""
    values = tuple(-float(m) / float(s) for m, s in zip(mean, std, strict=True))
    return values[0], values[1], values[2]


def resolve_inference(
    request: ProtocolRequest,
    *,
    origin: str = "danet",
    origin_config: str = "",
    dataset: str = "",
    dataset_crop: tuple[int, int] | None = None,
    val: Mapping[str, Any] | None = None,
    mean: Sequence[float],
    std: Sequence[float],
    align_corners: bool,
    batch_size: int,
) -> InferenceConfig:
    """The `InferenceConfig` for `request`, filling what it leaves open from the checkpoint and dataset.

    `val` is a danet checkpoint's saved `val:` settings (its recipe's); `dataset` the evaluated one and
    `dataset_crop` its crop size (default: the registered dataset's).
    """
    if val and origin == "danet" and request.protocol is None:
        request = _with_saved(request, saved_request(val))
    protocol = request.protocol or default_protocol(origin)
    if protocol not in PROTOCOL_NAMES:
        raise ConfigError(f"unknown protocol {protocol!r}; valid: {', '.join(PROTOCOL_NAMES)}")
    _check_conflicts(request, protocol)
    common = {"batch_size": batch_size, "align_corners": align_corners, "pad_value": black(mean, std)}
    if protocol.startswith("official"):
        crop = dataset_crop or _dataset_crop(dataset)
        return _official(request, protocol, dataset, crop, common)
    if protocol == "mmseg":
        return _mmseg(request, origin_config, dataset, common)
    return _danet(request, common)


def _check_conflicts(request: ProtocolRequest, protocol: str) -> None:
    name = f"--protocol {protocol}"
    if request.multi_scale and request.scales:
        raise ConfigError("--multi-scale and --scales both set the scales; give one of them")
    if request.base_size is not None and not protocol.startswith("official"):
        raise ConfigError(f"--base-size is the official protocol's long side; {name} does not use it")
    if protocol.startswith("official") and request.mode is not None:
        raise ConfigError(f"{name} fixes --mode (its own windows); drop --mode")
    if request.mode == "whole" and (request.crop_size or request.stride):
        raise ConfigError("--crop-size and --stride set sliding windows; use them with --mode slide")
    if protocol == "official-ms" and request.scales is not None and len(request.scales) < 2:
        raise ConfigError("--protocol official-ms is multi-scale; use --protocol official for one scale")


def _scales(request: ProtocolRequest, multi: tuple[float, ...]) -> tuple[float, ...]:
    if request.scales:
        return request.scales
    return multi if request.multi_scale else (1.0,)


def _test_size(request: ProtocolRequest, default: tuple[int, int] | None) -> tuple[int, int] | None:
    if request.test_size is None:
        return default
    return None if request.test_size == (0, 0) else request.test_size


def _official(
    request: ProtocolRequest,
    protocol: str,
    dataset: str,
    dataset_crop: tuple[int, int],
    common: dict[str, Any],
) -> InferenceConfig:
    multi = protocol == "official-ms" or request.multi_scale
    scales = request.scales or (OFFICIAL_MULTI_SCALES if multi else (1.0,))
    base, single_crop, multi_crop = OFFICIAL_SETTINGS.get(dataset, (0, 0, 0))
    if request.crop_size is not None:
        crop = request.crop_size
    elif single_crop:
        crop = (multi_crop, multi_crop) if len(scales) > 1 else (single_crop, single_crop)
    else:
        crop = dataset_crop
    stride = request.stride or (official_stride(crop[0], len(scales)), official_stride(crop[1], len(scales)))
    return InferenceConfig(
        protocol="official", mode="slide", crop_size=crop, stride=stride, scales=scales,
        flip=True if request.flip is None else request.flip, base_size=request.base_size or base or None,
        test_size=_test_size(request, None), **common,
    )  # fmt: skip


def _dataset_crop(dataset: str) -> tuple[int, int]:
    from danet.datasets import dataset_info
    from danet.errors import UnknownNameError

    try:
        return dataset_info(dataset).crop_size
    except UnknownNameError:
        return (768, 768)


def _mmseg(
    request: ProtocolRequest, config_name: str, dataset: str, common: dict[str, Any]
) -> InferenceConfig:
    test = mmseg_test_settings(config_name, dataset)
    windows = bool(request.crop_size or request.stride)
    mode = request.mode or ("slide" if windows else test.mode if test else "whole")
    crop = request.crop_size or (test.crop_size if test else (512, 512))
    return InferenceConfig(
        protocol="mmseg", mode=mode, crop_size=crop,
        stride=request.stride or (test.stride if test else _two_thirds(crop)),
        scales=_scales(request, MULTI_SCALES), flip=bool(request.flip),
        test_size=_test_size(request, test.test_size if test else None), **common,
    )  # fmt: skip


def _danet(request: ProtocolRequest, common: dict[str, Any]) -> InferenceConfig:
    """danet's own protocol: whole, or flush windows with a 2/3-crop stride by default."""
    windows = bool(request.crop_size or request.stride)
    crop = request.crop_size or (768, 768)
    return InferenceConfig(
        protocol="danet", mode=request.mode or ("slide" if windows else "whole"), crop_size=crop,
        stride=request.stride or _two_thirds(crop), scales=_scales(request, MULTI_SCALES),
        flip=bool(request.flip), test_size=_test_size(request, None), **common,
    )  # fmt: skip


def saved_request(val: Mapping[str, Any]) -> ProtocolRequest:
    """A recipe's `val:` settings (as saved in a danet checkpoint's config) as a request."""
    protocol = str(val.get("protocol") or "danet")
    mode = None if protocol == "official" else str(val.get("mode") or "whole")
    windows = protocol == "official" or mode == "slide"
    scales = tuple(float(s) for s in val.get("scales") or (1.0,))
    return ProtocolRequest(
        protocol=protocol, mode=mode,
        crop_size=_pair(val.get("crop_size")) if windows else None,
        stride=_pair(val.get("stride")) if windows else None,
        flip=bool(val.get("flip", False)), scales=scales,
        test_size=_pair(val.get("test_size")) or (0, 0),
        base_size=int(val["base_size"]) if val.get("base_size") else None,
    )  # fmt: skip


def _with_saved(flags: ProtocolRequest, saved: ProtocolRequest) -> ProtocolRequest:
    """The flags (no --protocol) over a checkpoint's saved validation settings.

    --multi-scale or --scales drop the saved windows (each protocol has its own multi-scale ones),
    --crop-size drops the saved stride, --mode whole both.
    """
    rescaled = flags.multi_scale or bool(flags.scales)
    keep_crop = flags.mode != "whole" and not rescaled
    own_windows = bool(flags.crop_size or flags.stride)
    return ProtocolRequest(
        protocol=saved.protocol,
        mode=flags.mode or ("slide" if own_windows and saved.mode else saved.mode),
        crop_size=flags.crop_size or (saved.crop_size if keep_crop else None),
        stride=flags.stride or (saved.stride if keep_crop and not flags.crop_size else None),
        flip=saved.flip if flags.flip is None else flags.flip,
        multi_scale=flags.multi_scale,
        scales=flags.scales or (None if rescaled else saved.scales),
        test_size=flags.test_size or saved.test_size,
        base_size=flags.base_size or saved.base_size,
    )


def _pair(value: Any) -> tuple[int, int] | None:
    if value is None:
        return None
    values = [int(v) for v in value] if isinstance(value, (list, tuple)) else [int(value)] * 2
    return values[0], values[1]


def _two_thirds(crop: tuple[int, int]) -> tuple[int, int]:
    return max(1, crop[0] * 2 // 3), max(1, crop[1] * 2 // 3)


def val_inference(
    val: Any, *, align_corners: bool, mean: Sequence[float], std: Sequence[float]
) -> InferenceConfig:
    """The inference settings of a recipe's `val:` block (a `ValConfig`), for training-time validation."""
    from dataclasses import asdict

    return resolve_inference(
        saved_request(asdict(val)), mean=mean, std=std, align_corners=align_corners, batch_size=val.batch_size
    )


def saved_validation(meta: Any) -> dict[str, Any] | None:
    """A danet checkpoint's recipe validation settings (`val:` of its saved training config)."""
    val = meta.train_config.get("val") if meta.trained_by == "danet" else None
    return dict(val) if isinstance(val, Mapping) else None


def model_inference(
    request: ProtocolRequest,
    meta: Any,
    *,
    batch_size: int,
    dataset: str = "",
    dataset_crop: tuple[int, int] | None = None,
) -> InferenceConfig:
    """The `InferenceConfig` for `request` on a model described by `meta` (a `ModelMeta`): what the
    request leaves open comes from the model's origin, its saved validation settings and `dataset`."""
    if request.mode is not None and request.mode not in ("whole", "slide"):
        raise ConfigError(f"unknown --mode {request.mode!r}; use whole or slide")
    return resolve_inference(
        request,
        origin=meta.trained_by,
        origin_config=meta.mmseg_config,
        dataset=dataset,
        dataset_crop=dataset_crop,
        val=saved_validation(meta),
        mean=meta.mean,
        std=meta.std,
        align_corners=meta.align_corners,
        batch_size=batch_size,
    )


def protocol_source(meta: Any, protocol: str | None) -> dict[str, str]:
    """Where the model's weights come from and why this protocol ran (for the console and JSON)."""
    if protocol is not None:
        source = "--protocol"
    elif meta.trained_by == "danet":
        source = "the recipe's validation settings"
    else:
        source = f"the {meta.trained_by} origin of the checkpoint"
    return {"origin": meta.trained_by, "origin_config": meta.mmseg_config, "protocol_from": source}


def describe_inference(settings: Mapping[str, Any]) -> str:
    """One line for the console: protocol, windows, sizes, scales, flip."""
    text = f"protocol {settings['protocol']}: "
    if settings["protocol"].startswith("official"):
        base = settings["base_size"] or "image long side"
        text += f"base {base} crop {settings['crop_size']} stride {settings['stride']}"
    else:
        text += settings["mode"]
        if settings["mode"] == "slide":
            text += f" crop {settings['crop_size']} stride {settings['stride']}"
    if settings.get("test_size"):
        text += f", test size {settings['test_size']}"
    if len(settings["scales"]) > 1 or settings["scales"][0] != 1.0:
        text += f", scales {settings['scales']}"
    return text + (", flip" if settings["flip"] else "")
