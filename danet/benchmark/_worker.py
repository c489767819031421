"""Subprocess entry point: `python -m danet.benchmark._worker` reads settings (JSON) on stdin and
prints one result line (JSON) on stdout, so every measurement starts from a fresh process whose
peak memory belongs to that workload alone."""

from __future__ import annotations

import json
import sys

RESULT_PREFIX = "DANET_BENCHMARK_RESULT "


def main() -> int:
    from danet.benchmark.measure import measure
    from danet.benchmark.settings import BenchmarkSettings
    from danet.errors import DanetError

    try:
        settings = BenchmarkSettings.from_dict(json.loads(sys.stdin.read()))
        record: dict[str, object] = measure(settings)
        status = 0
    except DanetError as error:
        record = {"error": str(error), "error_type": type(error).__name__}
        status = 1
    print(RESULT_PREFIX + json.dumps(record), flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
