"""Scheduled retraining as a use case: schedules (a cron expression in an IANA time zone,
read by ``cronsim``, which handles daylight-saving changes as Debian's cron does: a time
that happens twice fires once, a time that does not exist fires at the next minute that
does), firing due times exactly once with the misfire policy, and the champion/challenger
promotion of each scheduled run's model.

Misfire policy, for fire times more than ``SSOTS_SCHEDULE_MISFIRE_GRACE`` seconds late
(the server was down): ``run-once`` runs once for all of them (at the latest), ``skip``
runs none and records them as missed; both emit ``schedule.run_missed``.

Promotion: the run registers its model as a new version of the schedule's model with the
alias ``challenger``; challenger and champion are then scored on the same window, the
newest out-of-sample block (the run's test block of the newest data, with the run's fee),
by ``promotion_metric`` (default rank IC of the calibrated Q) with the Q-filtered Sharpe
ratio breaking a tie; ``champion`` moves only when the challenger is better by more than
``margin``. The decision and its numbers go into the alias history (the reason of the
``challenger`` move, and of the ``champion`` move when there is one) and the fire time's row.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ssots.config import Settings
from ssots.errors import ConflictError, ParameterError
from ssots.spec import METRICS, RunSpec

if TYPE_CHECKING:
    import pandas as pd

    from ssots.artifacts import SavedModel
    from ssots.store.registry import ModelRegistry
    from ssots.store.schedules import Schedule, ScheduleRun, ScheduleStore

__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "MISFIRE_POLICIES",
    "PROMOTION_DEFAULTS",
    "PROMOTION_METRICS",
    "add_schedule",
    "check_cron",
    "compare_on_window",
    "decide",
    "fire_times",
    "next_fire",
    "parse_age",
    "run_now",
    "schedule_store",
    "tick",
    "upcoming",
]

log = logging.getLogger(__name__)

MISFIRE_POLICIES: tuple[str, ...] = ("run-once", "skip")
"""What happens to fire times missed while no scheduler ran (first: the default)."""
CHALLENGER, CHAMPION = "challenger", "champion"
PROMOTION_METRICS: dict[str, str] = {
    **{name: meta["better"] for name, meta in METRICS.items()},
    "raw_rank_ic": "higher",
    "q_filtered_sharpe": "higher",
}
"""Metrics a promotion may compare on (the test-split metrics of ``spec.METRICS``, the raw
Q's rank IC and the Q-filtered book's Sharpe ratio) and which direction is better."""
PROMOTION_DEFAULTS: dict[str, Any] = {
    "metric": "rank_ic",
    "tie_break": "q_filtered_sharpe",
    "margin": 0.0,
}
"""The default promotion rule."""
DEFAULT_TIMEZONE = "UTC"
DECISION_CLAIM = timedelta(minutes=10)
"""A promotion another scheduler claimed longer ago than this is taken over."""
MAX_MISSED_COUNTED = 100_000
"""Most missed fire times counted one by one after downtime."""


def schedule_store(settings: Settings) -> ScheduleStore:
    """The schedules of ``settings``' database (opened and migrated)."""
    from ssots.store import open_database
    from ssots.store.schedules import ScheduleStore

    return ScheduleStore(open_database(settings))


# -- cron ----------------------------------------------------------------------------


def _zone(name: str) -> Any:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ParameterError(
            f"unknown time zone {name!r}; use an IANA name such as Europe/Berlin or UTC"
        ) from None


def check_cron(expression: str, timezone: str = DEFAULT_TIMEZONE) -> str:
    """``expression`` if it is a valid five-field cron expression.

    Raises:
        ParameterError: malformed expression or unknown time zone.
    """
    from cronsim import CronSim, CronSimError

    zone = _zone(timezone)
    if len(expression.split()) != 5:
        raise ParameterError(
            f"a cron expression has five fields (minute hour day month weekday), e.g. "
            f"'0 3 * * *'; got {expression!r}"
        )
    try:
        CronSim(expression, datetime.now(zone))
    except CronSimError as exc:
        raise ParameterError(f"cron expression {expression!r} is invalid: {exc}") from None
    return expression


