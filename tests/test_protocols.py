"""The evaluation protocols on hand-computed cases: stub logits functions with known outputs.

Every expected number below is worked out by hand in the comments from the reference's description
of the official DANet evaluator and of mmsegmentation's test pipeline, not by re-running the code.
"""

from __future__ import annotations

import math

import pytest
import torch

from danet.inference import InferenceConfig, keep_ratio_size, predict_probs
from danet.inference.mmseg import mmseg_probs, mmseg_window_starts
from danet.inference.official import (
    official_log_scores,
    official_size,
    official_stride,
    official_window_starts,
)

BLACK = (-2.0, -2.0, -2.0)  # mean 0.5, std 0.25: a black pixel normalises to (0 - 0.5) / 0.25


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def window_stub(x: torch.Tensor) -> torch.Tensor:
    """4 classes: channel 0 itself; the column index inside the input; the input's mean of channel 0;
    channel 0 of the input's last column (per row)."""
    b, _, h, w = x.shape
    column = torch.arange(w, dtype=x.dtype).view(1, 1, 1, w).expand(b, 1, h, w)
    mean = x[:, :1].mean(dim=(2, 3), keepdim=True).expand(b, 1, h, w)
    last = x[:, :1, :, -1:].expand(b, 1, h, w)
    return torch.cat([x[:, :1], column, mean, last], dim=1)  # (B, 4, h, w)


def official(scales: tuple[float, ...], flip: bool, batch_size: int = 1) -> InferenceConfig:
    stride = official_stride(4, len(scales))
    return InferenceConfig(
        protocol="official", mode="slide", crop_size=(4, 4), stride=(stride, stride), scales=scales,
        flip=flip, base_size=7, pad_value=BLACK, batch_size=batch_size,
    )  # fmt: skip


def test_official_geometry_of_the_reference_example() -> None:
    # 1024 x 2048, crop 768: stride int(768 * 2/3) = 512; rows at 0, 512; columns at 0 .. 1536.
    assert official_stride(768, 1) == 512 and official_stride(1024, 8) == 512
    assert official_window_starts(1024, 768, 512) == [0, 512]
    assert official_window_starts(2048, 768, 512) == [0, 512, 1024, 1536]
    assert official_size((1024, 2048), 2048, 0.75) == (768, 1536)  # long ceil(1536), short 1024*0.75
    assert official_size((5, 7), 7, 0.5) == (3, 4)  # long ceil(3.5) = 4, short int(5*4/7 + 0.5) = 3
    assert official_size((7, 5), 7, 2.2) == (16, 11)  # long ceil(15.4) = 16, short int(5*16/7 + .5)


def test_official_runs_eight_windows_and_their_flips_on_a_cityscapes_shaped_image() -> None:
    # The reference's 1024 x 2048 / crop 768 / stride 512 example at 1/8 size: 128 x 256, crop 96,
    # stride 64: rows at 0, 64 and columns at 0, 64, 128, 192 (the last ends at 288, padded).
    seen: list[tuple[int, ...]] = []

    def stub(x: torch.Tensor) -> torch.Tensor:
        seen.append(tuple(x.shape))
        return torch.zeros(x.shape[0], 2, x.shape[2], x.shape[3])

    config = InferenceConfig(
        protocol="official", crop_size=(96, 96), stride=(64, 64), flip=True, base_size=256,
        batch_size=2,
    )  # fmt: skip
    official_log_scores(torch.zeros(1, 3, 128, 256), stub, config)
    assert seen == [(2, 3, 96, 96)] * 8  # 8 windows, each with its flip: 16 forwards


def test_official_single_scale_without_flip() -> None:
    # 5 x 7 zeros, base 7 (no resize), crop 4, stride 2: windows at rows 0, 2 and columns 0, 2, 4;
    # the row-2 windows reach row 6 (> 5) and the column-4 ones column 8 (> 7): black padding (-2).
    # Window means of channel 0: (0,0) 0, (0,2) 0, (0,4) -8/16, (2,0) -8/16, (2,2) -8/16, (2,4) -14/16.
    scores = official_log_scores(torch.zeros(1, 3, 5, 7), window_stub, official((1.0,), flip=False))
    # Pixel (4, 6): window (2,4) alone, local column 2, its last column is padding.
    assert scores[0, :, 4, 6].tolist() == pytest.approx([0.0, 2.0, -0.875, -2.0], abs=1e-5)
    # Pixel (0, 6): window (0,4) alone.
    assert scores[0, :, 0, 6].tolist() == pytest.approx([0.0, 2.0, -0.5, -2.0], abs=1e-5)
    # Pixel (2, 3): windows (0,0) (0,2) (2,0) (2,2), local columns 3, 1, 3, 1: exp averaged over 4.
    expected = [0.0, math.log((math.e**3 + math.e) / 2), math.log((1 + math.exp(-0.5)) / 2), 0.0]
    assert scores[0, :, 2, 3].tolist() == pytest.approx(expected, abs=1e-5)


