"""Reading images and label masks the way real dataset files are stored, and writing index PNGs.

OpenCV decodes everything, but two details need care:

- `cv2.IMREAD_COLOR` applies the JPEG EXIF orientation, turns gray into three channels, drops alpha and
  scales 16-bit samples to 8 bits, which is what a network input needs.
- OpenCV expands palette ("P" mode) PNGs to colours even with `IMREAD_UNCHANGED`. A PASCAL VOC mask
  stores class ids as palette indices, so `read_mask` swaps the palette for the identity ramp
  (entry i = grey i) before decoding: the decoded grey value is then the stored index.

OpenCV cannot write palette PNGs, so `write_index_png` assembles one from its chunks. No torch here.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from danet._image_header import image_dimensions
from danet.errors import DatasetError
from danet.fileio import atomic_path
from danet.limits import check_image_pixels

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_PALETTE = 3


def _quiet_opencv() -> None:
    """Silence OpenCV's decoder log lines (danet reports a bad file itself, naming it), unless the
    user chose a level with OPENCV_LOG_LEVEL."""
    logging = getattr(getattr(cv2, "utils", None), "logging", None)
    if logging is not None and "OPENCV_LOG_LEVEL" not in os.environ:
        logging.setLogLevel(logging.LOG_LEVEL_SILENT)


_quiet_opencv()


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found") from None
    except OSError as error:
        raise DatasetError(f"{path}: cannot read ({error.strerror or error})") from error


def _decode(data: bytes, flags: int, path: Path) -> np.ndarray:
    size = image_dimensions(data)
    if size is not None:
        check_image_pixels(path, *size)
    try:
        array = cv2.imdecode(np.frombuffer(data, np.uint8), flags) if data else None
    except cv2.error as error:  # OpenCV's own limits, or a header it rejects
        reason = str(error).strip().splitlines()[-1] if str(error).strip() else "decoder error"
        raise DatasetError(f"{path}: OpenCV cannot decode this image ({reason})") from None
    if array is None:
        raise DatasetError(
            f"{path}: not a readable image (empty, truncated or an unsupported format); "
            "check the file or replace it"
        )
    return array


def read_image(path: str | os.PathLike[str]) -> np.ndarray:
    """An H x W x 3 uint8 RGB array from any common image file.

    Gray, RGBA (alpha dropped), 16-bit (scaled to 8 bits), palette PNGs and EXIF-rotated JPEGs are
    accepted; the result is what a viewer shows.
    """
    path = Path(path)
    data = _read_bytes(path)
    image = _decode(data, cv2.IMREAD_COLOR, path)
    if image.dtype != np.uint8:  # defensive: IMREAD_COLOR already converts 16-bit to 8-bit
        image = (image.astype(np.float64) * (255.0 / np.iinfo(image.dtype).max)).round()
        image = image.astype(np.uint8)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """The (type, payload) chunks of a PNG file, or [] when `data` is not a PNG."""
    if not data.startswith(_PNG_SIGNATURE):
        return []
    chunks, pos = [], len(_PNG_SIGNATURE)
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        chunks.append((kind, data[pos + 8 : pos + 8 + length]))
        pos += 12 + length
        if kind == b"IEND":
            break
    return chunks


def _chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def _with_identity_palette(chunks: list[tuple[bytes, bytes]]) -> bytes:
    """Rebuild a palette PNG whose palette maps index i to grey (i, i, i), without transparency."""
    out = [_PNG_SIGNATURE]
    for kind, payload in chunks:
        if kind == b"PLTE":
            entries = len(payload) // 3
            payload = bytes(np.repeat(np.arange(entries, dtype=np.uint8), 3))
        elif kind == b"tRNS":
            continue
        out.append(_chunk(kind, payload))
    return b"".join(out)


def _is_palette_png(chunks: list[tuple[bytes, bytes]]) -> bool:
    return bool(chunks) and chunks[0][0] == b"IHDR" and chunks[0][1][9:10] == bytes([_PNG_PALETTE])


def read_mask(path: str | os.PathLike[str], palette: Sequence[Sequence[int]] | None = None) -> np.ndarray:
    """The raw label values of a mask file as an H x W integer array (uint8 or uint16).

    Palette PNGs give their indices (not colours); gray 8/16-bit files give their values; a
    three-channel file whose channels are equal gives one channel. A true colour mask is decoded with
    `palette` (RGB rows, row i = class i) when given, otherwise it is an error.
    """
    path = Path(path)
    data = _read_bytes(path)
    chunks = _png_chunks(data)
    if _is_palette_png(chunks):
        decoded = _decode(_with_identity_palette(chunks), cv2.IMREAD_GRAYSCALE, path)
        return decoded
    mask = _decode(data, cv2.IMREAD_UNCHANGED, path)
    if mask.ndim == 2:
        return mask
    if mask.shape[2] == 4:
        mask = mask[:, :, :3]
    if np.array_equal(mask[:, :, 0], mask[:, :, 1]) and np.array_equal(mask[:, :, 0], mask[:, :, 2]):
        return np.ascontiguousarray(mask[:, :, 0])
    if palette is None:
        raise DatasetError(
            f"{path}: a colour mask; masks must hold class ids (gray or palette PNG), "
            "or give the class colours as `palette` in dataset.yaml so colours can be mapped to ids"
        )
    return colours_to_ids(cv2.cvtColor(mask, cv2.COLOR_BGR2RGB), palette, path)


def colours_to_ids(rgb: np.ndarray, palette: Sequence[Sequence[int]], path: Path | None = None) -> np.ndarray:
    """Map an H x W x 3 colour mask to class ids through `palette`; unknown colours are an error."""
    if rgb.dtype != np.uint8:
        raise DatasetError(f"{path}: colour masks must be 8-bit, got {rgb.dtype}")
    packed = (rgb[..., 0].astype(np.int32) << 16) | (rgb[..., 1].astype(np.int32) << 8) | rgb[..., 2]
    keys = np.array([(r << 16) | (g << 8) | b for r, g, b in palette], dtype=np.int32)
    if len(np.unique(keys)) != len(keys):
        raise DatasetError(f"{path}: the palette repeats a colour, so colours cannot name classes")
    order = np.argsort(keys)
    found = np.searchsorted(keys[order], packed).clip(0, len(keys) - 1)
    known = keys[order][found] == packed
    if not known.all():
        bad = np.unique(packed[~known])[:8]
        listed = ", ".join(f"({v >> 16}, {(v >> 8) & 255}, {v & 255})" for v in bad)
        raise DatasetError(f"{path}: colours not in the palette: {listed}")
    return order[found].astype(np.uint8 if len(keys) <= 256 else np.uint16)


def encode_index_png(
    mask: np.ndarray,
    palette: Sequence[Sequence[int]],
    *,
    transparent_index: int | None = None,
    compression: int = 6,
) -> bytes:
    """The bytes of an 8-bit palette PNG whose pixel values are `mask` (class ids, 255 kept).

    `palette` gives RGB rows for indices 0..len-1; the rest of the 256 entries are black.
    `transparent_index` (for example 255) is made fully transparent with a tRNS chunk.
    """
    mask = np.asarray(mask)
    if mask.ndim != 2 or mask.size == 0:
        raise ValueError(f"mask must be a non-empty H x W array, got shape {mask.shape}")
    if mask.dtype != np.uint8:
        if mask.min() < 0 or mask.max() > 255:
            raise ValueError("palette PNG pixel values must lie in 0..255")
        mask = mask.astype(np.uint8)
    table = np.zeros((256, 3), np.uint8)
    rows = np.asarray(palette, dtype=np.int64).reshape(-1, 3)[:256]
    table[: len(rows)] = rows.clip(0, 255)
    height, width = mask.shape
    header = struct.pack(">IIBBBBB", width, height, 8, _PNG_PALETTE, 0, 0, 0)
    scanlines = np.zeros((height, width + 1), np.uint8)  # filter byte 0 (None) starts each row
    scanlines[:, 1:] = mask
    parts = [_PNG_SIGNATURE, _chunk(b"IHDR", header), _chunk(b"PLTE", table.tobytes())]
    if transparent_index is not None:
        alpha = np.full(transparent_index + 1, 255, np.uint8)
        alpha[transparent_index] = 0
        parts.append(_chunk(b"tRNS", alpha.tobytes()))
    parts.append(_chunk(b"IDAT", zlib.compress(scanlines.tobytes(), compression)))
    parts.append(_chunk(b"IEND", b""))
    return b"".join(parts)


def write_index_png(
    path: str | os.PathLike[str],
    mask: np.ndarray,
    palette: Sequence[Sequence[int]],
    *,
    transparent_index: int | None = None,
) -> Path:
    """Write `mask` as a palette PNG atomically (see `encode_index_png`); returns the path."""
    data = encode_index_png(mask, palette, transparent_index=transparent_index)
    target = Path(path)
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return target


def check_image_suffix(path: str | os.PathLike[str]) -> Path:
    """Refuse a picture output whose extension OpenCV cannot encode (say so before any work)."""
    target = Path(path)
    if not target.suffix or not cv2.haveImageWriter(f"x{target.suffix.lower()}"):
        raise DatasetError(
            f"cannot write a picture to {target}: {target.suffix or 'no extension'} is not an image "
            "format OpenCV writes; use .png (lossless) or .jpg"
        )
    return target


def write_image(path: str | os.PathLike[str], rgb: np.ndarray) -> Path:
    """Write an H x W x 3 uint8 RGB array (PNG, JPEG, ... by suffix) atomically."""
    target = Path(path)
    ok, buffer = cv2.imencode(target.suffix or ".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise DatasetError(f"{target}: OpenCV cannot encode this format")
    with atomic_path(target) as tmp:
        tmp.write_bytes(buffer.tobytes())
    return target


def write_label_png(path: str | os.PathLike[str], mask: np.ndarray) -> Path:
    """Write a gray 8- or 16-bit PNG holding label values (OpenCV), atomically."""
    target = Path(path)
    ok, buffer = cv2.imencode(".png", np.ascontiguousarray(mask))
    if not ok:
        raise DatasetError(f"{target}: cannot encode a {mask.dtype} mask as PNG")
    with atomic_path(target) as tmp:
        tmp.write_bytes(buffer.tobytes())
    return target
