"""`danet datasets`: the table of datasets and the detail view of one."""

from __future__ import annotations

from typer.testing import CliRunner

from danet_cli.app import app
from tests._data_helpers import make_cityscapes, make_folder_dataset

runner = CliRunner()


def test_lists_every_dataset_with_its_root_and_status(tmp_path):
    make_cityscapes(tmp_path / "cityscapes")
    result = runner.invoke(app, ["datasets", "--root", str(tmp_path)], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    for name in (
        "cityscapes",
        "ade20k",
        "voc_aug",
        "pascal_context59",
        "coco_stuff164k",
        "folder",
        "synthetic",
    ):
        assert name in result.output
    lines = {line.split("│")[1].strip(): line for line in result.output.splitlines() if line.count("│") > 3}
    assert "found" in lines["cityscapes"] and "missing" in lines["ade20k"]
    assert str(tmp_path / "voc") in lines["voc_aug"] and "danet download ade20k" in lines["ade20k"]


def test_detail_view_shows_classes_and_split_sizes(tmp_path):
    make_folder_dataset(tmp_path, names=("bg", "road", "car"), splits={"train": 3, "val": 2})
    result = runner.invoke(app, ["datasets", "folder", "--root", str(tmp_path)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "train: 3 images" in result.output and "val: 2 images" in result.output
    assert "road" in result.output and "3 classes" in result.output


def test_detail_view_of_a_missing_public_dataset(tmp_path):
    result = runner.invoke(app, ["datasets", "cityscapes", "--root", str(tmp_path)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "missing" in result.output and "danet download cityscapes" in result.output
    assert "bicycle" in result.output


def test_unknown_dataset_is_one_error_line():
    result = runner.invoke(app, ["datasets", "citiscapes"])
    assert result.exit_code == 1
    assert "unknown dataset 'citiscapes'" in result.output
