"""`danet visualize`: overlays, attention maps, confusion matrices and training curves as pictures."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from danet.errors import ConfigError
from danet_cli._options import CheckpointOption, DeviceOption, TrustOption

_HELP = "Overlays, attention maps, confusion matrices and training curves."

DEFAULT_DIR = Path("runs/visualize")
Output = Annotated[
    Path | None,
    typer.Option(
        "-o",
        "--output",
        help=f"Picture to write (.png or .jpg); default: a new {DEFAULT_DIR}/<name>.png, never overwritten.",
        show_default=False,
    ),
]
Overwrite = Annotated[bool, typer.Option("--overwrite", help="Replace an existing output file.")]


def default_output(name: str, folder: Path = DEFAULT_DIR) -> Path:
    """`folder/<name>.png`, or `<name>2.png`, `<name>3.png`, ... when taken: a default never replaces."""
    stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in name).strip("._") or "picture"
    candidate, n = folder / f"{stem}.png", 2
    while candidate.exists():
        candidate, n = folder / f"{stem}{n}.png", n + 1
    return candidate


def _save(path: Path | None, name: str, picture: Any, overwrite: bool) -> None:
    """Write `picture` to `path` (refusing to replace a file without --overwrite) or a default name."""
    from danet.fileio import check_writable
    from danet.image_io import write_image
    from danet_cli._console import console

    target = check_writable(path, overwrite) if path is not None else default_output(name)
    target.parent.mkdir(parents=True, exist_ok=True)
    write_image(target, picture)
    console.print(f"wrote {target} ({picture.shape[1]}x{picture.shape[0]})", markup=False)


def check_output(path: Path | None, overwrite: bool) -> None:
    """Before any work: the picture's extension is writable, it may be replaced, its folder writable
    (the default folder when no path is given)."""
    from danet.fileio import check_output_location, check_writable
    from danet.image_io import check_image_suffix

    if path is None:
        check_output_location(DEFAULT_DIR, folder=True)
        return
    check_image_suffix(path)
    check_writable(path, overwrite)
    check_output_location(path)


def overlay(
    image: Annotated[Path, typer.Argument(help="The photo.", show_default=False)],
    mask: Annotated[
        Path | None,
        typer.Argument(help="A mask of class ids (else --checkpoint predicts one).", show_default=False),
    ] = None,
    output: Output = None,
    checkpoint: Annotated[
        str | None,
        typer.Option(
            "--checkpoint",
            "-c",
            help="Predict the mask with this checkpoint (file, run folder, weight name, hf://).",
        ),
    ] = None,
    dataset: Annotated[str | None, typer.Option(help="Class names and colours of this dataset.")] = None,
    alpha: Annotated[float, typer.Option(min=0.0, max=1.0, help="Colour opacity.")] = 0.5,
    no_legend: Annotated[
        bool, typer.Option("--no-legend", help="The overlay alone, without the legend.")
    ] = False,
    device: DeviceOption = "auto",
    trust: TrustOption = False,
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
    table = palette_table(palette, count, ignore)
    figure = overlay_figure(
        picture, labels, names, table, alpha=alpha, ignore_index=ignore, legend=not no_legend
    )
    _save(output, f"{image.stem}_overlay", figure, overwrite)


def _predictor(checkpoint: str | None, device: str, trust: bool) -> Any:
    from danet.checkpoints import resolve
    from danet.prediction.predictor import Predictor
    from danet_cli._console import RichReporter

    return Predictor(resolve(checkpoint, reporter=RichReporter()), device, "fp32", trust=trust)


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
    output: Output = None,
    checkpoint: CheckpointOption = None,
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
    device: DeviceOption = "auto",
    trust: TrustOption = False,
    overwrite: Overwrite = False,
) -> None:
    """PAM maps of query points over the whole image, and the CAM matrix with class-selective channels."""
    from danet.image_io import read_image
    from danet.visualization import attention_figure, palette_table
    from danet.visualization.attention_maps import attention_from_checkpoint
    from danet_cli._console import RichReporter

    check_output(output, overwrite)
    picture = read_image(image)
    queries = [parse_point(p) for text in points or [] for p in text.split(";") if p.strip()]
    result, meta = attention_from_checkpoint(
        checkpoint, picture, device=device, trust=trust, points=queries or None, class_spec=class_name,
        top_channels=top_channels, reporter=RichReporter(),
    )  # fmt: skip
    table = palette_table(meta.palette, meta.num_classes, meta.ignore_index)
    figure = attention_figure(result, meta.names(), table, panel=panel_size)
    _save(output, f"{image.stem}_attention", figure, overwrite)


def confusion(
    eval_json: Annotated[
        Path, typer.Argument(help="JSON written by `danet evaluate --json`.", show_default=False)
    ],
    output: Output = None,
    overwrite: Overwrite = False,
) -> None:
    """The confusion matrix of an evaluation, normalised by row, with class names."""
    from danet.visualization import confusion_figure, read_evaluation

    check_output(output, overwrite)
    matrix, names = read_evaluation(eval_json)
    _save(output, f"{eval_json.stem}_confusion", confusion_figure(matrix, names), overwrite)


def run_names(paths: list[Path]) -> list[str]:
    """A label per run: its folder's name (of the folder holding a metrics.jsonl given as a file),
    with the parent folder's name added where two runs would read the same."""
    folders = [(p.parent if p.suffix == ".jsonl" else p).resolve() for p in paths]
    names = [f.name for f in folders]
    return [f"{f.parent.name}/{f.name}" if names.count(f.name) > 1 else f.name for f in folders]


def curves(
    runs: Annotated[
        list[Path],
        typer.Argument(
            help="`danet train` run folders (or their metrics.jsonl); several are drawn on one figure.",
            show_default=False,
        ),
    ],
    output: Output = None,
    smooth: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=0.99,
            help="Smooth the losses with an exponential moving average of this weight (0.6 is mild, "
            "0.9 strong); the raw values stay visible, faint.",
        ),
    ] = 0.0,
    overwrite: Overwrite = False,
) -> None:
    """Loss, learning-rate and validation mIoU curves of one training run, or of several compared."""
    from danet.visualization import read_metrics, runs_figure

    check_output(output, overwrite)
    names = run_names(runs)
    if len(set(names)) < len(names):
        raise ConfigError(f"a run is given twice: {' '.join(str(r) for r in runs)}")
    records = {name: read_metrics(path) for name, path in zip(names, runs, strict=True)}
    figure = runs_figure(records if len(runs) > 1 else {"": records[names[0]]}, smooth=smooth)
    default = "_vs_".join(n.replace("/", "-") for n in names[:3]) + ("_and_more" if len(names) > 3 else "")
    _save(output, f"{default}_curves", figure, overwrite)


def register(app: typer.Typer) -> None:
    sub = typer.Typer(name="visualize", help=_HELP, no_args_is_help=True)
    sub.command("overlay")(overlay)
    sub.command("attention")(attention)
    sub.command("confusion")(confusion)
    sub.command("curves")(curves)
    app.add_typer(sub, name="visualize", help=_HELP)
