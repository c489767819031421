"""Options and parsers shared by several commands, so each flag reads and behaves the same everywhere."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import typer

from danet.errors import ConfigError

# The valid values of each choice flag, as Literal types: `--help` lists them and a wrong value is one
# error naming them all. Written here, not imported from the core modules that define them
# (danet.export, danet.prediction.media, danet.protocols...), because those import torch or OpenCV and
# `--help` must stay fast; tests/test_cli_choices.py checks that each equals its core twin.
Mode = Literal["whole", "slide"]
Precision = Literal["auto", "fp32", "bf16", "fp16"]
Backend = Literal["torch", "onnxruntime"]
Protocol = Literal["danet", "official", "official-ms", "mmseg"]
PredictFormat = Literal["index", "color", "overlay", "labelids", "probs"]
SaveFormat = Literal["index", "color", "overlay"]
ExportFormat = Literal["onnx", "torchscript"]
Logger = Literal["none", "tensorboard"]
Optimizer = Literal["sgd", "adamw"]
DEVICES = ("auto", "cpu", "cuda", "cuda:N", "mps")


def parse_device(value: str) -> str:
    """auto, cpu, cuda, cuda:N or mps. Free text checked by its form rather than a Literal: cuda:N is
    open-ended (any GPU index); `--help` and completion still list the five forms."""
    text = str(value).strip().lower()
    index = text.removeprefix("cuda:")
    if text in ("auto", "cpu", "cuda", "mps") or (text != index and index.isdigit()):
        return text
    raise typer.BadParameter(f"{value!r} is not one of auto, cpu, cuda, cuda:N (N a GPU index) or mps.")


def complete_device(incomplete: str) -> list[str]:
    """Shell completion for --device."""
    return [form for form in ("auto", "cpu", "cuda", "cuda:0", "mps") if form.startswith(incomplete)]


DEVICE_METAVAR = "<" + "|".join(DEVICES) + ">"


def device_option(help: str, **options: Any) -> Any:
    """A --device option: checked by `parse_device`, its forms listed in `--help` and completed."""
    return typer.Option(
        parser=parse_device, metavar=DEVICE_METAVAR, autocompletion=complete_device, help=help, **options
    )


CheckpointArg = Annotated[
    str | None,
    typer.Argument(
        metavar="[CHECKPOINT]",
        help="Checkpoint file, run folder, weight name or hf://OWNER/REPO/FILE (default: newest run); "
        "the same as --checkpoint/-c.",
        show_default=False,
    ),
]
CheckpointOption = Annotated[
    str | None,
    typer.Option(
        "--checkpoint",
        "-c",
        help="Checkpoint file, run folder, weight name or hf://OWNER/REPO/FILE (default: newest run).",
        show_default=False,
    ),
]


def one_checkpoint(positional: str | None, option: str | None) -> str | None:
    """The checkpoint of a command that takes it as CHECKPOINT or --checkpoint/-c (given once)."""
    if positional is not None and option is not None and positional != option:
        raise ConfigError(f"two checkpoints given ({positional} and --checkpoint {option}); give one")
    return option if option is not None else positional


ModeOption = Annotated[
    Mode | None,
    typer.Option(help="whole (one pass per image) or slide (windows)."),
]
CropSizeOption = Annotated[
    str | None, typer.Option(help="Slide window: SIZE or H,W (default 768; implies --mode slide).")
]
StrideOption = Annotated[
    str | None,
    typer.Option(
        help="Slide step: SIZE or H,W [default: 2/3 crop; official-ms: 1/2 crop].", show_default=False
    ),
]
ProtocolOption = Annotated[
    Protocol | None,
    typer.Option(
        help="danet (flush windows, softmax averaged), official (the official DANet evaluator: black-padded "
        "windows, exp of flip-summed logits; Cityscapes base 2048, crop 768, stride 512, flip), official-ms "
        "(its multi-scale run: scales 0.5-2.2, crop 1024, stride crop/2) or mmseg (mmsegmentation's test "
        "pipeline: test-size resize, whole or slide, logits averaged). Default: the file's origin "
        "(official, mmseg; danet checkpoints: their recipe's validation settings).",
        show_default=False,
    ),
]
BaseSizeOption = Annotated[
    int | None,
    typer.Option(
        min=1, help="official: long side at scale 1.0 [default: Cityscapes 2048, else each image's]."
    ),
]
TestSizeOption = Annotated[
    str | None,
    typer.Option(
        help="Keep-ratio resize to LONG,SHORT before inference (e.g. 2048,512), scored at the original "
        "size; none: no resize [default: mmseg: the dataset's test scale; danet: the recipe's].",
        show_default=False,
    ),
]
FlipOption = Annotated[
    bool | None,
    typer.Option(
        "--flip/--no-flip",
        help="Also run the horizontally flipped image [default: on for official, else off].",
        show_default=False,
    ),
]
MultiScaleOption = Annotated[
    bool,
    typer.Option(
        "--multi-scale",
        help="Several scales: danet/mmseg 0.5-1.75 (mmseg: of the test size), official 0.5-2.2.",
    ),
]
ScalesOption = Annotated[str | None, typer.Option(help="Scales to average, e.g. 0.75,1,1.25.")]
DeviceOption = Annotated[
    str, device_option("Where to run; cuda:N picks GPU N (auto: CUDA, then MPS, then CPU).")
]
PrecisionOption = Annotated[
    Precision, typer.Option(help="Compute precision (auto: bf16 or fp16 on a GPU, else fp32).")
]
BackendOption = Annotated[
    Backend | None, typer.Option(help="Inference backend (default: from the file).", show_default=False)
]
TrustOption = Annotated[bool, typer.Option("--trust", help="Allow checkpoints that need full unpickling.")]
CompileOption = Annotated[
    bool,
    typer.Option(
        "--compile",
        help="torch backend: torch.compile with freezing (slow first call per image size, faster after).",
    ),
]

ChannelsLastOption = Annotated[
    bool | None,
    typer.Option(
        "--channels-last/--no-channels-last",
        help="torch backend: NHWC memory [default: on where measured faster: CPU, and GPU with bf16/fp16].",
        show_default=False,
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


def parse_test_size(text: str) -> tuple[int, int]:
    """`2048,512` -> (2048, 512) (long, short bounds); `none` -> (0, 0): no resize."""
    if text.strip().lower() in ("none", "original", "0"):
        return (0, 0)
    return parse_pair(text.replace("x", ","), "--test-size")


def inference_flags(
    *, crop_size: str | None, stride: str | None, scales: str | None, test_size: str | None
) -> dict[str, Any]:
    """The text of the window, scale and test-size flags as the values `danet.evaluate` and
    `danet.predict` take (absent flags stay None)."""
    return {
        "crop_size": parse_pair(crop_size, "--crop-size") if crop_size else None,
        "stride": parse_pair(stride, "--stride") if stride else None,
        "scales": parse_scales(scales) if scales else None,
        "test_size": parse_test_size(test_size) if test_size else None,
    }
