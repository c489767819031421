"""Deployment paths: exact block attention in exported files, ONNX Runtime session settings and its
optimised-model cache, the per-node profile, and the torch backend's `--compile`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from danet.backends import load_backend
from danet.errors import BackendError, ConfigError
from danet.export import export_model
from danet.models.attention import BLOCK_ROWS, _attend_blocks, _attend_naive
from tests._predict_helpers import tiny_model, write_checkpoint

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_checkpoint(tmp_path_factory.mktemp("ck") / "tiny.pt", seed=3)


@pytest.fixture(scope="module")
def exported(checkpoint: Path, tmp_path_factory: pytest.TempPathFactory):
    """One fixed-size export (64 x 64), and the DANET_HOME whose cache its check filled."""
    home = tmp_path_factory.mktemp("export_home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DANET_HOME", str(home))
        result = export_model(checkpoint, tmp_path_factory.mktemp("onnx") / "tiny.onnx", size=(64, 64))
    return result, str(home)


def _pytorch(x: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        return tiny_model(seed=3)(x)["out"].numpy()


def test_block_attention_equals_the_full_matrix() -> None:
    generator = torch.Generator().manual_seed(0)
    n = 2 * BLOCK_ROWS + 77  # three blocks, the last one short
    q = torch.randn(2, n, 8, generator=generator)  # (B, N, C/8)
    k = torch.randn(2, 8, n, generator=generator)  # (B, C/8, N)
    v = torch.randn(2, 64, n, generator=generator)  # (B, C, N)
    assert torch.allclose(_attend_blocks(q, k, v), _attend_naive(q, k, v), atol=1e-5)


def test_fixed_size_export_unrolls_position_attention_into_blocks(checkpoint: Path, tmp_path: Path) -> None:
    # 192 x 256 at output stride 8: N = 24 x 32 = 768 positions -> two query blocks of PAM
    result = export_model(checkpoint, tmp_path / "blocks.onnx", size=(192, 256))
    graph = onnx.load(str(result.path)).graph
    softmaxes = [node for node in graph.node if node.op_type == "Softmax"]
    assert len(softmaxes) == 2 + 1  # two PAM blocks and the channel attention
    assert result.max_relative_diff < 1e-4
    x = torch.randn(1, 3, 192, 256, generator=torch.Generator().manual_seed(4))
    out = load_backend(result.path, device="cpu").forward(x).numpy()
    assert np.abs(out - _pytorch(x)).max() < 1e-4


def test_export_caches_the_optimised_graph_which_matches_pytorch(exported, monkeypatch) -> None:
    from danet.backends.onnx_session import SessionSettings, cached_model_path

    result, home = exported
    monkeypatch.setenv("DANET_HOME", home)
    cached = cached_model_path(result.path, ort, SessionSettings())
    assert cached.is_file()  # written while the export was checked
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(str(cached), options, providers=["CPUExecutionProvider"])
    assert {node.op_type for node in onnx.load(str(cached)).graph.node} & {"FusedConv", "ReorderInput"}
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(5))
    out = session.run(None, {"input": x.numpy()})[0]
    assert np.abs(out - _pytorch(x)).max() < 1e-4
    backend = load_backend(result.path, device="cpu")  # from the cache now
    assert np.abs(backend.forward(x).numpy() - out).max() < 1e-5
    assert backend.meta.extra["model_config"]["name"] == "danet_resnet18"


def test_every_optimisation_level_gives_the_same_logits(exported) -> None:
    path = exported[0].path
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(6))
    expected = _pytorch(x)
    for level in ("disable", "basic", "extended", "all"):
        backend = load_backend(path, device="cpu", optimization=level, arena=False, spinning=False)
        assert np.abs(backend.forward(x).numpy() - expected).max() < 1e-4, level


def test_profile_names_the_top_operators(exported, tmp_path: Path) -> None:
    from danet.backends.onnx_session import top_operators

    path = exported[0].path
    backend = load_backend(path, device="cpu", profile=str(tmp_path / "profile"), cache=False)
    backend.forward(torch.zeros(1, 3, 64, 64))
    rows = top_operators(backend.session.end_profiling())
    assert rows and rows[0][0] == "Conv" and rows[0][1] > 0 and 0 < rows[0][2] <= 1
    assert all(rows[i][1] >= rows[i + 1][1] for i in range(len(rows) - 1))


def test_unknown_session_options_are_refused(exported) -> None:
    path = exported[0].path
    with pytest.raises(ConfigError, match="optimization"):
        load_backend(path, device="cpu", optimization="fastest")
    with pytest.raises(BackendError, match="unknown onnxruntime option"):
        load_backend(path, device="cpu", intra_threads=2)
    with pytest.raises(BackendError, match="--compile applies to the torch backend"):
        load_backend(path, device="cpu", compile=True)


def test_compile_reaches_torch_compile_with_freezing(checkpoint: Path, monkeypatch) -> None:
    seen = {}

    def fake_compile(model: nn.Module, **kwargs):
        seen.update(kwargs)
        return model

    monkeypatch.setattr(torch, "compile", fake_compile)
    backend = load_backend(checkpoint, device="cpu", precision="fp32", compile=True)
    assert backend.compiled and seen == {"options": {"freezing": True}}
    assert not any(p.requires_grad for p in backend.model.parameters())


def test_compiled_model_matches_eager() -> None:
    from danet.backends.torch_backend import compile_for_inference

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU()).eval()
    x = torch.randn(1, 3, 16, 16)
    with torch.inference_mode():
        expected = model(x)
        try:
            got = compile_for_inference(model)(x)
        except Exception as error:  # noqa: BLE001 - no working compiler toolchain here
            pytest.skip(f"torch.compile is unavailable here: {type(error).__name__}")
    assert torch.allclose(got, expected, atol=1e-5)