def test_official_flip_adds_the_flipped_padded_window_logits() -> None:
    # With flip every window scores exp(L + flip(L(flip(window)))): the column class becomes
    # j + (3 - j) = 3, the mean doubles, and "last column" adds the window's first column, because
    # the PADDED window is flipped (its black columns move to the left).
    scores = official_log_scores(
        torch.zeros(1, 3, 5, 7), window_stub, official((1.0,), flip=True, batch_size=4)
    )
    assert scores[0, :, 4, 6].tolist() == pytest.approx([0.0, 3.0, -1.75, -2.0], abs=1e-5)
    expected = [0.0, 3.0, math.log((1 + math.exp(-1.0)) / 2), 0.0]
    assert scores[0, :, 2, 3].tolist() == pytest.approx(expected, abs=1e-5)


def test_official_multi_scale_sums_the_scales() -> None:
    # Scale 0.5: 3 x 4 (long 4 <= crop 4): padded to 4 x 4 with one black row, one window: column j,
    # mean -0.5, last column 0 in image rows. Its exp-map is resized 3x4 -> 5x7 (align_corners=True):
    # output column c reads source column c/2, so column 6 reads e^3, column 3 reads (e^1 + e^2)/2.
    # Scale 1.0 is the single-scale case above; the scores are the SUM of both scales.
    scores = official_log_scores(torch.zeros(1, 3, 5, 7), window_stub, official((0.5, 1.0), flip=False))
    expected = [
        math.log(2.0),
        math.log(math.e**2 + math.e**3),
        math.log(math.exp(-0.875) + math.exp(-0.5)),
        math.log(math.exp(-2.0) + 1.0),
    ]
    assert scores[0, :, 4, 6].tolist() == pytest.approx(expected, abs=1e-5)
    expected = [
        math.log(2.0),
        math.log((math.e**3 + math.e) / 2 + (math.e + math.e**2) / 2),
        math.log((1 + math.exp(-0.5)) / 2 + math.exp(-0.5)),
        math.log(2.0),
    ]
    assert scores[0, :, 2, 3].tolist() == pytest.approx(expected, abs=1e-5)


def test_official_keeps_the_exact_argmax_where_float32_exp_overflows() -> None:
    # Logits 100 + x and 100.5: with flip the window score is exp(200 + 2x) vs exp(201), which is
    # inf in float32; class 0 must win exactly where x > 0.5 (x = k/35 is never 0.5).
    assert math.isinf(torch.exp(torch.tensor(200.0)).item())

    def stub(x: torch.Tensor, offset: float = 100.0) -> torch.Tensor:
        return torch.cat([offset + x[:, :1], torch.full_like(x[:, :1], offset + 0.5)], dim=1)

    image = torch.linspace(0, 1, 36)[:35].view(1, 1, 5, 7).expand(1, 3, 5, 7).contiguous()
    probs = predict_probs(image, stub, official((1.0,), flip=True))
    assert torch.isfinite(probs).all()
    assert torch.equal(probs.argmax(1), (image[:, 0] < 0.5).long())
    # Several scales: shifting every logit by -100 divides all scores by e^200 (same argmax) and
    # keeps a plain float32 exp finite.
    config = official((0.5, 1.0), flip=True)
    probs = predict_probs(image, stub, config)
    small = predict_probs(image, lambda x: stub(x, offset=0.0), config)
    assert torch.isfinite(probs).all() and torch.equal(probs.argmax(1), small.argmax(1))


def test_mmseg_window_starts_are_moved_flush() -> None:
    # grid max(H - crop + stride - 1, 0) // stride + 1; last window ends at the border.
    assert mmseg_window_starts(5, 4, 2) == [0, 1]
    assert mmseg_window_starts(7, 4, 2) == [0, 2, 3]
    assert mmseg_window_starts(1025, 769, 513) == [0, 256]
    assert mmseg_window_starts(3, 4, 2) == [0]


