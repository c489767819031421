"""Masks as pictures: colour masks, overlays on the photo, and legends of the classes shown."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from danet.visualization import _draw


@dataclass(frozen=True)
class LegendEntry:
    name: str
    colour: tuple[int, int, int]
    fraction: float  # share of the labelled pixels


def colorize(mask: np.ndarray, table: np.ndarray) -> np.ndarray:
    """H x W class ids -> H x W x 3 RGB through a (256, 3) palette table."""
    ids = np.asarray(mask)
    if ids.dtype != np.uint8:
        ids = ids.astype(np.int64) % len(table)
    return table[ids]


def overlay(
    image: np.ndarray, mask: np.ndarray, table: np.ndarray, *, alpha: float = 0.5, ignore_index: int = 255
) -> np.ndarray:
    """Alpha-blend the class colours over the photo; ignored pixels show the photo unchanged."""
    if image.shape[:2] != mask.shape[:2]:
        raise ValueError(f"image {image.shape[:2]} and mask {mask.shape[:2]} sizes differ")
    colours = colorize(mask, table).astype(np.float32)
    blended = image.astype(np.float32) * (1.0 - alpha) + colours * alpha
    keep = np.asarray(mask) == ignore_index
    blended[keep] = image[keep]
    return blended.round().clip(0, 255).astype(np.uint8)


def legend_entries(
    mask: np.ndarray, names: Sequence[str], table: np.ndarray, *, ignore_index: int = 255
) -> list[LegendEntry]:
    """The classes present in `mask`, most frequent first."""
    ids, counts = np.unique(np.asarray(mask), return_counts=True)
    keep = ids != ignore_index
    ids, counts = ids[keep], counts[keep]
    total = max(1, int(counts.sum()))
    order = np.argsort(-counts, kind="stable")
    entries = []
    for i in order:
        class_id = int(ids[i])
        name = names[class_id] if class_id < len(names) else f"class_{class_id}"
        colour = tuple(int(v) for v in table[class_id % len(table)])
        entries.append(LegendEntry(name, colour, int(counts[i]) / total))
    return entries


def share_text(fraction: float) -> str:
    """A pixel share as a whole percentage that never reads as 0% or 100% when it is not."""
    if 0.0 < fraction < 0.01:
        return "<1%"
    if 0.99 < fraction < 1.0:
        return ">99%"
    return f"{100 * fraction:.0f}%"


Row = tuple[str, str, tuple[int, ...]]  # name, share, swatch colour


def _rows(entries: Sequence[LegendEntry], room: int, row_height: int) -> list[Row]:
    """Legend rows that fit in `room` pixels; the rest are summarised as '+N more'."""
    rows: list[Row] = [(e.name, share_text(e.fraction), e.colour) for e in entries]
    fits = max(1, room // row_height)
    if len(rows) > fits:
        hidden = len(rows) - (fits - 1)
        rows = [*rows[: fits - 1], (f"+{hidden} more", "", _draw.GREY)]
    return rows


def _joined(row: Row) -> str:
    return f"{row[0]} {row[1]}" if row[1] else row[0]


def legend_text_height(height: int, width: int) -> float:
    """Legend text size for a frame: about 1/28 of its shorter side, between 7 and 20 pixels."""
    return float(np.clip(min(height, width) / 28, 7.0, 20.0))


def _shorten(row: Row, scale: float, room: int) -> str:
    """The row's text within `room` pixels at `scale`: whole, else without the share, else cut ("..")."""
    name = row[0]
    summary = [name.split()[0]] if name.startswith("+") else []  # "+5" for "+5 more"
    for text in [_joined(row), name, *summary]:
        if _draw.text_size(text, scale)[0] <= room:
            return text
    while len(name) > 1 and _draw.text_size(f"{name}..", scale)[0] > room:
        name = name[:-1]
    return f"{name}.."


def draw_legend(
    image: np.ndarray,
    entries: Sequence[LegendEntry],
    *,
    text_height: float | None = None,
    max_width: float = 0.45,
    max_height: float = 0.5,
) -> np.ndarray:
    """A copy of `image` with the legend in a dark box at its top-left corner (same size as `image`).

    Text is sized to the frame (`legend_text_height`) and the box stays within `max_width` and
    `max_height` of the frame (long names are cut, extra classes summarised as "+N more"); a frame
    too small for even one readable row gets no legend.
    """
    out = image.copy()
    height, width = image.shape[:2]
    scale = _draw.scale_for(text_height or legend_text_height(height, width))
    _, cap, depth = _draw.text_size("Ag", scale)
    row, swatch = cap + depth + 4, cap + depth - 2
    room_w, room_h = int(width * max_width), int(height * max_height)
    if not entries or room_h < row + 8 or room_w < swatch + 4 * cap + 12:
        return out
    rows = [(_shorten(r, scale, room_w - swatch - 12), r[2]) for r in _rows(entries, room_h - 8, row)]
    box_w = min(room_w, max(_draw.text_size(t, scale)[0] for t, _ in rows) + swatch + 12)
    box_h = row * len(rows) + 8
    region = out[:box_h, :box_w].astype(np.float32)
    out[:box_h, :box_w] = (region * 0.35).astype(np.uint8)  # darken so white text reads on any photo
    for i, (text, colour) in enumerate(rows):
        y = 4 + i * row
        out[y + 2 : y + 2 + swatch, 4 : 4 + swatch] = colour
        _draw.put_text(out, text, (swatch + 8, y), scale, colour=_draw.WHITE, box=None, pad=1)
    return out


def legend_panel(entries: Sequence[LegendEntry], height: int, *, text_height: float = 14.0) -> np.ndarray:
    """A white panel, `height` tall, listing the entries with colour swatches (for beside a figure)."""
    scale = _draw.scale_for(text_height)
    _, cap, depth = _draw.text_size("Ag", scale)
    row = cap + depth + 8
    found = _rows(entries, max(row, height - 8), row) if entries else [("no classes", "", _draw.GREY)]
    rows = [(_joined(r), r[2]) for r in found]
    width = max(_draw.text_size(t, scale)[0] for t, _ in rows) + row + 20
    panel = _draw.canvas(max(height, row * len(rows) + 8), width)
    for i, (text, colour) in enumerate(rows):
        y = 6 + i * row
        top, side = y + 2, cap + depth
        panel[top : top + side, 6 : 6 + side] = colour
        _draw.put_text(panel, text, (10 + side, y), scale, colour=_draw.BLACK, box=None, pad=2)
    return panel
