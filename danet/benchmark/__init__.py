"""Speed and memory measurement: `danet benchmark` and the scripts in `benchmarks/`.

`run_benchmark(settings)` measures one workload in a fresh process (so CPU peak memory is that
workload's alone); `compare(a, b)` measures two settings interleaved and reports their ratios.
"""

from danet.benchmark.runner import RATIO_KEYS, Comparison, compare, merge_runs, run_benchmark
from danet.benchmark.settings import BenchmarkSettings

RESULT_KEYS = (
    "latency_ms",
    "min_ms",
    "images_per_s",
    "peak_mem_mb",
    "peak_mem_added_mb",
    "gflops",
    "gflops_per_s",
    "conv_gflops_per_s",
    "settings",
)

__all__ = [
    "RATIO_KEYS",
    "RESULT_KEYS",
    "BenchmarkSettings",
    "Comparison",
    "compare",
    "merge_runs",
    "run_benchmark",
]
