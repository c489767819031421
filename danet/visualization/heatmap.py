"""Heat maps: values to colours, blended over a photo, with a colour bar that gives the scale.

Two colour maps, both readable in grey and by colour-blind readers: "viridis" (perceptually
uniform, dark purple to yellow; OpenCV's table) for attention, and "blues" (a single-hue ramp from
white to dark blue) for matrices, where zero should look like empty paper.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from danet.visualization import _draw

COLORMAP = "viridis"
# A single-hue ramp (RGB), light to dark: evenly spaced stops, interpolated linearly between them.
_BLUES = np.array(
    [
        (247, 251, 255),
        (222, 235, 247),
        (198, 219, 239),
        (158, 202, 225),
        (107, 174, 214),
        (66, 146, 198),
        (33, 113, 181),
        (8, 81, 156),
        (8, 48, 107),
    ],
    np.float64,
)
Colormap = str | int


@lru_cache(maxsize=8)
def _table(colormap: Colormap) -> np.ndarray:
    """The (256, 3) uint8 RGB table of a colour map name or OpenCV COLORMAP_* code."""
    if colormap == "blues":
        stops = np.linspace(0.0, 1.0, len(_BLUES))
        ramp = np.linspace(0.0, 1.0, 256)
        table = np.stack([np.interp(ramp, stops, _BLUES[:, c]) for c in range(3)], axis=1)
        table = table.round().astype(np.uint8)
        table.flags.writeable = False  # shared by every call (cached)
        return table
    code = {"viridis": cv2.COLORMAP_VIRIDIS, "jet": cv2.COLORMAP_JET}.get(colormap, colormap)
    if not isinstance(code, int):
        raise ValueError(f"unknown colour map {colormap!r}; use viridis, blues or an OpenCV COLORMAP_* code")
    bgr = cv2.applyColorMap(np.arange(256, dtype=np.uint8)[:, None], code)  # (256, 1, 3)
    table = bgr[:, 0, ::-1].copy()
    table.flags.writeable = False  # shared by every call (cached)
    return table


def _limits(values: np.ndarray, vmin: float | None, vmax: float | None) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    low = vmin if vmin is not None else (float(finite.min()) if finite.size else 0.0)
    high = vmax if vmax is not None else (float(finite.max()) if finite.size else 1.0)
    return low, max(high, low + 1e-12)


def colour_map(
    values: np.ndarray,
    *,
    vmin: float | None = None,
    vmax: float | None = None,
    colormap: Colormap = COLORMAP,
    nan_colour: tuple[int, int, int] = (200, 200, 200),
) -> np.ndarray:
    """H x W values -> H x W x 3 RGB colours; `vmin`/`vmax` default to the data range."""
    values = np.asarray(values, dtype=np.float64)
    low, high = _limits(values, vmin, vmax)
    scaled = np.nan_to_num((values - low) / (high - low), nan=0.0).clip(0, 1)
    rgb = _table(colormap)[(scaled * 255).round().astype(np.uint8)]
    rgb[~np.isfinite(values)] = nan_colour
    return rgb


def heat_overlay(
    image: np.ndarray,
    values: np.ndarray,
    *,
    alpha: float = 0.5,
    vmin: float | None = None,
    vmax: float | None = None,
    colormap: Colormap = COLORMAP,
) -> np.ndarray:
    """The heat map of `values` (resized to the image) blended over a greyed copy of the photo."""
    height, width = image.shape[:2]
    if values.shape != (height, width):
        values = cv2.resize(values.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
    heat = colour_map(values, vmin=vmin, vmax=vmax, colormap=colormap).astype(np.float32)
    grey = cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB).astype(np.float32)
    return (grey * (1 - alpha) + heat * alpha).round().clip(0, 255).astype(np.uint8)


def mark_point(image: np.ndarray, y: int, x: int, *, radius: int | None = None) -> np.ndarray:
    """A copy of `image` with a ring and cross at (y, x): white with a black outline, visible anywhere."""
    out = image.copy()
    radius = radius or max(4, round(min(image.shape[:2]) / 40))
    centre = (int(x), int(y))
    for colour, width in ((_draw.BLACK, 4), (_draw.WHITE, 2)):
        cv2.circle(out, centre, radius, colour, width, cv2.LINE_AA)
        cv2.line(out, (centre[0] - 2 * radius, centre[1]), (centre[0] + 2 * radius, centre[1]), colour, width)
        cv2.line(out, (centre[0], centre[1] - 2 * radius), (centre[0], centre[1] + 2 * radius), colour, width)
    return out


def tick_labels(values: list[float]) -> list[str]:
    """Short labels for tick values in one notation, with just enough digits to tell them apart."""
    largest = max(abs(v) for v in values)
    values = [0.0 if abs(v) < 1e-9 * largest else v for v in values]  # 1e-17 next to 0.2 is zero
    scientific = largest >= 1e4 or 0 < largest < 1e-2
    for digits in range(3, 9):
        labels = [_format(v, digits, scientific) for v in values]
        if len(set(labels)) == len(labels):
            break
    return labels


def _format(value: float, digits: int, scientific: bool) -> str:
    if value == 0:
        return "0"
    return f"{value:.{digits - 1}e}" if scientific else f"{value:.{digits}g}"


def colour_bar(
    height: int,
    vmin: float,
    vmax: float,
    *,
    label: str = "",
    width: int = 18,
    ticks: int = 5,
    text_height: float = 12.0,
    colormap: Colormap = COLORMAP,
) -> np.ndarray:
    """A vertical colour bar (high values at the top) with tick labels to its right."""
    scale = _draw.scale_for(text_height)
    _, cap, depth = _draw.text_size("0", scale)
    margin = cap + depth
    bar_h = max(20, height - 2 * margin)
    ramp = np.linspace(1.0, 0.0, bar_h)[:, None].repeat(width, axis=1)
    bar = colour_map(ramp, vmin=0.0, vmax=1.0, colormap=colormap)
    labels = tick_labels([vmin + (vmax - vmin) * i / (ticks - 1) for i in range(ticks)])
    label_w = max(_draw.text_size(t, scale)[0] for t in [*labels, label]) + 10
    panel = _draw.canvas(bar_h + 2 * margin + (margin + 6 if label else 0), width + label_w + 8)
    panel[margin : margin + bar_h, 2 : 2 + width] = bar
    cv2.rectangle(panel, (2, margin), (2 + width - 1, margin + bar_h - 1), _draw.BLACK, 1)
    for i, text in enumerate(labels):
        y = margin + round((bar_h - 1) * (1 - i / (ticks - 1)))
        cv2.line(panel, (2 + width, y), (6 + width, y), _draw.BLACK, 1)
        _draw.put_text(panel, text, (8 + width, y - cap // 2 - 2), scale, colour=_draw.BLACK, box=None, pad=1)
    if label:
        _draw.put_text(panel, label, (0, margin + bar_h + margin // 2), scale, colour=_draw.BLACK, box=None)
    return panel
