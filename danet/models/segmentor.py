"""DANet and the dilated-FCN baseline: a registered backbone, a head, an optional auxiliary head."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from danet.errors import ConfigError
from danet.models.attention import PositionAttention
from danet.models.backbones import create_backbone
from danet.models.heads import BRANCHES, DANetHead, FCNHead, check_attention
from danet.models.model_config import ModelConfig


class Segmentor(nn.Module):
    """Backbone + head; every output is upsampled (bilinear) to the input size.

    ``forward`` returns a dict: ``out`` always; the per-branch logits (``pam``, ``cam`` for DANet) and
    ``aux`` (when built with ``aux=True``) in training mode or when ``all_outputs=True``.
    """

    def __init__(self, config: ModelConfig, backbone: str) -> None:
        super().__init__()
        if config.num_classes < 1:
            raise ConfigError(f"num_classes must be positive, got {config.num_classes}")
        self.config = config
        self.backbone = create_backbone(
            backbone,
            stem=config.stem,
            output_stride=config.output_stride,
            multi_grid=config.multi_grid,
        )
        self.head = self._make_head(self.backbone.out_channels)
        self.aux_head = (
            FCNHead(self.backbone.c3_channels, config.num_classes, dropout=config.dropout)
            if config.aux
            else None
        )

    def _make_head(self, in_channels: int) -> nn.Module:
        raise TypeError("Segmentor is abstract; use DANet or FCN")  # pragma: no cover

    def _head_outputs(self, c4: torch.Tensor, all_outputs: bool) -> dict[str, torch.Tensor]:
        return {"out": self.head(c4)}

    def forward(self, x: torch.Tensor, all_outputs: bool = False) -> dict[str, torch.Tensor]:
        size = x.shape[-2:]
        extra = self.training or all_outputs
        c3, c4 = self.backbone(x)
        logits = self._head_outputs(c4, extra)  # each (B, K, H/OS, W/OS)
        if extra and self.aux_head is not None:
            logits["aux"] = self.aux_head(c3)
        return {name: self.upsample(value, size) for name, value in logits.items()}

    def upsample(self, logits: torch.Tensor, size: torch.Size) -> torch.Tensor:
        return F.interpolate(
            logits, size=size, mode="bilinear", align_corners=self.config.align_corners
        )  # (B, K, H, W)


class DANet(Segmentor):
    """Dual Attention Network (Fu et al., CVPR 2019), exactly as released.

    ``attention=("pam",)`` or ``("cam",)`` builds the paper's single-branch ablations (registered as
    ``danet_pam_resnet*`` and ``danet_cam_resnet*``): the other branch is absent, not just unused.
    """

    def __init__(self, config: ModelConfig, backbone: str, *, attention: Sequence[str] = BRANCHES) -> None:
        self.attention = check_attention(attention)  # read by _make_head during Segmentor.__init__
        super().__init__(config, backbone)

    def _make_head(self, in_channels: int) -> nn.Module:
        return DANetHead(
            in_channels,
            self.config.num_classes,
            attention=self.attention,
            dropout=self.config.dropout,
            pam_implementation=self.config.pam_implementation,
        )

    def _head_outputs(self, c4: torch.Tensor, all_outputs: bool) -> dict[str, torch.Tensor]:
        return self.head(c4, branches=all_outputs)

    def set_pam_implementation(self, implementation: str) -> None:
        """Switch how position attention is computed (same numbers, different memory/speed).

        A CAM-only model has no position attention: the call only checks the name.
        """
        if self.head.pam is None:
            PositionAttention.check_implementation(implementation)
            return
        self.head.pam.implementation = implementation


class FCN(Segmentor):
    """The dilated-FCN baseline of the paper's ablation (same backbone, no attention)."""

    def _make_head(self, in_channels: int) -> nn.Module:
        return FCNHead(in_channels, self.config.num_classes, dropout=self.config.dropout)
