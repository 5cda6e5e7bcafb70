"""Schedules and webhooks in a running app: the one real-time check (a ``* * * * *``
schedule on demo data produces a run within 70 s, registers a challenger and records a
promotion decision, and a webhook receiver gets the events), the scheduler's loop with an
injected clock across a restart, and the CLI's commands."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ssots.cli import app as cli_app
from ssots.jobs.scheduler import Scheduler
from ssots.services.schedules import add_schedule
from ssots.spec import RunSpec
from ssots.store import open_database
from ssots.store.schedules import ScheduleStore
from ssots.web.app import create_app
from test_webhooks import Receiver
from web_support import TestClient, make_settings

runner = CliRunner()


@pytest.mark.slow
def test_an_every_minute_schedule_runs_registers_a_challenger_and_decides(
    tmp_path: Path,
) -> None:
    receiver = Receiver()
    settings = make_settings(
        tmp_path / "home", webhook_allow_private=True, webhook_retry_scale=0.01
    )
    app = create_app(settings, workers=1)
    with TestClient(app) as client:
        hook = client.post(
            "/api/webhooks",
            json={
                "url": receiver.url,
                "events": ["job.succeeded", "model.version_created", "model.alias_moved"],
            },
        ).json()
        created = client.post(
            "/api/schedules",
            json={
                "name": "every-minute",
                "cron": "* * * * *",
                "model": "demo-minute",
                "spec": {"dataset": "demo", "epochs": 5, "demo_days": 200},
            },
        )
        assert created.status_code == 201, created.text
        schedule = created.json()
        assert len(schedule["next_fire_times"]) == 5
        started = time.monotonic()
        deadline = started + 70 + 60  # the fire time within 70 s, then the training itself
        detail: dict[str, Any] = {}
        while time.monotonic() < deadline:
            detail = client.get(f"/api/schedules/{schedule['id']}").json()
            if detail["runs"] and detail["runs"][-1]["status"] == "succeeded":
                break
            time.sleep(0.5)
        run = detail["runs"][-1]
        assert run["status"] == "succeeded", detail
        assert run["trigger"] == "cron"
        fired = datetime.fromisoformat(run["fire_time"])
        assert (fired - datetime.fromisoformat(schedule["created_at"])).total_seconds() <= 70
        assert run["decision"]["promote"] is True  # the first version: no champion yet
        model = client.get("/api/models/demo-minute").json()
        assert model["aliases"] == {"challenger": 1, "champion": 1}
        history = client.get("/api/models/demo-minute/aliases/challenger/history").json()
        assert "schedule every-minute" in history["history"][-1]["reason"]

        def types() -> list[str]:
            return sorted(p["type"] for p in receiver.verified(hook["secret"]))

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(types()) < 4:
            time.sleep(0.2)
        assert types() == [
            "job.succeeded", "model.alias_moved", "model.alias_moved", "model.version_created"
        ]
    receiver.close()


def test_the_scheduler_loop_catches_up_once_after_a_restart(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "home")
    database = open_database(settings)
    store = ScheduleStore(database)
    add_schedule(
        store, name="hourly", cron="0 * * * *", model="m", spec=RunSpec(epochs=5),
        clock=datetime(2026, 12, 1, 9, 10, tzinfo=UTC),
    )
    woken = []
    clock = [datetime(2026, 12, 1, 9, 59, 30, tzinfo=UTC)]
    first = Scheduler(settings, database, clock=lambda: clock[0], on_fire=lambda: woken.append(1))
    first.tick()  # before the fire time; then the server stops across 10:00
    assert store.runs(1) == []
    clock[0] = datetime(2026, 12, 1, 10, 7, tzinfo=UTC)
    restarted = [
        Scheduler(settings, open_database(settings), clock=lambda: clock[0]) for _ in range(2)
    ]
    for scheduler in restarted:  # two servers come back at once
        scheduler.tick()
    (run,) = store.runs(1)
    assert (run.trigger, run.fire_time.hour) == ("catch-up", 10)
    first.tick()
    assert woken == []  # the first server queued nothing itself
    assert len(store.runs(1)) == 1


def test_the_api_refuses_a_file_dataset_and_bad_cron_in_words(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path / "home"), workers=0)
    body = {"name": "s", "cron": "0 3 * * *", "model": "m"}
    prices = tmp_path / "prices.csv"
    prices.write_text("time,open,high,low,close,volume\n")
    with TestClient(app) as client:
        server_file = client.post("/api/schedules", json={**body, "spec": {"dataset": str(prices)}})
        assert server_file.status_code == 409
        assert "local file" in server_file.json()["detail"]
        bad = client.post("/api/schedules", json={**body, "cron": "0 3 * *  x"})
        assert bad.status_code == 422
        assert "cron" in bad.json()["detail"]
        zone = client.post("/api/schedules", json={**body, "timezone": "Nowhere/City"})
        assert zone.status_code == 422
        spec = client.post("/api/schedules", json={**body, "spec": {"epochs": -3}})
        assert spec.status_code == 422
        ok = client.post("/api/schedules", json={**body, "timezone": "Europe/Berlin"})
        assert ok.status_code == 201, ok.text
        assert client.post("/api/schedules", json=body).status_code == 409
        paused = client.patch("/api/schedules/s", json={"enabled": False}).json()
        assert (paused["enabled"], paused["next_fire_times"]) == (False, [])
        resumed = client.patch("/api/schedules/s", json={"enabled": True, "cron": "0 4 * * *"})
        assert resumed.json()["next_fire_times"][0].endswith("03:00:00+00:00")  # 04:00 CET
        queued = client.post("/api/schedules/s/run")
        assert queued.status_code == 202
        assert queued.json()["trigger"] == "manual"
        assert client.get("/api/schedules/s").json()["runs"][0]["job_id"]
        assert client.delete("/api/schedules/s").status_code == 204
        assert client.get("/api/schedules/s").status_code == 404


def test_the_cli_manages_schedules_and_webhooks(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("SSOTS_HOME", str(tmp_path / "home"))
    added = runner.invoke(
        cli_app,
        ["schedules", "add", "nightly", "--cron", "30 2 * * *", "--tz", "Europe/Berlin",
         "--model", "btc-daily", "--dataset", "demo", "--epochs", "5"],
    )
    assert added.exit_code == 0, added.output
    assert "02:30:00+01:00" in added.output
    shown = runner.invoke(cli_app, ["schedules", "show", "nightly"])
    assert "rank_ic" in shown.output
    assert runner.invoke(cli_app, ["schedules", "pause", "nightly"]).exit_code == 0
    assert "paused" in runner.invoke(cli_app, ["schedules", "list"]).output
    assert runner.invoke(cli_app, ["schedules", "resume", "nightly"]).exit_code == 0
    queued = runner.invoke(cli_app, ["schedules", "run-now", "nightly"])
    assert "queued job" in queued.output
    bad = runner.invoke(cli_app, ["schedules", "add", "x", "--cron", "nope", "--model", "m"])
    assert bad.exit_code == 2
    assert "five fields" in bad.output
    assert "Traceback" not in bad.output
    refused = runner.invoke(
        cli_app, ["webhooks", "add", "http://127.0.0.1:9/x", "--event", "job.failed"]
    )
    assert refused.exit_code == 2
    assert "private or loopback" in refused.output
    made = runner.invoke(
        cli_app,
        ["webhooks", "add", "http://127.0.0.1:9/x", "--event", "job.failed",
         "--allow-private-targets"],
    )
    assert made.exit_code == 0, made.output
    secret = made.output.split("secret: ")[1].split()[0]
    listed = runner.invoke(cli_app, ["webhooks", "list", "--json"])
    assert secret not in listed.output
    assert runner.invoke(cli_app, ["schedules", "delete", "nightly"]).exit_code == 0
