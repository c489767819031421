"""Weights: registry, sha256-prefix names, zip members, Google Drive, the cache and its sidecars."""

from __future__ import annotations

import hashlib
import io
import os
import threading
import zipfile
from pathlib import Path

import pytest
from _http_server import LocalServer, isolate_downloads

from danet.download import (
    IMAGENET_BACKBONES,
    Checksum,
    ChecksumError,
    Source,
    all_sources,
    download_weights,
    extra_sources,
    find_cached_weights,
    get_source,
    weights_path,
)
from danet.download import checksums as checksum_module
from danet.download.checksums import read_record
from danet.download.files import download_lock
from danet.errors import ConfigError, DownloadError, UnknownNameError
from danet.paths import weights_dir
from danet.reporting import NullReporter

BODY = b"tiny weights " * 3000


class Recorder(NullReporter):
    def __init__(self) -> None:
        self.messages: list[str] = []
        self.waiting = threading.Event()

    def info(self, message: str) -> None:
        self.messages.append(message)
        if "waiting for another process" in message:
            self.waiting.set()

    def warning(self, message: str) -> None:
        self.messages.append(f"warning: {message}")


@pytest.fixture
def server(monkeypatch, tmp_path):
    isolate_downloads(monkeypatch, tmp_path / "home")
    with LocalServer() as local:
        monkeypatch.setenv("DANET_MIRROR", local.url)
        yield local


def visible_files(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if not p.name.startswith(".")]  # lock files are hidden


def hashed_source(body: bytes, prefix: str | None = None, name: str = "tiny_backbone") -> Source:
    prefix = prefix or hashlib.sha256(body).hexdigest()[:8]
    filename = f"tiny-{prefix}.pth"
    return Source(
        name,
        "weights",
        (f"https://download.pytorch.org/models/{filename}",),
        filename,
        checksums=(Checksum("sha256", prefix, "file-name prefix"),),
    )


def test_registry_holds_every_published_weight_file():
    names = {s.name for s in all_sources("weights")}
    for family in IMAGENET_BACKBONES.values():
        assert set(family) <= names
    danet = [s for s in all_sources("weights") if s.group == "mmseg-danet"]
    assert len(danet) == 16
    assert all(dict(s.metrics)["mIoU"] > 40 for s in danet)
    v1 = get_source("resnet50_imagenet1k_v1")
    assert v1.urls == ("https://download.pytorch.org/models/resnet50-0676ba61.pth",)
    assert str(v1.checksums[0]) == "sha256 0676ba61..."
    assert get_source("danet_r101-d8_4xb2-80k_cityscapes-769x769").filename.endswith("-f3a929e7.pth")
    assert get_source("open-mmlab://resnet50_v1c").name == "resnet50_v1c"
    assert get_source("DANet101").needs_record


def test_unknown_weights_name_lists_the_valid_ones():
    with pytest.raises(UnknownNameError, match="resnet101_imagenet1k_v2"):
        get_source("resnet9000", "weights")


def test_registering_a_taken_name_is_refused():
    duplicate = hashed_source(BODY, name="resnet50_imagenet1k_v1")
    with pytest.raises(ConfigError, match="already registered"), extra_sources(duplicate):
        pass


def test_download_verifies_the_sha256_prefix_and_is_found_in_the_cache(server):
    source = hashed_source(BODY)
    server.serve(f"/models/{source.filename}", BODY)
    with extra_sources(source):
        path = download_weights("tiny_backbone")
        assert path == weights_dir() / source.filename
        assert path.read_bytes() == BODY
        assert find_cached_weights("tiny_backbone") == path
        assert weights_path("tiny_backbone") == path
        download_weights("tiny_backbone")  # already verified: no second request
    assert len(server.hits) == 1
    assert not Path(f"{path}.part").exists()


def test_checksum_mismatch_deletes_the_download_and_says_expected_and_got(server):
    source = hashed_source(BODY, prefix="deadbeef")
    server.serve(f"/models/{source.filename}", BODY)
    with extra_sources(source), pytest.raises(ChecksumError) as caught:
        download_weights("tiny_backbone")
    message = str(caught.value)
    assert "sha256 mismatch for tiny-deadbeef.pth" in message
    assert "expected deadbeef" in message
    assert f"got {hashlib.sha256(BODY).hexdigest()}" in message
    assert "deleted" in message
    assert visible_files(weights_dir()) == []


def test_weights_path_without_download_says_how_to_get_them(server):
    with extra_sources(hashed_source(BODY)), pytest.raises(DownloadError, match="danet download weights"):
        weights_path("tiny_backbone")


def test_weights_path_with_download_fetches_them(server):
    source = hashed_source(BODY)
    server.serve(f"/models/{source.filename}", BODY)
    with extra_sources(source):
        assert weights_path("tiny_backbone", download=True).read_bytes() == BODY