def next_fire(expression: str, timezone: str, after: datetime) -> datetime:
    """The first fire time strictly after ``after`` (aware), in UTC."""
    return next(fire_times(expression, timezone, after))


def fire_times(expression: str, timezone: str, after: datetime) -> Any:
    """Fire times strictly after ``after``, in UTC, in order (an endless iterator)."""
    from cronsim import CronSim

    zone = _zone(timezone)
    after = after.astimezone(UTC)
    simulator = CronSim(expression, after.astimezone(zone))
    for local in simulator:
        moment = local.astimezone(UTC)
        if moment > after:  # a wall time repeated at an autumn change may lie behind
            yield moment


UPCOMING = 5
"""Fire times shown ahead (the dashboard, ``schedules show``, the API)."""


def upcoming(schedule: Schedule, count: int = UPCOMING) -> list[str]:
    """The next ``count`` fire times of ``schedule`` (ISO, UTC); none when paused."""
    if not schedule.enabled:
        return []
    start = schedule.next_run_at or datetime.now(UTC)
    times = fire_times(schedule.cron, schedule.timezone, start)
    return [moment.isoformat() for moment in [start, *(next(times) for _ in range(count - 1))]]


# -- schedules -----------------------------------------------------------------------


def parse_age(text: str | int | None) -> int | None:
    """A maximum age as seconds: ``90`` (seconds), ``45m``, ``12h``, ``7d``; None stays None.

    Raises:
        ParameterError: not of that form.
    """
    if text is None or text == "":
        return None
    if isinstance(text, int):
        seconds = text
    else:
        units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
        body, unit = (text[:-1], text[-1]) if text[-1:] in units else (text, "s")
        try:
            seconds = int(float(body) * units[unit])
        except ValueError:
            raise ParameterError(
                f"a maximum age is a number with s, m, h, d or w, e.g. 7d; got {text!r}"
            ) from None
    if seconds <= 0:
        raise ParameterError(f"a maximum age must be positive; got {text!r}")
    return seconds


def check_promotion(rule: dict[str, Any] | None) -> dict[str, Any]:
    """The promotion rule ``rule`` over the defaults, checked.

    Raises:
        ParameterError: unknown metric, or a negative margin.
    """
    merged = {**PROMOTION_DEFAULTS, **{k: v for k, v in (rule or {}).items() if v is not None}}
    choices = ", ".join(PROMOTION_METRICS)
    for key in ("metric", "tie_break"):
        if merged[key] not in PROMOTION_METRICS:
            raise ParameterError(f"`{key}` must be one of {choices}; got {merged[key]!r}")
    try:
        merged["margin"] = float(merged["margin"])
    except (TypeError, ValueError):
        raise ParameterError("`margin` must be a number >= 0, e.g. 0.01") from None
    if merged["margin"] < 0:
        raise ParameterError("`margin` must be a number >= 0, e.g. 0.01")
    unknown = set(merged) - set(PROMOTION_DEFAULTS)
    if unknown:
        raise ParameterError(f"unknown promotion setting {sorted(unknown)[0]!r}")
    return merged


def add_schedule(
    store: ScheduleStore,
    *,
    name: str,
    cron: str,
    model: str,
    spec: RunSpec,
    timezone: str = DEFAULT_TIMEZONE,
    misfire: str = MISFIRE_POLICIES[0],
    promotion: dict[str, Any] | None = None,
    max_age: str | int | None = None,
    enabled: bool = True,
    files: bool = False,
    clock: datetime | None = None,
) -> Schedule:
    """A new schedule.

    Args:
        files: whether its dataset may be a local file (the command line); a schedule
            made through the API trains on the demo, a registered dataset or ``kaggle:``.
        clock: now (tests pass another moment).

    Raises:
        ParameterError: bad name, cron expression, time zone, misfire policy, promotion
            rule or maximum age.
        ConflictError: the name is taken, or a file dataset without ``files``.
    """
    from ssots.data.sources.reference import FileRef, parse_reference
    from ssots.store.registry import check_model_name

    check_model_name(name)
    check_model_name(model)
    if misfire not in MISFIRE_POLICIES:
        raise ParameterError(f"`misfire` must be one of {', '.join(MISFIRE_POLICIES)}")
    check_cron(cron, timezone)
    if not files and isinstance(parse_reference(spec.dataset), FileRef):
        raise ConflictError(
            f"a schedule made through the API cannot train on the local file {spec.dataset}; "
            "upload it (POST /api/datasets) and name the registered dataset"
        )
    moment = clock or datetime.now(UTC)
    return store.create(
        name=name,
        cron=cron,
        timezone=timezone,
        spec=spec.model_dump(mode="json"),
        model=model,
        promotion=check_promotion(promotion),
        max_age_s=parse_age(max_age),
        enabled=enabled,
        misfire=misfire,
        allow_files=files,
        next_run_at=next_fire(cron, timezone, moment) if enabled else None,
    )


