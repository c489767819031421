"""Run benchmarks in fresh processes, and compare two settings side by side (interleaved A, B, A, B)."""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

from danet import errors
from danet.benchmark._worker import RESULT_PREFIX
from danet.benchmark.settings import BenchmarkSettings
from danet.errors import DanetError
from danet.reporting import NullReporter, Reporter

# Result fields compared by `compare` (variant / baseline).
RATIO_KEYS = ("latency_ms", "min_ms", "images_per_s", "peak_mem_mb", "peak_mem_added_mb", "gflops_per_s")


def run_benchmark(settings: BenchmarkSettings, *, isolate: bool = True) -> dict[str, Any]:
    """Measure `settings`; with `isolate` (default) in a fresh Python process (exact peak memory)."""
    if not isolate:
        from danet.benchmark.measure import measure

        return measure(settings)
    command = [sys.executable, "-m", "danet.benchmark._worker"]
    proc = subprocess.run(
        command, input=json.dumps(settings.to_dict()), capture_output=True, text=True, env=dict(os.environ)
    )
    record = _parse_result(proc.stdout)
    if record is not None and "error" in record:
        raise _rebuild_error(record)
    if proc.returncode != 0 or record is None:
        raise DanetError(_failure_message(proc.returncode, proc.stderr))
    return record


def _parse_result(stdout: str) -> dict[str, Any] | None:
    for line in reversed(stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX) :])
    return None


def _rebuild_error(record: dict[str, Any]) -> DanetError:
    cls = getattr(errors, str(record.get("error_type")), DanetError)
    if not (isinstance(cls, type) and issubclass(cls, DanetError)) or cls is errors.UnknownNameError:
        cls = errors.ConfigError if cls is errors.UnknownNameError else DanetError
    return cls(str(record["error"]))


def _failure_message(code: int, stderr: str) -> str:
    if code < 0 and -code == getattr(signal, "SIGKILL", 9):
        return (
            "the benchmark process was killed (SIGKILL), most likely for running out of memory; "
            "try a smaller --size or --batch, or --pam efficient"
        )
    tail = "\n".join(stderr.strip().splitlines()[-12:])
    return f"the benchmark process failed (exit code {code}):\n{tail}"


@dataclass
class Comparison:
    """Two measured settings and the ratios variant / baseline of their main numbers."""

    baseline: dict[str, Any]
    variant: dict[str, Any]
    ratios: dict[str, float | None]

    def to_dict(self) -> dict[str, Any]:
        return {"baseline": self.baseline, "variant": self.variant, "ratios": self.ratios}


def compare(
    baseline: BenchmarkSettings,
    variant: BenchmarkSettings,
    *,
    rounds: int = 1,
    isolate: bool = True,
    reporter: Reporter | None = None,
) -> Comparison:
    """Measure both settings `rounds` times, interleaved, and merge each side's repeats."""
    reporter = reporter or NullReporter()
    runs: dict[str, list[dict[str, Any]]] = {"baseline": [], "variant": []}
    with reporter.progress("benchmark", total=2 * rounds) as task:
        for _ in range(rounds):
            for name, settings in (("baseline", baseline), ("variant", variant)):
                runs[name].append(run_benchmark(settings, isolate=isolate))
                task.advance(1)
    a, b = merge_runs(runs["baseline"]), merge_runs(runs["variant"])
    return Comparison(a, b, {key: ratio(b.get(key), a.get(key)) for key in RATIO_KEYS})


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def merge_runs(records: list[dict[str, Any]]) -> dict[str, Any]:
    """One record from several runs of the same settings: all repeats pooled, peaks maximised."""
    merged = dict(records[0])
    if len(records) == 1:
        return merged
    times = [t for r in records for t in r["times_ms"]]
    median = statistics.median(times)
    merged.update(
        times_ms=times,
        latency_ms=median,
        min_ms=min(times),
        images_per_s=merged["settings"]["batch"] / (median / 1e3),
        peak_mem_mb=max(r["peak_mem_mb"] for r in records),
        peak_mem_added_mb=max(r["peak_mem_added_mb"] for r in records),
        rounds=len(records),
    )
    convs = [r["conv_gflops_per_s"] for r in records if r["conv_gflops_per_s"]]
    merged["conv_gflops_per_s"] = statistics.median(convs) if convs else None
    gflops = merged["gflops"]
    merged["gflops_per_s"] = gflops / (median / 1e3) if gflops is not None else None
    fraction = merged["gflops_per_s"] and merged["conv_gflops_per_s"]
    merged["conv_fraction"] = merged["gflops_per_s"] / merged["conv_gflops_per_s"] if fraction else None
    return merged
