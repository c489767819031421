"""Reproduce the performance targets of issue 7 on this machine and print the ratio table.

Every ratio is measured side by side in one run (A, B interleaved, medians), because CPU timings on a
shared machine drift. Heavy targets (naive PAM at 128 x 256 needs ~8.5 GB, ResNet-101 at 1024 x 2048
several GB) wait until enough memory is free and run once.

    python benchmarks/run_targets.py                      # everything (about an hour on 2 cores)
    python benchmarks/run_targets.py --only pam_small,metric --json targets.json
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Row, print_table, save, wait_for_memory  # noqa: E402
from _targets_model import bf16, conv_fraction, r101_memory  # noqa: E402
from _targets_pipeline import evaluation, metric, training  # noqa: E402

from danet.benchmark import BenchmarkSettings, compare  # noqa: E402

SCRIPT = "python benchmarks/run_targets.py --only"


def pam_full(args: argparse.Namespace) -> tuple[list[Row], dict]:
    """Efficient vs naive PAM on 1x512x128x256: memory <= 1/20, time <= 1.0x."""
    wait_for_memory(14)
    base = BenchmarkSettings(pam_only=True, size=(128, 256), warmup=1, repeats=2, conv_probe=False)
    result = compare(base, base.with_override("pam=naive"), rounds=args.rounds)
    a, b = result.baseline, result.variant
    mem = a["peak_mem_added_mb"] / b["peak_mem_added_mb"]
    speed = a["latency_ms"] / b["latency_ms"]
    command = "danet benchmark --pam-only --size 128 256 --warmup 1 --repeats 2 --compare pam=naive"
    command += f" --rounds {args.rounds} --no-conv-probe"
    rows = [
        Row("PAM 128x256 memory efficient/naive", _mem_ratio(a, b, mem), "<= 0.050", mem <= 0.05, command),
        Row("PAM 128x256 time efficient/naive", _time_ratio(a, b, speed), "<= 1.00", speed <= 1.0, command),
    ]
    return rows, result.to_dict()


def pam_small(args: argparse.Namespace) -> tuple[list[Row], dict]:
    """Efficient vs naive PAM on 1x512x64x64: time <= 1.1x."""
    base = BenchmarkSettings(pam_only=True, size=(64, 64), warmup=3, repeats=10, conv_probe=False)
    result = compare(base, base.with_override("pam=naive"), rounds=max(3, args.rounds))
    a, b = result.baseline, result.variant
    speed = a["latency_ms"] / b["latency_ms"]
    command = "danet benchmark --pam-only --size 64 64 --warmup 3 --repeats 10 --compare pam=naive"
    command += f" --rounds {max(3, args.rounds)} --no-conv-probe"
    rows = [Row("PAM 64x64 time efficient/naive", _time_ratio(a, b, speed), "<= 1.10", speed <= 1.1, command)]
    return rows, result.to_dict()


def _mem_ratio(a: dict, b: dict, value: float) -> str:
    return f"{value:.3f} ({a['peak_mem_added_mb']:,.0f} / {b['peak_mem_added_mb']:,.0f} MB added)"


def _time_ratio(a: dict, b: dict, value: float) -> str:
    best = a["min_ms"] / b["min_ms"]
    return f"{value:.3f} ({a['latency_ms']:,.0f} / {b['latency_ms']:,.0f} ms; min-time ratio {best:.3f})"


# In this order by default: the training run leaves the checkpoint the bf16 agreement check uses.
TARGETS = {
    "pam_full": pam_full,
    "pam_small": pam_small,
    "r101": r101_memory,
    "train": training,
    "conv": conv_fraction,
    "bf16": bf16,
    "eval": evaluation,
    "metric": metric,
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", default=",".join(TARGETS), help=f"comma-separated: {', '.join(TARGETS)}")
    parser.add_argument("--rounds", type=int, default=2, help="A/B alternations per comparison")
    parser.add_argument("--json", type=Path, default=None, help="write rows and raw records here")
    parser.add_argument("--checkpoint", default=None, help="trained model for the bf16 agreement check")
    parser.add_argument("--eval-model", default="danet_resnet18", help="model of the evaluation target")
    parser.add_argument("--eval-batch", type=int, default=8, help="batch size of batched evaluation")
    parser.add_argument(
        "--eval-size", type=int, nargs=2, default=(1024, 2048), metavar=("H", "W"),
        help="image of the eval target (windows scale with it)",
    )  # fmt: skip
    parser.add_argument(
        "--eval-rounds", type=int, default=1, help="A/B alternations of the (slow) eval target"
    )
    parser.add_argument("--train-iters", type=int, default=150, help="iterations of the training target")
    parser.add_argument("--workdir", default="runs/benchmark", help="where the training target's run goes")
    args = parser.parse_args()
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = sorted(set(names) - set(TARGETS))
    if unknown:
        parser.error(f"unknown target(s) {unknown}; choose from {', '.join(TARGETS)}")
    rows: list[Row] = []
    details: dict[str, object] = {}
    for name in names:
        print(f"== {name}", flush=True)
        new_rows, details[name] = TARGETS[name](args)
        for row in new_rows:
            if row.command.startswith("--only"):
                row.command = f"{SCRIPT} {row.command[len('--only ') :]}"
        rows.extend(new_rows)
        print_table(new_rows)
    print("== all targets")
    print_table(rows)
    save(rows, details, args.json)


if __name__ == "__main__":
    main()
