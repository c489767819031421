"""Dilated ResNet backbones (ResNet-18 ... 152) with torchvision parameter names.

Three stems are supported because published weights use all three:
- ``7x7``: one 7x7/2 conv (torchvision, official DANet101);
- ``v1c``: three 3x3 convs 3->32->32->64 (mmsegmentation ``ResNetV1c``);
- ``s``: three 3x3 convs 3->64->64->128 (PyTorch-Encoding ``resnet50s``).
Deep stems are stored as ``conv1`` = Sequential(conv, bn, relu, conv, bn, relu, conv) and ``bn1``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn

from danet.errors import CheckpointError, ConfigError
from danet.models.backbones._registry import register_backbone

STEMS = ("7x7", "v1c", "s")
DEPTHS: dict[int, tuple[str, tuple[int, int, int, int]]] = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
}
MULTI_GRID = (4, 8, 16)


def conv3x3(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride, padding=dilation, dilation=dilation, bias=False)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin: int, planes: int, stride: int, dilation: int, downsample: nn.Module | None):
        super().__init__()
        self.conv1 = conv3x3(cin, planes, stride, dilation)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, 1, dilation)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """ResNet v1.5 bottleneck: the stride sits on the 3x3 conv."""

    expansion = 4

    def __init__(self, cin: int, planes: int, stride: int, dilation: int, downsample: nn.Module | None):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, stride, dilation)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


def stage_dilations(blocks: int, stage: int, output_stride: int, multi_grid: bool) -> tuple[int, list[int]]:
    """(stride, per-block dilations) of layer3 (stage 3) or layer4 (stage 4)."""
    if output_stride == 8:
        if stage == 3:
            return 1, [1] + [2] * (blocks - 1)
        if multi_grid:
            return 1, [MULTI_GRID[i % 3] for i in range(blocks)]
        return 1, [2] + [4] * (blocks - 1)
    # output stride 16: layer3 is a plain stride-2 stage, layer4 is dilated by 2
    if stage == 3:
        return 2, [1] * blocks
    if multi_grid:
        return 1, [2 * (1, 2, 4)[i % 3] for i in range(blocks)]
    return 1, [1] + [2] * (blocks - 1)


class ResNet(nn.Module):
    """A ResNet feature extractor returning (c3, c4) at output stride 8 or 16."""

    def __init__(
        self,
        depth: int = 50,
        *,
        stem: str = "7x7",
        output_stride: int = 8,
        multi_grid: bool = False,
    ) -> None:
        super().__init__()
        if depth not in DEPTHS:
            raise ConfigError(f"ResNet depth {depth} is not supported; use one of {sorted(DEPTHS)}")
        if stem not in STEMS:
            raise ConfigError(f"unknown stem {stem!r}; use one of {', '.join(STEMS)}")
        if output_stride not in (8, 16):
            raise ConfigError(f"output_stride must be 8 or 16, got {output_stride}")
        kind, layers = DEPTHS[depth]
        block = BasicBlock if kind == "basic" else Bottleneck
        self.depth, self.stem, self.output_stride, self.multi_grid = (
            depth,
            stem,
            output_stride,
            multi_grid,
        )
        self.inplanes = self._make_stem(stem)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, 1, [1] * layers[0])
        self.layer2 = self._make_layer(block, 128, 2, [1] * layers[1])
        self.layer3 = self._make_layer(block, 256, *stage_dilations(layers[2], 3, output_stride, multi_grid))
        self.layer4 = self._make_layer(block, 512, *stage_dilations(layers[3], 4, output_stride, multi_grid))
        self.c3_channels = 256 * block.expansion
        self.out_channels = 512 * block.expansion

    def _make_stem(self, stem: str) -> int:
        if stem == "7x7":
            self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            return 64
        width, out = (32, 64) if stem == "v1c" else (64, 128)
        self.conv1 = nn.Sequential(
            conv3x3(3, width, stride=2),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            conv3x3(width, width),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            conv3x3(width, out),
        )
        self.bn1 = nn.BatchNorm2d(out)
        return out

    def _make_layer(
        self, block: type[nn.Module], planes: int, stride: int, dilations: Sequence[int]
    ) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * block.expansion, 1, stride, bias=False),
                nn.BatchNorm2d(planes * block.expansion),
            )
        blocks = [block(self.inplanes, planes, stride, dilations[0], downsample)]
        self.inplanes = planes * block.expansion
        blocks += [block(self.inplanes, planes, 1, d, None) for d in dilations[1:]]
        return nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))  # (B, 64|128, H/4, W/4)
        x = self.layer2(self.layer1(x))  # (B, 128*e, H/8, W/8)
        c3 = self.layer3(x)  # (B, 256*e, H/OS, W/OS)
        c4 = self.layer4(c3)  # (B, 512*e, H/OS, W/OS)
        return c3, c4


def load_backbone_state_dict(backbone: ResNet, state_dict: Mapping[str, torch.Tensor]) -> None:
    """Load ImageNet weights (torchvision, mmseg v1c or PyTorch-Encoding naming) strictly.

    The classifier (``fc.*``) is dropped; every other key must match by name and shape, and a mismatch
    raises `CheckpointError` naming the keys.
    """
    from danet.models.naming import backbone_key_from_external, describe_mismatch

    renamed = {}
    for key, value in state_dict.items():
        new_key = backbone_key_from_external(key)
        if new_key is not None:
            renamed[new_key] = value
    own = backbone.state_dict()
    missing = [k for k in own if k not in renamed and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in renamed if k not in own]
    wrong = [k for k in renamed if k in own and tuple(renamed[k].shape) != tuple(own[k].shape)]
    if missing or unexpected or wrong:
        raise CheckpointError(
            "backbone weights do not fit this backbone: " + describe_mismatch(missing, unexpected, wrong)
        )
    for key in own:
        if key.endswith("num_batches_tracked") and key not in renamed:
            renamed[key] = own[key]
    backbone.load_state_dict(renamed, strict=True)


def _register_resnet(depth: int) -> None:
    def builder(*, stem: str = "7x7", output_stride: int = 8, multi_grid: bool = False) -> ResNet:
        return ResNet(depth, stem=stem, output_stride=output_stride, multi_grid=multi_grid)

    builder.__name__ = f"resnet{depth}"
    builder.__doc__ = f"Dilated ResNet-{depth}."
    register_backbone(f"resnet{depth}")(builder)


for _depth in DEPTHS:
    _register_resnet(_depth)
