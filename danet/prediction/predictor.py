"""`Predictor`: masks from images with any model file `load_backend` opens, in a few lines of Python.

    from danet import Predictor
    predictor = Predictor("runs/train/exp/checkpoints/best.pt", flip=True)
    mask = predictor.predict("photo.jpg")   # H x W uint8 class ids, the photo's size

Images are normalised with the model's mean/std (`backend.meta`) and run through the shared
`danet.inference.predict_probs` (whole or slide, scales, flip); images of one size are batched.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Union, cast

import numpy as np
import torch
from torch import nn

from danet.backends import Backend, ModelMeta, load_backend
from danet.errors import ConfigError
from danet.evaluation import image_to_batch
from danet.image_io import read_image
from danet.inference import InferenceConfig, predict_probs

ImageInput = Union[str, "os.PathLike[str]", np.ndarray]


@dataclass(frozen=True)
class Prediction:
    mask: np.ndarray  # (H, W) class ids
    probs: np.ndarray | None = None  # (K, H, W) float32 probabilities when asked for


def as_rgb(image: ImageInput) -> np.ndarray:
    """An H x W x 3 uint8 RGB array from a path or an array (gray and RGBA arrays are converted)."""
    if isinstance(image, (str, os.PathLike)):
        return read_image(image)
    array = np.asarray(image)
    if array.dtype != np.uint8:
        raise ConfigError(f"images must be uint8 arrays (0..255), got {array.dtype}")
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    elif array.ndim == 3 and array.shape[2] in (1, 4):
        array = np.repeat(array, 3, axis=2) if array.shape[2] == 1 else array[:, :, :3]
    if array.ndim != 3 or array.shape[2] != 3 or min(array.shape[:2]) < 1:
        raise ConfigError(f"expected an H x W x 3 RGB image, got an array of shape {array.shape}")
    return np.ascontiguousarray(array)


def open_backend(
    checkpoint: Any,
    backend: str | None = None,
    *,
    device: str = "auto",
    precision: str = "fp32",
    trust: bool = False,
    compile: bool = False,
    channels_last: bool | None = None,
) -> Backend:
    """A backend from a model file, an already loaded backend, or an in-memory `nn.Module`.

    `compile` and `channels_last` (None: where it is faster) apply to the torch backend.
    """
    if isinstance(checkpoint, nn.Module):  # a model from `load_model` or `create_model`
        from danet.backends.torch_backend import TorchBackend

        return TorchBackend(
            checkpoint, device=device, precision=precision, channels_last=channels_last, compile=compile
        )
    if hasattr(checkpoint, "forward") and isinstance(getattr(checkpoint, "meta", None), ModelMeta):
        return checkpoint
    options: dict[str, Any] = {"device": device, "precision": precision}
    if trust:
        options["trust"] = True
    if compile:
        options["compile"] = True
    if channels_last is not None:
        options["channels_last"] = channels_last
    return load_backend(checkpoint, backend, **options)


class Predictor:
    """Predicts segmentation masks with a checkpoint (danet, official, mmseg or any registered backend).

    `checkpoint` may also be a loaded backend or an `nn.Module`. `mode`, `flip`, `scales`, `crop_size`
    and `stride` set danet's test-time protocol; `protocol` ("official", "official-ms", "mmseg",
    "danet") picks a named one with its defaults for the model's dataset, and `inference` a ready
    config. `batch_size` images (or windows) go through the model at once. `compile` and
    `channels_last` (None: where it is faster) apply to the torch backend.
    """

    def __init__(
        self,
        checkpoint: Any,
        device: str = "auto",
        precision: str = "fp32",
        *,
        mode: str = "whole",
        flip: bool = False,
        scales: Sequence[float] = (1.0,),
        crop_size: Sequence[int] = (768, 768),
        stride: Sequence[int] = (512, 512),
        batch_size: int = 1,
        backend: str | None = None,
        trust: bool = False,
        inference: InferenceConfig | None = None,
        protocol: str | None = None,
        compile: bool = False,
        channels_last: bool | None = None,
    ) -> None:
        self.backend = open_backend(
            checkpoint, backend, device=device, precision=precision, trust=trust, compile=compile,
            channels_last=channels_last,
        )  # fmt: skip
        self.meta: ModelMeta = self.backend.meta
        if protocol is not None:  # a named protocol with the defaults of the model's origin and dataset
            inference = protocol_inference(protocol, self.meta, batch_size)
        if inference is not None:  # a ready protocol (the CLI's flags); the model decides align_corners
            self.config = replace(inference, align_corners=self.meta.align_corners)
            return
        self.config = InferenceConfig(
            mode=mode,
            crop_size=_pair(crop_size, "crop size"),
            stride=_pair(stride, "stride"),
            scales=tuple(float(s) for s in scales),
            flip=flip,
            batch_size=batch_size,
            align_corners=self.meta.align_corners,
        )

    @property
    def device(self) -> torch.device:
        return self.backend.device

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.meta.names()

    def predict(self, image: ImageInput) -> np.ndarray:
        """(H, W) class ids (uint8 for up to 256 classes) at the image's own size."""
        return self.predict_many([image])[0].mask

    def predict_probs(self, image: ImageInput) -> np.ndarray:
        """(K, H, W) float32 class probabilities at the image's own size."""
        return cast(np.ndarray, self.predict_many([image], probs=True)[0].probs)

    def predict_many(self, images: Sequence[ImageInput], *, probs: bool = False) -> list[Prediction]:
        """Predictions for several images, in order; consecutive images of one size share a batch."""
        arrays = [as_rgb(image) for image in images]
        results: list[Prediction] = []
        start = 0
        while start < len(arrays):
            stop = start + 1
            while (
                stop < len(arrays)
                and stop - start < self.config.batch_size
                and arrays[stop].shape == arrays[start].shape
            ):
                stop += 1
            results.extend(self._run(arrays[start:stop], probs))
            start = stop
        return results

    def _run(self, arrays: list[np.ndarray], want_probs: bool) -> list[Prediction]:
        """One batch of same-size RGB arrays through the inference protocol."""
        meta = self.meta
        batch = torch.cat(
            [image_to_batch(a, self.device, meta.mean, meta.std) for a in arrays]
        )  # (B, 3, H, W)
        if self.config.mode == "whole":
            self._check_memory(batch.shape[0], batch.shape[2], batch.shape[3])
        probs = predict_probs(batch, self.backend.forward, self.config)  # (B, K, H, W)
        dtype = np.uint8 if probs.shape[1] <= 256 else np.int32
        masks = probs.argmax(dim=1).cpu().numpy().astype(dtype)  # (B, H, W)
        kept = probs.float().cpu().numpy() if want_probs else [None] * len(arrays)
        return [Prediction(mask, p) for mask, p in zip(masks, kept, strict=True)]

    def _check_memory(self, batch: int, height: int, width: int) -> None:
        """Refuse whole-image inference that would clearly not fit in the free memory."""
        from danet.inference.memory_check import check_inference_memory

        check_inference_memory(
            self.config, batch=batch, height=height, width=width, classes=self.meta.num_classes,
            device=self.device,
        )  # fmt: skip


def _pair(value: Sequence[int] | int, what: str) -> tuple[int, int]:
    values = (value, value) if isinstance(value, int) else tuple(int(v) for v in value)
    if len(values) != 2:
        raise ConfigError(f"{what} needs two numbers (height width), got {value}")
    return values[0], values[1]


def protocol_inference(protocol: str, meta: ModelMeta, batch_size: int = 1) -> InferenceConfig:
    """A named protocol's settings for a model, with the defaults of its origin and dataset."""
    from danet.protocols import ProtocolRequest, resolve_inference

    return resolve_inference(
        ProtocolRequest(protocol=protocol), origin=meta.trained_by, origin_config=meta.mmseg_config,
        dataset=meta.dataset, mean=meta.mean, std=meta.std, align_corners=meta.align_corners,
        batch_size=batch_size,
    )  # fmt: skip
