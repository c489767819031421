"""Channels-last (NHWC) inference: on by default where it measured faster, same predictions, and a
flag on predict, evaluate and benchmark to choose."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from danet.backends.torch_backend import TorchBackend
from danet.benchmark import BenchmarkSettings, run_benchmark
from danet.devices import Precision, default_channels_last
from danet.image_io import read_mask
from danet_cli.app import app
from tests._predict_helpers import random_rgb, tiny_model, write_bgr, write_checkpoint


def _precision(name: str, device_type: str) -> Precision:
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[name]
    return Precision(name, dtype, device_type)


@pytest.mark.parametrize(
    ("device", "precision", "expected"),
    [
        ("cpu", "fp32", True),  # oneDNN: 1.08x measured
        ("cpu", "bf16", True),  # 1.13x measured
        ("cuda", "bf16", True),  # 1.18x on an H100
        ("cuda", "fp16", True),
        ("cuda", "fp32", False),  # not measured: stays NCHW
        ("mps", "fp32", False),
    ],
)
def test_default_follows_the_measurements(device: str, precision: str, expected: bool) -> None:
    assert default_channels_last(torch.device(device), _precision(precision, device)) is expected


def _is_nhwc(model: torch.nn.Module) -> bool:
    weights = [p for p in model.parameters() if p.dim() == 4]
    return all(w.is_contiguous(memory_format=torch.channels_last) for w in weights) and bool(weights)


def test_cpu_backend_runs_channels_last_unless_told_and_predicts_the_same() -> None:
    x = torch.randn(2, 3, 64, 96, generator=torch.Generator().manual_seed(1))
    auto = TorchBackend(tiny_model(seed=2), device="cpu")
    plain = TorchBackend(tiny_model(seed=2), device="cpu", channels_last=False)
    assert auto.channels_last and _is_nhwc(auto.model)
    assert not plain.channels_last and not _is_nhwc(plain.model)
    a, b = auto.forward(x), plain.forward(x)
    assert a.shape == b.shape == (2, 19, 64, 96)
    assert torch.allclose(a, b, atol=1e-4, rtol=1e-4)
    assert torch.equal(a.argmax(1), b.argmax(1))


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_checkpoint(tmp_path_factory.mktemp("ck") / "tiny.pt", seed=5)


@pytest.mark.parametrize("flag", ["--channels-last", "--no-channels-last"])
def test_predict_flag_gives_the_same_mask(checkpoint: Path, tmp_path: Path, flag: str) -> None:
    image = write_bgr(tmp_path / "photo.png", random_rgb(48, 80, seed=3)[..., ::-1])
    runner, base = CliRunner(), ["predict", str(image), "-c", str(checkpoint)]
    default = runner.invoke(app, [*base, "-o", str(tmp_path / "a.png")])
    chosen = runner.invoke(app, [*base, "-o", str(tmp_path / "b.png"), flag])
    assert default.exit_code == 0, default.output
    assert chosen.exit_code == 0, chosen.output
    a, b = read_mask(tmp_path / "a.png"), read_mask(tmp_path / "b.png")  # class ids of the palette PNGs
    assert a.shape == (48, 80) and np.array_equal(a, b)


def test_python_api_passes_the_choice_to_the_backend(checkpoint: Path, tmp_path: Path, monkeypatch) -> None:
    import danet

    seen: list[bool] = []
    original = TorchBackend.__init__

    def spy(self, *args, **kwargs) -> None:
        original(self, *args, **kwargs)
        seen.append(self.channels_last)

    monkeypatch.setattr(TorchBackend, "__init__", spy)
    image = write_bgr(tmp_path / "photo.png", random_rgb(32, 32, seed=4)[..., ::-1])
    danet.predict(image, checkpoint=checkpoint, output=tmp_path / "m.png", device="cpu", channels_last=False)
    danet.predict(image, checkpoint=checkpoint, output=tmp_path / "n.png", device="cpu")
    assert seen == [False, True]


def test_benchmark_records_the_resolved_memory_format(tmp_path: Path) -> None:
    settings = BenchmarkSettings(model="danet_resnet18", size=(64, 64), device="cpu", warmup=0, repeats=1)
    settings = BenchmarkSettings(**{**settings.__dict__, "conv_probe": False})
    assert settings.channels_last is None
    assert run_benchmark(settings, isolate=False)["settings"]["channels_last"] is True
    off = settings.with_override("channels_last=false")
    assert run_benchmark(off, isolate=False)["settings"]["channels_last"] is False
    assert off.with_override("channels_last=auto").channels_last is None


def test_benchmark_cli_no_channels_last(tmp_path: Path) -> None:
    out = tmp_path / "b.json"
    args = ["benchmark", "--model", "danet_resnet18", "--size", "64", "64", "--warmup", "0", "--repeats", "1"]
    args += ["--device", "cpu", "--no-channels-last", "--no-conv-probe", "--in-process", "--json", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["settings"]["channels_last"] is False


@pytest.mark.parametrize(
    ("compare", "hint"),
    [("channels_last=true", True), ("pam=efficient", False)],  # both already what A runs on the CPU
)
def test_comparing_with_what_a_already_runs_warns(compare: str, hint: bool) -> None:
    args = ["benchmark", "--model", "danet_resnet18", "--size", "32", "32", "--warmup", "0", "--repeats", "1"]
    args += ["--device", "cpu", "--no-conv-probe", "--in-process", "--compare", compare]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert f"A and B ran the same settings ({compare} is what A already ran)" in text
    assert ("--no-channels-last" in text) is hint


def test_predictor_takes_the_memory_format_and_compile(checkpoint: Path, monkeypatch) -> None:
    import danet.backends.torch_backend as torch_backend
    from danet import Predictor

    compiled: list[bool] = []
    monkeypatch.setattr(torch_backend, "compile_for_inference", lambda model: compiled.append(True) or model)
    plain = Predictor(checkpoint, device="cpu", channels_last=False)
    fast = Predictor(checkpoint, device="cpu", compile=True)
    assert plain.backend.channels_last is False and fast.backend.channels_last is True
    assert compiled == [True]
    image = random_rgb(40, 56, seed=6)
    assert np.array_equal(plain.predict(image), fast.predict(image))
