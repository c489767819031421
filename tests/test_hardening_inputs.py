"""Huge, malformed and wrong-typed inputs are one clear error (issue 14, cases 3, 7, 9 and 11)."""

from __future__ import annotations

import io
import json
import pathlib
import pickle
import struct
import tarfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from danet._image_header import image_dimensions
from danet.checkpoints import load_model, read_checkpoint
from danet.download.archives import extract
from danet.download.network import TransferSettings
from danet.errors import CheckpointError, ConfigError, DanetError, DatasetError, DownloadError
from danet.image_io import read_image, read_mask
from danet.limits import ImageTooLargeError, NotEnoughMemoryError, set_max_image_pixels
from danet.models import create_model
from danet.training.build import load_backbone_file
from danet_cli.app import app
from tests._predict_helpers import random_rgb, write_bgr, write_checkpoint, write_video

runner = CliRunner()


@pytest.fixture(autouse=True)
def _default_limit() -> Iterator[None]:
    set_max_image_pixels(None)
    yield
    set_max_image_pixels(None)


def _clean(result: object) -> str:
    output = result.output  # type: ignore[attr-defined]
    assert result.exit_code == 1, output  # type: ignore[attr-defined]
    assert "Traceback" not in output and "\x1b[" not in output, output
    return " ".join(output.split())


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def huge_png(path: Path, size: int = 16000) -> Path:
    """A valid 1-bit grey PNG of `size` x `size` black pixels: a few hundred KB on disk, but 256
    megapixels (768 MB as RGB) once decoded."""
    row = b"\x00" * (1 + (size + 7) // 8)  # filter byte + packed bits
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(size)) + packer.flush()
    header = struct.pack(">IIBBBBB", size, size, 1, 0, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    path.write_bytes(data)
    return path


# ---- image size (case 3) ----------------------------------------------------------------------------


def test_a_huge_png_is_refused_from_its_header_before_decoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = huge_png(tmp_path / "bomb.png")
    assert path.stat().st_size < 1_000_000
    decoded = []
    monkeypatch.setattr(cv2, "imdecode", lambda *a: decoded.append(1))
    for reader in (read_image, read_mask):
        with pytest.raises(ImageTooLargeError) as caught:
            reader(path)
        message = str(caught.value)
        assert str(path) in message and "16000x16000" in message and "256 megapixels" in message
        assert "--max-image-pixels" in message and "DANET_MAX_IMAGE_PIXELS" in message
    assert decoded == []


def test_the_limit_follows_the_environment_and_the_option(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_bgr(tmp_path / "a.png", random_rgb(100, 100))
    monkeypatch.setenv("DANET_MAX_IMAGE_PIXELS", "5000")
    with pytest.raises(ImageTooLargeError):
        read_image(path)
    set_max_image_pixels(20_000)  # the option wins over the environment
    assert read_image(path).shape == (100, 100, 3)
    set_max_image_pixels(None)
    monkeypatch.setenv("DANET_MAX_IMAGE_PIXELS", "0")  # 0: no limit
    assert read_image(path).shape == (100, 100, 3)
    for bad in ("lots", "-1", "nan"):
        monkeypatch.setenv("DANET_MAX_IMAGE_PIXELS", bad)
        with pytest.raises(ConfigError, match="DANET_MAX_IMAGE_PIXELS"):
            read_image(path)


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".bmp", ".webp", ".gif"])
def test_header_dimensions_match_the_decoded_image(tmp_path: Path, suffix: str) -> None:
    bgr = random_rgb(37, 53)
    if suffix == ".gif":  # OpenCV may not write GIF: a minimal header is enough for the parser
        data = b"GIF89a" + struct.pack("<HH", 53, 37) + b"\x00" * 8
    else:
        ok, buffer = cv2.imencode(suffix, bgr)
        assert ok
        data = buffer.tobytes()
        decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        assert decoded.shape[:2] == (37, 53)
    assert image_dimensions(data) == (53, 37)


