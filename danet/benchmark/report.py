"""Table rows for benchmark records, shared by the CLI and the scripts in `benchmarks/`."""

from __future__ import annotations

from typing import Any

COLUMNS = ("setting", "median ms", "min ms", "img/s", "peak MB", "added MB", "GFLOP/s", "of conv")


def _num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def describe(settings: dict[str, Any]) -> str:
    """A one-line label of the settings: workload, batch x size, precision and switches."""
    h, w = settings["size"]
    what = "pam-only" if settings["pam_only"] else settings.get("checkpoint") or settings["model"]
    parts = [what, f"{settings['batch']}x{h}x{w}", settings["precision"], f"pam={settings['pam']}"]
    for flag, text in (("channels_last", "channels-last"), ("compile", "compiled"), ("train", "train")):
        if settings[flag]:
            parts.append(text)
    return " ".join(parts)


def result_row(record: dict[str, Any], label: str | None = None) -> list[str]:
    fraction = record.get("conv_fraction")
    return [
        label or describe(record["settings"]),
        _num(record["latency_ms"]),
        _num(record["min_ms"]),
        _num(record["images_per_s"], 2),
        _num(record["peak_mem_mb"], 0),
        _num(record["peak_mem_added_mb"], 0),
        _num(record["gflops_per_s"]),
        "-" if fraction is None else f"{100 * fraction:.0f}%",
    ]


def ratio_row(ratios: dict[str, float | None], label: str = "ratio") -> list[str]:
    """The `variant / baseline` row of a comparison, aligned under `COLUMNS`."""

    def fmt(key: str) -> str:
        value = ratios.get(key)
        return "-" if value is None else f"{value:.3f}x"

    keys = ("latency_ms", "min_ms", "images_per_s", "peak_mem_mb", "peak_mem_added_mb", "gflops_per_s")
    return [label, *(fmt(k) for k in keys), ""]


def work_line(record: dict[str, Any]) -> str:
    """One sentence with the FLOPs per step and the conv probe, printed under the table."""
    gflops, conv = record.get("gflops"), record.get("conv_gflops_per_s")
    parts = [f"{gflops:,.1f} GFLOP per step" if gflops is not None else "FLOPs unknown for this backend"]
    if conv is not None:
        parts.append(f"3x3 conv probe {conv:,.1f} GFLOP/s at {record['settings']['precision']}")
    parts.append(f"device {record['environment']['device']}, {record['environment']['threads']} threads")
    return "; ".join(parts)
