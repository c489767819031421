"""Every command that takes a checkpoint accepts every kind of spec: a file, a run folder, a registered
weight name and an hf:// file (both downloaded from a local HTTP server), and nothing (the newest run)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from _data_helpers import make_folder_dataset, random_image, write_rgb
from _http_server import LocalServer, isolate_downloads
from _tiny_models import CLASSES, tiny_checkpoint
from typer.testing import CliRunner

from danet.checkpoints import load_model
from danet.download import Checksum, Source, extra_sources
from danet_cli.app import app

KINDS = ["file", "run", "name", "hf", "newest"]
runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, object]]:
    """A run folder under ./runs/train, the same checkpoint published by name and on a fake Hub."""
    isolate_downloads(monkeypatch, tmp_path / "home")
    monkeypatch.delenv("DANET_OFFLINE", raising=False)
    monkeypatch.chdir(tmp_path)
    data = make_folder_dataset(tmp_path / "data", CLASSES, {"train": 1, "val": 2}, size=(32, 40))
    run = tmp_path / "runs" / "train" / "exp"
    checkpoint = tiny_checkpoint(run / "checkpoints" / "best.pt", data_root=data)
    body = checkpoint.read_bytes()
    prefix = hashlib.sha256(body).hexdigest()[:8]
    filename = f"danet_tiny-{prefix}.pth"
    source = Source(
        "danet_tiny_cli",
        "weights",
        (f"https://download.openmmlab.com/danet/{filename}",),
        filename,
        checksums=(Checksum("sha256", prefix, "file name"),),
    )
    image = write_rgb(tmp_path / "photo.png", random_image(3, (32, 40)))
    with LocalServer() as server, extra_sources(source):
        server.serve(f"/danet/{filename}", body)
        server.serve("/someone/danet-tiny/resolve/main/best.pt", body)
        monkeypatch.setenv("DANET_MIRROR", server.url)
        monkeypatch.setenv("DANET_HF_ENDPOINT", server.url)
        specs = {
            "file": str(checkpoint),
            "run": str(run),
            "name": source.name,
            "hf": "hf://someone/danet-tiny/best.pt",
            "newest": None,
        }
        yield {"specs": specs, "image": image, "out": tmp_path / "out", "data": data}


def _spec(env: dict, kind: str, option: str | None = None) -> list[str]:
    spec = env["specs"][kind]
    if spec is None:
        return []
    return [option, spec] if option else [spec]


def _invoke(args: list[str]) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("kind", KINDS)
def test_evaluate(env: dict, kind: str) -> None:
    out = env["out"].with_suffix(".json")
    _invoke(["evaluate", *_spec(env, kind), "--device", "cpu", "--json", str(out)])
    scores = json.loads(out.read_text())
    assert scores["dataset"] == "folder" and scores["num_images"] == 2  # from the checkpoint's config
    assert scores["data_root"] == str(env["data"])


@pytest.mark.parametrize("kind", KINDS)
def test_predict(env: dict, kind: str) -> None:
    out = env["out"].with_suffix(".png")
    args = ["predict", str(env["image"]), *_spec(env, kind, "--checkpoint"), "-o", str(out)]
    _invoke([*args, "--device", "cpu"])
    assert out.is_file()


@pytest.mark.parametrize("kind", KINDS)
def test_export(env: dict, kind: str) -> None:
    out = env["out"].with_suffix(".torchscript.pt")
    _invoke(["export", *_spec(env, kind), "--format", "torchscript", "--size", "32", "40", "-o", str(out)])
    assert out.is_file()


@pytest.mark.parametrize("kind", KINDS)
def test_visualize_overlay(env: dict, kind: str) -> None:
    out = env["out"].with_suffix(".png")
    args = ["visualize", "overlay", str(env["image"]), *_spec(env, kind, "--checkpoint"), "-o", str(out)]
    if kind == "newest":
        args += ["--checkpoint", ""]  # overlay predicts only when asked; an empty spec means the newest run
    _invoke([*args, "--device", "cpu"])
    assert out.is_file()


@pytest.mark.parametrize("kind", KINDS)
def test_visualize_attention(env: dict, kind: str) -> None:
    out = env["out"].with_suffix(".png")
    args = ["visualize", "attention", str(env["image"]), *_spec(env, kind, "--checkpoint"), "-o", str(out)]
    _invoke([*args, "--device", "cpu", "--panel-size", "64"])
    assert out.is_file()


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "newest"])  # IN is required
def test_convert(env: dict, kind: str) -> None:
    out = env["out"].with_suffix(".pt")
    _invoke(["convert", *_spec(env, kind), str(out)])
    assert load_model(out).meta.class_names == tuple(CLASSES)


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "newest"])  # without --checkpoint: --model
def test_benchmark(env: dict, kind: str) -> None:
    out = env["out"].with_suffix(".json")
    args = ["benchmark", *_spec(env, kind, "--checkpoint"), "--size", "32", "40", "--device", "cpu"]
    _invoke([*args, "--warmup", "0", "--repeats", "1", "--no-conv-probe", "--in-process", "--json", str(out)])
    assert json.loads(out.read_text())["latency_ms"] > 0


def test_the_python_api_takes_every_kind(env: dict) -> None:
    outputs = [load_model(env["specs"][kind])(_batch())["out"] for kind in KINDS]
    for logits in outputs[1:]:
        assert np.allclose(logits.detach().numpy(), outputs[0].detach().numpy())


def _batch():
    import torch

    return torch.rand(1, 3, 32, 40, generator=torch.Generator().manual_seed(0))