def test_mmseg_whole_resizes_logits_to_the_original_size_then_softmax() -> None:
    # 1 x 2 image [0, 1], test scale (4, 2): f = min(4/2, 2/1) = 2 -> 2 x 4; the image resize (pixel
    # centres) gives [0, .25, .75, 1]; logits 10x -> [0, 2.5, 7.5, 10]; back to 1 x 2 (align_corners
    # False): source columns 0.5 and 2.5 -> 1.25 and 8.75; softmax against class 1 = 0.
    image = torch.tensor([0.0, 1.0]).view(1, 1, 1, 2).expand(1, 3, 1, 2).contiguous()

    def stub(x: torch.Tensor) -> torch.Tensor:
        return torch.cat([10 * x[:, :1], torch.zeros_like(x[:, :1])], dim=1)

    config = InferenceConfig(protocol="mmseg", test_size=(4, 2), align_corners=False)
    probs = mmseg_probs(image, stub, config)
    assert probs[0, 0, 0].tolist() == pytest.approx([sigmoid(1.25), sigmoid(8.75)], abs=1e-6)


def test_mmseg_whole_flip_averages_the_flipped_back_softmax() -> None:
    # Column class j against 0.5: plain softmax sigmoid(j - 0.5); the flipped run gives, flipped back,
    # sigmoid(2 - c - 0.5) at column c; the two are averaged.
    def stub(x: torch.Tensor) -> torch.Tensor:
        return torch.cat([window_stub(x)[:, 1:2], torch.full_like(x[:, :1], 0.5)], dim=1)

    probs = mmseg_probs(torch.zeros(1, 3, 1, 3), stub, InferenceConfig(protocol="mmseg", flip=True))
    expected = [(sigmoid(c - 0.5) + sigmoid(1.5 - c)) / 2 for c in range(3)]
    assert probs[0, 0, 0].tolist() == pytest.approx(expected, abs=1e-6)


def _slide_config(flip: bool) -> InferenceConfig:
    return InferenceConfig(protocol="mmseg", mode="slide", crop_size=(4, 4), stride=(2, 2), flip=flip)


def _slide_stub(x: torch.Tensor) -> torch.Tensor:
    return window_stub(x)[:, 1:3]  # column index, window mean


def test_mmseg_slide_averages_window_logits_before_softmax() -> None:
    # 5 x 7, crop 4, stride 2: rows at 0, 1 and columns at 0, 2, 3. Channel 0 is 1 at (0,0) only, so
    # only window (0,0) has mean 1/16. Pixel (0,3): windows (0,0) (0,2) (0,3), local columns 3, 1, 0:
    # logits (4/3, 1/48). Pixel (4,6): window (1,3) alone, column 3, mean 0.
    image = torch.zeros(1, 3, 5, 7)
    image[0, 0, 0, 0] = 1.0
    probs = mmseg_probs(image, _slide_stub, _slide_config(flip=False))
    assert probs[0, 0, 0, 3].item() == pytest.approx(sigmoid(4 / 3 - 1 / 48), abs=1e-6)
    assert probs[0, 0, 4, 6].item() == pytest.approx(sigmoid(3.0), abs=1e-6)


def test_mmseg_slide_flip_runs_the_flipped_image_through_the_windows() -> None:
    # Flipped image: original column 6 is column 0, covered by the flipped image's window at 0 only,
    # local column 0, mean 0: softmax 0.5; averaged with the unflipped sigmoid(3).
    probs = mmseg_probs(torch.zeros(1, 3, 5, 7), _slide_stub, _slide_config(flip=True))
    assert probs[0, 0, 4, 6].item() == pytest.approx((sigmoid(3.0) + 0.5) / 2, abs=1e-6)


def test_mmseg_slide_runs_a_small_image_unpadded() -> None:
    seen: list[tuple[int, ...]] = []

    def stub(x: torch.Tensor) -> torch.Tensor:
        seen.append(tuple(x.shape[-2:]))
        return _slide_stub(x)

    mmseg_probs(torch.zeros(1, 3, 3, 3), stub, _slide_config(flip=False))
    assert seen == [(3, 3)]


def test_mmseg_multi_scale_ratios_multiply_the_test_scale() -> None:
    seen: list[tuple[int, ...]] = []

    def stub(x: torch.Tensor) -> torch.Tensor:
        seen.append(tuple(x.shape[-2:]))
        return torch.zeros(x.shape[0], 2, x.shape[2], x.shape[3])

    config = InferenceConfig(protocol="mmseg", test_size=(2048, 512), scales=(0.5, 1.0), flip=True)
    probs = mmseg_probs(torch.zeros(1, 3, 375, 500), stub, config)
    # (1024, 256): f = min(1024/500, 256/375) -> 256 x 341; (2048, 512) -> 512 x 683.
    assert seen == [(256, 341), (512, 683)] and probs.shape == (1, 2, 375, 500)


