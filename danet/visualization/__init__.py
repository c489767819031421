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
    overlay,
)
from danet.visualization.figures import (
    attention_figure,
    confusion_figure,
    curves_figure,
    overlay_figure,
    read_evaluation,
    read_metrics,
)
from danet.visualization.heatmap import colour_bar, colour_map, heat_overlay, mark_point
from danet.visualization.palette import class_names, palette_table

__all__ = [
    "LegendEntry",
    "attention_figure",
    "class_names",
    "colorize",
    "colour_bar",
    "colour_map",
    "confusion_figure",
    "curves_figure",
    "draw_legend",
    "heat_overlay",
    "labelled_matrix",
    "legend_entries",
    "legend_panel",
    "line_chart",
    "mark_point",
    "matrix_heat",
    "overlay",
    "overlay_figure",
    "palette_table",
    "read_evaluation",
    "read_metrics",
]
