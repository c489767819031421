"""The work behind `danet predict`: run a `Predictor` over expanded sources and write every output.

Images are read one at a time and batched when consecutive ones share a size; videos are predicted
frame by frame into a new video (and per-frame files on request). Nothing is overwritten unless asked.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from danet.errors import DanetError
from danet.fileio import check_writable
from danet.image_io import read_image
from danet.prediction.media import PredictionWriter, VideoReader, VideoWriter
from danet.prediction.predictor import Predictor
from danet.prediction.sources import Source
from danet.reporting import NullReporter, ProgressTask, Reporter


@dataclass
class PredictionSummary:
    """Counts, timing and outputs of one prediction run."""

    images: int = 0
    videos: int = 0
    frames: int = 0
    seconds: float = 0.0
    skipped: list[str] = field(default_factory=list)
    outputs: list[Path] = field(default_factory=list)
    destination: Path | None = None  # the output file or folder (set by `danet.predict`)

    @property
    def per_image_ms(self) -> float:
        return 1000.0 * self.seconds / max(1, self.images + self.frames)


def _frames_dir(target: Path) -> Path:
    return target.with_name(f"{target.stem}_frames")


@dataclass(frozen=True)
class PredictOptions:
    overwrite: bool = False
    skip_errors: bool = False
    save_frames: bool = False


def predict_sources(
    predictor: Predictor,
    sources: Sequence[Source],
    targets: dict[Path, Path],
    writer: PredictionWriter,
    *,
    overwrite: bool = False,
    skip_errors: bool = False,
    save_frames: bool = False,
    reporter: Reporter | None = None,
) -> PredictionSummary:
    """Predict every source and write its output to `targets[source.path]`.

    Every target is checked first, so an existing file stops the run before any work is done.
    """
    reporter = reporter or NullReporter()
    for target in targets.values():
        check_writable(target, overwrite)
    images = [s for s in sources if not s.is_video]
    videos = [s for s in sources if s.is_video]
    total = len(images) + sum(_frame_count(v) for v in videos)
    start = time.perf_counter()
    with reporter.progress("predict", total or None) as task:
        run = _Run(
            predictor, targets, writer, PredictOptions(overwrite, skip_errors, save_frames), reporter, task
        )
        run.images(images)
        for video in videos:
            run.video(video)
    run.summary.seconds = time.perf_counter() - start
    return run.summary


class _Run:
    """One `predict_sources` call: the shared state of its image and video loops."""

    def __init__(
        self,
        predictor: Predictor,
        targets: dict[Path, Path],
        writer: PredictionWriter,
        options: PredictOptions,
        reporter: Reporter,
        task: ProgressTask,
    ) -> None:
        self.predictor, self.targets, self.writer = predictor, targets, writer
        self.options, self.reporter, self.task = options, reporter, task
        self.summary = PredictionSummary()

    def skip(self, source: Source, error: DanetError) -> None:
        """Stop on an unreadable input, or with `skip_errors` warn, count it and go on."""
        if not self.options.skip_errors:
            raise DanetError(f"{error} (pass --skip-errors to skip unreadable inputs)") from None
        self.reporter.warning(f"skipped {source.path}: {error}")
        self.summary.skipped.append(str(source.path))
        self.task.advance(1)

    def images(self, images: Sequence[Source]) -> None:
        for batch in _image_batches(images, self.predictor.config.batch_size, self.skip):
            results = self.predictor.predict_many(
                [image for _, image in batch], probs=self.writer.needs_probs
            )
            for (source, image), result in zip(batch, results, strict=True):
                self.writer.write(self.targets[source.path], image, result.mask, result.probs)
                self.summary.outputs.append(self.targets[source.path])
            self.summary.images += len(batch)
            self.task.advance(len(batch))

    def video(self, video: Source) -> None:
        target, options = self.targets[video.path], self.options
        try:
            frames = _predict_video(
                self.predictor,
                video,
                target,
                self.writer,
                options.save_frames,
                options.overwrite,
                self.task.advance,
            )
        except DanetError as error:
            self.skip(video, error)
            return
        self.summary.frames += frames
        self.summary.videos += 1
        self.summary.outputs.append(target)
        if options.save_frames:
            self.summary.outputs.append(_frames_dir(target))


def _frame_count(video: Source) -> int:
    try:
        with VideoReader(video.path) as reader:
            return reader.frame_count
    except DanetError:
        return 1  # reported when it is predicted


def _image_batches(
    sources: Sequence[Source], size: int, on_error: Callable[[Source, DanetError], None]
) -> Iterator[list[tuple[Source, np.ndarray]]]:
    """Readable images in order, grouped while they share a size (at most `size` per group)."""
    pending: list[tuple[Source, np.ndarray]] = []
    for source in sources:
        try:
            image = read_image(source.path)
        except DanetError as error:
            on_error(source, error)
            continue
        if pending and (len(pending) >= size or pending[0][1].shape != image.shape):
            yield pending
            pending = []
        pending.append((source, image))
    if pending:
        yield pending


def _predict_video(
    predictor: Predictor,
    video: Source,
    target: Path,
    writer: PredictionWriter,
    save_frames: bool,
    overwrite: bool,
    advance: Callable[[int], None],
) -> int:
    """Write the rendered prediction video (and per-frame outputs); returns the number of frames."""
    frames_dir = _frames_dir(target)
    output: VideoWriter | None = None
    count = 0
    with VideoReader(video.path) as reader:
        try:
            for batch in _chunks(reader, predictor.config.batch_size):
                results = predictor.predict_many(batch, probs=writer.needs_probs and save_frames)
                for frame, result in zip(batch, results, strict=True):
                    output = output or VideoWriter(target, reader.fps, frame.shape[:2])
                    output.write(writer.render(frame, result.mask))
                    if save_frames:
                        path = frames_dir / f"{target.stem}_{count:06d}{writer.suffix}"
                        writer.write(check_writable(path, overwrite), frame, result.mask, result.probs)
                    count += 1
                advance(len(batch))
        except BaseException:
            if output is not None:
                output.abort()
            raise
    if output is None:
        raise DanetError(f"{video.path}: no frames could be read from this video")
    output.close()
    return count


def _chunks(frames: Iterator[np.ndarray] | VideoReader, size: int) -> Iterator[list[np.ndarray]]:
    batch: list[np.ndarray] = []
    for frame in frames:
        batch.append(frame)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
