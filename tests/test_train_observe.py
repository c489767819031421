"""What a run shows and leaves: log lines on redirected stdout, results.csv, TensorBoard events, the
end-of-run pictures and eval.json, and a lean best.pt."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
import torch
from _train_helpers import load, runner, train_cli

from danet.checkpoints import load_model
from danet.datasets.synthetic import CLASS_NAMES
from danet.training.checkpointing import TRAINING_STATE_KEYS
from danet_cli.app import app

IOU_COLUMNS = [f"iou_{name}" for name in CLASS_NAMES]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """4 iterations validated at 2 and 4, TensorBoard on, fp16 best.pt; (run folder, its output)."""
    tmp = tmp_path_factory.mktemp("observe")
    result = train_cli(
        tmp, "--iters", "4", "--val-every", "2", "--data-root", str(tmp / "data"), "--logger", "tensorboard",
        "--half",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return tmp / "runs" / "synthetic", result.output


def rows(run: Path) -> list[dict[str, str]]:
    with open(run / "results.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_redirected_output_shows_a_line_per_log_step(run) -> None:
    _, output = run
    text = " ".join(output.split())  # the console may fold long lines at its width
    steps = re.findall(r"iter (\d)/4 loss [\d.]+ .*? lr \S+ [\d.]+ it/s eta \S+ data \S+s step \S+s", text)
    assert steps == ["1", "2", "3", "4"]


def test_results_csv_has_a_row_per_log_step_and_validation_with_class_columns(run) -> None:
    folder, _ = run
    table = rows(folder)
    assert [(r["kind"], r["iteration"]) for r in table] == [
        ("train", "1"), ("train", "2"), ("val", "2"), ("train", "3"), ("train", "4"), ("val", "4"),
    ]  # fmt: skip
    header = list(table[0])
    assert header[:3] == ["kind", "iteration", "loss"] and header[-len(IOU_COLUMNS) :] == IOU_COLUMNS
    assert float(table[0]["loss"]) > 0 and float(table[0]["it_per_s"]) > 0 and table[0]["val_miou"] == ""
    final = table[-1]
    metrics = json.loads((folder / "eval.json").read_text())
    assert float(final["val_miou"]) == pytest.approx(metrics["miou"], abs=1e-5)
    for name in CLASS_NAMES:
        expected, cell = metrics["per_class_iou"][name], final[f"iou_{name}"]
        assert cell == "" if expected is None else float(cell) == pytest.approx(expected, abs=1e-5)


def test_the_run_folder_holds_curves_confusion_matrix_and_eval_json(run) -> None:
    folder, _ = run
    from danet.image_io import read_image

    for name in ("curves.png", "confusion_matrix.png"):
        picture = read_image(folder / name)
        assert picture.ndim == 3 and min(picture.shape[:2]) > 100, name
    metrics = json.loads((folder / "eval.json").read_text())
    assert metrics["iteration"] == 4 and metrics["split"] == "val"
    assert len(metrics["confusion"]) == len(CLASS_NAMES) and metrics["class_names"] == list(CLASS_NAMES)


def test_tensorboard_event_file_reads_back(run) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    folder, _ = run
    events = EventAccumulator(str(folder))
    events.Reload()
    tags = events.Tags()["scalars"]
    assert {"train/loss", "train/lr", "val/miou", f"val_iou/{CLASS_NAMES[0]}"} <= set(tags)
    assert [e.step for e in events.Scalars("train/loss")] == [1, 2, 3, 4]
    miou = [e.value for e in events.Scalars("val/miou")]
    assert [e.step for e in events.Scalars("val/miou")] == [2, 4]
    assert miou[-1] == pytest.approx(json.loads((folder / "eval.json").read_text())["miou"], abs=1e-5)


def test_best_checkpoint_is_lean_and_half_and_last_keeps_everything(run) -> None:
    folder, _ = run
    best, last = load(folder / "checkpoints" / "best.pt"), load(folder / "checkpoints" / "last.pt")
    assert not set(TRAINING_STATE_KEYS) & set(best)
    assert set(TRAINING_STATE_KEYS) - {"world_size"} <= set(last)
    assert best["weights_dtype"] == "float16" and best["config"]["dataset"] == "synthetic"
    floats = [t for t in best["state_dict"].values() if t.is_floating_point()]
    assert floats and all(t.dtype == torch.float16 for t in floats)
    model = load_model(folder / "checkpoints" / "best.pt")
    assert all(p.dtype == torch.float32 for p in model.parameters())
    sizes = [(folder / "checkpoints" / name).stat().st_size for name in ("best.pt", "last.pt")]
    assert sizes[0] < 0.4 * sizes[1]  # fp16 weights vs fp32 weights + SGD momentum


def test_resumed_run_appends_to_results_csv_without_duplicates(tmp_path: Path) -> None:
    data = ("--data-root", str(tmp_path / "data"), "--val-every", "2")
    assert train_cli(tmp_path, "--iters", "4", *data, "--stop-after", "3").exit_code == 0
    folder = tmp_path / "runs" / "synthetic"
    assert [r["iteration"] for r in rows(folder)] == ["1", "2", "2", "3"]
    result = runner.invoke(app, ["train", "--resume", str(folder)])
    assert result.exit_code == 0, result.output
    table = rows(folder)
    assert [(r["kind"], r["iteration"]) for r in table] == [
        ("train", "1"), ("train", "2"), ("val", "2"), ("train", "3"), ("train", "4"), ("val", "4"),
    ]  # fmt: skip


def test_tensorboard_logger_without_the_package_fails_before_creating_the_run(tmp_path, monkeypatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import raises ImportError
    result = train_cli(tmp_path, "--iters", "1", "--logger", "tensorboard")
    assert result.exit_code == 1
    assert "--logger tensorboard needs the tensorboard package: pip install tensorboard" in (
        " ".join(result.output.split())
    )
    assert not (tmp_path / "runs").exists()
