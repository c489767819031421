"""One-time conversions after an archive is extracted; `prepare(name, root, reporter)` dispatches.

Every step is idempotent (files already written are kept, since each was written atomically) and
can be re-run after an interruption. Run by hand with `python -m danet.datasets.prepare NAME ROOT`.

- voc_aug: SBD `benchmark_RELEASE/dataset/cls/*.mat` -> `VOC2012/SegmentationClassAug/*.png`, and
  `ImageSets/Segmentation/{trainaug,aug}.txt` from the split set arithmetic.
- pascal_context(59): 459-class labels -> `VOC2010/SegmentationClassContext/*.png` (0..59, the rank
  of the id among the 60 kept ids; every other id is background 0) and
  `ImageSets/SegmentationContext/{train,val}.txt`. Needs VOCtrainval_03-May-2010.tar (JPEGImages)
  plus either PASCAL-in-Detail's `trainval_merged.json` (in the root or VOC2010/; its train/val
  phases; read without the Detail API's C build; used when present) or trainval.tar.gz from
  https://cs.stanford.edu/~roozbeh/pascal-context/ (`trainval/<id>.mat` with a `LabelMap` field;
  splits from VOC2010 ImageSets/Main/{train,val}.txt).
- coco_stuff10k: `annotations/<name>.mat` (uint8 map `S`: 0 unlabelled, 1..182 labels.txt ids) ->
  `annotations/<name>_labelTrainIds.png` holding 0 (unlabelled) or class + 1 (1..171), as mmseg's
  converter writes them; the adapter reads them with reduce-zero-label.
- cityscapes, ade20k, voc, coco_stuff164k: nothing to do (labels are mapped on the fly);
  `write_cityscapes_train_ids` optionally writes mmseg-style `*_gtFine_labelTrainIds.png`.
No torch here; scipy (the `danet[scipy]` extra) is needed to read .mat files.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from danet.datasets._detail import DetailAnnotations
from danet.datasets._registry import dataset_class
from danet.datasets.base import first_existing, read_id_list
from danet.datasets.cityscapes import LABEL_IDS_SUFFIX, TRAIN_IDS_SUFFIX, label_id_lut
from danet.datasets.classes import COCO_STUFF, PASCAL_CONTEXT, voc_colormap
from danet.datasets.coco_stuff import MAT_KEY, CocoStuff10k, mat_to_png_lut
from danet.datasets.coco_stuff import TRAIN_IDS_SUFFIX as COCO_TRAIN_IDS_SUFFIX
from danet.datasets.pascal_context import CONTEXT_DIRS, CONTEXT_LISTS, CONTEXT_MASKS
from danet.datasets.voc import AUG_MASKS, SPLIT_LISTS, voc_root
from danet.errors import DatasetError
from danet.fileio import atomic_write_text
from danet.image_io import read_mask, write_index_png, write_label_png
from danet.reporting import NullReporter, PrintReporter, Reporter

VOC_TRAINAUG_SIZE = 10582
SBD_DIRS = (
    "benchmark_RELEASE/dataset",
    "VOCdevkit/VOCaug/dataset",
    "VOCaug/dataset",
    "benchmark_RELEASE",
    "",
)
DETAIL_JSON = "trainval_merged.json"
CONTEXT_LABEL_DIRS = ("trainval", "pascal-context/trainval", "VOCdevkit/VOC2010/trainval", "VOC2010/trainval")


def load_mat(path: Path) -> Any:
    """`scipy.io.loadmat` with squeezed structs; a missing scipy says how to install it."""
    try:
        from scipy.io import loadmat
    except ImportError:
        raise DatasetError(
            'reading .mat label files needs scipy: pip install "danet[scipy]" (or pip install scipy)'
        ) from None
    try:
        return loadmat(str(path), struct_as_record=False, squeeze_me=True)
    except Exception as error:  # scipy raises several unrelated types for damaged files
        raise DatasetError(f"{path}: not a readable .mat file ({error}); re-extract the archive") from error


def _write_list(path: Path, ids: Iterable[str]) -> None:
    atomic_write_text(path, "".join(f"{name}\n" for name in ids))


def _convert_each(
    sources: list[Path],
    target_for: Callable[[Path], Path],
    convert: Callable[[Path, Path], None],
    title: str,
    reporter: Reporter,
) -> int:
    """Run `convert(source, target)` for sources whose target does not exist yet; returns how many."""
    todo = [s for s in sources if not target_for(s).is_file()]
    with reporter.progress(title, len(todo)) as task:
        for source in todo:
            convert(source, target_for(source))
            task.advance(1)
    return len(todo)


# ---- VOC + SBD -------------------------------------------------------------------------------------
def sbd_root(root: Path) -> Path | None:
    """SBD's `dataset` folder (holding cls/, train.txt, val.txt) under `root`, or next to VOC."""
    for base in (root, root / "VOCdevkit", root.parent):
        found = first_existing(base, SBD_DIRS, "cls")
        if found is not None and (found / "train.txt").is_file():
            return found
    return None


