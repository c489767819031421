"""Properties of the pictures: readable text under OpenCV 4 and 5, colour scales, legends, curves.

The OpenCV 4 text path (Hershey strokes drawn 4x and shrunk) is exercised here under whichever
OpenCV is installed by switching `_draw.NATIVE_TEXT`; `DANET_OTHER_OPENCV_PYTHON` may name a Python
whose OpenCV has the other major version to render every figure with it as well.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from danet.visualization import _draw
from danet.visualization.attention_maps import AttentionResult, ChannelMaps, PositionMaps
from danet.visualization.charts import LINE_COLOURS
from danet.visualization.colorize import (
    LegendEntry,
    draw_legend,
    legend_entries,
    legend_text_height,
    share_text,
)
from danet.visualization.curves import curve_panels, ema, runs_figure
from danet.visualization.figures import attention_figure, attention_scales, confusion_figure
from danet.visualization.heatmap import colour_map
from danet.visualization.matrix import cell_text, matrix_body
from danet.visualization.palette import palette_table

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(params=[True, False], ids=["native-text", "supersampled-text"])
def text_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    monkeypatch.setattr(_draw, "NATIVE_TEXT", request.param)
    return request.param


def _ink_box(image: np.ndarray) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of the non-white pixels, inclusive."""
    ys, xs = np.nonzero(image.min(axis=2) < 250)
    return int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())


def test_text_is_anti_aliased_with_a_solid_core(text_mode):
    image = _draw.canvas(40, 300)
    _draw.put_text(image, "Validation mIoU 81.70%", (4, 4), _draw.scale_for(12), colour=_draw.BLACK, box=None)
    grey = image[..., 0]
    assert (grey < 60).sum() > 150  # strokes dark enough to read
    assert ((grey > 60) & (grey < 200)).sum() > 100  # smooth edges, not jagged one-pixel strokes


def test_text_stays_inside_the_box_text_size_reports(text_mode):
    scale = _draw.scale_for(14)
    image = _draw.canvas(60, 400)
    box_w, box_h = _draw.put_text(image, "Agjy <1% vegetation", (10, 10), scale, colour=_draw.BLACK, box=None)
    x0, y0, x1, y1 = _ink_box(image)
    assert x0 >= 10 and y0 >= 10 - 1
    assert x1 <= 10 + box_w and y1 <= 10 + box_h
    assert y1 - y0 >= 14  # capitals and descenders are as tall as asked


def test_text_near_the_edge_is_clipped_not_an_error(text_mode):
    image = _draw.canvas(20, 30)
    _draw.put_text(image, "a long label", (20, 0), _draw.scale_for(12), colour=_draw.BLACK, box=None)
    assert image.shape == (20, 30, 3) and image.min() < 128  # the start drawn, the rest cut off


def test_viridis_brightens_and_blues_darkens_monotonically():
    ramp = np.linspace(0, 1, 64)[None]
    luma = np.array([0.299, 0.587, 0.114])
    viridis = colour_map(ramp, vmin=0, vmax=1, colormap="viridis")[0] @ luma
    blues = colour_map(ramp, vmin=0, vmax=1, colormap="blues")[0] @ luma
    assert np.all(np.diff(viridis) >= -1e-9) and viridis[-1] - viridis[0] > 150
    assert np.all(np.diff(blues) <= 1e-9) and blues[0] > 245  # zero looks like paper


def test_cells_that_would_read_zero_are_blank():
    assert cell_text(0.0) == cell_text(0.004) == cell_text(float("nan")) == ""
    assert cell_text(0.005) == "0.01" and cell_text(0.8567) == "0.86"


def test_tiny_confusion_cells_are_plain_colour_and_large_ones_hold_a_number():
    values = np.array([[0.997, 0.003], [0.2, 0.8]])
    body = matrix_body(values, 48, vmin=0.0, vmax=1.0)
    tiny, large = body[0:48, 48:96], body[48:96, 0:48]
    assert len(np.unique(tiny.reshape(-1, 3), axis=0)) == 1
    assert len(np.unique(large.reshape(-1, 3), axis=0)) > 2


