"""`load_model`: any checkpoint spec to a ready PyTorch model carrying its `ModelMeta`."""

from __future__ import annotations

import os
from typing import Any

from torch import nn

from danet.checkpoints.formats import convert_to_danet, detect_format
from danet.checkpoints.resolver import resolve
from danet.checkpoints.serialization import read_checkpoint
from danet.reporting import Reporter


def load_model(
    spec: str | os.PathLike[str] | None = None,
    *,
    trust: bool = False,
    dataset: str | None = None,
    reporter: Reporter | None = None,
    **overrides: Any,
) -> nn.Module:
    """A ready model (eval mode, CPU) from a danet, official DANet or mmsegmentation checkpoint.

    `spec` is anything `resolve` accepts: a file, a run folder, a registered weight name or an
    ``hf://`` file (both downloaded when not cached), or None for the newest run. The layout is
    detected and the architecture read from the weights (`danet.checkpoints.formats`).
    ``overrides`` set model options the weights do not decide (``align_corners``, ``multi_grid``,
    ``pam_implementation`` ...). The model's `ModelMeta` (classes and palette from the file, else from
    the `dataset` name; the training config of a danet checkpoint) is ``model.meta``.
    """
    file = resolve(spec, reporter=reporter)
    checkpoint = read_checkpoint(file, trust=trust)
    fmt = detect_format(checkpoint, str(file))
    model, meta = convert_to_danet(
        checkpoint, fmt, source=str(file), filename=file.name, dataset=dataset, overrides=overrides
    )
    model.meta = meta
    return model.eval()
