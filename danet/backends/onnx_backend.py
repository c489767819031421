"""The ONNX Runtime backend: runs a `danet export --format onnx` file without PyTorch models.

The file carries its own metadata (class names, palette, mean/std, model name) in ONNX
``metadata_props`` under ``danet.*`` keys, so nothing else is needed to predict with it.
"""

from __future__ import annotations

import os
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from danet.backends.onnx_session import SessionSettings, create_session
from danet.checkpoints.meta import IMAGENET_MEAN, IMAGENET_STD, ModelMeta, has_text_meta
from danet.errors import BackendError, DeviceError

INSTALL_HINT = "install it with: pip install 'danet[onnx]'"
_PROVIDERS = {
    "cpu": ["CPUExecutionProvider"],
    "cuda": ["CUDAExecutionProvider", "CPUExecutionProvider"],
    "tensorrt": ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"],
    "openvino": ["OpenVINOExecutionProvider", "CPUExecutionProvider"],
    "coreml": ["CoreMLExecutionProvider", "CPUExecutionProvider"],
    "mps": ["CoreMLExecutionProvider", "CPUExecutionProvider"],
}


def import_onnxruntime() -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise BackendError(f"the onnxruntime backend needs the onnxruntime package; {INSTALL_HINT}") from None
    return onnxruntime


def choose_providers(device: str, available: list[str]) -> list[str]:
    """Execution providers for `device` (auto, cpu, cuda[:N], tensorrt, openvino, coreml, mps)."""
    device = (device or "auto").lower()
    if device == "auto":
        preferred = [p for p in ("CUDAExecutionProvider", "CoreMLExecutionProvider") if p in available]
        return preferred + ["CPUExecutionProvider"]
    kind = device.split(":", 1)[0]
    if kind not in _PROVIDERS:
        raise DeviceError(
            f"unknown device {device!r} for onnxruntime; use one of auto, {', '.join(_PROVIDERS)}"
        )
    wanted = _PROVIDERS[kind]
    if wanted[0] not in available:
        raise DeviceError(
            f"device {device!r} needs onnxruntime's {wanted[0]}, but the installed onnxruntime only has "
            f"{', '.join(available)}"
        )
    return [p for p in wanted if p in available]


def _provider_options(providers: list[str], device: str) -> list[dict[str, str]]:
    index = device.split(":", 1)[1] if ":" in device else "0"
    return [{"device_id": index} if p == "CUDAExecutionProvider" else {} for p in providers]


def meta_from_props(props: dict[str, str], path: Path, num_classes: int | None) -> ModelMeta:
    """The ``danet.*`` metadata written by `danet export`.

    A file from another exporter (no ``danet.*`` keys) falls back to generic class names, ImageNet
    mean/std and align_corners=True, provided its output has a fixed class dimension.
    """
    if has_text_meta(props):
        return ModelMeta.from_text(props, origin="onnx", source=str(path))
    if num_classes is None:
        raise BackendError(
            f"{path} carries no danet metadata and its output has no fixed class dimension; "
            "re-export it with `danet export`"
        )
    return ModelMeta(
        model_name=path.stem,
        num_classes=num_classes,
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        origin="onnx",
        source=str(path),
        extra={"has_danet_metadata": False},
    )