def test_confusion_figure_rows_are_shares_and_empty_rows_grey():
    confusion = np.array([[90, 10, 0], [0, 0, 0], [5, 0, 95]], float)
    figure = confusion_figure(confusion, ["a", "b", "c"])
    assert figure.ndim == 3 and figure.dtype == np.uint8
    assert (figure == (200, 200, 200)).all(axis=2).sum() >= 3 * 48 * 48 * 0.8  # row b: no pixels


def _attention_result() -> AttentionResult:
    rng = np.random.default_rng(0)
    rows = rng.random((3, 4, 5))
    rows = rows / rows.reshape(3, -1).sum(axis=1)[:, None, None]
    rows[2] *= 0.25  # one point's weights far below the others: a per-point scale would hide it
    maps = np.stack([cv2.resize(r, (40, 32), interpolation=cv2.INTER_LINEAR) for r in rows])
    position = PositionMaps([(4, 4), (20, 30), (28, 8)], [(0, 0), (2, 3), (3, 1)], rows, maps)
    matrix = rng.random((6, 6))
    channel = ChannelMaps(
        matrix / matrix.sum(axis=1, keepdims=True), 1, [2, 4], [1.5, 0.7], rng.random((2, 32, 40))
    )
    image = rng.integers(0, 255, (32, 40, 3), dtype=np.uint8)
    return AttentionResult(image, np.ones((32, 40), np.int64), position, channel)


def test_attention_panels_share_one_scale_per_kind():
    result = _attention_result()
    scales = attention_scales(result)
    assert scales["position"] == (float(result.position.rows.min()), float(result.position.rows.max()))
    assert scales["matrix"] == (0.0, float(result.channel.matrix.max()))
    low, high = scales["channel"]
    assert -5 < low < 0 < high < 5  # standard units, shared by every channel map
    figure = attention_figure(result, ["a", "b"], palette_table(None, 2), panel=64)
    assert figure.ndim == 3 and figure.shape[1] > 5 * 64


def test_shares_under_one_percent_never_read_zero():
    assert share_text(0.004) == "<1%" and share_text(1e-7) == "<1%"
    assert share_text(0.0) == "0%" and share_text(0.5) == "50%" and share_text(0.012) == "1%"
    assert share_text(0.996) == ">99%" and share_text(1.0) == "100%"


def test_legend_stays_within_its_share_of_a_small_frame():
    frame = np.full((120, 160, 3), 255, np.uint8)
    entries = [LegendEntry(f"class number {i}", (200, 0, 0), 1 / 12) for i in range(12)]
    out = draw_legend(frame, entries)
    ys, xs = np.nonzero((out != 255).any(axis=2))
    assert xs.max() + 1 <= 0.45 * 160 and ys.max() + 1 <= 0.5 * 120
    assert out.shape == frame.shape


def test_legend_text_follows_the_frame_size_and_tiny_frames_get_none():
    assert legend_text_height(120, 160) == 7.0 and legend_text_height(1080, 1920) == 20.0
    assert legend_text_height(480, 640) == pytest.approx(480 / 28)
    tiny = np.full((24, 32, 3), 255, np.uint8)
    assert np.array_equal(draw_legend(tiny, [LegendEntry("road", (1, 2, 3), 1.0)]), tiny)


def test_legend_entries_give_a_small_class_its_own_row():
    mask = np.zeros((100, 100), np.int64)
    mask[0, :3] = 1  # 0.03 %
    entries = legend_entries(mask, ["road", "vegetation"], palette_table(None, 2))
    assert [(e.name, share_text(e.fraction)) for e in entries] == [("road", ">99%"), ("vegetation", "<1%")]


def test_ema_is_debiased_and_skips_gaps():
    np.testing.assert_allclose(ema([3.0, 3.0, 3.0], 0.9), [3.0, 3.0, 3.0])
    np.testing.assert_allclose(ema([1.0, 2.0], 0.0), [1.0, 2.0])
    smoothed = ema([1.0, float("nan"), 3.0], 0.5)
    assert smoothed[0] == 1.0 and np.isnan(smoothed[1]) and 1.0 < smoothed[2] < 3.0
    with pytest.raises(ValueError, match="smoothing"):
        ema([1.0], 1.0)


