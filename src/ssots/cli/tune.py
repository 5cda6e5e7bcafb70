"""``ssots tune``: a hyperparameter study run in this process through the job system (a
local job manager with ``--parallel`` worker processes), with a progress bar; and
``ssots studies`` to list, show and stop studies (also those a server runs) and register
a study's refitted best trial as a model version."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from ssots.cli._app import app, console, err_console
from ssots.spec import DEMO, STRATEGIES
from ssots.tuning import OBJECTIVES, TUNE_DEFAULTS, StudySpec

if TYPE_CHECKING:
    from ssots.store.studies import StudyStore

studies_app = typer.Typer(
    help="List, show and stop tuning studies; register a study's best.", no_args_is_help=True
)
app.add_typer(studies_app, name="studies")

_FIELDS = StudySpec.model_fields


@app.command("tune")
def tune_command(
    dataset: Annotated[
        str, typer.Option(help="`demo`, a CSV/Parquet path, a registered dataset or kaggle:...")
    ] = DEMO,
    strategy: Annotated[str, typer.Option(help=f"One of {', '.join(STRATEGIES)}.")] = _FIELDS[
        "strategy"
    ].default,
    objective: Annotated[
        str, typer.Option(help=f"One of {', '.join(OBJECTIVES)}.")
    ] = TUNE_DEFAULTS["objective"],
    trials: Annotated[
        int, typer.Option(help="Finished (complete or pruned) trials to run.")
    ] = TUNE_DEFAULTS["trials"],
    parallel: Annotated[
        int, typer.Option(help="Trials running at once (worker processes).")
    ] = TUNE_DEFAULTS["parallel"],
    timeout: Annotated[
        str | None, typer.Option(help="Start no trial after this long, e.g. 30m, 2h, 90s.")
    ] = None,
    space: Annotated[
        Path | None,
        typer.Option(help="A JSON or YAML search space file (docs/tuning.md); default space."),
    ] = None,
    labels: Annotated[str, typer.Option(help="Label mode of every trial.")] = _FIELDS[
        "labels"
    ].default,
    seed: Annotated[int, typer.Option(help="Seed of the sampler and of every trial.")] = _FIELDS[
        "seed"
    ].default,
    epochs: Annotated[int, typer.Option(help="Most epochs of a trial.")] = TUNE_DEFAULTS["epochs"],
    folds: Annotated[
        int, typer.Option(help="Inner walk-forward folds of wf_sharpe.")
    ] = TUNE_DEFAULTS["folds"],
    prune: Annotated[
        bool, typer.Option("--prune/--no-prune", help="Stop hopeless trials early (median).")
    ] = TUNE_DEFAULTS["prune"],
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the study as JSON instead of tables.")
    ] = False,
) -> None:
    """Tune a strategy's training settings with Optuna; trials never see the test split,
    and the best trial is refitted and evaluated once on it.

    Example: ssots tune --dataset demo --trials 30 --parallel 2 --objective wf_sharpe
    """
    from ssots.config import Settings
    from ssots.jobs.studies import run_study
    from ssots.services.tuning import study_dataset
    from ssots.tuning import read_space_file

    values: dict[str, Any] = {
        "strategy": strategy,
        "objective": objective,
        "trials": trials,
        "parallel": parallel,
        "timeout": timeout,
        "labels": labels,
        "seed": seed,
        "epochs": epochs,
        "folds": folds,
        "prune": prune,
    }
    spec = StudySpec.build(dataset=DEMO, **values)  # settings checked before any work
    settings = Settings.from_env()
    if space is not None:
        values["space"] = {
            name: dimension.model_dump()
            for name, dimension in read_space_file(space, spec.objective).items()
        }
    spec = StudySpec.build(dataset=study_dataset(dataset, settings), **values)
    record = _run(settings, spec, run_study)
    if json_output:
        console.print_json(json.dumps(record.to_dict(), default=str))
        return
    print_study(record)


def _run(settings: Any, spec: StudySpec, run_study: Any) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[best]}"),
    )
    with Progress(*columns, console=err_console, transient=True) as progress:
        task = progress.add_task("trials", total=spec.trials, best="")

        def show(record: Any) -> None:
            best = "" if record.best_value is None else f"best {record.best_value:.5g}"
            description = "refitting the best trial" if record.status == "refitting" else "trials"
            progress.update(
                task, completed=record.finished_trials, description=description, best=best
            )

        return run_study(settings, spec, on_round=show)


def print_study(record: Any) -> None:
    """The study's outcome as tables: trials, the best trial, its one test evaluation."""
    console.print(
        f"[bold]Study {record.id}[/bold] {record.status}: {record.message}", highlight=False
    )
    counts = ", ".join(f"{n} {state}" for state, n in sorted(record.counts.items()))
    console.print(f"Trials: {counts or 'none'}")
    report = record.report
    if not report:
        return
    best = Table(title=f"Best trial {report['best_trial']} ({record.objective} "
                 f"{report['best_value']:.5g} on the validation rows)")  # fmt: skip
    best.add_column("setting")
    best.add_column("value", justify="right")
    for name, value in report["best_params"].items():
        best.add_row(name, f"{value:.5g}" if isinstance(value, float) else str(value))
    console.print(best)
    test = Table(title=f"The one test evaluation (after {report['trials_run']} trials)")
    test.add_column("metric")
    test.add_column("test", justify="right")
    for name, value in (report["test"]["metrics"] or {}).items():
        test.add_row(name, "n/a" if value is None else f"{value:.4f}")
    q_book = (report["test"]["backtest"] or {}).get("q_filtered", {})
    if q_book.get("sharpe") is not None:
        test.add_row("Q-filtered Sharpe", f"{q_book['sharpe']:.3f}")
    deflated = report["deflated_sharpe"]
    if deflated["dsr"] is not None:
        test.add_row(
            f"deflated Sharpe ratio ({deflated['n_trials']} trials)", f"{deflated['dsr']:.3f}"
        )
    console.print(test)
    console.print(f"Refitted run {report['run_id']}; weights {report['weights_path']}")


