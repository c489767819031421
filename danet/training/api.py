"""`danet.train`: training from Python scripts and notebooks (the CLI's `danet train` as a call)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from danet.config import TrainConfig, merge, resolve_config
from danet.errors import ConfigError, TrainingError
from danet.reporting import PrintReporter, Reporter
from danet.training.engine import TrainResult
from danet.training.engine import train as run_training
from danet.training.workers import in_bootstrapping_child


def train(
    dataset: str | TrainConfig | None = None,
    *,
    config: str | Path | None = None,
    resume: str | Path | None = None,
    reporter: Reporter | None = None,
    **options: Any,
) -> TrainResult:
    """Train a model and return where the run went and how it scored.

    `dataset` is a dataset name (its recipe gives the defaults) or a ready `TrainConfig`; `config` is a
    YAML file of config keys; `options` are config keys that override both (``model="danet_resnet18",
    iters=200, crop_size=256``), as the command-line flags do. `resume` continues a run folder with its
    saved settings (only the keys a resumed run may change are accepted as `options`). Progress is
    printed unless another `reporter` is given (``danet.reporting.NullReporter()`` for silence).

    Safe to call at the top level of a script without an ``if __name__ == "__main__":`` guard: the
    data-loading workers never re-run the calling script (see `danet.training.workers`).
    """
    if in_bootstrapping_child():
        raise TrainingError(
            "danet.train was called while a child process was importing the script that started it "
            "(your own multiprocessing code re-ran the script); put the call under "
            '`if __name__ == "__main__":`'
        )
    resolved = _resolve(dataset, config, resume, options)
    return run_training(resolved, reporter=reporter or PrintReporter(), resume=resume)


def _resolve(
    dataset: str | TrainConfig | None, config: str | Path | None, resume: Any, options: dict[str, Any]
) -> TrainConfig:
    if resume is not None:
        if dataset is not None or config is not None:
            raise ConfigError("resume takes the dataset and settings from the run; drop dataset and config")
        from danet.training.checkpointing import read_resume_checkpoint, resume_config
        from danet.training.rundir import RunDir

        run = RunDir.existing(resume)
        return resume_config(read_resume_checkpoint(run.last), options, source=str(run.last))
    if isinstance(dataset, TrainConfig):
        if config is not None:
            raise ConfigError("give either a TrainConfig or a config file, not both")
        return TrainConfig.from_dict(merge(dataset.to_dict(), options), source="danet.train options")
    return resolve_config(dataset, config_file=config, overrides=options)
