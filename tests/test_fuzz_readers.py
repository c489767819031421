"""A guard for the future: whatever bytes a file holds, the image, mask and checkpoint readers either
return a result or raise a `DanetError`, never anything else (issue 14).

Inputs are random bytes and real files (PNG, palette PNG, 16-bit PNG, JPEG, BMP, WebP, a danet
checkpoint) cut short or with a byte changed. Example counts are fixed so the file runs in about
30 seconds on one core; `derandomize` makes a failure reproduce on every run.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from danet.checkpoints import load_model, read_checkpoint
from danet.errors import DanetError
from danet.image_io import encode_index_png, read_image, read_mask

SETTINGS = settings(
    max_examples=400,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _encoded(suffix: str, array: np.ndarray) -> bytes:
    ok, buffer = cv2.imencode(suffix, array)
    assert ok, suffix
    return buffer.tobytes()


def _real_images() -> list[bytes]:
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (24, 20, 3), dtype=np.uint8)
    labels = rng.integers(0, 5, (24, 20)).astype(np.uint8)
    return [
        _encoded(".png", rgb),
        _encoded(".png", labels),
        _encoded(".png", (labels.astype(np.uint16) * 1000)),
        _encoded(".jpg", rgb),
        _encoded(".bmp", rgb),
        _encoded(".webp", rgb),
        encode_index_png(labels, [[i * 40, 0, 0] for i in range(5)], transparent_index=4),
    ]


def _real_checkpoint() -> bytes:
    payload = {
        "format": "danet",
        "version": 1,
        "model": {"name": "danet_resnet18", "num_classes": 2},
        "state_dict": {"head.weight": torch.zeros(2, 3)},
        "dataset": {"name": "x", "class_names": ["a", "b"], "palette": [[0, 0, 0], [1, 1, 1]]},
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return buffer.getvalue()


IMAGES = _real_images()
CHECKPOINT = _real_checkpoint()


@st.composite
def damaged(draw: st.DrawFn, originals: list[bytes]) -> bytes:
    """A real file cut at a random length, with up to three bytes replaced."""
    data = bytearray(draw(st.sampled_from(originals)))
    data = data[: draw(st.integers(0, len(data)))]
    for _ in range(draw(st.integers(0, 3))):
        if data:
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data)


def _file_inputs(originals: list[bytes]) -> st.SearchStrategy[bytes]:
    return st.one_of(st.binary(max_size=512), damaged(originals))


def _only_danet_errors(read: object, data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"input{suffix}"
        path.write_bytes(data)
        try:
            read(path)  # type: ignore[operator]
        except DanetError as error:
            assert str(error).strip(), "an error must say what is wrong"


@SETTINGS
@given(data=_file_inputs(IMAGES), suffix=st.sampled_from([".png", ".jpg", ".bmp", ".webp"]))
def test_the_image_reader_raises_only_danet_errors(data: bytes, suffix: str) -> None:
    _only_danet_errors(read_image, data, suffix)


@SETTINGS
@given(data=_file_inputs(IMAGES))
def test_the_mask_reader_raises_only_danet_errors(data: bytes) -> None:
    _only_danet_errors(read_mask, data, ".png")


@settings(SETTINGS, max_examples=300)
@given(data=_file_inputs([CHECKPOINT]))
def test_the_checkpoint_reader_raises_only_danet_errors(data: bytes) -> None:
    _only_danet_errors(read_checkpoint, data, ".pt")


@settings(SETTINGS, max_examples=100)
@given(data=damaged([CHECKPOINT]))
def test_loading_a_damaged_checkpoint_as_a_model_raises_only_danet_errors(data: bytes) -> None:
    _only_danet_errors(load_model, data, ".pt")


@pytest.mark.parametrize("index", range(len(IMAGES)))
def test_the_real_files_themselves_are_read(index: int) -> None:
    """The originals the damage starts from must be good, or the tests above prove little."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "input.png"
        path.write_bytes(IMAGES[index])
        if index in (1, 2, 6):  # grey, 16-bit and palette label files
            assert read_mask(path).shape == (24, 20)
        else:
            assert read_image(path).shape == (24, 20, 3)


def test_the_real_checkpoint_itself_is_read() -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.pt"
        path.write_bytes(CHECKPOINT)
        assert read_checkpoint(path)["format"] == "danet"
