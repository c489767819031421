"""Shared by the predict, visualize and export tests: a tiny DANet checkpoint and odd input files."""

from __future__ import annotations

import struct
from pathlib import Path

import cv2
import numpy as np
import torch

from danet.checkpoints import save_checkpoint
from danet.datasets.classes import CITYSCAPES
from danet.models import create_model

DATASET = {
    "name": "cityscapes",
    "class_names": list(CITYSCAPES.names),
    "palette": [list(c) for c in CITYSCAPES.palette],
    "ignore_index": 255,
}


def tiny_model(seed: int = 0) -> torch.nn.Module:
    """danet_resnet18 with random weights and non-zero attention gammas (so PAM and CAM matter)."""
    torch.manual_seed(seed)
    model = create_model("danet_resnet18", num_classes=19)
    with torch.no_grad():
        model.head.pam.gamma.fill_(0.7)
        model.head.cam.gamma.fill_(0.3)
        # Random BN statistics so the outputs vary across the image and across classes.
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 1.5)
    return model.eval()


def write_checkpoint(path: Path, seed: int = 0) -> Path:
    return save_checkpoint(path, tiny_model(seed), dataset=DATASET)


def random_rgb(height: int, width: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)


def write_bgr(path: Path, array: np.ndarray) -> Path:
    ok, buffer = cv2.imencode(path.suffix, array)
    if not ok:
        raise RuntimeError(f"cannot encode {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.tobytes())
    return path


def exif_jpeg(path: Path, bgr: np.ndarray, orientation: int = 6) -> Path:
    """A JPEG with an EXIF orientation tag: a minimal APP1 segment inserted after SOI."""
    ok, buffer = cv2.imencode(".jpg", bgr)
    data = buffer.tobytes()
    entry = struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0)  # tag, SHORT, count 1, value, pad
    ifd = struct.pack(">H", 1) + entry + b"\0" * 4  # one entry, no next IFD
    app1 = b"Exif\0\0" + b"MM\0*" + struct.pack(">I", 8) + ifd
    path.write_bytes(data[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + data[2:])
    return path


def odd_images(folder: Path) -> dict[str, tuple[Path, tuple[int, int]]]:
    """Files of odd sizes and layouts -> (path, the (H, W) a viewer shows)."""
    folder.mkdir(parents=True, exist_ok=True)
    rgb = random_rgb(45, 67, 1)
    return {
        "color": (write_bgr(folder / "color.png", rgb), (45, 67)),
        "gray": (write_bgr(folder / "gray.png", rgb[:41, :53, 0]), (41, 53)),
        "rgba": (
            write_bgr(
                folder / "rgba.png", np.dstack([random_rgb(51, 39, 2), random_rgb(51, 39, 3)[:, :, :1]])
            ),
            (51, 39),
        ),
        "deep": (write_bgr(folder / "deep.png", (rgb[:, :, 1].astype(np.uint16) * 257)), (45, 67)),
        "exif": (exif_jpeg(folder / "exif.jpg", rgb[:40, :59]), (59, 40)),  # orientation 6: turned
    }


def write_video(path: Path, frames: int = 5, size: tuple[int, int] = (48, 64)) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 5.0, (size[1], size[0]))
    for i in range(frames):
        writer.write(random_rgb(*size, seed=10 + i))
    writer.release()
    return path
