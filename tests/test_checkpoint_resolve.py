"""`danet.checkpoints.resolve`: every kind of checkpoint spec, downloads through a local HTTP server."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from _http_server import LocalServer, isolate_downloads
from _tiny_models import tiny_checkpoint

from danet.checkpoints import HubFile, load_model, resolve
from danet.download import Checksum, Source, extra_sources
from danet.download.checksums import ChecksumError
from danet.errors import CheckpointError, DownloadError
from danet.paths import weights_dir
from danet.reporting import NullReporter


class Recorder(NullReporter):
    """Keeps messages and the descriptions of progress bars."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.bars: list[str] = []

    def info(self, message: str) -> None:
        self.messages.append(message)

    @contextmanager
    def progress(self, description: str, total: float | None) -> Iterator[Any]:
        self.bars.append(description)
        with super().progress(description, total) as task:
            yield task


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[LocalServer]:
    isolate_downloads(monkeypatch, tmp_path / "home")
    monkeypatch.delenv("DANET_OFFLINE", raising=False)
    with LocalServer() as local:
        monkeypatch.setenv("DANET_MIRROR", local.url)  # registered URLs are fetched from here
        monkeypatch.setenv("DANET_HF_ENDPOINT", local.url)
        yield local


@pytest.fixture(scope="module")
def body(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return tiny_checkpoint(tmp_path_factory.mktemp("weights") / "tiny.pt").read_bytes()


def published(body: bytes, name: str = "danet_tiny_published") -> Source:
    """A registered weight file named by the sha256-prefix rule of torch.hub / mmseg."""
    prefix = hashlib.sha256(body).hexdigest()[:8]
    filename = f"{name}-{prefix}.pth"
    url = f"https://download.openmmlab.com/mmsegmentation/v0.5/danet/{filename}"
    return Source(name, "weights", (url,), filename, checksums=(Checksum("sha256", prefix, "file name"),))


def test_a_file_is_itself(tmp_path: Path) -> None:
    path = tiny_checkpoint(tmp_path / "model.pt")
    assert resolve(path) == path and resolve(str(path)) == path


def test_a_run_folder_gives_its_best_checkpoint_else_its_last(tmp_path: Path) -> None:
    run = tmp_path / "runs" / "train" / "exp"
    last = tiny_checkpoint(run / "checkpoints" / "last.pt")
    assert resolve(run) == last
    best = tiny_checkpoint(run / "checkpoints" / "best.pt")
    assert resolve(run) == best


def test_nothing_gives_the_newest_run(tmp_path: Path) -> None:
    project = tmp_path / "runs" / "train"
    old = tiny_checkpoint(project / "old" / "checkpoints" / "best.pt")
    new = tiny_checkpoint(project / "new" / "checkpoints" / "last.pt")  # crashed before validating
    os.utime(old, (1, 1))
    assert resolve(None, project=project) == new
    assert resolve("", project=project) == new


def test_no_run_at_all_says_how_to_get_a_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="danet train synthetic"):
        resolve(None, project=tmp_path / "runs" / "train")


def test_a_folder_without_checkpoints_is_named(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="holds no checkpoints/best.pt or checkpoints/last.pt"):
        resolve(tmp_path)


def test_a_weight_name_is_downloaded_verified_with_progress_then_cached(server, body) -> None:
    source = published(body)
    server.serve("/mmsegmentation/v0.5/danet/" + source.filename, body)
    reporter = Recorder()
    with extra_sources(source):
        path = resolve(source.name, reporter=reporter)
        assert path == weights_dir() / source.filename and path.read_bytes() == body
        assert reporter.bars  # the downloader's progress bar
        assert resolve(source.name) == path
    assert len(server.hits_for("/mmsegmentation/v0.5/danet/" + source.filename)) == 1


def test_a_weight_file_failing_its_checksum_is_refused(server, body) -> None:
    source = published(body)
    server.serve("/mmsegmentation/v0.5/danet/" + source.filename, body + b"tampered")
    with extra_sources(source), pytest.raises(ChecksumError, match="sha256"):
        resolve(source.name)
    assert not (weights_dir() / source.filename).exists()


def test_offline_refuses_to_download_but_uses_the_cache(server, body, monkeypatch) -> None:
    source = published(body)
    server.serve("/mmsegmentation/v0.5/danet/" + source.filename, body)
    monkeypatch.setenv("DANET_OFFLINE", "1")
    with extra_sources(source):
        with pytest.raises(DownloadError, match="DANET_OFFLINE=1 forbids downloading") as caught:
            resolve(source.name)
        assert str(weights_dir() / source.filename) in str(caught.value)
        assert not server.hits
        monkeypatch.delenv("DANET_OFFLINE")
        cached = resolve(source.name)
        monkeypatch.setenv("DANET_OFFLINE", "1")
        assert resolve(source.name) == cached


