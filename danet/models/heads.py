"""Segmentation heads: the DANet dual-attention head, the dilated-FCN head and the auxiliary head."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from danet.errors import ConfigError
from danet.models.attention import ChannelAttention, PositionAttention


def conv_bn_relu(cin: int, cout: int, kernel: int = 3) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel, padding=kernel // 2, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


def classifier(cin: int, num_classes: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.Dropout2d(dropout), nn.Conv2d(cin, num_classes, 1))


BRANCHES = ("pam", "cam")


def check_attention(attention: Sequence[str]) -> tuple[str, ...]:
    """The attention branches as a tuple in the canonical order; at least one, each pam or cam."""
    chosen = tuple(b for b in BRANCHES if b in attention)
    unknown = sorted(set(attention) - set(BRANCHES))
    if unknown or not chosen:
        raise ConfigError(
            f"attention must name one or both of {', '.join(BRANCHES)}; got {list(attention)!r}"
        )
    return chosen


class DANetHead(nn.Module):
    """Two branches (position, channel) from c4, each in-conv -> attention -> out-conv, summed.

    ``attention`` selects the branches: ``("pam", "cam")`` is DANet; ``("pam",)`` or ``("cam",)`` is
    one of the paper's single-branch ablations (Table 1), whose fused classifier sees that branch's
    features alone. The other branch's modules are then not built at all (they are ``None``).
    Returns logits at feature resolution: ``out`` (fused) always, the per-branch logits when asked.
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        *,
        attention: Sequence[str] = BRANCHES,
        dropout: float = 0.1,
        pam_implementation: str = "efficient",
    ) -> None:
        super().__init__()
        self.attention = check_attention(attention)
        has_pam, has_cam = "pam" in self.attention, "cam" in self.attention
        inter = in_channels // 4
        # Built in the released head's order, which fixes the order of parameters and state-dict keys.
        self.pam_in = conv_bn_relu(in_channels, inter) if has_pam else None
        self.cam_in = conv_bn_relu(in_channels, inter) if has_cam else None
        self.pam = PositionAttention(inter, implementation=pam_implementation) if has_pam else None
        self.cam = ChannelAttention() if has_cam else None
        self.pam_out = conv_bn_relu(inter, inter) if has_pam else None
        self.cam_out = conv_bn_relu(inter, inter) if has_cam else None
        self.pam_classifier = classifier(inter, num_classes, dropout) if has_pam else None
        self.cam_classifier = classifier(inter, num_classes, dropout) if has_cam else None
        self.classifier = classifier(inter, num_classes, dropout)

    def forward(self, c4: torch.Tensor, branches: bool = False) -> dict[str, torch.Tensor]:
        features: dict[str, torch.Tensor] = {}
        if self.pam is not None:
            features["pam"] = self.pam_out(self.pam(self.pam_in(c4)))  # s_p: (B, C/4, h, w)
        if self.cam is not None:
            features["cam"] = self.cam_out(self.cam(self.cam_in(c4)))  # s_c: (B, C/4, h, w)
        parts = list(features.values())
        fused = parts[0] + parts[1] if len(parts) == 2 else parts[0]  # s_p + s_c, or one branch alone
        logits = {"out": self.classifier(fused)}  # (B, K, h, w)
        if branches and self.pam_classifier is not None:
            logits["pam"] = self.pam_classifier(features["pam"])  # (B, K, h, w)
        if branches and self.cam_classifier is not None:
            logits["cam"] = self.cam_classifier(features["cam"])  # (B, K, h, w)
        return logits


class FCNHead(nn.Module):
    """The dilated-FCN head: 3x3 conv to C/4, BN, ReLU, dropout, 1x1 classifier.

    Used as the paper's ablation baseline on c4 and as mmseg's auxiliary head on c3.
    """

    def __init__(self, in_channels: int, num_classes: int, *, dropout: float = 0.1) -> None:
        super().__init__()
        self.block = conv_bn_relu(in_channels, in_channels // 4)
        self.classifier = classifier(in_channels // 4, num_classes, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.block(x))
