"""`danet train`: train DANet with a dataset's recipe; flags and --config override it; --resume continues."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from danet.errors import ConfigError
from danet_cli._options import DeviceOption, Logger, Optimizer, PrecisionOption, parse_pair

_HELP = (
    "Train a model on a dataset with its recipe (danet/recipes/DATASET.yaml). Precedence: recipe < "
    "--config FILE < flags. --batch-size is the global batch, split across torchrun processes."
)


def _epilog() -> str:
    from danet.config import recipe_summary

    lines = "\n\n".join(recipe_summary())
    return (
        f"Recipe defaults (a dataset without a recipe uses 'default'):\n\n{lines}\n\n"
        "Distributed: torchrun --nproc_per_node=N -m danet_cli train DATASET ... (see docs/training.md)."
    )


def flag_overrides(flags: dict[str, Any], set_items: list[str]) -> dict[str, Any]:
    """The config keys the flags set (unset flags are None and left out), then --set KEY=VALUE."""
    from danet.config import merge, parse_set_options

    given = {key: value for key, value in flags.items() if value is not None}
    if "crop_size" in given:
        given["crop_size"] = list(parse_pair(given["crop_size"], "--crop-size"))
    if "class_weights" in given:
        given["class_weights"] = parse_class_weights(given["class_weights"])
    return merge(given, parse_set_options(set_items))


def parse_class_weights(text: str) -> str | list[float]:
    """--class-weights auto | 1,2,0.5 (spaces allowed)."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return [float(part) for part in text.replace(" ", "").split(",")]
    except ValueError:
        raise ConfigError(
            f"--class-weights {text!r}: expected auto or numbers separated by commas (e.g. 1,2,0.5)"
        ) from None


def _planned_folder(config: Any) -> str:
    how = "reused: --exist-ok" if config.exist_ok else "incremented if taken"
    return f"{Path(config.project) / config.run_name} ({how})"


def print_plan(config: Any, *, resume: Path | None) -> None:
    """--dry-run: the resolved config and the dataset sizes, without building a model."""
    from danet.config import dump_yaml
    from danet.training.data import build_datasets, total_iters

    typer.echo(dump_yaml(config), nl=False)  # plain text: copyable YAML, never wrapped
    data = build_datasets(config)
    total = total_iters(config, data.iters_per_epoch)
    val = f"{len(data.val)} images ({config.val_split})" if data.val is not None else "none"
    lines = [
        f"train: {len(data.train)} images ({config.train_split}); val: {val}",
        f"iterations: {total} ({data.iters_per_epoch} per epoch, {total / data.iters_per_epoch:.1f} epochs), "
        f"global batch {config.batch_size}",
        f"run folder: {resume} (resumed)" if resume else f"run folder: {_planned_folder(config)}",
    ]
    for line in lines:
        typer.echo(line)


def resolve(
    dataset: str | None, config_file: Path | None, resume: Path | None, overrides: dict[str, Any]
) -> Any:
    from danet.config import resolve_config

    if resume is None:
        return resolve_config(dataset, config_file=config_file, overrides=overrides)
    if dataset or config_file:
        raise ConfigError("--resume takes the dataset and settings from the run; drop DATASET and --config")
    from danet.training.checkpointing import read_resume_checkpoint, resume_config
    from danet.training.rundir import RunDir

    run = RunDir.existing(resume)
    return resume_config(read_resume_checkpoint(run.last), overrides, source=str(run.last))


