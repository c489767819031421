"""The DANet training loss: cross-entropy on the fused, PAM and CAM logits, plus the auxiliary FCN head."""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F

from danet.config import LossWeights


class SegmentationLoss:
    """Weighted sum of per-output cross-entropies (ignore label 255).

    Official DANet: fused + PAM + CAM at 1:1:1; mmseg adds the auxiliary FCN head at 0.4. Only the
    outputs the model returns are used, so the same loss serves DANet and the FCN baseline.
    """

    def __init__(self, weights: LossWeights, ignore_index: int = 255) -> None:
        self.weights = {"out": weights.out, "pam": weights.pam, "cam": weights.cam, "aux": weights.aux}
        self.ignore_index = ignore_index

    def __call__(
        self, outputs: Mapping[str, torch.Tensor], target: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """(total, {"loss_out": ..., "loss_pam": ...}) for logits (B, K, H, W) and target (B, H, W)."""
        terms: dict[str, torch.Tensor] = {}
        total = None
        for name, weight in self.weights.items():
            if name not in outputs or weight == 0:
                continue
            term = F.cross_entropy(outputs[name].float(), target, ignore_index=self.ignore_index)
            terms[f"loss_{name}"] = term.detach()
            total = weight * term if total is None else total + weight * term
        if total is None:
            raise ValueError(f"the model returned none of the outputs {sorted(self.weights)}")
        return total, terms
