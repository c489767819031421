"""Dataset downloads end to end against a local server: fetch, verify, extract, prepare, Cityscapes."""

from __future__ import annotations

import hashlib
import io
import sys
import tarfile
import types
import zipfile
from pathlib import Path

import numpy as np
import pytest
from _http_server import LocalServer, isolate_downloads

from danet.download import (
    Checksum,
    ChecksumError,
    Credentials,
    DownloadSpec,
    Source,
    dataset_sources,
    download_dataset,
    extra_sources,
    plan_dataset,
)
from danet.download.datasets import file_path, marker_path
from danet.errors import DownloadError

USER, PASSWORD = "tester@example.org", "s3cret-Pa55word"


def make_zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


TOY = make_zip({"toy/images/a.jpg": b"jpeg", "toy/masks/a.png": b"png"})


@pytest.fixture
def server(monkeypatch, tmp_path):
    isolate_downloads(monkeypatch, tmp_path / "home")
    with LocalServer() as local:
        monkeypatch.setenv("DANET_MIRROR", local.url)
        yield local


def toy_source(body: bytes = TOY, **kw) -> Source:
    checks = kw.pop("checksums", (Checksum("md5", hashlib.md5(body).hexdigest()),))
    return Source(
        "toyset/toy.zip",
        "dataset",
        ("http://data.example.org/sets/toy.zip",),
        "toy.zip",
        checksums=checks,
        archive="zip",
        group="toyset",
        **kw,
    )


def test_a_registered_dataset_is_downloaded_verified_and_extracted(server, tmp_path):
    server.serve("/sets/toy.zip", TOY)
    root = tmp_path / "toyset"
    with extra_sources(toy_source()):
        assert download_dataset("toyset", root) == root
        assert (root / "toy" / "images" / "a.jpg").read_bytes() == b"jpeg"
        assert (root / "downloads" / "toy.zip").read_bytes() == TOY
        assert marker_path(dataset_sources("toyset")[0], root).is_file()
        download_dataset("toyset", root)  # finished: nothing is fetched again
        assert plan_dataset("toyset", root)[0].action == "skip (extracted)"
    assert len(server.hits) == 1


def test_force_downloads_and_extracts_again(server, tmp_path):
    server.serve("/sets/toy.zip", TOY)
    with extra_sources(toy_source()):
        download_dataset("toyset", tmp_path / "r")
        download_dataset("toyset", tmp_path / "r", force=True)
    assert len(server.hits) == 2


def test_a_corrupt_dataset_archive_is_deleted_and_not_extracted(server, tmp_path):
    server.serve("/sets/toy.zip", TOY)
    root = tmp_path / "r"
    with extra_sources(toy_source(checksums=(Checksum("md5", "0" * 32),))):
        with pytest.raises(ChecksumError, match="md5 mismatch for toy.zip: expected 0{32}, got"):
            download_dataset("toyset", root)
        source = dataset_sources("toyset")[0]
        assert not file_path(source, root).exists()
        assert not Path(f"{file_path(source, root)}.part").exists()
        assert not marker_path(source, root).exists()
    assert not (root / "toy").exists()


def test_a_plain_file_goes_straight_to_its_target_folder(server, tmp_path):
    server.serve("/public/notes.json", b"{}")
    source = Source(
        "toyset/notes.json",
        "dataset",
        ("https://blob.example.net/public/notes.json",),
        "notes.json",
        checksums=(Checksum("sha1", hashlib.sha1(b"{}").hexdigest()),),
        target="VOCdevkit/VOC2010",
        group="toyset",
    )
    with extra_sources(source):
        download_dataset("toyset", tmp_path / "r")
    assert (tmp_path / "r" / "VOCdevkit" / "VOC2010" / "notes.json").read_bytes() == b"{}"


def test_preparation_is_handed_the_dataset_root(server, tmp_path, monkeypatch):
    calls = []
    fake = types.ModuleType("danet.datasets.prepare")
    fake.prepare = lambda name, root, reporter: calls.append((name, root))
    monkeypatch.setitem(sys.modules, "danet.datasets.prepare", fake)
    server.serve("/sets/toy.zip", TOY)
    info = DownloadSpec("toyset", "a toy", prepare_name="toy_prepared")
    with extra_sources(toy_source(), datasets=(info,)):
        download_dataset("toyset", tmp_path / "r")
        assert calls == [("toy_prepared", tmp_path / "r")]
        download_dataset("toyset", tmp_path / "r", prepare=False)
    assert len(calls) == 1


# -- Cityscapes ---------------------------------------------------------------------------------

GT, LEFT = (
    make_zip({"gtFine/val/x/a_gtFine_labelIds.png": b"gt"}),
    make_zip({"leftImg8bit/val/x/a.png": b"im"}),
)


@pytest.fixture
def cityscapes(server):
    server.add_cityscapes(
        USER,
        PASSWORD,
        {"gtFine_trainvaltest.zip": GT, "leftImg8bit_trainvaltest.zip": LEFT, "other.zip": b""},
    )
    return server


