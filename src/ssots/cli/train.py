"""``ssots train``, ``ssots score`` and ``ssots export``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from ssots.cli._app import app, console, err_console
from ssots.cli._spec_options import flag_of, run_spec_options
from ssots.cli.backtest import backtest_table, walk_forward_table

if TYPE_CHECKING:
    from ssots.pipeline import RunResult

@app.command("train")
@run_spec_options
def train_command(
    spec_values: dict[str, Any],
    output: Annotated[Path, typer.Option(help="Where to write the weights file.")] = Path(
        "weights.json"
    ),
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite an existing weights file.")
    ] = False,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the weights document as JSON instead of tables.")
    ] = False,
    demo_fallback: Annotated[
        bool,
        typer.Option(
            "--demo-fallback",
            help="If Kaggle credentials are missing or "
            "rejected, train on synthetic demo data (announced loudly).",
        ),
    ] = False,
    no_track: Annotated[
        bool,
        typer.Option("--no-track", help="Do not record this training as a run in the database."),
    ] = False,
    run_name: Annotated[
        str | None, typer.Option("--name", help="The run's name (default: generated).")
    ] = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", help="A run tag key=value (repeatable).")
    ] = None,
) -> None:
    """Train a Q-score model, write its weights file and record the run (see `ssots runs`).

    Example: ssots train --dataset prices.csv --strategy rsi-enhanced --epochs 300
    """
    from ssots.cli.data import dataset_for_training
    from ssots.services.training import save_weights, train_run
    from ssots.spec import RunSpec

    spec = RunSpec.build(name_of=flag_of, **spec_values)
    from ssots.services.runs import parse_tags

    tags = parse_tags(tag or [], "--tag")
    check_output(output, force=force)
    spec = spec.model_copy(
        update={"dataset": dataset_for_training(spec.dataset, demo_fallback=demo_fallback)}
    )
    result = run_with_progress(spec, train_run)
    _, document = save_weights(result, output)
    tracked = None if no_track else track(result, document, tags=tags, name=run_name)
    if json_output:
        console.print_json(json.dumps(document))
        return
    _print_result(result)
    console.print(f"\nWeights written to [bold]{output}[/bold]")
    if tracked is not None:
        console.print(f"Run [bold]{tracked.name}[/bold] recorded (id {tracked.id})")


def track(
    result: RunResult, document: dict[str, Any], *, tags: dict[str, str], name: str | None
) -> Any:
    """Record ``result`` as a run of the database of the environment's settings; its id
    goes to stderr (so ``--json`` output stays one document)."""
    from ssots.config import Settings
    from ssots.services.runs import record_run, run_store

    record = record_run(
        run_store(Settings.from_env()), result, document, source="cli", tags=tags, name=name
    )
    err_console.print(f"run id: {record.id}", highlight=False)
    return record


def check_output(path: Path, *, force: bool) -> None:
    """Refuse to overwrite ``path`` unless ``force``; say when its folder will be created.

    Raises:
        ParameterError: ``path`` exists (or is a folder) and ``force`` is not set.
    """
    from ssots.errors import ParameterError

    if path.is_dir():
        raise ParameterError(
            f"`--output` {path} is a folder; pass a file name, e.g. {path / 'weights.json'}"
        )
    if path.exists() and not force:
        raise ParameterError(
            f"`--output` {path} exists; pass --force to overwrite it, or another --output"
        )
    if not path.parent.exists():
        err_console.print(f"Creating folder {path.parent} for the weights file.")


def run_with_progress(spec: Any, run: Any) -> RunResult:
    """Run ``run(spec, on_event=...)`` with a progress bar on stderr."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[losses]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err_console, transient=True) as progress:
        task = progress.add_task("loading data", total=spec.epochs, losses="")

        def on_event(event: Any) -> None:
            if event.kind == "stage":
                progress.update(task, description=event.data["stage"])
                return
            data = event.data
            val = "" if data["val_loss"] is None else f"  val {data['val_loss']:.5f}"
            progress.update(
                task, completed=data["epoch"], losses=f"train {data['train_loss']:.5f}{val}"
            )

        result = run(spec, on_event=on_event)
        progress.update(task, total=len(result.history), description="done")
    return result


def _print_result(result: RunResult) -> None:
    dataset = result.dataset
    split = "/".join(str(rows) for rows in result.split_sizes.values())
    console.print(
        f"\n[bold]{dataset['name']}[/bold]: {dataset['rows']} bars, {dataset['start']} .. "
        f"{dataset['end']} ({dataset['spacing']}); strategy {result.spec.strategy}, "
        f"labels {result.spec.labels}; split {split} rows (train/validation/test)"
    )
    console.print(
        f"Best epoch {result.best_epoch} of {len(result.history)}"
        + (" (early stopping)" if result.stopped_early else "")
    )
    console.print(_metrics_table(result.metrics, result.baselines))
    console.print(_calibration_line(result.calibration.to_dict()))
    console.print(_weights_table(result.weights()))
    console.print(backtest_table(result.backtest.to_dict(max_points=None), result.spec.strategy))
    if result.walk_forward is not None:
        console.print(walk_forward_table(result.walk_forward))
    if result.evidence is not None:
        _print_evidence(result.evidence)


