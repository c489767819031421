"""danet export: ONNX and TorchScript files that run, match PyTorch and carry their metadata."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from danet.errors import ExportError
from danet.export import export_model, meta_from_metadata, read_onnx_metadata, read_torchscript_metadata
from danet_cli.app import app
from tests._predict_helpers import DATASET, tiny_model, write_checkpoint

runner = CliRunner()


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_checkpoint(tmp_path_factory.mktemp("ck") / "tiny.pt", seed=5)


@pytest.fixture(scope="module")
def onnx_export(checkpoint: Path, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("onnx") / "tiny.onnx"
    return export_model(checkpoint, out, fmt="onnx", size=(64, 64), dynamic=True)


def _reference(x: torch.Tensor) -> np.ndarray:
    model = tiny_model(seed=5)
    with torch.no_grad():
        return model(x)["out"].numpy()


def test_onnx_matches_pytorch_at_64x64(onnx_export):
    import onnxruntime

    assert onnx_export.exporter == "dynamo" and onnx_export.checks[0].shape == (1, 3, 64, 64)
    assert onnx_export.checks[0].max_abs_diff < 1e-4 and onnx_export.checks[0].logit_scale > 0
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(7))
    session = onnxruntime.InferenceSession(str(onnx_export.path), providers=["CPUExecutionProvider"])
    out = session.run(["out"], {"input": x.numpy()})[0]
    assert np.abs(out - _reference(x)).max() < 1e-4


def test_dynamic_onnx_runs_at_another_batch_and_size(onnx_export):
    import onnxruntime

    assert len(onnx_export.checks) == 2 and max(c.max_abs_diff for c in onnx_export.checks) < 1e-4
    session = onnxruntime.InferenceSession(str(onnx_export.path), providers=["CPUExecutionProvider"])
    x = torch.randn(2, 3, 45, 77, generator=torch.Generator().manual_seed(8))
    out = session.run(["out"], {"input": x.numpy()})[0]
    assert out.shape == (2, 19, 45, 77) and np.abs(out - _reference(x)).max() < 1e-4


def test_onnx_metadata_round_trips(onnx_export):
    values = read_onnx_metadata(onnx_export.path)
    meta = meta_from_metadata(values)
    assert meta.model_name == "danet_resnet18" and meta.num_classes == 19
    assert list(meta.class_names) == DATASET["class_names"]
    assert [list(c) for c in meta.palette] == DATASET["palette"]
    assert meta.mean == (0.485, 0.456, 0.406) and meta.std == (0.229, 0.224, 0.225)
    assert meta.align_corners is True and meta.dataset == "cityscapes" and meta.ignore_index == 255
    assert json.loads(values["danet.dynamic"]) is True


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.jit is deprecated upstream
def test_torchscript_cli_matches_pytorch_prints_the_difference_and_keeps_metadata(checkpoint, tmp_path):
    out = tmp_path / "tiny.pt"
    args = [
        "export",
        str(checkpoint),
        "--format",
        "torchscript",
        "--size",
        "64",
        "64",
        "--dynamic",
        "-o",
        str(out),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "max abs diff" in result.output and "2x3x37x35" in result.output
    loaded = torch.jit.load(str(out))
    for shape in ((1, 3, 64, 64), (2, 3, 45, 77)):
        x = torch.randn(*shape, generator=torch.Generator().manual_seed(9))
        assert np.abs(loaded(x).detach().numpy() - _reference(x)).max() < 1e-4
    assert meta_from_metadata(read_torchscript_metadata(out)).class_names[13] == "car"


def test_legacy_onnx_exporter_is_the_fallback(checkpoint, tmp_path, monkeypatch):
    real_export = torch.onnx.export

    def no_dynamo(*args, **kwargs):
        if kwargs.get("dynamo", True):
            raise RuntimeError("dynamo unavailable in this test")
        return real_export(*args, **kwargs)

    monkeypatch.setattr(torch.onnx, "export", no_dynamo)
    result = export_model(checkpoint, tmp_path / "legacy.onnx", fmt="onnx", size=(64, 64))
    assert result.exporter == "torchscript" and result.max_abs_diff < 1e-4


def test_cli_refuses_to_overwrite(checkpoint, tmp_path):
    out = tmp_path / "model.onnx"
    out.write_bytes(b"keep")
    result = runner.invoke(app, ["export", str(checkpoint), "--size", "64", "64", "-o", str(out)])
    assert result.exit_code == 1 and "--overwrite" in result.output and out.read_bytes() == b"keep"


def test_missing_onnxruntime_says_which_extra_to_install(checkpoint, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(ExportError, match=r"pip install 'danet\[onnx\]'"):
        export_model(checkpoint, tmp_path / "x.onnx", fmt="onnx", size=(64, 64))
    assert not (tmp_path / "x.onnx").exists()


def test_the_check_is_relative_to_the_size_of_the_logits() -> None:
    from danet.export import TOLERANCE, Check

    # A briefly trained model can have logits near 6e4: fp32 runtimes then differ by ~1e-2 absolute.
    assert Check((1, 3, 32, 32), 1.5e-2, 62_000.0).relative < TOLERANCE
    # Ordinary logits (O(1-10)) keep an absolute bound of about 1e-3; below 1 nothing is divided.
    assert Check((1, 3, 32, 32), 2e-3, 8.0).relative > TOLERANCE
    assert Check((1, 3, 32, 32), 5e-4, 0.3).relative == 5e-4


def test_a_failed_check_names_the_difference_and_leaves_no_file(checkpoint: Path, tmp_path: Path) -> None:
    target = tmp_path / "tiny.pt2"
    with pytest.raises(ExportError, match=r"differs from PyTorch by .* on logits up to .* relative"):
        export_model(checkpoint, target, fmt="torchscript", size=(32, 32), tolerance=-1.0)  # nothing passes
    assert list(tmp_path.iterdir()) == []  # written under a temporary name, removed on failure
