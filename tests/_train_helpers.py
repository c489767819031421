"""Shared bits of the training tests: a tiny synthetic run on the CPU and checkpoint comparison."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from typer.testing import CliRunner

from danet_cli.app import app

runner = CliRunner()

# 8 training and 2 validation images of 32 x 32, ResNet-18 DANet, batch 2: a couple of seconds per run.
TINY = [
    "--model", "danet_resnet18", "--batch-size", "2", "--crop-size", "32", "--workers", "0",
    "--device", "cpu", "--precision", "fp32", "--lr", "0.01",
    "--set", "dataset_options={size: 32, train_count: 8, val_count: 2}",
    "--set", "log_every=1", "--set", "scale_range=[0.75, 1.25]",
]  # fmt: skip


def train_cli(tmp_path: Path, *extra: str, dataset: str | None = "synthetic") -> Any:
    """`danet train synthetic` with the tiny settings into `tmp_path/runs`."""
    args = ["train", *([dataset] if dataset else []), *TINY, "--project", str(tmp_path / "runs"), *extra]
    return runner.invoke(app, args)


def load(path: Path) -> dict[str, Any]:
    return torch.load(path, map_location="cpu", weights_only=True)


def assert_same_tensors(a: Any, b: Any, where: str = "") -> None:
    """Recursively equal containers whose tensors are bit-identical (torch.equal)."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b), where
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), f"{where}: keys {a.keys()} != {b.keys()}"
        for key in a:
            assert_same_tensors(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same_tensors(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"
