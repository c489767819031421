"""Pictures of masks, attention, confusion matrices and training curves, drawn with OpenCV.

`palette`, `colorize`, `heatmap`, `charts` and `figures` need only numpy and OpenCV; `attention`
(which runs a model) imports torch and is loaded on its own.
"""

from danet.visualization.charts import labelled_matrix, line_chart, matrix_heat
from danet.visualization.colorize import (
    LegendEntry,
    colorize,
    draw_legend,
    legend_entries,
    legend_panel,
    legend_text_height,
    overlay,
    share_text,
)
from danet.visualization.curves import ema
from danet.visualization.figures import (
    attention_figure,
    attention_scales,
    confusion_figure,
    curves_figure,
    overlay_figure,
    read_evaluation,
    read_metrics,
    runs_figure,
)
from danet.visualization.heatmap import colour_bar, colour_map, heat_overlay, mark_point
from danet.visualization.palette import class_names, palette_table

__all__ = [
    "LegendEntry",
    "attention_figure",
    "attention_scales",
    "class_names",
    "colorize",
    "colour_bar",
    "colour_map",
    "confusion_figure",
    "curves_figure",
    "draw_legend",
    "ema",
    "heat_overlay",
    "labelled_matrix",
    "legend_entries",
    "legend_panel",
    "legend_text_height",
    "line_chart",
    "mark_point",
    "matrix_heat",
    "overlay",
    "overlay_figure",
    "palette_table",
    "read_evaluation",
    "read_metrics",
    "runs_figure",
    "share_text",
]