def sbd_mat_to_png(source: Path, target: Path) -> None:
    """One SBD `cls/<id>.mat` (GTcls.Segmentation, 0..20) as a VOC palette PNG."""
    segmentation = np.asarray(load_mat(source)["GTcls"].Segmentation)
    if segmentation.ndim != 2 or (segmentation.size and int(segmentation.max()) > 255):
        raise DatasetError(f"{source}: GTcls.Segmentation is not an H x W class map")
    write_index_png(target, segmentation.astype(np.uint8), voc_colormap())


def trainaug_ids(voc_train: set[str], voc_val: set[str], sbd_ids: set[str]) -> tuple[list[str], list[str]]:
    """(trainaug, aug): (VOC train | SBD train | SBD val) - VOC val, and SBD - (VOC train | VOC val)."""
    trainaug = sorted((voc_train | sbd_ids) - voc_val)
    aug = sorted(sbd_ids - (voc_train | voc_val))
    return trainaug, aug


def prepare_voc_aug(root: Path, reporter: Reporter) -> None:
    voc = voc_root(root)
    if voc is None:
        raise DatasetError(f"VOC2012 not found under {root}: extract VOCtrainval_11-May-2012.tar there")
    sbd = sbd_root(root)
    if sbd is None:
        raise DatasetError(
            f"SBD not found under {root}: extract benchmark.tgz there (benchmark_RELEASE/dataset/cls/*.mat)"
        )
    mats = sorted((sbd / "cls").glob("*.mat"))
    masks = voc / AUG_MASKS
    done = _convert_each(
        mats, lambda m: masks / f"{m.stem}.png", sbd_mat_to_png, "SBD masks -> PNG", reporter
    )
    lists = voc / SPLIT_LISTS
    voc_train, voc_val = (set(read_id_list(lists / f"{s}.txt")) for s in ("train", "val"))
    sbd_ids = set(read_id_list(sbd / "train.txt")) | set(read_id_list(sbd / "val.txt"))
    trainaug, aug = trainaug_ids(voc_train, voc_val, sbd_ids)
    _write_list(lists / "trainaug.txt", trainaug)
    _write_list(lists / "aug.txt", aug)
    reporter.info(f"voc_aug: converted {done} SBD masks; trainaug.txt lists {len(trainaug)} images")
    if len(voc_train) == 1464 and len(voc_val) == 1449 and len(trainaug) != VOC_TRAINAUG_SIZE:
        reporter.warning(f"trainaug has {len(trainaug)} images, the standard list has {VOC_TRAINAUG_SIZE}")


# ---- PASCAL Context ----------------------------------------------------------------------------------
def context_lut() -> np.ndarray:
    """459-class id -> 0..59: the rank of a kept id; every other id (and 0) -> 0 background."""
    lut = np.zeros(460, np.uint8)
    lut[list(PASCAL_CONTEXT.source_ids)] = np.arange(len(PASCAL_CONTEXT.source_ids))
    return lut


def context_mat_to_png(source: Path, target: Path) -> None:
    """One 459-class `LabelMap` .mat as a 60-class palette PNG."""
    label_map = np.asarray(load_mat(source)["LabelMap"])
    if label_map.ndim != 2 or (
        label_map.size and not 0 <= int(label_map.min()) <= int(label_map.max()) <= 459
    ):
        raise DatasetError(f"{source}: LabelMap must be an H x W map of 459-class ids (0..459)")
    write_index_png(target, context_lut()[label_map.astype(np.int64)], PASCAL_CONTEXT.palette)


