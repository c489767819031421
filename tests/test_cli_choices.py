"""Choice flags: `--help` lists the values, a wrong one is one usage error naming them, and each list
equals the core's own (the CLI keeps its copies so that `--help` never imports torch)."""

from __future__ import annotations

from typing import get_args

import pytest
from typer.testing import CliRunner

from danet import config, devices, evaluation_saver, export, protocols
from danet.backends import list_backends
from danet.prediction import media
from danet_cli import _options
from danet_cli.app import app

runner = CliRunner()


@pytest.mark.parametrize(
    ("literal", "core"),
    [
        (_options.Mode, ("whole", "slide")),
        (_options.Precision, devices.PRECISIONS),
        (_options.Backend, tuple(list_backends())),
        (_options.Protocol, protocols.PROTOCOL_NAMES),
        (_options.PredictFormat, media.FORMATS),
        (_options.SaveFormat, evaluation_saver.SAVE_FORMATS),
        (_options.ExportFormat, export.FORMATS),
        (_options.Logger, config.LOGGERS),
        (_options.Optimizer, config.OPTIMIZERS),
    ],
)
def test_cli_choices_equal_the_core_lists(literal: object, core: tuple[str, ...]) -> None:
    assert sorted(get_args(literal)) == sorted(core)


@pytest.mark.parametrize(
    ("command", "flag", "listed"),
    [
        ("predict", "--format", "index|color|overlay|labelids|probs"),
        ("predict", "--device", "auto|cpu|cuda|cuda:N|mps"),
        ("evaluate", "--mode", "whole|slide"),
        ("evaluate", "--precision", "auto|fp32|bf16|fp16"),
        ("evaluate", "--backend", "torch|onnxruntime"),
        ("evaluate", "--protocol", "danet|official|official-ms|mmseg"),
        ("export", "--format", "onnx|torchscript"),
        ("train", "--logger", "none|tensorboard"),
        ("train", "--optimizer", "sgd|adamw"),
        ("benchmark", "--precision", "fp32|bf16|fp16"),
    ],
)
def test_help_lists_the_choices(command: str, flag: str, listed: str) -> None:
    result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "250"}, terminal_width=250)
    assert result.exit_code == 0
    line = next(line for line in result.output.splitlines() if line.lstrip("│ ").startswith(f"{flag} "))
    assert f"<{listed}>" in line


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["predict", "a.jpg", "--format", "jpeg"], "'index', 'color', 'overlay', 'labelids', 'probs'"),
        (["evaluate", "--mode", "sliding"], "'whole', 'slide'"),
        (["evaluate", "--protocol", "nope"], "'danet', 'official', 'official-ms', 'mmseg'"),
        (["evaluate", "--precision", "fp64"], "'auto', 'fp32', 'bf16', 'fp16'"),
        (["export", "--format", "tflite"], "'onnx', 'torchscript'"),
        (["train", "--logger", "wandb"], "'none', 'tensorboard'"),
        (["predict", "a.jpg", "--device", "gpu"], "auto, cpu, cuda, cuda:N (N a GPU index) or mps"),
        (["visualize", "attention", "--device", "cuda:x"], "auto, cpu, cuda, cuda:N (N a GPU index) or mps"),
    ],
)
def test_a_wrong_choice_is_one_error_naming_the_valid_ones(args: list[str], named: str) -> None:
    result = runner.invoke(app, args, env={"COLUMNS": "250"}, terminal_width=250)
    assert result.exit_code == 2, result.output
    assert named in result.output and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("text", "device"),
    [("auto", "auto"), ("CPU", "cpu"), ("cuda", "cuda"), ("cuda:3", "cuda:3"), (" mps ", "mps")],
)
def test_device_forms_are_accepted_and_normalised(text: str, device: str) -> None:
    assert _options.parse_device(text) == device


def test_device_completion_offers_the_forms() -> None:
    assert _options.complete_device("cu") == ["cuda", "cuda:0"]
    assert _options.complete_device("") == ["auto", "cpu", "cuda", "cuda:0", "mps"]
