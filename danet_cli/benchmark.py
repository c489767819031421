"""`danet benchmark`: latency, throughput, peak memory and FLOPs of a model, a model file or PAM alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from danet_cli._options import Backend, device_option

_PANEL_MODEL = "What to measure"
_PANEL_RUN = "How to run it"
_PANEL_OUT = "Measurement and output"


def benchmark(
    model: Annotated[
        str, typer.Option(help="Registered model name (see `danet info`).", rich_help_panel=_PANEL_MODEL)
    ] = "danet_resnet50",
    size: Annotated[
        tuple[int, int],
        typer.Option(
            metavar="H W",
            help="Input height and width (with --pam-only: the feature-map size, e.g. 128 256).",
            rich_help_panel=_PANEL_MODEL,
        ),
    ] = (512, 1024),
    batch: Annotated[int, typer.Option(help="Images per step.", rich_help_panel=_PANEL_MODEL)] = 1,
    checkpoint: Annotated[
        str | None,
        typer.Option(
            "--checkpoint",
            "-c",
            help="Benchmark this model (file, run folder, weight name or hf:// file) instead of --model.",
            rich_help_panel=_PANEL_MODEL,
        ),
    ] = None,
    backend: Annotated[
        Backend | None,
        typer.Option(
            help="Backend that runs --checkpoint (default: from the file name).",
            rich_help_panel=_PANEL_MODEL,
        ),
    ] = None,
    pam_only: Annotated[
        bool,
        typer.Option(
            "--pam-only",
            help="Measure position attention alone on a (B, --channels, H, W) feature map.",
            rich_help_panel=_PANEL_MODEL,
        ),
    ] = False,
    channels: Annotated[
        int, typer.Option(help="Feature channels for --pam-only.", rich_help_panel=_PANEL_MODEL)
    ] = 512,
    train: Annotated[
        bool,
        typer.Option(
            "--train",
            help="Time a training step (forward, loss, backward, SGD).",
            rich_help_panel=_PANEL_MODEL,
        ),
    ] = False,
    num_classes: Annotated[
        int, typer.Option(help="Classes of the model.", rich_help_panel=_PANEL_MODEL)
    ] = 19,
    multi_grid: Annotated[
        bool, typer.Option("--multi-grid", help="Multi-grid layer4 (4, 8, 16).", rich_help_panel=_PANEL_MODEL)
    ] = False,
    output_stride: Annotated[
        int, typer.Option(help="Output stride 8 or 16.", rich_help_panel=_PANEL_MODEL)
    ] = 8,
    device: Annotated[str, device_option("cuda:N picks GPU N.", rich_help_panel=_PANEL_RUN)] = "auto",
    precision: Annotated[
        Literal["fp32", "bf16", "fp16"],
        typer.Option(help="Autocast precision.", rich_help_panel=_PANEL_RUN),
    ] = "fp32",
    channels_last: Annotated[
        bool | None,
        typer.Option(
            "--channels-last/--no-channels-last",
            help="NHWC memory format [default: where measured faster, as predict and evaluate].",
            show_default=False,
            rich_help_panel=_PANEL_RUN,
        ),
    ] = None,
    compile: Annotated[
        bool, typer.Option("--compile", help="Run through torch.compile.", rich_help_panel=_PANEL_RUN)
    ] = False,
    pam: Annotated[
        str,
        typer.Option(
            help="Position attention: efficient, chunked, sdpa or naive (same numbers, different cost).",
            rich_help_panel=_PANEL_RUN,
        ),
    ] = "efficient",
    threads: Annotated[
        int, typer.Option(help="CPU threads for torch (0: torch's default).", rich_help_panel=_PANEL_RUN)
    ] = 0,
    ort_optimization: Annotated[
        str,
        typer.Option(
            help="ONNX Runtime graph optimisation: disable, basic, extended or all (.onnx files).",
            rich_help_panel=_PANEL_RUN,
        ),
    ] = "all",
    ort_spinning: Annotated[
        bool,
        typer.Option(help="Let ONNX Runtime's idle threads spin (.onnx files).", rich_help_panel=_PANEL_RUN),
    ] = True,
    ort_arena: Annotated[
        bool,
        typer.Option(help="ONNX Runtime's CPU memory arena (.onnx files).", rich_help_panel=_PANEL_RUN),
    ] = True,
    profile: Annotated[
        bool,
        typer.Option(
            "--profile",
            help="Print the top operators of ONNX Runtime's per-node profile (.onnx files).",
            rich_help_panel=_PANEL_OUT,
        ),
    ] = False,
    warmup: Annotated[int, typer.Option(help="Untimed steps first.", rich_help_panel=_PANEL_OUT)] = 2,
    repeats: Annotated[
        int, typer.Option(help="Timed steps (median and min reported).", rich_help_panel=_PANEL_OUT)
    ] = 5,
    compare: Annotated[
        str | None,
        typer.Option(
            metavar="KEY=VALUE",
            help="Also measure the same settings with one changed (e.g. pam=naive, precision=bf16) "
            "and print both rows and their ratios.",
            rich_help_panel=_PANEL_OUT,
        ),
    ] = None,
    rounds: Annotated[
        int,
        typer.Option(
            help="With --compare: alternate the two runs this many times (A, B, A, B).",
            rich_help_panel=_PANEL_OUT,
        ),
    ] = 1,
    json_path: Annotated[
        Path | None,
        typer.Option(
            "--json", help="Write the result record(s) to this JSON file.", rich_help_panel=_PANEL_OUT
        ),
    ] = None,
    conv_probe: Annotated[
        bool,
        typer.Option(
            help="Measure this machine's 3x3 conv GFLOP/s (best memory format) for comparison.",
            rich_help_panel=_PANEL_OUT,
        ),
    ] = True,
    in_process: Annotated[
        bool,
        typer.Option(
            "--in-process",
            help="Measure in this process instead of a fresh one (quicker; CPU peak memory less exact).",
            rich_help_panel=_PANEL_OUT,
        ),
    ] = False,
) -> None:
    """Measure latency (median and min), images/s, peak memory, FLOPs and GFLOP/s.

    CPU peak memory is the peak resident memory of a fresh process, absolute and added by the runs;
    on CUDA it is the allocator's maximum. Examples:

      danet benchmark --model danet_resnet50 --size 512 1024 --precision bf16 --channels-last

      danet benchmark --pam-only --size 128 256 --compare pam=naive
    """
    from danet.benchmark import BenchmarkSettings

    if json_path is not None:  # fail now, not after the measurement
        from danet.fileio import check_output_location

        check_output_location(json_path)
    settings = BenchmarkSettings(
        model=model,
        size=size,
        batch=batch,
        device=device,
        precision=precision.lower(),
        channels_last=channels_last,
        compile=compile,
        pam=pam,
        train=train,
        warmup=warmup,
        repeats=repeats,
        checkpoint=str(checkpoint) if checkpoint else None,
        backend=backend,
        pam_only=pam_only,
        channels=channels,
        num_classes=num_classes,
        multi_grid=multi_grid,
        output_stride=output_stride,
        conv_probe=conv_probe,
        threads=threads,
        ort_optimization=ort_optimization,
        ort_spinning=ort_spinning,
        ort_arena=ort_arena,
        profile=profile,
    )
    if settings.checkpoint:  # fetch a weight name or hf:// file here, where a progress bar shows
        from dataclasses import replace

        from danet.checkpoints import resolve
        from danet_cli._console import RichReporter

        settings = replace(settings, checkpoint=str(resolve(settings.checkpoint, reporter=RichReporter())))
    data = _run(settings, compare, rounds, isolate=not in_process)
    if json_path is not None:
        from danet.fileio import atomic_write_text

        atomic_write_text(json_path, json.dumps(data, indent=2) + "\n")


def _run(settings: Any, compare: str | None, rounds: int, *, isolate: bool) -> dict[str, Any]:
    from danet.benchmark import compare as compare_settings
    from danet.benchmark import run_benchmark
    from danet.benchmark.report import COLUMNS, describe, ratio_row, result_row, work_line
    from danet.errors import ConfigError
    from danet_cli._console import RichReporter

    reporter = RichReporter()
    if rounds < 1:
        raise ConfigError(f"--rounds must be at least 1, got {rounds}")
    if compare is None:
        record = run_benchmark(settings, isolate=isolate)
        reporter.table(f"benchmark: {describe(record['settings'])}", COLUMNS, [result_row(record, "result")])
        reporter.info(work_line(record))
        _print_profile(reporter, record, "result")
        return record
    variant = settings.with_override(compare)
    result = compare_settings(settings, variant, rounds=rounds, isolate=isolate, reporter=reporter)
    rows = [
        result_row(result.baseline, "A"),
        result_row(result.variant, "B"),
        ratio_row(result.ratios, "B / A"),
    ]
    title = f"benchmark: A = {describe(result.baseline['settings'])}\nB = A with {compare}"
    reporter.table(title, COLUMNS, rows)
    if result.baseline["settings"] == result.variant["settings"]:  # resolved memory format included
        hint = ""
        if compare.replace("-", "_").startswith("channels_last"):
            hint = "; to compare channels-last with NCHW, add --no-channels-last"
        reporter.warning(f"A and B ran the same settings ({compare} is what A already ran){hint}")
    reporter.info(work_line(result.baseline))
    _print_profile(reporter, result.baseline, "A")
    _print_profile(reporter, result.variant, "B")
    return result.to_dict()


def _print_profile(reporter: Any, record: dict[str, Any], label: str) -> None:
    rows = [
        [entry["op"], f"{entry['ms']:,.1f}", f"{100 * entry['share']:.1f}%"]
        for entry in record.get("top_operators") or ()
    ]
    if rows:
        title = f"ONNX Runtime top operators ({label}, all profiled steps)"
        reporter.table(title, ["operator", "total ms", "share"], rows)


def register(app: typer.Typer) -> None:
    app.command("benchmark")(benchmark)
