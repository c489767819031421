"""The built-in `synthetic` dataset: procedural street scenes written once in the `folder` layout.

Generated offline and deterministically from `SyntheticSpec` (size, images per split, seed) into
`<root>/<spec.key>` (root defaults to `default_dataset_root("synthetic")`), so different settings
never share files. Generation writes into a hidden temporary folder that is renamed into place only
when complete, so an interrupted run is regenerated, never half-used. Reading then goes through
`FolderDataset`, exactly the path of users' own data. No torch here.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from danet.datasets._registry import DatasetInfo, register_dataset
from danet.datasets._scenes import CLASS_NAMES, PALETTE, generate_scene
from danet.datasets.base import Transform
from danet.datasets.folder import CONFIG_NAME, FolderDataset
from danet.errors import ConfigError
from danet.image_io import write_image, write_index_png
from danet.paths import default_dataset_root
from danet.reporting import NullReporter, Reporter

GENERATOR_VERSION = 3  # bump when scenes change, so old folders are not reused
_SPLIT_STREAMS = {"train": 0, "val": 1, "test": 2}


@dataclass(frozen=True)
class SyntheticSpec:
    """What to generate: image size (height, width), images per split and the scene seed."""

    size: tuple[int, int] = (128, 128)
    train_count: int = 400
    val_count: int = 100
    seed: int = 0

    def __post_init__(self) -> None:
        if min(self.size) < 16:
            raise ConfigError(f"synthetic image size must be at least 16x16, got {self.size}")
        if self.train_count < 1 or self.val_count < 1:
            raise ConfigError("synthetic train_count and val_count must be at least 1")

    @property
    def key(self) -> str:
        """The subfolder name: every parameter and the generator version."""
        h, w = self.size
        return f"v{GENERATOR_VERSION}-{h}x{w}-train{self.train_count}-val{self.val_count}-seed{self.seed}"

    @property
    def counts(self) -> dict[str, int]:
        return {"train": self.train_count, "val": self.val_count}


def make_spec(size: int | tuple[int, int] = 128, **counts_and_seed: Any) -> SyntheticSpec:
    """A spec from a square size or (height, width) plus train_count/val_count/seed."""
    pair = (int(size), int(size)) if isinstance(size, int) else (int(size[0]), int(size[1]))
    return SyntheticSpec(size=pair, **counts_and_seed)


def synthetic_root(spec: SyntheticSpec, root: str | Path | None = None) -> Path:
    """Where `spec` lives: `<root or default_dataset_root('synthetic')>/<spec.key>`."""
    parent = Path(root).expanduser() if root is not None else default_dataset_root("synthetic")
    return parent / spec.key


def ensure_synthetic(
    spec: SyntheticSpec = SyntheticSpec(),
    root: str | Path | None = None,
    reporter: Reporter | None = None,
) -> Path:
    """Generate `spec` if it is not on disk yet and return its folder-layout root."""
    final = synthetic_root(spec, root)
    if (final / CONFIG_NAME).is_file():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned(final)
    work = Path(tempfile.mkdtemp(prefix=f".{final.name}.partial-{os.getpid()}-", dir=final.parent))
    try:
        _write_all(spec, work, reporter or NullReporter())
        try:
            os.rename(work, final)
        except OSError:  # another process finished first; its copy is identical
            if not (final / CONFIG_NAME).is_file():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return final


def _remove_abandoned(final: Path) -> None:
    """Delete partial folders of `final` left by processes that no longer run."""
    for partial in final.parent.glob(f".{final.name}.partial-*"):
        pid = partial.name.split(".partial-")[1].split("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(partial, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _write_all(spec: SyntheticSpec, folder: Path, reporter: Reporter) -> None:
    total = spec.train_count + spec.val_count
    with reporter.progress(f"generating synthetic scenes ({spec.key})", total) as task:
        for split, count in spec.counts.items():
            for index in range(count):
                rng = np.random.default_rng([spec.seed, _SPLIT_STREAMS[split], index])
                image, mask = generate_scene(rng, *spec.size)
                write_image(folder / "images" / split / f"{index:06d}.png", image)
                write_index_png(folder / "masks" / split / f"{index:06d}.png", mask, PALETTE)
                task.advance(1)
    config = {
        "title": "danet synthetic street scenes",
        "names": list(CLASS_NAMES),
        "palette": [list(c) for c in PALETTE],
        "base_size": min(spec.size),
        "crop_size": list(spec.size),
        "generator": {"version": GENERATOR_VERSION, "size": list(spec.size), "seed": spec.seed},
    }
    (folder / CONFIG_NAME).write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")


_DEFAULT = SyntheticSpec()


@register_dataset(
    DatasetInfo(
        name="synthetic",
        title="Synthetic street scenes (built in)",
        class_names=CLASS_NAMES,
        palette=PALETTE,
        splits=("train", "val"),
        labelled_splits=("train", "val"),
        base_size=min(_DEFAULT.size),
        crop_size=_DEFAULT.size,
        layout="generated on first use as <root>/<settings>/ in the folder layout",
        notes=("offline, deterministic by seed",),
    )
)
class SyntheticDataset(FolderDataset):
    """`folder` reading over generated scenes. Options: size, train_count, val_count, scene_seed
    (the scene generator's seed; `seed` is the augmentation seed as for every dataset)."""

    def __init__(
        self,
        root: str | Path | None = None,
        split: str = "train",
        transform: Transform | None = None,
        *,
        seed: int = 0,
        size: int | tuple[int, int] = _DEFAULT.size,
        train_count: int = _DEFAULT.train_count,
        val_count: int = _DEFAULT.val_count,
        scene_seed: int = _DEFAULT.seed,
        reporter: Reporter | None = None,
    ) -> None:
        self.spec = make_spec(size, train_count=train_count, val_count=val_count, seed=scene_seed)
        folder = ensure_synthetic(self.spec, root, reporter)
        super().__init__(root=folder, split=split, transform=transform, seed=seed)

    @classmethod
    def is_present(cls, root: str | Path | None = None) -> bool:
        """Whether the default settings have been generated under `root` (the parent folder)."""
        return (synthetic_root(_DEFAULT, root) / CONFIG_NAME).is_file()