class OnnxRuntimeBackend:
    """An ONNX Runtime session behind the `Backend` interface (torch tensors in, torch tensors out).

    A file exported at a fixed size runs any image: other sizes go through sliding windows of the
    file's size (smaller images are padded), and the averaged probabilities come back as log-probs,
    which are valid logits (softmax gives the probabilities back, argmax the same classes).
    """

    name = "onnxruntime"

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        device: str = "auto",
        settings: SessionSettings | None = None,
    ) -> None:
        ort = import_onnxruntime()
        self.path = Path(path)
        if not self.path.is_file():
            raise BackendError(f"ONNX file {self.path} does not exist")
        device = str(device or "auto")
        self.settings = settings or SessionSettings()
        self.providers = choose_providers(device, ort.get_available_providers())
        try:
            self.session = create_session(
                ort, self.path, self.settings, self.providers, _provider_options(self.providers, device)
            )
        except Exception as error:  # onnxruntime raises its own exception types
            raise BackendError(f"onnxruntime could not load {self.path}: {error}") from None
        self.input_name = self.session.get_inputs()[0].name
        output = self.session.get_outputs()[0]
        classes = output.shape[1] if len(output.shape) == 4 and isinstance(output.shape[1], int) else None
        props = dict(self.session.get_modelmeta().custom_metadata_map)
        self.meta = meta_from_props(props, self.path, classes)
        used = self.session.get_providers()[0]
        self.device = torch.device(
            "cuda" if used in ("CUDAExecutionProvider", "TensorrtExecutionProvider") else "cpu"
        )
        shape = self.session.get_inputs()[0].shape
        self.fixed_batch = shape[0] if isinstance(shape[0], int) else None
        fixed = len(shape) == 4 and all(isinstance(d, int) for d in shape[2:])
        self.fixed_size: tuple[int, int] | None = (shape[2], shape[3]) if fixed else None

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        if self.fixed_size is not None and tuple(batch.shape[-2:]) != self.fixed_size:
            return self._forward_windows(batch)
        return self._run(batch)

    def _run(self, batch: torch.Tensor) -> torch.Tensor:
        """The session on `batch`, in slices of the file's batch size when that is fixed."""
        step = self.fixed_batch or batch.shape[0]
        if batch.shape[0] != step:
            return torch.cat([self._run(batch[i : i + step]) for i in range(0, batch.shape[0], step)])
        array = np.ascontiguousarray(batch.detach().cpu().numpy(), dtype=np.float32)
        try:
            (logits,) = self.session.run(None, {self.input_name: array})[:1]
        except Exception as error:  # onnxruntime raises its own exception types
            expected = [d if isinstance(d, int) else "any" for d in self.session.get_inputs()[0].shape]
            raise BackendError(
                f"{self.path} cannot run a batch of shape {list(array.shape)} (it accepts {expected}) "
                f"({str(error).splitlines()[0][:160]})"
            ) from None
        return torch.from_numpy(logits)

    def _forward_windows(self, batch: torch.Tensor) -> torch.Tensor:
        """Log-probabilities of an image of another size, from windows of the file's fixed size
        overlapping by a third (the official protocol's 768/512 ratio)."""
        from danet.inference import InferenceConfig, predict_probs

        crop = self.fixed_size
        stride = (max(1, crop[0] * 2 // 3), max(1, crop[1] * 2 // 3))
        config = InferenceConfig(
            mode="slide", crop_size=crop, stride=stride, batch_size=batch.shape[0],
            align_corners=self.meta.align_corners,
        )  # fmt: skip
        probs = predict_probs(batch.float(), self._run, config)  # (B, K, H, W)
        return torch.log(probs.clamp_min(1e-30))


def load_onnxruntime(path: str | os.PathLike[str], **options: Any) -> OnnxRuntimeBackend:
    """Loader for the backend registry. Session options (`threads`, `optimization`, `spinning`,
    `arena`, `cache`, `profile`) tune ONNX Runtime; torch-only options are refused clearly."""
    precision = options.pop("precision", None)
    if precision not in (None, "fp32", "auto"):
        raise BackendError("the onnxruntime backend runs the precision stored in the file; drop --precision")
    if options.pop("compile", False):
        raise BackendError("--compile applies to the torch backend; an ONNX file is optimised by onnxruntime")
    for ignored in ("trust", "overrides", "channels_last", "dataset"):
        options.pop(ignored, None)
    device = str(options.pop("device", "auto"))
    known = {f.name for f in fields(SessionSettings)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise BackendError(
            f"unknown onnxruntime option(s) {', '.join(unknown)}; use {', '.join(sorted(known))}"
        )
    values = {key: value for key, value in options.items() if value is not None}
    return OnnxRuntimeBackend(path, device=device, settings=SessionSettings(**values))
