"""Tiny real dataset trees for tests, in the exact layouts and file names of the real datasets.

Reusable by every test module:

- `make_folder_dataset(root, ...)`: a users' own `folder` dataset (dataset.yaml, images/<split>,
  masks/<split>); returns root. Masks are deterministic by `seed` and use classes 0..K-1 plus a
  few 255 pixels. Use with `get_dataset("folder", root=root, split="train")`.
- `make_synthetic(root, ...)`: the built-in synthetic dataset generated under `root` (a few small
  images); returns its folder. Use `get_dataset("synthetic", root=root, size=..., ...)` with the
  same settings, or `get_dataset("folder", root=<returned folder>, ...)`.
- `make_cityscapes`, `make_ade20k`, `make_voc`, `make_sbd`, `make_pascal_context_sources`,
  `make_coco_stuff164k`: one tree per public dataset layout.

Everything is written with OpenCV/numpy (and scipy for .mat files); sizes are tiny (<= 32 px).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import yaml

from danet.datasets.classes import PASCAL_CONTEXT, voc_colormap
from danet.image_io import write_index_png

SIZE = (16, 24)  # (height, width) of every generated image unless told otherwise


def write_rgb(path: Path, rgb: np.ndarray) -> Path:
    """Write an RGB uint8 array (format from the suffix)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, buffer = cv2.imencode(path.suffix, np.ascontiguousarray(rgb[..., ::-1]))
    assert ok, path
    path.write_bytes(buffer.tobytes())
    return path


