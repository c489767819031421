"""The registry of every downloadable file: dataset archives and pretrained weights.

URLs, sizes and checksums follow `datasets-and-weights.md`; sizes are as published (approximate, for
display only). A `Source` is one file; a `DownloadSpec` groups the files of one dataset. Tests and
air-gapped sites add their own entries with `register_source` / `extra_sources`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from danet.download.checksums import Checksum
from danet.errors import ConfigError, UnknownNameError

KINDS = ("dataset", "weights")
ARCHIVES = ("zip", "tar", "tgz")
TRANSPORTS = ("http", "cityscapes", "gdrive")


@dataclass(frozen=True)
class Source:
    """One downloadable file and how to check and unpack it."""

    name: str
    kind: str
    urls: tuple[str, ...]
    filename: str
    size: int | None = None
    checksums: tuple[Checksum, ...] = ()
    archive: str | None = None
    target: str = ""  # datasets: folder under the dataset root that receives the file's contents
    group: str = ""  # datasets: the dataset name; weights: the family
    member: str | None = None  # weight zips: the file inside that is kept
    member_checksums: tuple[Checksum, ...] = ()
    via: str = "http"
    aliases: tuple[str, ...] = ()
    metrics: tuple[tuple[str, float], ...] = ()
    notes: str = ""

    def __post_init__(self) -> None:
        problems = []
        if self.kind not in KINDS:
            problems.append(f"kind {self.kind!r} (valid: {', '.join(KINDS)})")
        if self.archive is not None and self.archive not in ARCHIVES:
            problems.append(f"archive {self.archive!r} (valid: {', '.join(ARCHIVES)})")
        if self.via not in TRANSPORTS:
            problems.append(f"via {self.via!r} (valid: {', '.join(TRANSPORTS)})")
        if not self.urls:
            problems.append("no URL")
        if "/" in self.filename or "\\" in self.filename or self.filename in ("", ".", ".."):
            problems.append(f"an unsafe file name {self.filename!r}")
        if self.member is not None and self.archive != "zip":
            problems.append("a member without a zip archive")
        if problems:
            raise ConfigError(f"download source {self.name!r} has {'; '.join(problems)}")

    @property
    def host(self) -> str:
        return urlsplit(self.urls[0]).netloc

    @property
    def needs_record(self) -> bool:
        """No published checksum: the sha256 is recorded on first download (trust on first use)."""
        return not self.checksums and not self.member_checksums and self.via != "cityscapes"


@dataclass(frozen=True)
class DownloadSpec:
    """A dataset `danet download NAME` knows: its files share one root folder.

    Not `danet.datasets.DatasetInfo` (what a dataset adapter reads): this one only says which files
    to fetch and how to prepare them.
    """

    name: str
    description: str
    root_name: str = ""  # default root is default_dataset_root(root_name or name)
    prepare_name: str | None = None  # name passed to danet.datasets.prepare.prepare (None: none)
    parts: tuple[str, ...] = ()  # the source groups it downloads (default: its own name)


_SOURCES: dict[str, Source] = {}
_ALIASES: dict[str, str] = {}
_DATASETS: dict[str, DownloadSpec] = {}


def register_source(source: Source, *, replace: bool = False) -> Source:
    """Add `source` to the registry; a dataset source of an unknown group creates that dataset."""
    names = (source.name, *source.aliases)
    taken = [n for n in names if (n in _SOURCES or n in _ALIASES) and not replace]
    if taken:
        raise ConfigError(f"download source name {taken[0]!r} is already registered")
    if replace:
        unregister_source(source.name, missing_ok=True)
    _SOURCES[source.name] = source
    _ALIASES.update({alias: source.name for alias in source.aliases})
    if source.kind == "dataset" and source.group not in _DATASETS:
        register_download(DownloadSpec(source.group, f"{source.group} (registered source)"))
    return source


def unregister_source(name: str, *, missing_ok: bool = False) -> None:
    source = _SOURCES.pop(name, None)
    if source is None and not missing_ok:
        raise UnknownNameError("download source", name, sorted(_SOURCES))
    for alias in source.aliases if source else ():
        _ALIASES.pop(alias, None)


def register_download(info: DownloadSpec) -> DownloadSpec:
    """Add a downloadable dataset; registering a name twice is an error."""
    if info.name in _DATASETS:
        raise ConfigError(f"dataset {info.name!r} is already registered for download")
    _DATASETS[info.name] = info
    return info


@contextmanager
def extra_sources(*sources: Source, datasets: tuple[DownloadSpec, ...] = ()) -> Iterator[None]:
    """Register `sources` (and `datasets`) for the duration of a `with` block (tests, scripts)."""
    saved = (dict(_SOURCES), dict(_ALIASES), dict(_DATASETS))
    try:
        for info in datasets:
            register_download(info)
        for source in sources:
            register_source(source)
        yield
    finally:
        for registry, copy in zip((_SOURCES, _ALIASES, _DATASETS), saved, strict=True):
            registry.clear()
            registry.update(copy)


def get_source(name: str, kind: str | None = None) -> Source:
    """The source called `name` (or one of its aliases), optionally of one kind."""
    source = _SOURCES.get(_ALIASES.get(name, name))
    if source is None or (kind is not None and source.kind != kind):
        label = "weights" if kind == "weights" else "download source"
        raise UnknownNameError(label, name, [s.name for s in all_sources(kind)])
    return source


def all_sources(kind: str | None = None) -> list[Source]:
    return [s for s in _SOURCES.values() if kind is None or s.kind == kind]


def weight_names() -> list[str]:
    return [s.name for s in all_sources("weights")]


def dataset_names() -> list[str]:
    return list(_DATASETS)


def get_download(name: str) -> DownloadSpec:
    """The download entry of dataset `name`; unknown names list the valid ones."""
    if name not in _DATASETS:
        raise UnknownNameError("dataset", name, dataset_names())
    return _DATASETS[name]


def dataset_sources(name: str) -> list[Source]:
    """The files of dataset `name`, in registration order."""
    groups = get_download(name).parts or (name,)
    return [s for g in groups for s in all_sources("dataset") if s.group == g]


# ---------------------------------------------------------------------------------------------
# The catalog (datasets-and-weights.md sections 1-5 and 7)

_MB, _MIB, _GIB = 1000**2, 1 << 20, 1 << 30

_MD5 = {  # TV voc.py / sbd.py; Cityscapes and COCO: consistent 3rd-party listings
    "gtFine_trainvaltest.zip": "4237c19de34c8a376e9ba46b495d6f66",
    "leftImg8bit_trainvaltest.zip": "0a6e97e94b616a514066c9e2adb0c97f",
    "ADEChallengeData2016.zip": "7328b3957e407ddae1d3cbf487f149ef",
    "VOCtrainval_11-May-2012.tar": "6cd6e144f989b92b3379bac3b3de84fd",
    "benchmark.tgz": "82b4d87ceb2ed10f6038a1cba92111cb",
    "VOCtrainval_03-May-2010.tar": "da459979d0c395079b5c75ee67908abb",
    "train2017.zip": "cced6f7f71b7629ddf16f17bbcfab6b2",
    "val2017.zip": "442b8da7639aecaf257c1dceb8ba8c80",
}
_SHA1 = {  # PyTorch-Encoding and gluon-cv prepare scripts
    "gtFine_trainvaltest.zip": "99f532cb1af174f5fcc4c5bc8feea8c66246ddbc",
    "leftImg8bit_trainvaltest.zip": "2c0b77ce9933cc635adda307fbba5566f5d9d404",
    "ADEChallengeData2016.zip": "219e1696abb36c8ba3a3afe7fb2f4b4606a897c7",
    "VOCtrainval_11-May-2012.tar": "4e443f8a2eca6b1dac8a6c57641b67dd40621a49",
    "benchmark.tgz": "7129e0a480c2d6afb02b517bb18ac54283bfaa35",
    "VOCtrainval_03-May-2010.tar": "bf9985e9f2b064752bf6bd654d89f017c76c395a",
    "trainval_merged.json": "169325d9f7e9047537fedca7b04de4dddf10b881",
    "train2017.zip": "10ad623668ab00c62c096f0ed636d6aff41faca5",
    "val2017.zip": "4950dc9d00dbe1c933ee0170f5797584351d2a41",
}


def _data(group: str, urls: tuple[str, ...], size: float, **kw: Any) -> None:
    """A dataset file whose name is the last part of its first URL (Cityscapes: given)."""
    filename = kw.pop("filename", None) or urls[0].rsplit("/", 1)[1]
    checks = [Checksum("md5", _MD5[filename])] if filename in _MD5 else []
    checks += [Checksum("sha1", _SHA1[filename])] if filename in _SHA1 else []
    source = Source(
        f"{group}/{filename}", "dataset", urls, filename, int(size) or None, tuple(checks), group=group, **kw
    )
    register_source(source)


for _info in (
    DownloadSpec("cityscapes", "Cityscapes fine (login needed)", prepare_name="cityscapes"),
    DownloadSpec("ade20k", "ADE20K SceneParsing (ADEChallengeData2016)", prepare_name="ade20k"),
    DownloadSpec("voc", "PASCAL VOC 2012 segmentation", prepare_name="voc"),
    DownloadSpec("sbd", "SBD benchmark_RELEASE only (into the voc root)", "voc"),
    DownloadSpec("voc_aug", "VOC 2012 + SBD, prepared as trainaug", "voc", "voc_aug", ("voc", "sbd")),
    DownloadSpec(
        "pascal_context", "PASCAL Context (VOC2010 + PASCAL-in-Detail)", prepare_name="pascal_context"
    ),
    DownloadSpec(
        "pascal_context_maps", "459-class Context label maps (optional alternative)", "pascal_context"
    ),
    DownloadSpec("coco_stuff164k", "COCO-Stuff 164k", prepare_name="coco_stuff164k"),
    DownloadSpec("coco_stuff10k", "COCO-Stuff 10k v1.1 (the DANet paper's)", prepare_name="coco_stuff10k"),
):
    register_download(_info)

_CS = "https://www.cityscapes-dataset.com/file-handling/?packageID="
_OX = ("https://thor.robots.ox.ac.uk/pascal/VOC", "http://host.robots.ox.ac.uk/pascal/VOC")
_SBD = "eecs.berkeley.edu/Research/Projects/CS/vision/grouping/semantic_contours/benchmark.tgz"
_STUFF = "http://calvin.inf.ed.ac.uk/wp-content/uploads/data/cocostuffdataset/"
_COCO = "http://images.cocodataset.org/zips/"

_data(
    "cityscapes",
    (_CS + "1",),
    241 * _MIB,
    filename="gtFine_trainvaltest.zip",
    archive="zip",
    via="cityscapes",
)
_data(
    "cityscapes",
    (_CS + "3",),
    11 * _GIB,
    filename="leftImg8bit_trainvaltest.zip",
    archive="zip",
    via="cityscapes",
)
_data(
    "ade20k",
    ("http://data.csail.mit.edu/places/ADEchallenge/ADEChallengeData2016.zip",),
    923 * _MB,
    archive="zip",
)
_data("voc", tuple(f"{h}/voc2012/VOCtrainval_11-May-2012.tar" for h in _OX), 1900 * _MB, archive="tar")
_data("sbd", (f"https://www2.{_SBD}", f"http://www.{_SBD}"), 1400 * _MB, archive="tgz")
_data(
    "pascal_context",
    tuple(f"{h}/voc2010/VOCtrainval_03-May-2010.tar" for h in _OX),
    1300 * _MB,
    archive="tar",
)
_data(
    "pascal_context",
    ("https://codalabuser.blob.core.windows.net/public/trainval_merged.json",),
    0,
    target="VOCdevkit/VOC2010",
    notes="PASCAL-in-Detail annotations (train 4998 / val 5105)",
)
_data(
    "pascal_context_maps",
    ("https://cs.stanford.edu/~roozbeh/pascal-context/trainval.tar.gz",),
    30.7 * _MB,
    archive="tgz",
    notes="459-class LabelMap .mat files, used instead of the Detail JSON when present; no published "
    "checksum: sha256 recorded on first download",
)
_data("coco_stuff164k", (_COCO + "train2017.zip",), 18000 * _MB, archive="zip", target="images")
_data("coco_stuff164k", (_COCO + "val2017.zip",), 778 * _MB, archive="zip", target="images")
_data(
    "coco_stuff164k",
    (_STUFF + "stuffthingmaps_trainval2017.zip",),
    659 * _MB,
    archive="zip",
    target="annotations",
    notes="no published checksum: sha256 recorded on first download",
)
_data(
    "coco_stuff10k",
    (_STUFF + "cocostuff-10k-v1.1.zip",),
    2000 * _MB,
    archive="zip",
    notes="images/, annotations/*.mat (label map S), imageLists/{train,test}.txt (9,000 / 1,000); "
    "no published checksum: sha256 recorded on first download",
)


def _hashed_weights(name: str, url: str, group: str, size: float = 0, **kw: Any) -> None:
    """A weight file whose name ends in `-<sha256 prefix>.pth` (the torch.hub / mmseg rule)."""
    filename = url.rsplit("/", 1)[1]
    prefix = filename.rsplit("-", 1)[1].split(".")[0]
    check = (Checksum("sha256", prefix, "file-name prefix"),)
    register_source(Source(name, "weights", (url,), filename, int(size) or None, check, group=group, **kw))


_TV = "https://download.pytorch.org/models/"
for _depth, _v1, _v2, _mb, _acc in (
    (50, "0676ba61", "11ad3fa6", (97.781, 97.79), ((76.130, 92.862), (80.858, 95.434))),
    (101, "63fe2227", "cd907fc2", (170.511, 170.53), ((77.374, 93.546), (81.886, 95.780))),
    (152, "394f9c45", "f82ba261", (230.434, 230.474), ((78.312, 94.046), (82.284, 96.002))),
):
    for _version, _hash, _size, (_top1, _top5) in zip((1, 2), (_v1, _v2), _mb, _acc, strict=True):
        _hashed_weights(
            f"resnet{_depth}_imagenet1k_v{_version}",
            f"{_TV}resnet{_depth}-{_hash}.pth",
            "torchvision",
            _size * _MIB,
            metrics=(("acc@1", _top1), ("acc@5", _top5)),
            notes=f"torchvision ResNet-{_depth} IMAGENET1K_V{_version}",
        )

for _depth, _hash in ((18, "b5776b93"), (50, "2cccc1ad"), (101, "e67eebb6")):
    _hashed_weights(
        f"resnet{_depth}_v1c",
        f"https://download.openmmlab.com/pretrain/third_party/resnet{_depth}_v1c-{_hash}.pth",
        "mmseg",
        aliases=(f"open-mmlab://resnet{_depth}_v1c",),
        notes="mmseg ResNetV1c deep-stem ImageNet backbone (sha256-prefix naming assumed)",
    )

for _depth, _sha1 in (
    (50, "a75c83cfc89a56a4e8ba71b14f1ec67e923787b3"),
    (101, "03a0f310d6447880f1b22a83bd7d1aa7fc702c6e"),
    (152, "36670e8bc2428ecd5b7db1578538e2dd23872813"),
):
    _stem = f"resnet{_depth}s-{_sha1[:8]}"
    register_source(
        Source(
            f"resnet{_depth}s",
            "weights",
            (f"https://s3.us-west-1.wasabisys.com/encoding/models/{_stem}.zip",),
            f"{_stem}.zip",
            archive="zip",
            member=f"{_stem}.pth",
            group="encoding",
            member_checksums=(Checksum("sha1", _sha1, "PyTorch-Encoding model_store"),),
            notes="PyTorch-Encoding deep-stem (64-64-128) ImageNet backbone",
        )
    )

_MMSEG_DANET = (  # 0.x config, timestamp-hash, mIoU, mIoU ms+flip (0 = not published)
    ("r50-d8_512x1024_40k_cityscapes", "20200605_191324-c0dbfa5f", 78.74, 0),
    ("r101-d8_512x1024_40k_cityscapes", "20200605_200831-c57a7157", 80.52, 0),
    ("r50-d8_769x769_40k_cityscapes", "20200530_025703-76681c60", 78.88, 80.62),
    ("r101-d8_769x769_40k_cityscapes", "20200530_025717-dcb7fd4e", 79.88, 81.47),
    ("r50-d8_512x1024_80k_cityscapes", "20200607_133029-2bfa2293", 79.34, 0),
    ("r101-d8_512x1024_80k_cityscapes", "20200607_132918-955e6350", 80.41, 0),
    ("r50-d8_769x769_80k_cityscapes", "20200607_132954-495689b4", 79.27, 80.96),
    ("r101-d8_769x769_80k_cityscapes", "20200607_132918-f3a929e7", 80.47, 82.02),
    ("r50-d8_512x512_80k_ade20k", "20200615_015125-edb18e08", 41.66, 42.90),
    ("r101-d8_512x512_80k_ade20k", "20200615_015126-d0357c73", 43.64, 45.19),
    ("r50-d8_512x512_160k_ade20k", "20200616_082340-9cb35dcd", 42.45, 43.25),
    ("r101-d8_512x512_160k_ade20k", "20200616_082348-23bf12f9", 44.17, 45.02),
    ("r50-d8_512x512_20k_voc12aug", "20200618_070026-9e9e3ab3", 74.45, 75.69),
    ("r101-d8_512x512_20k_voc12aug", "20200618_070026-d48d23b2", 76.02, 77.23),
    ("r50-d8_512x512_40k_voc12aug", "20200613_235526-426e3a64", 76.37, 77.29),
    ("r101-d8_512x512_40k_voc12aug", "20200613_223031-788e232a", 76.51, 77.32),
)


def _mmseg_1x_name(config: str) -> str:
    """danet_r50-d8_512x1024_40k_cityscapes -> danet_r50-d8_4xb2-40k_cityscapes-512x1024."""
    backbone, crop, iters, data = config.split("_")
    batch = "4xb2" if data == "cityscapes" else "4xb4"
    return f"danet_{backbone}_{batch}-{iters}_{data}-{crop}"


for _config, _stamp, _miou, _ms in _MMSEG_DANET:
    _cfg = f"danet_{_config}"
    _metrics = (("mIoU", _miou),) + ((("mIoU ms+flip", _ms),) if _ms else ())
    _hashed_weights(
        _cfg,
        f"https://download.openmmlab.com/mmsegmentation/v0.5/danet/{_cfg}/{_cfg}_{_stamp}.pth",
        "mmseg-danet",
        aliases=(_mmseg_1x_name(_config),),
        metrics=_metrics,
        notes=f"mmsegmentation DANet, {_config.rsplit('_', 1)[1]} val",
    )

register_source(
    Source(
        "danet101_official",
        "weights",
        ("https://drive.google.com/open?id=1XmpFEF-tbPH0Rmv4eKRxYJngr3pTbj6p",),
        "DANet101.pth.tar",
        via="gdrive",
        group="official",
        aliases=("DANet101",),
        metrics=(("mIoU", 79.93), ("pAcc", 95.97)),
        notes="official DANet-101, Cityscapes val single scale; no published checksum: "
        "sha256 recorded on first download",
    )
)
