"""``ssots runs``: list, show, tag, annotate, delete, rerun and compare tracked runs."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from ssots.cli._app import app, console

if TYPE_CHECKING:
    from ssots.store.runs import RunStore

runs_app = typer.Typer(
    help="Tracked runs: every `ssots train` and every job of the service.",
    no_args_is_help=True,
)
app.add_typer(runs_app, name="runs")

LISTED_METRICS: tuple[str, ...] = ("r2", "rank_ic", "raw_rank_ic")
"""The metrics ``runs list`` shows (beside the sort key)."""


def _store() -> RunStore:
    from ssots.config import Settings
    from ssots.services.runs import run_store

    return run_store(Settings.from_env())


def _number(value: Any) -> str:
    return "—" if value is None else f"{value:.4f}"


@runs_app.command("list")
def list_command(
    sort: Annotated[
        str, typer.Option(help="created_at, name or a metric key (rank_ic, r2, mse, ...).")
    ] = "created_at",
    ascending: Annotated[bool, typer.Option("--ascending", help="Smallest first.")] = False,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", help="Only runs with tag key=value (repeatable).")
    ] = None,
    dataset: Annotated[
        str | None, typer.Option(help="Only runs on this dataset (name or fingerprint).")
    ] = None,
    source: Annotated[str | None, typer.Option(help="Only runs from this source.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="Most runs shown.")] = 50,
    offset: Annotated[int, typer.Option(min=0, help="Runs skipped first.")] = 0,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List runs, newest first (or sorted by a metric, best first).

    Example: ssots runs list --sort rank_ic --tag team=research
    """
    from ssots.services.runs import parse_tags

    rows, total = _store().list(
        tags=parse_tags(tag or [], "--tag"),
        dataset=dataset,
        source=source,
        sort=sort,
        descending=not ascending,
        limit=limit,
        offset=offset,
    )
    if json_output:
        console.print_json(json.dumps({"runs": [r.summary() for r in rows], "total": total}))
        return
    metrics = list(LISTED_METRICS)
    if sort not in (*metrics, "created_at", "name"):
        metrics.append(sort)
    table = Table(title=f"Runs ({len(rows)} of {total})")
    for column in ("id", "name", "created", "source", "strategy", "dataset", *metrics, "tags"):
        table.add_column(column, justify="right" if column in metrics else "left")
    for run in rows:
        table.add_row(
            run.id,
            run.name,
            run.created_at.strftime("%Y-%m-%d %H:%M"),
            run.source,
            str(run.spec.get("strategy", "")),
            run.dataset_name,
            *(_number(run.metrics.get(m)) for m in metrics),
            " ".join(f"{k}={v}" for k, v in run.tags.items()),
        )
    console.print(table)


@runs_app.command("show")
def show_command(
    run: Annotated[str, typer.Argument(help="Run id or name.")],
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the whole run (weights document too) as JSON.")
    ] = False,
) -> None:
    """Show a run: settings, data, metrics, tags and notes."""
    record = _store().get(run)
    if json_output:
        console.print_json(json.dumps(record.to_dict()))
        return
    console.print(f"[bold]{record.name}[/bold] (id {record.id}), {record.source}, "
                  f"{record.created_at.isoformat()}, ssots {record.package_version}")
    if record.job_id:
        console.print(f"job {record.job_id}")
    console.print(f"data: {record.dataset_name} {record.dataset_start} .. {record.dataset_end}"
                  f" (fingerprint {record.dataset_fingerprint[:16]}…)")
    spec = Table(title="Settings")
    spec.add_column("field")
    spec.add_column("value")
    for key, value in record.spec.items():
        spec.add_row(key, json.dumps(value))
    console.print(spec)
    metrics = Table(title="Test-split metrics")
    metrics.add_column("metric")
    metrics.add_column("value", justify="right")
    for key, value in record.metrics.items():
        metrics.add_row(key, _number(value))
    console.print(metrics)
    from ssots.evidence import headline

    console.print(f"verdict: {headline(record.weights)}", highlight=False)
    if record.tags:
        console.print("tags: " + " ".join(f"{k}={v}" for k, v in record.tags.items()))
    if record.notes:
        console.print(f"notes: {record.notes}")


@runs_app.command("tag")
def tag_command(
    run: Annotated[str, typer.Argument(help="Run id or name.")],
    tags: Annotated[list[str], typer.Argument(help="key=value to set; key= removes key.")],
) -> None:
    """Set (or with an empty value remove) tags of a run.

    Example: ssots runs tag brisk-otter-042 team=research stage=
    """
    from ssots.services.runs import parse_tags

    changes: dict[str, str | None] = {
        key: (value or None) for key, value in parse_tags(tags, "TAG").items()
    }
    record = _store().update(run, tags=changes)
    console.print(f"{record.name}: " + (" ".join(f"{k}={v}" for k, v in record.tags.items())
                                         or "no tags"))


