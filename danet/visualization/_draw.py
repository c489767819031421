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
# OpenCV 5 draws FONT_HERSHEY_* with a built-in TrueType font; OpenCV 4 draws the Hershey strokes,
# one or two whole pixels wide: too thin or blotchy at label sizes. There the text is drawn 4x larger
# with a proportionally thicker pen and shrunk with area averaging: anti-aliased strokes of a
# fractional width (about 1.3 px at label size), which read as well as OpenCV 5's font.
NATIVE_TEXT = int(cv2.__version__.split(".")[0]) >= 5
_SUPERSAMPLE = 4


def _pen(scale: float) -> float:
    """Stroke width in pixels for text at `scale`."""
    return max(1.0, round(scale * 1.6)) if NATIVE_TEXT else 0.9 + 0.9 * scale


def _cv_size(text: str, scale: float, factor: int) -> tuple[int, int, int]:
    thickness = max(1, round(_pen(scale) * factor))
    (width, height), baseline = cv2.getTextSize(text, FONT, scale * factor, thickness)
    return width, height, baseline


# Height in pixels of a capital letter at font scale 1 (getTextSize of "H": 27 under OpenCV 5, 22 under 4).
_CAP_HEIGHT = float(cv2.getTextSize("H", FONT, 1.0, 1)[0][1])


def scale_for(text_height: float) -> float:
    """The font scale whose capital letters are about `text_height` pixels tall."""
    return max(0.3, text_height / _CAP_HEIGHT)


def thickness_for(scale: float) -> int:
    """The whole-pixel pen width for lines drawn beside text at `scale`."""
    return max(1, round(_pen(scale)))


def text_size(text: str, scale: float) -> tuple[int, int, int]:
    """(width, height above the baseline, baseline depth) of `text` at `scale`."""
    if NATIVE_TEXT:
        return _cv_size(text, scale, 1)
    width, height, baseline = _cv_size(text, scale, _SUPERSAMPLE)
    return -(-width // _SUPERSAMPLE), -(-height // _SUPERSAMPLE), -(-baseline // _SUPERSAMPLE)


def contrast_colour(rgb: Sequence[int]) -> tuple[int, int, int]:
    """Black or white, whichever reads better on `rgb` (ITU-R BT.601 luma)."""
    luma = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]
    return BLACK if luma > 140 else WHITE


def draw_text(
    image: np.ndarray, text: str, origin: tuple[int, int], scale: float, ink: Sequence[int]
) -> None:
    """Draw `text` with its baseline's left end at `origin` (x, y), anti-aliased, clipped to the image."""
    colour = tuple(int(v) for v in ink)
    if NATIVE_TEXT:
        cv2.putText(image, text, origin, FONT, scale, colour, thickness_for(scale), cv2.LINE_AA)
        return
    factor = _SUPERSAMPLE
    width, height, baseline = _cv_size(text, scale, factor)
    pad = factor * 2
    rows = -(-(height + baseline + 2 * pad) // factor) * factor  # whole output pixels
    columns = -(-(width + 2 * pad) // factor) * factor
    mask = np.zeros((rows, columns), np.uint8)
    thickness = max(1, round(_pen(scale) * factor))
    cv2.putText(mask, text, (pad, pad + height), FONT, scale * factor, 255, thickness, cv2.LINE_AA)
    alpha = cv2.resize(mask, (columns // factor, rows // factor), interpolation=cv2.INTER_AREA)
    _blend(image, alpha, (origin[0] - pad // factor, origin[1] - (pad + height) // factor), colour)


def _blend(image: np.ndarray, alpha: np.ndarray, corner: tuple[int, int], colour: tuple[int, ...]) -> None:
    """Paint `colour` into `image` through the uint8 `alpha` mask placed with its top-left at `corner`."""
    x, y = corner
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(image.shape[1], x + alpha.shape[1]), min(image.shape[0], y + alpha.shape[0])
    if x1 <= x0 or y1 <= y0:
        return
    weight = alpha[y0 - y : y1 - y, x0 - x : x1 - x, None].astype(np.float32) / 255.0
    region = image[y0:y1, x0:x1].astype(np.float32)
    ink = np.asarray(colour, np.float32)
    image[y0:y1, x0:x1] = (region * (1.0 - weight) + ink * weight).round().astype(np.uint8)


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
    draw_text(image, text, (x + pad, y + pad + height), scale, ink)
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


def vertical_text(text: str, scale: float) -> np.ndarray:
    """`text` rendered in black on white and turned to read bottom-to-top."""
    width, height, depth = text_size(text, scale)
    strip = canvas(height + depth + 6, width + 6)
    put_text(strip, text, (0, 0), scale, colour=BLACK, box=None, pad=3)
    return np.ascontiguousarray(np.rot90(strip))


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
