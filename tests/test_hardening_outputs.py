"""Unwritable outputs are one clear line, checked before any work; written files keep the user's
permissions; leftovers of dead processes are cleaned up (issue 14, cases 1, 4, 6 and 10)."""

from __future__ import annotations

import errno
import os
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from danet.errors import DanetError
from danet.fileio import (
    atomic_path,
    atomic_write_text,
    check_output_location,
    increment_dir,
    remove_stale_temps,
)
from danet_cli.app import app
from tests._predict_helpers import random_rgb, write_bgr, write_checkpoint

runner = CliRunner()
DEAD_PID = 2**22 + 17  # above Linux's largest pid_max, so no process has it


def _mkstemp_failing(code: int):
    def failing(*args: object, dir: str | None = None, **kwargs: object) -> tuple[int, str]:
        raise OSError(code, os.strerror(code), dir)

    return failing


@pytest.fixture
def read_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every new file fails as on a read-only mount (root ignores permission bits, so a mock)."""
    monkeypatch.setattr(tempfile, "mkstemp", _mkstemp_failing(errno.EROFS))


@pytest.fixture
def umask_027() -> Iterator[None]:
    old = os.umask(0o027)
    try:
        yield
    finally:
        os.umask(old)


def _clean(result: object) -> str:
    output = result.output  # type: ignore[attr-defined]
    assert result.exit_code == 1, output  # type: ignore[attr-defined]
    assert "Traceback" not in output and output.count("error:") == 1, output
    return " ".join(output.split())


def _image(tmp_path: Path, name: str = "photo.png") -> Path:
    return write_bgr(tmp_path / name, random_rgb(32, 32))


# ---- the library: atomic_path, check_output_location, increment_dir --------------------------------


def test_atomic_path_on_a_read_only_file_system_is_one_danet_error(tmp_path: Path, read_only: None) -> None:
    with pytest.raises(DanetError, match="read-only"), atomic_path(tmp_path / "out.png"):
        pytest.fail("the body must not run")


def test_atomic_path_under_a_regular_file_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("x")
    with pytest.raises(DanetError, match="is a file where a folder is needed"):
        atomic_write_text(tmp_path / "taken" / "sub" / "out.txt", "hello")


def test_a_full_disk_at_the_rename_leaves_the_old_file_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old")

    def full(*args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(DanetError, match="disk is full"):
        atomic_write_text(target, "new")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_check_output_location_creates_nothing_and_catches_every_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert check_output_location(tmp_path / "a" / "b" / "out.json") == tmp_path / "a" / "b" / "out.json"
    assert list(tmp_path.iterdir()) == []  # probed, not created
    (tmp_path / "file").write_text("x")
    with pytest.raises(DanetError, match="it is a file, not a folder"):
        check_output_location(tmp_path / "file", folder=True)
    with pytest.raises(DanetError, match="is a file where a folder is needed"):
        check_output_location(tmp_path / "file" / "out.png")
    with pytest.raises(DanetError, match="it is a folder"):
        check_output_location(tmp_path)
    monkeypatch.setattr(tempfile, "mkstemp", _mkstemp_failing(errno.EACCES))
    with pytest.raises(DanetError, match="permission denied"):
        check_output_location(tmp_path / "new" / "out.png")


def test_increment_dir_under_a_file_is_a_danet_error(tmp_path: Path) -> None:
    (tmp_path / "runs").write_text("x")
    with pytest.raises(DanetError, match="cannot write"):
        increment_dir(tmp_path / "runs", "exp")


# ---- file modes (case 4) ----------------------------------------------------------------------------


def test_new_files_get_the_mode_open_would_give_under_the_umask(tmp_path: Path, umask_027: None) -> None:
    atomic_write_text(tmp_path / "config.yaml", "a: 1\n")
    with open(tmp_path / "plain.txt", "w") as f:
        f.write("x")
    mode = stat.S_IMODE((tmp_path / "config.yaml").stat().st_mode)
    assert mode == stat.S_IMODE((tmp_path / "plain.txt").stat().st_mode) == 0o640


def test_an_overwritten_file_keeps_its_mode(tmp_path: Path, umask_027: None) -> None:
    target = tmp_path / "mask.png"
    target.write_bytes(b"old")
    os.chmod(target, 0o644)
    with atomic_path(target) as tmp:
        tmp.write_bytes(b"new")
    assert target.read_bytes() == b"new" and stat.S_IMODE(target.stat().st_mode) == 0o644


def test_a_checkpoint_is_readable_by_others_under_umask_022(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        path = write_checkpoint(tmp_path / "model.pt")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


# ---- leftovers (case 10) ----------------------------------------------------------------------------


def test_stale_temps_of_dead_processes_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    dead = tmp_path / f".last.pt.{DEAD_PID}-abc123.tmp"
    mine = tmp_path / f".last.pt.{os.getpid()}-xyz789.tmp"
    legacy_old = tmp_path / ".last.pt.k2j4h5g6.tmp"  # written before temps carried a pid
    legacy_new = tmp_path / ".best.pt.q1w2e3r4.tmp"
    unrelated = tmp_path / "last.pt"
    for path in (dead, mine, legacy_old, legacy_new, unrelated):
        path.write_bytes(b"x")
    hours_ago = time.time() - 2 * 3600
    os.utime(legacy_old, (hours_ago, hours_ago))
    removed = remove_stale_temps(tmp_path)
    assert sorted(removed) == sorted([dead, legacy_old])
    assert mine.exists() and legacy_new.exists() and unrelated.exists()


def test_a_temp_file_name_carries_the_writers_pid(tmp_path: Path) -> None:
    with atomic_path(tmp_path / "out.txt") as tmp:
        assert tmp.name.startswith(f".out.txt.{os.getpid()}-") and tmp.name.endswith(".tmp")
        tmp.write_text("x")


# ---- the commands (cases 1 and 6) -------------------------------------------------------------------


def test_predict_into_a_read_only_working_folder_fails_before_loading_a_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, read_only: None
) -> None:
    image = _image(tmp_path)
    monkeypatch.chdir(tmp_path)
    # the checkpoint does not exist: an error about it would mean the output was checked too late
    result = runner.invoke(app, ["predict", str(image), "--checkpoint", str(tmp_path / "none.pt")])
    text = _clean(result)
    assert "runs/predict/exp" in text and "read-only" in text


def test_predict_to_a_file_under_a_regular_file(tmp_path: Path) -> None:
    image = _image(tmp_path)
    (tmp_path / "blocker").write_text("x")
    out = tmp_path / "blocker" / "mask.png"
    result = runner.invoke(app, ["predict", str(image), "-o", str(out), "--checkpoint", "none.pt"])
    assert "blocker is a file where a folder is needed" in _clean(result)


def test_predict_to_a_folder_that_is_a_file(tmp_path: Path) -> None:
    images = [_image(tmp_path, "a.png"), _image(tmp_path, "b.png")]
    (tmp_path / "out").write_text("x")
    args = ["predict", *map(str, images), "-o", str(tmp_path / "out"), "--checkpoint", "none.pt"]
    assert "it is a file, not a folder" in _clean(runner.invoke(app, args))


def test_predict_refuses_an_unknown_picture_extension_before_the_model_runs(tmp_path: Path) -> None:
    image = _image(tmp_path)
    out = tmp_path / "x.xyz"
    result = runner.invoke(
        app, ["predict", str(image), "--format", "color", "-o", str(out), "--checkpoint", "none.pt"]
    )
    assert ".xyz is not an image format" in _clean(result) and not out.exists()


def test_a_write_failing_during_predict_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    image = _image(tmp_path)
    checkpoint = write_checkpoint(tmp_path / "model.pt")
    real = tempfile.mkstemp

    def full_for_masks(*args: object, prefix: str = "", **kwargs: object) -> tuple[int, str]:
        if prefix.startswith(".photo.png."):  # the mask's temporary file, not the location probe
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(*args, prefix=prefix, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(tempfile, "mkstemp", full_for_masks)
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["predict", str(image), "-o", str(out), "--checkpoint", str(checkpoint), "--device", "cpu"]
    )
    assert "disk is full" in _clean(result) and not (out / "photo.png").exists()


@pytest.mark.parametrize("command", ["overlay", "confusion", "curves"])
def test_visualize_checks_its_output_first(tmp_path: Path, command: str, read_only: None) -> None:
    missing = str(tmp_path / "missing")  # an input error would mean the output was checked too late
    args = {
        "overlay": ["overlay", missing, "-o", str(tmp_path / "o.png"), missing],
        "confusion": ["confusion", missing, "-o", str(tmp_path / "o.png")],
        "curves": ["curves", missing, "-o", str(tmp_path / "o.png")],
    }[command]
    assert "read-only" in _clean(runner.invoke(app, ["visualize", *args]))


def test_visualize_overlay_refuses_an_unknown_extension(tmp_path: Path) -> None:
    image = _image(tmp_path)
    mask = write_bgr(tmp_path / "mask.png", np.zeros((32, 32), np.uint8))
    out = tmp_path / "x.xyz"
    result = runner.invoke(app, ["visualize", "overlay", str(image), str(mask), "-o", str(out)])
    assert ".xyz is not an image format" in _clean(result) and not out.exists()


def test_evaluate_json_into_a_read_only_folder_fails_before_evaluating(
    tmp_path: Path, read_only: None
) -> None:
    result = runner.invoke(
        app, ["evaluate", str(tmp_path / "none.pt"), "--json", str(tmp_path / "scores.json")]
    )
    assert "scores.json" in _clean(result) and "read-only" in _clean(result)


def test_download_root_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("x")
    result = runner.invoke(app, ["download", "voc", "--root", str(tmp_path / "data")])
    assert "it is a file, not a folder" in _clean(result)


def test_download_into_an_unwritable_danet_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, read_only: None
) -> None:
    monkeypatch.setenv("DANET_HOME", str(tmp_path / "home"))
    result = runner.invoke(app, ["download", "weights", "resnet50_imagenet1k_v1"])
    assert "read-only" in _clean(result) and not (tmp_path / "home").exists()


def test_an_unforeseen_os_error_in_a_command_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    import danet.devices

    def broken() -> None:
        raise OSError(errno.EIO, "Input/output error", "/dev/sdz")

    monkeypatch.setattr(danet.devices, "describe_devices", broken)
    result = runner.invoke(app, ["info"])
    assert "/dev/sdz: Input/output error" in _clean(result)


def _tgz(path: Path) -> Path:
    import io
    import tarfile

    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo("data/a.txt")
        info.size = 5
        archive.addfile(info, io.BytesIO(b"hello"))
    return path


def test_extraction_removes_staging_folders_of_dead_processes_only(tmp_path: Path) -> None:
    from danet.download.archives import extract

    archive = _tgz(tmp_path / "data.tgz")
    target = tmp_path / "out"
    dead = target / f".extracting-data.tgz.{DEAD_PID}"
    legacy = target / ".extracting-data.tgz"  # older danet versions: no pid
    alive = target / ".extracting-data.tgz.1"  # pid 1 always runs
    for folder in (dead, legacy, alive):
        (folder / "data").mkdir(parents=True)
    extract(archive, target)
    assert (target / "data" / "a.txt").read_text() == "hello"
    assert not dead.exists() and not legacy.exists() and alive.exists()
    assert not (target / f".extracting-data.tgz.{os.getpid()}").exists()


def test_an_interrupted_extraction_leaves_no_staging_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from danet.download import archives

    def interrupted(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(archives, "_extract_all", interrupted)
    target = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        archives.extract(_tgz(tmp_path / "data.tgz"), target)
    assert list(target.iterdir()) == []


def test_the_download_lock_file_is_removed_and_a_leftover_is_taken_over(tmp_path: Path) -> None:
    from danet.download.files import download_lock
    from danet.reporting import NullReporter

    dest = tmp_path / "weights.pth"
    leftover = tmp_path / ".weights.pth.lock"  # a killed process's: the kernel dropped its lock
    leftover.write_text("")
    with download_lock(dest, NullReporter()):
        assert leftover.exists()
    assert list(tmp_path.iterdir()) == []


def test_a_waiter_locks_the_new_lock_file_after_the_holder_removed_the_old_one(tmp_path: Path) -> None:
    import threading

    from danet.download.files import download_lock
    from danet.reporting import NullReporter

    dest, inside, order = tmp_path / "weights.pth", threading.Event(), []

    def second() -> None:
        with download_lock(dest, NullReporter()):
            inside.set()
            order.append("second")

    with download_lock(dest, NullReporter()):
        waiter = threading.Thread(target=second)
        waiter.start()
        waiter.join(0.5)  # it must be waiting for the lock, not inside
        assert not inside.is_set()
        order.append("first")
    waiter.join(30)
    assert order == ["first", "second"] and not (tmp_path / ".weights.pth.lock").exists()
