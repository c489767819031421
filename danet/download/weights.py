"""Pretrained weight files in the cache folder (`$DANET_HOME/weights`): find, download, verify.

`weights_path(name)` is what model code calls: the verified file, downloaded on request.
"""

from __future__ import annotations

import os
from pathlib import Path

import requests

from danet.download import gdrive
from danet.download.archives import extract_member
from danet.download.catalog import Source, get_source
from danet.download.checksums import (
    ChecksumError,
    check_digests,
    forget_digests,
    hash_file,
    remember_digests,
)
from danet.download.files import download_lock, ensure_file, existing_ok
from danet.download.http import part_path
from danet.download.network import TransferSettings, resolve_mirror
from danet.errors import DownloadError
from danet.paths import weights_dir
from danet.reporting import NullReporter, Reporter


def weights_file(source: Source) -> Path:
    """Where the usable file of a weights source lives (for a zip: the member taken out of it)."""
    return weights_dir() / (source.member or source.filename)


def find_cached_weights(name: str, *, reporter: Reporter | None = None) -> Path | None:
    """The verified cached file of the weights `name`, or None (a file failing its check is deleted)."""
    source = get_source(name, "weights")
    path = weights_file(source)
    checksums = source.member_checksums if source.member else source.checksums
    ok = existing_ok(path, checksums, record=source.needs_record, reporter=reporter or NullReporter())
    return path if ok else None


def weights_path(
    name: str,
    *,
    download: bool = False,
    mirror: str | None = None,
    reporter: Reporter | None = None,
) -> Path:
    """The verified file of the weights `name`; downloaded first when missing and `download` is set."""
    found = find_cached_weights(name, reporter=reporter)
    if found is not None:
        return found
    source = get_source(name, "weights")
    if download:
        return download_weights(source.name, mirror=mirror, reporter=reporter)
    raise DownloadError(
        f"weights {source.name!r} are not downloaded (expected {weights_file(source)}); run "
        f"`danet download weights {source.name}`"
    )


def download_weights(
    name: str,
    *,
    force: bool = False,
    mirror: str | None = None,
    settings: TransferSettings | None = None,
    reporter: Reporter | None = None,
) -> Path:
    """Download (unless cached and verified, or `force`) the weights `name`; return the file."""
    reporter = reporter or NullReporter()
    source = get_source(name, "weights")
    if not force:
        found = find_cached_weights(source.name, reporter=reporter)
        if found is not None:
            reporter.info(f"{source.name}: already downloaded and verified ({found})")
            return found
    options = {"mirror": mirror, "settings": settings, "reporter": reporter, "force": force}
    if source.via == "gdrive":
        return _from_drive(source, **options)
    if source.member:
        return _from_zip(source, source.member, **options)
    return ensure_file(source, weights_file(source), **options)


def _from_drive(
    source: Source,
    *,
    mirror: str | None,
    settings: TransferSettings | None,
    reporter: Reporter,
    force: bool,
) -> Path:
    settings = settings or TransferSettings.from_env()
    with requests.Session() as session:
        url = gdrive.resolve(
            source.urls[0],
            session=session,
            mirror=resolve_mirror(mirror),
            settings=settings,
            reporter=reporter,
        )
        return ensure_file(
            source,
            weights_file(source),
            urls=(url,),
            session=session,
            mirror="",  # already mirrored
            settings=settings,
            reporter=reporter,
            force=force,
            inspect=lambda part: gdrive.refuse_html(part, source.filename),
        )


def _from_zip(
    source: Source,
    member: str,
    *,
    mirror: str | None,
    settings: TransferSettings | None,
    reporter: Reporter,
    force: bool,
) -> Path:
    """Download the zip, take the member out, check the member's published digest, drop the zip."""
    final = weights_file(source)
    with download_lock(final, reporter):
        if not force and existing_ok(final, source.member_checksums, record=False, reporter=reporter):
            return final  # another process finished it while this one waited
        archive = ensure_file(
            source,
            weights_dir() / source.filename,
            checksums=(),
            record=False,
            mirror=mirror,
            settings=settings,
            reporter=reporter,
            force=force,
        )
        part = extract_member(archive, member, part_path(final))
        digests = hash_file(part, {c.algo for c in source.member_checksums}, reporter, label=member)
        try:
            check_digests(digests, source.member_checksums, f"{member} (from {archive.name})")
        except ChecksumError as error:
            part.unlink(missing_ok=True)
            archive.unlink(missing_ok=True)
            forget_digests(archive)
            raise ChecksumError(f"{error}; deleted {archive}") from None
        os.replace(part, final)
        remember_digests(final, digests)
        archive.unlink(missing_ok=True)
        forget_digests(archive)
    reporter.info(f"{source.name}: extracted and verified ({final})")
    return final
