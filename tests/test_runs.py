"""Tracked runs: the store (filter, sort, pages, edits), ``ssots train`` recording its run,
``ssots runs``, the job worker's run and ``/api/runs``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from conftest import REAL_DATA_DIR
from ssots.cli import app
from ssots.config import Settings
from ssots.data import demo, load
from ssots.errors import ConflictError, ParameterError
from ssots.services.datasets import frame_sha256
from ssots.services.runs import record_run
from ssots.services.training import train_run
from ssots.spec import RunSpec
from ssots.store import open_database
from ssots.store.runs import RunNotFoundError, RunStore
from web_support import TestClient, home_env, make_settings, wait_finished

runner = CliRunner()
FAST = ("--epochs", "5", "--demo-days", "200")
pytestmark = pytest.mark.usefixtures("backend")  # on SQLite and PostgreSQL


def _env(home: Path) -> dict[str, str]:
    return {**home_env(home), "COLUMNS": "200"}


def _ok(home: Path, *args: str) -> str:
    result = runner.invoke(app, list(args), env=_env(home))
    assert result.exit_code == 0, result.output
    return result.stdout


def _runs(home: Path, *args: str) -> list[dict[str, Any]]:
    return json.loads(_ok(home, "runs", "list", "--json", *args))["runs"]


@pytest.fixture(scope="module")
def results() -> dict[str, Any]:
    """Two trained runs on the demo (different strategies), for store tests."""
    from ssots.artifacts import weights_document

    settings = Settings.from_env({"SSOTS_HOME": "/nonexistent-home"})
    out = {}
    for strategy in ("momentum-cross", "rsi-enhanced"):
        result = train_run(RunSpec(epochs=5, demo_days=200, strategy=strategy), settings)
        out[strategy] = (result, weights_document(result))
    return out


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    return RunStore(open_database(make_settings(tmp_path)))


def test_fingerprint_is_the_canonical_frames_digest() -> None:
    frame = demo(days=100, seed=1)
    assert frame_sha256(frame) == frame_sha256(frame.copy())
    assert frame_sha256(frame) != frame_sha256(demo(days=100, seed=2))
    real, _ = load(REAL_DATA_DIR / "yahoo_BTC-USD_daily.csv")
    assert len(frame_sha256(real)) == 64


def test_store_create_filter_sort_page_update_delete(
    store: RunStore, results: dict[str, Any]
) -> None:
    momentum, rsi = results["momentum-cross"], results["rsi-enhanced"]
    a = record_run(store, *momentum, source="cli", tags={"team": "a"})
    b = record_run(store, *rsi, source="job", job_id="0" * 16, tags={"team": "b"})
    assert a.name != b.name
    assert a.id != b.id
    assert a.dataset_fingerprint == momentum[1]["data"]["fingerprint"]
    assert a.dataset_fingerprint == frame_sha256(demo(days=200))
    assert a.weights["parameters"] == momentum[1]["parameters"]
    assert a.history == momentum[1]["history"]
    assert a.spec["strategy"] == "momentum-cross"
    assert store.get(a.name).id == a.id

    assert [r.id for r in store.list(tags={"team": "b"})[0]] == [b.id]
    assert [r.id for r in store.list(source="cli")[0]] == [a.id]
    assert store.list(dataset=a.dataset_name)[1] == 2
    assert store.list(dataset="nothing")[1] == 0
    by_ic = [r.id for r in store.list(sort="rank_ic")[0]]
    expected = sorted([a, b], key=lambda r: -r.metrics["rank_ic"])
    assert by_ic == [r.id for r in expected]
    assert [r.id for r in store.list(sort="rank_ic", descending=False)[0]] == by_ic[::-1]
    page, total = store.list(limit=1, offset=1)
    assert total == 2
    assert len(page) == 1
    assert page[0].id == a.id
    with pytest.raises(ParameterError, match="sort"):
        store.list(sort="drop table")

    renamed = store.update(a.id, name="my-run", tags={"team": None, "x": "1"}, notes="hi")
    assert (renamed.name, renamed.tags, renamed.notes) == ("my-run", {"x": "1"}, "hi")
    with pytest.raises(ConflictError, match="already named"):
        store.update(b.id, name="my-run")
    with pytest.raises(ParameterError):
        store.update(b.id, name="bad name!")
    store.delete("my-run")
    with pytest.raises(RunNotFoundError):
        store.get(a.id)
    assert store.list()[1] == 1


def test_train_records_its_run_unless_no_track(tmp_path: Path) -> None:
    home = tmp_path / "home"
    out = _ok(home, "train", *FAST, "--output", str(tmp_path / "w.json"), "--tag", "team=x")
    assert "recorded" in out
    untracked = tmp_path / "u.json"
    _ok(home, "train", *FAST, "--output", str(untracked), "--no-track")
    runs = _runs(home)
    assert len(runs) == 1
    run = runs[0]
    assert run["tags"] == {"team": "x"}
    assert run["source"] == "cli"
    document = json.loads((tmp_path / "w.json").read_text())
    shown = json.loads(_ok(home, "runs", "show", run["id"], "--json"))
    assert shown["weights"]["parameters"] == document["parameters"]
    assert shown["dataset"]["fingerprint"] == document["data"]["fingerprint"]
    assert shown["spec"]["epochs"] == 5


def test_runs_commands(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _ok(home, "train", *FAST, "--output", str(tmp_path / "w.json"), "--name", "first")
    assert "first" in _ok(home, "runs", "list", "--sort", "rank_ic")
    _ok(home, "runs", "tag", "first", "team=research", "stage=try")
    _ok(home, "runs", "tag", "first", "stage=")
    _ok(home, "runs", "note", "first", "looks promising")
    shown = json.loads(_ok(home, "runs", "show", "first", "--json"))
    assert shown["tags"] == {"team": "research"}
    assert shown["notes"] == "looks promising"
    assert [r["name"] for r in _runs(home, "--tag", "team=research")] == ["first"]
    assert _runs(home, "--tag", "team=other") == []
    assert "epochs" in _ok(home, "runs", "show", "first")

    rerun = _ok(home, "runs", "rerun", "first")
    assert "rerun of first" in rerun
    runs = _runs(home)
    assert len(runs) == 2
    again = next(r for r in runs if r["name"] != "first")
    assert again["tags"] == {"rerun_of": shown["id"]}
    assert again["metrics"] == pytest.approx(shown["metrics"])  # same spec, same seed

    _ok(home, "runs", "delete", "first")
    assert [r["name"] for r in _runs(home)] == [again["name"]]
    missing = runner.invoke(app, ["runs", "show", "first"], env=_env(home))
    assert missing.exit_code == 2
    assert "no run" in missing.output
    bad = runner.invoke(app, ["runs", "list", "--tag", "novalue"], env=_env(home))
    assert bad.exit_code == 2
    assert "key=value" in bad.output


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, backend: str) -> Iterator[TestClient]:
    app_ = __import__("ssots.web.app", fromlist=["create_app"]).create_app(
        make_settings(tmp_path_factory.mktemp("runs-api")), workers=1
    )
    with TestClient(app_) as test_client:
        yield test_client


def _job_run(client: TestClient, **fields: Any) -> dict[str, Any]:
    response = client.post("/api/train", json={"demoDays": 200, "epochs": 5, **fields})
    assert response.status_code == 202, response.text
    job_id = response.json()["jobId"]
    assert wait_finished(client, job_id)["status"] == "success"
    runs = client.get("/api/runs", params={"source": "job"}).json()["runs"]
    return next(r for r in runs if r["job_id"] == job_id)


def test_api_runs(client: TestClient) -> None:
    first = _job_run(client)
    second = _job_run(client, strategy="rsi-enhanced")
    listed = client.get("/api/runs", params={"sort": "rank_ic", "order": "asc"}).json()
    assert listed["total"] >= 2
    values = [r["metrics"]["rank_ic"] for r in listed["runs"]]
    assert values == sorted(values)
    page = client.get("/api/runs", params={"limit": 1, "offset": 1}).json()
    assert len(page["runs"]) == 1
    assert page["runs"][0]["id"] == first["id"]

    detail = client.get(f"/api/runs/{second['id']}").json()
    assert detail["spec"]["strategy"] == "rsi-enhanced"
    assert "path" not in detail["weights"]["data"]
    assert len(detail["history"]) >= 1

    patched = client.patch(
        f"/api/runs/{first['id']}", json={"name": "api-run", "tags": {"k": "v"}, "notes": "n"}
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"] == "api-run"
    assert patched.json()["tags"] == {"k": "v"}
    assert client.get("/api/runs", params={"tag": "k=v"}).json()["total"] == 1
    taken = client.patch(f"/api/runs/{second['id']}", json={"name": "api-run"})
    assert taken.status_code == 409
    assert client.get("/api/runs", params={"tag": "novalue"}).status_code == 422
    assert client.get("/api/runs", params={"sort": "x;y"}).status_code == 422

    rerun = client.post("/api/runs/api-run/rerun")
    assert rerun.status_code == 202, rerun.text
    job_id = rerun.json()["job_id"]
    assert wait_finished(client, job_id)["status"] == "success"
    runs = client.get("/api/runs", params={"limit": 500}).json()["runs"]
    again = next(r for r in runs if r["job_id"] == job_id)
    assert again["metrics"] == pytest.approx(first["metrics"])

    assert client.delete("/api/runs/api-run").status_code == 204
    assert client.get("/api/runs/api-run").status_code == 404
    assert client.post("/api/runs/nothing-here/rerun").status_code == 404


def test_compare_marks_the_best_and_warns_on_different_data(
    store: RunStore, results: dict[str, Any]
) -> None:
    from ssots.services.compare import comparable_run, compare

    a = record_run(store, *results["momentum-cross"], source="cli")
    b = record_run(store, *results["rsi-enhanced"], source="cli")
    seen = compare([comparable_run(a), comparable_run(b)])
    assert seen["spec"] == {"strategy": ["momentum-cross", "rsi-enhanced"]}
    assert "epochs" in compare([comparable_run(a), comparable_run(b)], all_fields=True)["spec"]
    for metric, row in seen["metrics"].items():
        values = row["values"]
        if values[0] == values[1]:
            assert row["best"] is None
        else:
            better = min if metric in ("mse", "mae", "rmse") else max
            assert values[row["best"]] == better(values), metric
    for name, row in seen["parameters"].items():
        assert row["deltas"][0] == 0.0
        assert row["deltas"][1] == pytest.approx(b.weights["parameters"][name]
                                                 - a.weights["parameters"][name])
    assert [len(h["points"]) for h in seen["histories"]] == [len(a.history), len(b.history)]
    curves = seen["equity"]
    assert curves[0]["q_filtered"] == a.backtest["equity"]["q_filtered"]
    assert len(curves[1]["times"]) == len(curves[1]["q_filtered"]) > 1
    assert seen["different_data"] is False
    assert seen["warnings"] == []

    other = train_run(RunSpec(epochs=5, demo_days=250), Settings.from_env({}))
    from ssots.artifacts import weights_document

    c = record_run(store, other, weights_document(other), source="cli")
    mixed = compare([comparable_run(a), comparable_run(c)])
    assert mixed["different_data"] is True
    assert "different data" in mixed["warnings"][0]
    with pytest.raises(ParameterError, match="compare 2 to 10"):
        compare([comparable_run(a)])


def test_cli_and_api_compare(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _ok(home, "train", *FAST, "--output", str(tmp_path / "a.json"), "--name", "a")
    _ok(home, "train", *FAST, "--output", str(tmp_path / "b.json"), "--name", "b",
        "--strategy", "rsi-enhanced")
    shown = _ok(home, "runs", "compare", "a", "b")
    assert "strategy" in shown
    assert "rank_ic" in shown
    assert "*" in shown
    as_json = json.loads(_ok(home, "runs", "compare", "a", "b", "--json"))
    assert as_json["spec"]["strategy"] == ["momentum-cross", "rsi-enhanced"]
    assert runner.invoke(app, ["runs", "compare", "a"], env=_env(home)).exit_code == 2

    from ssots.web.app import create_app

    with TestClient(create_app(make_settings(home), workers=0)) as api:
        answer = api.get("/api/runs/compare", params={"ids": "a,b"})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["spec"] == as_json["spec"]
        assert body["metrics"] == as_json["metrics"]
        assert len(body["equity"][0]["q_filtered"]) > 1
        assert body["different_data"] is False
        assert api.get("/api/runs/compare", params={"ids": "a"}).status_code == 422
        assert api.get("/api/runs/compare", params={"ids": "a,zzz"}).status_code == 404
        assert api.patch("/api/runs/a", json={"name": "compare"}).status_code == 422