def set_enabled(
    store: ScheduleStore, key: int | str, enabled: bool, clock: datetime | None = None
) -> Schedule:
    """Pause or resume a schedule; resuming starts from the next fire time after now (the
    paused times are not caught up)."""
    schedule = store.get(key)
    moment = clock or datetime.now(UTC)
    next_run = next_fire(schedule.cron, schedule.timezone, moment) if enabled else None
    return store.update(schedule.id, enabled=enabled, next_run_at=next_run)


def update_schedule(
    store: ScheduleStore,
    key: int | str,
    changes: dict[str, Any],
    clock: datetime | None = None,
) -> Schedule:
    """Change a schedule's cron, time zone, misfire policy, promotion rule, maximum age or
    enabled flag (the next fire time is recomputed).

    Raises:
        ParameterError: an invalid value.
    """
    schedule = store.get(key)
    values: dict[str, Any] = {}
    cron = changes.get("cron") or schedule.cron
    timezone = changes.get("timezone") or schedule.timezone
    check_cron(cron, timezone)
    values.update(cron=cron, timezone=timezone)
    if changes.get("misfire") is not None:
        if changes["misfire"] not in MISFIRE_POLICIES:
            raise ParameterError(f"`misfire` must be one of {', '.join(MISFIRE_POLICIES)}")
        values["misfire"] = changes["misfire"]
    if changes.get("promotion") is not None:
        values["promotion"] = check_promotion({**schedule.promotion, **changes["promotion"]})
    if "max_age" in changes:
        values["max_age_s"] = parse_age(changes["max_age"])
    enabled = schedule.enabled if changes.get("enabled") is None else bool(changes["enabled"])
    values["enabled"] = enabled
    moment = clock or datetime.now(UTC)
    values["next_run_at"] = next_fire(cron, timezone, moment) if enabled else None
    return store.update(schedule.id, **values)


def _job(schedule: Schedule, fire_time: datetime, trigger: str) -> dict[str, Any]:
    from ssots.store.schedules import ScheduleStore

    request = {
        "schedule": schedule.name,
        "schedule_id": schedule.id,
        "fire_time": fire_time.isoformat(),
        "trigger": trigger,
        "files": schedule.allow_files,
    }
    return ScheduleStore.job_values(schedule.spec, request)


def scheduled_dataset(
    kind: str, request: dict[str, Any], spec: RunSpec, settings: Settings
) -> tuple[RunSpec, bool]:
    """The spec a job trains on and whether it may read a local file: for a scheduled
    job, a ``kaggle:`` dataset is fetched again (new data is used; the spec then names
    the registered dataset fetched) and a file is re-read if its schedule allows files;
    any other job trains ``spec`` as it is, without files.

    Raises:
        KaggleError: the new download failed.
    """
    from ssots.store.schedules import SCHEDULED_KIND

    if kind != SCHEDULED_KIND:
        return spec, False
    from ssots.data.sources.reference import KaggleRef, parse_reference

    ref = parse_reference(spec.dataset)
    if isinstance(ref, KaggleRef):
        from ssots.services.datasets import fetch

        fetched = fetch(ref.handle, settings, file=ref.file, symbol=ref.symbol, force=True)
        if fetched.record is not None:
            spec = spec.model_copy(update={"dataset": fetched.record.id})
    return spec, bool(request.get("files"))


