"""`danet download NAME` for datasets: fetch each file, verify it, extract it, then prepare.

Layout under the dataset root: archives in `downloads/`, their contents extracted into the root (or
the source's `target` subfolder), plain files (e.g. `trainval_merged.json`) straight into place, and a
marker per extracted archive in `.danet/` so a finished step is not repeated. Preparation (label
conversion and so on) is `danet.datasets.prepare.prepare(name, root, reporter)`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from danet.download.archives import extract
from danet.download.catalog import DownloadSpec, Source, dataset_sources, get_download
from danet.download.cityscapes_portal import (
    CityscapesSite,
    CredentialSource,
    download_package,
    resolve_credentials,
)
from danet.download.files import download_lock, ensure_file, existing_ok
from danet.download.network import TransferSettings
from danet.errors import DatasetError
from danet.paths import default_dataset_root
from danet.reporting import NullReporter, Reporter

DOWNLOADS = "downloads"
MARKERS = ".danet"


def dataset_root(name: str, root: str | Path | None = None) -> Path:
    """`root` if given, else the default folder of the dataset (sbd shares voc's)."""
    if root is not None:
        return Path(root).expanduser()
    info = get_download(name)
    return default_dataset_root(info.root_name or info.name)


def file_path(source: Source, root: Path) -> Path:
    """Where a dataset source's file is kept: archives in `downloads/`, others in their target."""
    return root / DOWNLOADS / source.filename if source.archive else root / source.target / source.filename


def marker_path(source: Source, root: Path) -> Path:
    return root / MARKERS / f"{source.filename}.extracted"


def is_extracted(source: Source, root: Path) -> bool:
    return source.archive is not None and marker_path(source, root).is_file()


def download_dataset(
    name: str,
    root: str | Path | None = None,
    *,
    mirror: str | None = None,
    force: bool = False,
    prepare: bool = True,
    credentials: CredentialSource = None,
    settings: TransferSettings | None = None,
    reporter: Reporter | None = None,
) -> Path:
    """Download, verify, extract and (unless `prepare=False`) prepare dataset `name`; return its root.

    `credentials` (Cityscapes only) is a `Credentials`, or a callable asked only when a login is
    needed and the environment has none.
    """
    reporter = reporter or NullReporter()
    info = get_download(name)
    base = dataset_root(name, root)
    reporter.info(f"{name}: {info.description} -> {base}")
    sites: list[CityscapesSite] = []

    def site() -> CityscapesSite:  # log in only when a Cityscapes file must really be fetched
        if not sites:
            sites.append(_log_in(credentials, mirror, settings, reporter))
        return sites[0]

    try:
        for source in dataset_sources(name):
            # one process at a time per archive: a second one waits, then finds it extracted
            with download_lock(marker_path(source, base), reporter):
                if is_extracted(source, base) and not force:
                    reporter.info(f"{source.filename}: already extracted")
                    continue
                if source.via == "cityscapes":
                    path = _cityscapes_file(site, source, base, force, reporter)
                else:
                    path = ensure_file(
                        source,
                        file_path(source, base),
                        mirror=mirror,
                        settings=settings,
                        reporter=reporter,
                        force=force,
                    )
                if source.archive:
                    _extract(source, path, base, reporter)
    finally:
        for opened in sites:
            opened.close()
    if prepare:
        run_prepare(info, base, reporter)
    return base


def _log_in(
    credentials: CredentialSource,
    mirror: str | None,
    settings: TransferSettings | None,
    reporter: Reporter,
) -> CityscapesSite:
    site = CityscapesSite(mirror=mirror, settings=settings, reporter=reporter)
    try:
        site.login(resolve_credentials(credentials))
    except BaseException:
        site.close()
        raise
    return site


def _cityscapes_file(
    site: Callable[[], CityscapesSite], source: Source, base: Path, force: bool, reporter: Reporter
) -> Path:
    dest = file_path(source, base)
    if not force and existing_ok(dest, source.checksums, record=False, reporter=reporter):
        reporter.info(f"{dest.name}: already downloaded and verified ({dest})")
        return dest
    return download_package(site(), source, dest, force=force)


def _extract(source: Source, archive: Path, base: Path, reporter: Reporter) -> None:
    marker = marker_path(source, base)
    marker.unlink(missing_ok=True)
    target = base / source.target
    extract(archive, target, reporter=reporter)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(f"{archive.name} extracted into {target}\n", encoding="utf-8")
    reporter.info(f"{archive.name}: extracted into {target}")


def run_prepare(info: DownloadSpec, root: Path, reporter: Reporter) -> None:
    """Hand the extracted files to the dataset package's preparation step."""
    if info.prepare_name is None:
        return
    try:
        from danet.datasets.prepare import prepare
    except ImportError as error:
        if not (error.name or "").startswith("danet.datasets"):
            raise
        raise DatasetError(
            f"cannot prepare {info.name}: this danet has no dataset preparation ({error}); the files "
            f"are in {root}; run again with --no-prepare to skip this step"
        ) from None
    prepare(info.prepare_name, root, reporter)