def _records(length: int, scale: float) -> list[dict[str, float]]:
    records: list[dict[str, float]] = [
        {"iteration": i, "loss": scale / (1 + i), "loss_out": scale / (2 + i), "lr": 0.01 * (1 - i / length)}
        for i in range(0, length, 5)
    ]
    return [*records, {"iteration": length - 1, "miou": 0.5 * scale}]


def test_several_runs_are_one_colour_each_on_every_panel():
    runs = {"baseline": _records(60, 1.0), "longer": _records(100, 0.8)}
    panels = curve_panels(runs, smooth=0.6)
    assert [p.title.split(" (")[0] for p in panels] == ["Training loss", "Learning rate", "Validation mIoU"]
    assert all(list(p.series) == ["baseline", "longer"] for p in panels)
    assert list(panels[0].raw) == ["baseline", "longer"]  # smoothed: the raw values are drawn too
    figure = runs_figure(runs, smooth=0.6)
    for colour in LINE_COLOURS[:2]:
        assert (figure == colour).all(axis=2).sum() > 100


def test_one_run_shows_every_loss_term():
    panels = curve_panels({"": _records(60, 1.0)})
    assert list(panels[0].series) == ["loss", "loss_out"] and not panels[0].raw


def _frame_columns(band: np.ndarray) -> list[int]:
    """Columns holding a long vertical black line: the left and right edges of the plot frame."""
    dark = (band.max(axis=2) < 40).sum(axis=0)
    return [int(x) for x in np.nonzero(dark > band.shape[0] * 0.5)[0]]


def test_stacked_panels_share_the_plot_area_and_the_x_range():
    runs = {"a": _records(40, 1.0), "b": _records(200, 30.0)}  # different x ranges, y label widths
    figure = runs_figure(runs, size=(300, 600))
    bands = [figure[8 + i * 312 : 8 + i * 312 + 300, 8:-8] for i in range(3)]
    frames = [_frame_columns(band) for band in bands]
    assert len(frames[0]) >= 2 and frames[0] == frames[1] == frames[2]


def test_text_under_the_other_opencv_major_version(tmp_path):
    """Set DANET_OTHER_OPENCV_PYTHON to a Python with the other OpenCV major (and this tree's
    dependencies) to render every figure there and check the text in them."""
    other = os.environ.get("DANET_OTHER_OPENCV_PYTHON")
    if not other:
        pytest.skip("DANET_OTHER_OPENCV_PYTHON is not set")
    script = (
        "import cv2, sys, numpy as np\n"
        "from danet.visualization import _draw\n"
        "print(cv2.__version__.split('.')[0])\n"
        "image = _draw.canvas(40, 300)\n"
        "_draw.put_text(image, 'mIoU 81.70%', (4, 4), _draw.scale_for(12), colour=(0, 0, 0), box=None)\n"
        "grey = image[..., 0]\n"
        "sys.exit(0 if (grey < 60).sum() > 80 and ((grey > 60) & (grey < 200)).sum() > 50 else 3)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([other, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() != cv2.__version__.split(".")[0]


def test_prediction_overlays_can_leave_the_legend_out():
    from danet.prediction.media import PredictionWriter
    from danet.visualization import overlay

    image = np.full((120, 160, 3), 120, np.uint8)
    mask = np.zeros((120, 160), np.int64)
    plain = PredictionWriter("overlay", num_classes=2, names=["road", "sky"], legend=False)
    assert np.array_equal(plain.render(image, mask), overlay(image, mask, plain.table))
    labelled = PredictionWriter("overlay", num_classes=2, names=["road", "sky"])
    assert not np.array_equal(labelled.render(image, mask), plain.render(image, mask))


def test_a_narrow_legend_cuts_names_but_keeps_the_count_of_hidden_classes():
    from danet.visualization.colorize import _shorten

    scale = _draw.scale_for(7)
    room = _draw.text_size("road 38%", scale)[0]
    assert _shorten(("road", "38%", (0, 0, 0)), scale, room) == "road 38%"
    assert _shorten(("sky", "<1%", (0, 0, 0)), scale, room) == "sky <1%"
    cut = _shorten(("vegetation", "25%", (0, 0, 0)), scale, room)
    assert cut.startswith("veg") and cut.endswith("..") and _draw.text_size(cut, scale)[0] <= room
    assert _shorten(("+15 more", "", (0, 0, 0)), scale, _draw.text_size("+15", scale)[0]) == "+15"
