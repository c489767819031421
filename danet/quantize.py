"""int8 ONNX models: static quantization with ONNX Runtime's tools, calibrated on dataset images.

Only convolutions are quantized (int8 weights per output channel, uint8 activations, the fast
u8s8 path of x86 CPUs); the attention stays in float: position attention's two matrix products, the
whole channel attention and every softmax. Calibration images come from any registered dataset,
resized to the file's export size and normalised with the model's own mean and std.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from danet.errors import ConfigError, ExportError
from danet.fileio import atomic_path, check_writable
from danet.reporting import NullReporter, Reporter

QUANT_FORMATS = ("qoperator", "qdq")
# QLinearConv operators in the file; ONNX Runtime turns QDQ pairs into the same kernels when it loads
# a QDQ file, which other runtimes (TensorRT, OpenVINO) read instead (`--int8-format qdq`).
DEFAULT_FORMAT = "qoperator"
QUANTIZED_OPS = ("Conv",)


@dataclass(frozen=True)
class QuantizeResult:
    path: Path
    format: str
    calibration_images: int
    agreement: float  # share of pixels whose int8 class equals the fp32 class, on held-out images
    checked_images: int


def _require_quantization() -> Any:
    try:
        from onnxruntime import quantization
    except ImportError:
        raise ExportError("int8 export needs the onnx extra: pip install 'danet[onnx]'") from None
    return quantization


def calibration_inputs(
    dataset: Any, count: int, size: tuple[int, int] | None, mean: tuple, std: tuple
) -> Iterator[np.ndarray]:
    """`count` normalised (1, 3, H, W) float32 images spread evenly over `dataset` (resized to `size`)."""
    import cv2

    from danet.datasets.transforms import image_to_tensor

    total = len(dataset)
    if total == 0:
        raise ConfigError(f"dataset {dataset.info.name} ({dataset.root}) has no images to calibrate on")
    for index in np.linspace(0, total - 1, num=min(count, total)).round().astype(int):
        image = dataset.load(int(index))["image"]  # (H, W, 3) uint8 RGB
        if size is not None and image.shape[:2] != tuple(size):
            image = cv2.resize(image, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
        yield image_to_tensor(image, mean, std).unsqueeze(0).numpy()  # (1, 3, H, W), as every path normalises


def _reader(quantization: Any, name: str, inputs: Iterator[np.ndarray]) -> Any:
    class _Reader(quantization.CalibrationDataReader):
        def get_next(self) -> dict[str, np.ndarray] | None:
            array = next(inputs, None)
            return None if array is None else {name: array}

    return _Reader()


def _stored_size(props: Mapping[str, str]) -> tuple[int, int] | None:
    """The export size of a fixed-size file, None for a dynamic one."""
    if json.loads(props.get("danet.dynamic", "false")):
        return None
    size = json.loads(props.get("danet.export_size", "null"))
    return (int(size[0]), int(size[1])) if size else None


def quantize_model(
    source: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    calibration: Any,
    check: Any | None = None,
    images: int = 32,
    check_images: int = 4,
    fmt: str = DEFAULT_FORMAT,
    overwrite: bool = False,
    reporter: Reporter | None = None,
) -> QuantizeResult:
    """Quantize the fp32 ONNX file `source` (from `danet export`) into `output`, calibrated on
    `images` images of the dataset `calibration`; the agreement with fp32 is measured on
    `check_images` images of `check` (another split, or the same dataset when None)."""
    from danet.export import meta_from_metadata, read_onnx_metadata

    reporter = reporter or NullReporter()
    quantization = _require_quantization()
    if fmt not in QUANT_FORMATS:
        raise ConfigError(f"unknown int8 format {fmt!r}; use one of {', '.join(QUANT_FORMATS)}")
    if images < 1:
        raise ConfigError(f"--calibrate-images must be at least 1, got {images}")
    target = check_writable(output, overwrite)
    props = read_onnx_metadata(source)
    meta = meta_from_metadata(props)
    size = _stored_size(props)
    inputs = calibration_inputs(calibration, images, size, meta.mean, meta.std)
    count = min(images, len(calibration))
    reporter.info(f"calibrating int8 on {count} images of {calibration.info.name} ({calibration.root})")
    with tempfile.TemporaryDirectory(prefix="danet-int8-") as tmp, atomic_path(target) as out:
        prepared = Path(tmp) / "prepared.onnx"
        _prepare(quantization, Path(source), prepared)
        quantization.quantize_static(
            str(prepared),
            str(out),
            _reader(quantization, "input", inputs),
            quant_format=_format(quantization, fmt),
            op_types_to_quantize=list(QUANTIZED_OPS),
            per_channel=True,
            activation_type=quantization.QuantType.QUInt8,
            weight_type=quantization.QuantType.QInt8,
            extra_options={"ActivationSymmetric": False, "WeightSymmetric": True},
        )
        _write_metadata(out, props, fmt, calibration, count)
        samples = list(calibration_inputs(check or calibration, check_images, size, meta.mean, meta.std))
        agreement = pixel_agreement(Path(source), out, samples)
    return QuantizeResult(target, fmt, count, agreement, len(samples))


def _format(quantization: Any, fmt: str) -> Any:
    return quantization.QuantFormat.QOperator if fmt == "qoperator" else quantization.QuantFormat.QDQ


def _prepare(quantization: Any, source: Path, prepared: Path) -> None:
    """Shape inference and ONNX Runtime's basic graph fusions (Conv + BatchNorm, ...) before
    quantizing, as its tools recommend; the plain graph when that step cannot handle the file."""
    from onnxruntime.quantization.shape_inference import quant_pre_process

    try:
        quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
    except Exception:  # noqa: BLE001 - pre-processing is an optimisation; quantizing still works without
        import shutil

        shutil.copyfile(source, prepared)


def _write_metadata(path: Path, props: Mapping[str, str], fmt: str, dataset: Any, count: int) -> None:
    """The fp32 file's `danet.*` metadata, plus how this file was quantized."""
    import onnx

    model = onnx.load(str(path))
    del model.metadata_props[:]
    quantized = {"format": fmt, "ops": list(QUANTIZED_OPS), "dataset": dataset.info.name, "images": count}
    for key, value in {**props, "danet.int8": json.dumps(quantized)}.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save_model(model, str(path))


def pixel_agreement(fp32: Path, int8: Path, samples: list[np.ndarray]) -> float:
    """Share of pixels where the int8 model's class equals the fp32 model's."""
    from danet.backends import load_backend

    if not samples:
        return float("nan")
    import torch

    reference = load_backend(fp32, "onnxruntime", device="cpu", cache=False)
    quantized = load_backend(int8, "onnxruntime", device="cpu", cache=False)
    equal = total = 0
    for array in samples:
        x = torch.from_numpy(array)
        a, b = reference.forward(x).argmax(dim=1), quantized.forward(x).argmax(dim=1)
        equal += int((a == b).sum())
        total += a.numel()
    return equal / total