def test_predict_names_the_huge_image_and_the_way_to_raise_the_limit(tmp_path: Path) -> None:
    path = huge_png(tmp_path / "bomb.png")
    checkpoint = write_checkpoint(tmp_path / "model.pt")
    args = ["predict", str(path), "-o", str(tmp_path / "out.png"), "--checkpoint", str(checkpoint)]
    text = _clean(runner.invoke(app, [*args, "--device", "cpu"]))
    assert "bomb.png: 16000x16000 pixels" in text and "--max-image-pixels" in text


def test_video_frames_above_the_limit_are_refused_before_decoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    video = write_video(tmp_path / "clip.mp4", frames=3, size=(48, 64))
    checkpoint = write_checkpoint(tmp_path / "model.pt")
    monkeypatch.setenv("DANET_MAX_IMAGE_PIXELS", "1000")
    out = tmp_path / "out"
    base = ["predict", str(video), "--checkpoint", str(checkpoint), "--device", "cpu"]
    text = _clean(runner.invoke(app, [*base, "-o", str(out)]))
    assert "clip.mp4 (video frames): 64x48 pixels" in text and "--max-image-pixels" in text
    assert not list(out.glob("*.mp4")) if out.exists() else True  # nothing half-written
    result = runner.invoke(app, [*base, "-o", str(tmp_path / "ok"), "--max-image-pixels", "4000"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "ok" / "clip.mp4").is_file()


def test_the_predict_option_raises_the_limit_set_in_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = write_bgr(tmp_path / "a.png", random_rgb(64, 64))
    checkpoint = write_checkpoint(tmp_path / "model.pt")
    monkeypatch.setenv("DANET_MAX_IMAGE_PIXELS", "1000")
    base = ["predict", str(image), "--checkpoint", str(checkpoint), "--device", "cpu"]
    assert "64x64 pixels" in _clean(runner.invoke(app, [*base, "-o", str(tmp_path / "a.png.out.png")]))
    result = runner.invoke(app, [*base, "-o", str(tmp_path / "b.png"), "--max-image-pixels", "5000"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "b.png").is_file()


def test_whole_image_inference_beyond_free_memory_suggests_slide(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import danet.limits

    image = write_bgr(tmp_path / "a.png", random_rgb(64, 64))
    checkpoint = write_checkpoint(tmp_path / "model.pt")
    monkeypatch.setattr(danet.limits, "available_memory_bytes", lambda: 1 << 20)  # 1 MiB free
    base = ["predict", str(image), "--checkpoint", str(checkpoint), "--device", "cpu"]
    text = _clean(runner.invoke(app, [*base, "-o", str(tmp_path / "whole.png")]))
    assert "whole-image inference of a 64x64 image needs about" in text and "--mode slide" in text
    slide = [*base, "-o", str(tmp_path / "slide.png"), "--mode", "slide", "--crop-size", "32"]
    assert runner.invoke(app, [*slide, "--stride", "32"]).exit_code == 0


def test_the_memory_estimate_grows_with_the_image() -> None:
    from danet.limits import check_whole_image_memory, whole_image_bytes

    small = whole_image_bytes(512, 1024, batch=1, classes=19)
    assert whole_image_bytes(1024, 2048, batch=1, classes=19) == 4 * small
    check_whole_image_memory(small, small, (512, 1024), "cpu")  # fits exactly: no error
    with pytest.raises(NotEnoughMemoryError):
        check_whole_image_memory(small + 1, small, (512, 1024), "cpu")


# ---- checkpoints (case 7) ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data", [b"}hello world\n", b"hello", b"(lp0\n", b"]", b"\x80\x02", b"cfoo\nbar\n."], ids=repr
)
def test_text_files_starting_with_pickle_opcodes_are_checkpoint_errors(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "model.pt"
    path.write_bytes(data)
    with pytest.raises(CheckpointError) as caught:
        read_checkpoint(path)
    message = str(caught.value)
    assert str(path) in message and not message.rstrip().endswith(":") and "\x1b" not in message


def test_an_empty_checkpoint_says_it_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "empty.pt"
    path.write_bytes(b"")
    with pytest.raises(CheckpointError, match=r"the file is empty \(0 bytes\)"):
        read_checkpoint(path)


def test_a_trusted_pickle_naming_a_missing_module_is_a_checkpoint_error(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    path.write_bytes(b"cno_such_module_for_danet\nThing\n)R.")
    with pytest.raises(CheckpointError, match="needs Python code that is not installed"):
        read_checkpoint(path, trust=True)


@pytest.mark.parametrize(
    "entries",
    [{"model": [1, 2]}, {"model": "danet_resnet18"}, {"model": {"name": 3}}, {"state_dict": {"a": 1}}],
    ids=["list", "string", "bad-options", "non-tensor-weights"],
)
def test_danet_checkpoints_with_wrong_entries_are_checkpoint_errors(tmp_path: Path, entries: dict) -> None:
    good = torch.load(write_checkpoint(tmp_path / "good.pt"), weights_only=True)
    path = tmp_path / "bad.pt"
    torch.save({**good, **entries}, path)
    with pytest.raises(CheckpointError, match="bad.pt"):
        load_model(path)


def test_backbone_weights_errors_have_no_colour_codes_and_no_trust_advice(tmp_path: Path) -> None:
    path = tmp_path / "backbone.pth"
    torch.save({"a": pathlib.PurePosixPath("x")}, path)  # not tensors: the safe reader refuses it
    model = create_model("danet_resnet18", num_classes=2)
    with pytest.raises(CheckpointError) as caught:
        load_backbone_file(model, path)
    message = str(caught.value)
    assert "\x1b" not in message and "--trust" not in message and "state dict" in message


# ---- environment variables, JSON and archives (case 9) ----------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TIMEOUT", "0"), ("TIMEOUT", "-3"), ("TIMEOUT", "nan"), ("TIMEOUT", "soon"),
        ("RETRIES", "-1"), ("RETRIES", "1.5"), ("BACKOFF", "-1"), ("BACKOFF", "inf"),
    ],
)  # fmt: skip
def test_bad_download_settings_are_config_errors(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(f"DANET_DOWNLOAD_{name}", value)
    with pytest.raises(ConfigError, match=f"DANET_DOWNLOAD_{name}="):
        TransferSettings.from_env()


def test_good_download_settings_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in (("TIMEOUT", "2.5"), ("RETRIES", "0"), ("BACKOFF", "0")):
        monkeypatch.setenv(f"DANET_DOWNLOAD_{name}", value)
    assert TransferSettings.from_env() == TransferSettings(timeout=2.5, retries=0, backoff=0.0)


def test_download_with_a_zero_timeout_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DANET_DOWNLOAD_TIMEOUT", "0")
    text = _clean(runner.invoke(app, ["download", "weights", "resnet50_imagenet1k_v1"]))
    assert "DANET_DOWNLOAD_TIMEOUT='0' is not valid" in text


def test_a_bad_world_size_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from danet.distributed import launched_by_torchrun

    monkeypatch.setenv("WORLD_SIZE", "two")
    with pytest.raises(ConfigError, match="WORLD_SIZE='two'"):
        launched_by_torchrun()


@pytest.mark.parametrize(
    "payload",
    [
        {"confusion": "abc"},
        {"confusion": [[1, "a"], [2, 3]]},
        {"confusion": [[1, 2], [3]]},
        {"confusion": [[1, 2], [3, 4]], "class_names": 5},
        {"confusion": [[None, 2], [3, 4]]},
        [1, 2, 3],
    ],
    ids=["string", "string-cell", "ragged", "names-not-list", "null-cell", "not-object"],
)
def test_visualize_confusion_with_wrong_typed_json(tmp_path: Path, payload: object) -> None:
    path = tmp_path / "eval.json"
    path.write_text(json.dumps(payload))
    result = runner.invoke(app, ["visualize", "confusion", str(path), "-o", str(tmp_path / "c.png")])
    assert "eval.json" in _clean(result)


@pytest.mark.parametrize("iteration", ['"x"', "[1]", "{}", "1e999", "null"])
def test_visualize_curves_with_wrong_typed_iterations(tmp_path: Path, iteration: str) -> None:
    path = tmp_path / "metrics.jsonl"
    path.write_text(f'{{"iteration": {iteration}, "loss": 1.0}}\n')
    result = runner.invoke(app, ["visualize", "curves", str(path), "-o", str(tmp_path / "c.png")])
    assert "metrics.jsonl:1" in _clean(result)


def _tgz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.9])
def test_a_truncated_tgz_is_reported_as_damaged(tmp_path: Path, keep: float) -> None:
    rng = np.random.default_rng(0)
    data = _tgz({f"f{i}.bin": rng.bytes(20_000) for i in range(4)})
    path = tmp_path / "data.tgz"
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(DownloadError, match="damaged or truncated.*--force"):
        extract(path, tmp_path / "out")
    out = tmp_path / "out"
    assert not out.exists() or list(out.iterdir()) == []  # no staging folder, no partial files


# ---- misleading messages (case 11) -------------------------------------------------------------------


def test_an_unreadable_single_photo_is_not_told_to_leave_a_dataset(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with pytest.raises(DatasetError) as caught:
        read_image(path)
    assert "dataset" not in str(caught.value) and "photo.jpg" in str(caught.value)


def test_a_tar_that_escapes_through_a_symlink_chain_is_refused_as_unsafe(tmp_path: Path) -> None:
    """`d -> .` then `d/e -> ..`: each link looks harmless alone; together `e` points outside."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, target in (("d", "."), ("d/e", "..")):
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            archive.addfile(info)
    path = tmp_path / "evil.tar"
    path.write_bytes(buffer.getvalue())
    with pytest.raises(DownloadError) as caught:
        extract(path, tmp_path / "out")
    message = str(caught.value)
    assert "refusing to extract evil.tar" in message and "unsafe" in message
    assert "damaged" not in message and "--force" not in message


def test_trusted_pickle_errors_are_danet_errors_only(tmp_path: Path) -> None:
    class Boom:
        def __reduce__(self) -> tuple:
            return (int, ("not a number",))

    path = tmp_path / "boom.pt"
    path.write_bytes(pickle.dumps(Boom()))
    with pytest.raises(DanetError):
        read_checkpoint(path, trust=True)


def test_whole_image_evaluation_is_refused_before_the_forward_when_memory_is_short(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import danet.limits
    from danet.evaluation import evaluate_dataset
    from danet.inference import InferenceConfig
    from danet.limits import NotEnoughMemoryError

    calls = []

    def forward(batch: torch.Tensor) -> torch.Tensor:
        calls.append(batch.shape)
        return torch.zeros(batch.shape[0], 3, *batch.shape[2:])

    dataset = [{"image": np.zeros((64, 96, 3), np.uint8), "mask": np.zeros((64, 96), np.int64)}]
    monkeypatch.setattr(danet.limits, "available_memory_bytes", lambda: 1 << 18)  # 256 KiB free
    with pytest.raises(NotEnoughMemoryError, match="--mode slide"):
        evaluate_dataset(forward, dataset, num_classes=3, inference=InferenceConfig(mode="whole"))
    assert calls == []  # refused before any forward pass
    slide = InferenceConfig(mode="slide", crop_size=(32, 32), stride=(32, 32))
    result = evaluate_dataset(forward, dataset, num_classes=3, inference=slide)
    assert result.num_images == 1 and calls
