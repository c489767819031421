"""Line charts and matrix pictures drawn with OpenCV (no plotting library needed)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import cv2
import numpy as np

from danet.visualization import _draw
from danet.visualization.heatmap import colour_bar, colour_map

# Line colours (RGB), distinguishable and readable on white.
LINE_COLOURS = (
    (31, 119, 180),
    (214, 39, 40),
    (44, 160, 44),
    (255, 127, 14),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (23, 190, 207),
)
GRID = (225, 225, 225)


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About `count` round tick values (1, 2 or 5 times a power of ten apart) covering [low, high]."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return [low]
    raw = (high - low) / max(1, count)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(low / step - 1e-9) * step
    return [first + i * step for i in range(int((high - first) / step + 1e-9) + 1)]


def _label(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1e5 or abs(value) < 1e-3:
        return f"{value:.0e}"
    return f"{value:.4g}"


def vertical_text(text: str, scale: float) -> np.ndarray:
    """`text` rendered on white and turned to read bottom-to-top."""
    width, height, depth = _draw.text_size(text, scale)
    strip = _draw.canvas(height + depth + 6, width + 6)
    _draw.put_text(strip, text, (0, 0), scale, colour=_draw.BLACK, box=None, pad=3)
    return np.ascontiguousarray(np.rot90(strip))


def _range(values: list[np.ndarray]) -> tuple[float, float]:
    finite = np.concatenate([v[np.isfinite(v)] for v in values]) if values else np.zeros(0)
    if finite.size == 0:
        return 0.0, 1.0
    low, high = float(finite.min()), float(finite.max())
    if high - low < 1e-12:
        pad = abs(low) * 0.05 or 1.0
        return low - pad, high + pad
    return low, high


def line_chart(
    series: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    *,
    title: str = "",
    xlabel: str = "",
    ylabel: str = "",
    size: tuple[int, int] = (360, 560),
    text_height: float = 12.0,
) -> np.ndarray:
    """A chart of named (x, y) series; NaN values break a line. Returns an RGB image of `size` (H, W)."""
    height, width = size
    scale = _draw.scale_for(text_height)
    data = {n: (np.asarray(x, np.float64), np.asarray(y, np.float64)) for n, (x, y) in series.items()}
    x_low, x_high = _range([x for x, _ in data.values()])
    y_low, y_high = _range([y for _, y in data.values()])
    y_low, y_high = (
        y_low - 0.03 * (y_high - y_low),
        y_high + 0.03 * (y_high - y_low),
    )  # keep lines off the frame
    y_ticks = [t for t in nice_ticks(y_low, y_high) if y_low <= t <= y_high]
    x_ticks = [t for t in nice_ticks(x_low, x_high) if x_low <= t <= x_high]
    if all(np.all(x[np.isfinite(x)] == np.round(x[np.isfinite(x)])) for x, _ in data.values()):
        x_ticks = [t for t in x_ticks if float(t).is_integer()] or x_ticks  # iterations: no 2.5
    _, cap, depth = _draw.text_size("0", scale)
    left = max(_draw.text_size(_label(t), scale)[0] for t in y_ticks or [0]) + cap + depth + 18
    top, bottom, right = (2 * cap + 16 if title else 12), 2 * (cap + depth) + 20, 16
    image = _draw.canvas(height, width)
    box = (left, top, width - right, height - bottom)  # x0, y0, x1, y1 of the plot area

    def to_px(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        px = box[0] + (x - x_low) / (x_high - x_low) * (box[2] - box[0])
        py = box[3] - (y - y_low) / (y_high - y_low) * (box[3] - box[1])
        return np.stack([px, py], axis=-1)

    _axes(image, box, x_ticks, y_ticks, to_px, scale)
    for i, (x, y) in enumerate(data.values()):
        _plot(image, to_px(x, y), LINE_COLOURS[i % len(LINE_COLOURS)], few=len(x) <= 40)
    _legend(image, list(data), box, scale)
    if title:
        _draw.put_text(
            image, title, (left, 4), _draw.scale_for(text_height * 1.3), colour=_draw.BLACK, box=None
        )
    if xlabel:
        x_w = _draw.text_size(xlabel, scale)[0]
        _draw.put_text(
            image,
            xlabel,
            ((box[0] + box[2] - x_w) // 2, height - cap - depth - 10),
            scale,
            colour=_draw.BLACK,
            box=None,
        )
    if ylabel:
        rotated = vertical_text(ylabel, scale)[: box[3] - box[1]]
        y0 = (box[1] + box[3] - rotated.shape[0]) // 2
        image[y0 : y0 + rotated.shape[0], 2 : 2 + rotated.shape[1]] = rotated
    return image


def _axes(image: np.ndarray, box: tuple[int, ...], x_ticks, y_ticks, to_px, scale: float) -> None:
    _, cap, _ = _draw.text_size("0", scale)
    for t in y_ticks:
        y = int(round(to_px(np.array(0.0), np.array(t))[1]))
        cv2.line(image, (box[0], y), (box[2], y), GRID, 1)
        w = _draw.text_size(_label(t), scale)[0]
        _draw.put_text(
            image, _label(t), (box[0] - w - 8, y - cap // 2 - 2), scale, colour=_draw.BLACK, box=None, pad=1
        )
    for t in x_ticks:
        x = int(round(to_px(np.array(t), np.array(0.0))[0]))
        cv2.line(image, (x, box[1]), (x, box[3]), GRID, 1)
        w = _draw.text_size(_label(t), scale)[0]
        _draw.put_text(image, _label(t), (x - w // 2, box[3] + 4), scale, colour=_draw.BLACK, box=None, pad=1)
    cv2.rectangle(image, (box[0], box[1]), (box[2], box[3]), _draw.BLACK, 1)


def _plot(image: np.ndarray, points: np.ndarray, colour: tuple[int, int, int], few: bool) -> None:
    finite = np.isfinite(points).all(axis=1)
    runs: list[list[np.ndarray]] = [[]]
    for ok, point in zip(finite, points, strict=True):
        if ok:
            runs[-1].append(point)
        elif runs[-1]:
            runs.append([])
    for run in runs:
        if len(run) > 1:
            line = np.round(np.stack(run)).astype(np.int32).reshape(-1, 1, 2)
            cv2.polylines(image, [line], False, colour, 2, cv2.LINE_AA)
        if few or len(run) == 1:
            for x, y in run:
                cv2.circle(image, (int(round(x)), int(round(y))), 3, colour, -1, cv2.LINE_AA)


def _legend(image: np.ndarray, names: list[str], box: tuple[int, ...], scale: float) -> None:
    if len(names) < 2:
        return
    _, cap, depth = _draw.text_size("Ag", scale)
    row = cap + depth + 6
    width = max(_draw.text_size(n, scale)[0] for n in names) + 34
    x0, y0 = box[2] - width - 6, box[1] + 6
    cv2.rectangle(image, (x0, y0), (x0 + width, y0 + row * len(names) + 6), _draw.WHITE, -1)
    cv2.rectangle(image, (x0, y0), (x0 + width, y0 + row * len(names) + 6), GRID, 1)
    for i, name in enumerate(names):
        y = y0 + 4 + i * row
        colour = LINE_COLOURS[i % len(LINE_COLOURS)]
        cv2.line(image, (x0 + 6, y + row // 2), (x0 + 24, y + row // 2), colour, 2, cv2.LINE_AA)
        _draw.put_text(image, name, (x0 + 28, y), scale, colour=_draw.BLACK, box=None, pad=2)


def matrix_heat(
    matrix: np.ndarray, side: int, *, vmin: float | None = None, vmax: float | None = None
) -> np.ndarray:
    """A square picture (`side` pixels) of a matrix's values, one block per entry (no labels)."""
    colours = colour_map(np.asarray(matrix, np.float64), vmin=vmin, vmax=vmax)
    return cv2.resize(colours, (side, side), interpolation=cv2.INTER_NEAREST)


