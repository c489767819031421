"""Pipeline targets: batched evaluation vs the one-by-one loop, metric throughput, training data time."""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
from _common import Row
from _targets_model import scene

from danet.benchmark.one_by_one import compare_batched
from danet.inference import MULTI_SCALES, InferenceConfig


def evaluation(args: argparse.Namespace) -> tuple[list[Row], dict]:
    """Multi-scale + flip sliding-window evaluation of a 1024x2048 image: batched vs one by one.

    `--eval-size H W` shrinks the image and the official 768/512 windows together (same crop count).
    """
    from danet.backends.torch_backend import TorchBackend
    from danet.models import create_model

    torch.manual_seed(0)
    backend = TorchBackend(create_model(args.eval_model, num_classes=19), device="cpu")
    height, width = args.eval_size
    crop, stride = round(768 * height / 1024), round(512 * height / 1024)
    config = InferenceConfig(
        mode="slide", crop_size=(crop, crop), stride=(stride, stride), scales=MULTI_SCALES, flip=True,
        batch_size=args.eval_batch, align_corners=True,
    )  # fmt: skip
    result = compare_batched(scene(height, width), backend.forward, config, rounds=args.eval_rounds)
    times = result["times_s"]
    best = min(times["one_by_one"]) / min(times["batched"])
    measured = f"{result['speedup']:.2f}x ({result['one_by_one_s']:.0f} -> {result['batched_s']:.0f} s; "
    measured += f"min-time ratio {best:.2f}x; {result['forward_passes']} crops of {crop}, "
    measured += f"{args.eval_model}, batch {args.eval_batch})"
    command = f"--only eval --eval-model {args.eval_model} --eval-batch {args.eval_batch}"
    command += f" --eval-rounds {args.eval_rounds} --eval-size {height} {width}"
    agreement = result["pixel_agreement"]
    same = f"{100 * agreement:.4f}% equal"
    name = f"eval ms+flip {height}x{width} batched speed-up"
    rows = [
        Row(name, measured, ">= 1.5x", result["speedup"] >= 1.5, command),
        Row("eval batched vs one-by-one predictions", same, "100%", agreement == 1.0, command),
    ]
    return rows, result


def metric(args: argparse.Namespace) -> tuple[list[Row], dict]:
    """SegmentationMetric.update throughput on 2 x 1024 x 2048 batches (Mpixel/s), with torch's default
    threads and with one (on a busy machine, per-op thread synchronisation dominates this small work)."""
    generator = torch.Generator().manual_seed(0)
    shape = (2, 1024, 2048)
    target = torch.randint(0, 19, shape, generator=generator)
    target[:, :64] = 255  # some ignored pixels, as in Cityscapes
    pred = torch.randint(0, 19, shape, generator=generator)  # argmax output: int64
    cases = {
        "int64 pred, int64 target": (pred, target),
        "int64 pred, uint8 target": (pred, target.to(torch.uint8)),
        "uint8 pred, uint8 target": (pred.to(torch.uint8), target.to(torch.uint8)),
    }
    speeds = {}
    default_threads = torch.get_num_threads()
    for threads in sorted({default_threads, 1}, reverse=True):
        torch.set_num_threads(threads)
        for name, (pred, tgt) in cases.items():
            speeds[f"{name}, {threads} thread(s)"] = _metric_speed(pred, tgt)
    torch.set_num_threads(default_threads)
    best = max(speeds.values())
    measured = "; ".join(f"{name}: {v:.0f}" for name, v in speeds.items()) + " Mpixel/s"
    return [
        Row("metric update throughput", measured, ">= 300 Mpixel/s", best >= 300, "--only metric")
    ], speeds


def _metric_speed(pred: torch.Tensor, target: torch.Tensor) -> float:
    """Median Mpixel/s of `SegmentationMetric.update` over 15 calls."""
    from danet.metrics import SegmentationMetric

    m = SegmentationMetric(19)
    m.update(pred, target)
    times = []
    for _ in range(15):
        start = time.perf_counter()
        m.update(pred, target)
        times.append(time.perf_counter() - start)
    return pred.numel() / statistics.median(times) / 1e6


def training(args: argparse.Namespace) -> tuple[list[Row], dict]:
    """`danet train synthetic` on the CPU: mean data_time vs step_time from metrics.jsonl.

    The run (and its checkpoint, which the bf16 agreement check then uses) goes to
    `<workdir>/train_synthetic`, replaced on every call.
    """
    run = Path(args.workdir) / "train_synthetic"
    shutil.rmtree(run, ignore_errors=True)
    command = [
        sys.executable, "-m", "danet_cli", "train", "synthetic", "--device", "cpu",
        "--iters", str(args.train_iters), "--val-every", "0", "--set", "val.limit=4",
        "--project", str(run.parent), "--name", run.name,
    ]  # fmt: skip
    subprocess.run(command, check=True)
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    timed = [r for r in records if "data_time" in r]
    windows = timed[1:] or timed  # the first window includes start-up
    data = statistics.mean(r["data_time"] for r in windows)
    step = statistics.mean(r["step_time"] for r in windows)
    share = data / step
    measured = f"{100 * share:.1f}% (data {1e3 * data:.0f} ms, step {1e3 * step:.0f} ms per iteration)"
    cli = f"danet train synthetic --device cpu --iters {args.train_iters} --val-every 0 --set val.limit=4"
    return [Row("training data_time / step_time", measured, "< 10%", share < 0.1, cli)], {"records": records}
