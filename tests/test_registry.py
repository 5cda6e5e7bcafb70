"""The model registry: versions (deduplicated by content), aliases with history, rollback
and resolution in time, the delete refusal, alias races, ``models:/`` URIs in score /
backtest / export, export and import, the CLI and ``/api/models`` with scoring."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ssots.artifacts import legacy_omega, weights_document
from ssots.cli import app
from ssots.config import Settings
from ssots.data import demo
from ssots.errors import ConflictError, NotFoundError, ParameterError
from ssots.services.models import (
    export_version,
    import_version,
    parse_model_uri,
    register_run,
    resolve_version,
    resolve_weights,
    rows_frame,
)
from ssots.services.runs import record_run
from ssots.services.training import train_run
from ssots.spec import RunSpec
from ssots.store import open_database
from ssots.store.registry import ModelRegistry
from ssots.store.runs import RunStore
from ssots.web.app import create_app
from web_support import TestClient, home_env, make_settings

runner = CliRunner()
pytestmark = pytest.mark.usefixtures("backend")  # on SQLite and PostgreSQL


@pytest.fixture(scope="module")
def trained() -> list[tuple[Any, dict[str, Any]]]:
    """Three quick runs on the demo with different settings."""
    settings = Settings.from_env({"SSOTS_HOME": "/nonexistent-home"})
    out = []
    choices = (("momentum-cross", 0.01), ("rsi-enhanced", 0.01), ("momentum-cross", 0.2))
    for strategy, rate in choices:
        spec = RunSpec(epochs=5, demo_days=200, strategy=strategy, lr=rate)
        result = train_run(spec, settings)
        out.append((result, weights_document(result)))
    return out


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def stores(home: Path, trained: list[Any]) -> tuple[RunStore, ModelRegistry, list[Any]]:
    database = open_database(make_settings(home))
    runs = RunStore(database)
    records = [record_run(runs, *pair, source="cli") for pair in trained]
    return runs, ModelRegistry(database), records


def test_versions_are_numbered_and_identical_content_registers_once(stores: Any) -> None:
    _, models, runs = stores
    first, created = register_run(models, "btc", runs[0], description="daily BTC")
    assert (first.version, created) == (1, True)
    again, created = register_run(models, "btc", runs[0])
    assert (again.version, created) == (1, False)
    second, created = register_run(models, "btc", runs[1])
    assert (second.version, created) == (2, True)
    assert second.lineage["run_id"] == runs[1].id
    assert second.weights["parameters"] == runs[1].weights["parameters"]
    model = models.get_model("btc")
    assert (model.description, model.versions, model.latest_version) == ("daily BTC", 2, 2)
    assert [v.version for v in models.versions("btc")] == [2, 1]
    with pytest.raises(ConflictError):
        models.create_model("btc")
    with pytest.raises(ParameterError):
        models.create_model("bad name")


def test_aliases_history_rollback_and_time(stores: Any) -> None:
    _, models, runs = stores
    for run in runs:
        register_run(models, "m", run)
    models.move_alias("m", "champion", 1, who="ann", reason="first")
    before_second = datetime.now(UTC)
    time.sleep(0.02)
    models.move_alias("m", "champion", 2, who="bob", reason="better IC")
    models.move_alias("m", "champion", 3, who="bob", reason="more epochs")
    assert models.get_model("m").aliases == {"champion": 3}
    assert models.version("m", 3).aliases == ("champion",)

    back = models.rollback("m", "champion", who="ann", reason="3 is worse live")
    assert (back.kind, back.from_version, back.to_version) == ("rollback", 3, 2)
    back = models.rollback("m", "champion", who="ann")
    assert back.to_version == 1  # a second rollback goes one more step back
    with pytest.raises(ConflictError, match="no earlier version"):
        models.rollback("m", "champion", who="ann")
    history = models.history("m", "champion")
    assert [(e.from_version, e.to_version) for e in history] == [
        (None, 1), (1, 2), (2, 3), (3, 2), (2, 1)
    ]
    assert [e.who for e in history] == ["ann", "bob", "bob", "ann", "ann"]
    assert history[1].reason == "better IC"
    assert [e.seq for e in history] == sorted(e.seq for e in history)

    assert models.resolve_alias("m", "champion").version == 1
    assert models.resolve_alias("m", "champion", at=before_second).version == 1
    assert models.resolve_alias("m", "champion", at=history[2].created_at).version == 3
    with pytest.raises(NotFoundError, match="pointed to no version"):
        models.resolve_alias("m", "champion", at=datetime(2000, 1, 1, tzinfo=UTC))
    assert models.resolve_alias("m", "latest").version == 3
    with pytest.raises(ParameterError, match="virtual"):
        models.move_alias("m", "latest", 1, who="x")
    with pytest.raises(ParameterError, match="alias"):
        models.move_alias("m", "Champion!", 1, who="x")
    with pytest.raises(NotFoundError):
        models.move_alias("m", "challenger", 9, who="x")
    with pytest.raises(NotFoundError):
        models.rollback("m", "nothing", who="x")


def test_a_version_an_alias_points_to_cannot_be_deleted(stores: Any) -> None:
    _, models, runs = stores
    register_run(models, "d", runs[0])
    register_run(models, "d", runs[1])
    models.move_alias("d", "champion", 1, who="x")
    models.move_alias("d", "challenger", 1, who="x")
    with pytest.raises(ConflictError, match="@challenger, @champion points to it"):
        models.delete_version("d", 1)
    models.move_alias("d", "champion", 2, who="x")
    models.move_alias("d", "challenger", 2, who="x")
    models.delete_version("d", 1)
    assert [v.version for v in models.versions("d")] == [2]
    with pytest.raises(NotFoundError):
        models.delete_version("d", 1)


def test_concurrent_alias_moves_are_all_recorded_in_order(home: Path, stores: Any) -> None:
    _, models, runs = stores
    for run in runs:
        register_run(models, "race", run)
    moves_each = 15
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)

    def mover(version: int) -> None:
        try:
            # each thread its own engine and connections (already migrated)
            own = ModelRegistry(open_database(make_settings(home), migrate=False))
            barrier.wait(timeout=60)
            for _ in range(moves_each):
                own.move_alias("race", "champion", version, who=f"t{version}")
        except BaseException as exc:  # pragma: no cover - the test fails below
            errors.append(exc)

    threads = [threading.Thread(target=mover, args=(v,)) for v in (1, 2, 3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    history = models.history("race", "champion")
    assert len(history) == 3 * moves_each
    seqs = [e.seq for e in history]
    assert seqs == sorted(set(seqs))  # distinct and in order
    assert history[0].from_version is None
    for previous, event in itertools.pairwise(history):
        assert event.from_version == previous.to_version  # each move saw the one before
    assert models.get_model("race").aliases["champion"] == history[-1].to_version


def test_model_uris_and_the_one_resolver(stores: Any, home: Path, tmp_path: Path) -> None:
    _, models, runs = stores
    register_run(models, "u", runs[0])
    register_run(models, "u", runs[1])
    models.move_alias("u", "champion", 1, who="x")
    assert parse_model_uri("models:/u/2").version == 2
    parsed = parse_model_uri("models:/u@champion?at=2026-11-01T00:00:00Z")
    assert (parsed.alias, parsed.at) == ("champion", datetime(2026, 11, 1, tzinfo=UTC))
    assert parse_model_uri("models:/u").alias == "latest"
    for bad in ("models:/", "models:/u/x", "models:/u@Bad", "models:/u/2?at=2026-01-01"):
        with pytest.raises(ParameterError):
            parse_model_uri(bad)
    assert resolve_version(models, "models:/u@champion").version == 1
    assert resolve_version(models, "models:/u@latest").version == 2
    settings = make_settings(home)
    saved = resolve_weights("models:/u@champion", settings)
    assert saved.document["parameters"] == runs[0].weights["parameters"]
    path = tmp_path / "w.json"
    path.write_text(json.dumps(runs[1].weights))
    assert resolve_weights(path).document["parameters"] == runs[1].weights["parameters"]
    with pytest.raises(NotFoundError):
        resolve_weights("models:/u@challenger", settings)


def test_export_and_import_move_a_version_between_homes(stores: Any, tmp_path: Path) -> None:
    _, models, runs = stores
    register_run(models, "e", runs[2], description="to ship")
    exported = tmp_path / "m.json"
    export_version(models, "e/1", exported)
    document = json.loads(exported.read_text())
    assert document["lineage"]["run_id"] == runs[2].id
    other = ModelRegistry(open_database(make_settings(tmp_path / "other")))
    version, created = import_version(other, exported)
    assert (version.model, version.version, created) == ("e", 1, True)
    assert other.get_model("e").description == "to ship"
    assert version.weights == runs[2].weights
    assert version.lineage["imported_from"] == {
        "model": "e", "version": 1, "exported_at": document["exported_at"]
    }
    assert import_version(other, exported)[1] is False  # identical content: the same version
    (tmp_path / "bad.json").write_text('{"schema": "x"}')
    with pytest.raises(Exception, match="not an exported model version"):
        import_version(other, tmp_path / "bad.json")


def _cli(home: Path, *args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args), env={**home_env(home), "COLUMNS": "200"})
    assert result.exit_code == code, result.output
    return result.output


def test_cli_registry_score_backtest_export(home: Path, tmp_path: Path) -> None:
    weights = tmp_path / "w.json"
    _cli(home, "train", "--epochs", "5", "--demo-days", "200", "--output", str(weights),
         "--name", "r1")
    assert "models:/btc/1" in _cli(home, "models", "register", "btc", "--run", "r1")
    assert "already registered" in _cli(home, "models", "register", "btc", "--weights",
                                        str(weights))
    other = tmp_path / "other.json"
    _cli(home, "train", "--epochs", "5", "--demo-days", "200", "--strategy", "rsi-enhanced",
         "--output", str(other), "--no-track")
    assert "models:/btc/2" in _cli(home, "models", "register", "btc", "--weights", str(other))
    _cli(home, "models", "register", "btc", code=2)

    _cli(home, "models", "alias", "btc", "champion", "1", "--reason", "first")
    _cli(home, "models", "alias", "btc", "champion", "2", "--reason", "second")
    assert "2 -> version 1" in _cli(home, "models", "rollback", "btc", "champion")
    history = json.loads(_cli(home, "models", "history", "btc", "champion", "--json"))
    assert [(e["from"], e["to"], e["kind"]) for e in history["history"]] == [
        (None, 1, "move"), (1, 2, "move"), (2, 1, "rollback")
    ]
    assert "second" in _cli(home, "models", "history", "btc")
    refused = _cli(home, "models", "delete", "btc", "1", code=2)
    assert "@champion points to it" in refused
    assert "models:/btc/1" in _cli(home, "models", "resolve", "models:/btc@champion")
    listed = json.loads(_cli(home, "models", "list", "--json"))["models"]
    assert listed[0]["aliases"] == {"champion": 1}
    assert "@champion" in _cli(home, "models", "show", "btc")

    scored = json.loads(_cli(home, "score", "--weights", "models:/btc@champion", "--dataset",
                             "demo", "--last", "4", "--format", "json"))
    direct = json.loads(_cli(home, "score", "--weights", str(weights), "--dataset", "demo",
                             "--last", "4", "--format", "json"))
    assert scored["bars"] == direct["bars"]
    assert len(scored["bars"]) == 4
    assert {"time", "close", "call", "q", "q_raw", "take"} == set(scored["bars"][0])
    csv = _cli(home, "score", "--weights", "models:/btc/1", "--dataset", "demo", "--last", "2",
               "--format", "csv").strip().splitlines()
    assert csv[0] == "time,close,call,q,q_raw,take"
    assert len(csv) == 3
    assert "take" in _cli(home, "score", "--weights", "models:/btc/2", "--dataset", "demo")
    _cli(home, "score", "--weights", "models:/btc/1", "--dataset", "demo", "--format", "xml",
         code=2)
    assert "Q-filtered" in _cli(home, "backtest", "--weights", "models:/btc@champion",
                                "--dataset", "demo")
    omega = tmp_path / "omega.json"
    _cli(home, "export", "--weights", "models:/btc/1", "--output", str(omega))
    assert json.loads(omega.read_text()) == legacy_omega(json.loads(weights.read_text()))
    assert "no model" in _cli(home, "score", "--weights", "models:/nope/1", "--dataset", "demo",
                              code=2)

    shipped = tmp_path / "m.json"
    _cli(home, "models", "export", "btc/2", "-o", str(shipped))
    assert "imported as models:/btc/1" in _cli(tmp_path / "home2", "models", "import",
                                               str(shipped))


@pytest.fixture
def client(tmp_path: Path, trained: list[Any]) -> Iterator[tuple[TestClient, list[Any]]]:
    application = create_app(make_settings(tmp_path / "api"), workers=0)
    with TestClient(application) as test_client:
        store = application.state.services.runs
        records = [record_run(store, *pair, source="cli") for pair in trained]
        yield test_client, records


def test_api_models(client: Any) -> None:
    api, runs = client
    created = api.post("/api/models", json={"name": "btc", "description": "d"})
    assert created.status_code == 201, created.text
    assert created.json()["version"] is None
    assert api.post("/api/models", json={"name": "btc"}).status_code == 409
    one = api.post("/api/models", json={"name": "btc", "run_id": runs[0].id})
    assert one.status_code == 201, one.text
    assert (one.json()["version"]["version"], one.json()["created"]) == (1, True)
    same = api.post("/api/models", json={"name": "btc", "run_id": runs[0].name}).json()
    assert (same["version"]["version"], same["created"]) == (1, False)
    api.post("/api/models", json={"name": "btc", "run_id": runs[1].id})
    assert api.post("/api/models", json={"name": "btc", "run_id": "nope"}).status_code == 404

    assert [m["name"] for m in api.get("/api/models").json()["models"]] == ["btc"]
    assert api.get("/api/models/btc").json()["latest_version"] == 2
    assert [v["version"] for v in api.get("/api/models/btc/versions").json()["versions"]] == [2, 1]
    detail = api.get("/api/models/btc/versions/1").json()
    assert detail["weights"]["parameters"] == runs[0].weights["parameters"]
    assert api.get("/api/models/btc/versions/9").status_code == 404
    assert api.get("/api/models/nope").status_code == 404

    moved = api.put("/api/models/btc/aliases/champion", json={"version": 1, "reason": "go"})
    assert moved.status_code == 200, moved.text
    assert (moved.json()["from"], moved.json()["to"], moved.json()["who"]) == (None, 1, "api")
    api.put("/api/models/btc/aliases/champion", json={"version": 2, "reason": "better"})
    assert api.put("/api/models/btc/aliases/latest", json={"version": 1}).status_code == 422
    assert api.put("/api/models/btc/aliases/champion", json={"version": 7}).status_code == 404
    refused = api.delete("/api/models/btc/versions/2")
    assert refused.status_code == 409
    assert "@champion" in refused.json()["detail"]
    back = api.post("/api/models/btc/aliases/champion/rollback", json={"reason": "oops"})
    assert back.status_code == 200, back.text
    assert (back.json()["from"], back.json()["to"], back.json()["reason"]) == (2, 1, "oops")
    assert api.post("/api/models/btc/aliases/champion/rollback").status_code == 409
    history = api.get("/api/models/btc/aliases/champion/history").json()["history"]
    assert [(e["from"], e["to"]) for e in history] == [(None, 1), (1, 2), (2, 1)]
    assert api.delete("/api/models/btc/versions/2").status_code == 204


def test_api_scores_the_latest_bars(client: Any) -> None:
    api, runs = client
    api.post("/api/models", json={"name": "s", "run_id": runs[0].id})
    api.post("/api/models", json={"name": "s", "run_id": runs[1].id})
    api.put("/api/models/s/aliases/champion", json={"version": 1})
    frame = demo(days=200)
    rows = [
        {"time": t.isoformat(), **{c: float(frame.loc[t, c]) for c in frame.columns}}
        for t in frame.index
    ]
    by_rows = api.post("/api/models/s/score?alias=champion", json={"rows": rows, "last": 3})
    assert by_rows.status_code == 200, by_rows.text
    answer = by_rows.json()
    assert (answer["version"], answer["alias"], answer["uri"]) == (1, "champion", "models:/s/1")
    assert len(answer["bars"]) == 3
    expected = resolve_weights_document_scores(runs[0].weights, frame)
    for bar, (q, raw, take) in zip(answer["bars"], expected, strict=True):
        assert bar["q"] == pytest.approx(q)
        assert bar["q_raw"] == pytest.approx(raw)
        assert bar["take"] is take
        assert bar["call"] in ("long", "short")
    by_csv = api.post("/api/models/s/score?alias=champion",
                      json={"csv": frame.reset_index().to_csv(index=False), "last": 3}).json()
    for got, want in zip(by_csv["bars"], answer["bars"], strict=True):
        assert (got["time"], got["call"], got["take"]) == (want["time"], want["call"], want["take"])
        assert got["q_raw"] == pytest.approx(want["q_raw"])
    by_dataset = api.post("/api/models/s/score?version=1", json={"dataset": "demo"}).json()
    assert len(by_dataset["bars"]) == 10
    latest = api.post("/api/models/s/score", json={"rows": rows, "last": 1}).json()
    assert latest["version"] == 2
    assert api.post("/api/models/s/score", json={"last": 1}).status_code == 422
    assert api.post("/api/models/s/score", json={"rows": rows[:5]}).status_code == 422
    assert api.post("/api/models/s/score?alias=challenger",
                    json={"rows": rows}).status_code == 404
    assert api.post("/api/models/s/score", json={"dataset": "nope"}).status_code == 404


def resolve_weights_document_scores(document: dict[str, Any], frame: Any) -> list[Any]:
    """The last three bars' (q, q_raw, take) computed directly from the weights document."""
    from ssots.artifacts import saved_model

    saved = saved_model(document)
    scores = saved.score(frame).tail(3)
    threshold = document["backtest"]["threshold"]
    return [(r.q, r.q_raw, bool(r.q_raw >= threshold)) for r in scores.itertuples()]


