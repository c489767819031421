"""Class colours: a 256-entry lookup table from a model's palette, with sensible fallbacks."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from danet.datasets.classes import voc_colormap

IGNORE_COLOUR = (0, 0, 0)


def palette_table(
    palette: Sequence[Sequence[int]] | None, num_classes: int, ignore_index: int = 255
) -> np.ndarray:
    """A (256, 3) uint8 RGB table: the model's colours, then the VOC colour map for classes it lacks.

    The ignore index is black, so "no prediction" reads as nothing.
    """
    table = np.asarray(voc_colormap(256), dtype=np.uint8).copy()
    rows = np.asarray(palette if palette else [], dtype=np.int64).reshape(-1, 3)[:256]
    table[: len(rows)] = rows.clip(0, 255).astype(np.uint8)
    if num_classes < 256 and 0 <= ignore_index < 256:
        table[ignore_index] = IGNORE_COLOUR
    return table


def class_names(names: Sequence[str] | None, num_classes: int) -> list[str]:
    """The given names, padded with `class_<i>` up to `num_classes`."""
    given = list(names or [])
    return given[:num_classes] + [f"class_{i}" for i in range(len(given), num_classes)]
