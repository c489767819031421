"""The torch and onnxruntime backends behind one interface give the same masks and scores."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from _train_helpers import train_cli
from typer.testing import CliRunner

from danet.backends import backend_for_file, list_backends, load_backend
from danet.datasets.synthetic import ensure_synthetic, make_spec
from danet.errors import BackendError, DeviceError, UnknownNameError
from danet.export import export_model, read_onnx_metadata
from danet.image_io import read_mask
from danet.inference import InferenceConfig, predict_probs
from danet.prediction.predictor import Predictor
from danet_cli.app import app

pytest.importorskip("onnxruntime")
runner = CliRunner()
# fp32 kernels differ in summation order, so the logits' last bits differ: relative to their size, as
# in `danet export` (a 6-iteration model has logits near 1e4-1e5: BatchNorm statistics barely moved).
LOGIT_TOLERANCE = 1e-4
PROTOCOLS = [
    {},
    {"scales": (0.75, 1.0, 1.25), "flip": True},
    {"mode": "slide", "crop_size": (24, 24), "stride": (16, 16), "flip": True},
]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A few iterations of real training on tiny synthetic scenes, then an ONNX export of the best."""
    tmp = tmp_path_factory.mktemp("backends")
    result = train_cli(tmp, "--iters", "6", "--val-every", "6", "--name", "run")
    assert result.exit_code == 0, result.output
    checkpoint = tmp / "runs" / "run" / "checkpoints" / "best.pt"
    onnx_file = tmp / "model.onnx"
    export_model(checkpoint, onnx_file, fmt="onnx", size=(32, 32), dynamic=True)
    options = torch.load(checkpoint, weights_only=True)["config"]["dataset_options"]
    data = ensure_synthetic(make_spec(**options))  # the folder the run trained on (this DANET_HOME)
    return {"checkpoint": checkpoint, "onnx": onnx_file, "tmp": tmp, "data": data}


def _images(count: int = 2) -> list[np.ndarray]:
    rng = np.random.default_rng(5)
    sizes = [(32, 32), (41, 29), (48, 64)]
    return [rng.integers(0, 256, (*sizes[i % 3], 3), dtype=np.uint8) for i in range(count)]


def test_registry_and_file_inference() -> None:
    assert {"torch", "onnxruntime"} <= set(list_backends())
    assert backend_for_file("m.onnx") == "onnxruntime" and backend_for_file("best.pt") == "torch"
    with pytest.raises(UnknownNameError, match="onnxruntime"):
        load_backend("m.onnx", backend="tensorflow")


def test_logits_agree(trained: dict[str, Path]) -> None:
    torch_backend = load_backend(trained["checkpoint"], device="cpu")
    onnx_backend = load_backend(trained["onnx"], device="cpu")
    assert onnx_backend.name == "onnxruntime"
    batch = torch.randn(2, 3, 40, 56, generator=torch.Generator().manual_seed(0))
    expected = torch_backend.forward(batch)
    diff = (expected - onnx_backend.forward(batch)).abs().max().item()
    assert diff / max(1.0, expected.abs().max().item()) < LOGIT_TOLERANCE


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=["whole", "ms-flip", "slide-flip"])
def test_predictions_agree(trained: dict[str, Path], protocol: dict) -> None:
    a = Predictor(trained["checkpoint"], "cpu", **protocol)
    b = Predictor(trained["onnx"], "cpu", **protocol)
    for image in _images():
        mask_a, mask_b = a.predict(image), b.predict(image)
        assert mask_a.shape == mask_b.shape == image.shape[:2]
        assert (mask_a == mask_b).mean() >= 0.999


def test_metadata_round_trip(trained: dict[str, Path]) -> None:
    torch_meta = load_backend(trained["checkpoint"], device="cpu").meta
    onnx_meta = load_backend(trained["onnx"], device="cpu").meta
    for field in ("model_name", "num_classes", "class_names", "palette", "mean", "std", "align_corners"):
        assert getattr(onnx_meta, field) == getattr(torch_meta, field), field
    assert onnx_meta.dataset == "synthetic"


def _evaluate(path: Path, data: Path, out: Path, *flags: str) -> dict:
    args = ["eval", str(path), "--dataset", "folder", "--data-root", str(data), "--device", "cpu"]
    result = runner.invoke(app, [*args, "--json", str(out), *flags])
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text())


@pytest.mark.parametrize("flags", [(), ("--flip", "--scales", "0.75,1,1.25")], ids=["ss", "ms-flip"])
def test_evaluate_gives_the_same_miou(trained: dict[str, Path], tmp_path: Path, flags: tuple) -> None:
    data = trained["data"]
    a = _evaluate(trained["checkpoint"], data, tmp_path / "torch.json", *flags)
    b = _evaluate(trained["onnx"], data, tmp_path / "onnx.json", *flags)
    assert b["backend"] == "onnxruntime"
    assert abs(a["miou"] - b["miou"]) < 1e-4


