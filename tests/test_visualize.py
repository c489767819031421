"""danet visualize and danet.visualization: attention maths, pictures of the expected size."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from danet.errors import ConfigError, UnknownNameError
from danet.image_io import write_index_png
from danet.visualization import colorize, curves_figure, palette_table
from danet.visualization.attention_maps import (
    capture_attention_inputs,
    channel_maps,
    default_points,
    feature_cell,
    position_maps,
    resolve_class,
)
from danet_cli.app import app
from tests._predict_helpers import DATASET, random_rgb, tiny_model, write_bgr, write_checkpoint

runner = CliRunner()


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    return tiny_model(seed=3)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_checkpoint(tmp_path_factory.mktemp("ck") / "tiny.pt", seed=3)


def _naive_attention(pam: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The full N x N PAM matrix straight from the module's projections, as in the paper."""
    q = pam.query(x).flatten(2).transpose(1, 2)  # (B, N, C/8)
    k = pam.key(x).flatten(2)  # (B, C/8, N)
    return torch.softmax(torch.bmm(q, k), dim=-1)  # (B, N, N)


def test_hooks_capture_the_attention_inputs_at_output_stride_8(model):
    batch = torch.randn(1, 3, 45, 67)
    logits, pam_in, cam_in = capture_attention_inputs(model, batch)
    assert logits.shape == (1, 19, 45, 67)
    assert pam_in.shape == cam_in.shape == (1, 128, 6, 9)  # ceil(45/8), ceil(67/8)
    assert not model.head.pam._forward_pre_hooks and not model.head.cam._forward_pre_hooks


def test_attention_rows_sum_to_one_and_equal_the_naive_rows(model):
    _, pam_in, _ = capture_attention_inputs(model, torch.randn(1, 3, 45, 67))
    points = [(0, 0), (20, 33), (44, 66), (8, 15)]
    maps = position_maps(model, pam_in, points, (45, 67))
    assert maps.rows.shape == (4, 6, 9) and maps.maps.shape == (4, 45, 67)
    np.testing.assert_allclose(maps.rows.reshape(4, -1).sum(axis=1), 1.0, atol=1e-5)
    with torch.no_grad():
        full = _naive_attention(model.head.pam, pam_in)[0].numpy()  # (N, N)
    for row, (r, c) in zip(maps.rows, maps.cells, strict=True):
        np.testing.assert_allclose(row.reshape(-1), full[r * 9 + c], rtol=1e-4, atol=1e-7)


def test_points_map_to_the_feature_grid_by_the_output_stride():
    assert feature_cell((0, 0), (45, 67), (6, 9), 8) == (0, 0)
    assert feature_cell((20, 33), (45, 67), (6, 9), 8) == (2, 4)
    assert feature_cell((44, 66), (45, 67), (6, 9), 8) == (5, 8)
    with pytest.raises(ConfigError, match="outside"):
        feature_cell((45, 3), (45, 67), (6, 9), 8)
    points = default_points(45, 67, 4)
    assert len(points) == 4 and all(0 <= y < 45 and 0 <= x < 67 for y, x in points)


def test_channel_attention_matrix_and_class_selective_maps(model):
    _, _, cam_in = capture_attention_inputs(model, torch.randn(1, 3, 40, 48))
    prediction = np.zeros((40, 48), np.int64)
    prediction[10:30, 8:40] = 13
    maps = channel_maps(model, cam_in, prediction, 13, top=3)
    assert maps.matrix.shape == (128, 128)
    np.testing.assert_allclose(maps.matrix.sum(axis=1), 1.0, atol=1e-5)
    expected = model.head.cam.attention(cam_in)[0].numpy()
    np.testing.assert_allclose(maps.matrix, expected, atol=1e-6)
    assert maps.maps.shape == (3, 40, 48) and len(set(maps.channels)) == 3
    assert maps.scores == sorted(maps.scores, reverse=True)
    with pytest.raises(ConfigError, match="not predicted"):
        channel_maps(model, cam_in, prediction, 5)


def test_class_is_chosen_by_name_id_or_frequency():
    names = ["road", "car", "sky"]
    prediction = np.array([[1, 1, 2], [255, 1, 0]])
    assert resolve_class(None, names, prediction) == 1
    assert resolve_class("Sky", names, prediction) == 2 and resolve_class("0", names, prediction) == 0
    with pytest.raises(UnknownNameError, match="road"):
        resolve_class("tree", names, prediction)
    with pytest.raises(ConfigError, match="out of range"):
        resolve_class("7", names, prediction)


