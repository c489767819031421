"""What DANet's attention modules look at, for one image, computed at full resolution.

A forward pass with hooks on `model.head.pam` and `model.head.cam` captures the features entering the
two attention modules. From them only what a figure needs is computed: the attention rows of a few
query positions (`PositionAttention.attention_rows`, never the N x N matrix) and the C x C channel
attention matrix (`ChannelAttention.attention`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from danet.errors import ConfigError, UnknownNameError
from danet.models.attention import ChannelAttention, PositionAttention

if TYPE_CHECKING:
    from danet.checkpoints.meta import ModelMeta
    from danet.reporting import Reporter


@dataclass(frozen=True)
class PositionMaps:
    """PAM attention of query points over all positions."""

    points: list[tuple[int, int]]  # (y, x) in image pixels
    cells: list[tuple[int, int]]  # (row, column) on the feature grid
    rows: np.ndarray  # (L, h, w) attention weights on the feature grid; each sums to 1
    maps: np.ndarray  # (L, H, W) the same, upsampled to the image for display


@dataclass(frozen=True)
class ChannelMaps:
    """CAM matrix and the attended feature maps that respond most to one class."""

    matrix: np.ndarray  # (C, C) channel attention, rows sum to 1
    class_id: int
    channels: list[int]  # most class-selective channels of the CAM output, best first
    scores: list[float]  # their mean standardised response inside the class region
    maps: np.ndarray  # (k, H, W) those channels of the CAM output, upsampled to the image


@dataclass(frozen=True)
class AttentionResult:
    image: np.ndarray  # (H, W, 3) uint8 RGB
    prediction: np.ndarray  # (H, W) class ids
    position: PositionMaps
    channel: ChannelMaps


def attention_modules(model: nn.Module) -> tuple[PositionAttention, ChannelAttention]:
    """The PAM and CAM modules of a DANet; a clear error for models without them."""
    head = getattr(model, "head", None)
    pam, cam = getattr(head, "pam", None), getattr(head, "cam", None)
    if not isinstance(pam, PositionAttention) or not isinstance(cam, ChannelAttention):
        name = getattr(getattr(model, "config", None), "name", type(model).__name__)
        raise ConfigError(f"attention maps need a DANet model with PAM and CAM; {name} has none")
    return pam, cam


def capture_attention_inputs(model: nn.Module, batch: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Run `model` once; return (logits (B, K, H, W), PAM input (B, C, h, w), CAM input (B, C, h, w))."""
    pam, cam = attention_modules(model)
    captured: dict[str, torch.Tensor] = {}

    def keep(name: str):
        def hook(module: nn.Module, args: tuple[torch.Tensor, ...]) -> None:
            captured[name] = args[0].detach()

        return hook

    handles = [pam.register_forward_pre_hook(keep("pam")), cam.register_forward_pre_hook(keep("cam"))]
    try:
        with torch.inference_mode():
            logits = model(batch)["out"]
    finally:
        for handle in handles:
            handle.remove()
    return logits, captured["pam"], captured["cam"]


def default_points(height: int, width: int, count: int = 4) -> list[tuple[int, int]]:
    """`count` query points spread over the image on a near-square grid, as (y, x)."""
    rows = max(1, round(math.sqrt(count * height / max(1, width))))
    columns = math.ceil(count / rows)
    points = [
        (int((r + 0.5) * height / rows), int((c + 0.5) * width / columns))
        for r in range(rows)
        for c in range(columns)
    ]
    return points[:count]