def check_context_labels(labels_txt: Path, reporter: Reporter) -> None:
    """Warn if the archive's labels.txt names a kept id differently from the 60-class table."""
    names = {}
    for line in labels_txt.read_text(encoding="utf-8", errors="replace").splitlines():
        if ":" in line:
            key, name = line.split(":", 1)
            if key.strip().isdigit():
                names[int(key)] = name.strip().lower().replace(" ", "")
    for source_id, name in zip(PASCAL_CONTEXT.source_ids[1:], PASCAL_CONTEXT.names[1:], strict=True):
        if names and names.get(source_id) != name.lower().replace(" ", ""):
            reporter.warning(f"{labels_txt}: id {source_id} is {names.get(source_id)!r}, expected {name!r}")


def convert_pascal_context(root: Path, reporter: Reporter) -> None:
    """Write the 60-class masks and split lists from the Detail JSON, or else from the label maps."""
    context = first_existing(root, CONTEXT_DIRS, "JPEGImages")
    if context is None:
        raise DatasetError(f"VOC2010 not found under {root}: extract VOCtrainval_03-May-2010.tar there")
    labels = next((root / d for d in CONTEXT_LABEL_DIRS if any((root / d).glob("*.mat"))), None)
    detail = next((p for p in (root / DETAIL_JSON, context / DETAIL_JSON) if p.is_file()), None)
    if detail is not None:  # the annotations mmseg, PyTorch-Encoding and the official code use
        _context_from_detail(context, detail, reporter)
    elif labels is not None:
        _context_from_mats(context, labels, reporter)
    else:
        raise DatasetError(
            f"PASCAL Context labels not found under {root}: extract trainval.tar.gz from "
            "https://cs.stanford.edu/~roozbeh/pascal-context/ there (trainval/<id>.mat), or put "
            f"{DETAIL_JSON} (PASCAL-in-Detail) in {context}"
        )


def _context_from_mats(context: Path, labels: Path, reporter: Reporter) -> None:
    main_lists = context / "ImageSets" / "Main"
    if not (main_lists / "train.txt").is_file():
        raise DatasetError(f"{main_lists / 'train.txt'} missing: re-extract VOCtrainval_03-May-2010.tar")
    if (labels.parent / "labels.txt").is_file():
        check_context_labels(labels.parent / "labels.txt", reporter)
    masks = context / CONTEXT_MASKS
    for split in ("train", "val"):
        ids = [i for i in read_id_list(main_lists / f"{split}.txt") if (labels / f"{i}.mat").is_file()]
        mats = [labels / f"{i}.mat" for i in ids]
        title = f"Context {split} masks"
        _convert_each(mats, lambda m: masks / f"{m.stem}.png", context_mat_to_png, title, reporter)
        _write_list(context / CONTEXT_LISTS / f"{split}.txt", ids)
        reporter.info(f"pascal_context: {split} has {len(ids)} images")


def _context_from_detail(context: Path, detail_json: Path, reporter: Reporter) -> None:
    reporter.info(f"reading {detail_json} (PASCAL-in-Detail)")
    annotations = DetailAnnotations(detail_json)
    masks, lut = context / CONTEXT_MASKS, context_lut()
    for split in ("train", "val"):
        images = annotations.images_of(split)
        todo = [(stem, key) for stem, key in images if not (masks / f"{stem}.png").is_file()]
        with reporter.progress(f"Context {split} masks", len(todo)) as task:
            for stem, key in todo:
                label = annotations.label_map(key)
                if label.size and int(label.max()) >= len(lut):
                    raise DatasetError(f"{detail_json}: {stem} uses category ids above 459")
                write_index_png(masks / f"{stem}.png", lut[label], PASCAL_CONTEXT.palette)
                task.advance(1)
        _write_list(context / CONTEXT_LISTS / f"{split}.txt", [stem for stem, _ in images])
        reporter.info(f"pascal_context: {split} has {len(images)} images")


# ---- COCO-Stuff 10k ---------------------------------------------------------------------------------
COCO10K_SIZES = {"train": 9000, "test": 1000}
_COCO10K_PALETTE = ((0, 0, 0), *COCO_STUFF.palette)  # PNG value 0 = unlabelled, k = class k - 1
_COCO10K_LUT = mat_to_png_lut()


