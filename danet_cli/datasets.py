"""`danet datasets`: the datasets danet reads, their classes and splits, and whether they are found."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

_ROOT_HELP = (
    "Without NAME: the folder holding the datasets (default $DANET_DATA, i.e. ~/.cache/danet/data). "
    "With NAME: that dataset's own folder."
)


def register(app: typer.Typer) -> None:
    @app.command("datasets")
    def datasets_command(
        name: Annotated[
            str | None, typer.Argument(help="Show one dataset in detail: classes, colours, split sizes.")
        ] = None,
        root: Annotated[Path | None, typer.Option("--root", help=_ROOT_HELP)] = None,
    ) -> None:
        """List datasets and whether they are found."""
        if name is None:
            _list_all(root)
        else:
            _show_one(name, root)


def _found(cls: Any, folder: Path) -> str:
    return "[green]found[/green]" if cls.is_present(folder) else "[red]missing[/red]"


def _list_all(parent: Path | None) -> None:
    from rich.table import Table

    from danet.datasets import dataset_class, dataset_info, list_datasets
    from danet_cli._console import console

    table = Table(title="Datasets", title_justify="left")
    for column in ("name", "classes", "splits", "expected root", "status", "get it with"):
        table.add_column(column, overflow="fold")
    for name in list_datasets():
        cls, info = dataset_class(name), dataset_info(name)
        folder = parent / (info.root_name or name) if parent is not None else info.default_root
        classes = str(info.num_classes) if info.num_classes else "dataset.yaml"
        if name == "synthetic":
            status = "[green]generated[/green]" if cls.is_present(folder) else "built in (made on first use)"
        else:
            status = _found(cls, folder)
        how = f"danet download {info.download}" if info.download else "-"
        table.add_row(name, classes, ", ".join(info.splits), str(folder), status, how)
    console.print(table)
    console.print("Details of one dataset: danet datasets NAME [--root PATH]")


def _show_one(name: str, root: Path | None) -> None:
    from rich.table import Table

    from danet.datasets import dataset_class, dataset_info
    from danet_cli._console import console

    cls = dataset_class(name)
    info = dataset_info(name, root)
    folder = root if root is not None else info.default_root
    console.print(f"[bold]{info.name}[/bold]: {info.title}")
    console.print(f"root: {folder} ({_found(cls, folder)})")
    console.print(f"expected layout: {info.layout}")
    console.print(f"recipe: base size {info.base_size}, crop {info.crop_size[0]}x{info.crop_size[1]}")
    if info.download:
        console.print(f"download: danet download {info.download}")
    for note in info.notes:
        console.print(f"note: {note}")
    if cls.is_present(folder) and name != "synthetic":
        _print_split_sizes(name, folder, info.splits)
    table = Table(title=f"{info.num_classes} classes (255 = ignore)", title_justify="left")
    for column in ("id", "name", "colour"):
        table.add_column(column, overflow="fold")
    for index, (class_name, (r, g, b)) in enumerate(zip(info.class_names, info.palette, strict=True)):
        table.add_row(str(index), class_name, f"[on rgb({r},{g},{b})]      [/] ({r}, {g}, {b})")
    console.print(table)


def _print_split_sizes(name: str, folder: Path, splits: tuple[str, ...]) -> None:
    from danet.datasets import get_dataset
    from danet.errors import DatasetError
    from danet_cli._console import console

    for split in splits:
        try:
            size = f"{len(get_dataset(name, root=folder, split=split))} images"
        except DatasetError as error:
            size = f"[yellow]{error}[/yellow]"
        console.print(f"  {split}: {size}")
