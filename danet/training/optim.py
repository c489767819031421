"""SGD (or AdamW) with the head at 10x the backbone learning rate, and the per-iteration poly schedule."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.optim.lr_scheduler import LRScheduler

from danet.config import TrainConfig


def param_groups(model: nn.Module, lr: float, head_lr_mult: float) -> list[dict[str, Any]]:
    """Backbone parameters at `lr`; everything else (DANet head, auxiliary head) at `lr * head_lr_mult`.

    Weight decay applies to every parameter, as in the official code.
    """
    backbone = [p for p in model.backbone.parameters() if p.requires_grad]
    ids = {id(p) for p in backbone}
    head = [p for p in model.parameters() if p.requires_grad and id(p) not in ids]
    return [
        {"params": backbone, "lr": lr, "name": "backbone"},
        {"params": head, "lr": lr * head_lr_mult, "name": "head"},
    ]


def build_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """SGD with momentum (the paper's), or AdamW (``momentum`` unused) for short runs from scratch."""
    groups = param_groups(model, config.lr, config.head_lr_mult)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)


class PolyLR(LRScheduler):
    """lr = (base - min_lr) * (1 - it / max_iters) ** power + min_lr, stepped once per iteration.

    Each group's base is its initial lr, so the head keeps its 10x. `max_iters` is part of the state;
    extending a resumed run sets it to the new total, which changes the remaining schedule.
    """

    def __init__(
        self, optimizer: torch.optim.Optimizer, max_iters: int, power: float = 0.9, min_lr: float = 0.0
    ) -> None:
        self.max_iters, self.power, self.min_lr = int(max_iters), float(power), float(min_lr)
        super().__init__(optimizer)

    def factor(self, iteration: int) -> float:
        progress = min(iteration, self.max_iters) / self.max_iters
        return (1.0 - progress) ** self.power

    def get_lr(self) -> list[float]:
        factor = self.factor(self.last_epoch)
        return [(base - self.min_lr) * factor + self.min_lr for base in self.base_lrs]

    def _get_closed_form_lr(self) -> list[float]:
        return self.get_lr()

    def set_total(self, max_iters: int) -> None:
        """Change the run length and apply the learning rates of the current iteration under it."""
        self.max_iters = int(max_iters)
        lrs = self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, lrs, strict=True):
            group["lr"] = lr
        self._last_lr = lrs
