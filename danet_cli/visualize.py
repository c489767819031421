"""`danet visualize`: overlays, attention maps, confusion matrices and training curves as pictures."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from danet.errors import ConfigError

_HELP = "Overlays, attention maps, confusion matrices and training curves."

Output = Annotated[
    Path, typer.Option("-o", "--output", help="Picture to write (.png or .jpg).", show_default=False)
]
Overwrite = Annotated[bool, typer.Option("--overwrite", help="Replace an existing output file.")]
Device = Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:N or mps.")]
Trust = Annotated[bool, typer.Option("--trust", help="Allow checkpoints that need full unpickling.")]


def _save(path: Path, picture: Any, overwrite: bool) -> None:
    from danet.fileio import check_writable
    from danet.image_io import write_image
    from danet_cli._console import console

    check_writable(path, overwrite)
    write_image(path, picture)
    console.print(f"wrote {path} ({picture.shape[1]}x{picture.shape[0]})")


def check_output(path: Path, overwrite: bool) -> None:
    """Before any work: the picture's extension is writable, it may be replaced, its folder writable."""
    from danet.fileio import check_output_location, check_writable
    from danet.image_io import check_image_suffix

    check_image_suffix(path)
    check_writable(path, overwrite)
    check_output_location(path)


def overlay(
    image: Annotated[Path, typer.Argument(help="The photo.", show_default=False)],
    output: Output,
    mask: Annotated[
        Path | None,
        typer.Argument(help="A mask of class ids (else --checkpoint predicts one).", show_default=False),
    ] = None,
    checkpoint: Annotated[str | None, typer.Option(help="Predict the mask with this checkpoint.")] = None,
    dataset: Annotated[str | None, typer.Option(help="Class names and colours of this dataset.")] = None,
    alpha: Annotated[float, typer.Option(min=0.0, max=1.0, help="Colour opacity.")] = 0.5,
    device: Device = "auto",
    trust: Trust = False,
    overwrite: Overwrite = False,
) -> None:
    """The photo with a mask (or a prediction) over it and a legend of the classes present."""
    from danet.image_io import read_image, read_mask
    from danet.visualization import overlay_figure, palette_table

    check_output(output, overwrite)
    if mask is None and checkpoint is None:
        raise ConfigError("give a MASK file or --checkpoint to predict one")
    picture = read_image(image)
    predictor = _predictor(checkpoint, device, trust) if checkpoint is not None else None
    labels = read_mask(mask) if mask is not None else predictor.predict(picture)
    if labels.shape != picture.shape[:2]:
        size = f"{labels.shape[1]}x{labels.shape[0]}"
        raise ConfigError(f"{mask} is {size} but {image} is {picture.shape[1]}x{picture.shape[0]}")
    names, palette, ignore = _classes(dataset, predictor.meta if predictor is not None else None)
    count = max(len(names), int(labels[labels != ignore].max(initial=0)) + 1)
    names = names + [f"class_{i}" for i in range(len(names), count)]
    figure = overlay_figure(
        picture, labels, names, palette_table(palette, count, ignore), alpha=alpha, ignore_index=ignore
    )
    _save(output, figure, overwrite)


def _predictor(checkpoint: str | None, device: str, trust: bool) -> Any:
    from danet.predictor import Predictor
    from danet_cli._runs import resolve_checkpoint

    return Predictor(resolve_checkpoint(checkpoint), device, "fp32", trust=trust)


def _classes(dataset: str | None, meta: Any) -> tuple[list[str], list[Any], int]:
    """Names, palette and ignore index: --dataset first, then the model's metadata, else generic."""
    if dataset is not None:
        from danet.datasets import dataset_info

        info = dataset_info(dataset)
        return list(info.class_names), list(info.palette), info.ignore_index
    if meta is not None:
        return list(meta.names()), list(meta.palette), meta.ignore_index
    return [], [], 255


def parse_point(text: str) -> tuple[int, int]:
    """`"120,340"` -> (y=120, x=340)."""
    parts = text.replace(" ", "").split(",")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise ConfigError(f"--points takes Y,X pixel coordinates such as 120,340; got {text!r}")
    return int(parts[0]), int(parts[1])


def attention(
    image: Annotated[Path, typer.Argument(help="The photo.", show_default=False)],
    output: Output,
    checkpoint: Annotated[
        str | None, typer.Option(help="A DANet checkpoint or run folder (default: newest run's best).")
    ] = None,
    points: Annotated[
        list[str] | None,
        typer.Option(
            "--points", "-p", help="Query point Y,X in image pixels; repeat for more (default: 4 spread)."
        ),
    ] = None,
    class_name: Annotated[
        str | None,
        typer.Option("--class", help="Class NAME or ID for the CAM (default: the most predicted)."),
    ] = None,
    top_channels: Annotated[int, typer.Option(min=1, max=16, help="Channel maps to show.")] = 4,
    panel_size: Annotated[int, typer.Option(min=64, help="Longest side of each panel in pixels.")] = 320,
    device: Device = "auto",
    trust: Trust = False,
    overwrite: Overwrite = False,
) -> None:
    """PAM maps of query points over the whole image, and the CAM matrix with class-selective channels."""
    from danet.backends import load_backend
    from danet.image_io import read_image
    from danet.visualization import attention_figure, palette_table
    from danet.visualization.attention import attention_from_backend
    from danet_cli._runs import resolve_checkpoint

    check_output(output, overwrite)
    picture = read_image(image)
    queries = [parse_point(p) for text in points or [] for p in text.split(";") if p.strip()]
    backend = load_backend(
        resolve_checkpoint(checkpoint), device=device, precision="fp32", **({"trust": True} if trust else {})
    )
    result = attention_from_backend(
        backend, picture, points=queries or None, class_spec=class_name, top_channels=top_channels
    )
    meta = backend.meta
    table = palette_table(meta.palette, meta.num_classes, meta.ignore_index)
    _save(output, attention_figure(result, meta.names(), table, panel=panel_size), overwrite)


def confusion(
    eval_json: Annotated[
        Path, typer.Argument(help="JSON written by `danet evaluate --json`.", show_default=False)
    ],
    output: Output,
    overwrite: Overwrite = False,
) -> None:
    """The confusion matrix of an evaluation, normalised by row, with class names."""
    from danet.visualization import confusion_figure, read_evaluation

    check_output(output, overwrite)
    matrix, names = read_evaluation(eval_json)
    _save(output, confusion_figure(matrix, names), overwrite)


def curves(
    run_dir: Annotated[
        Path, typer.Argument(help="A `danet train` run folder (or its metrics.jsonl).", show_default=False)
    ],
    output: Output,
    overwrite: Overwrite = False,
) -> None:
    """Loss, learning-rate and validation mIoU curves of a training run."""
    from danet.visualization import curves_figure, read_metrics

    check_output(output, overwrite)
    _save(output, curves_figure(read_metrics(run_dir)), overwrite)


def register(app: typer.Typer) -> None:
    sub = typer.Typer(name="visualize", help=_HELP, no_args_is_help=True)
    sub.command("overlay")(overlay)
    sub.command("attention")(attention)
    sub.command("confusion")(confusion)
    sub.command("curves")(curves)
    app.add_typer(sub, name="visualize", help=_HELP)