@studies_app.command("list")
def list_command(
    limit: Annotated[int, typer.Option(help="Most studies shown.")] = 20,
) -> None:
    """Studies, newest first."""
    records, total = _studies().list(limit=limit)
    table = Table(title=f"{len(records)} of {total} studies")
    for column in ("id", "status", "objective", "dataset", "trials", "best", "created"):
        table.add_column(column)
    for record in records:
        table.add_row(
            record.id,
            record.status,
            record.objective,
            record.dataset,
            str(record.finished_trials),
            "" if record.best_value is None else f"{record.best_value:.5g}",
            record.created_at.strftime("%Y-%m-%d %H:%M"),
        )
    console.print(table)


@studies_app.command("show")
def show_command(
    study_id: Annotated[str, typer.Argument(help="The study's id.")],
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """One study: its trials, best trial and test evaluation."""
    record = _studies().get(study_id)
    if json_output:
        console.print_json(json.dumps(record.to_dict(), default=str))
        return
    print_study(record)


@studies_app.command("stop")
def stop_command(study_id: Annotated[str, typer.Argument(help="The study's id.")]) -> None:
    """Stop a study, whichever process runs it: running trials are cancelled, no new one
    starts, and the best trial so far is refitted and evaluated once on the test split.

    Example: ssots studies stop 3f2a9c0d1e4b5a67
    """
    record = _studies().request_stop(study_id)
    console.print(
        f"study {record.id}: stop requested; the best of its {record.finished_trials} "
        "finished trials will be refitted",
        highlight=False,
    )


@studies_app.command("register")
def register_command(
    study_id: Annotated[str, typer.Argument(help="The study's id.")],
    name: Annotated[str, typer.Argument(help="The model's name (created if new).")],
    description: Annotated[str, typer.Option(help="Description of a new model.")] = "",
) -> None:
    """Register a finished study's refitted best trial as a model version (its metrics
    are the study's one test evaluation).

    Example: ssots studies register 3f2a9c0d1e4b5a67 btc-tuned
    """
    from ssots.cli.models import print_registered
    from ssots.services.models import register_study_best
    from ssots.store.registry import ModelRegistry
    from ssots.store.runs import RunStore

    studies = _studies()
    record = studies.get(study_id)
    models, runs = ModelRegistry(studies.database), RunStore(studies.database)
    found, created, _ = register_study_best(models, runs, record, name, description)
    print_registered(found, created)


def _studies() -> StudyStore:
    from ssots.config import Settings
    from ssots.store import open_database
    from ssots.store.studies import StudyStore

    return StudyStore(open_database(Settings.from_env()))
