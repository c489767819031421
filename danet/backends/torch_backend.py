"""The PyTorch backend: danet checkpoints (and the official/mmseg formats via `load_model`)."""

from __future__ import annotations

import os
from typing import Any

import torch
from torch import nn

from danet.checkpoints.meta import ModelMeta
from danet.devices import Precision, default_channels_last, resolve_device, resolve_precision


def meta_from_model(model: nn.Module) -> ModelMeta:
    """The model's `ModelMeta` (set by `load_model`), else one from its config alone."""
    meta = getattr(model, "meta", None)
    if isinstance(meta, ModelMeta):
        return meta
    config = model.config
    return ModelMeta(config.name, config.num_classes, align_corners=config.align_corners)


def compile_for_inference(model: nn.Module) -> nn.Module:
    """`torch.compile` with freezing, for a model that only runs under `inference_mode`."""
    from danet.errors import BackendError

    if not hasattr(torch, "compile"):
        raise BackendError(f"--compile needs torch.compile (torch >= 2.0); this is torch {torch.__version__}")
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return torch.compile(model, options={"freezing": True})  # type: ignore[return-value]


class TorchBackend:
    """Runs a `Segmentor` on a device with a precision, under `inference_mode`.

    ``channels_last`` None picks NHWC memory where it measured faster
    (`danet.devices.default_channels_last`: the CPU, and CUDA with bf16/fp16); the outputs are the
    same either way, up to float rounding. With ``compile`` the model goes through `torch.compile`
    with inductor's freezing (weights become constants, so convolutions and BatchNorm fold and
    weights are pre-packed for the CPU kernels); the first call of each new input shape compiles,
    later ones are fast.
    """

    name = "torch"

    def __init__(
        self,
        model: nn.Module,
        *,
        device: str | torch.device = "auto",
        precision: str = "fp32",
        channels_last: bool | None = None,
        compile: bool = False,
    ) -> None:
        self.device = resolve_device(device)
        self.precision: Precision = resolve_precision(precision, self.device)
        if channels_last is None:
            channels_last = default_channels_last(self.device, self.precision)
        self.channels_last = channels_last
        memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.model = model.eval().to(self.device, memory_format=memory_format)
        self.meta = meta_from_model(model)
        self.compiled = compile
        if compile:
            self.model = compile_for_inference(self.model)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], **options: Any) -> TorchBackend:
        from danet.checkpoints import load_model

        trust = bool(options.pop("trust", False))
        dataset = options.pop("dataset", None)
        overrides = options.pop("overrides", None) or {}
        return cls(load_model(path, trust=trust, dataset=dataset, **overrides), **options)

    @torch.inference_mode()
    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        batch = batch.to(self.device, non_blocking=True)
        if self.channels_last:
            batch = batch.contiguous(memory_format=torch.channels_last)
        with self.precision.context():
            logits = self.model(batch)["out"]
        return logits.float()
