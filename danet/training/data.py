"""Training data in a deterministic order: the batch of iteration `i` depends only on (seed, i).

The sample order of epoch `e` is a permutation drawn from (seed, e); iteration `i` takes batch
`i % iters_per_epoch` of epoch `i // iters_per_epoch`, and each distributed process takes its slice of
that global batch. Every sample is fetched as `dataset[(index, sample_seed)]`, with the augmentation
seed derived from (seed, epoch, index), so no worker or global random state is involved: a run resumed
at iteration k sees exactly the batches an uninterrupted run sees.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from danet.config import TrainConfig
from danet.datasets import get_dataset
from danet.datasets.base import SegmentationDataset
from danet.datasets.transforms import train_transform
from danet.errors import ConfigError, DanetError, DatasetError
from danet.training.workers import needs_main, worker_context


def sample_seed(seed: int, epoch: int, index: int) -> int:
    """The augmentation seed of sample `index` in `epoch`."""
    return int(np.random.SeedSequence([seed, 1, epoch, index]).generate_state(1, np.uint64)[0])


def epoch_order(seed: int, epoch: int, num_samples: int) -> np.ndarray:
    """The sample order of `epoch`: a permutation that depends only on (seed, epoch)."""
    return np.random.default_rng([seed, 0, epoch]).permutation(num_samples)


class DeterministicBatchSampler:
    """Yields this process's part of the global batch of iterations `start`..`stop - 1`.

    Each batch is a list of `(index, sample_seed)` keys. Batches are drawn without replacement within
    an epoch; the last `num_samples % batch_size` samples of each epoch's order are skipped.
    """

    def __init__(
        self,
        num_samples: int,
        batch_size: int,
        *,
        seed: int,
        start: int,
        stop: int,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if batch_size % world_size:
            raise ConfigError(
                f"batch size {batch_size} is the global batch and must split evenly over "
                f"{world_size} processes"
            )
        if num_samples < batch_size:
            raise DatasetError(
                f"the training split has {num_samples} images, fewer than the batch size {batch_size}; "
                "lower --batch-size"
            )
        self.num_samples, self.batch_size, self.seed = num_samples, batch_size, seed
        self.start, self.stop, self.rank, self.world_size = start, stop, rank, world_size
        self.iters_per_epoch = num_samples // batch_size
        self._cached: tuple[int, np.ndarray] = (-1, np.empty(0, np.int64))

    def _order(self, epoch: int) -> np.ndarray:
        if self._cached[0] != epoch:
            self._cached = (epoch, epoch_order(self.seed, epoch, self.num_samples))
        return self._cached[1]

    def batch_keys(self, iteration: int) -> list[tuple[int, int]]:
        epoch, position = divmod(iteration, self.iters_per_epoch)
        order = self._order(epoch)
        batch = order[position * self.batch_size : (position + 1) * self.batch_size]
        per_rank = self.batch_size // self.world_size
        mine = batch[self.rank * per_rank : (self.rank + 1) * per_rank]
        return [(int(i), sample_seed(self.seed, epoch, int(i))) for i in mine]

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        for iteration in range(self.start, self.stop):
            yield self.batch_keys(iteration)

    def __len__(self) -> int:
        return max(0, self.stop - self.start)


@dataclass(frozen=True)
class SampleFailure:
    """A `DanetError` met while loading a sample in a worker, carried to the main process as data so
    that it is raised there as itself (no worker traceback wrapped around its message)."""

    error_type: type[DanetError]
    message: str

    def raise_it(self) -> None:
        raise self.error_type(self.message)


class GuardedDataset:
    """`dataset[key]`, or a `SampleFailure` in place of a `DanetError` (picklable for spawn workers)."""

    def __init__(self, dataset: SegmentationDataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key: tuple[int, int]) -> dict[str, Any] | SampleFailure:
        try:
            return self.dataset[key]
        except DanetError as error:
            return SampleFailure(type(error), str(error))


def collate(samples: list[Any]) -> tuple[torch.Tensor, torch.Tensor] | SampleFailure:
    """Stack transformed samples into images (B, 3, H, W) float and masks (B, H, W) int64; the first
    `SampleFailure` among them is passed on instead."""
    for sample in samples:
        if isinstance(sample, SampleFailure):
            return sample
    images = torch.stack([s["image"] for s in samples])  # (B, 3, H, W)
    masks = torch.stack([s["mask"] for s in samples])  # (B, H, W)
    return images, masks


def _worker_init(_: int) -> None:
    import cv2

    cv2.setNumThreads(1)  # workers already run in parallel; no thread oversubscription
    torch.set_num_threads(1)


@dataclass(frozen=True)
class TrainData:
    """The training and validation datasets of a run and how long an epoch is."""

    train: SegmentationDataset
    val: SegmentationDataset | None
    iters_per_epoch: int


def build_datasets(config: TrainConfig) -> TrainData:
    """The augmented training split and the raw (full-size) validation split of `config.dataset`."""
    train = _open(config, config.train_split, seed=config.seed)
    info = train.info
    train.transform = train_transform(
        config.crop_size or info.crop_size,
        base_size=config.base_size or info.base_size,
        ratio_range=config.scale_range,
        mode=config.scale_mode,
        flip=config.flip,
        photometric=config.photometric,
        cat_max_ratio=config.cat_max_ratio,
    )
    val = None
    if config.val_split:
        if config.val_split not in info.labelled_splits:
            raise DatasetError(
                f"{config.dataset} has no labelled split {config.val_split!r} to validate on; "
                f"labelled splits: {', '.join(info.labelled_splits)} (or set val_split: null)"
            )
        val = _open(config, config.val_split)
    if len(train) < config.batch_size:
        raise DatasetError(
            f"{config.dataset} {config.train_split} has {len(train)} images, fewer than the batch size "
            f"{config.batch_size}; lower --batch-size"
        )
    return TrainData(train, val, len(train) // config.batch_size)


def _open(config: TrainConfig, split: str, **extra: Any) -> SegmentationDataset:
    options = {**config.dataset_options, **extra}
    try:
        return get_dataset(config.dataset, root=config.data_root, split=split, **options)
    except TypeError as error:  # an option the adapter does not take
        raise ConfigError(f"bad dataset_options for {config.dataset}: {error}") from None


def total_iters(config: TrainConfig, iters_per_epoch: int) -> int:
    """`iters`, or `epochs` x iterations per epoch."""
    if config.iters:
        return config.iters
    if config.epochs:
        return config.epochs * iters_per_epoch
    raise ConfigError(
        "the training length is not set: give --iters or --epochs (or iters/epochs in the config)"
    )


def usable_cpus() -> int:
    """CPU cores this process may run on (its affinity where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def sensible_workers(requested: int, world_size: int = 1) -> int:
    """`requested` data-loading workers, at most the usable cores shared by the `world_size` processes
    (more only compete for the same cores, and torch warns about it)."""
    return max(0, min(requested, usable_cpus() // max(1, world_size)))


def usable_workers(dataset: SegmentationDataset, workers: int) -> int:
    """`workers`, or 0 when the dataset or its transform is defined in `__main__` (a worker cannot
    import it: it would have to re-run the caller's script)."""
    return 0 if workers and needs_main(dataset, dataset.transform) else workers


def make_loader(
    dataset: SegmentationDataset,
    config: TrainConfig,
    *,
    start: int,
    stop: int,
    rank: int,
    world_size: int,
    pin_memory: bool,
) -> DataLoader:
    sampler = DeterministicBatchSampler(
        len(dataset), config.batch_size, seed=config.seed, start=start, stop=stop, rank=rank,
        world_size=world_size,
    )  # fmt: skip
    workers = usable_workers(dataset, sensible_workers(config.workers, world_size))
    return DataLoader(
        GuardedDataset(dataset),  # type: ignore[arg-type]
        batch_sampler=sampler,
        num_workers=workers,
        collate_fn=collate,
        pin_memory=pin_memory,
        worker_init_fn=_worker_init if workers else None,
        prefetch_factor=4 if workers else None,
        # Spawned, never forked (OpenCV's thread pool does not survive fork), and without re-running
        # the caller's script in each worker (see danet.training.workers).
        multiprocessing_context=worker_context() if workers else None,
        generator=torch.Generator().manual_seed(config.seed),  # keeps the global RNG untouched
    )
