"""Training curves of one run or several: loss, learning rate and validation mIoU, stacked.

The panels share one x range (the first to the last iteration of every run) and one plot-area
geometry, so an iteration sits at the same x in every panel. With several runs, each run has one
colour on every panel and the legend names the runs; with one run, the loss panel shows every loss
term. Losses can be smoothed (exponential moving average); the raw values stay visible, faint.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from danet.visualization import _draw
from danet.visualization.charts import LINE_COLOURS, data_range, legend_width, line_chart, y_axis_width

LOSS_KEYS = ("loss", "loss_out", "loss_pam", "loss_cam", "loss_aux")
Records = Sequence[Mapping[str, Any]]
XY = tuple[list[float], list[float]]


@dataclass(frozen=True)
class Panel:
    """One chart of the figure: its titles and its named (x, y) series (raw ones are drawn faint)."""

    title: str
    ylabel: str
    series: dict[str, XY]
    raw: dict[str, XY]


def ema(values: Sequence[float], weight: float) -> np.ndarray:
    """Exponential moving average with bias correction (the first values are not pulled to 0).

    `weight` in [0, 1): 0 returns the values, 0.9 averages over about the last 10. NaN values stay
    NaN and do not enter the average.
    """
    if not 0.0 <= weight < 1.0:
        raise ValueError(f"smoothing weight must be in [0, 1), got {weight}")
    out = np.asarray(values, np.float64).copy()
    mean, norm = 0.0, 0.0
    for i, value in enumerate(out):
        if not math.isfinite(value):
            continue
        mean = weight * mean + (1.0 - weight) * value
        norm = weight * norm + (1.0 - weight)
        out[i] = mean / norm
    return out


def series(records: Records, key: str) -> XY:
    """(iterations, values) of `key` over the records that have it; non-numbers become NaN."""
    pairs = [(float(r["iteration"]), _number(r.get(key))) for r in records if key in r]
    return [x for x, _ in pairs], [y for _, y in pairs]


def _number(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number if math.isfinite(number) else math.nan


def _has(runs: Mapping[str, Records], key: str) -> bool:
    return any(key in r for records in runs.values() for r in records)


def _main_loss(records: Records) -> str | None:
    return next((k for k in LOSS_KEYS if any(k in r for r in records)), None)


def curve_panels(runs: Mapping[str, Records], *, smooth: float = 0.0) -> list[Panel]:
    """The panels the figure shows for `runs` (name -> metrics records); a single run may be unnamed."""
    several = len(runs) > 1
    losses: dict[str, XY] = {}
    for name, records in runs.items():
        keys = [_main_loss(records)] if several else [k for k in LOSS_KEYS if any(k in r for r in records)]
        losses.update({(name if several else key): series(records, key) for key in keys if key})
    smoothed = {n: (x, ema(y, smooth).tolist()) for n, (x, y) in losses.items()} if smooth else losses
    loss_title = "Training loss" + (f" (EMA {smooth:g}; raw values faint)" if smooth else "")
    panels = [Panel(loss_title, "loss", smoothed, losses if smooth else {})]
    for key, title, ylabel in (("lr", "Learning rate", "lr"), ("miou", "Validation mIoU", "mIoU")):
        if _has(runs, key):
            values = {(name if several else ylabel): series(r, key) for name, r in runs.items()}
            panels.append(Panel(title, ylabel, {n: xy for n, xy in values.items() if xy[0]}, {}))
    return panels


def runs_figure(
    runs: Mapping[str, Records], *, size: tuple[int, int] = (320, 640), smooth: float = 0.0
) -> np.ndarray:
    """Curves of several runs (name -> records) on one figure: one colour per run, named in legends."""
    panels = curve_panels(runs, smooth=smooth)
    every_x = [np.asarray(x, np.float64) for p in panels for x, _ in [*p.series.values(), *p.raw.values()]]
    x_range = data_range(every_x)
    left = max(y_axis_width({**p.series, **p.raw}, ylabel=p.ylabel) for p in panels)
    legends = [len(runs) > 1 or len(p.series) > 1 for p in panels]
    names = [n for p, shown in zip(panels, legends, strict=True) if shown for n in p.series]
    legend = legend_width(names) if names else 0
    colours = _colours(runs if len(runs) > 1 else {n: () for p in panels for n in p.series})
    charts = [
        line_chart(
            p.series,
            title=p.title,
            xlabel="iteration",
            ylabel=p.ylabel,
            size=size,
            x_range=x_range,
            left=left,
            legend=legend,
            colours=colours,
            raw=p.raw,
            show_legend=shown,
        )
        for p, shown in zip(panels, legends, strict=True)
    ]
    return _draw.border(_draw.vstack(charts, gap=12), 8)


def _colours(names: Mapping[str, Any]) -> dict[str, tuple[int, int, int]]:
    return {name: LINE_COLOURS[i % len(LINE_COLOURS)] for i, name in enumerate(names)}


def curves_figure(records: Records, *, size: tuple[int, int] = (320, 640), smooth: float = 0.0) -> np.ndarray:
    """Losses, learning rate and validation mIoU of one run against the iteration, one chart each."""
    return runs_figure({"": records}, size=size, smooth=smooth)