@runs_app.command("note")
def note_command(
    run: Annotated[str, typer.Argument(help="Run id or name.")],
    text: Annotated[str, typer.Argument(help="The notes (replace the run's notes).")],
) -> None:
    """Replace the notes of a run."""
    record = _store().update(run, notes=text)
    console.print(f"{record.name}: notes saved")


@runs_app.command("rename")
def rename_command(
    run: Annotated[str, typer.Argument(help="Run id or name.")],
    name: Annotated[str, typer.Argument(help="The new, unique name.")],
) -> None:
    """Rename a run."""
    record = _store().update(run, name=name)
    console.print(f"{record.id} is now {record.name}")


@runs_app.command("delete")
def delete_command(run: Annotated[str, typer.Argument(help="Run id or name.")]) -> None:
    """Delete a run (model versions registered from it keep their copy)."""
    record = _store().delete(run)
    console.print(f"deleted run {record.name} ({record.id})")


@runs_app.command("rerun")
def rerun_command(
    run: Annotated[str, typer.Argument(help="Run id or name.")],
) -> None:
    """Train again with the run's exact settings; records a new run tagged rerun_of=ID."""
    from ssots.cli.train import run_with_progress
    from ssots.services.runs import record_run, rerun_spec
    from ssots.services.training import train_run

    store = _store()
    original = store.get(run)
    result = run_with_progress(rerun_spec(original), train_run)
    from ssots.artifacts import weights_document

    record = record_run(
        store, result, weights_document(result), source="cli", tags={"rerun_of": original.id}
    )
    console.print(
        f"Run [bold]{record.name}[/bold] recorded (id {record.id}), rerun of {original.name}; "
        f"rank_ic {_number(record.metrics.get('rank_ic'))} "
        f"(was {_number(original.metrics.get('rank_ic'))})"
    )


@runs_app.command("compare")
def compare_command(
    runs: Annotated[list[str], typer.Argument(help="Two to ten run ids or names.")],
    all_fields: Annotated[
        bool, typer.Option("--all", help="List every setting, not only those that differ.")
    ] = False,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the comparison (curves too) as JSON.")
    ] = False,
) -> None:
    """Compare runs: differing settings, metrics (best marked *), the 13 parameters with
    deltas from the first run, each run's verdict (and with Benjamini-Hochberg across the
    compared runs), and a warning when they used different data.

    Example: ssots runs compare brisk-otter-042 calm-heron-007
    """
    from ssots.services.compare import comparable_run, compare

    store = _store()
    comparison = compare([comparable_run(store.get(r)) for r in runs], all_fields=all_fields)
    print_comparison(comparison, json_output=json_output)


def print_comparison(comparison: dict[str, Any], *, json_output: bool) -> None:
    """Print a comparison (``services.compare.compare``) as tables or JSON."""
    from ssots.cli._app import err_console

    if json_output:
        console.print_json(json.dumps(comparison))
        return
    labels = [run["label"] for run in comparison["runs"]]
    for warning in comparison["warnings"]:
        err_console.print(f"[bold yellow]warning:[/bold yellow] {warning}")
    spec = Table(title="Settings that differ" if comparison["spec"] else "Settings: all equal")
    spec.add_column("setting")
    for label in labels:
        spec.add_column(label)
    for field, values in comparison["spec"].items():
        spec.add_row(field, *(json.dumps(value) for value in values))
    console.print(spec)
    metrics = Table(title="Test-split metrics (* best)")
    metrics.add_column("metric")
    for label in labels:
        metrics.add_column(label, justify="right")
    for metric, row in comparison["metrics"].items():
        cells = [
            _number(value) + (" *" if index == row["best"] else "")
            for index, value in enumerate(row["values"])
        ]
        metrics.add_row(metric, *cells)
    console.print(metrics)
    parameters = Table(title=f"Parameters (delta from {labels[0]})")
    parameters.add_column("parameter")
    for label in labels:
        parameters.add_column(label, justify="right")
    for name, row in comparison["parameters"].items():
        cells = [_number(row["values"][0])]
        cells += [
            f"{_number(value)} ({delta:+.4f})" if delta is not None else _number(value)
            for value, delta in zip(row["values"][1:], row["deltas"][1:], strict=True)
        ]
        parameters.add_row(name, *cells)
    console.print(parameters)
    by_id = {run["id"]: run["label"] for run in comparison["runs"]}
    for item in comparison.get("evidence", []):
        console.print(f"[bold]{by_id.get(item['id'], item['id'])}[/bold]: {item['verdict']}",
                      highlight=False)
        if item["adjusted_verdict"] is not None:
            console.print(f"  across these runs: {item['adjusted_verdict']}", highlight=False)
