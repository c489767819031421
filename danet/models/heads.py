"""Segmentation heads: the DANet dual-attention head, the dilated-FCN head and the auxiliary head."""

from __future__ import annotations

import torch
from torch import nn

from danet.models.attention import ChannelAttention, PositionAttention


def conv_bn_relu(cin: int, cout: int, kernel: int = 3) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel, padding=kernel // 2, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


def classifier(cin: int, num_classes: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.Dropout2d(dropout), nn.Conv2d(cin, num_classes, 1))


class DANetHead(nn.Module):
    """Two branches (position, channel) from c4, each in-conv -> attention -> out-conv, summed.

    Returns logits at feature resolution: ``out`` (fused) always, ``pam`` and ``cam`` when asked.
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        *,
        dropout: float = 0.1,
        pam_implementation: str = "efficient",
    ) -> None:
        super().__init__()
        inter = in_channels // 4
        self.pam_in = conv_bn_relu(in_channels, inter)
        self.cam_in = conv_bn_relu(in_channels, inter)
        self.pam = PositionAttention(inter, implementation=pam_implementation)
        self.cam = ChannelAttention()
        self.pam_out = conv_bn_relu(inter, inter)
        self.cam_out = conv_bn_relu(inter, inter)
        self.pam_classifier = classifier(inter, num_classes, dropout)
        self.cam_classifier = classifier(inter, num_classes, dropout)
        self.classifier = classifier(inter, num_classes, dropout)

    def forward(self, c4: torch.Tensor, branches: bool = False) -> dict[str, torch.Tensor]:
        s_p = self.pam_out(self.pam(self.pam_in(c4)))  # (B, C/4, h, w)
        s_c = self.cam_out(self.cam(self.cam_in(c4)))  # (B, C/4, h, w)
        logits = {"out": self.classifier(s_p + s_c)}  # (B, K, h, w)
        if branches:
            logits["pam"] = self.pam_classifier(s_p)
            logits["cam"] = self.cam_classifier(s_c)
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
