"""Parameter-name mappings between danet and the published checkpoint layouts.

danet names (``backbone.*`` in torchvision naming, ``head.pam_in`` ...) map one-to-one onto:
- the official DANet release (``pretrained.*``, ``head.conv5a`` ..., see danet-model.md section 3);
- mmsegmentation's DANet (``backbone.stem.*``, ``decode_head.*``, ``auxiliary_head.*``).
Each table is a list of (external prefix, danet prefix); the longest matching prefix wins and a
danet prefix of ``None`` drops the key (e.g. the unused ImageNet classifier ``fc``).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

PrefixTable = list[tuple[str, str | None]]

# Official DANet (PyTorch-Encoding based) -> danet.
OFFICIAL_PREFIXES: PrefixTable = [
    ("pretrained.fc.", None),
    ("pretrained.", "backbone."),
    ("head.conv5a.", "head.pam_in."),
    ("head.conv5c.", "head.cam_in."),
    ("head.sa.query_conv.", "head.pam.query."),
    ("head.sa.key_conv.", "head.pam.key."),
    ("head.sa.value_conv.", "head.pam.value."),
    ("head.sa.gamma", "head.pam.gamma"),
    ("head.sc.gamma", "head.cam.gamma"),
    ("head.conv51.", "head.pam_out."),
    ("head.conv52.", "head.cam_out."),
    ("head.conv6.1.", "head.pam_classifier.1."),
    ("head.conv7.1.", "head.cam_classifier.1."),
    ("head.conv8.1.", "head.classifier.1."),
    # PyTorch-Encoding's FCN auxiliary layer: conv5 = (conv, bn, relu, dropout, conv)
    ("auxlayer.conv5.0.", "aux_head.block.0."),
    ("auxlayer.conv5.1.", "aux_head.block.1."),
    ("auxlayer.conv5.4.", "aux_head.classifier.1."),
]

# mmseg ResNetV1c stem: (conv, bn, relu) x 3 as stem.0..8; danet keeps deep stems as conv1 + bn1.
_V1C_STEM: PrefixTable = [
    ("stem.0.", "conv1.0."),
    ("stem.1.", "conv1.1."),
    ("stem.3.", "conv1.3."),
    ("stem.4.", "conv1.4."),
    ("stem.6.", "conv1.6."),
    ("stem.7.", "bn1."),
]

# mmsegmentation DANet (ResNetV1c backbone, DAHead, FCNHead auxiliary) -> danet.
MMSEG_PREFIXES: PrefixTable = [
    *[(f"backbone.{src}", f"backbone.{dst}") for src, dst in _V1C_STEM],
    ("backbone.fc.", None),
    ("backbone.", "backbone."),
    ("decode_head.pam_in_conv.conv.", "head.pam_in.0."),
    ("decode_head.pam_in_conv.bn.", "head.pam_in.1."),
    ("decode_head.cam_in_conv.conv.", "head.cam_in.0."),
    ("decode_head.cam_in_conv.bn.", "head.cam_in.1."),
    ("decode_head.pam.query_project.", "head.pam.query."),
    ("decode_head.pam.key_project.", "head.pam.key."),
    ("decode_head.pam.value_project.", "head.pam.value."),
    ("decode_head.pam.gamma.scale", "head.pam.gamma"),
    ("decode_head.cam.gamma.scale", "head.cam.gamma"),
    ("decode_head.pam_out_conv.conv.", "head.pam_out.0."),
    ("decode_head.pam_out_conv.bn.", "head.pam_out.1."),
    ("decode_head.cam_out_conv.conv.", "head.cam_out.0."),
    ("decode_head.cam_out_conv.bn.", "head.cam_out.1."),
    ("decode_head.pam_conv_seg.", "head.pam_classifier.1."),
    ("decode_head.cam_conv_seg.", "head.cam_classifier.1."),
    ("decode_head.conv_seg.", "head.classifier.1."),
    ("auxiliary_head.convs.0.conv.", "aux_head.block.0."),
    ("auxiliary_head.convs.0.bn.", "aux_head.block.1."),
    ("auxiliary_head.conv_seg.", "aux_head.classifier.1."),
]

# ImageNet backbone files (torchvision, PyTorch-Encoding ``resnet*s``, mmseg ``resnet*_v1c``) -> ResNet,
# after any ``module.`` / ``backbone.`` wrapper prefix has been stripped.
BACKBONE_PREFIXES: PrefixTable = [("fc.", None), *_V1C_STEM]
_WRAPPERS = ("module.", "backbone.")


def map_key(key: str, table: PrefixTable) -> str | None:
    """Rename `key` by the longest matching prefix; None: drop it; no match: unchanged."""
    best: tuple[str, str | None] | None = None
    for src, dst in table:
        if key.startswith(src) and (best is None or len(src) > len(best[0])):
            best = (src, dst)
    if best is None:
        return key
    src, dst = best
    return None if dst is None else dst + key[len(src) :]


def rename_state_dict(
    state_dict: Mapping[str, torch.Tensor], table: PrefixTable
) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Apply `table` to every key. Returns (renamed dict, dropped keys). Gammas become scalars."""
    renamed: dict[str, torch.Tensor] = {}
    dropped: list[str] = []
    for key, value in state_dict.items():
        new_key = map_key(key, table)
        if new_key is None:
            dropped.append(key)
            continue
        if new_key.endswith(".gamma") and value.numel() == 1:
            value = value.reshape(())  # official (1,) and mmseg () both become ()
        renamed[new_key] = value
    return renamed, dropped


def backbone_key_from_external(key: str) -> str | None:
    """Map a key of an ImageNet backbone file to danet's `ResNet` name (None: not used)."""
    for wrapper in _WRAPPERS:
        if key.startswith(wrapper):
            key = key[len(wrapper) :]
    return map_key(key, BACKBONE_PREFIXES)


def invert(table: PrefixTable) -> PrefixTable:
    """The danet -> external direction of a table (dropped entries are left out)."""
    return [(dst, src) for src, dst in table if dst is not None and src != dst]


def describe_mismatch(missing: list[str], unexpected: list[str], wrong: list[str]) -> str:
    """One line naming missing, unexpected and mis-shaped keys (the first five of each)."""
    parts = []
    for label, keys in (("missing keys", missing), ("unexpected keys", unexpected), ("wrong shapes", wrong)):
        if keys:
            shown = ", ".join(keys[:5]) + (f" and {len(keys) - 5} more" if len(keys) > 5 else "")
            parts.append(f"{label}: {shown}")
    return "; ".join(parts)
