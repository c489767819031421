"""Line charts drawn with OpenCV (no plotting library needed).

A chart's plot area can be pinned (x range, left margin, legend column) so that several charts
stacked in one figure share their x axis exactly; the legend sits in its own column to the right of
the plot area, never over the data. Matrix pictures live in `matrix` (re-exported here).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import cv2
import numpy as np

from danet.visualization import _draw
from danet.visualization.matrix import labelled_matrix, matrix_heat

__all__ = ["LINE_COLOURS", "labelled_matrix", "legend_width", "line_chart", "matrix_heat", "y_axis_width"]

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
Series = Mapping[str, tuple[Sequence[float], Sequence[float]]]
_RIGHT = 16  # space right of the plot area when there is no legend


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
    return _draw.vertical_text(text, scale)


def data_range(values: Sequence[np.ndarray]) -> tuple[float, float]:
    """(min, max) of the finite values, widened when they are all equal; (0, 1) when there are none."""
    finite = [v[np.isfinite(v)] for v in values]
    finite = np.concatenate(finite) if finite else np.zeros(0)
    if finite.size == 0:
        return 0.0, 1.0
    low, high = float(finite.min()), float(finite.max())
    if high - low < 1e-12:
        pad = abs(low) * 0.05 or 1.0
        return low - pad, high + pad
    return low, high


def _arrays(series: Series) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return {n: (np.asarray(x, np.float64), np.asarray(y, np.float64)) for n, (x, y) in series.items()}


def _y_limits(curves: Sequence[dict[str, tuple[np.ndarray, np.ndarray]]]) -> tuple[float, float]:
    low, high = data_range([y for data in curves for _, y in data.values()])
    return low - 0.03 * (high - low), high + 0.03 * (high - low)  # keep lines off the frame


def _y_ticks(low: float, high: float) -> list[float]:
    return [t for t in nice_ticks(low, high) if low <= t <= high]


def y_axis_width(series: Series, *, text_height: float = 12.0, ylabel: str = "y") -> int:
    """Pixels left of the plot area that `line_chart` needs for this data's tick labels and `ylabel`."""
    scale = _draw.scale_for(text_height)
    ticks = _y_ticks(*_y_limits([_arrays(series)]))
    _, cap, depth = _draw.text_size("0", scale)
    widest = max(_draw.text_size(_label(t), scale)[0] for t in ticks or [0.0])
    return widest + (cap + depth + 10 if ylabel else 0) + 8


def legend_width(names: Sequence[str], *, text_height: float = 12.0) -> int:
    """Width of the legend column for `names` (swatch, gap and the longest name)."""
    scale = _draw.scale_for(text_height)
    return max((_draw.text_size(n, scale)[0] for n in names), default=0) + 46


