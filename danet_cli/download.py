"""`danet download`: datasets and pretrained weights, checksummed, resumable, mirrorable.

`danet download NAME...` fetches datasets into their folders and prepares them; `danet download
weights NAME...` fills the weights cache; `--list` shows every file and its state; `--dry-run` shows
what would happen without touching the network. The work is done by `danet.download`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from danet.errors import ConfigError
from danet_cli._console import MAX_WIDTH, RichReporter, console

if TYPE_CHECKING:
    from danet.download import Credentials, Entry, PlanStep

_DATASETS = "cityscapes, ade20k, voc, voc_aug, sbd, pascal_context, coco_stuff164k"
_HELP = (
    f"Download datasets ({_DATASETS}) or `weights NAME...`, checksummed and resumable. "
    "`--list` shows every file, its size, source and state."
)


def _say(text: str) -> None:
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def _ask_credentials() -> Credentials | None:
    """Prompt for a Cityscapes account in a terminal (the environment had none); kept in memory only."""
    from danet.download import Credentials

    if not sys.stdin.isatty():
        return None
    username = typer.prompt("Cityscapes username or email address")
    password = typer.prompt("Cityscapes password", hide_input=True)
    return Credentials(username, password)


def _print_entries(entries: list[Entry]) -> None:
    """Two or more lines per file, within `MAX_WIDTH` columns: name, size, state and source aligned on
    the first; the file name and its notes (wrapped) indented below."""
    from danet.download import format_size

    firsts = [(e.name, format_size(e.size), e.status, e.source) for e in entries]
    widths = [max(len(row[i]) for row in firsts) for i in range(3)]
    for entry, row in zip(entries, firsts, strict=True):
        head = "  ".join(cell.ljust(w) for cell, w in zip(row[:3], widths, strict=True))
        _say(_fold(f"  {head}  {row[3]}", indent=6))
        _say(_fold(f"    {entry.filename}" + (f": {entry.notes}" if entry.notes else ""), indent=6))


def _fold(text: str, *, indent: int) -> str:
    """`text` wrapped at `MAX_WIDTH` columns, continuation lines indented by `indent`."""
    import textwrap

    lead = len(text) - len(text.lstrip(" "))
    return textwrap.fill(
        text.strip(),
        MAX_WIDTH,
        initial_indent=" " * lead,
        subsequent_indent=" " * indent,
        break_on_hyphens=False,
    )


def show_list() -> None:
    """Every dataset file and weight file, with size, source and whether it is present and verified."""
    from danet import download as dl
    from danet.paths import data_root, weights_dir

    entries = dl.list_entries()
    datasets = [e for e in entries if e.kind == "dataset"]
    weights = [e for e in entries if e.kind == "weights"]
    _say(_fold(f"Datasets (in {data_root()}/<name>; archives in <name>/downloads):", indent=2))
    _say("  dataset, size, state, source; then the file and notes")
    _print_entries(datasets)
    _say(_fold(f"  names: {', '.join(dl.dataset_names())}", indent=9))
    for name in dl.dataset_names():
        if dl.get_download(name).parts:
            combined = (
                f"  {name} = {' + '.join(dl.get_download(name).parts)}: {dl.get_download(name).description}"
            )
            _say(_fold(combined, indent=4))
    _say("")
    _say(_fold(f"Weights (in {weights_dir()}):", indent=2))
    _say("  name, size, state, source; then the file and notes")
    _print_entries(weights)


def _show_step(step: PlanStep) -> None:
    from danet.download import format_size

    _say(f"  {step.filename}  {format_size(step.size)}  {step.action}")
    _say(f"    from {step.url}")
    _say(f"    to   {step.dest}")
    if step.extract_to is not None:
        _say(f"    extract into {step.extract_to}")


def _dry_run(
    kind: str, names: list[str], root: Path | None, mirror: str | None, force: bool, prepare: bool
) -> None:
    from danet import download as dl

    for name in names:
        if kind == "weights":
            _say(f"weights {name}:")
            _show_step(dl.plan_weights(name, mirror=mirror, force=force))
            continue
        _say(f"{name} -> {dl.dataset_root(name, root)}")
        for step in dl.plan_dataset(name, root, mirror=mirror, force=force):
            _show_step(step)
        if prepare and dl.get_download(name).prepare_name:
            _say("  then prepare the labels (danet.datasets.prepare; skip with --no-prepare)")
    _say("dry run: nothing was downloaded")


def _check_names(kind: str, names: list[str], root: Path | None) -> None:
    """Fail on a typo before any long download starts."""
    from danet import download as dl

    if not names:
        raise ConfigError(
            "name a dataset or `weights NAME`; `danet download --list` shows everything"
            if kind == "dataset"
            else "name the weights to download, e.g. `danet download weights resnet101_imagenet1k_v1`"
        )
    for name in names:
        dl.get_source(name, "weights") if kind == "weights" else dl.get_download(name)
    if root is not None and (kind == "weights" or len(names) > 1):
        raise ConfigError("--root applies to a single dataset (weights always go to the weights cache)")


def _check_outputs(kind: str, names: list[str], root: Path | None) -> None:
    """Before any transfer: bad DANET_DOWNLOAD_* values and unwritable folders fail with one line."""
    from danet import download as dl
    from danet.download.network import TransferSettings
    from danet.fileio import check_output_location
    from danet.paths import weights_dir

    TransferSettings.from_env()
    folders = [weights_dir()] if kind == "weights" else [dl.dataset_root(n, root) for n in names]
    for folder in folders:
        check_output_location(folder, folder=True)


def run_download(
    names: list[str],
    *,
    list_files: bool = False,
    dry_run: bool = False,
    root: Path | None = None,
    mirror: str | None = None,
    prepare: bool = True,
    force: bool = False,
) -> None:
    """What the command does, callable without Typer (tests, scripts)."""
    from danet import download as dl

    if list_files:
        show_list()
        return
    kind = "weights" if names[:1] == ["weights"] else "dataset"
    targets = names[1:] if kind == "weights" else names
    _check_names(kind, targets, root)
    dl.resolve_mirror(mirror)  # a malformed mirror fails now
    if dry_run:
        _dry_run(kind, targets, root, mirror, force, prepare)
        return
    _check_outputs(kind, targets, root)
    reporter = RichReporter()
    for name in targets:
        if kind == "weights":
            path = dl.download_weights(name, force=force, mirror=mirror, reporter=reporter)
        else:
            path = dl.download_dataset(
                name,
                root,
                mirror=mirror,
                force=force,
                prepare=prepare,
                credentials=_ask_credentials,
                reporter=reporter,
            )
        _say(f"{name}: {path}")


def register(app: typer.Typer) -> None:
    @app.command("download", help=_HELP)
    def download(
        names: Annotated[
            list[str] | None,
            typer.Argument(help=f"Datasets ({_DATASETS}) or `weights NAME...`.", show_default=False),
        ] = None,
        list_files: Annotated[
            bool,
            typer.Option("--list", help="List every dataset and weight file with size, source and state."),
        ] = False,
        dry_run: Annotated[
            bool,
            typer.Option("--dry-run", help="Show what would be fetched, from where, to where; no network."),
        ] = False,
        root: Annotated[
            Path | None,
            typer.Option(
                "--root", help="Dataset folder (default: $DANET_DATA/<name>); one dataset at a time."
            ),
        ] = None,
        mirror: Annotated[
            str | None,
            typer.Option(
                "--mirror",
                help="http://host:port replacing the scheme and host of every URL (also DANET_MIRROR).",
            ),
        ] = None,
        no_prepare: Annotated[
            bool, typer.Option("--no-prepare", help="Download and extract only; skip the label preparation.")
        ] = False,
        force: Annotated[
            bool, typer.Option("--force", help="Download and extract again even when already verified.")
        ] = False,
    ) -> None:
        run_download(
            names or [],
            list_files=list_files,
            dry_run=dry_run,
            root=root,
            mirror=mirror,
            prepare=not no_prepare,
            force=force,
        )