def test_predict_cli_needs_only_the_onnx_file(trained: dict[str, Path], tmp_path: Path) -> None:
    import cv2

    photo = tmp_path / "photo.png"
    cv2.imwrite(str(photo), _images(1)[0][..., ::-1])  # RGB array -> BGR file
    out = tmp_path / "mask.png"
    args = ["predict", str(photo), "--checkpoint", str(trained["onnx"]), "-o", str(out), "--device", "cpu"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    mask = read_mask(out)
    expected = Predictor(trained["checkpoint"], "cpu").predict(_images(1)[0])
    assert mask.shape == (32, 32) and (mask == expected).mean() >= 0.999


def test_benchmark_runs_both_backends(trained: dict[str, Path], tmp_path: Path) -> None:
    for backend, path in (("torch", trained["checkpoint"]), ("onnxruntime", trained["onnx"])):
        out = tmp_path / f"{backend}.json"
        args = [
            "benchmark",
            "--checkpoint",
            str(path),
            "--backend",
            backend,
            "--size",
            "32",
            "32",
            "--in-process",
        ]
        result = runner.invoke(
            app, [*args, "--repeats", "2", "--warmup", "1", "--no-conv-probe", "--json", str(out)]
        )
        assert result.exit_code == 0, result.output
        assert json.loads(out.read_text())["latency_ms"] > 0


def test_file_without_danet_metadata_falls_back(trained: dict[str, Path], tmp_path: Path) -> None:
    import onnx

    proto = onnx.load(str(trained["onnx"]))
    del proto.metadata_props[:]
    plain = tmp_path / "plain.onnx"
    onnx.save(proto, str(plain))
    backend = load_backend(plain, device="cpu")
    reference = load_backend(trained["onnx"], device="cpu").meta
    if backend.meta.num_classes != reference.num_classes:
        pytest.fail("the class count must come from the output shape")
    assert backend.meta.class_names == () and backend.meta.names()[0] == "class_0"
    assert backend.meta.extra["has_danet_metadata"] is False


def test_damaged_metadata_is_a_clear_error(trained: dict[str, Path], tmp_path: Path) -> None:
    import onnx

    proto = onnx.load(str(trained["onnx"]))
    for prop in proto.metadata_props:
        if prop.key == "danet.mean":
            prop.value = "not json"
    damaged = tmp_path / "damaged.onnx"
    onnx.save(proto, str(damaged))
    with pytest.raises(Exception, match="metadata"):
        load_backend(damaged, device="cpu")


def test_missing_onnxruntime_gives_the_install_hint(
    trained: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(BackendError, match=r"pip install 'danet\[onnx\]'"):
        load_backend(trained["onnx"])


def test_unavailable_provider_names_the_installed_ones(trained: dict[str, Path]) -> None:
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this onnxruntime has CUDA")
    with pytest.raises(DeviceError, match="CPUExecutionProvider"):
        load_backend(trained["onnx"], device="cuda")


def test_torch_only_options_are_refused_for_onnx(trained: dict[str, Path]) -> None:
    with pytest.raises(BackendError, match="precision"):
        load_backend(trained["onnx"], device="cpu", precision="bf16")


def test_fixed_size_file_runs_other_sizes_by_windows(trained: dict[str, Path], tmp_path: Path) -> None:
    fixed = tmp_path / "fixed.onnx"
    export_model(trained["checkpoint"], fixed, fmt="onnx", size=(32, 32))
    backend = load_backend(fixed, device="cpu")
    assert backend.fixed_size == (32, 32)
    assert backend.forward(torch.zeros(1, 3, 32, 32)).shape[-2:] == (32, 32)
    x = torch.randn(2, 3, 45, 70, generator=torch.Generator().manual_seed(3))  # larger: 2 x 3 windows
    small = x[:1, :, :20, :27]  # smaller than a window: padded
    reference = load_backend(trained["checkpoint"], device="cpu")
    config = InferenceConfig(mode="slide", crop_size=(32, 32), stride=(21, 21), align_corners=True)
    for image in (x, small):
        probs = backend.forward(image).softmax(dim=1)
        expected = predict_probs(image, reference.forward, config)
        assert probs.shape == expected.shape == (image.shape[0], backend.meta.num_classes, *image.shape[2:])
        assert torch.allclose(probs, expected, atol=1e-4)


def test_int8_export_keeps_most_pixels_and_evaluates(trained: dict[str, Path], tmp_path: Path) -> None:
    import onnx

    fp32 = tmp_path / "model.onnx"
    args = ["export", str(trained["checkpoint"]), "-o", str(fp32), "--size", "32", "32", "--int8"]
    result = runner.invoke(app, [*args, "--calibrate", "synthetic", "--calibrate-images", "4"])
    assert result.exit_code == 0, result.output
    int8 = tmp_path / "model.int8.onnx"
    assert "of pixels keep the fp32 class" in " ".join(result.output.split()) and int8.is_file()
    ops = {node.op_type for node in onnx.load(str(int8)).graph.node}
    assert "QLinearConv" in ops and "Softmax" in ops  # convolutions in int8, attention in float
    # A 6-iteration model's logits are huge and close: int8 still keeps 9 pixels in 10.
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    a = load_backend(fp32, device="cpu").forward(x).argmax(1)
    b = load_backend(int8, device="cpu").forward(x).argmax(1)
    assert (a == b).float().mean() >= 0.9
    scores = _evaluate(int8, trained["data"], tmp_path / "int8.json")
    assert scores["backend"] == "onnxruntime" and 0 <= scores["miou"] <= 1
    assert json.loads(read_onnx_metadata(int8)["danet.int8"])["dataset"] == "synthetic"
