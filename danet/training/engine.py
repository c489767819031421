"""The training loop: deterministic data, SGD with poly lr, AMP, DDP, validation, checkpoints, resume."""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from danet.config import TrainConfig
from danet.devices import resolve_precision
from danet.distributed import DistContext, any_true, broadcast_object, cleanup, init_distributed
from danet.errors import ConfigError, DanetError, TrainingError
from danet.fileio import remove_stale_temps
from danet.reporting import NullReporter, PrintReporter, Reporter, format_score
from danet.training.build import build_model, dataset_meta
from danet.training.checkpointing import (
    read_resume_checkpoint,
    restore_training_state,
    save_lean_checkpoint,
    save_training_state,
    write_weight_hash,
)
from danet.training.class_weights import resolve_class_weights
from danet.training.data import (
    SampleFailure,
    build_datasets,
    make_loader,
    sensible_workers,
    total_iters,
    usable_cpus,
)
from danet.training.final import write_final_outputs
from danet.training.losses import OhemSampler, SegmentationLoss
from danet.training.meters import Window, progress_line
from danet.training.optim import PolyLR, build_optimizer
from danet.training.results import RunRecorder, require_logger
from danet.training.rundir import LoggingReporter, RunDir
from danet.training.signals import stop_requests
from danet.training.state import seed_everything
from danet.training.validation import Validator


@dataclass(frozen=True)
class TrainResult:
    """How a run ended: `finished`, `early_stopped` (--patience), `interrupted` (Ctrl-C / SIGTERM) or
    `stopped` (--stop-after); `metrics` are the last validation's scores (None without validation)."""

    run_dir: Path
    iteration: int
    total_iters: int
    best_miou: float | None
    metrics: dict[str, Any] | None
    status: str
    exit_code: int = 0  # 130 after SIGINT, 143 after SIGTERM, as a shell reports a killed process

    @property
    def best_checkpoint(self) -> Path:
        """checkpoints/best.pt: the weights of the best validation (lean; for prediction)."""
        return self.run_dir / "checkpoints" / "best.pt"

    @property
    def last_checkpoint(self) -> Path:
        """checkpoints/last.pt: the full training state of the last iteration (for --resume)."""
        return self.run_dir / "checkpoints" / "last.pt"


def train(
    config: TrainConfig,
    *,
    reporter: Reporter | None = None,
    resume: str | Path | None = None,
    stop_after: int | None = None,
) -> TrainResult:
    """Train `config` into a new run folder, or continue the run folder `resume` (config from it)."""
    if config.data_root:  # saved absolute, so evaluate finds the data from any folder
        config = config.replace(data_root=str(Path(config.data_root).expanduser().resolve()))
    ctx = init_distributed(config.device)
    try:
        trainer = Trainer(config, ctx, reporter or PrintReporter(), resume=resume)
        return trainer.run(stop_after)
    finally:
        cleanup()