def run_now(store: ScheduleStore, key: int | str) -> ScheduleRun:
    """Queue a run of schedule ``key`` now (a manual fire time; the cron times stay)."""
    from datetime import datetime as _dt

    schedule = store.get(key)
    return store.run_now(schedule, _job(schedule, _dt.now(UTC), "manual"))


@dataclass(frozen=True)
class Due:
    """The fire times of a schedule due at a moment."""

    on_time: list[datetime]
    late: list[datetime]
    counted_all: bool
    next_after: datetime


def due(schedule: Schedule, moment: datetime, grace: timedelta) -> Due | None:
    """Which of ``schedule``'s fire times from its ``next_run_at`` up to ``moment`` are on
    time (within ``grace``) and which are late; None when nothing is due."""
    first = schedule.next_run_at
    if not schedule.enabled or first is None or first > moment:
        return None
    times = [first]
    counted_all = True
    for fire in fire_times(schedule.cron, schedule.timezone, first):
        if fire > moment:
            next_after = fire
            break
        times.append(fire)
        if len(times) >= MAX_MISSED_COUNTED:
            counted_all = False
            next_after = next_fire(schedule.cron, schedule.timezone, moment)
            break
    late = [t for t in times if moment - t > grace]
    on_time = [t for t in times if moment - t <= grace]
    return Due(on_time, late, counted_all, next_after)


def tick(
    store: ScheduleStore, settings: Settings, moment: datetime | None = None
) -> list[ScheduleRun]:
    """One scheduler round at ``moment`` (default now): handle every schedule's due fire
    times once (racing schedulers write each once, see ``store.schedules``).

    An on-time fire time queues a run. Late ones (downtime) are folded into one record:
    with ``run-once`` one run at the latest of them (when none is on time), with ``skip``
    a missed record; either way one ``schedule.run_missed`` event.

    Returns:
        The fire-time rows written by this round.
    """
    from ssots.store.schedules import Firing

    moment = moment or datetime.now(UTC)
    grace = timedelta(seconds=settings.schedule_misfire_grace)
    written = []
    for schedule in store.list():
        found = due(schedule, moment, grace)
        if found is None:
            continue
        firings: list[tuple[Firing, bool]] = []
        missed = len(found.late) if found.counted_all else MAX_MISSED_COUNTED
        if found.late:
            run_late = schedule.misfire == "run-once" and not found.on_time
            firings.append(
                (
                    Firing(
                        found.late[-1],
                        "catch-up" if run_late else "missed",
                        missed=missed - 1 if run_late else missed,
                        first_missed=found.late[0],
                    ),
                    run_late,
                )
            )
            if run_late and missed == 1:  # one late time run once: nothing was missed
                firings[-1] = (Firing(found.late[-1], "catch-up"), True)
        if found.on_time:
            firings.append((Firing(found.on_time[-1], "cron"), True))
        current = schedule
        for index, (firing, runs) in enumerate(firings):
            last = index == len(firings) - 1
            next_run = found.next_after if last else firing.fire_time
            job = _job(schedule, firing.fire_time, firing.trigger) if runs else None
            row = store.fire(current, firing, next_run, job)
            if row is None:
                break  # another scheduler handled this schedule
            written.append(row)
            current = store.get(schedule.id)
    return written


# -- promotion -----------------------------------------------------------------------


