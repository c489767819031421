"""The pictures `danet visualize` writes: overlay, attention, confusion matrix and training curves.

Each function returns an H x W x 3 uint8 RGB array; the loaders read the files the other commands
write (`danet evaluate --json`, a training run's `metrics.jsonl`). No torch here.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from danet.errors import DanetError
from danet.visualization import _draw
from danet.visualization.colorize import legend_entries, legend_panel, overlay
from danet.visualization.curves import LOSS_KEYS, _number, curves_figure, runs_figure
from danet.visualization.heatmap import colour_bar, heat_overlay, mark_point
from danet.visualization.matrix import labelled_matrix, matrix_heat

if TYPE_CHECKING:
    from danet.visualization.attention_maps import AttentionResult

__all__ = [
    "LOSS_KEYS",
    "attention_figure",
    "attention_scales",
    "confusion_figure",
    "curves_figure",
    "overlay_figure",
    "read_evaluation",
    "read_metrics",
    "runs_figure",
]


def overlay_figure(
    image: np.ndarray,
    mask: np.ndarray,
    names: Sequence[str],
    table: np.ndarray,
    *,
    alpha: float = 0.5,
    ignore_index: int = 255,
    legend: bool = True,
) -> np.ndarray:
    """The photo with the mask blended over it and, to its right, a legend of the classes present."""
    blended = overlay(image, mask, table, alpha=alpha, ignore_index=ignore_index)
    if not legend:
        return blended
    entries = legend_entries(mask, names, table, ignore_index=ignore_index)
    text_height = max(10.0, min(18.0, image.shape[0] / 30))
    return _draw.hstack([blended, legend_panel(entries, image.shape[0], text_height=text_height)], gap=0)


def _panel(image: np.ndarray, title: str, bar: np.ndarray | None = None) -> np.ndarray:
    body = _draw.hstack([image, bar], gap=4) if bar is not None else image
    return _draw.with_title(body, title, text_height=12)


def standardised(maps: np.ndarray) -> np.ndarray:
    """Each (H, W) map of a (k, H, W) stack in its own standard deviations from its own mean."""
    mean = maps.mean(axis=(1, 2), keepdims=True)
    spread = np.maximum(maps.std(axis=(1, 2), keepdims=True), 1e-6)
    return (maps - mean) / spread


def attention_scales(result: AttentionResult) -> dict[str, tuple[float, float]]:
    """The colour scale of each kind of panel, shared by every panel of that kind.

    "position": min to max of all PAM rows (weights of one softmax each, comparable across points);
    "matrix": 0 to the CAM matrix's max; "channel": the 1st to 99th percentile of all selected
    channels in standard units (`standardised`), so a few extreme pixels do not wash the maps out.
    """
    rows, channels = result.position.rows, standardised(result.channel.maps)
    low, high = np.percentile(channels, [1, 99]) if channels.size else (0.0, 1.0)
    return {
        "position": (float(rows.min()), float(rows.max())),
        "matrix": (0.0, float(result.channel.matrix.max())),  # softmax weights >= 0
        "channel": (float(low), float(high)),
    }


def attention_figure(
    result: AttentionResult, names: Sequence[str], table: np.ndarray, *, panel: int = 320
) -> np.ndarray:
    """Row 1: each query point and its PAM map over the image, on one colour scale. Row 2: the CAM
    matrix and the attended channels most selective for the chosen class, on one colour scale."""
    image = _draw.fit(result.image, panel, enlarge=True)  # every panel the same readable size
    name_of = names[result.channel.class_id] if result.channel.class_id < len(names) else "?"
    scales = attention_scales(result)
    rows = [
        _draw.with_title(
            _position_row(result, image, table, scales["position"]),
            "Position attention: where each point looks (one scale for all points)",
        ),
        _draw.with_title(
            _channel_row(result, image, scales),
            f"Channel attention: attended channels for '{name_of}' (one scale, standard units)",
        ),
    ]
    return _draw.border(_draw.vstack(rows, gap=16), 8)


def _bar(height: int, limits: tuple[float, float], label: str) -> np.ndarray:
    return colour_bar(height, *limits, label=label, width=12, text_height=10)


def _position_row(
    result: AttentionResult, image: np.ndarray, table: np.ndarray, limits: tuple[float, float]
) -> np.ndarray:
    factor = image.shape[0] / result.image.shape[0]
    points = [(round(y * factor), round(x * factor)) for y, x in result.position.points]
    marked = overlay(image, _resize_ids(result.prediction, image.shape[:2]), table, alpha=0.4)
    for i, (y, x) in enumerate(points):
        marked = mark_point(marked, y, x)
        _draw.put_text(marked, str(i + 1), (x + 6, y + 4), 0.4)
    panels = [_panel(marked, "input, prediction and query points")]
    position = result.position
    for i, ((y, x), cell) in enumerate(zip(position.points, position.cells, strict=True)):
        heat = heat_overlay(
            image, _draw.fit_to(position.maps[i], image.shape[:2]), vmin=limits[0], vmax=limits[1]
        )
        panels.append(_panel(mark_point(heat, *points[i]), f"{i + 1}: PAM of (y={y}, x={x}), cell {cell}"))
    bar = _bar(image.shape[0], limits, "weight")
    return _draw.hstack(
        [
            _draw.grid(panels, columns=min(len(panels), 5)),
            _draw.vstack([_draw.canvas(_title_height(), 1), bar], gap=0),
        ]
    )


def _title_height() -> int:
    """Height of the strip `_panel` puts above a picture (to line a colour bar up with the pictures)."""
    return _draw.with_title(_draw.canvas(1, 200), "Ag", text_height=12).shape[0] - 1


def _channel_row(
    result: AttentionResult, image: np.ndarray, scales: dict[str, tuple[float, float]]
) -> np.ndarray:
    channel, height = result.channel, image.shape[0]
    matrix = channel.matrix
    panels = [
        _panel(
            matrix_heat(matrix, height, vmin=0.0, colormap="viridis"),
            f"CAM matrix ({matrix.shape[0]}x{matrix.shape[1]})",
            _bar(height, scales["matrix"], "weight"),
        )
    ]
    low, high = scales["channel"]
    for index, score, values in zip(
        channel.channels, channel.scores, standardised(channel.maps), strict=True
    ):
        heat = heat_overlay(image, _draw.fit_to(values, image.shape[:2]), alpha=0.6, vmin=low, vmax=high)
        panels.append(_panel(heat, f"channel {index} (score {score:.2f})"))
    bar = _bar(height, scales["channel"], "std units")
    return _draw.hstack([*panels, _draw.vstack([_draw.canvas(_title_height(), 1), bar], gap=0)])


def _resize_ids(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    import cv2

    if mask.shape == size:
        return mask
    return cv2.resize(mask.astype(np.uint8), (size[1], size[0]), interpolation=cv2.INTER_NEAREST)


def read_evaluation(path: str | os.PathLike[str]) -> tuple[np.ndarray, list[str]]:
    """The confusion matrix (K x K counts, rows = ground truth) and class names of an evaluation JSON."""
    data = _read_json(Path(path))
    try:
        confusion = np.asarray(data.get("confusion", []), dtype=np.float64)
    except (TypeError, ValueError):  # strings, ragged rows, objects
        confusion = np.empty(0)
    k = confusion.shape[0] if confusion.ndim == 2 else 0
    if k == 0 or confusion.shape != (k, k) or not np.isfinite(confusion).all():
        raise DanetError(
            f"{path}: no square `confusion` matrix of numbers; write one with `danet evaluate --json FILE`"
        )
    listed = data.get("class_names") or []
    if not isinstance(listed, list):
        raise DanetError(f"{path}: `class_names` must be a list of names, got {type(listed).__name__}")
    names = [str(n) for n in listed]
    names = names[:k] + [f"class_{i}" for i in range(len(names), k)]
    return confusion, names


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DanetError(f"{path} does not exist") from None
    except (OSError, ValueError) as error:
        raise DanetError(f"{path} is not a readable JSON file: {error}") from None
    if not isinstance(data, dict):
        raise DanetError(f"{path}: expected a JSON object")
    return data


def confusion_figure(confusion: np.ndarray, names: Sequence[str], *, title: str = "") -> np.ndarray:
    """The confusion matrix normalised by row (the share of each true class given to each prediction)."""
    totals = confusion.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        normalised = np.where(totals > 0, confusion / totals, np.nan)  # rows without pixels stay grey
    return labelled_matrix(
        normalised,
        names,
        title=title or "Confusion matrix (normalised by row; shares under 0.005 left blank)",
        row_title="ground truth",
        column_title="prediction",
    )


def read_metrics(run_dir: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The records of `<run_dir>/metrics.jsonl` (or the file itself); bad lines are an error."""
    from danet.checkpoints.runs import METRICS_FILE

    path = Path(run_dir)
    path = path / METRICS_FILE if path.is_dir() else path
    if not path.is_file():
        raise DanetError(f"{path} does not exist; pass a `danet train` run folder holding metrics.jsonl")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = "not UTF-8 text" if isinstance(error, UnicodeDecodeError) else error.strerror or error
        raise DanetError(f"{path} is not a readable metrics.jsonl file ({reason})") from None
    records = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            raise DanetError(f"{path}:{number} is not valid JSON") from None
        if isinstance(record, dict) and "iteration" in record:
            if not math.isfinite(_number(record["iteration"])):
                got = record["iteration"]
                raise DanetError(f"{path}:{number}: `iteration` must be a number, got {got!r}")
            records.append(record)
    if not records:
        raise DanetError(f"{path} holds no records with an `iteration`")
    return records