def test_colorize_uses_the_palette_and_blacks_out_ignore():
    table = palette_table([(1, 2, 3), (4, 5, 6)], 2)
    picture = colorize(np.array([[0, 1, 255]], np.uint8), table)
    assert picture.tolist() == [[[1, 2, 3], [4, 5, 6], [0, 0, 0]]]


def _read(path: Path) -> np.ndarray:
    picture = cv2.imread(str(path))
    assert picture is not None, path
    return picture


def test_overlay_of_a_mask_keeps_the_image_and_adds_a_legend(tmp_path):
    image = write_bgr(tmp_path / "photo.png", random_rgb(53, 71))
    mask = np.zeros((53, 71), np.uint8)
    mask[20:, 30:] = 13
    write_index_png(tmp_path / "mask.png", mask, palette_table(None, 19))
    out = tmp_path / "overlay.png"
    result = runner.invoke(
        app,
        [
            "visualize",
            "overlay",
            str(image),
            str(tmp_path / "mask.png"),
            "-o",
            str(out),
            "--dataset",
            "cityscapes",
        ],
    )
    assert result.exit_code == 0, result.output
    picture = _read(out)
    assert picture.shape[0] == 53 and picture.shape[1] > 71  # the legend panel sits to the right


def test_overlay_can_predict_the_mask(checkpoint, tmp_path):
    image = write_bgr(tmp_path / "photo.png", random_rgb(41, 59))
    out = tmp_path / "pred.png"
    result = runner.invoke(
        app, ["visualize", "overlay", str(image), "--checkpoint", str(checkpoint), "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert _read(out).shape[0] == 41


def test_attention_figure_is_written_for_given_points_and_class(checkpoint, tmp_path):
    from danet import Predictor

    image = write_bgr(tmp_path / "photo.png", random_rgb(61, 83))
    predicted = Predictor(checkpoint, device="cpu").predict(image)
    name = DATASET["class_names"][int(np.bincount(predicted.ravel()).argmax())]
    out = tmp_path / "attention.png"
    args = ["visualize", "attention", str(image), "--checkpoint", str(checkpoint), "-o", str(out)]
    result = runner.invoke(app, [*args, "-p", "10,20", "-p", "50,70", "--top-channels", "2", "--class", name])
    assert result.exit_code == 0, result.output
    picture = _read(out)
    assert picture.shape[0] > 2 * 61 and picture.shape[1] > 3 * 83  # two rows, three panels at least


def test_attention_rejects_points_outside_the_image(checkpoint, tmp_path):
    image = write_bgr(tmp_path / "photo.png", random_rgb(40, 40))
    args = [
        "visualize",
        "attention",
        str(image),
        "--checkpoint",
        str(checkpoint),
        "-o",
        str(tmp_path / "a.png"),
    ]
    result = runner.invoke(app, [*args, "-p", "99,3"])
    assert result.exit_code == 1 and "outside" in result.output


def test_confusion_from_an_evaluation_json(tmp_path):
    report = {"confusion": [[50, 2, 0], [5, 40, 5], [0, 0, 0]], "class_names": ["road", "car", "sky"]}
    (tmp_path / "eval.json").write_text(json.dumps(report))
    out = tmp_path / "confusion.png"
    result = runner.invoke(app, ["visualize", "confusion", str(tmp_path / "eval.json"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    picture = _read(out)
    assert picture.shape[0] >= 3 * 48 and picture.shape[1] >= 3 * 48  # 3 cells of 48 px at least


def test_confusion_json_without_a_matrix_is_a_clear_error(tmp_path):
    (tmp_path / "eval.json").write_text(json.dumps({"miou": 0.5}))
    result = runner.invoke(
        app, ["visualize", "confusion", str(tmp_path / "eval.json"), "-o", str(tmp_path / "c.png")]
    )
    assert result.exit_code == 1 and "danet evaluate --json" in result.output


def _metrics(folder: Path, with_miou: bool) -> Path:
    folder.mkdir()
    lines = []
    for i in range(0, 100, 10):
        record = {
            "iteration": i,
            "loss": 3 - i / 50,
            "loss_out": 1.0,
            "loss_pam": 1.1,
            "loss_cam": 0.9,
            "lr": 0.01 * (1 - i / 100),
        }
        if with_miou and i % 30 == 0:
            record["miou"] = i / 200
        lines.append(json.dumps(record))
    (folder / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    return folder


def test_curves_from_a_run_folder(tmp_path):
    run = _metrics(tmp_path / "run", with_miou=True)
    out = tmp_path / "curves.png"
    result = runner.invoke(app, ["visualize", "curves", str(run), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert _read(out).shape[:2] == (3 * 320 + 2 * 12 + 16, 640 + 16)  # loss, lr, mIoU charts


def test_curves_without_validation_have_two_charts(tmp_path):
    from danet.visualization import read_metrics

    records = read_metrics(_metrics(tmp_path / "run", with_miou=False))
    assert curves_figure(records).shape[:2] == (2 * 320 + 12 + 16, 640 + 16)


def test_visualize_refuses_to_overwrite(tmp_path):
    run = _metrics(tmp_path / "run", with_miou=False)
    out = tmp_path / "curves.png"
    out.write_bytes(b"keep")
    result = runner.invoke(app, ["visualize", "curves", str(run), "-o", str(out)])
    assert result.exit_code == 1 and "--overwrite" in result.output and out.read_bytes() == b"keep"


def test_overlay_without_legend_is_the_photo_size(tmp_path):
    image = write_bgr(tmp_path / "photo.png", random_rgb(53, 71))
    write_index_png(tmp_path / "mask.png", np.ones((53, 71), np.uint8), palette_table(None, 19))
    out = tmp_path / "overlay.png"
    args = ["visualize", "overlay", str(image), str(tmp_path / "mask.png"), "-o", str(out), "--no-legend"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert _read(out).shape[:2] == (53, 71)


def test_default_output_is_a_new_file_under_runs_visualize(tmp_path, monkeypatch):
    run = _metrics(tmp_path / "exp1", with_miou=True)
    monkeypatch.chdir(tmp_path)
    first = runner.invoke(app, ["visualize", "curves", str(run)])
    assert first.exit_code == 0, first.output
    written = tmp_path / "runs" / "visualize" / "exp1_curves.png"
    before = written.read_bytes()
    second = runner.invoke(app, ["visualize", "curves", str(run)])
    assert second.exit_code == 0, second.output
    assert written.read_bytes() == before  # never replaced
    assert (tmp_path / "runs" / "visualize" / "exp1_curves2.png").is_file()
    assert "runs/visualize/exp1_curves2.png" in second.output


def test_several_runs_make_one_figure_named_after_them(tmp_path, monkeypatch):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = _metrics(tmp_path / "a" / "exp", with_miou=True)
    second = _metrics(tmp_path / "b" / "exp", with_miou=False)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["visualize", "curves", str(first), str(second), "--smooth", "0.6"])
    assert result.exit_code == 0, result.output
    assert _read(tmp_path / "runs" / "visualize" / "a-exp_vs_b-exp_curves.png").shape[1] == 640 + 16


def test_run_names_are_folder_names_told_apart_by_their_parent(tmp_path):
    from danet_cli.visualize import run_names

    paths = [tmp_path / "a" / "exp", tmp_path / "b" / "exp", tmp_path / "c" / "other" / "metrics.jsonl"]
    assert run_names(paths) == ["a/exp", "b/exp", "other"]


def test_smoothing_weight_is_checked_by_the_cli(tmp_path):
    run = _metrics(tmp_path / "run", with_miou=False)
    result = runner.invoke(
        app, ["visualize", "curves", str(run), "--smooth", "1.5", "-o", str(tmp_path / "c.png")]
    )
    assert result.exit_code != 0 and not (tmp_path / "c.png").exists()


def test_attention_of_an_exported_file_names_the_checkpoint_to_pass_instead(tmp_path):
    image = write_bgr(tmp_path / "photo.png", random_rgb(40, 40))
    exported = tmp_path / "model.onnx"
    exported.write_bytes(b"not read: refused by its kind")
    args = ["visualize", "attention", str(image), "-c", str(exported), "-o", str(tmp_path / "a.png")]
    result = runner.invoke(app, args)
    text = " ".join(result.output.split())
    assert result.exit_code == 1 and "need a PyTorch checkpoint" in text and "Traceback" not in text
    assert not (tmp_path / "a.png").exists()
