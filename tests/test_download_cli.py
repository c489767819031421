"""`danet download` through Typer's CliRunner: --list, --dry-run, errors, a real (local) download."""

from __future__ import annotations

import hashlib
import socket

import pytest
from _http_server import LocalServer, isolate_downloads
from typer.testing import CliRunner

from danet import download as dl
from danet.download import Checksum, Source, all_sources, extra_sources
from danet.paths import weights_dir
from danet_cli.app import app

runner = CliRunner()
BODY = b"cli weights " * 1000


@pytest.fixture(autouse=True)
def _fast_network(monkeypatch, tmp_path):
    isolate_downloads(monkeypatch, tmp_path / "home")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_list_shows_every_dataset_file_and_weight_file_within_100_columns():
    result = runner.invoke(app, ["download", "--list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= 100
    pairs = list(zip(lines, lines[1:], strict=False))  # an entry: name line, then its file line
    for source in all_sources():
        shown = source.group if source.kind == "dataset" else source.name
        assert any(
            head.split()[:1] == [shown] and file.split()[0].rstrip(":") == (source.member or source.filename)
            for head, file in pairs
            if head.strip() and file.strip()
        ), shown
    assert "www.cityscapes-dataset.com (login)" in result.output
    assert "mIoU 80.47" in result.output
    assert "missing" in result.output


def test_list_reports_a_verified_file(tmp_path):
    source = Source("cli_tiny", "weights", ("http://x.example/cli_tiny.pth",), "cli_tiny.pth")
    with extra_sources(source):
        weights_dir().mkdir(parents=True)
        (weights_dir() / "cli_tiny.pth").write_bytes(BODY)
        assert dl.find_cached_weights("cli_tiny") is not None  # records the sha256 on first sight
        result = runner.invoke(app, ["download", "--list"])
    line = next(line for line in result.output.splitlines() if "cli_tiny" in line)
    assert "verified" in line


def test_dry_run_shows_urls_destinations_and_sizes_without_network(tmp_path):
    port = closed_port()
    result = runner.invoke(
        app, ["download", "cityscapes", "--dry-run", "--mirror", f"http://127.0.0.1:{port}"]
    )
    assert result.exit_code == 0, result.output
    assert f"http://127.0.0.1:{port}/file-handling/?packageID=3" in result.output
    assert "leftImg8bit_trainvaltest.zip  11.0 GiB  log in, then download" in result.output
    assert "downloads/gtFine_trainvaltest.zip" in result.output
    assert "nothing was downloaded" in result.output


def test_dry_run_for_weights_names_the_cache_file(tmp_path):
    result = runner.invoke(app, ["download", "weights", "resnet101_imagenet1k_v2", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "https://download.pytorch.org/models/resnet101-cd907fc2.pth" in result.output
    assert str(weights_dir() / "resnet101-cd907fc2.pth") in result.output


def test_unreachable_host_is_one_error_line_and_exit_1():
    port = closed_port()
    args = ["download", "weights", "resnet50_imagenet1k_v1", "--mirror", f"http://127.0.0.1:{port}"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert f"cannot reach 127.0.0.1:{port}" in errors[0]
    assert "--mirror" in errors[0]


def test_unknown_dataset_lists_the_valid_names():
    result = runner.invoke(app, ["download", "imagenet"])
    assert result.exit_code == 1
    assert "unknown dataset 'imagenet'" in result.output
    assert "cityscapes" in result.output


def test_no_name_is_a_usage_error():
    result = runner.invoke(app, ["download"])
    assert result.exit_code == 1
    assert "--list" in result.output


def test_root_with_weights_is_refused():
    result = runner.invoke(app, ["download", "weights", "resnet50s", "--root", "x"])
    assert result.exit_code == 1
    assert "--root applies to a single dataset" in result.output


def test_weights_are_downloaded_through_the_cli(tmp_path):
    prefix = hashlib.sha256(BODY).hexdigest()[:8]
    source = Source(
        "cli_tiny",
        "weights",
        (f"https://download.pytorch.org/models/cli-{prefix}.pth",),
        f"cli-{prefix}.pth",
        checksums=(Checksum("sha256", prefix),),
    )
    with LocalServer() as server, extra_sources(source):
        server.serve(f"/models/cli-{prefix}.pth", BODY)
        result = runner.invoke(app, ["download", "weights", "cli_tiny", "--mirror", server.url])
    assert result.exit_code == 0, result.output
    assert (weights_dir() / f"cli-{prefix}.pth").read_bytes() == BODY
    bar = next(line for line in result.output.splitlines() if f"cli-{prefix}.pth (MiB)" in line)
    assert "speed" in bar and "/s" in bar and "eta" in bar


def test_flags_reach_the_dataset_download(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(
        dl, "download_dataset", lambda name, root, **kw: calls.append((name, root, kw)) or root
    )
    result = runner.invoke(app, ["download", "ade20k", "--root", str(tmp_path), "--no-prepare", "--force"])
    assert result.exit_code == 0, result.output
    name, root, options = calls[0]
    assert (name, root, options["prepare"], options["force"]) == ("ade20k", tmp_path, False, True)


def _zip(name: str, data: bytes) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


def test_cityscapes_from_the_cli_uses_the_environment_credentials(tmp_path, monkeypatch):
    packages = {
        "gtFine_trainvaltest.zip": _zip("gtFine/val/x/a_gtFine_labelIds.png", b"gt"),
        "leftImg8bit_trainvaltest.zip": _zip("leftImg8bit/val/x/a_leftImg8bit.png", b"im"),
    }
    root = tmp_path / "cs"
    with LocalServer() as server:
        server.add_cityscapes("user", "pw", packages)
        args = ["download", "cityscapes", "--root", str(root), "--no-prepare", "--mirror", server.url]
        refused = runner.invoke(app, args)
        monkeypatch.setenv("CITYSCAPES_USERNAME", "user")
        monkeypatch.setenv("CITYSCAPES_PASSWORD", "pw")
        accepted = runner.invoke(app, args)
    assert refused.exit_code == 1
    assert "CITYSCAPES_USERNAME" in refused.output
    assert accepted.exit_code == 0, accepted.output
    assert (root / "leftImg8bit" / "val" / "x" / "a_leftImg8bit.png").read_bytes() == b"im"
