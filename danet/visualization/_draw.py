"""Small OpenCV drawing helpers shared by the figures: text on a box, titles, tiling.

Every image here is an H x W x 3 uint8 RGB array, so colours are (R, G, B) tuples.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

FONT = cv2.FONT_HERSHEY_SIMPLEX
WHITE = (255, 255, 255)
BLACK = (0, 0, 0)
GREY = (128, 128, 128)
# Height in pixels (getTextSize) of a capital letter at font scale 1 for FONT_HERSHEY_SIMPLEX.
_CAP_HEIGHT = 27.0


def scale_for(text_height: float) -> float:
    """The font scale whose capital letters are about `text_height` pixels tall."""
    return max(0.3, text_height / _CAP_HEIGHT)


def thickness_for(scale: float) -> int:
    return max(1, round(scale * 1.6))


def text_size(text: str, scale: float) -> tuple[int, int, int]:
    """(width, height above the baseline, baseline depth) of `text` at `scale`."""
    (width, height), baseline = cv2.getTextSize(text, FONT, scale, thickness_for(scale))
    return width, height, baseline


def contrast_colour(rgb: Sequence[int]) -> tuple[int, int, int]:
    """Black or white, whichever reads better on `rgb` (ITU-R BT.601 luma)."""
    luma = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]
    return BLACK if luma > 140 else WHITE


def put_text(
    image: np.ndarray,
    text: str,
    origin: tuple[int, int],
    scale: float,
    *,
    colour: Sequence[int] | None = None,
    box: Sequence[int] | None = BLACK,
    pad: int | None = None,
) -> tuple[int, int]:
    """Draw `text` with its box's top-left corner at `origin` (x, y); returns the box (width, height).

    The box (a filled rectangle in `box`, or none) keeps labels readable on any background; the text
    colour defaults to the one contrasting with the box.
    """
    width, height, baseline = text_size(text, scale)
    pad = max(2, round(height * 0.3)) if pad is None else pad
    x, y = origin
    box_w, box_h = width + 2 * pad, height + baseline + 2 * pad
    if box is not None:
        cv2.rectangle(image, (x, y), (x + box_w - 1, y + box_h - 1), tuple(int(v) for v in box), -1)
    ink = colour if colour is not None else contrast_colour(box if box is not None else WHITE)
    cv2.putText(
        image,
        text,
        (x + pad, y + pad + height),
        FONT,
        scale,
        tuple(int(v) for v in ink),
        thickness_for(scale),
        cv2.LINE_AA,
    )
    return box_w, box_h


def canvas(height: int, width: int, colour: Sequence[int] = WHITE) -> np.ndarray:
    out = np.empty((height, width, 3), np.uint8)
    out[:] = np.asarray(colour, np.uint8)
    return out


def with_title(image: np.ndarray, title: str, *, text_height: float | None = None) -> np.ndarray:
    """`image` with a white strip above it holding `title` in black, shrunk to fit the width."""
    text_height = text_height or max(10.0, min(22.0, image.shape[1] / 28))
    scale = scale_for(text_height)
    while scale > 0.3 and text_size(title, scale)[0] > image.shape[1] - 8:
        scale *= 0.9
    _, height, baseline = text_size(title, scale)
    strip = canvas(height + baseline + 12, image.shape[1])
    put_text(strip, title, (2, 2), scale, colour=BLACK, box=None, pad=4)
    return np.vstack([strip, image])


def fit(image: np.ndarray, max_side: int, *, enlarge: bool = False) -> np.ndarray:
    """Resize `image` so that its longer side is `max_side` (only shrinking unless `enlarge`)."""
    height, width = image.shape[:2]
    factor = max_side / max(height, width)
    if factor == 1 or (factor > 1 and not enlarge):
        return image
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR)


def pad_to(image: np.ndarray, height: int, width: int, colour: Sequence[int] = WHITE) -> np.ndarray:
    """Place `image` at the top-left of a `height` x `width` canvas."""
    out = canvas(height, width, colour)
    out[: image.shape[0], : image.shape[1]] = image
    return out


def hstack(images: Sequence[np.ndarray], gap: int = 8, colour: Sequence[int] = WHITE) -> np.ndarray:
    """Images side by side, top-aligned, `gap` pixels apart."""
    height = max(image.shape[0] for image in images)
    parts: list[np.ndarray] = []
    for i, image in enumerate(images):
        if i:
            parts.append(canvas(height, gap, colour))
        parts.append(pad_to(image, height, image.shape[1], colour))
    return np.hstack(parts)


def vstack(images: Sequence[np.ndarray], gap: int = 8, colour: Sequence[int] = WHITE) -> np.ndarray:
    """Images one above the other, left-aligned, `gap` pixels apart."""
    width = max(image.shape[1] for image in images)
    parts: list[np.ndarray] = []
    for i, image in enumerate(images):
        if i:
            parts.append(canvas(gap, width, colour))
        parts.append(pad_to(image, image.shape[0], width, colour))
    return np.vstack(parts)


def grid(images: Sequence[np.ndarray], columns: int, gap: int = 8) -> np.ndarray:
    """Images in rows of `columns`."""
    columns = max(1, columns)
    rows = [hstack(images[i : i + columns], gap) for i in range(0, len(images), columns)]
    return vstack(rows, gap)


def border(image: np.ndarray, width: int = 8, colour: Sequence[int] = WHITE) -> np.ndarray:
    return cv2.copyMakeBorder(image, width, width, width, width, cv2.BORDER_CONSTANT, value=tuple(colour))


def fit_to(values: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A float map resized (bilinear) to `size` (H, W)."""
    if values.shape[:2] == tuple(size):
        return values
    return cv2.resize(values.astype(np.float32), (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
