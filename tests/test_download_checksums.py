"""Checksums: prefixes, validation, mismatch messages, the digest cache and first-download records."""

from __future__ import annotations

import hashlib

import pytest

from danet.download.checksums import (
    Checksum,
    ChecksumError,
    cached_digests,
    read_record,
    verify_file,
    write_record,
)
from danet.errors import ConfigError

DATA = b"0123456789" * 100


def test_a_short_value_is_a_prefix_and_a_full_one_must_match_exactly():
    digest = hashlib.sha256(DATA).hexdigest()
    assert Checksum("sha256", digest[:8]).matches(digest)
    assert Checksum("sha256", digest.upper()).matches(digest)
    assert not Checksum("sha256", digest[:8]).matches("f" * 64)


@pytest.mark.parametrize(("algo", "value"), [("crc32", "12345678"), ("md5", "abc"), ("sha1", "z" * 40)])
def test_bad_checksums_are_config_errors(algo, value):
    with pytest.raises(ConfigError):
        Checksum(algo, value)


def test_verify_file_deletes_a_mismatching_file_and_names_it(tmp_path):
    path = tmp_path / "x.bin"
    path.write_bytes(DATA)
    with pytest.raises(ChecksumError) as caught:
        verify_file(path, [Checksum("md5", "0" * 32)])
    message = str(caught.value)
    assert f"md5 mismatch for {path}: expected {'0' * 32}, got {hashlib.md5(DATA).hexdigest()}" in message
    assert f"deleted {path}" in message
    assert not path.exists()


def test_verify_file_remembers_digests_for_the_unchanged_file(tmp_path):
    path = tmp_path / "x.bin"
    path.write_bytes(DATA)
    verify_file(path, [Checksum("sha1", hashlib.sha1(DATA).hexdigest())])
    assert cached_digests(path) == {"sha1": hashlib.sha1(DATA).hexdigest()}
    path.write_bytes(DATA + b"more")
    assert cached_digests(path) == {}


def test_records_use_the_sha256sum_format(tmp_path):
    path = tmp_path / "DANet101.pth.tar"
    record = write_record(path, "ab" * 32)
    assert record.read_text() == f"{'ab' * 32}  DANet101.pth.tar\n"
    assert read_record(path) == "ab" * 32