def coco10k_mat_to_png(source: Path, target: Path) -> None:
    """One COCO-Stuff 10k `annotations/<name>.mat` as a palette PNG of 0 (unlabelled) / class + 1."""
    data = load_mat(source)
    if MAT_KEY not in data:
        raise DatasetError(f"{source}: no label map {MAT_KEY!r}; is this COCO-Stuff 10k v1.1?")
    label = np.asarray(data[MAT_KEY])
    if label.ndim != 2 or label.dtype.kind not in "ui":
        raise DatasetError(
            f"{source}: {MAT_KEY} must be an H x W integer label map, not {label.dtype} {label.shape}"
        )
    if label.size and not 0 <= int(label.min()) <= int(label.max()) <= 182:
        bad = np.unique(label[(label < 0) | (label > 182)])[:12].tolist()
        raise DatasetError(
            f"{source}: label values {bad} are outside 0..182 (COCO-Stuff 10k v1.1 ids); the older v1.0 "
            "archive numbers its labels differently: download cocostuff-10k-v1.1.zip"
        )
    write_index_png(target, _COCO10K_LUT[label.astype(np.int64)].astype(np.uint8), _COCO10K_PALETTE)


def coco10k_png_path(mat: Path) -> Path:
    """Where the PNG of `annotations/<name>.mat` goes: `annotations/<name>_labelTrainIds.png`."""
    return mat.with_name(mat.stem + COCO_TRAIN_IDS_SUFFIX)


def prepare_coco_stuff10k(root: Path, reporter: Reporter) -> None:
    """Convert every `annotations/*.mat` of an extracted cocostuff-10k-v1.1.zip that has no PNG yet."""
    base = CocoStuff10k.layout_root(root)
    if base is None:
        raise DatasetError(
            f"COCO-Stuff 10k not found under {root}: extract cocostuff-10k-v1.1.zip there "
            "(images/, annotations/, imageLists/)"
        )
    annotations = base / "annotations"
    mats = sorted(annotations.glob("*.mat"))
    if not mats and not any(annotations.glob(f"*{COCO_TRAIN_IDS_SUFFIX}")):
        raise DatasetError(f"{annotations}: no .mat label maps; re-extract cocostuff-10k-v1.1.zip")
    done = _convert_each(mats, coco10k_png_path, coco10k_mat_to_png, "COCO-Stuff 10k masks -> PNG", reporter)
    for split, expected in COCO10K_SIZES.items():
        count = len(read_id_list(base / "imageLists" / f"{split}.txt"))
        reporter.info(f"coco_stuff10k: {split} has {count} images")
        if count != expected:
            reporter.warning(f"coco_stuff10k: {split}.txt lists {count} images, the v1.1 list has {expected}")
    reporter.info(f"coco_stuff10k: converted {done} label maps")


# ---- Cityscapes (optional) ---------------------------------------------------------------------------
def write_cityscapes_train_ids(root: Path, reporter: Reporter | None = None) -> int:
    """Write `*_gtFine_labelTrainIds.png` beside every `*_gtFine_labelIds.png` (mmseg layout)."""
    reporter = reporter or NullReporter()
    sources = sorted((Path(root) / "gtFine").glob(f"*/*/*{LABEL_IDS_SUFFIX}"))
    lut = label_id_lut()

    def target_for(source: Path) -> Path:
        return source.with_name(source.name[: -len(LABEL_IDS_SUFFIX)] + TRAIN_IDS_SUFFIX)

    def convert(source: Path, target: Path) -> None:
        raw = read_mask(source)
        mapped = lut[np.minimum(raw, 255)]
        if mapped.min(initial=0) < 0:
            raise DatasetError(f"{source}: values {np.unique(raw[mapped < 0]).tolist()} are not labelIds")
        write_label_png(target, mapped.astype(np.uint8))

    return _convert_each(sources, target_for, convert, "Cityscapes labelTrainIds", reporter)


_STEPS: dict[str, Callable[[Path, Reporter], None]] = {
    "voc_aug": prepare_voc_aug,
    "pascal_context": convert_pascal_context,
    "pascal_context59": convert_pascal_context,
    "coco_stuff10k": prepare_coco_stuff10k,
}


def prepare(name: str, root: str | Path, reporter: Reporter | None = None) -> None:
    """Run the conversions dataset `name` needs once its archives are extracted under `root`."""
    dataset_class(name)  # unknown names list the valid ones
    step = _STEPS.get(name)
    if step is not None:
        step(Path(root).expanduser(), reporter or NullReporter())


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m danet.datasets.prepare NAME ROOT", file=sys.stderr)
        return 2
    try:
        prepare(args[0], args[1], PrintReporter())
    except DatasetError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
