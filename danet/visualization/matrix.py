"""Matrix pictures: a block per entry, class labels on both axes, values written in the cells.

Matrices default to the single-hue "blues" ramp, so an empty cell looks like paper and the eye goes
to the large entries; values too small to show at the chosen precision are left blank, not "0.00".
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from danet.visualization import _draw
from danet.visualization.heatmap import Colormap, colour_bar, colour_map

MATRIX_COLORMAP = "blues"


def matrix_heat(
    matrix: np.ndarray,
    side: int,
    *,
    vmin: float | None = None,
    vmax: float | None = None,
    colormap: Colormap = MATRIX_COLORMAP,
) -> np.ndarray:
    """A square picture (`side` pixels) of a matrix's values, one block per entry (no labels)."""
    colours = colour_map(np.asarray(matrix, np.float64), vmin=vmin, vmax=vmax, colormap=colormap)
    return cv2.resize(colours, (side, side), interpolation=cv2.INTER_NEAREST)


def cell_text(value: float, digits: int = 2) -> str:
    """What a cell shows: the value with `digits` decimals, or nothing when it would read as zero."""
    if not np.isfinite(value) or abs(value) < 0.5 * 10**-digits:
        return ""
    return f"{value:.{digits}f}"


def matrix_body(
    values: np.ndarray,
    cell: int,
    *,
    vmin: float,
    vmax: float,
    colormap: Colormap = MATRIX_COLORMAP,
    digits: int = 2,
) -> np.ndarray:
    """The coloured K x K blocks (`cell` pixels each) with values written in them when they fit."""
    body = matrix_heat(values, values.shape[0] * cell, vmin=vmin, vmax=vmax, colormap=colormap)
    if cell < 30:
        return body
    scale = _draw.scale_for(cell * 0.28)
    widest = _draw.text_size(cell_text(-8.0 / 9.0, digits), scale)[0]
    scale *= min(1.0, (cell - 8) / max(1, widest))  # a gap between neighbouring cells' numbers
    colours = colour_map(values, vmin=vmin, vmax=vmax, colormap=colormap)
    for (i, j), value in np.ndenumerate(values):
        text = cell_text(float(value), digits)
        if not text:
            continue
        w, h, _ = _draw.text_size(text, scale)
        origin = (j * cell + (cell - w) // 2 - 1, i * cell + (cell - h) // 2 - 2)
        ink = _draw.contrast_colour(colours[i, j])
        _draw.put_text(body, text, origin, scale, colour=ink, box=None, pad=1)
    return body


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
    colormap: Colormap = MATRIX_COLORMAP,
    digits: int = 2,
) -> np.ndarray:
    """A K x K matrix with class labels on both axes, a colour bar, values in the cells when they fit."""
    values = np.asarray(matrix, np.float64)
    k = values.shape[0]
    cell = int(np.clip(720 // max(1, k), 10, 48))
    scale = _draw.scale_for(min(text_height, cell * 0.7))
    body = matrix_body(values, cell, vmin=vmin, vmax=vmax, colormap=colormap, digits=digits)
    row_w = max(_draw.text_size(n, scale)[0] for n in labels) + 8
    figure = np.hstack([_row_labels(labels, cell, scale, row_w), body])
    columns = np.ascontiguousarray(np.rot90(_label_strip(labels, cell, scale), k=-1))
    under = _draw.pad_to(
        np.hstack([_draw.canvas(columns.shape[0], row_w), columns]), columns.shape[0], figure.shape[1]
    )
    figure = np.vstack([figure, under])
    if column_title:
        figure = np.vstack(
            [figure, _centred(column_title, figure.shape[1], scale, left=row_w, span=k * cell)]
        )
    if row_title:
        side = _draw.vertical_text(row_title, scale)
        column = _draw.canvas(figure.shape[0], side.shape[1])
        top = max(0, (k * cell - side.shape[0]) // 2)
        column[top : top + side.shape[0]] = side[: figure.shape[0] - top]
        figure = np.hstack([column, figure])
    bar = colour_bar(k * cell, vmin, vmax, text_height=text_height, colormap=colormap)
    figure = _draw.border(_draw.hstack([figure, bar], gap=10), 8)
    return _draw.with_title(figure, title) if title else figure


def _row_labels(labels: Sequence[str], cell: int, scale: float, width: int) -> np.ndarray:
    rows = _draw.canvas(len(labels) * cell, width)
    _, cap, _ = _draw.text_size("A", scale)
    for i, name in enumerate(labels):
        w = _draw.text_size(name, scale)[0]
        origin = (width - w - 6, i * cell + (cell - cap) // 2 - 2)
        _draw.put_text(rows, name, origin, scale, colour=_draw.BLACK, box=None, pad=1)
    return rows


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
