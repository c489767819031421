"""evaluate_dataset: full-resolution scoring, perfect predictions, limits, shards and the JSON form."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from danet.checkpoints import IMAGENET_MEAN, IMAGENET_STD
from danet.errors import ConfigError, DatasetError
from danet.evaluation import EvaluationResult, evaluate_dataset, image_to_batch, shard_indices
from danet.inference import InferenceConfig

NUM_CLASSES = 3
STEP = 60  # the red value of class c is c * STEP, so a forward can read the class from the pixels


class ListDataset:
    """Samples whose red channel encodes the class; a few pixels are marked ignore (255)."""

    def __init__(self, sizes: list[tuple[int, int]], seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.samples = []
        for h, w in sizes:
            mask = rng.integers(0, NUM_CLASSES, (h, w)).astype(np.uint8)
            image = rng.integers(0, 256, (h, w, 3)).astype(np.uint8)
            image[..., 0] = mask * STEP
            mask[0, :3] = 255
            self.samples.append({"image": image, "mask": mask, "name": f"img{len(self.samples)}"})

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> dict:
        return self.samples[index]


def oracle_forward(batch: torch.Tensor) -> torch.Tensor:
    """Logits that are one-hot of the class encoded in the red channel: perfect predictions."""
    red = batch[:, 0] * (IMAGENET_STD[0] * 255) + IMAGENET_MEAN[0] * 255  # (B, h, w)
    classes = torch.round(red / STEP).long().clamp(0, NUM_CLASSES - 1)
    return torch.nn.functional.one_hot(classes, NUM_CLASSES).permute(0, 3, 1, 2).float() * 20


def constant_forward(batch: torch.Tensor) -> torch.Tensor:
    logits = torch.zeros(batch.shape[0], NUM_CLASSES, *batch.shape[2:])
    logits[:, 0] = 1.0
    return logits


WHOLE = InferenceConfig()


def test_perfect_predictions_score_one() -> None:
    data = ListDataset([(24, 32), (40, 36)])
    result = evaluate_dataset(oracle_forward, data, num_classes=NUM_CLASSES, inference=WHOLE)
    assert result.metrics["miou"] == pytest.approx(1.0)
    assert result.metrics["pixel_acc"] == pytest.approx(1.0)
    assert result.num_images == 2
    labelled = sum(int((s["mask"] != 255).sum()) for s in data.samples)
    assert int(result.confusion.sum()) == labelled
    assert np.count_nonzero(result.confusion - np.diag(np.diag(result.confusion))) == 0


def test_perfect_predictions_survive_slide_flip_and_scale_one() -> None:
    config = InferenceConfig(mode="slide", crop_size=(16, 16), stride=(10, 10), flip=True)
    data = ListDataset([(30, 45)])
    result = evaluate_dataset(oracle_forward, data, num_classes=NUM_CLASSES, inference=config)
    assert result.metrics["miou"] == pytest.approx(1.0)
    assert result.settings["mode"] == "slide" and result.settings["flip"] is True
    assert result.settings["crop_size"] == [16, 16]


def test_constant_prediction_matches_the_confusion_matrix() -> None:
    data = ListDataset([(20, 20)])
    result = evaluate_dataset(constant_forward, data, num_classes=NUM_CLASSES, inference=WHOLE)
    mask = data.samples[0]["mask"]
    expected = [int((mask == c).sum()) for c in range(NUM_CLASSES)]
    assert result.confusion[:, 0].tolist() == expected
    assert result.confusion.dtype == np.int64 and result.confusion.shape == (3, 3)
    # Classes 1 and 2 are in the labels but never predicted: IoU 0, not NaN.
    assert result.metrics["per_class_iou"][1:] == [0.0, 0.0]


def test_limit_scores_only_the_first_images() -> None:
    data = ListDataset([(10, 10), (12, 12), (14, 14)])
    result = evaluate_dataset(constant_forward, data, num_classes=3, inference=WHOLE, limit=2)
    labelled = sum(int((s["mask"] != 255).sum()) for s in data.samples[:2])
    assert result.num_images == 2 and int(result.confusion.sum()) == labelled


def test_distributed_without_a_process_group_is_one_process() -> None:
    data = ListDataset([(10, 12), (12, 10)])
    single = evaluate_dataset(oracle_forward, data, num_classes=3, inference=WHOLE)
    spread = evaluate_dataset(oracle_forward, data, num_classes=3, inference=WHOLE, distributed=True)
    assert np.array_equal(single.confusion, spread.confusion)


@pytest.mark.parametrize("world", [1, 2, 3, 4, 7])
@pytest.mark.parametrize("total", [0, 1, 5, 12, 13])
def test_shards_cover_every_image_exactly_once(total: int, world: int) -> None:
    shards = [shard_indices(total, rank, world) for rank in range(world)]
    flat = sorted(i for shard in shards for i in shard)
    assert flat == list(range(total))
    assert max(len(s) for s in shards) - min(len(s) for s in shards) <= 1


def test_shard_rank_outside_the_world_is_an_error() -> None:
    with pytest.raises(ConfigError):
        shard_indices(5, 2, 2)


def test_unlabelled_sample_is_a_clear_error() -> None:
    data = ListDataset([(8, 8)])
    del data.samples[0]["mask"]
    with pytest.raises(DatasetError, match="labelled split"):
        evaluate_dataset(oracle_forward, data, num_classes=3, inference=WHOLE)


def test_wrong_number_of_classes_names_both() -> None:
    with pytest.raises(ConfigError, match="3 classes but the dataset has 4"):
        evaluate_dataset(oracle_forward, ListDataset([(8, 8)]), num_classes=4, inference=WHOLE)


def test_image_to_batch_normalises_with_mean_and_std() -> None:
    image = np.full((2, 3, 3), 255, np.uint8)
    batch = image_to_batch(image, torch.device("cpu"), (0.5, 0.5, 0.5), (0.25, 0.25, 0.25))
    assert batch.shape == (1, 3, 2, 3)
    assert torch.allclose(batch, torch.full_like(batch, 2.0))
    normalised = torch.zeros(3, 4, 5)
    assert image_to_batch(normalised, torch.device("cpu"), IMAGENET_MEAN, IMAGENET_STD).shape == (1, 3, 4, 5)


def test_to_json_names_classes_and_writes_nan_as_null() -> None:
    confusion = np.array([[5, 1, 0], [0, 4, 0], [0, 0, 0]], dtype=np.int64)
    from danet.metrics import scores_from_confusion

    result = EvaluationResult(scores_from_confusion(confusion), confusion, 2, {"mode": "whole"})
    data = result.to_json(["a", "b", "c"])
    assert data["per_class_iou"]["c"] is None and data["per_class_acc"]["c"] is None
    assert data["per_class_iou"]["a"] == pytest.approx(5 / 6)
    assert data["confusion"] == confusion.tolist() and data["class_names"] == ["a", "b", "c"]
    assert not any(isinstance(v, float) and math.isnan(v) for v in data.values())
    assert "metric_convention" in data and data["settings"] == {"mode": "whole"}
    with pytest.raises(ConfigError):
        result.to_json(["a", "b"])


def _distributed_worker(rank: int, world: int, init_file: str, out_dir: str) -> None:
    torch.distributed.init_process_group(
        "gloo", init_method=f"file://{init_file}", rank=rank, world_size=world
    )
    try:
        data = ListDataset([(10, 12), (12, 10), (9, 9)], seed=3)
        result = evaluate_dataset(constant_forward, data, num_classes=3, inference=WHOLE, distributed=True)
        np.save(f"{out_dir}/rank{rank}.npy", result.confusion)
    finally:
        torch.distributed.destroy_process_group()


def test_distributed_processes_sum_their_shards(tmp_path) -> None:
    torch.multiprocessing.spawn(
        _distributed_worker, args=(2, str(tmp_path / "init"), str(tmp_path)), nprocs=2, join=True
    )
    data = ListDataset([(10, 12), (12, 10), (9, 9)], seed=3)
    single = evaluate_dataset(constant_forward, data, num_classes=3, inference=WHOLE)
    for rank in range(2):
        assert np.array_equal(np.load(tmp_path / f"rank{rank}.npy"), single.confusion)


def test_dataset_with_the_eval_transform_is_scored_at_mask_size() -> None:
    from danet.datasets.transforms import eval_transform

    data = ListDataset([(20, 30)])
    plain = evaluate_dataset(constant_forward, data, num_classes=3, inference=WHOLE)
    transform = eval_transform(base_size=10)  # image resized to a 10-pixel short side, mask kept
    rng = np.random.default_rng(0)
    data.samples = [transform(s, rng) for s in data.samples]
    assert data.samples[0]["image"].shape == (3, 10, 15)
    resized = evaluate_dataset(constant_forward, data, num_classes=3, inference=WHOLE)
    assert np.array_equal(plain.confusion, resized.confusion)


def test_forward_device_comes_from_the_backend_of_a_bound_forward() -> None:
    from danet.backends.torch_backend import TorchBackend
    from danet.evaluation import forward_device
    from danet.models import create_model

    backend = TorchBackend(create_model("fcn_resnet18", num_classes=2), device="cpu")
    assert forward_device(backend.forward) == torch.device("cpu")
    assert forward_device(oracle_forward) == torch.device("cpu")
