"""HTTP transfers against a local server: resume, restarts, retries, timeouts, mirror, full disk."""

from __future__ import annotations

import errno
import socket
from contextlib import contextmanager
from pathlib import Path

import pytest
from _http_server import LocalServer, isolate_downloads

from danet.download import http
from danet.download.http import fetch, part_path
from danet.download.network import DiskFullError, TransferSettings, apply_mirror, resolve_mirror
from danet.errors import ConfigError, DownloadError

BODY = bytes(range(256)) * 400  # 100 KiB


@pytest.fixture
def server():
    with LocalServer() as local:
        yield local


@pytest.fixture(autouse=True)
def _fast_network(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_downloads(monkeypatch, tmp_path / "home")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_fetch_streams_into_part_file_and_leaves_the_final_name_alone(server, tmp_path):
    server.serve("/f.bin", BODY)
    part = fetch(f"{server.url}/f.bin", tmp_path / "f.bin")
    assert part == part_path(tmp_path / "f.bin")
    assert part.read_bytes() == BODY
    assert not (tmp_path / "f.bin").exists()


def test_cut_connection_is_resumed_with_a_range_request(server, tmp_path):
    half = len(BODY) // 2
    server.serve("/f.bin", BODY, cut_once_at=half)
    part = fetch(f"{server.url}/f.bin", tmp_path / "f.bin")
    assert part.read_bytes() == BODY
    hits = server.hits_for("/f.bin")
    assert len(hits) == 2
    assert "Range" not in hits[0].headers
    assert hits[1].headers["Range"] == f"bytes={half}-"


def test_server_that_ignores_range_makes_the_download_start_over(server, tmp_path):
    server.serve("/f.bin", BODY, ranges=False, cut_once_at=1000)
    part = fetch(f"{server.url}/f.bin", tmp_path / "f.bin")
    assert part.read_bytes() == BODY
    assert server.hits_for("/f.bin")[1].headers["Range"] == "bytes=1000-"


def test_a_complete_part_answered_with_416_is_accepted(server, tmp_path):
    server.serve("/f.bin", BODY)
    part_path(tmp_path / "f.bin").write_bytes(BODY)
    assert fetch(f"{server.url}/f.bin", tmp_path / "f.bin").read_bytes() == BODY
    assert len(server.hits_for("/f.bin")) == 1


def test_a_part_longer_than_the_file_is_discarded_and_downloaded_again(server, tmp_path):
    server.serve("/f.bin", BODY)
    part_path(tmp_path / "f.bin").write_bytes(BODY + b"garbage")
    assert fetch(f"{server.url}/f.bin", tmp_path / "f.bin").read_bytes() == BODY


def test_404_fails_at_once_without_retrying(server, tmp_path):
    server.serve("/missing.bin", b"", status=404)
    with pytest.raises(DownloadError, match="HTTP 404"):
        fetch(f"{server.url}/missing.bin", tmp_path / "m.bin")
    assert len(server.hits_for("/missing.bin")) == 1


def test_500_is_retried_then_fails_with_the_attempt_count(server, tmp_path):
    server.serve("/f.bin", BODY, status=500)
    with pytest.raises(DownloadError, match=r"failed after 3 attempts \(HTTP 500"):
        fetch(f"{server.url}/f.bin", tmp_path / "f.bin")
    assert len(server.hits_for("/f.bin")) == 3  # first try + DANET_DOWNLOAD_RETRIES=2


def test_transient_errors_followed_by_success_download_the_file(server, tmp_path):
    server.serve("/f.bin", BODY, fail=[500, 503])
    assert fetch(f"{server.url}/f.bin", tmp_path / "f.bin").read_bytes() == BODY
    assert len(server.hits_for("/f.bin")) == 3


def test_a_server_that_never_answers_times_out(server, tmp_path):
    server.serve("/slow.bin", BODY, delay=5.0)
    with pytest.raises(DownloadError, match=r"no answer within 0.5 s"):
        fetch(f"{server.url}/slow.bin", tmp_path / "s.bin")
    assert len(server.hits_for("/slow.bin")) == 3


def test_one_timeout_then_an_answer_succeeds(server, tmp_path):
    server.serve("/slow.bin", BODY, delay=5.0, delay_times=1)
    assert fetch(f"{server.url}/slow.bin", tmp_path / "s.bin").read_bytes() == BODY


def test_mirror_replaces_scheme_and_host_and_keeps_path_and_query():
    url = "https://www.cityscapes-dataset.com/file-handling/?packageID=3"
    assert apply_mirror(url, "http://10.0.0.5:8080") == "http://10.0.0.5:8080/file-handling/?packageID=3"
    assert apply_mirror(url, "http://m/cache/") == "http://m/cache/file-handling/?packageID=3"
    assert apply_mirror(url, None) == url


def test_danet_mirror_redirects_a_real_download(server, tmp_path, monkeypatch):
    server.serve("/models/tiny-1234abcd.pth", BODY)
    monkeypatch.setenv("DANET_MIRROR", server.url)
    part = fetch("https://download.pytorch.org/models/tiny-1234abcd.pth", tmp_path / "t.pth")
    assert part.read_bytes() == BODY
    assert [hit.path for hit in server.hits] == ["/models/tiny-1234abcd.pth"]


def test_a_mirror_that_is_not_a_url_is_a_config_error(monkeypatch):
    monkeypatch.setenv("DANET_MIRROR", "not a url")
    with pytest.raises(ConfigError, match="DANET_MIRROR"):
        resolve_mirror()


def test_unreachable_host_names_the_host_and_suggests_a_mirror(tmp_path):
    port = closed_port()
    with pytest.raises(DownloadError) as caught:
        fetch(f"http://127.0.0.1:{port}/f.bin", tmp_path / "f.bin")
    message = str(caught.value)
    assert f"cannot reach 127.0.0.1:{port}" in message
    assert "--mirror" in message
    assert "\n" not in message


class _FullDisk:
    """A file whose second write fails with ENOSPC."""

    def __init__(self, path: Path, mode: str) -> None:
        self._file = path.open(mode)
        self._writes = 0

    def write(self, data: bytes) -> int:
        self._writes += 1
        if self._writes > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        return self._file.write(data)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._file.close()


def test_full_disk_names_the_file_keeps_the_part_and_a_rerun_resumes(server, tmp_path, monkeypatch):
    server.serve("/f.bin", BODY)
    small_chunks = TransferSettings(chunk_size=4096)
    part = part_path(tmp_path / "f.bin")
    with monkeypatch.context() as patch:
        patch.setattr(http, "_open_part", _FullDisk)
        with pytest.raises(DiskFullError, match="disk full") as caught:
            fetch(f"{server.url}/f.bin", tmp_path / "f.bin", settings=small_chunks)
    assert str(part) in str(caught.value)
    kept = part.stat().st_size
    assert 0 < kept <= 4096
    assert fetch(f"{server.url}/f.bin", tmp_path / "f.bin").read_bytes() == BODY
    assert server.hits_for("/f.bin")[-1].headers["Range"] == f"bytes={kept}-"


def test_an_unresolvable_host_fails_at_once_with_a_mirror_hint(tmp_path, monkeypatch):
    calls = []

    def no_dns(*args, **kwargs):
        calls.append(args[0])
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    with pytest.raises(
        DownloadError, match=r"cannot reach files.example.org \(the host name could not be resolved\)"
    ):
        fetch("http://files.example.org/f.bin", tmp_path / "f.bin")
    assert calls == ["files.example.org"]  # no retries: the name will not resolve in a second either


class _Recorder:
    """A Reporter that keeps what progress bars are given."""

    def __init__(self) -> None:
        self.bars: list[tuple[str, float | None]] = []
        self.fields: list[dict[str, object]] = []

    def info(self, message: str) -> None: ...

    def warning(self, message: str) -> None: ...

    def table(self, title, columns, rows) -> None: ...

    @contextmanager
    def progress(self, description: str, total: float | None):
        self.bars.append((description, total))
        recorder = self

        class Task:
            def advance(self, steps: float = 1, **fields: object) -> None:
                recorder.fields.append(fields)

        yield Task()


def test_progress_reports_the_size_and_the_transfer_speed(server, tmp_path, monkeypatch):
    ticks = iter(range(10_000))
    monkeypatch.setattr(http, "_clock", lambda: float(next(ticks)))  # one second per reading
    server.serve("/f.bin", BODY)
    reporter = _Recorder()
    settings = TransferSettings(chunk_size=10 * 1024)
    fetch(f"{server.url}/f.bin", tmp_path / "f.bin", reporter=reporter, settings=settings)
    assert reporter.bars == [("f.bin (MiB)", len(BODY) / 2**20)]  # a total: the time left follows
    speeds = [f["speed"] for f in reporter.fields if "speed" in f]
    assert speeds and len(speeds) >= len(reporter.fields) - 1
    value, unit = str(speeds[-1]).split()
    assert unit in ("B/s", "KiB/s") and 0 < float(value) <= (10 * 1024 if unit == "B/s" else 10)


def test_rates_are_written_in_the_unit_that_reads_best():
    assert http.format_rate(512) == "512 B/s"
    assert http.format_rate(850 * 1024) == "850 KiB/s"
    assert http.format_rate(12.34 * 2**20) == "12.3 MiB/s"
    assert http.format_rate(1.05 * 2**30) == "1.05 GiB/s"