def register(app: typer.Typer) -> None:
    @app.command("train", help=_HELP, epilog=_epilog())
    def train_command(
        dataset: Annotated[
            str | None, typer.Argument(help="Dataset name (e.g. cityscapes, synthetic).")
        ] = None,
        model: Annotated[
            str | None, typer.Option(help="Model name (danet_resnet101, fcn_resnet50, ...).")
        ] = None,
        data_root: Annotated[
            str | None, typer.Option(help="Dataset folder (default $DANET_HOME/data/NAME).")
        ] = None,
        iters: Annotated[
            int | None, typer.Option(help="Total iterations (replaces the recipe's epochs).")
        ] = None,
        epochs: Annotated[
            int | None, typer.Option(help="Total epochs (replaces the recipe's iters).")
        ] = None,
        batch_size: Annotated[
            int | None, typer.Option(help="Global batch size, split across processes.")
        ] = None,
        crop_size: Annotated[str | None, typer.Option(help="Training crop: SIZE or HEIGHTxWIDTH.")] = None,
        lr: Annotated[
            float | None, typer.Option(help="Base (backbone) learning rate; head x head_lr_mult.")
        ] = None,
        optimizer: Annotated[
            Optimizer | None,
            typer.Option(help="sgd (momentum; the paper's) or adamw."),
        ] = None,
        workers: Annotated[
            int | None, typer.Option(help="Data-loading worker processes per process.")
        ] = None,
        device: DeviceOption = None,  # type: ignore[assignment]  # None: the config's (default auto)
        precision: PrecisionOption = None,  # type: ignore[assignment]  # None: the config's (default auto)
        channels_last: Annotated[
            bool | None, typer.Option("--channels-last/--no-channels-last", help="Channels-last memory.")
        ] = None,
        seed: Annotated[int | None, typer.Option(help="Seed of data order, augmentation and init.")] = None,
        project: Annotated[str | None, typer.Option(help="Folder of runs (default runs/train).")] = None,
        name: Annotated[str | None, typer.Option(help="Run folder name, incremented when taken.")] = None,
        resume: Annotated[Path | None, typer.Option(help="Continue the run folder RUN_DIR.")] = None,
        config: Annotated[Path | None, typer.Option("--config", help="YAML file of config keys.")] = None,
        val_every: Annotated[
            int | None, typer.Option(help="Validate every N iterations (0: at the end).")
        ] = None,
        backbone_weights: Annotated[
            str | None, typer.Option(help="ImageNet backbone file, 'auto' (danet cache) or 'none'.")
        ] = None,
        logger: Annotated[
            Logger | None,
            typer.Option(help="tensorboard: an event file in the run folder [default: none]."),
        ] = None,
        patience: Annotated[
            int | None, typer.Option(help="Stop after N validations without a better val mIoU.")
        ] = None,
        exist_ok: Annotated[
            bool | None,
            typer.Option("--exist-ok/--no-exist-ok", help="Reuse the run folder name instead of NAME2."),
        ] = None,
        class_weights: Annotated[
            str | None,
            typer.Option(help="Loss weight per class: 'auto' (label frequencies) or a list '1,2,0.5'."),
        ] = None,
        ohem: Annotated[
            bool | None, typer.Option("--ohem/--no-ohem", help="Online hard pixel mining (mmseg's).")
        ] = None,
        ohem_thresh: Annotated[
            float | None, typer.Option(help="OHEM: keep pixels whose true-class probability is below.")
        ] = None,
        ohem_min_kept: Annotated[
            int | None, typer.Option(help="OHEM: keep at least this many hardest pixels per batch.")
        ] = None,
        half: Annotated[
            bool | None,
            typer.Option("--half/--no-half", help="Save best.pt with fp16 weights (half the size)."),
        ] = None,
        set_items: Annotated[
            list[str] | None,
            typer.Option("--set", help="Any config key: --set min_lr=1e-4 --set val.flip=true."),
        ] = None,
        dry_run: Annotated[
            bool, typer.Option("--dry-run", help="Print the resolved config and dataset sizes; no training.")
        ] = False,
        stop_after: Annotated[
            int | None, typer.Option(hidden=True, help="Save and stop at this iteration.")
        ] = None,
    ) -> None:
        flags = {
            "model": model, "data_root": data_root, "iters": iters, "epochs": epochs,
            "batch_size": batch_size, "crop_size": crop_size, "lr": lr, "optimizer": optimizer,
            "workers": workers, "device": device, "precision": precision, "channels_last": channels_last,
            "seed": seed, "project": project, "name": name, "val_every": val_every,
            "backbone_weights": backbone_weights, "save_half": half, "logger": logger,
            "patience": patience, "exist_ok": exist_ok, "class_weights": class_weights, "ohem": ohem,
            "ohem_thresh": ohem_thresh, "ohem_min_kept": ohem_min_kept,
        }  # fmt: skip
        overrides = flag_overrides(flags, set_items or [])
        resolved = resolve(dataset, config, resume, overrides)
        if dry_run:
            print_plan(resolved, resume=resume)
            return
        from danet.training import train
        from danet_cli._console import RichReporter

        result = train(resolved, reporter=RichReporter(), resume=resume, stop_after=stop_after)
        if result.status == "interrupted":
            raise typer.Exit(result.exit_code or 130)
