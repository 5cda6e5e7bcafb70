"""``ssots schedules``: scheduled retraining with champion/challenger promotion (a running
``ssots serve`` fires the schedules and trains their runs; docs/automation.md)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from ssots.cli._app import app, console
from ssots.cli._spec_options import flag_of, run_spec_options
from ssots.services.schedules import (
    MISFIRE_POLICIES,
    PROMOTION_DEFAULTS,
    PROMOTION_METRICS,
    upcoming,
)

if TYPE_CHECKING:
    from ssots.store.schedules import ScheduleStore

schedules_app = typer.Typer(
    help="Scheduled retraining: cron schedules whose runs challenge the champion.",
    no_args_is_help=True,
)
app.add_typer(schedules_app, name="schedules")

MISFIRE_DEFAULT = MISFIRE_POLICIES[0]
METRIC_DEFAULT = PROMOTION_DEFAULTS["metric"]
TIE_BREAK_DEFAULT = PROMOTION_DEFAULTS["tie_break"]


def _store() -> ScheduleStore:
    from ssots.config import Settings
    from ssots.services.schedules import schedule_store

    return schedule_store(Settings.from_env())


@schedules_app.command("add")
@run_spec_options
def add_command(
    spec_values: dict[str, Any],
    name: Annotated[str, typer.Argument(help="The schedule's name.")],
    cron: Annotated[str, typer.Option(help="Cron expression (five fields), e.g. '0 3 * * *'.")],
    model: Annotated[str, typer.Option(help="The registered model its runs feed.")],
    tz: Annotated[str, typer.Option("--tz", help="IANA time zone of the cron times.")] = "UTC",
    misfire: Annotated[
        str, typer.Option(help=f"After downtime: {' or '.join(MISFIRE_POLICIES)}.")
    ] = MISFIRE_DEFAULT,
    metric: Annotated[
        str, typer.Option(help=f"Promotion metric: {', '.join(PROMOTION_METRICS)}.")
    ] = METRIC_DEFAULT,
    tie_break: Annotated[
        str, typer.Option(help="Metric deciding within the margin.")
    ] = TIE_BREAK_DEFAULT,
    margin: Annotated[
        float, typer.Option(min=0, help="How much better the challenger must be.")
    ] = PROMOTION_DEFAULTS["margin"],
    max_age: Annotated[
        str | None, typer.Option(help="Emit model.stale when the champion is older, e.g. 7d.")
    ] = None,
    paused: Annotated[bool, typer.Option("--paused", help="Add it paused.")] = False,
) -> None:
    """Add a schedule: at each cron time a job trains the run settings (a kaggle: dataset
    is fetched again, a file read again), registers the result as the model's
    @challenger and moves @champion when the challenger wins on the newest test block.

    Example: ssots schedules add btc-nightly --cron "0 3 * * *" --tz Europe/Berlin
    --model btc-daily --dataset demo --strategy rsi-enhanced
    """
    from ssots.services.schedules import add_schedule
    from ssots.spec import RunSpec

    spec = RunSpec.build(name_of=flag_of, **spec_values)
    schedule = add_schedule(
        _store(),
        name=name,
        cron=cron,
        timezone=tz,
        model=model,
        spec=spec,
        misfire=misfire,
        promotion={"metric": metric, "tie_break": tie_break, "margin": margin},
        max_age=max_age,
        enabled=not paused,
        files=True,
    )
    console.print(f"schedule [bold]{schedule.name}[/bold] (id {schedule.id}) added")
    _print_upcoming(schedule)


def _print_upcoming(schedule: Any) -> None:
    times = upcoming(schedule)
    if not times:
        console.print("paused: no fire times")
        return
    console.print(f"next fire times ({schedule.timezone}):")
    for moment in _local(times, schedule.timezone):
        console.print(f"  {moment}")


def _local(times: list[str], timezone: str) -> list[str]:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(timezone)
    return [datetime.fromisoformat(t).astimezone(zone).isoformat() for t in times]


@schedules_app.command("list")
def list_command(
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List schedules with their next fire time."""
    schedules = _store().list()
    if json_output:
        rows = [{**s.to_dict(), "next_fire_times": upcoming(s)} for s in schedules]
        console.print_json(json.dumps({"schedules": rows}))
        return
    table = Table(title="Schedules")
    for column in ("id", "name", "cron", "zone", "model", "misfire", "state", "next run"):
        table.add_column(column)
    for s in schedules:
        table.add_row(
            str(s.id), s.name, s.cron, s.timezone, s.model, s.misfire,
            "enabled" if s.enabled else "paused",
            "—" if s.next_run_at is None else _local([s.next_run_at.isoformat()], s.timezone)[0],
        )
    console.print(table)


@schedules_app.command("show")
def show_command(
    name: Annotated[str, typer.Argument(help="The schedule's name or id.")],
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show a schedule: its settings, next five fire times and its runs with their
    outcomes and promotion decisions."""
    store = _store()
    schedule = store.get(name)
    runs = store.runs(schedule.id)
    if json_output:
        document = {
            **schedule.to_dict(),
            "next_fire_times": upcoming(schedule),
            "runs": [r.to_dict() for r in runs],
        }
        console.print_json(json.dumps(document))
        return
    rule = schedule.promotion
    console.print(
        f"[bold]{schedule.name}[/bold]: {schedule.cron} ({schedule.timezone}) -> model "
        f"{schedule.model}; misfire {schedule.misfire}; promotion {rule['metric']} "
        f"(tie-break {rule['tie_break']}, margin {rule['margin']:g})"
    )
    _print_upcoming(schedule)
    table = Table(title="Runs")
    for column in ("fire time", "trigger", "status", "job", "version", "decision"):
        table.add_column(column)
    for run in runs:
        table.add_row(
            _local([run.fire_time.isoformat()], schedule.timezone)[0],
            run.trigger + (f" (+{run.missed} missed)" if run.missed else ""),
            run.job_status if run.status == "queued" and run.job_status else run.status,
            run.job_id or "—",
            "—" if run.version is None else str(run.version),
            run.message,
        )
    console.print(table)


@schedules_app.command("pause")
def pause_command(name: Annotated[str, typer.Argument(help="The schedule's name or id.")]) -> None:
    """Pause a schedule (no runs until it is resumed)."""
    from ssots.services.schedules import set_enabled

    schedule = set_enabled(_store(), name, False)
    console.print(f"schedule {schedule.name} paused")


@schedules_app.command("resume")
def resume_command(
    name: Annotated[str, typer.Argument(help="The schedule's name or id.")],
) -> None:
    """Resume a paused schedule from its next fire time (paused times are not caught up)."""
    from ssots.services.schedules import set_enabled

    schedule = set_enabled(_store(), name, True)
    console.print(f"schedule {schedule.name} resumed")
    _print_upcoming(schedule)


@schedules_app.command("run-now")
def run_now_command(
    name: Annotated[str, typer.Argument(help="The schedule's name or id.")],
) -> None:
    """Queue a run of the schedule now; a running `ssots serve` trains it, registers the
    challenger and decides the promotion."""
    from ssots.services.schedules import run_now

    run = run_now(_store(), name)
    moment = run.fire_time.isoformat(timespec="seconds")
    console.print(f"queued job {run.job_id} for schedule {name} (fire time {moment})")


@schedules_app.command("delete")
def delete_command(
    name: Annotated[str, typer.Argument(help="The schedule's name or id.")],
) -> None:
    """Delete a schedule and its fire-time history (its jobs, runs and model stay)."""
    _store().delete(name)
    console.print(f"schedule {name} deleted")
