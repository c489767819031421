"""`resolve(spec)`: the checkpoint file any command's CHECKPOINT argument stands for.

A spec is, in this order: nothing (the newest run's checkpoint), an ``hf://OWNER/REPO/FILE[@REVISION]``
Hugging Face Hub file, an existing file, a `danet train` run folder (its best checkpoint, else its
last), or a registered weight name (`danet download --list`). Weight names and Hub files are
downloaded into the cache (`$DANET_HOME/weights`) through `danet.download` (progress, resume,
checksums) unless `DANET_OFFLINE=1`; cached files are used offline.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from danet.checkpoints.runs import DEFAULT_PROJECT, checkpoint_of_run, find_latest_checkpoint
from danet.errors import CheckpointError, DownloadError, UnknownNameError
from danet.paths import weights_dir
from danet.reporting import NullReporter, Reporter

if TYPE_CHECKING:
    from danet.download import Checksum

HF_SCHEME = "hf://"
HF_ENDPOINT_ENV = "DANET_HF_ENDPOINT"
DEFAULT_HF_ENDPOINT = "https://huggingface.co"
OFFLINE_ENV = "DANET_OFFLINE"
_TRUE = ("1", "true", "yes", "on")
_SHA256 = re.compile(r"[0-9a-f]{64}")


def is_offline() -> bool:
    """Whether `DANET_OFFLINE` forbids downloads (1, true, yes or on)."""
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in _TRUE


@dataclass(frozen=True)
class HubFile:
    """One file of a Hugging Face Hub model repository at a revision (a branch, tag or commit)."""

    owner: str
    repo: str
    filename: str
    revision: str = "main"

    @classmethod
    def parse(cls, spec: str) -> HubFile:
        """``hf://OWNER/REPO/FILE[@REVISION]``; FILE may lie in sub-folders."""
        body, at, revision = spec[len(HF_SCHEME) :].rpartition("@")
        if not at:
            body, revision = revision, "main"
        parts = body.split("/")
        if len(parts) < 3 or not all(parts) or ".." in parts or not revision or ".." in revision:
            raise CheckpointError(
                f"{spec!r} is not a Hub file; write hf://OWNER/REPO/FILE or hf://OWNER/REPO/FILE@REVISION "
                "(e.g. hf://someone/danet-cityscapes/best.pt@main)"
            )
        return cls(parts[0], parts[1], "/".join(parts[2:]), revision)

    @property
    def spec(self) -> str:
        return f"{HF_SCHEME}{self.owner}/{self.repo}/{self.filename}@{self.revision}"

    def url(self, endpoint: str | None = None) -> str:
        """The Hub's download URL: ``ENDPOINT/OWNER/REPO/resolve/REVISION/FILE``."""
        base = (endpoint or os.environ.get(HF_ENDPOINT_ENV) or DEFAULT_HF_ENDPOINT).rstrip("/")
        return f"{base}/{self.owner}/{self.repo}/resolve/{self.revision}/{self.filename}"

    def cache_path(self) -> Path:
        """Where the file is cached: one folder per repository and revision."""
        return weights_dir() / "hf" / self.owner / self.repo / self.revision / self.filename


def resolve(
    spec: str | os.PathLike[str] | None = None,
    *,
    project: str | os.PathLike[str] = DEFAULT_PROJECT,
    reporter: Reporter | None = None,
) -> Path:
    """The checkpoint file `spec` stands for, downloaded first if it is a weight name or Hub file.

    Raises `CheckpointError` for a spec that is none of the accepted kinds (naming close weight
    names), and `DownloadError` when a download fails or `DANET_OFFLINE=1` forbids it.
    """
    reporter = reporter or NullReporter()
    text = "" if spec is None else str(spec).strip()
    if not text:
        return find_latest_checkpoint(project)
    if text.startswith(HF_SCHEME):
        return hub_file(HubFile.parse(text), reporter=reporter)
    path = Path(text).expanduser()
    if path.is_file():
        return path
    if path.is_dir():
        return checkpoint_of_run(path)
    if _is_weight_name(text):
        return named_weights(text, reporter=reporter)
    raise CheckpointError(_not_found(text))


def named_weights(name: str, *, reporter: Reporter | None = None) -> Path:
    """The cached file of a registered weight name, downloaded (and verified) when missing."""
    from danet.download import IMAGENET_BACKBONES, download_weights, find_cached_weights, get_source
    from danet.download import weights_file as cached_file

    source = get_source(name, "weights")
    if any(source.name in names for names in IMAGENET_BACKBONES.values()):
        raise CheckpointError(
            f"{source.name} holds ImageNet backbone weights, not a segmentation model; train from them "
            f"with `danet train ... --backbone-weights auto` after `danet download weights {source.name}`"
        )
    found = find_cached_weights(source.name, reporter=reporter)
    if found is not None:
        return found
    if is_offline():
        raise DownloadError(
            f"weights {source.name!r} are not in the cache ({cached_file(source)}) and {OFFLINE_ENV}=1 "
            f"forbids downloading them; unset {OFFLINE_ENV}, or copy the file there from a machine that "
            f"ran `danet download weights {source.name}`"
        )
    return download_weights(source.name, reporter=reporter)


def hub_file(file: HubFile, *, reporter: Reporter | None = None) -> Path:
    """The cached copy of a Hub file, downloaded first: resumable, checked against the sha256 the Hub
    publishes for large files, else against the sha256 recorded at its first download."""
    from danet.download import Source
    from danet.download.files import ensure_file

    dest = file.cache_path()
    if is_offline():
        if dest.is_file():
            return dest
        raise DownloadError(
            f"{file.spec} is not in the cache ({dest}) and {OFFLINE_ENV}=1 forbids downloading it; "
            f"unset {OFFLINE_ENV}, or copy the file there"
        )
    checksums = () if dest.is_file() else hub_checksums(file.url())
    source = Source(file.spec, "weights", (file.url(),), Path(file.filename).name, checksums=checksums)
    return ensure_file(source, dest, reporter=reporter)


def hub_checksums(url: str) -> tuple[Checksum, ...]:
    """The sha256 the Hub publishes for a large (LFS) file, in the ``X-Linked-Etag`` header of its
    resolve URL; () when it gives none (small files, other servers): the downloader then records the
    file's sha256 at the first download and holds it to that."""
    import requests

    from danet.download import Checksum as DownloadChecksum
    from danet.download import TransferSettings, apply_mirror, resolve_mirror

    try:
        response = requests.head(
            apply_mirror(url, resolve_mirror()),
            allow_redirects=False,
            timeout=TransferSettings.from_env().timeout,
        )
    except requests.RequestException:
        return ()  # the download itself will say what is wrong with the network
    etag = response.headers.get("X-Linked-Etag", "").strip().removeprefix("W/").strip('"').lower()
    if not _SHA256.fullmatch(etag):
        return ()
    return (DownloadChecksum("sha256", etag, "the Hub's X-Linked-Etag"),)


def _is_weight_name(name: str) -> bool:
    from danet.download import get_source

    try:
        get_source(name, "weights")
    except UnknownNameError:
        return False
    return True


def _not_found(text: str) -> str:
    from danet.download import weight_names

    close = difflib.get_close_matches(text, weight_names(), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return (
        f"checkpoint {text} does not exist: it is not a file, a run folder, a registered weight name "
        f"or an hf:// file{hint} (`danet download --list` shows the weight names)"
    )