def test_keep_ratio_test_sizes_of_the_reference() -> None:
    assert keep_ratio_size((375, 500), (2048, 512)) == (512, 683)
    assert keep_ratio_size((1024, 2048), (2049, 1025)) == (1025, 2049)
    assert keep_ratio_size((1024, 2048), (2048, 1024)) == (1024, 2048)


def test_test_size_runs_the_model_resized_and_scores_at_the_original_size() -> None:
    seen: list[tuple[int, ...]] = []

    def stub(x: torch.Tensor) -> torch.Tensor:
        seen.append(tuple(x.shape[-2:]))
        return torch.zeros(x.shape[0], 2, x.shape[2], x.shape[3])

    for protocol in ("danet", "official", "mmseg"):
        seen.clear()
        config = InferenceConfig(protocol=protocol, test_size=(14, 10), crop_size=(16, 16), stride=(8, 8))
        probs = predict_probs(torch.zeros(1, 3, 5, 7), stub, config)
        assert probs.shape == (1, 2, 5, 7)
        assert seen[0] in ((10, 14), (16, 16)), protocol  # official pads the 10 x 14 image to the crop


def _official_by_the_letter(image: torch.Tensor, forward, base: int, crop: int, scales, flip: bool):  # noqa: ANN001, ANN202
    """The reference's steps written out literally in float64 with the raw exp (no batching, no logs)."""
    _, _, h, w = image.shape
    stride = int(crop * 2 / 3) if len(scales) == 1 else int(crop / 2)
    scores = torch.zeros(1, 4, h, w, dtype=torch.float64)

    def pad(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
        out = torch.full((1, 3, max(height, x.shape[2]), max(width, x.shape[3])), BLACK[0], dtype=x.dtype)
        out[:, :, : x.shape[2], : x.shape[3]] = x
        return out

    def rule(window: torch.Tensor) -> torch.Tensor:
        logits = forward(window).double()
        return (logits + forward(window.flip(-1)).double().flip(-1) if flip else logits).exp()

    for scale in scales:
        long = math.ceil(base * scale)
        height, width = (long, int(w * long / h + 0.5)) if h > w else (int(h * long / w + 0.5), long)
        image_s = pad(
            torch.nn.functional.interpolate(image, (height, width), mode="bilinear", align_corners=True),
            crop,
            crop,
        )
        ph, pw = image_s.shape[2:]
        acc, count = torch.zeros(1, 4, ph, pw, dtype=torch.float64), torch.zeros(1, 1, ph, pw)
        for i in range(math.ceil((ph - crop) / stride) + 1):
            for j in range(math.ceil((pw - crop) / stride) + 1):
                y0, x0 = i * stride, j * stride
                y1, x1 = min(y0 + crop, ph), min(x0 + crop, pw)
                out = rule(pad(image_s[:, :, y0:y1, x0:x1], crop, crop))
                acc[:, :, y0:y1, x0:x1] += out[:, :, : y1 - y0, : x1 - x0]
                count[:, :, y0:y1, x0:x1] += 1
        kept = (acc / count)[:, :, :height, :width]
        scores += torch.nn.functional.interpolate(kept, (h, w), mode="bilinear", align_corners=True)
    return scores


@pytest.mark.parametrize(
    ("size", "scales", "flip"), [((23, 37), (1.0,), True), ((37, 23), (0.5, 0.75, 1.25, 2.2), False)]
)
def test_official_matches_the_reference_steps_written_out(size, scales, flip) -> None:  # noqa: ANN001
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(3, 4, 3, padding=1)

    def model(x: torch.Tensor) -> torch.Tensor:  # a convolution plus a window-wide term
        with torch.no_grad():
            y = conv(x.float())
            return y + 3 * y.mean(dim=(2, 3), keepdim=True)

    image = torch.randn(1, 3, *size)
    config = InferenceConfig(
        protocol="official", crop_size=(16, 16), stride=(official_stride(16, len(scales)),) * 2,
        scales=scales, flip=flip, base_size=40, pad_value=BLACK, batch_size=3,
    )  # fmt: skip
    ours = official_log_scores(image, model, config).double()
    expected = _official_by_the_letter(image, model, 40, 16, scales, flip).log()
    assert torch.allclose(ours, expected, atol=1e-4)
    assert torch.equal(ours.argmax(1), expected.argmax(1))
