"""What a finished run leaves for people: the curves, the confusion matrix and the evaluation JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from danet.errors import DanetError
from danet.fileio import atomic_write_text
from danet.reporting import Reporter

CURVES_FILE = "curves.png"
CONFUSION_FILE = "confusion_matrix.png"
EVAL_FILE = "eval.json"


def write_final_outputs(
    folder: Path, result: Any, class_names: list[str], reporter: Reporter, **context: Any
) -> list[Path]:
    """curves.png from metrics.jsonl and, when `result` (the last validation) is given, eval.json and
    confusion_matrix.png. `context` (iteration, split, checkpoint) goes into the JSON. A picture that
    cannot be drawn is a warning: the checkpoints are already saved."""
    written = []
    try:
        written.append(_curves(folder))
        if result is not None:
            written.append(_eval_json(folder, result, class_names, context))
            written.append(_confusion(folder, result, class_names, context))
    except (DanetError, OSError, ValueError) as error:
        reporter.warning(f"could not write the end-of-run pictures in {folder}: {error}")
    return written


def _curves(folder: Path) -> Path:
    from danet.image_io import write_image
    from danet.visualization import curves_figure, read_metrics

    return write_image(folder / CURVES_FILE, curves_figure(read_metrics(folder)))


def _eval_json(folder: Path, result: Any, names: list[str], context: dict[str, Any]) -> Path:
    payload = {
        **result.to_json(names),
        **{k: str(v) if isinstance(v, Path) else v for k, v in context.items()},
    }
    path = folder / EVAL_FILE
    atomic_write_text(path, json.dumps(payload, indent=2) + "\n")
    return path


def _confusion(folder: Path, result: Any, names: list[str], context: dict[str, Any]) -> Path:
    from danet.image_io import write_image
    from danet.visualization import confusion_figure

    split, iteration = context.get("split", "val"), context.get("iteration")
    title = f"{split} at iteration {iteration}: confusion matrix (normalised by row)"
    return write_image(folder / CONFUSION_FILE, confusion_figure(result.confusion, names, title=title))