def test_cityscapes_logs_in_and_downloads_both_packages(cityscapes, tmp_path, monkeypatch):
    monkeypatch.setenv("CITYSCAPES_USERNAME", USER)
    monkeypatch.setenv("CITYSCAPES_PASSWORD", PASSWORD)
    root = download_dataset("cityscapes", tmp_path / "cs", prepare=False)
    assert (root / "gtFine" / "val" / "x" / "a_gtFine_labelIds.png").read_bytes() == b"gt"
    assert (root / "leftImg8bit" / "val" / "x" / "a.png").read_bytes() == b"im"
    logins = [hit for hit in cityscapes.hits if hit.path == "/login" and hit.method == "POST"]
    assert len(logins) == 1
    assert cityscapes.hits_for("/file-handling/")  # downloaded through the logged-in session


def test_cityscapes_credentials_are_never_written_to_disk(cityscapes, tmp_path):
    download_dataset("cityscapes", tmp_path / "cs", prepare=False, credentials=Credentials(USER, PASSWORD))
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path
    assert PASSWORD not in repr(Credentials(USER, PASSWORD))


def test_cityscapes_bad_credentials_fail_naming_the_user_only(cityscapes, tmp_path):
    with pytest.raises(DownloadError, match="login failed for 'tester@example.org'") as caught:
        download_dataset("cityscapes", tmp_path / "cs", prepare=False, credentials=Credentials(USER, "wrong"))
    assert "wrong" not in str(caught.value)
    assert not cityscapes.hits_for("/file-handling/")


def test_cityscapes_without_credentials_explains_how_to_give_them(cityscapes, tmp_path):
    with pytest.raises(DownloadError, match="CITYSCAPES_USERNAME and CITYSCAPES_PASSWORD"):
        download_dataset("cityscapes", tmp_path / "cs", prepare=False, credentials=lambda: None)


def test_cityscapes_asks_for_credentials_only_when_a_login_is_needed(cityscapes, tmp_path):
    asked = []

    def ask() -> Credentials:
        asked.append(1)
        return Credentials(USER, PASSWORD)

    download_dataset("cityscapes", tmp_path / "cs", prepare=False, credentials=ask)
    download_dataset("cityscapes", tmp_path / "cs", prepare=False, credentials=ask)
    assert asked == [1]


def test_cityscapes_file_failing_the_site_md5_is_deleted(server, tmp_path):
    server.add_cityscapes(
        USER,
        PASSWORD,
        {"gtFine_trainvaltest.zip": GT, "leftImg8bit_trainvaltest.zip": LEFT},
        md5={"gtFine_trainvaltest.zip": "1" * 32},
    )
    with pytest.raises(ChecksumError, match="md5 mismatch for gtFine_trainvaltest.zip: expected 1{32}"):
        download_dataset(
            "cityscapes", tmp_path / "cs", prepare=False, credentials=Credentials(USER, PASSWORD)
        )
    assert not (tmp_path / "cs" / "downloads" / "gtFine_trainvaltest.zip").exists()


# -- the real preparation step ------------------------------------------------------------------


def make_tar(files: dict[str, bytes], compressed: bool) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz" if compressed else "w") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def sbd_mat(labels: list[list[int]]) -> bytes:
    from scipy.io import savemat

    buffer = io.BytesIO()
    savemat(buffer, {"GTcls": {"Segmentation": np.array(labels, np.uint8), "CategoriesPresent": 1}})
    return buffer.getvalue()


def test_voc_aug_is_downloaded_extracted_and_prepared_into_what_the_adapter_reads(server, tmp_path):
    pytest.importorskip("scipy")
    voc = "VOCdevkit/VOC2012/"
    voc_tar = make_tar(
        {
            f"{voc}ImageSets/Segmentation/train.txt": b"2007_000001\n",
            f"{voc}ImageSets/Segmentation/val.txt": b"2007_000002\n",
            **{f"{voc}JPEGImages/2007_00000{i}.jpg": b"jpg" for i in (1, 2, 3)},
        },
        compressed=False,
    )
    sbd_tgz = make_tar(
        {
            "benchmark_RELEASE/dataset/cls/2007_000003.mat": sbd_mat([[0, 15], [15, 0]]),
            "benchmark_RELEASE/dataset/train.txt": b"2007_000003\n",
            "benchmark_RELEASE/dataset/val.txt": b"",
        },
        compressed=True,
    )
    server.serve("/voc/toy_voc.tar", voc_tar)
    server.serve("/sbd/toy_sbd.tgz", sbd_tgz)
    sources = [
        Source(f"{g}/{f}", "dataset", (f"http://ex.org/{d}/{f}",), f, archive=k, group=g)
        for g, d, f, k in (("toy_voc", "voc", "toy_voc.tar", "tar"), ("toy_sbd", "sbd", "toy_sbd.tgz", "tgz"))
    ]
    info = DownloadSpec("toy_aug", "VOC + SBD toy", prepare_name="voc_aug", parts=("toy_voc", "toy_sbd"))
    with extra_sources(*sources, datasets=(info,)):
        root = download_dataset("toy_aug", tmp_path / "voc")
    lists = root / voc / "ImageSets" / "Segmentation"
    assert (lists / "trainaug.txt").read_text().split() == ["2007_000001", "2007_000003"]
    assert (root / voc / "SegmentationClassAug" / "2007_000003.png").is_file()
