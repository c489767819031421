"""Periodic validation: the real metric on the full-size validation images (never a centre crop).

The recipe's `val:` block picks the protocol, windows and test-time resize (`danet.protocols`), so
the numbers logged during training follow the protocol of the recipe's anchor.
"""

from __future__ import annotations

import math
import time
from typing import Any

from danet.backends.torch_backend import TorchBackend
from danet.checkpoints import unwrap
from danet.checkpoints.meta import IMAGENET_MEAN, IMAGENET_STD
from danet.evaluation import evaluate_dataset
from danet.protocols import val_inference
from danet.reporting import format_score


class Validator:
    """Scores the trainer's model on its validation split and tracks the best mIoU."""

    def __init__(self, trainer: Any, dataset: Any) -> None:
        self.trainer, self.dataset = trainer, dataset
        self.inference = val_inference(
            trainer.config.val,
            align_corners=bool(trainer.config.model_options.get("align_corners", True)),
            mean=IMAGENET_MEAN,
            std=IMAGENET_STD,
        )
        self.improved = False
        self.last_iteration: int | None = None
        self.result: Any = None

    @property
    def available(self) -> bool:
        return self.dataset is not None

    def run(self, iteration: int) -> None:
        """Evaluate now (every process takes part), log the scores, note whether they are the best."""
        if self.dataset is None:
            return
        trainer, config = self.trainer, self.trainer.config
        model = unwrap(trainer.model)
        tick = time.perf_counter()
        backend = TorchBackend(
            model, device=trainer.ctx.device, precision=trainer.precision.name,
            channels_last=config.channels_last,
        )  # fmt: skip
        try:
            self.result = evaluate_dataset(
                backend.forward, self.dataset, num_classes=len(trainer.meta["class_names"]),
                inference=self.inference, reporter=trainer.reporter, distributed=trainer.ctx.distributed,
                limit=config.val.limit, device=trainer.ctx.device,
                ignore_index=int(trainer.meta["ignore_index"]),
            )  # fmt: skip
        finally:
            model.train()
        metrics = self.result.metrics
        self.last_iteration = iteration
        self._record(iteration, metrics, time.perf_counter() - tick)

    def _record(self, iteration: int, metrics: dict[str, Any], seconds: float) -> None:
        trainer = self.trainer
        miou = float(metrics["miou"])
        best = trainer.best_miou
        self.improved = not math.isnan(miou) and (best is None or miou > best)
        if self.improved:
            trainer.best_miou = miou
        trainer.last_metrics = {k: metrics[k] for k in ("miou", "pixel_acc", "mean_acc", "per_class_iou")}
        if trainer.run_dir is not None:
            trainer.run_dir.append_metrics(
                {"iteration": iteration, **trainer.last_metrics, "val_time": seconds}
            )
        if getattr(trainer, "recorder", None) is not None:
            trainer.recorder.log_val(iteration, metrics, seconds)
        limit = trainer.config.val.limit
        scope = f"first {limit} images of " if limit else ""
        trainer.reporter.info(
            f"iteration {iteration}: {scope}{trainer.config.val_split} mIoU {format_score(miou)}  pixel acc "
            f"{format_score(metrics['pixel_acc'])}  mean acc {format_score(metrics['mean_acc'])}  "
            f"(best {format_score(trainer.best_miou)}{', new best' if self.improved else ''})"
        )

    def report_table(self) -> None:
        """The per-class table of the latest validation."""
        if self.result is None:
            return
        names = self.trainer.meta["class_names"]
        metrics = self.result.metrics
        rows = [
            [name, format_score(iou), format_score(acc)]
            for name, iou, acc in zip(names, metrics["per_class_iou"], metrics["per_class_acc"], strict=True)
        ]
        rows.append(["mean", format_score(metrics["miou"]), format_score(metrics["mean_acc"])])
        self.trainer.reporter.table(
            f"{self.trainer.config.val_split} at iteration {self.last_iteration} (standard mIoU)",
            ["class", "IoU", "accuracy"],
            rows,
        )