def _print_evidence(section: dict[str, Any]) -> None:
    """The evidence tables (test split; walk-forward pooled) and the verdict line."""
    from ssots.cli._evidence import evidence_table, verdict_text

    console.print(evidence_table(section["test"], "Evidence on the test split"))
    if section["walk_forward"] is not None:
        pooled = section["walk_forward"]
        console.print(evidence_table(pooled, "Evidence, walk-forward folds pooled"))
    console.print(verdict_text(section))


def _metrics_table(metrics: dict[str, float], baselines: dict[str, dict[str, float]]) -> Table:
    table = Table(
        title="Test-split metrics: calibrated Q-model vs baselines (fitted on the same rows)"
    )
    table.add_column("metric")
    table.add_column("Q-model", justify="right", style="bold")
    for name in baselines:
        table.add_column(name.replace("_", " "), justify="right")
    for metric, value in metrics.items():
        label = "rank_ic (raw Q)" if metric == "raw_rank_ic" else metric
        cells = (f"{b[metric]:.4f}" if metric in b else "—" for b in baselines.values())
        table.add_row(label, f"{value:.4f}", *cells)
    return table


def _calibration_line(calibration: dict[str, Any]) -> str:
    """One line saying how the raw Q maps to the reported (calibrated) Q."""
    kind, q, y = calibration["kind"], calibration["q"], calibration["y"]
    if kind == "identity":
        return "Calibration: none (the reported Q is the raw Q)"
    if len(q) == 1 or y[0] == y[-1]:
        return (
            f"Calibration ({kind}, training rows): the raw Q does not rise with the label "
            f"there, so every bar gets the training mean {y[0]:.4f}; the Q-filter still "
            "ranks the raw Q"
        )
    return (
        f"Calibration ({kind}, training rows): raw Q {q[0]:.4f} .. {q[-1]:.4f} maps to "
        f"{y[0]:.4f} .. {y[-1]:.4f}; the Q-filter thresholds the raw Q"
    )


def _weights_table(weights: dict[str, float]) -> Table:
    table = Table(title="The 13 learned parameters")
    table.add_column("parameter")
    table.add_column("value", justify="right")
    table.add_column("")
    for name, value in weights.items():
        table.add_row(name, f"{value:.4f}", "█" * round(value * 40))
    return table


WEIGHTS_HELP = (
    "Weights file written by `ssots train`, or a registered version: models:/NAME/3, "
    "models:/NAME@champion, models:/NAME@champion?at=2026-11-01T00:00:00Z."
)
SCORE_FORMATS = ("table", "json", "csv")


@app.command("score")
def score_command(
    weights: Annotated[str, typer.Option(help=WEIGHTS_HELP)],
    dataset: Annotated[str, typer.Option(help="`demo` or a CSV/Parquet file to score.")],
    last: Annotated[int, typer.Option(min=1, help="How many of the latest bars to show.")] = 10,
    format: Annotated[
        str, typer.Option("--format", help="table, json or csv.")
    ] = "table",
) -> None:
    """Score new data with a saved model (its stored normaliser; nothing is refitted):
    per bar the strategy's call, the Q-score (calibrated and raw) and whether the Q-filter
    takes the call.

    Example: ssots score --weights models:/btc-daily@champion --dataset demo --format json
    """
    from ssots.config import Settings
    from ssots.errors import ParameterError
    from ssots.services.datasets import resolve
    from ssots.services.models import resolve_weights, score_latest

    if format not in SCORE_FORMATS:
        raise ParameterError(f"`--format` must be table, json or csv, got {format!r}")
    settings = Settings.from_env()
    saved = resolve_weights(weights, settings)
    rows = score_latest(saved, resolve(dataset, settings).frame, last)
    if format == "json":
        print(json.dumps({"model": weights, "strategy": saved.strategy, "bars": rows}))
        return
    if format == "csv":
        print("time,close,call,q,q_raw,take")
        for row in rows:
            take = "" if row["take"] is None else str(row["take"]).lower()
            print(f"{row['time']},{row['close']!r},{row['call']},{row['q']!r},"
                  f"{row['q_raw']!r},{take}")
        return
    table = Table(
        title=f"Latest Q-scores ({saved.strategy})",
        caption="Q-score: calibrated (the expected label); Q (raw): the model's score, "
        "which the Q-filter thresholds (take: raw Q >= the model's threshold)",
    )
    for column in ("time", "close", "call", "Q-score", "Q (raw)", "take"):
        table.add_column(column, justify="left" if column == "time" else "right")
    for row in rows:
        call = "[green]long[/green]" if row["call"] == "long" else "[red]short[/red]"
        take = "—" if row["take"] is None else "yes" if row["take"] else "no"
        table.add_row(
            row["time"], f"{row['close']:.6g}", call, f"{row['q']:.4f}", f"{row['q_raw']:.4f}",
            take,
        )
    console.print(table)


@app.command("export")
def export_command(
    weights: Annotated[str, typer.Option(help=WEIGHTS_HELP)],
    output: Annotated[Path, typer.Option(help="Where to write the exported file.")],
    format: Annotated[
        str, typer.Option("--format", help="omega: the earlier system's w_G..w_T layout.")
    ] = "omega",
) -> None:
    """Export a weights file in another layout for dashboards that read it."""
    from ssots.artifacts import legacy_omega, write_json
    from ssots.errors import ParameterError
    from ssots.services.models import resolve_weights

    if format != "omega":
        raise ParameterError(f"`--format` must be omega, got {format!r}")
    write_json(output, legacy_omega(resolve_weights(weights).document))
    console.print(f"Wrote {format} weights to [bold]{output}[/bold]")
