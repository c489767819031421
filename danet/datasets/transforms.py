"""Training and evaluation transforms (OpenCV + numpy), image and mask always moved together.

Interface: every transform is called as `transform(sample, rng)`, where `sample` is the dict a
dataset yields (`image` H x W x 3 uint8 RGB, optional `mask` H x W uint8 train ids, 255 = ignore,
plus string fields that pass through) and `rng` is a `numpy.random.Generator`. All randomness comes
from `rng`, so a fixed (seed, epoch, index) gives the same augmented sample on any worker.

Masks are resized with `INTER_NEAREST_EXACT` (pixel-centre aligned, like the bilinear image resize;
plain `INTER_NEAREST` is shifted by half a pixel), padded with 255 and never blended.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np
import torch

from danet.datasets._registry import IGNORE_INDEX, DatasetInfo
from danet.errors import ConfigError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
Sample = dict[str, Any]
Size = int | Sequence[int]


def _pair(size: Size) -> tuple[int, int]:
    """(height, width) from an int or a pair."""
    if isinstance(size, int):
        return size, size
    height, width = (int(v) for v in size)
    return height, width


def resize_pair(sample: Sample, height: int, width: int, resize_mask: bool = True) -> Sample:
    """Resize the image bilinearly and (optionally) the mask with exact nearest neighbour."""
    out = dict(sample)
    out["image"] = cv2.resize(sample["image"], (width, height), interpolation=cv2.INTER_LINEAR)
    if resize_mask and "mask" in sample:
        out["mask"] = cv2.resize(sample["mask"], (width, height), interpolation=cv2.INTER_NEAREST_EXACT)
    return out


class Compose:
    """Apply transforms in order, threading the same generator through all of them."""

    def __init__(self, steps: Sequence[Any]) -> None:
        self.steps = list(steps)

    def __call__(self, sample: Sample, rng: np.random.Generator | None = None) -> Sample:
        rng = rng if rng is not None else np.random.default_rng()
        for step in self.steps:
            sample = step(sample, rng)
        return sample

    def __repr__(self) -> str:
        return f"Compose({self.steps!r})"


class RandomFlip:
    """Horizontal flip with probability `prob`."""

    def __init__(self, prob: float = 0.5) -> None:
        self.prob = prob

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        if rng.random() >= self.prob:
            return sample
        out = dict(sample)
        out["image"] = np.ascontiguousarray(sample["image"][:, ::-1])
        if "mask" in sample:
            out["mask"] = np.ascontiguousarray(sample["mask"][:, ::-1])
        return out

    def __repr__(self) -> str:
        return f"RandomFlip(prob={self.prob})"


class RandomRescale:
    """Random scale of image and mask together.

    mode "ratio" (mmseg style): the scale is uniform in `ratio_range`, applied to the image as it is,
    or, with `base_size`, to the size whose short side is `base_size`.
    mode "short_side" (official DANet): the short side becomes an integer uniform in
    [ratio_range[0] * base_size, ratio_range[1] * base_size] (official range 0.75-2.0).
    """

    def __init__(
        self, ratio_range: tuple[float, float] = (0.5, 2.0), base_size: int | None = None, mode: str = "ratio"
    ) -> None:
        if mode not in ("ratio", "short_side"):
            raise ConfigError(f"rescale mode must be 'ratio' or 'short_side', got {mode!r}")
        if mode == "short_side" and base_size is None:
            raise ConfigError("the short_side rescale mode needs a base size")
        if not 0 < ratio_range[0] <= ratio_range[1]:
            raise ConfigError(f"ratio range must be 0 < low <= high, got {ratio_range}")
        self.ratio_range, self.base_size, self.mode = tuple(ratio_range), base_size, mode

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        height, width = sample["image"].shape[:2]
        short = min(height, width)
        low, high = self.ratio_range
        if self.mode == "short_side":
            assert self.base_size is not None
            target = int(rng.integers(int(self.base_size * low), int(self.base_size * high) + 1))
            scale = target / short
        else:
            scale = rng.uniform(low, high) * (self.base_size / short if self.base_size else 1.0)
        new_h, new_w = max(1, round(height * scale)), max(1, round(width * scale))
        return resize_pair(sample, new_h, new_w)

    def __repr__(self) -> str:
        return (
            f"RandomRescale(ratio_range={self.ratio_range}, base_size={self.base_size}, mode={self.mode!r})"
        )


class PadToSize:
    """Pad on the bottom and right up to `size` (image with `image_value`, mask with 255)."""

    def __init__(self, size: Size, image_value: int = 0, ignore_index: int = IGNORE_INDEX) -> None:
        self.size, self.image_value, self.ignore_index = _pair(size), image_value, ignore_index

    def __call__(self, sample: Sample, rng: np.random.Generator | None = None) -> Sample:
        height, width = sample["image"].shape[:2]
        pad_h, pad_w = max(self.size[0] - height, 0), max(self.size[1] - width, 0)
        if not pad_h and not pad_w:
            return sample
        out = dict(sample)
        border = cv2.BORDER_CONSTANT
        fill = (self.image_value,) * 3
        out["image"] = cv2.copyMakeBorder(sample["image"], 0, pad_h, 0, pad_w, border, value=fill)
        if "mask" in sample:
            mask = sample["mask"]
            out["mask"] = cv2.copyMakeBorder(mask, 0, pad_h, 0, pad_w, border, value=self.ignore_index)
        return out

    def __repr__(self) -> str:
        return f"PadToSize(size={self.size})"


class RandomCrop:
    """A random `size` crop (pad first if smaller). With `cat_max_ratio` < 1, up to 10 tries look
    for a crop where no single class covers more than that share of the labelled pixels."""

    def __init__(self, size: Size, cat_max_ratio: float = 1.0, ignore_index: int = IGNORE_INDEX) -> None:
        self.size, self.cat_max_ratio, self.ignore_index = _pair(size), cat_max_ratio, ignore_index

    def _offsets(self, sample: Sample, rng: np.random.Generator) -> tuple[int, int]:
        height, width = sample["image"].shape[:2]
        top = int(rng.integers(0, height - self.size[0] + 1))
        left = int(rng.integers(0, width - self.size[1] + 1))
        return top, left

    def _balanced(self, mask: np.ndarray, top: int, left: int) -> bool:
        crop = mask[top : top + self.size[0], left : left + self.size[1]]
        counts = np.bincount(crop.ravel(), minlength=256)
        counts[self.ignore_index] = 0
        return np.count_nonzero(counts) > 1 and counts.max() / counts.sum() < self.cat_max_ratio

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        sample = PadToSize(self.size, ignore_index=self.ignore_index)(sample)
        top, left = self._offsets(sample, rng)
        if self.cat_max_ratio < 1.0 and "mask" in sample:
            for _ in range(9):
                if self._balanced(sample["mask"], top, left):
                    break
                top, left = self._offsets(sample, rng)
        rows, cols = slice(top, top + self.size[0]), slice(left, left + self.size[1])
        out = dict(sample)
        out["image"] = np.ascontiguousarray(sample["image"][rows, cols])
        if "mask" in sample:
            out["mask"] = np.ascontiguousarray(sample["mask"][rows, cols])
        return out

    def __repr__(self) -> str:
        return f"RandomCrop(size={self.size}, cat_max_ratio={self.cat_max_ratio})"


class PhotometricDistortion:
    """Random brightness, contrast, saturation and hue (each applied with probability 0.5),
    contrast either before or after the colour changes; the mask is untouched."""

    def __init__(
        self,
        brightness: float = 32,
        contrast: tuple[float, float] = (0.5, 1.5),
        saturation: tuple[float, float] = (0.5, 1.5),
        hue: int = 18,
    ) -> None:
        self.brightness, self.contrast, self.saturation, self.hue = brightness, contrast, saturation, hue

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        image = sample["image"].astype(np.float32)
        if rng.random() < 0.5:
            image += rng.uniform(-self.brightness, self.brightness)
        contrast_first = rng.random() < 0.5
        if contrast_first and rng.random() < 0.5:
            image *= rng.uniform(*self.contrast)
        hsv = cv2.cvtColor(np.clip(image, 0, 255).astype(np.uint8), cv2.COLOR_RGB2HSV).astype(np.float32)
        if rng.random() < 0.5:
            hsv[..., 1] *= rng.uniform(*self.saturation)
        if rng.random() < 0.5:
            hsv[..., 0] = (hsv[..., 0] + rng.integers(-self.hue, self.hue + 1)) % 180
        hsv = np.clip(hsv, 0, [179, 255, 255]).astype(np.uint8)
        image = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB).astype(np.float32)
        if not contrast_first and rng.random() < 0.5:
            image *= rng.uniform(*self.contrast)
        out = dict(sample)
        out["image"] = np.clip(image, 0, 255).astype(np.uint8)
        return out

    def __repr__(self) -> str:
        return "PhotometricDistortion()"


class ResizeShortSide:
    """Deterministic resize of the image so its short side is `size` (evaluation at a base size).
    The mask keeps its original size by default, so scores are on the original pixels: upsample
    the logits to `mask.shape` before comparing."""

    def __init__(self, size: int, resize_mask: bool = False) -> None:
        self.size, self.resize_mask = int(size), resize_mask

    def __call__(self, sample: Sample, rng: np.random.Generator | None = None) -> Sample:
        height, width = sample["image"].shape[:2]
        scale = self.size / min(height, width)
        new_h, new_w = max(1, round(height * scale)), max(1, round(width * scale))
        return resize_pair(sample, new_h, new_w, resize_mask=self.resize_mask)

    def __repr__(self) -> str:
        return f"ResizeShortSide({self.size}, resize_mask={self.resize_mask})"


def image_to_tensor(
    image: np.ndarray, mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD
) -> torch.Tensor:
    """H x W x 3 uint8 RGB -> normalised float32 (3, H, W): (x / 255 - mean) / std."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an H x W x 3 uint8 RGB image, got {image.dtype} {image.shape}")
    tensor = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float().div_(255.0)  # (3, H, W)
    mean_t = torch.tensor(mean, dtype=torch.float32).view(3, 1, 1)
    std_t = torch.tensor(std, dtype=torch.float32).view(3, 1, 1)
    return tensor.sub_(mean_t).div_(std_t).contiguous()