class Trainer:
    """One run: the model, optimiser and data of `config` on this process's device."""

    def __init__(self, config: TrainConfig, ctx: DistContext, reporter: Reporter, *, resume: Any) -> None:
        self.config, self.ctx = config, ctx
        require_logger(config.logger)
        seed_everything(config.seed + ctx.rank)
        checkpoint = read_resume_checkpoint(RunDir.existing(resume).last) if resume else None
        self.run_dir = self._open_run(resume)
        self.reporter = LoggingReporter(reporter if ctx.is_main else NullReporter(), self.run_dir)
        self.data = build_datasets(config)
        self.total = total_iters(config, self.data.iters_per_epoch)
        self.meta = dataset_meta(config.dataset, self.data.train.info)
        self.precision = resolve_precision(config.precision, ctx.device)
        self._build(checkpoint)
        self.validator = Validator(self, self.data.val)
        if self.run_dir is not None:  # everything is ready: only now does the run folder appear
            self.run_dir.materialize()
            remove_stale_temps(self.run_dir.last.parent)
        self.recorder = (
            RunRecorder(self.run_dir.path, self.meta["class_names"], logger=config.logger, start=self.start)
            if self.run_dir is not None
            else None
        )

    def _open_run(self, resume: Any) -> RunDir | None:
        run: RunDir | None = None
        if self.ctx.is_main:
            run = RunDir.existing(resume) if resume else RunDir.planned(self.config)
        broadcast_object(self.ctx, str(run.path) if run else None)  # ranks wait for the main one
        return run if self.ctx.is_main else None

    def _build(self, checkpoint: dict[str, Any] | None) -> None:
        config, ctx = self.config, self.ctx
        num_classes = len(self.meta["class_names"])
        model = build_model(config, num_classes, self.reporter, pretrained=checkpoint is None)
        memory_format = torch.channels_last if config.channels_last else torch.contiguous_format
        model = model.to(ctx.device, memory_format=memory_format)
        model = self._sync_bn(model)
        self.optimizer = build_optimizer(model, config)
        self.scheduler = PolyLR(self.optimizer, self.total, config.poly_power, config.min_lr)
        self.scaler = torch.amp.GradScaler(ctx.device.type, enabled=self.precision.needs_scaler)
        self.start, self.best_miou, self.last_metrics = 0, None, None
        self.stale_validations, self.best_iteration = 0, None
        if checkpoint is not None:
            self._restore(checkpoint, model)
        self.model = model
        self.loss = self._build_loss()
        if ctx.distributed:
            unused = any(w == 0 for w in vars(config.loss_weights).values())
            ids = [ctx.device.index] if ctx.device.type == "cuda" else None
            self.model = nn.parallel.DistributedDataParallel(
                model, device_ids=ids, find_unused_parameters=unused
            )
        if ctx.device.type == "cuda":
            torch.backends.cudnn.benchmark = True

    def _build_loss(self) -> SegmentationLoss:
        config, ignore = self.config, int(self.meta["ignore_index"])
        weights = resolve_class_weights(config, self.data.train, self.reporter)
        ohem = OhemSampler(config.ohem_thresh, config.ohem_min_kept, ignore) if config.ohem else None
        return SegmentationLoss(
            config.loss_weights, ignore_index=ignore, average=config.loss_average, ohem=ohem,
            class_weight=None if weights is None else torch.tensor(weights, dtype=torch.float32),
        )  # fmt: skip

    def _sync_bn(self, model: nn.Module) -> nn.Module:
        if not self.ctx.distributed or not self.config.sync_bn:
            return model
        if self.ctx.device.type == "cuda":
            return nn.SyncBatchNorm.convert_sync_batchnorm(model)
        self.reporter.info("CPU training: BatchNorm statistics are per process (SyncBatchNorm needs CUDA)")
        return model

    def _restore(self, checkpoint: dict[str, Any], model: nn.Module) -> None:
        start = int(checkpoint["iteration"])
        if start >= self.total:
            raise ConfigError(
                f"{self.run_dir_text()} already reached iteration {start} of {self.total}; "
                "pass a larger --iters (or --epochs) to train further"
            )
        warnings = restore_training_state(
            checkpoint, model, self.ctx, optimizer=self.optimizer, scheduler=self.scheduler,
            scaler=self.scaler, total_iters=self.total,
        )  # fmt: skip
        for message in warnings:
            self.reporter.warning(message)
        self.start = start
        self.best_miou = checkpoint.get("best_miou")
        self.stale_validations = int(checkpoint.get("stale_validations") or 0)
        self.best_iteration = checkpoint.get("best_iteration")
        self.last_metrics = checkpoint.get("val_metrics")
        if self.run_dir is not None:
            self.run_dir.truncate_metrics(start)
        self.reporter.info(f"resuming {self.run_dir_text()} at iteration {start} of {self.total}")

    def run_dir_text(self) -> str:
        return str(self.run_dir.path) if self.run_dir else "the run"

    # ---- the loop -----------------------------------------------------------------------------

    def run(self, stop_after: int | None) -> TrainResult:
        stop_at = self.total if stop_after is None else min(self.total, max(stop_after, self.start))
        self._announce()
        loader = make_loader(
            self.data.train, self.config, start=self.start, stop=self.total, rank=self.ctx.rank,
            world_size=self.ctx.world_size, pin_memory=self.ctx.device.type == "cuda",
        )  # fmt: skip
        iteration, status = self.start, "finished"
        self.model.train()
        window = Window()
        with stop_requests() as stop, self.reporter.progress("train", total=self.total) as task:
            task.advance(self.start)
            batches = iter(loader)
            while iteration < stop_at:
                tick = time.perf_counter()
                try:
                    batch = next(batches)
                except Exception:
                    if stop.is_set():
                        status = "interrupted"
                        break
                    raise
                if isinstance(batch, SampleFailure):
                    batch.raise_it()
                images, masks = batch
                fetched = time.perf_counter()
                if not self._step(images, masks, iteration, stop, window):
                    status = "interrupted"
                    break
                iteration += 1
                window.add_time(fetched - tick, time.perf_counter() - fetched)
                task.advance(1, **window.fields())
                if self._after_step(iteration, window):
                    status = "early_stopped"
                    break
            del batches
        if iteration >= self.total:
            status = "finished"
        elif status == "finished":
            status = "stopped"  # --stop-after
        try:
            result = self._finish(iteration, status)
        finally:
            if self.recorder is not None:
                self.recorder.close()
        return replace(result, exit_code=stop.exit_code) if status == "interrupted" else result

    def _step(
        self, images: torch.Tensor, masks: torch.Tensor, iteration: int, stop: Any, window: Window
    ) -> bool:
        """One SGD step; False when a stop was requested (the step is then not taken)."""
        device = self.ctx.device
        memory_format = torch.channels_last if self.config.channels_last else torch.contiguous_format
        images = images.to(device, non_blocking=True).contiguous(memory_format=memory_format)
        masks = masks.to(device, non_blocking=True)
        with self.precision.context():
            outputs = self.model(images)
            loss, terms = self.loss(outputs, masks)
        values = torch.stack([loss.detach(), *terms.values()]).tolist()
        bad, stopping = any_true(self.ctx, [not all(math.isfinite(v) for v in values), stop.is_set()])
        if stopping:
            return False
        if bad:
            self._fail_non_finite(iteration, values[0])
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        window.add_losses(
            dict(zip(["loss", *terms], values, strict=True)), self.optimizer.param_groups[0]["lr"]
        )
        self.scheduler.step()
        return True

    def _after_step(self, iteration: int, window: Window) -> bool:
        """Log, validate and save as configured; True when early stopping ends the run here."""
        config = self.config
        if iteration % config.log_every == 0 or iteration == self.total:
            self._log_window(iteration, window)
        validate = config.val_every > 0 and iteration % config.val_every == 0 and iteration < self.total
        save_every = config.save_every or 0
        if validate:
            self.validator.run(iteration)
            self._count_patience(iteration)
            self.save(iteration)
            return config.patience is not None and self.stale_validations >= config.patience
        if save_every and iteration % save_every == 0 and iteration < self.total:
            self.save(iteration)
        return False

    def _count_patience(self, iteration: int) -> None:
        if self.validator.improved:
            self.stale_validations, self.best_iteration = 0, iteration
        else:
            self.stale_validations += 1

    def _log_window(self, iteration: int, window: Window) -> None:
        record = {"iteration": iteration, **window.means()}
        window.reset()
        if self.run_dir is None:
            return
        self.run_dir.append_metrics(record)
        if self.recorder is not None:
            self.recorder.log_train(record)
        self.reporter.progress_line(progress_line(record, self.total))

    def _fail_non_finite(self, iteration: int, loss: float) -> None:
        last = self.run_dir.last if self.run_dir else None
        kept = (
            f"the last good checkpoint {last} is kept"
            if last is not None and last.is_file()
            else "no checkpoint had been written yet"
        )
        message = (
            f"the loss became {loss} at iteration {iteration + 1} "
            f"(lr {self.scheduler.get_last_lr()[0]:.3g}); training stopped and {kept}. "
            "Lower --lr, use --precision fp32, or check the data"
        )
        self.reporter.warning(message)
        raise TrainingError(message)

    # ---- saving and the end of a run ---------------------------------------------------------

    def save(self, iteration: int, *, best: bool = False) -> None:
        """Write last.pt (full state) and, when `best`, the lean best.pt; every rank calls this."""
        path = self.run_dir.last if self.run_dir else Path(os.devnull)
        existed = path.is_file()
        scores = dict(
            iteration=iteration, total_iters=self.total, best_miou=self.best_miou,
            val_metrics=self.last_metrics,
        )  # fmt: skip
        try:
            save_training_state(
                path, self.model, self.ctx, optimizer=self.optimizer, scheduler=self.scheduler,
                scaler=self.scaler, dataset=self.meta, config=self.config, **scores, **self._progress_state(),
            )  # fmt: skip
            if self.run_dir is not None and (best or self.validator.improved):
                save_lean_checkpoint(
                    self.run_dir.best, self.model, dataset=self.meta, config=self.config,
                    half=self.config.save_half, **scores,
                )  # fmt: skip
        except DanetError as error:
            raise TrainingError(self._save_failed(error, existed)) from None
        self.validator.improved = False

    def _progress_state(self) -> dict[str, Any]:
        """Counters that a resumed run needs beyond the optimiser (early stopping)."""
        return {"stale_validations": self.stale_validations, "best_iteration": self.best_iteration}

    def _save_failed(self, error: DanetError, existed: bool) -> str:
        """Why saving stopped the run and how to go on from the checkpoint that is still intact."""
        if self.run_dir is None or not existed:
            return f"{error}; no checkpoint of this run had been written yet, so it must start again"
        return (
            f"{error}; the previous checkpoint {self.run_dir.last} is intact. Once the cause is fixed "
            f"(a full disk: free some space), continue with: danet train --resume {self.run_dir.path}"
        )

    def _finish(self, iteration: int, status: str) -> TrainResult:
        complete = status in ("finished", "early_stopped")
        if complete and self.validator.available:
            if self.validator.last_iteration != iteration:
                self.validator.run(iteration)
            self.validator.report_table()
        self.save(iteration)
        write_weight_hash(self.model, self.ctx.rank)
        if complete:
            self._write_final_outputs(iteration)
        if status == "early_stopped":
            self.reporter.info(
                f"early stopping at iteration {iteration} of {self.total}: val mIoU has not improved for "
                f"{self.stale_validations} validations (--patience {self.config.patience}; best "
                f"{_best_text(self.best_miou, self.best_iteration)}); checkpoints saved"
            )
        if complete:
            self.reporter.info(f"finished {iteration} iterations; run folder {self.run_dir_text()}")
            self._next_steps()
        else:
            why = "interrupted" if status == "interrupted" else "stopped"
            self.reporter.info(
                f"{why} at iteration {iteration} of {self.total}; checkpoint saved. Continue with: "
                f"danet train --resume {self.run_dir_text()}"
            )
        return TrainResult(
            self.run_dir.path if self.run_dir else Path(), iteration, self.total, self.best_miou,
            self.last_metrics, status,
        )  # fmt: skip

    def _write_final_outputs(self, iteration: int) -> None:
        if self.run_dir is None:
            return
        written = write_final_outputs(
            self.run_dir.path, self.validator.result, list(self.meta["class_names"]), self.reporter,
            iteration=iteration, split=self.config.val_split, checkpoint=self.run_dir.last,
        )  # fmt: skip
        if written:
            self.reporter.info(f"wrote {', '.join(p.name for p in written)} in {self.run_dir.path}")

    def _next_steps(self) -> None:
        """Where the checkpoint is and the commands that use it."""
        if self.run_dir is None:
            return
        checkpoint = self.run_dir.best if self.run_dir.best.is_file() else self.run_dir.last
        score = f" (val mIoU {format_score(self.best_miou)})" if self.best_miou is not None else ""
        self.reporter.info(f"checkpoint: {checkpoint}{score}")
        self.reporter.info(f"predict:    danet predict IMAGE --checkpoint {checkpoint}")
        self.reporter.info(f"evaluate:   danet evaluate {self.run_dir.path}")

    def _announce(self) -> None:
        config, ctx = self.config, self.ctx
        if self.run_dir is not None:
            self.run_dir.write_config(config)
        per_rank = config.batch_size // ctx.world_size
        self.reporter.info(
            f"training {config.model} on {config.dataset} ({len(self.data.train)} images, "
            f"{self.data.iters_per_epoch} iterations per epoch) for {self.total} iterations; "
            f"device {ctx.device}, {self.precision.name}, batch {config.batch_size}"
            + (f" ({ctx.world_size} processes x {per_rank})" if ctx.distributed else "")
            + f"; run folder {self.run_dir_text()}"
        )
        workers = sensible_workers(config.workers, ctx.world_size)
        if workers < config.workers:
            self.reporter.info(
                f"data loading uses {workers} worker(s), not {config.workers}: "
                f"{ctx.world_size} process(es) share {usable_cpus()} CPU core(s)"
            )


def _best_text(miou: float | None, iteration: int | None) -> str:
    if miou is None or math.isnan(miou):
        return "none yet"
    return format_score(miou) + (f" at iteration {iteration}" if iteration is not None else "")
