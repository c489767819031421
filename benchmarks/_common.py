"""Helpers shared by the target scripts: memory guard, result rows, the final table."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

GIB = 1024**3


def available_gib() -> float:
    """MemAvailable from /proc/meminfo (inf where unknown)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024 / GIB
    except OSError:
        pass
    return float("inf")


def wait_for_memory(need_gib: float, patience_s: float = 600) -> None:
    """Block until `need_gib` GiB are available (other jobs share the machine); give up after a while."""
    deadline = time.monotonic() + patience_s
    while available_gib() < need_gib:
        if time.monotonic() > deadline:
            raise SystemExit(f"only {available_gib():.1f} GiB available, {need_gib} GiB needed; try later")
        print(f"waiting: {available_gib():.1f} GiB available, need {need_gib} GiB", flush=True)
        time.sleep(15)


@dataclass
class Row:
    """One line of the targets table."""

    target: str
    measured: str
    goal: str
    met: bool | None
    command: str


def print_table(rows: list[Row]) -> None:
    widths = [
        max(len(r.target) for r in rows),
        max(len(r.measured) for r in rows),
        max(len(r.goal) for r in rows),
    ]
    print()
    print(f"{'target':{widths[0]}}  {'measured':{widths[1]}}  {'goal':{widths[2]}}  met")
    for r in rows:
        met = "-" if r.met is None else ("yes" if r.met else "NO")
        print(f"{r.target:{widths[0]}}  {r.measured:{widths[1]}}  {r.goal:{widths[2]}}  {met}")
    print()
    for r in rows:
        print(f"{r.target}: {r.command}")


def save(rows: list[Row], details: dict[str, object], path: Path | None) -> None:
    if path is None:
        return
    data = {"rows": [asdict(r) for r in rows], "details": details}
    path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"wrote {path}")