def labelled_matrix(
    matrix: np.ndarray,
    labels: Sequence[str],
    *,
    title: str = "",
    row_title: str = "",
    column_title: str = "",
    vmin: float = 0.0,
    vmax: float = 1.0,
    text_height: float = 12.0,
) -> np.ndarray:
    """A K x K matrix with class labels on both axes, values written in the cells when they fit."""
    values = np.asarray(matrix, np.float64)
    k = values.shape[0]
    cell = int(np.clip(720 // max(1, k), 10, 48))
    scale = _draw.scale_for(min(text_height, cell * 0.7))
    body = matrix_heat(values, k * cell, vmin=vmin, vmax=vmax)
    if cell >= 30:
        _annotate(body, values, cell, vmin, vmax)
    row_w = max(_draw.text_size(n, scale)[0] for n in labels) + 8
    rows = _draw.canvas(k * cell, row_w)
    _, cap, _ = _draw.text_size("A", scale)
    for i, name in enumerate(labels):
        w = _draw.text_size(name, scale)[0]
        _draw.put_text(
            rows,
            name,
            (row_w - w - 6, i * cell + (cell - cap) // 2 - 2),
            scale,
            colour=_draw.BLACK,
            box=None,
            pad=1,
        )
    columns = np.ascontiguousarray(np.rot90(_label_strip(labels, cell, scale), k=-1))
    figure = np.hstack([rows, body])
    figure = np.vstack(
        [
            figure,
            _draw.pad_to(
                np.hstack([_draw.canvas(columns.shape[0], row_w), columns]), columns.shape[0], figure.shape[1]
            ),
        ]
    )
    if column_title:
        figure = np.vstack(
            [figure, _centred(column_title, figure.shape[1], scale, left=row_w, span=k * cell)]
        )
    if row_title:
        side = vertical_text(row_title, scale)
        column = _draw.canvas(figure.shape[0], side.shape[1])
        top = max(0, (k * cell - side.shape[0]) // 2)
        column[top : top + side.shape[0]] = side[: figure.shape[0] - top]
        figure = np.hstack([column, figure])
    bar = colour_bar(k * cell, vmin, vmax, text_height=text_height)
    figure = _draw.hstack([figure, bar], gap=10)
    figure = _draw.border(figure, 8)
    return _draw.with_title(figure, title) if title else figure


def _label_strip(labels: Sequence[str], cell: int, scale: float) -> np.ndarray:
    """Column labels as rows in reverse order, to be turned clockwise (reads downward from the matrix)."""
    width = max(_draw.text_size(n, scale)[0] for n in labels) + 8
    strip = _draw.canvas(len(labels) * cell, width)
    _, cap, _ = _draw.text_size("A", scale)
    for i, name in enumerate(reversed(labels)):
        _draw.put_text(
            strip, name, (4, i * cell + (cell - cap) // 2 - 2), scale, colour=_draw.BLACK, box=None, pad=1
        )
    return strip


def _centred(text: str, width: int, scale: float, *, left: int, span: int) -> np.ndarray:
    w, h, d = _draw.text_size(text, scale)
    strip = _draw.canvas(h + d + 10, width)
    _draw.put_text(strip, text, (left + max(0, (span - w) // 2), 2), scale, colour=_draw.BLACK, box=None)
    return strip


def _annotate(body: np.ndarray, values: np.ndarray, cell: int, vmin: float, vmax: float) -> None:
    scale = _draw.scale_for(cell * 0.3)
    colours = colour_map(values, vmin=vmin, vmax=vmax)
    for (i, j), value in np.ndenumerate(values):
        if not np.isfinite(value):
            continue
        text = f"{value:.2f}"
        w, h, _ = _draw.text_size(text, scale)
        origin = (j * cell + (cell - w) // 2 - 1, i * cell + (cell - h) // 2 - 2)
        ink = _draw.contrast_colour(colours[i, j])
        _draw.put_text(body, text, origin, scale, colour=ink, box=None, pad=1)
