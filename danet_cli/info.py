"""`danet info`: versions, devices, where things live, and what is registered (models, datasets, weights).

Every table fits 100 columns: long lists wrap inside their cell instead of widening the table.
"""

from __future__ import annotations

import platform
import sys
from collections.abc import Sequence
from pathlib import Path

import typer

from danet_cli._console import MAX_WIDTH, console, narrow_table, print_narrow

RUNS_DIR = Path("runs")


def _environment_rows() -> list[tuple[str, str]]:
    import cv2
    import torch

    from danet._version import __version__
    from danet.devices import describe_devices
    from danet.visualization._draw import NATIVE_TEXT

    devices = describe_devices()
    cuda = ", ".join(f"cuda:{d['index']} {d['name']}" for d in devices["cuda"]) or "none"
    text = "built-in TrueType font" if NATIVE_TEXT else "Hershey font, drawn 4x and smoothed"
    return [
        ("danet", __version__),
        ("python", f"{sys.version.split()[0]} ({platform.platform()})"),
        ("torch", torch.__version__),
        ("opencv", f"{cv2.__version__} (picture text: {text})"),
        ("cuda devices", cuda),
        ("apple mps", "available" if devices["mps"] else "not available"),
        (
            "cpu",
            f"{devices['cpu_count']} cores, {devices['cpu_threads']} torch threads, "
            f"{devices['cpu_capability']}",
        ),
        ("device (auto)", devices["auto"]),
        ("bf16 on auto device", "yes" if devices["bf16"] else "no"),
    ]


def path_rows() -> list[tuple[str, str, str]]:
    """(what, path, how to change it) for every folder danet reads or writes by default."""
    from danet.paths import danet_home, data_root, weights_dir

    return [
        ("home", str(danet_home()), "set by $DANET_HOME"),
        ("data", str(data_root()), "set by $DANET_DATA; one folder per dataset"),
        ("weights", str(weights_dir()), "inside home"),
        ("runs", str(RUNS_DIR.resolve()), "train/ and visualize/, in the current folder"),
    ]


def model_rows() -> list[tuple[str, str]]:
    """Registered model names grouped by architecture (the part before the first `_`)."""
    from danet.models import list_models

    groups: dict[str, list[str]] = {}
    for name in list_models():
        groups.setdefault(name.split("_", 1)[0], []).append(name)
    return [(family, ", ".join(names)) for family, names in groups.items()]


def dataset_rows() -> list[tuple[str, str, str, str]]:
    """(name, classes, title, whether its default folder exists) for every registered dataset."""
    from danet.datasets import dataset_info, list_datasets

    rows = []
    for name in list_datasets():
        info = dataset_info(name)
        folder = info.default_root
        found = "found" if folder.is_dir() else "not found"
        where = f"{folder.name}/ {found}" if info.download or folder.is_dir() else "any folder"
        rows.append((name, str(info.num_classes) if info.num_classes else "any", info.title, where))
    return rows


def weights_summary() -> str:
    """How many weight files are registered and how many are in the cache."""
    from danet.download import all_sources, weights_file

    registered = all_sources("weights")
    cached = sum(1 for source in registered if weights_file(source).is_file())
    return f"{len(registered)} registered, {cached} downloaded; list them with `danet download --list`"


def _table(title: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    print_narrow(narrow_table(title, columns, rows))


def _print_paths(rows: Sequence[tuple[str, str, str]]) -> None:
    """One line per folder, never broken inside a path (they are for copying); the note goes on
    the next line when the line would pass `MAX_WIDTH`."""
    console.print("paths", markup=False)
    width = max(len(what) for what, _, _ in rows)
    for what, path, note in rows:
        line = f"  {what.ljust(width)}  {path}"
        if len(line) + len(note) + 4 <= MAX_WIDTH:
            console.print(f"{line}  {note}", markup=False, soft_wrap=True)
        else:
            console.print(line, markup=False, soft_wrap=True)
            console.print(f"  {' ' * width}  {note}", markup=False, soft_wrap=True)


def info() -> None:
    """Versions, devices, where danet keeps things, and the registered models, datasets and weights."""
    _table("danet info", ["item", "value"], _environment_rows())
    _print_paths(path_rows())
    _table("models (use the full name, e.g. --model danet_resnet50)", ["architecture", "names"], model_rows())
    _table("datasets", ["name", "classes", "title", "default folder under data"], dataset_rows())
    print_narrow(f"weights: {weights_summary()}")


def register(app: typer.Typer) -> None:
    app.command("info")(info)