def test_verification_is_cached_on_size_and_mtime(server, monkeypatch):
    source = hashed_source(BODY)
    server.serve(f"/models/{source.filename}", BODY)
    with extra_sources(source):
        path = download_weights("tiny_backbone")
        with monkeypatch.context() as patch:
            patch.setattr(checksum_module, "hash_file", _no_hashing)
            assert find_cached_weights("tiny_backbone") == path  # answered from the sidecar
        path.write_bytes(BODY[:-1] + b"!")  # same size, new content and mtime
        os.utime(path, ns=(1, 1))
        assert find_cached_weights("tiny_backbone") is None
        assert not path.exists()


def _no_hashing(*args, **kwargs):
    raise AssertionError("the file was hashed again")


def _zip_with(member: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(member, data)
    return buffer.getvalue()


def _encoding_source(sha1: str) -> Source:
    stem = f"tinys-{sha1[:8]}"
    return Source(
        "tinys",
        "weights",
        (f"https://s3.us-west-1.wasabisys.com/encoding/models/{stem}.zip",),
        f"{stem}.zip",
        archive="zip",
        member=f"{stem}.pth",
        member_checksums=(Checksum("sha1", sha1),),
    )


def test_encoding_zip_is_unpacked_and_the_member_sha1_checked(server):
    sha1 = hashlib.sha1(BODY).hexdigest()
    source = _encoding_source(sha1)
    server.serve(f"/encoding/models/{source.filename}", _zip_with(source.member, BODY))
    with extra_sources(source):
        path = download_weights("tinys")
        assert path.name == source.member
        assert path.read_bytes() == BODY
        assert not (weights_dir() / source.filename).exists()  # the zip is dropped
        assert find_cached_weights("tinys") == path


def test_encoding_member_with_wrong_sha1_is_refused(server):
    source = _encoding_source("0" * 40)
    server.serve(f"/encoding/models/{source.filename}", _zip_with(source.member, BODY))
    with extra_sources(source), pytest.raises(ChecksumError, match="sha1 mismatch for tinys-00000000.pth"):
        download_weights("tinys")
    assert visible_files(weights_dir()) == []


def _drive_source() -> Source:
    url = "https://drive.google.com/open?id=FAKEID123"
    return Source("tiny_official", "weights", (url,), "Tiny.pth.tar", via="gdrive")


def test_drive_interstitial_is_passed_and_the_sha256_recorded(server):
    server.add_gdrive("FAKEID123", BODY)
    reporter = Recorder()
    with extra_sources(_drive_source()):
        path = download_weights("tiny_official", reporter=reporter)
        assert path.read_bytes() == BODY
        digest = hashlib.sha256(BODY).hexdigest()
        assert read_record(path) == digest
        assert any(digest in message for message in reporter.messages)
        assert find_cached_weights("tiny_official") == path
    paths = [hit.path.split("?")[0] for hit in server.hits]
    assert paths == ["/uc", "/download"]


def test_a_drive_file_that_changes_later_fails_against_the_record(server):
    server.add_gdrive("FAKEID123", BODY)
    with extra_sources(_drive_source()):
        path = download_weights("tiny_official")
        server.add_gdrive("FAKEID123", BODY + b"changed")
        with pytest.raises(ChecksumError, match=r"recorded at its first download in .*Tiny.pth.tar.sha256"):
            download_weights("tiny_official", force=True)
        assert not Path(f"{path}.part").exists()


def test_small_drive_files_come_without_an_interstitial(server):
    server.add_gdrive("FAKEID123", BODY, interstitial=False)
    with extra_sources(_drive_source()):
        assert download_weights("tiny_official").read_bytes() == BODY


def test_a_drive_quota_page_is_a_clear_error(server):
    server.add_gdrive("FAKEID123", BODY, broken=True)
    with extra_sources(_drive_source()), pytest.raises(DownloadError, match="did not offer"):
        download_weights("tiny_official")


def test_a_second_process_waits_for_the_first_and_then_finds_the_file(server, tmp_path):
    source = hashed_source(BODY)
    server.serve(f"/models/{source.filename}", BODY)
    reporter, results = Recorder(), []
    with extra_sources(source):
        dest = weights_dir() / source.filename
        with download_lock(dest, NullReporter()):  # "another process" holds the download
            waiter = threading.Thread(
                target=lambda: results.append(download_weights("tiny_backbone", reporter=reporter))
            )
            waiter.start()
            assert reporter.waiting.wait(timeout=30)  # it found the lock taken and waits
            dest.write_bytes(BODY)  # the other process finishes its download
        waiter.join(timeout=30)
    assert results == [dest]
    assert server.hits == []  # the waiter found the file verified and did not download it again
