"""image_io: what real files contain (gray, RGBA, 16-bit, palette, EXIF JPEG) and palette PNG writing."""

from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np
import pytest

from danet.datasets.classes import voc_colormap
from danet.errors import DatasetError
from danet.image_io import encode_index_png, read_image, read_mask, write_index_png


def _write(path, array) -> None:
    ok, buffer = cv2.imencode(path.suffix, array)
    assert ok
    path.write_bytes(buffer.tobytes())


def _exif_jpeg(bgr: np.ndarray, orientation: int) -> bytes:
    """A JPEG whose EXIF orientation tag is `orientation` (APP1 inserted after SOI)."""
    ok, buffer = cv2.imencode(".jpg", bgr)
    data = buffer.tobytes()
    ifd = struct.pack(">H", 1) + struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0) + b"\0" * 4
    app1 = b"Exif\0\0" + b"MM\0*\0\0\0\x08" + ifd
    return data[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + data[2:]


def test_color_png_is_returned_as_rgb(tmp_path):
    bgr = np.zeros((4, 5, 3), np.uint8)
    bgr[..., 2] = 200  # red in OpenCV's BGR order
    _write(tmp_path / "a.png", bgr)
    image = read_image(tmp_path / "a.png")
    assert image.shape == (4, 5, 3) and image.dtype == np.uint8
    assert image[0, 0].tolist() == [200, 0, 0]


def test_gray_rgba_and_16bit_become_uint8_rgb(tmp_path):
    _write(tmp_path / "gray.png", np.full((3, 3), 77, np.uint8))
    rgba = np.zeros((3, 3, 4), np.uint8)
    rgba[..., 1], rgba[..., 3] = 90, 0
    _write(tmp_path / "rgba.png", rgba)
    _write(tmp_path / "deep.png", np.full((3, 3), 257 * 100, np.uint16))
    assert read_image(tmp_path / "gray.png")[0, 0].tolist() == [77, 77, 77]
    assert read_image(tmp_path / "rgba.png")[0, 0].tolist() == [0, 90, 0]
    deep = read_image(tmp_path / "deep.png")
    assert deep.dtype == np.uint8 and deep[0, 0].tolist() == [100, 100, 100]


def test_palette_png_reads_as_rgb_image_and_as_index_mask(tmp_path):
    mask = np.array([[0, 1, 255], [2, 20, 15]], np.uint8)
    write_index_png(tmp_path / "m.png", mask, voc_colormap())
    assert np.array_equal(read_mask(tmp_path / "m.png"), mask)
    assert read_image(tmp_path / "m.png")[0, 1].tolist() == [128, 0, 0]
    assert read_image(tmp_path / "m.png")[0, 2].tolist() == [224, 224, 192]


def test_every_index_survives_a_palette_with_repeated_colours(tmp_path):
    mask = np.arange(256, dtype=np.uint8).reshape(16, 16)
    write_index_png(tmp_path / "m.png", mask, [(0, 0, 0)] * 256, transparent_index=255)
    assert np.array_equal(read_mask(tmp_path / "m.png"), mask)


def test_index_png_structure_is_valid():
    data = encode_index_png(np.zeros((2, 3), np.uint8), [(1, 2, 3)], transparent_index=255)
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    pos, kinds = 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, payload = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + payload) & 0xFFFFFFFF
        kinds.append(kind)
        pos += 12 + length
    assert kinds == [b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"]
    bgra = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert bgra.shape == (2, 3, 4) and bgra[0, 0].tolist() == [3, 2, 1, 255]


def test_gray_and_16bit_masks_keep_their_values(tmp_path):
    _write(tmp_path / "l.png", np.array([[0, 7, 255]], np.uint8))
    _write(tmp_path / "i.png", np.array([[0, 300, 65535]], np.uint16))
    assert read_mask(tmp_path / "l.png").tolist() == [[0, 7, 255]]
    deep = read_mask(tmp_path / "i.png")
    assert deep.dtype == np.uint16 and deep.tolist() == [[0, 300, 65535]]


def test_three_equal_channels_collapse_to_one(tmp_path):
    _write(tmp_path / "m.png", np.dstack([np.array([[1, 2]], np.uint8)] * 3))
    assert read_mask(tmp_path / "m.png").tolist() == [[1, 2]]


def test_colour_mask_needs_a_palette(tmp_path):
    rgb = np.array([[[255, 0, 0], [0, 255, 0]]], np.uint8)
    _write(tmp_path / "c.png", rgb[..., ::-1])
    with pytest.raises(DatasetError, match="colour mask"):
        read_mask(tmp_path / "c.png")
    palette = [(0, 0, 0), (0, 255, 0), (255, 0, 0)]
    assert read_mask(tmp_path / "c.png", palette=palette).tolist() == [[2, 1]]
    with pytest.raises(DatasetError, match=r"\(255, 0, 0\)"):
        read_mask(tmp_path / "c.png", palette=[(0, 255, 0)])


def test_exif_orientation_is_applied(tmp_path):
    bgr = np.zeros((20, 40, 3), np.uint8)
    bgr[:, :20] = (0, 0, 255)  # left half red
    (tmp_path / "e.jpg").write_bytes(_exif_jpeg(bgr, orientation=6))  # 6: rotate 90 clockwise
    image = read_image(tmp_path / "e.jpg")
    assert image.shape == (40, 20, 3)
    assert image[2, 10, 0] > 200 and image[-3, 10, 0] < 50  # red moved to the top


def test_unreadable_and_missing_files_name_the_file(tmp_path):
    (tmp_path / "bad.png").write_bytes(b"not an image")
    with pytest.raises(DatasetError, match="bad.png"):
        read_image(tmp_path / "bad.png")
    with pytest.raises(DatasetError, match="bad.png"):
        read_mask(tmp_path / "bad.png")
    with pytest.raises(DatasetError, match="gone.jpg"):
        read_image(tmp_path / "gone.jpg")
