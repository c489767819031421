"""The DANet training loss: cross-entropy on the fused, PAM and CAM logits, plus the auxiliary FCN head."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

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

    def __init__(
        self,
        weights: LossWeights,
        ignore_index: int = 255,
        average: str = "labelled",
        *,
        class_weight: torch.Tensor | None = None,
        ohem: OhemSampler | None = None,
    ) -> None:
        if average not in LOSS_AVERAGES:
            raise ConfigError(f"loss average must be one of {', '.join(LOSS_AVERAGES)}, got {average!r}")
        self.weights = {"out": weights.out, "pam": weights.pam, "cam": weights.cam, "aux": weights.aux}
        self.ignore_index = ignore_index
        self.average = average
        self.class_weight = class_weight  # (K,) per-class weights of the cross-entropy, or None
        self.ohem = ohem  # on the DANet outputs, not the auxiliary head (as mmseg's decode head)

    def __call__(
        self, outputs: Mapping[str, torch.Tensor], target: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """(total, {"loss_out": ..., "loss_pam": ...}) for logits (B, K, H, W) and target (B, H, W)."""
        terms: dict[str, torch.Tensor] = {}
        total = None
        for name, weight in self.weights.items():
            if name not in outputs or weight == 0:
                continue
            term = self.pixel_loss(name, outputs[name].float(), target)
            terms[f"loss_{name}"] = term.detach()
            total = weight * term if total is None else total + weight * term
        if total is None:
            raise ValueError(f"the model returned none of the outputs {sorted(self.weights)}")
        return total, terms

    def pixel_loss(self, name: str, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of one output, with the class weights and, except for `aux`, OHEM."""
        if self.ohem is not None and name != "aux":
            target = self.ohem.select(logits, target)
        weight = None if self.class_weight is None else self.class_weight.to(logits.device)
        return cross_entropy(logits, target, self.ignore_index, self.average, weight=weight)


def cross_entropy(
    logits: torch.Tensor,
    target: torch.Tensor,
    ignore_index: int,
    average: str,
    *,
    weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """Pixel-wise cross-entropy of logits (B, K, H, W) against target (B, H, W), averaged.

    ``labelled``: the mean over pixels whose label is not `ignore_index` (official DANet, PyTorch).
    ``all``: the sum over labelled pixels divided by every pixel of the batch, i.e. ignored pixels
    count as zero (mmsegmentation's default) = the labelled mean x the labelled fraction.
    `weight` (K,): per-class weights (with ``labelled``, PyTorch's weighted mean).
    """
    if average == "labelled":
        return F.cross_entropy(logits, target, weight=weight, ignore_index=ignore_index)
    per_pixel = F.cross_entropy(
        logits, target, weight=weight, ignore_index=ignore_index, reduction="none"
    )  # (B, H, W)
    return per_pixel.mean()


@dataclass(frozen=True)
class OhemSampler:
    """Online hard example mining of pixels, as mmseg's OHEMPixelSampler with a threshold.

    Keeps the labelled pixels whose predicted probability of their true class is below `thresh`, and
    at least the `min_kept` hardest ones (lowest probability) of the batch; the others are ignored.
    """

    thresh: float = 0.7
    min_kept: int = 100000
    ignore_index: int = 255

    @torch.no_grad()
    def select(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """`target` (B, H, W) with the easy pixels set to `ignore_index`; logits (B, K, H, W)."""
        valid = target != self.ignore_index  # (B, H, W)
        count = int(valid.sum())
        if count == 0:
            return target
        probs = logits.float().softmax(dim=1)  # (B, K, H, W)
        index = target.masked_fill(~valid, 0).unsqueeze(1)  # (B, 1, H, W)
        true_prob = probs.gather(1, index).squeeze(1)  # (B, H, W)
        kth = true_prob[valid].kthvalue(min(self.min_kept, count)).values  # the min_kept-th hardest
        keep = valid & ((true_prob < self.thresh) | (true_prob <= kth))
        return target.masked_fill(~keep, self.ignore_index)
