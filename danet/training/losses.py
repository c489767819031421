"""The DANet training loss: cross-entropy on the fused, PAM and CAM logits, plus the auxiliary FCN head."""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F

from danet.config import LOSS_AVERAGES, LossWeights
from danet.errors import ConfigError


class SegmentationLoss:
    """Weighted sum of per-output cross-entropies (ignore label 255).

    Official DANet: fused + PAM + CAM at 1:1:1; mmseg adds the auxiliary FCN head at 0.4. Only the
    outputs the model returns are used, so the same loss serves DANet, its single-branch ablations
    and the FCN baseline. `average` is ``labelled`` or ``all`` (see `cross_entropy`).
    """

    def __init__(self, weights: LossWeights, ignore_index: int = 255, average: str = "labelled") -> None:
        if average not in LOSS_AVERAGES:
            raise ConfigError(f"loss average must be one of {', '.join(LOSS_AVERAGES)}, got {average!r}")
        self.weights = {"out": weights.out, "pam": weights.pam, "cam": weights.cam, "aux": weights.aux}
        self.ignore_index = ignore_index
        self.average = average

    def __call__(
        self, outputs: Mapping[str, torch.Tensor], target: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """(total, {"loss_out": ..., "loss_pam": ...}) for logits (B, K, H, W) and target (B, H, W)."""
        terms: dict[str, torch.Tensor] = {}
        total = None
        for name, weight in self.weights.items():
            if name not in outputs or weight == 0:
                continue
            term = cross_entropy(outputs[name].float(), target, self.ignore_index, self.average)
            terms[f"loss_{name}"] = term.detach()
            total = weight * term if total is None else total + weight * term
        if total is None:
            raise ValueError(f"the model returned none of the outputs {sorted(self.weights)}")
        return total, terms


def cross_entropy(
    logits: torch.Tensor, target: torch.Tensor, ignore_index: int, average: str
) -> torch.Tensor:
    """Pixel-wise cross-entropy of logits (B, K, H, W) against target (B, H, W), averaged.

    ``labelled``: the mean over pixels whose label is not `ignore_index` (official DANet, PyTorch).
    ``all``: the sum over labelled pixels divided by every pixel of the batch, i.e. ignored pixels
    count as zero (mmsegmentation's default) = the labelled mean x the labelled fraction.
    """
    if average == "labelled":
        return F.cross_entropy(logits, target, ignore_index=ignore_index)
    per_pixel = F.cross_entropy(logits, target, ignore_index=ignore_index, reduction="none")  # (B, H, W)
    return per_pixel.mean()
