"""`danet convert`: an official DANet or mmsegmentation checkpoint -> a danet checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

_HELP = "Convert an official DANet or mmsegmentation checkpoint into a danet checkpoint."


def convert(
    source: Annotated[
        str,
        typer.Argument(
            metavar="IN",
            help="Official DANet .pth.tar, mmsegmentation .pth, state dict, weight name or hf:// file.",
            show_default=False,
        ),
    ],
    output: Annotated[
        Path, typer.Argument(metavar="OUT", help="The danet checkpoint to write.", show_default=False)
    ],
    dataset: Annotated[
        str | None,
        typer.Option(
            help="Store this dataset's class names and colours when IN carries none (e.g. cityscapes)."
        ),
    ] = None,
    multi_grid: Annotated[
        bool | None,
        typer.Option(
            "--multi-grid/--no-multi-grid",
            help="Override layer4 multi-grid (default: on for official files, off for mmseg).",
            show_default=False,
        ),
    ] = None,
    align_corners: Annotated[
        bool | None,
        typer.Option(
            "--align-corners/--no-align-corners",
            help="Override the resize mode (default: official on; mmseg from its config).",
            show_default=False,
        ),
    ] = None,
    trust: Annotated[
        bool,
        typer.Option("--trust", help="Allow a file you trust that needs full unpickling (old .pth.tar)."),
    ] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace OUT if it exists.")] = False,
    strip: Annotated[
        bool,
        typer.Option(
            "--strip",
            help="Drop the training state (optimizer, scheduler, scaler, RNG) of a danet checkpoint; "
            "keeps weights, metadata, config and scores.",
        ),
    ] = False,
    half: Annotated[
        bool,
        typer.Option("--half", help="fp16 weights (implies --strip); loading casts them back to fp32."),
    ] = False,
) -> None:
    """Convert an official DANet or mmsegmentation checkpoint into a danet checkpoint."""
    from danet.checkpoints import convert_to_danet, detect_format, read_checkpoint, resolve, save_checkpoint
    from danet.fileio import check_writable
    from danet.training.checkpointing import lean_checkpoint, write_checkpoint
    from danet_cli._console import RichReporter

    reporter = RichReporter()
    check_writable(output, overwrite)
    overrides: dict[str, Any] = {}
    if multi_grid is not None:
        overrides["multi_grid"] = multi_grid
    if align_corners is not None:
        overrides["align_corners"] = align_corners
    file = resolve(source, reporter=reporter)
    checkpoint = read_checkpoint(file, trust=trust)
    fmt = detect_format(checkpoint, str(file))
    model, meta = convert_to_danet(
        checkpoint,
        fmt,
        source=str(file),
        filename=file.name,
        dataset=dataset,
        overrides=overrides,
        reporter=reporter,
    )
    record = meta.dataset_record()
    converted_from = {"file": file.name, "format": fmt}
    if meta.mmseg_config:  # the mmseg config name, which picks mmseg's test settings later
        converted_from["config"] = meta.mmseg_config
    if fmt == "danet" and (strip or half):
        write_checkpoint(output, lean_checkpoint(checkpoint, half=half))
    else:
        save_checkpoint(output, model, dataset=record, converted_from=converted_from)
        if half:
            write_checkpoint(output, lean_checkpoint(read_checkpoint(output), half=True))
    report_sizes(file, output, reporter)
    classes = f"{model.config.num_classes} classes"
    if meta.dataset:
        classes += f" ({meta.dataset})"
    reporter.info(f"wrote {output}: {model.config.name}, {classes}")
    if not record:
        reporter.warning(f"{file.name} carries no class names; pass --dataset NAME to store them")


def report_sizes(source: Path, output: Path, reporter: Any) -> None:
    before, after = source.stat().st_size / 2**20, output.stat().st_size / 2**20
    reporter.info(f"{source.name}: {before:.1f} MiB -> {output.name}: {after:.1f} MiB")


def register(app: typer.Typer) -> None:
    app.command("convert", help=_HELP)(convert)
