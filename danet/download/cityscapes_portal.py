"""The Cityscapes download flow: log in with a cookie session, then fetch packages by ID.

It follows the site's own `csDownload`: GET and POST `/login` (success is an HTTP 302), read the
package list from `/downloads/?list`, the md5 from `/md5-sum/?packageID=`, the bytes from
`/file-handling/?packageID=`. Credentials come from `CITYSCAPES_USERNAME` / `CITYSCAPES_PASSWORD` or
the caller (the CLI asks); they live in memory only and are never written anywhere.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests

from danet.download.catalog import Source
from danet.download.checksums import Checksum
from danet.download.files import ensure_file
from danet.download.network import TransferSettings, apply_mirror, request, resolve_mirror
from danet.errors import DownloadError
from danet.reporting import NullReporter, Reporter

SITE = "https://www.cityscapes-dataset.com"
USERNAME_ENV, PASSWORD_ENV = "CITYSCAPES_USERNAME", "CITYSCAPES_PASSWORD"
REGISTER_URL = "https://www.cityscapes-dataset.com/register/"


@dataclass(frozen=True)
class Credentials:
    """A Cityscapes account; the password never appears in `repr` or messages."""

    username: str
    password: str = field(repr=False)


def credentials_from_env() -> Credentials | None:
    """Credentials from `CITYSCAPES_USERNAME` and `CITYSCAPES_PASSWORD`, or None if either is unset."""
    username, password = os.environ.get(USERNAME_ENV, ""), os.environ.get(PASSWORD_ENV, "")
    return Credentials(username, password) if username and password else None


CredentialSource = Credentials | Callable[[], Credentials] | None


def resolve_credentials(credentials: CredentialSource) -> Credentials:
    """Given credentials, else the environment, else ask the callable; a clear error otherwise."""
    if isinstance(credentials, Credentials):
        return credentials
    found = credentials_from_env()
    if found is None and callable(credentials):
        found = credentials()
    if found is None or not found.username or not found.password:
        raise DownloadError(
            f"Cityscapes downloads need an account ({REGISTER_URL}): set {USERNAME_ENV} and "
            f"{PASSWORD_ENV}, or run the command in a terminal to be asked"
        )
    return found


@dataclass(frozen=True)
class Package:
    name: str
    package_id: str
    size: str


class CityscapesSite:
    """A logged-in session with the Cityscapes website (or a mirror of it)."""

    def __init__(
        self,
        *,
        mirror: str | None = None,
        settings: TransferSettings | None = None,
        reporter: Reporter | None = None,
    ) -> None:
        self.session = requests.Session()
        self.mirror = resolve_mirror(mirror)
        self.settings = settings or TransferSettings.from_env()
        self.reporter = reporter or NullReporter()
        self._packages: dict[str, Package] | None = None

    def url(self, path: str) -> str:
        return apply_mirror(SITE + path, self.mirror)

    def _get(self, path: str) -> requests.Response:
        return request(
            self.session,
            "GET",
            self.url(path),
            settings=self.settings,
            reporter=self.reporter,
            allow_redirects=False,
        )

    def login(self, credentials: Credentials) -> None:
        """Log in; raise `DownloadError` naming the user (never the password) on failure."""
        first = self._get("/login")
        if first.status_code >= 400:
            raise DownloadError(f"the Cityscapes login page answered HTTP {first.status_code}")
        form = {"username": credentials.username, "password": credentials.password, "submit": "Login"}
        answer = request(
            self.session,
            "POST",
            self.url("/login"),
            settings=self.settings,
            reporter=self.reporter,
            data=form,
            allow_redirects=False,
        )
        if answer.status_code != 302:
            raise DownloadError(
                f"Cityscapes login failed for {credentials.username!r}: bad username or password "
                f"(HTTP {answer.status_code}); check {USERNAME_ENV} / {PASSWORD_ENV}"
            )
        self.reporter.info(f"logged in to Cityscapes as {credentials.username}")

    def packages(self) -> dict[str, Package]:
        """Package name -> `Package`, from the site's JSON list (IDs are never hard-coded)."""
        if self._packages is None:
            answer = self._get("/downloads/?list")
            try:
                listing = answer.json() if answer.status_code == 200 else None
                self._packages = {
                    str(item["name"]): Package(
                        str(item["name"]), str(item["packageID"]), str(item.get("size", ""))
                    )
                    for item in listing
                }
            except (ValueError, TypeError, KeyError):
                raise DownloadError(
                    f"the Cityscapes site did not return its package list (HTTP {answer.status_code}); "
                    "is the login still valid?"
                ) from None
        return self._packages

    def package(self, name: str) -> Package:
        packages = self.packages()
        if name not in packages:
            raise DownloadError(
                f"the Cityscapes site does not offer {name!r} to this account; available: "
                f"{', '.join(sorted(packages)) or 'none'}"
            )
        return packages[name]

    def md5(self, package_id: str) -> str:
        answer = self._get(f"/md5-sum/?packageID={package_id}")
        words = answer.text.split() if answer.status_code == 200 else []
        if not words or not re.fullmatch(r"[0-9a-fA-F]{32}", words[0]):
            raise DownloadError(
                f"the Cityscapes site sent no md5 for package {package_id} (HTTP {answer.status_code})"
            )
        return words[0].lower()

    def close(self) -> None:
        self.session.close()


def package_checksums(source: Source, site_md5: str, reporter: Reporter) -> tuple[Checksum, ...]:
    """The site's md5, plus the published checksums when the published md5 agrees with it."""
    site = Checksum("md5", site_md5, "Cityscapes md5-sum endpoint")
    published_md5 = [c for c in source.checksums if c.algo == "md5"]
    if published_md5 and not published_md5[0].matches(site_md5):
        reporter.warning(
            f"{source.filename}: the site's md5 {site_md5} differs from the published "
            f"{published_md5[0].value}; the package may have been updated, checking the site's md5"
        )
        return (site,)
    return (site, *(c for c in source.checksums if c.algo != "md5"))


def download_package(site: CityscapesSite, source: Source, dest: Path, *, force: bool = False) -> Path:
    """Download one package into `dest` (resuming a `.part`) and verify it."""
    package = site.package(source.filename)
    checksums = package_checksums(source, site.md5(package.package_id), site.reporter)
    return ensure_file(
        source,
        dest,
        urls=(site.url(f"/file-handling/?packageID={package.package_id}"),),
        checksums=checksums,
        session=site.session,
        mirror="",  # the URL is already mirrored
        settings=site.settings,
        reporter=site.reporter,
        force=force,
        allow_redirects=False,
    )