def test_hf_specs_follow_the_hub_url_layout(server, body) -> None:
    server.serve("/someone/danet-tiny/resolve/main/weights/best.pt", body)
    server.serve("/someone/danet-tiny/resolve/v1.0/best.pt", body)
    reporter = Recorder()
    path = resolve("hf://someone/danet-tiny/weights/best.pt", reporter=reporter)
    assert path == weights_dir() / "hf" / "someone" / "danet-tiny" / "main" / "weights" / "best.pt"
    assert path.read_bytes() == body and reporter.bars
    pinned = resolve("hf://someone/danet-tiny/best.pt@v1.0")
    assert pinned.parent.name == "v1.0" and pinned.read_bytes() == body
    assert resolve("hf://someone/danet-tiny/best.pt@v1.0") == pinned  # cached: no second request
    hits = server.hits_for("/someone/danet-tiny/resolve/v1.0/best.pt")
    assert [hit.method for hit in hits] == ["HEAD", "GET"]  # the published sha256 asked for, then the file


def hub_lfs_route(body: bytes, published: bytes) -> Callable[[Any], None]:
    """A Hub resolve URL of a large file: HEAD gives the sha256 of `published`, GET sends `body`."""
    etag = f'"{hashlib.sha256(published).hexdigest()}"'

    def answer(request: Any) -> None:
        if request.command == "HEAD":
            request.send(302, b"", {"X-Linked-Etag": etag, "Location": "/cdn"})
        else:
            request.send(200, body)

    return answer


def test_a_large_hub_file_is_checked_against_the_published_sha256(server, body) -> None:
    server.routes["/someone/danet-tiny/resolve/main/big.pt"] = hub_lfs_route(body, body)
    assert resolve("hf://someone/danet-tiny/big.pt").read_bytes() == body
    server.routes["/someone/danet-tiny/resolve/main/bad.pt"] = hub_lfs_route(body + b"x", body)
    with pytest.raises(ChecksumError, match="sha256 mismatch"):
        resolve("hf://someone/danet-tiny/bad.pt")
    assert not HubFile.parse("hf://someone/danet-tiny/bad.pt").cache_path().exists()


def test_a_missing_hub_file_is_a_download_error(server) -> None:
    with pytest.raises(DownloadError, match="404"):
        resolve("hf://someone/danet-tiny/missing.pt")


def test_hf_offline_uses_the_cache_only(server, body, monkeypatch) -> None:
    monkeypatch.setenv("DANET_OFFLINE", "1")
    with pytest.raises(DownloadError, match="DANET_OFFLINE=1 forbids downloading"):
        resolve("hf://someone/danet-tiny/best.pt")
    assert not server.hits
    cached = HubFile.parse("hf://someone/danet-tiny/best.pt").cache_path()
    cached.parent.mkdir(parents=True)
    cached.write_bytes(body)
    assert resolve("hf://someone/danet-tiny/best.pt") == cached


def test_hub_urls_default_to_huggingface(monkeypatch) -> None:
    monkeypatch.delenv("DANET_HF_ENDPOINT", raising=False)
    file = HubFile.parse("hf://owner/repo/sub/model.pth@abc123")
    assert (file.owner, file.repo, file.revision) == ("owner", "repo", "abc123")
    assert file.filename == "sub/model.pth"
    assert file.url() == "https://huggingface.co/owner/repo/resolve/abc123/sub/model.pth"


@pytest.mark.parametrize(
    "spec", ["hf://owner/model.pt", "hf://owner//model.pt", "hf://o/r/../x.pt", "hf://o/r/f@"]
)
def test_malformed_hf_specs_say_the_expected_form(spec: str) -> None:
    with pytest.raises(CheckpointError, match="hf://OWNER/REPO/FILE"):
        resolve(spec)


def test_an_unknown_spec_names_the_accepted_kinds_and_close_weight_names(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError) as caught:
        resolve("danet_r50-d8_512x1024_40k_cityscape")
    message = str(caught.value)
    assert "not a file, a run folder, a registered weight name or an hf:// file" in message
    assert "did you mean danet_r50-d8_512x1024_40k_cityscapes" in message


def test_imagenet_backbone_weights_are_not_a_segmentation_model() -> None:
    with pytest.raises(CheckpointError, match="ImageNet backbone weights"):
        resolve("resnet50_imagenet1k_v1")


def test_load_model_takes_a_weight_name_and_carries_the_meta(server, body) -> None:
    source = published(body)
    server.serve("/mmsegmentation/v0.5/danet/" + source.filename, body)
    with extra_sources(source):
        model = load_model(source.name)
    assert model.meta.origin == "danet" and model.meta.dataset == "folder"
    assert model.meta.class_names == ("sky", "road", "car") and model.meta.source.endswith(source.filename)


def test_the_run_layout_and_model_meta_import_without_torch() -> None:
    code = "import sys, danet.checkpoints.runs, danet.checkpoints.meta; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
