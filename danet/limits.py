"""Limits that keep a huge input from exhausting memory: the largest image danet decodes, and an
estimate of what whole-image inference needs compared with the memory that is free. No torch here.

The pixel limit is checked from the file header before anything is decoded (as image libraries do
with a maximum pixel count). It is `DEFAULT_MAX_IMAGE_PIXELS` unless `$DANET_MAX_IMAGE_PIXELS` or
`set_max_image_pixels` (the CLI's `--max-image-pixels`) says otherwise; 0 turns it off.
"""

from __future__ import annotations

import os

from danet.errors import ConfigError, DanetError

MAX_PIXELS_ENV = "DANET_MAX_IMAGE_PIXELS"
DEFAULT_MAX_IMAGE_PIXELS = 100_000_000  # 100 megapixels: ten times a 4K frame, fifty Cityscapes images
_OVERRIDE: dict[str, int | None] = {"pixels": None}


class ImageTooLargeError(DanetError):
    """An image declares more pixels than the configured limit."""


class NotEnoughMemoryError(DanetError):
    """The estimated memory of a computation exceeds what is free."""


def set_max_image_pixels(pixels: int | None) -> None:
    """Set the pixel limit for this process (None: back to the environment or the default; 0: off)."""
    if pixels is not None and pixels < 0:
        raise ConfigError(f"the image pixel limit must be 0 (off) or a positive number, got {pixels}")
    _OVERRIDE["pixels"] = pixels


def max_image_pixels() -> int:
    """The largest width x height danet decodes; 0 means no limit."""
    if _OVERRIDE["pixels"] is not None:
        return _OVERRIDE["pixels"]
    raw = os.environ.get(MAX_PIXELS_ENV, "").strip().replace("_", "")
    if not raw:
        return DEFAULT_MAX_IMAGE_PIXELS
    try:
        value = int(float(raw)) if raw.lower() not in ("nan", "inf", "-inf") else -1
    except ValueError:
        value = -1
    if value < 0:
        raise ConfigError(
            f"{MAX_PIXELS_ENV}={raw!r} is not a pixel count; give a whole number such as 200000000 "
            "(0 turns the limit off)"
        )
    return value


def check_image_pixels(path: object, width: int, height: int) -> None:
    """Refuse an image of `width` x `height` above the limit, naming the file and the way out."""
    limit = max_image_pixels()
    if limit and width * height > limit:
        raise ImageTooLargeError(
            f"{path}: {width}x{height} pixels ({width * height / 1e6:.0f} megapixels) is more than the "
            f"limit of {limit / 1e6:.0f} megapixels, so it was not decoded; if the image is genuine, "
            f"raise the limit with --max-image-pixels N or {MAX_PIXELS_ENV}=N (0 turns it off)"
        )


def available_memory_bytes() -> int | None:
    """Memory the system can still give this process (MemAvailable), or None where unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def whole_image_bytes(height: int, width: int, *, batch: int, classes: int, scales: int = 1) -> int:
    """A rough lower bound on the peak memory of whole-image inference of `batch` images.

    At output stride 8 the backbone's last stage holds 2048 float32 channels per 64 pixels (128 bytes
    a pixel), and the class scores at full size are kept about three times (logits, upsampled,
    softmax) at 4 bytes each.
    """
    pixels = height * width
    return batch * scales * pixels * (128 + 12 * classes)


def check_whole_image_memory(needed: int, free: int | None, size: tuple[int, int], where: str) -> None:
    """Refuse whole-image inference whose estimate `needed` exceeds the `free` memory of `where`."""
    if free is None or needed <= free:
        return
    raise NotEnoughMemoryError(
        f"whole-image inference of a {size[1]}x{size[0]} image needs about {needed / 2**30:.1f} GiB, "
        f"more than the {free / 2**30:.1f} GiB free on {where}; use --mode slide (windows of "
        "--crop-size) or a smaller image"
    )
