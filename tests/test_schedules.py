"""Schedules: cron times across daylight-saving changes, a fire time run at most once by
racing schedulers, the misfire policies after downtime, and the champion/challenger
promotion with its numbers in the alias history. The scheduler's clock is injected, so
these run without waiting (one real-time check lives in test_automation_serve.py)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ssots.artifacts import saved_model
from ssots.config import Settings
from ssots.errors import ConflictError, ParameterError
from ssots.jobs import worker
from ssots.services.datasets import resolve
from ssots.services.schedules import (
    add_schedule,
    check_cron,
    compare_on_window,
    decide,
    fire_times,
    next_fire,
    parse_age,
    run_now,
    set_enabled,
    settle,
    tick,
)
from ssots.spec import RunSpec
from ssots.store import open_database
from ssots.store.jobs import JobStore
from ssots.store.registry import ModelRegistry
from ssots.store.schedules import SCHEDULED_KIND, ScheduleStore
from ssots.store.webhooks import WebhookStore

BERLIN = "Europe/Berlin"
FAST = RunSpec(epochs=5, demo_days=200)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_env({"SSOTS_HOME": str(tmp_path / "home")})


@pytest.fixture
def store(settings: Settings) -> ScheduleStore:
    return ScheduleStore(open_database(settings))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def local(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo(BERLIN)).isoformat()


# -- cron ------------------------------------------------------------------------------


def test_a_wall_time_repeated_in_autumn_fires_once_and_one_skipped_in_spring_is_not_lost() -> None:
    autumn = fire_times("30 2 * * *", BERLIN, at("2026-10-24T12:00:00+02:00"))
    days = [next(autumn) for _ in range(3)]
    assert [local(day) for day in days] == [
        "2026-10-25T02:30:00+02:00",  # 02:30 happens twice that night (CEST, then CET): once
        "2026-10-26T02:30:00+01:00",
        "2026-10-27T02:30:00+01:00",
    ]
    spring = fire_times("30 2 * * *", BERLIN, at("2026-03-28T12:00:00+01:00"))
    days = [next(spring) for _ in range(2)]
    assert [local(day) for day in days] == [
        "2026-03-29T03:00:00+02:00",  # 02:30 does not exist that night: the next minute that does
        "2026-03-30T02:30:00+02:00",
    ]


def test_the_next_fire_time_after_the_second_pass_of_a_repeated_hour_is_the_next_day() -> None:
    # 02:40 CET is the second 02:40 of the autumn night; 02:30 CEST lies behind it
    after = datetime(2026, 10, 25, 2, 40, tzinfo=ZoneInfo(BERLIN), fold=1)
    assert local(next_fire("30 2 * * *", BERLIN, after)) == "2026-10-26T02:30:00+01:00"


def test_bad_cron_expressions_and_zones_are_refused_in_words() -> None:
    with pytest.raises(ParameterError, match="five fields"):
        check_cron("* * *")
    with pytest.raises(ParameterError, match="invalid"):
        check_cron("61 * * * *")
    with pytest.raises(ParameterError, match="unknown time zone"):
        check_cron("* * * * *", "Mars/Olympus")
    assert parse_age("7d") == 7 * 86400
    with pytest.raises(ParameterError, match="maximum age"):
        parse_age("soon")


# -- firing ----------------------------------------------------------------------------


def make(store: ScheduleStore, created: datetime, **kwargs: Any) -> Any:
    return add_schedule(
        store,
        name=kwargs.pop("name", "hourly"),
        cron=kwargs.pop("cron", "0 * * * *"),
        model=kwargs.pop("model", "btc-hourly"),
        spec=kwargs.pop("spec", FAST),
        clock=created,
        **kwargs,
    )


def scheduled_jobs(store: ScheduleStore) -> list[Any]:
    jobs, _ = JobStore(store.database).list(limit=1000)
    return [job for job in jobs if job.kind == SCHEDULED_KIND]


def test_an_on_time_fire_time_queues_one_ordinary_job(store: ScheduleStore, settings: Any) -> None:
    schedule = make(store, at("2026-12-01T09:10:00+00:00"))
    assert schedule.next_run_at == at("2026-12-01T10:00:00+00:00")
    assert tick(store, settings, at("2026-12-01T09:59:59+00:00")) == []
    (run,) = tick(store, settings, at("2026-12-01T10:00:02+00:00"))
    assert (run.trigger, run.status, run.fire_time) == ("cron", "queued", schedule.next_run_at)
    (job,) = scheduled_jobs(store)
    assert job.id == run.job_id
    assert job.status == "queued"
    assert JobStore(store.database).get(job.id).request["schedule"] == "hourly"
    assert store.get("hourly").next_run_at == at("2026-12-01T11:00:00+00:00")
    assert tick(store, settings, at("2026-12-01T10:00:30+00:00")) == []  # handled once


def test_racing_schedulers_create_one_run_per_fire_time(settings: Settings) -> None:
    first = ScheduleStore(open_database(settings))
    make(first, at("2026-12-01T09:10:00+00:00"))
    stores = [ScheduleStore(open_database(settings)) for _ in range(6)]  # six "servers"
    moment = at("2026-12-01T10:00:01+00:00")
    barrier = threading.Barrier(len(stores))
    written: list[Any] = []

    def race(store: ScheduleStore) -> None:
        barrier.wait()
        written.extend(tick(store, settings, moment))

    threads = [threading.Thread(target=race, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(written) == 1
    assert len(scheduled_jobs(first)) == 1
    assert len(first.runs(first.get("hourly").id)) == 1


def test_a_stale_reader_of_the_schedule_changes_nothing(
    store: ScheduleStore, settings: Any
) -> None:
    schedule = make(store, at("2026-12-01T09:10:00+00:00"))
    tick(store, settings, at("2026-12-01T10:00:01+00:00"))
    from ssots.store.schedules import Firing

    # a scheduler that read the schedule before the first one advanced it
    again = store.fire(schedule, Firing(schedule.next_run_at, "cron"), None, None)
    assert again is None
    assert len(scheduled_jobs(store)) == 1


def test_downtime_with_run_once_runs_once_for_the_missed_times(
    store: ScheduleStore, settings: Settings
) -> None:
    make(store, at("2026-12-01T09:10:00+00:00"), misfire="run-once")
    # the server was down from 09:30 to 10:05: the 10:00 fire time is late
    (run,) = tick(store, settings, at("2026-12-01T10:05:00+00:00"))
    assert (run.trigger, run.status, run.missed) == ("catch-up", "queued", 0)
    assert len(scheduled_jobs(store)) == 1
    assert store.get("hourly").next_run_at == at("2026-12-01T11:00:00+00:00")
    assert tick(store, settings, at("2026-12-01T10:06:00+00:00")) == []  # a restart again
    # three hours down: one run (at the latest), two fire times reported missed
    (run,) = tick(store, settings, at("2026-12-01T13:20:00+00:00"))
    assert (run.trigger, run.fire_time, run.missed) == ("catch-up", at("2026-12-01T13:00Z"), 2)
    (event,) = WebhookStore(store.database, settings).events(event_type="schedule.run_missed")
    assert event["data"]["missed"] == 2
    assert event["data"]["ran"] is True
    assert len(scheduled_jobs(store)) == 2


def test_downtime_with_skip_runs_nothing_and_reports_the_missed_times(
    store: ScheduleStore, settings: Settings
) -> None:
    make(store, at("2026-12-01T09:10:00+00:00"), misfire="skip")
    (run,) = tick(store, settings, at("2026-12-01T12:05:00+00:00"))  # 10, 11 and 12 late
    assert (run.trigger, run.status, run.job_id, run.missed) == ("missed", "missed", None, 3)
    assert scheduled_jobs(store) == []
    (event,) = WebhookStore(store.database, settings).events(event_type="schedule.run_missed")
    assert event["data"] == {
        "schedule": "hourly",
        "schedule_id": run.schedule_id,
        "missed": 3,
        "first": "2026-12-01T10:00:00+00:00",
        "last": "2026-12-01T12:00:00+00:00",
        "misfire": "skip",
        "ran": False,
    }
    assert store.get("hourly").next_run_at == at("2026-12-01T13:00:00+00:00")
    (run,) = tick(store, settings, at("2026-12-01T13:00:05+00:00"))  # on time again: runs
    assert run.trigger == "cron"
    assert len(scheduled_jobs(store)) == 1


def test_a_late_time_and_an_on_time_one_run_once_and_report_the_late(
    store: ScheduleStore, settings: Settings
) -> None:
    make(store, at("2026-12-01T09:10:00+00:00"), cron="*/5 * * * *", misfire="run-once")
    runs = tick(store, settings, at("2026-12-01T09:20:10+00:00"))  # 09:15 late, 09:20 on time
    assert [(r.trigger, r.status, r.missed) for r in runs] == [
        ("missed", "missed", 1),
        ("cron", "queued", 0),
    ]
    assert len(scheduled_jobs(store)) == 1


def test_paused_schedules_do_not_fire_and_resume_from_the_next_time(
    store: ScheduleStore, settings: Settings
) -> None:
    make(store, at("2026-12-01T09:10:00+00:00"))
    set_enabled(store, "hourly", False, clock=at("2026-12-01T09:20:00+00:00"))
    assert tick(store, settings, at("2026-12-01T12:00:01+00:00")) == []
    resumed = set_enabled(store, "hourly", True, clock=at("2026-12-01T12:30:00+00:00"))
    assert resumed.next_run_at == at("2026-12-01T13:00:00+00:00")
    assert tick(store, settings, at("2026-12-01T12:31:00+00:00")) == []


def test_names_files_and_policies_are_checked(store: ScheduleStore, tmp_path: Path) -> None:
    prices = tmp_path / "prices.csv"
    prices.write_text("time,open,high,low,close,volume\n")
    make(store, at("2026-12-01T09:10:00+00:00"))
    with pytest.raises(ConflictError, match="already named"):
        make(store, at("2026-12-01T09:10:00+00:00"))
    with pytest.raises(ParameterError, match="misfire"):
        make(store, at("2026-12-01T09:10:00+00:00"), name="x", misfire="later")
    with pytest.raises(ConflictError, match="local file"):
        make(store, at("2026-12-01T09:10:00+00:00"), name="y", spec=RunSpec(dataset=str(prices)))
    with pytest.raises(ParameterError, match="metric"):
        make(store, at("2026-12-01T09:10:00+00:00"), name="z", promotion={"metric": "luck"})


# -- promotion -------------------------------------------------------------------------


def test_decide_uses_the_metric_beyond_the_margin_then_the_tie_break() -> None:
    rule = {"metric": "rank_ic", "tie_break": "q_filtered_sharpe", "margin": 0.01}

    def comparison(rank: tuple[float, float], sharpe: tuple[Any, Any]) -> dict[str, Any]:
        return {
            "challenger": {"rank_ic": rank[0], "q_filtered_sharpe": sharpe[0]},
            "champion": {"rank_ic": rank[1], "q_filtered_sharpe": sharpe[1]},
        }

    assert decide(comparison((0.10, 0.05), (0.0, 1.0)), rule)["promote"] is True
    assert decide(comparison((0.05, 0.10), (2.0, 1.0)), rule)["promote"] is False
    within = decide(comparison((0.105, 0.10), (1.2, 1.0)), rule)
    assert (within["promote"], within["by"]) == (True, "q_filtered_sharpe")
    assert decide(comparison((0.105, 0.10), (0.9, 1.0)), rule)["promote"] is False
    assert decide(comparison((0.105, 0.10), (None, 1.0)), rule)["promote"] is False
    lower = {"metric": "mse", "tie_break": "rank_ic", "margin": 0.0}
    better_mse = {"challenger": {"mse": 0.1, "rank_ic": 0}, "champion": {"mse": 0.2, "rank_ic": 0}}
    assert decide(better_mse, lower)["promote"] is True


def train_scheduled(store: ScheduleStore, settings: Settings, key: str) -> Any:
    """Queue a run of schedule ``key`` now and run its job in this process."""
    run = run_now(store, key)
    jobs = JobStore(store.database)
    attempt = jobs.claim_next()
    assert attempt is not None
    assert attempt.job_id == run.job_id
    assert worker.execute(attempt, jobs, settings) == "succeeded"
    return run


def test_the_challenger_is_judged_on_its_own_test_block_as_in_its_run(settings: Settings) -> None:
    from ssots.artifacts import weights_document
    from ssots.services.training import train_run

    spec = RunSpec(epochs=5, demo_days=200, seed=3)
    challenger = train_run(spec, settings)
    champion = train_run(RunSpec(epochs=5, demo_days=200, seed=3, lr=0.2), settings)
    frame = resolve("demo", settings, seed=3, demo_days=200).frame
    comparison = compare_on_window(
        saved_model(weights_document(challenger)), saved_model(weights_document(champion)),
        frame, spec,
    )
    # the comparison's challenger numbers are its run's own test metrics and backtest
    assert comparison["challenger"]["rank_ic"] == pytest.approx(challenger.metrics["rank_ic"])
    assert comparison["challenger"]["q_filtered_sharpe"] == pytest.approx(
        challenger.backtest.metrics["q_filtered"]["sharpe"]
    )
    assert comparison["champion"]["rank_ic"] != comparison["challenger"]["rank_ic"]
    assert comparison["window"]["start"] == challenger.split_dates["test"]["start"]
    assert comparison["window"]["end"] == challenger.split_dates["test"]["end"]
    assert comparison["window"]["rows"] == challenger.split_sizes["test"]


def test_scheduled_runs_register_a_challenger_and_promote_by_the_rule(
    store: ScheduleStore, settings: Settings
) -> None:
    make(store, at("2026-12-01T09:10:00+00:00"), model="btc", promotion={"margin": 0.0})
    models = ModelRegistry(store.database)
    train_scheduled(store, settings, "hourly")
    assert settle(store, settings) == 1
    first = store.runs(store.get("hourly").id)[0]
    assert first.status == "succeeded"
    assert first.decision["promote"] is True
    assert "no champion yet" in first.decision["why"]
    assert models.get_model("btc").aliases == {"challenger": 1, "champion": 1}
    assert settle(store, settings) == 0  # settled once

    # the next run trains other parameters (another learning rate): a real comparison
    store.update(store.get("hourly").id, spec={**FAST.model_dump(mode="json"), "lr": 0.3})
    train_scheduled(store, settings, "hourly")
    settle(store, settings)
    second = store.runs(store.get("hourly").id)[0]
    decision = second.decision
    assert decision["challenger"] == 2
    assert decision["champion"] == 1
    numbers = decision["comparison"]
    assert set(numbers) == {"window", "challenger", "champion"}
    expected = numbers["challenger"]["rank_ic"] > numbers["champion"]["rank_ic"]
    assert decision["promote"] is expected
    aliases = models.get_model("btc").aliases
    assert aliases["challenger"] == 2
    assert aliases["champion"] == (2 if expected else 1)
    moves = models.history("btc", "challenger")
    assert moves[-1].who == "schedule:hourly"
    assert f"rank_ic {numbers['challenger']['rank_ic']:.4f} vs" in moves[-1].reason
    assert numbers["window"]["start"] in moves[-1].reason


def test_a_failed_scheduled_job_is_settled_as_failed(store: ScheduleStore, settings: Any) -> None:
    make(store, at("2026-12-01T09:10:00+00:00"), spec=RunSpec(dataset="no-such-dataset"))
    train = run_now(store, "hourly")
    jobs = JobStore(store.database)
    attempt = jobs.claim_next()
    assert worker.execute(attempt, jobs, settings) == "failed"
    settle(store, settings)
    assert store.run(train.id).status == "failed"


def test_a_champion_older_than_the_maximum_age_is_reported_stale_once(
    store: ScheduleStore, settings: Settings
) -> None:
    from ssots.services.schedules import check_stale

    make(store, at("2026-12-01T09:10:00+00:00"), model="btc", max_age="1h")
    train_scheduled(store, settings, "hourly")
    settle(store, settings)
    later = datetime.now(UTC) + timedelta(hours=2)
    assert check_stale(store, settings, datetime.now(UTC)) == 0
    assert check_stale(store, settings, later) == 1
    assert check_stale(store, settings, later) == 0
    (event,) = WebhookStore(store.database, settings).events(event_type="model.stale")
    assert event["data"]["model"] == "btc"
    assert event["data"]["version"] == 1


def test_a_kaggle_schedule_fetches_again_and_trains_on_the_new_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, real_data_dir: Path
) -> None:
    from fake_kaggle import CLEARED_VARIABLES, FakeDataset, FakeKaggle, environment
    from ssots.data.sources import kaggle
    from ssots.data.sources.kaggle import client
    from ssots.store.runs import RunStore

    bitcoin = (real_data_dir / "kaggle_coin_Bitcoin.csv").read_bytes().decode().splitlines()
    handle = "someone/growing-bitcoin"
    server = FakeKaggle().start()
    server.add(FakeDataset(handle, {"coin_Bitcoin.csv": "\n".join(bitcoin[:1200]).encode()}))
    for name in CLEARED_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in environment(server, tmp_path).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(client, "DEFAULT_RETRY", kaggle.RetryPolicy(
        attempts=2, base_delay=0.01, max_delay=0.05, timeout=(5.0, 5.0)))
    try:
        settings = Settings.from_env()
        store = ScheduleStore(open_database(settings))
        spec = RunSpec(dataset=f"kaggle:{handle}/coin_Bitcoin.csv", epochs=5)
        make(store, at("2026-12-01T09:10:00+00:00"), spec=spec)
        train_scheduled(store, settings, "hourly")
        server.add(FakeDataset(handle, {"coin_Bitcoin.csv": "\n".join(bitcoin).encode()},
                               version=3))  # the dataset grew upstream
        train_scheduled(store, settings, "hourly")
        runs, _ = RunStore(store.database).list()
        first, second = sorted(runs, key=lambda run: run.created_at)
        assert first.dataset_end < second.dataset_end  # the second run saw the new rows
        assert first.dataset_fingerprint != second.dataset_fingerprint
    finally:
        server.stop()
