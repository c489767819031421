"""Whole-model targets: ResNet-101 full-resolution memory, conv efficiency, bf16 speed and agreement."""

from __future__ import annotations

import argparse
import glob
from dataclasses import replace

import numpy as np
import torch
from _common import Row, wait_for_memory

from danet.benchmark import BenchmarkSettings, merge_runs, run_benchmark
from danet.benchmark.runner import ratio

R50 = BenchmarkSettings(model="danet_resnet50", size=(512, 1024), channels_last=False, warmup=1, repeats=3)


def r101_memory(args: argparse.Namespace) -> tuple[list[Row], dict]:
    """danet_resnet101 (multi-grid) fp32 on 1x3x1024x2048 within 4 GB of added peak memory."""
    wait_for_memory(14)
    settings = BenchmarkSettings(
        model="danet_resnet101",
        multi_grid=True,
        size=(1024, 2048),
        channels_last=False,
        warmup=0,
        repeats=1,
        conv_probe=False,
    )
    record = run_benchmark(settings)
    added = record["peak_mem_added_mb"]
    measured = f"{added / 1024:.2f} GB added ({record['peak_mem_mb'] / 1024:.2f} GB peak RSS, "
    measured += f"{record['latency_ms'] / 1e3:.0f} s)"
    command = (
        "danet benchmark --model danet_resnet101 --multi-grid --size 1024 2048 --warmup 0 --repeats 1 "
        "--no-conv-probe"
    )
    return [Row("R101 1024x2048 fp32 added memory", measured, "<= 4 GB", added <= 4096, command)], record


def interleave(settings: list[BenchmarkSettings], rounds: int) -> list[dict]:
    """Run each settings `rounds` times, alternating between them, and merge each one's runs."""
    runs: list[list[dict]] = [[] for _ in settings]
    for _ in range(rounds):
        for i, s in enumerate(settings):
            runs[i].append(run_benchmark(s))
    return [merge_runs(r) for r in runs]


def conv_fraction(args: argparse.Namespace) -> tuple[list[Row], dict]:
    """danet_resnet50 fp32 at 512x1024 reaches >= 60% of the conv probe's GFLOP/s."""
    (record,) = interleave([R50], args.rounds)
    fraction = record["conv_fraction"]
    measured = (
        f"{100 * fraction:.0f}% ({record['gflops_per_s']:.0f} of {record['conv_gflops_per_s']:.0f} GFLOP/s)"
    )
    command = "danet benchmark --model danet_resnet50 --size 512 1024 --warmup 1 --repeats 3"
    return [
        Row("R50 512x1024 fp32 GFLOP/s / conv probe", measured, ">= 60%", fraction >= 0.6, command)
    ], record


def bf16(args: argparse.Namespace) -> tuple[list[Row], dict]:
    """bf16 (and bf16 + channels-last) vs fp32 speed on danet_resnet50 at 512x1024, and agreement."""
    variants = [R50, replace(R50, precision="bf16"), replace(R50, precision="bf16", channels_last=True)]
    variants.append(replace(R50, channels_last=True))
    fp32, plain, last, fp32_last = interleave(variants, args.rounds)
    rows = []
    base = "danet benchmark --model danet_resnet50 --size 512 1024 --warmup 1 --repeats 3"
    for name, record, flag in (("bf16", plain, ""), ("bf16 channels-last", last, " --channels-last")):
        speedup = ratio(fp32["latency_ms"], record["latency_ms"])
        best = ratio(fp32["min_ms"], record["min_ms"])
        measured = f"{speedup:.2f}x ({fp32['latency_ms']:,.0f} -> {record['latency_ms']:,.0f} ms; "
        measured += f"min-time ratio {best:.2f}x)"
        command = f"{base} --compare precision=bf16 --rounds {args.rounds}{flag}"
        rows.append(
            Row(f"R50 512x1024 {name} speed-up vs fp32", measured, ">= 1.5x", speedup >= 1.5, command)
        )
    agreement, note = prediction_agreement(find_checkpoint(args.checkpoint, args.workdir))
    rows.append(Row("bf16 pixel agreement with fp32", f"{100 * agreement:.2f}% ({note})", ">= 99%",
                    agreement >= 0.99, "--only bf16"))  # fmt: skip
    details = {"fp32": fp32, "bf16": plain, "bf16_channels_last": last, "fp32_channels_last": fp32_last}
    return rows, {**details, "agreement": agreement, "agreement_model": note}


def find_checkpoint(explicit: str | None, workdir: str) -> str | None:
    """The model to check agreement on: --checkpoint, the training target's run, or runs/train/*."""
    if explicit:
        return explicit
    found = sorted(glob.glob(f"{workdir}/train_synthetic/checkpoints/*.pt"))
    found += sorted(glob.glob("runs/train/*/checkpoints/best.pt"))
    return found[0] if found else None


def prediction_agreement(checkpoint: str | None) -> tuple[float, str]:
    """Share of pixels whose bf16 prediction (plain and channels-last) equals the fp32 one, on four
    synthetic 256x512 street scenes."""
    from danet.backends.torch_backend import TorchBackend
    from danet.checkpoints import load_model
    from danet.models import create_model

    if checkpoint:
        model, note = load_model(checkpoint), f"trained {checkpoint}"
    else:
        torch.manual_seed(0)
        model = create_model("danet_resnet50", num_classes=19)
        note = "randomly initialised danet_resnet50: no trained model found"
    images = torch.cat([scene(256, 512, seed) for seed in range(4)])
    masks = []
    for precision, channels_last in (("fp32", False), ("bf16", False), ("bf16", True)):
        backend = TorchBackend(model, device="cpu", precision=precision, channels_last=channels_last)
        masks.append(backend.forward(images).argmax(dim=1))
        model = model.to(memory_format=torch.contiguous_format)
    agreement = min((m == masks[0]).float().mean().item() for m in masks[1:])
    classes = masks[0].unique().numel()
    return agreement, f"{note}; fp32 predicts {classes} classes"


def scene(height: int, width: int, seed: int = 7) -> torch.Tensor:
    """A normalised synthetic street scene (1, 3, H, W), so predictions are not pure noise."""
    from danet.backends.base import IMAGENET_MEAN, IMAGENET_STD
    from danet.datasets._scenes import generate_scene

    image, _ = generate_scene(np.random.default_rng(seed), height, width)
    x = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32)).permute(2, 0, 1) / 255.0
    mean, std = torch.tensor(IMAGENET_MEAN)[:, None, None], torch.tensor(IMAGENET_STD)[:, None, None]
    return ((x - mean) / std).unsqueeze(0)