def compare_on_window(
    challenger: SavedModel,
    champion: SavedModel,
    frame: pd.DataFrame,
    spec: RunSpec,
) -> dict[str, Any]:
    """Score both models on the same window: the test block of ``spec``'s split of
    ``frame`` (the challenger's own out-of-sample rows), labels by ``spec``, books with
    ``spec``'s fee and each model's own Q-filter threshold.

    Returns:
        ``{"window": {start, end, rows, fee_bp}, "challenger": metrics, "champion":
        metrics}``; metrics are ``evaluate.q_model_metrics`` plus ``q_filtered_sharpe``.
    """
    import numpy as np

    from ssots import evaluate
    from ssots.backtest import backtest
    from ssots.pipeline import prepare

    prepared = prepare(frame, spec)
    test = prepared.split.test
    times = prepared.times[test.start : test.stop]
    y = prepared.y[test.start : test.stop]
    close = prepared.close[test.start : test.stop]
    direction = prepared.direction[test.start : test.stop]

    def judged(model: SavedModel) -> dict[str, float | None]:
        scores = model.score(frame).reindex(times)
        calibrated = scores["q"].to_numpy()
        raw = scores["q_raw"].to_numpy()
        metrics: dict[str, float | None] = dict(evaluate.q_model_metrics(y, calibrated, raw))
        threshold = model.document.get("backtest", {}).get("threshold")
        if threshold is None:
            threshold = float(np.median(raw))
        books = backtest(
            times, close, direction, raw, float(threshold),
            fee_bp=spec.fee_bp, slippage_bp=spec.slippage_bp,
        )
        sharpe = books.metrics["q_filtered"]["sharpe"]
        metrics["q_filtered_sharpe"] = None if sharpe is None else float(sharpe)
        return metrics

    return {
        "window": {
            "start": times[0].isoformat(),
            "end": times[-1].isoformat(),
            "rows": len(times),
            "fee_bp": spec.fee_bp,
        },
        "challenger": judged(challenger),
        "champion": judged(champion),
    }


def decide(comparison: dict[str, Any], rule: dict[str, Any]) -> dict[str, Any]:
    """Whether the challenger replaces the champion under ``rule``: better on ``metric``
    by more than ``margin``; within the margin, better on ``tie_break``.

    Returns:
        ``{"promote": bool, "by": metric used, "why": text}``.
    """

    def value(side: str, metric: str) -> float | None:
        number = comparison[side].get(metric)
        return None if number is None else float(number)

    def gain(metric: str) -> float | None:
        a, b = value("challenger", metric), value("champion", metric)
        if a is None or b is None:
            return None
        return a - b if PROMOTION_METRICS[metric] == "higher" else b - a

    metric, tie, margin = rule["metric"], rule["tie_break"], rule["margin"]
    first = gain(metric)
    if first is not None and abs(first) > margin:
        promote = first > 0
        why = f"{metric} {'better' if promote else 'worse'} by {abs(first):.4g} (margin {margin:g})"
        return {"promote": promote, "by": metric, "why": why}
    second = gain(tie)
    if second is not None and second > 0:
        return {"promote": True, "by": tie, "why": f"{metric} within the margin; {tie} better"}
    reason = "not better" if second is not None else "undefined"
    return {"promote": False, "by": tie, "why": f"{metric} within the margin; {tie} {reason}"}


def _fmt(number: Any) -> str:
    return "n/a" if number is None else f"{number:.4f}"


def decision_text(schedule: Schedule, decision: dict[str, Any]) -> str:
    """The alias history's reason for a decision (at most 1000 characters)."""
    rule = schedule.promotion
    if decision.get("comparison") is None:
        return f"schedule {schedule.name}: {decision['why']}"[:1000]
    comparison = decision["comparison"]
    window = comparison["window"]
    numbers = "; ".join(
        f"{metric} {_fmt(comparison['challenger'].get(metric))} vs "
        f"{_fmt(comparison['champion'].get(metric))}"
        for metric in dict.fromkeys((rule["metric"], rule["tie_break"]))
    )
    verdict = "promoted" if decision["promote"] else "champion kept"
    return (
        f"schedule {schedule.name}: {verdict} (challenger v{decision['challenger']} vs "
        f"champion v{decision['champion']}): {decision['why']}; {numbers}; window "
        f"{window['start']} .. {window['end']} ({window['rows']} bars, fee {window['fee_bp']:g} bp)"
    )[:1000]


