"""Safe extraction: unsafe members are refused by name and nothing lands outside the target."""

from __future__ import annotations

import io
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

from danet.download.archives import extract, extract_member, staging_dir
from danet.errors import DownloadError


def make_tar(path: Path, members: list[tuple[str, bytes | None, str | None, bytes]]) -> Path:
    """members: (name, data or None, link target or None, tar type)."""
    with tarfile.open(path, "w:gz" if path.suffix == ".tgz" else "w") as archive:
        for name, data, link, kind in members:
            info = tarfile.TarInfo(name)
            info.type = kind
            if link is not None:
                info.linkname = link
            info.size = len(data or b"")
            archive.addfile(info, io.BytesIO(data or b""))
    return path


def make_zip(path: Path, members: list[tuple[str, bytes, bool]]) -> Path:
    """members: (name, data, is_symlink)."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, data, symlink in members:
            info = zipfile.ZipInfo(name)
            if symlink:
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, data)
    return path


FILE, SYM, HARD = tarfile.REGTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE


def _evil(tmp: Path, case: str) -> tuple[Path, str]:
    ok = ("data/ok.txt", b"fine", None, FILE)
    if case == "tar-dotdot":
        return make_tar(tmp / "a.tar", [ok, ("data/../../evil.txt", b"x", None, FILE)]), "data/../../evil.txt"
    if case == "tar-absolute":
        return make_tar(tmp / "a.tgz", [ok, (f"{tmp}/abs.txt", b"x", None, FILE)]), f"{tmp}/abs.txt"
    if case == "tar-symlink-out":
        return make_tar(tmp / "a.tar", [ok, ("data/link", None, "../../evil", SYM)]), "data/link"
    if case == "tar-symlink-absolute":
        return make_tar(tmp / "a.tar", [ok, ("data/link", None, str(tmp), SYM)]), "data/link"
    if case == "tar-hardlink-out":
        return make_tar(tmp / "a.tar", [ok, ("data/hard", None, "../evil.txt", HARD)]), "data/hard"
    if case == "zip-dotdot":
        return make_zip(
            tmp / "a.zip", [("ok.txt", b"fine", False), ("../evil.txt", b"x", False)]
        ), "../evil.txt"
    if case == "zip-absolute":
        return make_zip(tmp / "a.zip", [("ok.txt", b"fine", False), ("/abs.txt", b"x", False)]), "/abs.txt"
    if case == "zip-symlink-out":
        return make_zip(tmp / "a.zip", [("ok.txt", b"fine", False), ("sub/l", b"../../evil", True)]), "sub/l"
    raise AssertionError(case)


CASES = [
    "tar-dotdot",
    "tar-absolute",
    "tar-symlink-out",
    "tar-symlink-absolute",
    "tar-hardlink-out",
    "zip-dotdot",
    "zip-absolute",
    "zip-symlink-out",
]


@pytest.mark.parametrize("case", CASES)
def test_unsafe_member_is_refused_by_name_and_nothing_is_written(tmp_path, case):
    work = tmp_path / "work"
    work.mkdir()
    archive, member = _evil(work, case)
    target = work / "out" / "deep"
    before = sorted(p.name for p in tmp_path.rglob("*"))
    with pytest.raises(DownloadError) as caught:
        extract(archive, target)
    assert repr(member) in str(caught.value)
    assert "nothing was extracted" in str(caught.value)
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # not even the target folder


def test_safe_archive_extracts_and_merges_with_existing_files(tmp_path):
    archive = make_tar(
        tmp_path / "good.tgz",
        [
            ("VOCdevkit/VOC2012/a.txt", b"a", None, FILE),
            ("VOCdevkit/VOC2012/sub/b.txt", b"b", None, FILE),
            ("VOCdevkit/VOC2012/link", None, "sub/b.txt", SYM),
        ],
    )
    target = tmp_path / "root"
    (target / "VOCdevkit" / "VOC2012").mkdir(parents=True)
    (target / "VOCdevkit" / "VOC2012" / "keep.txt").write_text("kept")
    (target / "VOCdevkit" / "VOC2012" / "a.txt").write_text("old")
    extract(archive, target)
    voc = target / "VOCdevkit" / "VOC2012"
    assert (voc / "a.txt").read_bytes() == b"a"
    assert (voc / "sub" / "b.txt").read_bytes() == b"b"
    assert (voc / "link").read_bytes() == b"b"
    assert (voc / "keep.txt").read_text() == "kept"
    assert not staging_dir(target, archive).exists()


def test_an_interrupted_extraction_is_redone_from_scratch(tmp_path):
    archive = make_zip(tmp_path / "good.zip", [("dir/x.txt", b"x", False)])
    target = tmp_path / "root"
    leftover = staging_dir(target, archive) / "dir" / "half-written.txt"
    leftover.parent.mkdir(parents=True)
    leftover.write_text("partial")
    extract(archive, target)
    assert (target / "dir" / "x.txt").read_bytes() == b"x"
    assert not (target / "dir" / "half-written.txt").exists()
    assert not staging_dir(target, archive).exists()


def test_a_damaged_archive_is_a_clear_error(tmp_path):
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DownloadError, match="not a readable archive"):
        extract(broken, tmp_path / "out")


def test_extract_member_takes_one_file_and_names_a_missing_one(tmp_path):
    archive = make_zip(tmp_path / "w.zip", [("w-1234abcd.pth", b"weights", False)])
    out = extract_member(archive, "w-1234abcd.pth", tmp_path / "w.pth.part")
    assert out.read_bytes() == b"weights"
    with pytest.raises(DownloadError, match="does not contain 'other.pth'"):
        extract_member(archive, "other.pth", tmp_path / "o.part")