def write_gray(path: Path, values: np.ndarray) -> Path:
    """Write a gray 8- or 16-bit PNG holding `values`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, buffer = cv2.imencode(".png", np.ascontiguousarray(values))
    assert ok, path
    path.write_bytes(buffer.tobytes())
    return path


def random_image(seed: int, size: tuple[int, int] = SIZE) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (*size, 3), dtype=np.uint8)


def label_pattern(values: Sequence[int], size: tuple[int, int] = SIZE) -> np.ndarray:
    """A mask made of vertical stripes, one per value, so every value appears."""
    columns = np.array_split(np.arange(size[1]), len(values))
    mask = np.zeros(size, np.uint8 if max(values) < 256 else np.uint16)
    for value, cols in zip(values, columns, strict=True):
        mask[:, cols] = value
    return mask


def make_folder_dataset(
    root: Path,
    names: Sequence[str] = ("background", "road", "car"),
    splits: dict[str, int] | None = None,
    *,
    size: tuple[int, int] = SIZE,
    palette: Sequence[Sequence[int]] | None = None,
    image_suffix: str = ".jpg",
    unlabelled: Sequence[str] = (),
    extra_yaml: dict | None = None,
    seed: int = 0,
) -> Path:
    """A `folder` dataset: dataset.yaml plus images/<split>/img_<i><suffix> and masks/<split>/img_<i>.png.

    Splits in `unlabelled` get images only. Returns `root`.
    """
    splits = splits if splits is not None else {"train": 3, "val": 2}
    config: dict = {"names": list(names)}
    if palette is not None:
        config["palette"] = [list(c) for c in palette]
    config.update(extra_yaml or {})
    root.mkdir(parents=True, exist_ok=True)
    (root / "dataset.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    for split_index, (split, count) in enumerate(splits.items()):
        for i in range(count):
            rng = np.random.default_rng([seed, split_index, i])
            write_rgb(root / "images" / split / f"img_{i}{image_suffix}", random_image(seed + i, size))
            if split in unlabelled:
                continue
            mask = rng.integers(0, len(names), size).astype(np.uint8)
            mask[0, :2] = 255
            write_gray(root / "masks" / split / f"img_{i}.png", mask)
    return root


def make_synthetic(
    root: Path, size: int = 32, train_count: int = 4, val_count: int = 2, seed: int = 0
) -> Path:
    """Generate the synthetic dataset under `root`; returns its folder-layout directory."""
    from danet.datasets.synthetic import ensure_synthetic, make_spec

    spec = make_spec(size, train_count=train_count, val_count=val_count, seed=seed)
    return ensure_synthetic(spec, root)


CITYSCAPES_LABEL_IDS = (0, 7, 26, 33)  # -> trainIds 255, 0, 13, 18


def make_cityscapes(
    root: Path,
    cities: dict[str, Sequence[str]] | None = None,
    per_city: int = 2,
    *,
    train_ids: bool = False,
) -> Path:
    """leftImg8bit/<split>/<city>/<city>_<seq6>_<frame6>_leftImg8bit.png and gtFine labelIds."""
    cities = cities or {"train": ["aachen", "bochum"], "val": ["frankfurt"], "test": ["berlin"]}
    for split, names in cities.items():
        for city in names:
            for i in range(per_city):
                stem = f"{city}_{i:06d}_{19 + i:06d}"
                write_rgb(root / "leftImg8bit" / split / city / f"{stem}_leftImg8bit.png", random_image(i))
                gt = root / "gtFine" / split / city
                write_gray(gt / f"{stem}_gtFine_labelIds.png", label_pattern(CITYSCAPES_LABEL_IDS))
                write_rgb(gt / f"{stem}_gtFine_color.png", random_image(99))
                (gt / f"{stem}_gtFine_polygons.json").write_text("{}", encoding="utf-8")
                if train_ids:
                    write_gray(gt / f"{stem}_gtFine_labelTrainIds.png", label_pattern((255, 0, 13, 18)))
    return root


def make_ade20k(root: Path, counts: dict[str, int] | None = None) -> Path:
    """ADEChallengeData2016/images/{training,validation}/ADE_*.jpg and annotations/*.png (0..150)."""
    counts = counts or {"training": 3, "validation": 2}
    base = root / "ADEChallengeData2016"
    for folder, count in counts.items():
        prefix = "ADE_train" if folder == "training" else "ADE_val"
        for i in range(1, count + 1):
            write_rgb(base / "images" / folder / f"{prefix}_{i:08d}.jpg", random_image(i))
            write_gray(base / "annotations" / folder / f"{prefix}_{i:08d}.png", label_pattern((0, 1, 150)))
    (base / "objectInfo150.txt").write_text("Idx\tRatio\tTrain\tVal\tName\n", encoding="utf-8")
    return root


def _voc_mask() -> np.ndarray:
    mask = label_pattern((0, 15, 20))
    mask[:, 7:9] = 255  # the border band around objects
    return mask


def make_voc(root: Path, train: Sequence[str], val: Sequence[str]) -> Path:
    """VOCdevkit/VOC2012/{JPEGImages,SegmentationClass (palette PNG),ImageSets/Segmentation}."""
    base = root / "VOCdevkit" / "VOC2012"
    lists = base / "ImageSets" / "Segmentation"
    lists.mkdir(parents=True, exist_ok=True)
    for split, ids in (("train", train), ("val", val), ("trainval", [*train, *val])):
        (lists / f"{split}.txt").write_text("".join(f"{i}\n" for i in ids), encoding="utf-8")
    for k, name in enumerate([*train, *val]):
        write_rgb(base / "JPEGImages" / f"{name}.jpg", random_image(k))
        write_index_png(base / "SegmentationClass" / f"{name}.png", _voc_mask(), voc_colormap())
    return root


def make_sbd(root: Path, train: Sequence[str], val: Sequence[str], voc_images: Path | None = None) -> Path:
    """benchmark_RELEASE/dataset/{cls/<id>.mat (GTcls.Segmentation), img/<id>.jpg, train.txt, val.txt}.

    Images of ids not yet in `voc_images` (VOC2012/JPEGImages) are added there too, as in VOC2012.
    """
    from scipy.io import savemat

    base = root / "benchmark_RELEASE" / "dataset"
    (base / "cls").mkdir(parents=True, exist_ok=True)
    for split, ids in (("train", train), ("val", val)):
        (base / f"{split}.txt").write_text("".join(f"{i}\n" for i in ids), encoding="utf-8")
    for k, name in enumerate([*train, *val]):
        segmentation = label_pattern((0, 1, 7))
        savemat(str(base / "cls" / f"{name}.mat"), {"GTcls": {"Segmentation": segmentation}})
        write_rgb(base / "img" / f"{name}.jpg", random_image(k))
        if voc_images is not None and not (voc_images / f"{name}.jpg").exists():
            write_rgb(voc_images / f"{name}.jpg", random_image(k))
    return root


CONTEXT_459_IDS = (0, 2, 458, 1, 260)  # -> 0 background, 1 aeroplane, 59 wood, 0 (not kept), 36 mouse


def make_pascal_context_sources(root: Path, train: Sequence[str], val: Sequence[str]) -> Path:
    """VOCdevkit/VOC2010/{JPEGImages, ImageSets/Main/{train,val}.txt}, trainval/<id>.mat (LabelMap)
    and labels.txt, as in VOCtrainval_03-May-2010.tar plus the Stanford trainval.tar.gz."""
    from scipy.io import savemat

    base = root / "VOCdevkit" / "VOC2010"
    main = base / "ImageSets" / "Main"
    main.mkdir(parents=True, exist_ok=True)
    for split, ids in (("train", train), ("val", val)):
        (main / f"{split}.txt").write_text("".join(f"{i}\n" for i in ids), encoding="utf-8")
    (root / "trainval").mkdir(parents=True, exist_ok=True)
    for k, name in enumerate([*train, *val]):
        write_rgb(base / "JPEGImages" / f"{name}.jpg", random_image(k))
        label_map = label_pattern(CONTEXT_459_IDS).astype(np.uint16)
        savemat(str(root / "trainval" / f"{name}.mat"), {"LabelMap": label_map})
    lines = [
        f"{i}: {n}" for i, n in zip(PASCAL_CONTEXT.source_ids[1:], PASCAL_CONTEXT.names[1:], strict=True)
    ]
    (root / "labels.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


COCO_RAW_VALUES = (0, 11, 12, 181, 255)  # -> 0, 255 (dropped id), 11, 170, 255


def make_coco_stuff164k(root: Path, counts: dict[str, int] | None = None) -> Path:
    """images/{train2017,val2017}/<12 digits>.jpg and annotations/{...}/<12 digits>.png (raw 0..181)."""
    counts = counts or {"train2017": 2, "val2017": 2}
    for folder, count in counts.items():
        for i in range(count):
            name = f"{i + 9:012d}"
            write_rgb(root / "images" / folder / f"{name}.jpg", random_image(i))
            write_gray(root / "annotations" / folder / f"{name}.png", label_pattern(COCO_RAW_VALUES))
    return root


def encode_rle(mask: np.ndarray) -> dict:
    """The COCO compressed RLE of a bool mask (the inverse of danet.datasets._detail.decode_rle)."""
    flat = np.asarray(mask, bool).T.ravel()  # column-major
    change = np.flatnonzero(np.diff(flat.astype(np.int8))) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    runs = np.diff(bounds).tolist()
    if flat.size and flat[0]:
        runs = [0, *runs]
    chars = []
    for i, run in enumerate(runs):
        value = run - runs[i - 2] if i > 2 else run
        more = True
        while more:
            chunk = value & 0x1F
            value >>= 5
            more = value != -1 if chunk & 0x10 else value != 0
            chars.append(chr((chunk | (0x20 if more else 0)) + 48))
    return {"size": list(mask.shape), "counts": "".join(chars)}


def make_pascal_context_detail(root: Path, train: Sequence[str], val: Sequence[str]) -> Path:
    """VOCdevkit/VOC2010/{JPEGImages, trainval_merged.json}: PASCAL-in-Detail annotations whose
    semantic map equals `label_pattern(CONTEXT_459_IDS)` (one annotation per stripe value)."""
    import json

    base = root / "VOCdevkit" / "VOC2010"
    images, annotations = [], []
    pattern = label_pattern(CONTEXT_459_IDS)
    for k, name in enumerate([*train, *val]):
        write_rgb(base / "JPEGImages" / f"{name}.jpg", random_image(k))
        image_id = int(name.replace("_", ""))
        phase = "train" if name in train else "val"
        images.append(
            {
                "image_id": image_id,
                "file_name": f"{name}.jpg",
                "height": SIZE[0],
                "width": SIZE[1],
                "phase": phase,
            }
        )
        for category in CONTEXT_459_IDS:
            if category:
                segmentation = encode_rle(pattern == category)
                annotations.append(
                    {
                        "id": len(annotations) + 1,
                        "image_id": image_id,
                        "category_id": category,
                        "segmentation": segmentation,
                    }
                )
    data = {"images": images, "annos_segmentation": annotations, "categories": []}
    (base / "trainval_merged.json").write_text(json.dumps(data), encoding="utf-8")
    return root


# COCO-Stuff 10k .mat values (labels.txt ids): unlabelled, person, street sign (no pixels), stop sign, wood
MAT_VALUES = (0, 1, 12, 13, 182)


def coco10k_mat(labels: np.ndarray, key: str = "S") -> bytes:
    """A .mat file as the v1.1 archive has it: the uint8 label map `S` plus the other fields."""
    from scipy.io import savemat

    buffer = io.BytesIO()
    savemat(buffer, {key: labels.astype(np.uint8), "names": np.array(["unlabeled"], object), "captions": ""})
    return buffer.getvalue()


def coco10k_files(train: list[str], test: list[str]) -> dict[str, bytes]:
    """Relative path -> bytes of a tiny cocostuff-10k-v1.1 tree (images, .mat labels, image lists)."""
    files: dict[str, bytes] = {}
    for i, name in enumerate(train + test):
        ok, jpeg = cv2.imencode(".jpg", random_image(i))
        files[f"images/{name}.jpg"] = jpeg.tobytes()
        files[f"annotations/{name}.mat"] = coco10k_mat(label_pattern(MAT_VALUES))
    files["imageLists/train.txt"] = "".join(f"{n}\n" for n in train).encode()
    files["imageLists/test.txt"] = "".join(f"{n}\n" for n in test).encode()
    files["imageLists/all.txt"] = "".join(f"{n}\n" for n in train + test).encode()
    return files


def make_coco_stuff10k(root: Path, train: list[str], test: list[str]) -> Path:
    for relative, data in coco10k_files(train, test).items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(data)
    return root
