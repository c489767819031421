"""Where danet keeps things: the cache (`$DANET_HOME`), datasets and weights. No torch here."""

from __future__ import annotations

import os
from pathlib import Path


def danet_home() -> Path:
    """The cache folder: `$DANET_HOME`, default `~/.cache/danet`."""
    return Path(os.environ.get("DANET_HOME") or Path.home() / ".cache" / "danet").expanduser()


def data_root() -> Path:
    """Where datasets live by default: `$DANET_DATA`, default `$DANET_HOME/data`."""
    env = os.environ.get("DANET_DATA")
    return Path(env).expanduser() if env else danet_home() / "data"


def default_dataset_root(name: str) -> Path:
    """The folder a dataset is expected in when no `--data-root` is given."""
    return data_root() / name


def weights_dir() -> Path:
    """Where downloaded weight files are cached: `$DANET_HOME/weights`."""
    return danet_home() / "weights"