def test_rows_frame_refuses_unusable_bars() -> None:
    with pytest.raises(Exception, match="no bars"):
        rows_frame([])
    with pytest.raises(Exception, match="close"):
        rows_frame("a,b\n1,2\n")


def test_models_diff_cli_and_api(stores: Any, home: Path) -> None:
    _, models, runs = stores
    register_run(models, "v", runs[0])
    register_run(models, "v", runs[2])
    shown = json.loads(_cli(home, "models", "diff", "v", "1", "2", "--json"))
    assert list(shown["spec"]) == ["lr"]  # only what changed
    assert shown["spec"]["lr"] == [0.01, 0.2]
    assert shown["runs"][1]["label"] == "v/2"
    assert "lr" in _cli(home, "models", "diff", "v", "1", "2")
    with TestClient(create_app(make_settings(home), workers=0)) as api:
        answer = api.get("/api/models/v/diff", params={"versions": "1,2"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["spec"] == shown["spec"]
        assert api.get("/api/models/v/diff", params={"versions": "1,9"}).status_code == 404
        # A version beyond any integer column is refused before the database (it gave a 500).
        huge = api.get("/api/models/v/diff", params={"versions": "1,10000000000000000000"})
        assert huge.status_code == 422, huge.text
        assert "detail" in huge.json()


@pytest.mark.slow
def test_the_walk_through_of_docs_registry_runs_as_written(tmp_path: Path, backend: str) -> None:
    if backend != "sqlite":
        pytest.skip("the walk-through uses the default home's SQLite database as a reader would")
    import os
    import re
    import subprocess

    from conftest import PROJECT_ROOT

    text = (PROJECT_ROOT / "docs" / "registry.md").read_text()
    script = re.search(r"```bash\n(.*?)```", text, re.S)
    assert script is not None
    bin_dir = str(Path(__import__("sys").executable).parent)  # the `ssots` of this venv
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "COLUMNS": "120"}
    done = subprocess.run(
        ["bash", "-c", "set -eo pipefail\n" + script.group(1)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "refused: @champion points to version 1" in done.stdout
    assert "Runs (1 of 1)" in done.stdout  # the --tag/--dataset filter finds the first run
    assert "imported as models:/btc-daily/1" in done.stdout
    assert "Error" not in done.stderr.replace("Error: version 1 of btc-daily cannot", "")
