"""Downloads: datasets and pretrained weights, checksummed, resumable, mirrorable.

Model and training code call `weights_path(name, download=True)` (or `find_cached_weights(name)` to
look without downloading). The CLI's `danet download` is a thin layer over `download_dataset`,
`download_weights`, `list_entries` and `plan_dataset` / `plan_weights`. Nothing here imports torch.
"""

from __future__ import annotations

from danet.download.catalog import (
    DownloadSpec,
    Source,
    all_sources,
    dataset_names,
    dataset_sources,
    extra_sources,
    get_download,
    get_source,
    register_download,
    register_source,
    unregister_source,
    weight_names,
)
from danet.download.checksums import Checksum, ChecksumError
from danet.download.cityscapes_portal import Credentials, credentials_from_env
from danet.download.datasets import dataset_root, download_dataset
from danet.download.network import DiskFullError, TransferSettings, apply_mirror, resolve_mirror
from danet.download.status import Entry, PlanStep, format_size, list_entries, plan_dataset, plan_weights
from danet.download.weights import download_weights, find_cached_weights, weights_file, weights_path

IMAGENET_BACKBONES = {
    "torchvision": tuple(f"resnet{d}_imagenet1k_v{v}" for d in (50, 101, 152) for v in (1, 2)),
    "mmseg": ("resnet18_v1c", "resnet50_v1c", "resnet101_v1c"),
    "encoding": ("resnet50s", "resnet101s", "resnet152s"),
}

__all__ = [
    "IMAGENET_BACKBONES",
    "Checksum",
    "ChecksumError",
    "Credentials",
    "DownloadSpec",
    "DiskFullError",
    "Entry",
    "PlanStep",
    "Source",
    "TransferSettings",
    "all_sources",
    "apply_mirror",
    "credentials_from_env",
    "dataset_names",
    "dataset_root",
    "dataset_sources",
    "download_dataset",
    "download_weights",
    "extra_sources",
    "find_cached_weights",
    "format_size",
    "get_download",
    "get_source",
    "list_entries",
    "plan_dataset",
    "plan_weights",
    "register_download",
    "register_source",
    "resolve_mirror",
    "unregister_source",
    "weight_names",
    "weights_file",
    "weights_path",
]
