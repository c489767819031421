"""Options and parsers shared by several commands, so each flag reads and behaves the same everywhere."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated

import typer

from danet.errors import ConfigError

if TYPE_CHECKING:
    from danet.inference import InferenceConfig

_PROTOCOLS = ("official",)

CheckpointArg = Annotated[
    str | None,
    typer.Argument(
        metavar="[CHECKPOINT|RUN_DIR]",
        help="Checkpoint file or `danet train` run folder (default: newest run's best).",
        show_default=False,
    ),
]
ModeOption = Annotated[str | None, typer.Option(help="whole (one pass per image) or slide (windows).")]
CropSizeOption = Annotated[
    str | None, typer.Option(help="Slide window: SIZE or H,W (default 768; implies --mode slide).")
]
StrideOption = Annotated[str | None, typer.Option(help="Slide step: SIZE or H,W (default 2/3 crop).")]
FlipOption = Annotated[bool, typer.Option("--flip", help="Also average the horizontally flipped image.")]
MultiScaleOption = Annotated[bool, typer.Option("--multi-scale", help="Average scales 0.5-1.75 (step 0.25).")]
ScalesOption = Annotated[str | None, typer.Option(help="Scales to average, e.g. 0.75,1,1.25.")]
DeviceOption = Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:N or mps.")]
PrecisionOption = Annotated[str, typer.Option(help="auto, fp32, bf16 or fp16.")]
BackendOption = Annotated[
    str | None, typer.Option(help="Inference backend: torch or onnxruntime (default: from the file).")
]
TrustOption = Annotated[bool, typer.Option("--trust", help="Allow checkpoints that need full unpickling.")]
CompileOption = Annotated[
    bool,
    typer.Option(
        "--compile",
        help="torch backend: torch.compile with freezing (slow first call per image size, faster after).",
    ),
]


def parse_pair(text: str, flag: str) -> tuple[int, int]:
    """`768` -> (768, 768); `512,1024` or `512x1024` -> (height, width)."""
    parts = text.lower().replace("x", ",").split(",")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        values = []
    if len(values) == 1:
        values *= 2
    if len(values) != 2 or min(values) < 1:
        raise ConfigError(f"{flag} takes one positive size or HEIGHT,WIDTH, got {text!r}")
    return values[0], values[1]


def parse_scales(text: str) -> tuple[float, ...]:
    """`0.75,1,1.25` -> (0.75, 1.0, 1.25)."""
    try:
        scales = tuple(float(p) for p in text.split(",") if p.strip())
    except ValueError:
        scales = ()
    if not scales or any(not math.isfinite(s) or s <= 0 for s in scales):
        raise ConfigError(f"--scales takes positive numbers separated by commas, got {text!r}")
    return scales


def build_inference(
    *,
    protocol: str | None,
    mode: str | None,
    crop_size: str | None,
    stride: str | None,
    flip: bool,
    multi_scale: bool,
    scales: str | None,
    batch_size: int,
    align_corners: bool,
) -> InferenceConfig:
    """The inference settings the flags ask for (the protocol fixes mode, crop, stride and flip)."""
    from dataclasses import replace

    from danet.inference import MULTI_SCALES, InferenceConfig, official_protocol

    chosen_scales = parse_scales(scales) if scales else MULTI_SCALES if multi_scale else (1.0,)
    if protocol is not None:
        if protocol not in _PROTOCOLS:
            raise ConfigError(f"unknown protocol {protocol!r}; valid: {', '.join(_PROTOCOLS)}")
        if mode or crop_size or stride:
            raise ConfigError("--protocol official fixes --mode, --crop-size and --stride; drop them")
        base = official_protocol()
        return replace(base, scales=chosen_scales, batch_size=batch_size, align_corners=align_corners)
    if mode == "whole" and (crop_size or stride):
        raise ConfigError("--crop-size and --stride set sliding windows; use them with --mode slide")
    crop = parse_pair(crop_size, "--crop-size") if crop_size else (768, 768)
    step = parse_pair(stride, "--stride") if stride else (max(1, crop[0] * 2 // 3), max(1, crop[1] * 2 // 3))
    return InferenceConfig(
        mode=mode or ("slide" if crop_size or stride else "whole"),
        crop_size=crop,
        stride=step,
        scales=chosen_scales,
        flip=flip,
        batch_size=batch_size,
        align_corners=align_corners,
    )
