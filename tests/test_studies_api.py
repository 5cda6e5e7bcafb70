"""``/api/studies`` (issue 14): a study through the API with its trials, figures, live
events and "register best"; refusals in words; and the restart after a ``kill -9`` of the
server mid-study."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from ssots.spec import JobStatus
from ssots.store import open_database
from ssots.store.jobs import JobStore
from ssots.web import create_app
from web_support import Server, TestClient, make_settings, sse_events, wait_for

pytestmark = pytest.mark.usefixtures("backend")  # on SQLite and PostgreSQL

SMALL = {"trials": 3, "parallel": 2, "epochs": 30, "objective": "val_mse"}
"""A study that ends in a few seconds."""


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = make_settings(tmp_path_factory.mktemp("studies-home"))
    with TestClient(create_app(settings, workers=2)) as test_client:
        yield test_client


def _ended(client: httpx.Client | TestClient, study_id: str) -> dict[str, Any]:
    def final() -> dict[str, Any] | None:
        study = client.get(f"/api/studies/{study_id}").json()
        return study if study["status"] in ("finished", "stopped", "failed") else None

    return wait_for(final, timeout=180, every=0.2)


@pytest.fixture(scope="module")
def finished(client: TestClient) -> dict[str, Any]:
    response = client.post("/api/studies", json=SMALL)
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "running"
    return _ended(client, response.json()["id"])


def test_a_study_through_the_api_ends_with_its_one_test_evaluation(
    client: TestClient, finished: dict[str, Any]
) -> None:
    assert finished["status"] == "finished", finished["message"]
    assert finished["finished_trials"] == 3
    assert finished["test_evaluations"] == 1
    report = finished["report"]
    assert report["trials_run"] == 3
    assert report["best_trial"] == finished["best_trial"]
    trials = client.get(f"/api/studies/{finished['id']}/trials").json()["trials"]
    assert [trial["number"] for trial in trials] == [0, 1, 2]
    values = [trial["value"] for trial in trials if trial["state"] == "complete"]
    assert finished["best_value"] == min(values)  # val_mse: lower is better
    listed = client.get("/api/studies").json()
    assert finished["id"] in [study["id"] for study in listed["studies"]]
    run = client.get(f"/api/runs/{report['run_id']}").json()
    assert run["source"] == "study"
    assert run["tags"]["study"] == finished["id"]


def test_the_figures_are_optunas_plotly_json(client: TestClient, finished: dict[str, Any]) -> None:
    figures = client.get(f"/api/studies/{finished['id']}/figures").json()
    assert set(figures) == {"history", "importances", "parallel", "intermediate"}
    history = figures["history"]
    assert history["data"]
    assert "layout" in history
    assert len(history["data"][0]["x"]) == 3  # one point per trial


def test_register_best_makes_a_model_version_of_the_refitted_trial(
    client: TestClient, finished: dict[str, Any]
) -> None:
    answer = client.post(f"/api/studies/{finished['id']}/register", json={"name": "tuned"})
    assert answer.status_code == 201, answer.text
    registered = answer.json()
    assert registered["run_id"] == finished["report"]["run_id"]
    again = client.post(f"/api/studies/{finished['id']}/register", json={"name": "tuned"})
    assert again.json()["version"] == registered["version"]
    assert again.json()["created"] is False
    model = client.get("/api/models/tuned").json()
    assert "3 trials" in model["description"]


def test_events_stream_trials_then_done(client: TestClient, finished: dict[str, Any]) -> None:
    with client.stream("GET", f"/api/studies/{finished['id']}/events") as answer:
        assert answer.status_code == 200
        events = list(sse_events(answer))
    assert [event["event"] for event in events] == ["trial"] * 3 + ["done"]
    assert events[-1]["data"]["status"] == "finished"


def test_stopping_an_ended_study_answers_409(client: TestClient, finished: dict[str, Any]) -> None:
    answer = client.post(f"/api/studies/{finished['id']}/stop")
    assert answer.status_code == 409
    assert "already finished" in answer.json()["detail"]


@pytest.mark.parametrize(
    ("body", "status", "text"),
    [
        ({"objective": "val_r2"}, 422, "objective"),
        ({"trials": 0}, 422, "trials"),
        ({"strategy": "moon"}, 422, "strategy"),
        ({"dataset": "/etc/passwd"}, 422, ""),
        ({"space": {"seed": {"type": "int", "low": 1, "high": 3}}}, 422, "cannot be tuned"),
        ({"timeout": "soon"}, 422, "30m"),
        ({"unknown": 1}, 422, "unknown"),
    ],
)
def test_bad_study_requests_are_refused_and_leave_no_study(
    client: TestClient, body: dict[str, Any], status: int, text: str
) -> None:
    before = client.get("/api/studies").json()["total"]
    answer = client.post("/api/studies", json=body)
    assert answer.status_code == status, answer.text
    assert text in answer.text
    assert client.get("/api/studies").json()["total"] == before


def test_unknown_studies_answer_404(client: TestClient) -> None:
    for path in ("", "/trials", "/figures", "/events"):
        answer = client.get(f"/api/studies/{'0' * 16}{path}")
        assert answer.status_code == 404, path
        assert "no study" in answer.json()["detail"]


def test_a_stopped_study_refits_its_best_trial_so_far(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    with TestClient(create_app(settings, workers=2)) as client:
        study = client.post("/api/studies", json={**SMALL, "trials": 50}).json()
        wait_for(
            lambda: (
                client.get(f"/api/studies/{study['id']}").json()["trials"].get("complete", 0) >= 2
            ),
            timeout=120,
        )
        assert client.post(f"/api/studies/{study['id']}/stop").status_code == 202
        ended = _ended(client, study["id"])
    assert ended["status"] == "stopped"
    assert ended["test_evaluations"] == 1
    assert ended["finished_trials"] < 50


def _job_running(home: Path, job_id: str) -> bool:
    """Whether the job ``job_id`` in ``home``'s database is running (read from the
    database itself: its server is down)."""
    database = open_database(make_settings(home), migrate=False)
    try:
        return JobStore(database).get(job_id).status == JobStatus.RUNNING
    finally:
        database.engine.dispose()


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_kill_9_mid_study_then_restart_resumes_and_finishes(tmp_path: Path, backend: str) -> None:
    from test_serve import _processes_of

    home = tmp_path / "home"
    body = {"trials": 6, "parallel": 2, "epochs": 2000, "objective": "val_rank_ic", "prune": False,
            "space": {"lr": {"type": "float", "low": 0.01, "high": 0.5, "log": True},
                      "patience": {"type": "categorical", "choices": [2000]},
                      "batch_size": {"type": "categorical", "choices": [16]}}}  # fmt: skip
    with Server(home, workers=2) as server:  # (stopped if the test fails before the kill)
        study_id = server.client.post("/api/studies", json=body).json()["id"]

        def job_time(trial: dict[str, Any], key: str) -> datetime | None:
            stamp = server.client.get(f"/api/jobs/{trial['job_id']}").json()[key]
            return None if stamp is None else datetime.fromisoformat(stamp)

        def mid_study() -> list[dict[str, Any]] | None:
            # A trial of the second round has just started: the first ones run in step, so
            # "one done, two running" alone can be the instant before the other one ends.
            trials = server.client.get(f"/api/studies/{study_id}/trials").json()["trials"]
            ended = [job_time(t, "finished_at") for t in trials if t["state"] == "complete"]
            started = [job_time(t, "started_at") for t in trials if t["state"] == "running"]
            first_end = min((at for at in ended if at is not None), default=None)
            if first_end is None or not any(at is not None and at > first_end for at in started):
                return None
            return trials

        before = wait_for(mid_study, timeout=180, every=0.05)
        server.kill()
    wait_for(lambda: not _processes_of(home))  # its workers died with it
    kept = {t["number"]: t["value"] for t in before if t["state"] == "complete"}
    lost = {  # (a trial whose job ended between the last look and the kill is not lost)
        t["number"]: t["params"]
        for t in before
        if t["state"] == "running" and _job_running(home, t["job_id"])
    }
    assert lost

    with Server(home, workers=2) as restarted:
        ended = _ended(restarted.client, study_id)
        trials = restarted.client.get(f"/api/studies/{study_id}/trials").json()["trials"]
        attempts = {
            trial["number"]: restarted.client.get(f"/api/jobs/{trial['job_id']}").json()["attempts"]
            for trial in trials
        }
    assert ended["status"] == "finished", ended["message"]
    assert ended["finished_trials"] == 6
    assert ended["test_evaluations"] == 1
    by_number = {trial["number"]: trial for trial in trials}
    for number, value in kept.items():  # completed trials are kept as they were
        assert by_number[number]["state"] == "complete"
        assert by_number[number]["value"] == value
    retried = 0
    for number, params in lost.items():  # running ones failed, their settings ran again
        if backend == "postgres":  # no start-up recovery on a shared database: the
            # lease expired and the reaper queued the trial's job again, as the same trial
            assert by_number[number]["state"] in ("complete", "pruned")
            retried += attempts[number] == 2
            continue
        assert by_number[number]["state"] == "fail"
        assert by_number[number]["retried"] is True
        (retry,) = [trial for trial in trials if trial["retry_of"] == number]
        assert retry["params"] == params
        assert retry["state"] in ("complete", "pruned")
        retried += 1
    assert retried == len(lost)
    counted = [trial for trial in trials if not trial["retried"]]
    assert sum(trial["state"] in ("complete", "pruned") for trial in counted) == 6


# -- the study page in a browser -----------------------------------------------------


def test_the_study_pages_link_their_scripts(client: TestClient, finished: dict[str, Any]) -> None:
    import re

    for path, script in (("/studies", "studies.js"), (f"/studies/{finished['id']}", "study.js")):
        html = client.get(path).text
        sources = re.findall(r'<script[^>]+src="([^"]+)"', html)
        assert f"/static/js/{script}" in sources
        for source in sources:
            assert client.get(source).status_code == 200, source
        assert 'href="/studies" aria-current="page"' in html
    assert client.get("/studies/not-a-study").status_code == 404