def feature_cell(
    point: tuple[int, int], image_size: tuple[int, int], grid: tuple[int, int], stride: int
) -> tuple[int, int]:
    """The feature-grid cell of an image pixel (y, x): pixel // output stride, clipped to the grid."""
    y, x = point
    if not (0 <= y < image_size[0] and 0 <= x < image_size[1]):
        raise ConfigError(f"point (y={y}, x={x}) lies outside the {image_size[0]}x{image_size[1]} image")
    return min(grid[0] - 1, y // stride), min(grid[1] - 1, x // stride)


def upsample(maps: torch.Tensor, size: tuple[int, int], align_corners: bool) -> np.ndarray:
    """(L, h, w) -> (L, H, W) float32 numpy, bilinear like the model's own logits upsampling."""
    up = F.interpolate(maps[None].float(), size=size, mode="bilinear", align_corners=align_corners)
    return up[0].cpu().numpy()


def position_maps(
    model: nn.Module, pam_input: torch.Tensor, points: Sequence[tuple[int, int]], image_size: tuple[int, int]
) -> PositionMaps:
    """PAM attention rows for `points` (image pixels) over the whole feature grid."""
    pam, _ = attention_modules(model)
    grid = (pam_input.shape[2], pam_input.shape[3])
    stride = int(getattr(model.config, "output_stride", 8))
    cells = [feature_cell(p, image_size, grid, stride) for p in points]
    indices = torch.tensor([r * grid[1] + c for r, c in cells], device=pam_input.device)
    with torch.inference_mode():
        rows = pam.attention_rows(pam_input, indices)[0]  # (L, N)
    rows = rows.reshape(len(cells), *grid)  # (L, h, w)
    maps = upsample(rows, image_size, model.config.align_corners)
    return PositionMaps(list(points), cells, rows.cpu().numpy(), maps)


def resolve_class(
    spec: str | int | None, names: Sequence[str], prediction: np.ndarray, ignore_index: int = 255
) -> int:
    """A class id from a name or id; None means the most frequent predicted class."""
    if spec is None or spec == "":
        ids, counts = np.unique(prediction[prediction != ignore_index], return_counts=True)
        if ids.size == 0:
            raise ConfigError("the prediction holds no class; pass --class")
        return int(ids[np.argmax(counts)])
    text = str(spec).strip()
    if text.isdigit():
        if int(text) >= len(names):
            raise ConfigError(
                f"class id {text} is out of range: the model has {len(names)} classes (0..{len(names) - 1})"
            )
        return int(text)
    lowered = [n.lower() for n in names]
    if text.lower() not in lowered:
        raise UnknownNameError("class", text, list(names))
    return lowered.index(text.lower())


def channel_maps(
    model: nn.Module, cam_input: torch.Tensor, prediction: np.ndarray, class_id: int, top: int = 4
) -> ChannelMaps:
    """The CAM matrix and the `top` CAM-output channels most selective for `class_id`.

    Selectivity of a channel: its response standardised over the image (zero mean, unit variance),
    averaged over the class region (weighted by the class's share of each feature cell).
    """
    _, cam = attention_modules(model)
    with torch.inference_mode():
        matrix = ChannelAttention.attention(cam_input)[0]  # (C, C)
        attended = cam(cam_input)[0].float()  # (C, h, w): the features after channel attention
    c, h, w = attended.shape
    share = cv2.resize((prediction == class_id).astype(np.float32), (w, h), interpolation=cv2.INTER_AREA)
    if share.sum() <= 0:
        raise ConfigError(f"class {class_id} is not predicted in this image; pick a class that is")
    flat = attended.reshape(c, h * w)  # (C, N)
    z = (flat - flat.mean(dim=1, keepdim=True)) / flat.std(dim=1, keepdim=True).clamp_min(1e-6)
    weights = torch.from_numpy(share.reshape(-1)).to(z.device)
    scores = (z @ weights) / weights.sum()  # (C,)
    best = torch.argsort(scores, descending=True)[: max(1, min(top, c))]
    maps = upsample(attended[best], prediction.shape, model.config.align_corners)
    return ChannelMaps(
        matrix.cpu().numpy(), class_id, [int(i) for i in best], [float(scores[i]) for i in best], maps
    )


def compute_attention(
    model: nn.Module,
    batch: torch.Tensor,
    image: np.ndarray,
    *,
    points: Sequence[tuple[int, int]] | None = None,
    class_spec: str | int | None = None,
    class_names: Sequence[str] = (),
    top_channels: int = 4,
    ignore_index: int = 255,
) -> AttentionResult:
    """Everything the attention figure shows, for one normalised image `batch` (1, 3, H, W)."""
    model.eval()
    size = (image.shape[0], image.shape[1])
    logits, pam_input, cam_input = capture_attention_inputs(model, batch)
    prediction = logits[0].argmax(dim=0).cpu().numpy().astype(np.int64)
    names = list(class_names) or [f"class_{i}" for i in range(logits.shape[1])]
    class_id = resolve_class(class_spec, names, prediction, ignore_index)
    position = position_maps(model, pam_input, points or default_points(*size), size)
    channel = channel_maps(model, cam_input, prediction, class_id, top_channels)
    return AttentionResult(image, prediction, position, channel)


def attention_from_checkpoint(
    checkpoint: str | os.PathLike[str] | None,
    image: np.ndarray,
    *,
    device: str = "auto",
    trust: bool = False,
    points: Sequence[tuple[int, int]] | None = None,
    class_spec: str | int | None = None,
    top_channels: int = 4,
    reporter: Reporter | None = None,
) -> tuple[AttentionResult, ModelMeta]:
    """`compute_attention` with the PyTorch DANet of any checkpoint spec (file, run folder, weight
    name, hf://; None: the newest run), in fp32 on `device`; returns the maps and the model's meta.

    Exported files hold no attention modules to read: they are refused with a clear error.
    """
    from danet.checkpoints import load_model, resolve
    from danet.devices import resolve_device
    from danet.errors import BackendError
    from danet.evaluation import image_to_batch

    path = resolve(checkpoint, reporter=reporter)
    if path.suffix == ".onnx" or path.name.endswith(".torchscript.pt"):
        raise BackendError(
            f"attention maps need a PyTorch checkpoint, not the exported model {path}: pass the checkpoint "
            "or run folder it was exported from"
        )
    run_device = resolve_device(device)
    model = load_model(path, trust=trust, reporter=reporter).float().to(run_device)
    meta = model.meta
    batch = image_to_batch(image, run_device, meta.mean, meta.std)  # (1, 3, H, W)
    result = compute_attention(
        model,
        batch,
        image,
        points=points,
        class_spec=class_spec,
        class_names=meta.names(),
        top_channels=top_channels,
        ignore_index=meta.ignore_index,
    )
    return result, meta