def line_chart(
    series: Series,
    *,
    title: str = "",
    xlabel: str = "",
    ylabel: str = "",
    size: tuple[int, int] = (360, 560),
    text_height: float = 12.0,
    x_range: tuple[float, float] | None = None,
    left: int | None = None,
    legend: int | None = None,
    colours: Mapping[str, tuple[int, int, int]] | None = None,
    raw: Series | None = None,
    show_legend: bool | None = None,
) -> np.ndarray:
    """A chart of named (x, y) series; NaN values break a line. Returns an RGB image of `size` (H, W).

    `x_range`, `left` (pixels before the plot area) and `legend` (the width of the column right of
    it, which holds the legend) pin the plot area, so charts stacked in a figure line up. The legend
    is drawn when `show_legend` is true (default: when there are several series). `raw` series are
    drawn faint under the named ones of the same name (unsmoothed data under smoothed curves);
    `colours` picks each series' colour (default: `LINE_COLOURS`).
    """
    height, width = size
    scale = _draw.scale_for(text_height)
    data, faint = _arrays(series), _arrays(raw or {})
    x_low, x_high = x_range or data_range([x for x, _ in [*data.values(), *faint.values()]])
    y_low, y_high = _y_limits([data, faint])
    left = left if left is not None else y_axis_width(series, text_height=text_height, ylabel=ylabel)
    show_legend = len(data) > 1 if show_legend is None else show_legend
    if legend is None:
        legend = legend_width(list(data), text_height=text_height) if show_legend else 0
    _, cap, depth = _draw.text_size("0", scale)
    top, bottom = (2 * cap + 16 if title else 12), 2 * (cap + depth) + 20
    image = _draw.canvas(height, width)
    box = (left, top, width - (legend or _RIGHT), height - bottom)  # x0, y0, x1, y1 of the plot area

    def to_px(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        px = box[0] + (x - x_low) / (x_high - x_low) * (box[2] - box[0])
        py = box[3] - (y - y_low) / (y_high - y_low) * (box[3] - box[1])
        return np.stack([px, py], axis=-1)

    _axes(image, box, _x_ticks(x_low, x_high, data), _y_ticks(y_low, y_high), to_px, scale)
    palette = {n: (colours or {}).get(n, LINE_COLOURS[i % len(LINE_COLOURS)]) for i, n in enumerate(data)}
    for name, (x, y) in faint.items():
        _plot(image, to_px(x, y), _lighter(palette.get(name, _draw.GREY)), few=False, width=1)
    for name, (x, y) in data.items():
        _plot(image, to_px(x, y), palette[name], few=len(x) <= 40)
    if show_legend and legend:
        _legend(image, palette, (box[2] + 10, box[1]), scale)
    _titles(image, box, title, xlabel, ylabel, text_height)
    return image


def _x_ticks(low: float, high: float, data: dict[str, tuple[np.ndarray, np.ndarray]]) -> list[float]:
    ticks = [t for t in nice_ticks(low, high) if low <= t <= high]
    if all(np.all(x[np.isfinite(x)] == np.round(x[np.isfinite(x)])) for x, _ in data.values()):
        ticks = [t for t in ticks if float(t).is_integer()] or ticks  # iterations: no 2.5
    return ticks


def _titles(
    image: np.ndarray, box: tuple[int, ...], title: str, xlabel: str, ylabel: str, size: float
) -> None:
    scale = _draw.scale_for(size)
    _, cap, depth = _draw.text_size("0", scale)
    if title:
        _draw.put_text(image, title, (box[0], 4), _draw.scale_for(size * 1.3), colour=_draw.BLACK, box=None)
    if xlabel:
        x_w = _draw.text_size(xlabel, scale)[0]
        origin = ((box[0] + box[2] - x_w) // 2, image.shape[0] - cap - depth - 10)
        _draw.put_text(image, xlabel, origin, scale, colour=_draw.BLACK, box=None)
    if ylabel:
        rotated = _draw.vertical_text(ylabel, scale)[: box[3] - box[1]]
        y0 = (box[1] + box[3] - rotated.shape[0]) // 2
        image[y0 : y0 + rotated.shape[0], 2 : 2 + rotated.shape[1]] = rotated


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


def _lighter(colour: Sequence[int], amount: float = 0.65) -> tuple[int, int, int]:
    """`colour` mixed with white: the faint line under a smoothed curve."""
    r, g, b = (round(c + (255 - c) * amount) for c in colour)
    return r, g, b


def _plot(
    image: np.ndarray, points: np.ndarray, colour: tuple[int, int, int], few: bool, width: int = 2
) -> None:
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
            cv2.polylines(image, [line], False, colour, width, cv2.LINE_AA)
        if few or len(run) == 1:
            for x, y in run:
                cv2.circle(image, (int(round(x)), int(round(y))), width + 1, colour, -1, cv2.LINE_AA)


def _legend(
    image: np.ndarray, palette: Mapping[str, tuple[int, int, int]], corner: tuple[int, int], scale: float
) -> None:
    """One row per series (a line in its colour, then its name) from `corner` (x, y) downwards."""
    _, cap, depth = _draw.text_size("Ag", scale)
    row = cap + depth + 8
    x0, y0 = corner
    for i, (name, colour) in enumerate(palette.items()):
        y = y0 + i * row
        middle = y + (cap + depth) // 2 + 2
        cv2.line(image, (x0, middle), (x0 + 20, middle), colour, 3, cv2.LINE_AA)
        _draw.put_text(image, name, (x0 + 26, y), scale, colour=_draw.BLACK, box=None, pad=2)
