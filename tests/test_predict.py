"""danet predict and danet.Predictor: every format, odd inputs, folders, globs, videos, safety."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from danet.image_io import read_mask
from danet.prediction.media import PredictionWriter, labelids_table
from danet_cli.app import app
from tests._predict_helpers import odd_images, random_rgb, write_bgr, write_checkpoint, write_video

runner = CliRunner()


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_checkpoint(tmp_path_factory.mktemp("ck") / "tiny.pt")


@pytest.fixture(scope="module")
def predictor(checkpoint: Path):
    from danet import Predictor

    return Predictor(checkpoint, device="cpu")


def run(*args: str) -> object:
    result = runner.invoke(app, [str(a) for a in args])
    return result


def test_predictor_accepts_paths_and_arrays_and_keeps_the_size(predictor, tmp_path):
    files = odd_images(tmp_path)
    for path, size in files.values():
        mask = predictor.predict(path)
        assert mask.shape == size and mask.dtype == np.uint8
    array = random_rgb(37, 53)
    assert predictor.predict(array).shape == (37, 53)
    assert predictor.predict(array[:, :, 0]).shape == (37, 53)  # gray array


def test_predict_probs_sum_to_one_and_agree_with_the_mask(predictor):
    image = random_rgb(40, 44, 3)
    probs = predictor.predict_probs(image)
    assert probs.shape == (19, 40, 44)
    np.testing.assert_allclose(probs.sum(axis=0), 1.0, atol=1e-5)
    assert np.array_equal(probs.argmax(axis=0), predictor.predict(image))


def test_batched_prediction_equals_one_by_one(checkpoint):
    from danet import Predictor

    batched = Predictor(checkpoint, device="cpu", batch_size=3)
    images = [random_rgb(40, 48, s) for s in range(3)] + [random_rgb(33, 41, 9)]
    together = [p.mask for p in batched.predict_many(images, probs=True)]
    single = Predictor(checkpoint, device="cpu")
    for image, mask in zip(images, together, strict=True):
        assert np.array_equal(mask, single.predict(image))


def test_meta_gives_class_names_and_palette(predictor):
    assert predictor.meta.class_names[13] == "car"
    assert predictor.meta.palette[0] == (128, 64, 128)
    assert predictor.meta.num_classes == 19


@pytest.mark.parametrize("fmt", ["index", "color", "overlay", "labelids", "probs"])
def test_every_format_keeps_each_input_size(checkpoint, tmp_path, fmt):
    files = odd_images(tmp_path / "in")
    out = tmp_path / "out"
    result = run(
        "predict", tmp_path / "in", "-o", out, "--checkpoint", checkpoint, "--format", fmt, "--device", "cpu"
    )
    assert result.exit_code == 0, result.output
    for name, (_, (height, width)) in files.items():
        if fmt == "probs":
            with np.load(out / f"{name}.npz") as data:
                assert data["probs"].dtype == np.float16 and data["probs"].shape == (19, height, width)
                assert list(data["class_names"])[13] == "car"
        else:
            picture = cv2.imread(str(out / f"{name}.png"), cv2.IMREAD_UNCHANGED)
            assert picture.shape[:2] == (height, width)
    assert "Prediction summary" in result.output and "per image" in result.output


def test_index_png_reads_back_as_the_class_ids(checkpoint, predictor, tmp_path):
    image = write_bgr(tmp_path / "a.png", random_rgb(45, 61, 5))
    result = run(
        "predict", image, "-o", tmp_path / "a_mask.png", "--checkpoint", checkpoint, "--device", "cpu"
    )
    assert result.exit_code == 0, result.output
    assert np.array_equal(read_mask(tmp_path / "a_mask.png"), predictor.predict(image))


def test_labelids_maps_train_ids_to_cityscapes_ids(tmp_path):
    assert labelids_table()[13] == 26 and labelids_table()[0] == 7 and labelids_table()[255] == 0
    writer = PredictionWriter("labelids", num_classes=19, dataset="cityscapes")
    mask = np.array([[13, 0], [18, 255]], np.uint8)
    name = tmp_path / "frankfurt_000000_000294_leftImg8bit.png"
    writer.write(name, np.zeros((2, 2, 3), np.uint8), mask)
    assert cv2.imread(str(name), cv2.IMREAD_UNCHANGED).tolist() == [[26, 7], [33, 0]]


def test_labelids_refuses_a_model_that_is_not_cityscapes():
    from danet.errors import ConfigError

    with pytest.raises(ConfigError, match="Cityscapes"):
        PredictionWriter("labelids", num_classes=21, dataset="voc")


def test_folder_recursion_and_globs(checkpoint, tmp_path):
    write_bgr(tmp_path / "data" / "top.png", random_rgb(40, 40))
    write_bgr(tmp_path / "data" / "sub" / "deep.jpg", random_rgb(42, 46))
    flat = run("predict", tmp_path / "data", "-o", tmp_path / "flat", "--checkpoint", checkpoint)
    assert flat.exit_code == 0, flat.output
    assert sorted(p.name for p in (tmp_path / "flat").rglob("*.png")) == ["top.png"]
    deep = run("predict", tmp_path / "data", "-r", "-o", tmp_path / "deep", "--checkpoint", checkpoint)
    assert deep.exit_code == 0, deep.output
    assert (tmp_path / "deep" / "sub" / "deep.png").is_file() and (tmp_path / "deep" / "top.png").is_file()
    pattern = str(tmp_path / "data" / "*" / "*.jpg")
    globbed = run("predict", pattern, "-o", tmp_path / "glob", "--checkpoint", checkpoint)
    assert globbed.exit_code == 0, globbed.output
    assert [p.relative_to(tmp_path / "glob").as_posix() for p in (tmp_path / "glob").rglob("*.png")] == [
        "sub/deep.png"
    ]


def test_default_output_is_a_numbered_run_folder(checkpoint, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    image = write_bgr(tmp_path / "x.png", random_rgb(40, 40))
    for _ in range(2):
        assert run("predict", image, "--checkpoint", checkpoint).exit_code == 0
    assert (tmp_path / "runs/predict/exp/x.png").is_file() and (
        tmp_path / "runs/predict/exp2/x.png"
    ).is_file()


def test_video_gives_a_video_with_every_frame_and_frames_on_request(checkpoint, tmp_path):
    video = write_video(tmp_path / "clip.mp4", frames=5)
    result = run(
        "predict",
        video,
        "-o",
        tmp_path / "out",
        "--checkpoint",
        checkpoint,
        "--save-frames",
        "--batch-size",
        "2",
    )
    assert result.exit_code == 0, result.output
    capture = cv2.VideoCapture(str(tmp_path / "out" / "clip.mp4"))
    count = 0
    while capture.read()[0]:
        count += 1
    assert count == 5
    frames = sorted((tmp_path / "out" / "clip_frames").glob("*.png"))
    assert len(frames) == 5 and read_mask(frames[0]).shape == (48, 64)


def test_existing_outputs_are_kept_unless_overwrite(checkpoint, tmp_path):
    image = write_bgr(tmp_path / "a.png", random_rgb(40, 40))
    target = tmp_path / "mask.png"
    target.write_bytes(b"keep me")
    refused = run("predict", image, "-o", target, "--checkpoint", checkpoint)
    assert refused.exit_code == 1 and "--overwrite" in refused.output
    assert target.read_bytes() == b"keep me"
    assert run("predict", image, "-o", target, "--checkpoint", checkpoint, "--overwrite").exit_code == 0
    assert target.read_bytes() != b"keep me"


def test_unreadable_input_is_named_or_skipped(checkpoint, tmp_path):
    write_bgr(tmp_path / "in" / "good.png", random_rgb(40, 40))
    (tmp_path / "in" / "bad.png").write_bytes(b"not an image")
    failed = run("predict", tmp_path / "in", "-o", tmp_path / "out", "--checkpoint", checkpoint)
    assert failed.exit_code == 1 and "bad.png" in failed.output
    skipped = run(
        "predict", tmp_path / "in", "-o", tmp_path / "out2", "--checkpoint", checkpoint, "--skip-errors"
    )
    assert skipped.exit_code == 0, skipped.output
    assert (tmp_path / "out2" / "good.png").is_file() and not (tmp_path / "out2" / "bad.png").exists()


def test_no_checkpoint_says_how_to_get_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    image = write_bgr(tmp_path / "a.png", random_rgb(40, 40))
    result = run("predict", image)
    assert result.exit_code == 1 and "danet train synthetic" in result.output


def test_missing_source_is_a_clear_error(checkpoint, tmp_path):
    result = run("predict", tmp_path / "nope.png", "--checkpoint", checkpoint)
    assert result.exit_code == 1 and "nope.png" in result.output


def test_slide_flip_and_scales_go_through_the_shared_inference(checkpoint, tmp_path):
    image = write_bgr(tmp_path / "a.png", random_rgb(50, 70))
    result = run(
        "predict", image, "-o", tmp_path / "m.png", "--checkpoint", checkpoint,
        "--mode", "slide", "--crop-size", "32", "--stride", "24", "--flip", "--scales", "0.75,1",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert read_mask(tmp_path / "m.png").shape == (50, 70)
