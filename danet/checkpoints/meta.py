"""`ModelMeta`: what running a model needs besides its weights, and its text form for exported files.

A danet checkpoint stores it as its ``dataset`` entry (classes, palette, ignore index) and its
``config`` entry (the training config, which names the dataset and its folder); ONNX and TorchScript
files store it as ``danet.*`` strings (`ModelMeta.to_text` / `ModelMeta.from_text`). No torch here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from danet.errors import CheckpointError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
_PREFIX = "danet."


@dataclass(frozen=True)
class ModelMeta:
    """What inference needs to know besides the weights, and where the weights came from.

    `origin` is the layout the weights were read from (danet, official, mmseg, state_dict) or the
    exported format (onnx, torchscript); `source` the file. `trained_by` says who trained the weights
    (it picks `danet evaluate`'s default protocol) and survives conversion and export. `train_config`
    is the resolved training config a danet checkpoint was written with ({} for converted or exported
    files).
    """

    model_name: str
    num_classes: int
    class_names: tuple[str, ...] = ()
    palette: tuple[tuple[int, int, int], ...] = ()
    ignore_index: int = 255
    dataset: str = ""
    data_root: str = ""
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    align_corners: bool = True
    origin: str = ""
    source: str = ""
    trained_by: str = "danet"  # whose recipe and evaluator the weights follow: danet | official | mmseg
    mmseg_config: str = ""  # the mmseg config name when known, e.g. danet_r50-d8_769x769_40k_cityscapes
    train_config: Mapping[str, Any] = field(default_factory=dict, compare=False)
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def names(self) -> tuple[str, ...]:
        """Class names, or class_0 ... when the file carries none."""
        return self.class_names or tuple(f"class_{i}" for i in range(self.num_classes))

    def with_dataset(self, record: Mapping[str, Any] | None) -> ModelMeta:
        """A copy with the classes, palette and dataset name of a checkpoint's ``dataset`` entry."""
        if not record:
            return self
        return replace(
            self,
            class_names=tuple(str(name) for name in record.get("class_names") or ()),
            palette=tuple(_colour(colour) for colour in record.get("palette") or ()),
            ignore_index=int(record.get("ignore_index", 255)),
            dataset=str(record.get("name") or ""),
        )

    def dataset_record(self) -> dict[str, Any] | None:
        """The ``dataset`` entry of a danet checkpoint (None when the meta knows no classes)."""
        if not self.class_names and not self.dataset:
            return None
        return {
            "name": self.dataset,
            "class_names": list(self.class_names),
            "palette": [list(colour) for colour in self.palette],
            "ignore_index": self.ignore_index,
        }

    def to_text(self) -> dict[str, str]:
        """The ``danet.*`` key/value strings stored with an exported model."""
        return {
            "danet.model_name": self.model_name,
            "danet.num_classes": str(self.num_classes),
            "danet.class_names": json.dumps(list(self.names())),
            "danet.palette": json.dumps([list(c) for c in self.palette]),
            "danet.mean": json.dumps(list(self.mean)),
            "danet.std": json.dumps(list(self.std)),
            "danet.align_corners": json.dumps(bool(self.align_corners)),
            "danet.dataset": self.dataset,
            "danet.data_root": self.data_root,
            "danet.ignore_index": str(self.ignore_index),
            "danet.origin": self.origin,
            "danet.trained_by": self.trained_by,
            "danet.mmseg_config": self.mmseg_config,
            "danet.train_config": json.dumps(dict(self.train_config), default=str),
        }

    @classmethod
    def from_text(cls, values: Mapping[str, str], *, origin: str = "", source: str = "") -> ModelMeta:
        """`ModelMeta` back from the strings `to_text` wrote (files exported by older danet lack some)."""
        try:
            return cls(
                model_name=values["danet.model_name"],
                num_classes=int(values["danet.num_classes"]),
                class_names=tuple(json.loads(values.get("danet.class_names", "[]"))),
                palette=tuple(_colour(c) for c in json.loads(values.get("danet.palette", "[]"))),
                ignore_index=int(values.get("danet.ignore_index", "255")),
                dataset=values.get("danet.dataset", ""),
                data_root=values.get("danet.data_root", ""),
                mean=_triple(json.loads(values["danet.mean"])),
                std=_triple(json.loads(values["danet.std"])),
                align_corners=bool(json.loads(values.get("danet.align_corners", "true"))),
                origin=origin or values.get("danet.origin", ""),
                source=source,
                trained_by=values.get("danet.trained_by", "danet") or "danet",
                mmseg_config=values.get("danet.mmseg_config", ""),
                train_config=dict(json.loads(values.get("danet.train_config", "{}"))),
                extra=_architecture(values),
            )
        except (KeyError, ValueError, TypeError) as error:
            where = f" of {source}" if source else ""
            raise CheckpointError(
                f"the danet metadata{where} is missing or damaged ({type(error).__name__}: {error}); "
                "export the model again with `danet export`"
            ) from None


def _architecture(values: Mapping[str, str]) -> dict[str, Any]:
    """``{"model_config": ...}`` when an exported file records its architecture (for FLOP counts)."""
    text = values.get("danet.model_config")
    return {"model_config": dict(json.loads(text))} if text else {}


def has_text_meta(values: Mapping[str, str]) -> bool:
    """Whether exported-file metadata holds danet's keys (files from other exporters do not)."""
    return any(key.startswith(_PREFIX) for key in values)


def _colour(values: Any) -> tuple[int, int, int]:
    red, green, blue = (int(v) for v in values)
    return (red, green, blue)


def _triple(values: Any) -> tuple[float, float, float]:
    a, b, c = (float(v) for v in values)
    return (a, b, c)