def promote(
    settings: Settings, models: ModelRegistry, schedule: Schedule, run: Any
) -> dict[str, Any]:
    """Register tracked ``run`` as a version of the schedule's model in ``models`` with the
    alias ``challenger``, compare it with ``champion`` and move ``champion`` if the rule
    says so (``settings``: where the run's dataset is).

    Returns:
        The decision: promote, why, challenger and champion versions and the comparison.
    """
    from ssots.artifacts import saved_model
    from ssots.services.datasets import resolve
    from ssots.services.models import register_run

    version, _ = register_run(models, schedule.model, run)
    model = models.get_model(schedule.model)
    who = f"schedule:{schedule.name}"
    champion_version = model.aliases.get(CHAMPION)
    decision: dict[str, Any] = {"challenger": version.version, "champion": champion_version}
    if champion_version is None:
        decision.update(promote=True, by=None, why="no champion yet: the first version is champion")
        decision["comparison"] = None
    elif champion_version == version.version:
        decision.update(promote=False, by=None, why="the challenger is the champion already")
        decision["comparison"] = None
    else:
        spec = RunSpec.build(**run.spec)
        frame = resolve(
            spec.dataset, settings, seed=spec.seed, demo_days=spec.demo_days,
            demo_freq=spec.demo_freq,
        ).frame
        champion = models.version(schedule.model, champion_version)
        comparison = compare_on_window(
            saved_model(version.weights), saved_model(champion.weights), frame, spec
        )
        decision.update(decide(comparison, schedule.promotion), comparison=comparison)
    reason = decision_text(schedule, decision)
    models.move_alias(schedule.model, CHALLENGER, version.version, who=who, reason=reason)
    if decision["promote"]:
        models.move_alias(schedule.model, CHAMPION, version.version, who=who, reason=reason)
    decision["reason"] = reason
    return decision


def settle(store: ScheduleStore, settings: Settings) -> int:
    """Record the outcome of every scheduled run whose job ended: for a succeeded job the
    promotion (``promote``); each handled once (a claim) whoever runs the scheduler.

    Returns:
        How many were settled.
    """
    from ssots.store.registry import ModelRegistry
    from ssots.store.runs import RunStore

    handled = 0
    runs, models = RunStore(store.database), ModelRegistry(store.database)
    for run_id, schedule_id, job_id, status in store.ended():
        if not store.claim(run_id, DECISION_CLAIM):
            continue
        schedule = store.get(schedule_id)
        if status != "succeeded":
            store.decide(run_id, status=status, message=f"the job {status}")
            handled += 1
            continue
        record = _run_of_job(runs, job_id)
        if record is None:
            store.decide(run_id, status="failed", message="the job recorded no run")
            handled += 1
            continue
        try:
            decision = promote(settings, models, schedule, record)
        except Exception as exc:  # the run stays; the decision says why none was made
            log.exception("schedule %s: no promotion decision for job %s", schedule.name, job_id)
            store.decide(
                run_id, status="succeeded", message=f"no promotion decision: {exc}"[:2000]
            )
            handled += 1
            continue
        store.decide(
            run_id,
            status="succeeded",
            message=decision["reason"],
            version=decision["challenger"],
            decision=decision,
        )
        handled += 1
    return handled


def _run_of_job(runs: Any, job_id: str) -> Any:
    from sqlalchemy import select

    from ssots.store.tables import RunRow

    with runs.database.session() as session:
        run_id = session.scalar(select(RunRow.id).where(RunRow.job_id == job_id))
    return None if run_id is None else runs.get(run_id)


def check_stale(
    store: ScheduleStore, settings: Settings, moment: datetime | None = None
) -> int:
    """Emit ``model.stale`` for each schedule whose model's champion is older than the
    schedule's maximum age (once per champion version).

    Returns:
        How many were reported now.
    """
    from ssots.errors import NotFoundError
    from ssots.store.registry import ModelRegistry

    moment = moment or datetime.now(UTC)
    models = ModelRegistry(store.database)
    reported = 0
    for schedule in store.list():
        if schedule.max_age_s is None:
            continue
        try:
            champion = models.resolve_alias(schedule.model, CHAMPION)
        except NotFoundError:
            continue
        age = (moment - champion.created_at).total_seconds()
        if age > schedule.max_age_s and store.mark_stale(
            schedule,
            champion.version,
            {
                "model": schedule.model,
                "version": champion.version,
                "age_s": int(age),
                "max_age_s": schedule.max_age_s,
                "schedule": schedule.name,
            },
        ):
            reported += 1
    return reported
