"""`danet info`: versions, devices, CPU threads and bf16 support."""

from __future__ import annotations

import platform
import sys

import typer


def info() -> None:
    """Show versions of Python, torch and OpenCV, the devices found and the one `auto` picks."""
    import cv2
    import torch

    from danet._version import __version__
    from danet.devices import describe_devices
    from danet_cli._console import RichReporter

    devices = describe_devices()
    cuda = ", ".join(f"cuda:{d['index']} {d['name']}" for d in devices["cuda"]) or "none"
    rows = [
        ("danet", __version__),
        ("python", f"{sys.version.split()[0]} ({platform.platform()})"),
        ("torch", torch.__version__),
        ("opencv", cv2.__version__),
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
    RichReporter().table("danet info", ["item", "value"], rows)


def register(app: typer.Typer) -> None:
    app.command("info")(info)
