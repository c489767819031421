"""Video reading and writing (OpenCV) and the output formats of `danet predict`. No torch here.

Formats: `index` (palette PNG whose pixel values are class ids), `color` (RGB PNG in the class colours),
`overlay` (the photo with the colours blended over it and a legend), `labelids` (Cityscapes labelIds PNG
for the official evaluator and test server) and `probs` (compressed `.npz` of float16 probabilities).
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType

import cv2
import numpy as np

from danet.datasets.classes import CITYSCAPES_TRAIN_TO_LABEL
from danet.errors import ConfigError, DanetError, DatasetError
from danet.fileio import atomic_write_bytes
from danet.image_io import write_image, write_index_png, write_label_png
from danet.limits import check_image_pixels
from danet.visualization.colorize import colorize, draw_legend, legend_entries, overlay
from danet.visualization.palette import class_names, palette_table

FORMATS = ("index", "color", "overlay", "labelids", "probs")
VIDEO_FOURCC = "mp4v"


def format_suffix(fmt: str) -> str:
    return ".npz" if fmt == "probs" else ".png"


def labelids_table() -> np.ndarray:
    """trainId -> Cityscapes labelId lookup (256 entries); ignored and unknown ids -> 0 (unlabeled)."""
    table = np.zeros(256, np.uint8)
    table[: len(CITYSCAPES_TRAIN_TO_LABEL)] = CITYSCAPES_TRAIN_TO_LABEL
    return table


class PredictionWriter:
    """Writes a predicted mask (and probabilities) as one of `FORMATS`."""

    def __init__(
        self,
        fmt: str,
        *,
        num_classes: int,
        names: Sequence[str] = (),
        palette: Sequence[Sequence[int]] = (),
        ignore_index: int = 255,
        dataset: str = "",
        alpha: float = 0.5,
        legend: bool = True,
    ) -> None:
        if fmt not in FORMATS:
            raise ConfigError(f"unknown output format {fmt!r}; use one of {', '.join(FORMATS)}")
        if fmt == "labelids" and (num_classes != 19 or (dataset and "cityscapes" not in dataset.lower())):
            raise ConfigError(
                f"--format labelids writes Cityscapes labelIds and needs a 19-class Cityscapes model; "
                f"this model has {num_classes} classes (dataset {dataset or 'unknown'}); use --format index"
            )
        self.fmt, self.alpha, self.ignore_index, self.legend = fmt, alpha, ignore_index, legend
        self.names = class_names(names, num_classes)
        self.palette = [tuple(int(v) for v in c) for c in palette]
        self.table = palette_table(palette, num_classes, ignore_index)

    @property
    def suffix(self) -> str:
        return format_suffix(self.fmt)

    @property
    def needs_probs(self) -> bool:
        return self.fmt == "probs"

    def render(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """The RGB picture of a prediction: class colours for `color`, otherwise the overlay."""
        if self.fmt == "color":
            return colorize(mask, self.table)
        blended = overlay(image, mask, self.table, alpha=self.alpha, ignore_index=self.ignore_index)
        if not self.legend:
            return blended
        return draw_legend(
            blended, legend_entries(mask, self.names, self.table, ignore_index=self.ignore_index)
        )

    def write(self, path: Path, image: np.ndarray, mask: np.ndarray, probs: np.ndarray | None = None) -> None:
        if self.fmt == "index":
            write_index_png(path, mask, self.table)
        elif self.fmt == "labelids":
            write_label_png(path, labelids_table()[mask])
        elif self.fmt == "probs":
            if probs is None:
                raise ValueError("the probs format needs the probabilities")
            buffer = io.BytesIO()
            np.savez_compressed(buffer, probs=probs.astype(np.float16), class_names=np.array(self.names))
            atomic_write_bytes(path, buffer.getvalue())
        else:
            write_image(path, self.render(image, mask))


class VideoReader:
    """Frames of a video file as H x W x 3 uint8 RGB arrays."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._capture = cv2.VideoCapture(str(self.path))
        if not self._capture.isOpened():
            raise DatasetError(
                f"{self.path}: cannot open this video (missing, damaged or an unsupported codec)"
            )
        self._check_frame_size()
        fps = self._capture.get(cv2.CAP_PROP_FPS)
        self.fps = fps if fps and math.isfinite(fps) and fps > 0 else 25.0
        self.frame_count = max(0, int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0))  # 0: unknown

    def _check_frame_size(self) -> None:
        """Refuse frames above the pixel limit (as images are) before the first one is decoded."""
        width = int(self._capture.get(cv2.CAP_PROP_FRAME_WIDTH) or 0)
        height = int(self._capture.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0)
        try:
            check_image_pixels(f"{self.path} (video frames)", width, height)
        except DanetError:
            self._capture.release()
            raise

    def __iter__(self) -> Iterator[np.ndarray]:
        while True:
            ok, frame = self._capture.read()
            if not ok:
                return
            yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)

    def close(self) -> None:
        self._capture.release()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class VideoWriter:
    """Writes RGB frames to an mp4v video, under a temporary name until `close` (atomic like files).

    The mp4v encoder needs even sizes: an odd height or width loses its last row or column.
    """

    def __init__(self, path: str | os.PathLike[str], fps: float, size: tuple[int, int]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = self.path.with_name(f".{self.path.stem}.partial{self.path.suffix}")
        self.size = (size[0] - size[0] % 2, size[1] - size[1] % 2)
        if min(self.size) < 2:
            raise DanetError(f"{self.path}: frames of {size[0]}x{size[1]} are too small for a video")
        fourcc = cv2.VideoWriter_fourcc(*VIDEO_FOURCC)
        self._writer = cv2.VideoWriter(str(self._tmp), fourcc, float(fps), (self.size[1], self.size[0]))
        if not self._writer.isOpened():
            raise DanetError(f"{self.path}: OpenCV cannot write {VIDEO_FOURCC} video here")
        self.frames = 0

    def write(self, frame: np.ndarray) -> None:
        height, width = self.size
        self._writer.write(cv2.cvtColor(np.ascontiguousarray(frame[:height, :width]), cv2.COLOR_RGB2BGR))
        self.frames += 1

    def close(self) -> None:
        self._writer.release()
        os.replace(self._tmp, self.path)

    def abort(self) -> None:
        self._writer.release()
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()