class ToTensor:
    """ImageNet normalisation: `image` -> float32 (3, H, W) tensor, `mask` -> int64 (H, W) tensor."""

    def __init__(self, mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD) -> None:
        self.mean, self.std = tuple(mean), tuple(std)

    def __call__(self, sample: Sample, rng: np.random.Generator | None = None) -> Sample:
        out = dict(sample)
        out["image"] = image_to_tensor(sample["image"], self.mean, self.std)
        if "mask" in sample:
            out["mask"] = torch.from_numpy(sample["mask"].astype(np.int64))
        return out

    def __repr__(self) -> str:
        return "ToTensor(imagenet)"


def train_transform(
    crop_size: Size,
    *,
    base_size: int | None = None,
    ratio_range: tuple[float, float] = (0.5, 2.0),
    mode: str = "ratio",
    flip: bool = True,
    photometric: bool = False,
    cat_max_ratio: float = 1.0,
) -> Compose:
    """Flip, random rescale, pad (0 / 255), random crop, optional photometric distortion, tensor.

    The official DANet recipe is `mode="short_side", ratio_range=(0.75, 2.0), base_size=1024`
    (Cityscapes); mmseg's is `mode="ratio", ratio_range=(0.5, 2.0)` with photometric distortion.
    """
    steps: list[Any] = [RandomFlip()] if flip else []
    steps += [RandomRescale(ratio_range, base_size, mode), RandomCrop(crop_size, cat_max_ratio)]
    if photometric:
        steps.append(PhotometricDistortion())
    steps.append(ToTensor())
    return Compose(steps)


def eval_transform(base_size: int | None = None) -> Compose:
    """No resize by default (score at full resolution); with `base_size`, the image's short side
    is resized to it while the mask stays at the original size."""
    steps: list[Any] = [ResizeShortSide(base_size)] if base_size else []
    return Compose([*steps, ToTensor()])


def official_train_transform(info: DatasetInfo) -> Compose:
    """The official DANet augmentation with a dataset's recipe sizes."""
    return train_transform(
        info.crop_size, base_size=info.base_size, ratio_range=(0.75, 2.0), mode="short_side"
    )
