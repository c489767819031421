"""`danet benchmark` and `danet.benchmark`: records, comparisons, settings parsing (no timing asserts)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn
from typer.testing import CliRunner

from danet.benchmark import RESULT_KEYS, BenchmarkSettings, merge_runs, run_benchmark
from danet.benchmark.flops import conv_flops, count_flops
from danet.errors import ConfigError
from danet_cli.app import app

TINY = ["--model", "danet_resnet18", "--size", "64", "64", "--repeats", "2", "--warmup", "1"]
NUMBER_KEYS = ("latency_ms", "min_ms", "images_per_s", "peak_mem_mb", "gflops", "gflops_per_s")


def invoke(*args: str):
    result = CliRunner().invoke(app, ["benchmark", *args])
    assert result.exit_code == 0, result.output
    return result


def test_json_record_has_every_key_with_sane_values(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    invoke(*TINY, "--json", str(out))
    record = json.loads(out.read_text())
    assert set(RESULT_KEYS) <= set(record)
    for key in NUMBER_KEYS:
        assert isinstance(record[key], float) and record[key] > 0, key
    assert isinstance(record["conv_gflops_per_s"], float) and record["conv_gflops_per_s"] > 0
    assert record["min_ms"] <= record["latency_ms"]
    assert len(record["times_ms"]) == 2
    # The default device is auto: the allocator's peak on a CUDA machine, the process's RSS elsewhere.
    on_cuda = record["environment"]["device"].startswith("cuda")
    assert (
        record["memory_kind"] == "cuda_max_allocated" if on_cuda else record["memory_kind"].startswith("cpu")
    )
    assert record["settings"]["model"] == "danet_resnet18"
    assert record["settings"]["size"] == [64, 64]


def test_compare_prints_both_rows_and_ratios(tmp_path: Path) -> None:
    out = tmp_path / "compare.json"
    result = invoke(*TINY, "--compare", "pam=naive", "--in-process", "--no-conv-probe", "--json", str(out))
    rows = [line for line in result.output.splitlines() if line.startswith(("│ A ", "│ B ", "│ B / A"))]
    assert len(rows) == 3, result.output
    assert "B = A with pam=naive" in result.output
    data = json.loads(out.read_text())
    assert data["baseline"]["settings"]["pam"] == "efficient"
    assert data["variant"]["settings"]["pam"] == "naive"
    assert data["ratios"]["latency_ms"] > 0


def test_pam_only_measures_position_attention(tmp_path: Path) -> None:
    out = tmp_path / "pam.json"
    invoke("--pam-only", "--size", "16", "16", "--channels", "64", "--repeats", "2", "--warmup", "1",
           "--no-conv-probe", "--threads", "1", "--json", str(out))  # fmt: skip
    record = json.loads(out.read_text())
    assert record["environment"]["threads"] == 1
    # Per image: q, k (C/8) and v (C) projections plus two N x N products, N = 256.
    n, c = 256, 64
    expected = 2 * n * c * (c // 8) * 2 + 2 * n * c * c + 2 * n * n * (c // 8) + 2 * n * n * c
    assert record["gflops"] * 1e9 == pytest.approx(expected)
    assert record["conv_gflops_per_s"] is None


def test_train_step_runs_and_counts_backward_flops() -> None:
    settings = BenchmarkSettings(model="danet_resnet18", size=(32, 32), warmup=0, repeats=1, conv_probe=False)
    inference = run_benchmark(settings, isolate=False)
    training = run_benchmark(BenchmarkSettings(**{**settings.__dict__, "train": True}), isolate=False)
    assert training["gflops"] > 2 * inference["gflops"]


def test_checkpoint_is_timed_through_its_backend(tmp_path: Path) -> None:
    from danet.checkpoints import save_checkpoint
    from danet.models import create_model

    path = tmp_path / "tiny.pt"
    save_checkpoint(path, create_model("fcn_resnet18", num_classes=3))
    out = tmp_path / "ckpt.json"
    invoke("--checkpoint", str(path), "--size", "32", "32", "--repeats", "1", "--warmup", "0",
           "--no-conv-probe", "--in-process", "--json", str(out))  # fmt: skip
    record = json.loads(out.read_text())
    expected = count_flops(lambda: create_model("fcn_resnet18", num_classes=3), (1, 3, 32, 32))
    assert record["gflops"] * 1e9 == pytest.approx(expected)


def test_worker_errors_come_back_as_one_line() -> None:
    result = CliRunner().invoke(app, ["benchmark", "--model", "danet_resnet7", "--size", "32", "32"])
    assert result.exit_code == 1
    assert "danet_resnet7" in result.output


def test_override_parses_each_kind_of_setting() -> None:
    base = BenchmarkSettings()
    assert base.with_override("pam=naive").pam == "naive"
    assert base.with_override("channels-last=true").channels_last is True
    assert base.with_override("batch=4").batch == 4
    assert base.with_override("size=128x256").size == (128, 256)
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        base.with_override("speed=fast")
    with pytest.raises(ConfigError, match="precision"):
        base.with_override("precision=fp8")


def test_settings_reject_contradictions() -> None:
    with pytest.raises(ConfigError, match="--backend needs --checkpoint"):
        BenchmarkSettings(backend="onnxruntime")
    with pytest.raises(ConfigError, match="--train"):
        BenchmarkSettings(checkpoint="m.pt", train=True)


def test_merge_pools_repeats_and_keeps_the_larger_peak() -> None:
    settings = BenchmarkSettings(batch=2).to_dict()
    base = {"gflops": 10.0, "conv_gflops_per_s": 100.0, "settings": settings, "peak_mem_added_mb": 1.0}
    a = {**base, "times_ms": [10.0, 30.0], "peak_mem_mb": 5.0}
    b = {**base, "times_ms": [20.0, 40.0], "peak_mem_mb": 7.0}
    merged = merge_runs([a, b])
    assert merged["latency_ms"] == 25.0 and merged["min_ms"] == 10.0
    assert merged["peak_mem_mb"] == 7.0
    assert merged["images_per_s"] == pytest.approx(2 / 0.025)
    assert merged["gflops_per_s"] == pytest.approx(400.0)


def test_count_flops_matches_the_conv_formula() -> None:
    shape = (1, 8, 10, 12)
    assert count_flops(lambda: nn.Conv2d(8, 8, 3, padding=1, bias=False), shape) == conv_flops(shape)
    assert not torch.empty(0).is_meta  # counting leaves the default device alone


def test_help_documents_every_option() -> None:
    result = CliRunner().invoke(app, ["benchmark", "--help"], terminal_width=200)
    for flag in ("--model", "--size", "--batch", "--device", "--precision", "--channels-last", "--compile",
                 "--pam", "--train", "--json", "--warmup", "--repeats", "--checkpoint", "--backend",
                 "--pam-only", "--compare"):  # fmt: skip
        assert flag in result.output


class _FakeBackend:
    """A backend with no torch model behind it (like ONNX Runtime): FLOPs are then unknown."""

    name = "fake_bench"

    def __init__(self, path: str, **options: object) -> None:
        from danet.backends import ModelMeta

        self.meta, self.device, self.options = ModelMeta("danet_resnet18", 2), torch.device("cpu"), options

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        return torch.zeros(batch.shape[0], 2, *batch.shape[2:])


def test_any_backend_is_timed_through_forward(tmp_path: Path) -> None:
    from danet.backends import list_backends, register_backend

    if "fake_bench" not in list_backends():
        register_backend("fake_bench", _FakeBackend)
    (tmp_path / "m.bin").write_bytes(b"")  # the checkpoint spec is resolved before the backend opens it
    settings = BenchmarkSettings(
        checkpoint=str(tmp_path / "m.bin"), backend="fake_bench", size=(8, 8), warmup=0, repeats=1,
        conv_probe=False, threads=1,
    )  # fmt: skip
    record = run_benchmark(settings, isolate=False)
    assert record["gflops"] is None and record["gflops_per_s"] is None
    assert record["latency_ms"] > 0
