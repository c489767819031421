"""The contract every registered inference backend keeps, on a tiny model.

A new backend adds one entry to `MODEL_FILES` (how to write a file it runs from a danet checkpoint);
the parametrized tests then check what predict, evaluate and benchmark rely on: the backend is picked
for its file, names itself, carries the model's `ModelMeta`, and maps a normalised (B, 3, H, W) batch
to (B, K, H, W) logits that agree with PyTorch's.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from _tiny_models import CLASSES, tiny_checkpoint

from danet.backends import backend_for_file, list_backends, load_backend
from danet.checkpoints import ModelMeta, load_model

TOLERANCE = 1e-4  # max |difference| relative to the largest logit (fp32 summation order differs)


def _onnx(checkpoint: Path, folder: Path) -> Path:
    """The file `danet export --format onnx --dynamic` writes, made with the faster TorchScript-based
    exporter (the export itself is tested in test_export.py)."""
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from danet.export import FusedLogits, metadata

    model = load_model(checkpoint)
    axes = {0: "batch", 2: "height", 3: "width"}
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            FusedLogits(model), (torch.zeros(1, 3, 32, 40),), buffer, dynamo=False, opset_version=17,
            input_names=["input"], output_names=["out"], dynamic_axes={"input": axes, "out": axes},
        )  # fmt: skip
    proto = onnx.load_from_string(buffer.getvalue())
    for key, value in metadata(model.meta, size=(32, 40), dynamic=True).items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    path = folder / "tiny.onnx"
    onnx.save_model(proto, str(path))
    return path


MODEL_FILES: dict[str, Callable[[Path, Path], Path]] = {
    "torch": lambda checkpoint, folder: checkpoint,
    "onnxruntime": _onnx,
}


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_checkpoint(tmp_path_factory.mktemp("contract") / "tiny.pt")


@pytest.fixture(scope="module", params=list_backends())
def case(request: pytest.FixtureRequest, checkpoint: Path) -> tuple[str, Path]:
    name = request.param
    if name not in MODEL_FILES:
        pytest.fail(f"backend {name!r} has no contract case: add one to MODEL_FILES in {Path(__file__).name}")
    return name, MODEL_FILES[name](checkpoint, checkpoint.parent)


def test_the_file_picks_the_backend_and_it_names_itself(case: tuple[str, Path]) -> None:
    name, path = case
    assert backend_for_file(path) == name
    backend = load_backend(path, device="cpu")
    assert backend.name == name and backend.device.type == "cpu"


def test_the_backend_carries_the_model_meta(case: tuple[str, Path]) -> None:
    backend = load_backend(case[1], device="cpu")
    meta = backend.meta
    assert isinstance(meta, ModelMeta)
    assert meta.model_name == "danet_tiny_cnn" and meta.num_classes == len(CLASSES)
    assert meta.class_names == tuple(CLASSES) and len(meta.palette) == len(CLASSES)
    assert meta.dataset == "folder"


@pytest.mark.parametrize("shape", [(1, 3, 32, 40), (2, 3, 48, 24)])
def test_logits_have_the_input_size_and_agree_with_pytorch(
    case: tuple[str, Path], checkpoint: Path, shape: tuple[int, ...]
) -> None:
    batch = torch.randn(*shape, generator=torch.Generator().manual_seed(0))
    logits = load_backend(case[1], device="cpu").forward(batch)
    assert logits.shape == (shape[0], len(CLASSES), *shape[2:]) and logits.dtype == torch.float32
    with torch.inference_mode():
        expected = load_model(checkpoint)(batch)["out"]
    difference = (logits - expected).abs().max().item()
    assert difference / max(1.0, expected.abs().max().item()) < TOLERANCE
