"""Tuning studies (issue 14): trials as jobs, Optuna's storage beside ours, pruning, the
honesty rules (no objective sees a test row; one test evaluation per study) and the
report's deflated Sharpe ratio."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import create_engine, select, text

from ssots.config import Settings
from ssots.data import demo
from ssots.errors import InvalidFieldsError, ParameterError
from ssots.jobs.studies import run_study
from ssots.objective import Development, trial_value
from ssots.pipeline import prepare
from ssots.services.tuning import (
    create_optuna_study,
    optuna_storage,
    optuna_url,
    run_trial,
    study_report,
    trial_id_of,
)
from ssots.spec import RunSpec
from ssots.stats import deflated_sharpe_ratio
from ssots.store import open_database
from ssots.store.db import current_revision, revisions
from ssots.store.jobs import JobStore
from ssots.store.runs import RunStore
from ssots.store.studies import StudyStore, TrialRecord
from ssots.store.webhooks import EVENTS
from ssots.tuning import (
    StudySpec,
    default_space,
    parse_duration,
    parse_space,
    read_space_file,
)
from web_support import make_settings


def _sqlite_settings(home: Path) -> Settings:
    return Settings.from_env({"SSOTS_HOME": str(home)})  # SQLite whatever the backend


def _settings(home: Path) -> Settings:
    return make_settings(home)  # with its PostgreSQL database under the postgres backend


@pytest.fixture(scope="module")
def frame():
    return demo(days=1095, seed=42)


# -- the study through the job system ------------------------------------------------


@pytest.mark.slow
@pytest.mark.usefixtures("backend")  # on SQLite and PostgreSQL
def test_a_12_trial_study_with_2_parallel_workers_finishes_honestly(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    spec = StudySpec.build(trials=12, parallel=2, epochs=60, objective="val_rank_ic", seed=7)
    seen_running: list[int] = []
    study = run_study(
        settings, spec, on_round=lambda s: seen_running.append(s.counts.get("running", 0))
    )

    assert study.status == "finished", study.message
    assert study.finished_trials == 12
    assert max(seen_running) == 2  # two trials at once, never more
    database = open_database(settings)
    trials = StudyStore(database).trials(study.id)
    numbers = [trial.number for trial in trials]
    assert len(numbers) == len(set(numbers)) == 12
    complete = [trial for trial in trials if trial.state == "complete"]
    assert study.best_value == max(trial.value for trial in complete)
    assert study.best_trial == max(complete, key=lambda t: t.value).number

    import optuna

    optuna_study = optuna.load_study(study_name=study.optuna_name, storage=optuna_storage(settings))
    assert optuna_study.best_value == study.best_value
    assert sorted(t.number for t in optuna_study.trials) == numbers
    # The test split was looked at exactly once: one refit job, one run of the study.
    assert study.test_evaluations == 1
    jobs, _ = JobStore(database).list(limit=500)
    assert [job.kind for job in jobs].count("refit") == 1
    assert [job.kind for job in jobs].count("trial") == 12
    runs, _ = RunStore(database).list(tags={"study": study.id}, limit=100)
    by_source = {source: [r for r in runs if r.source == source] for source in ("trial", "study")}
    assert len(by_source["study"]) == 1
    assert len(by_source["trial"]) == len(complete)
    for run in by_source["trial"]:  # a trial run carries validation numbers only
        assert all(key.startswith("val_") or key == "val_rank_ic" for key in run.metrics)
        assert run.backtest == {}
    best_run = by_source["study"][0]
    report = study.report
    assert report is not None
    assert report["run_id"] == best_run.id
    assert report["trials_run"] == 12
    assert report["test"]["metrics"] == best_run.metrics
    assert best_run.spec["lr"] == study.best_params["lr"]
    assert 0.0 <= report["deflated_sharpe"]["dsr"] <= 1.0
    assert report["deflated_sharpe"]["n_trials"] == 12
    # Its end is one `study.finished` event in the webhook outbox, with the one test result.
    with database.engine.connect() as connection:
        events = connection.execute(
            select(EVENTS.c.data).where(EVENTS.c.type == "study.finished")
        ).all()
    assert [event.data["study_id"] for event in events] == [study.id]
    assert events[0].data["status"] == "finished"
    assert events[0].data["test"] == report["test"]
    assert events[0].data["deflated_sharpe"]["dsr"] == report["deflated_sharpe"]["dsr"]


def test_pruning_stops_the_hopeless_trials_of_a_space_built_to_contain_them(
    tmp_path: Path, frame
) -> None:
    """Four good trials first, then four whose learning rate cannot move the model (on the
    rule labels, which the model can learn): the median pruner stops every hopeless one
    and no good one."""
    import optuna

    settings = _sqlite_settings(tmp_path)
    open_database(settings)
    space = {
        "lr": {"type": "categorical", "choices": [0.3, 1e-6]},
        "patience": {"type": "categorical", "choices": [60]},
    }
    spec = StudySpec.build(trials=8, epochs=60, space=space, objective="val_mse", labels="rules")
    study = create_optuna_study(settings, "pruning-check", spec)
    states = {}
    for lr in [0.3] * 4 + [1e-6] * 4:
        study.enqueue_trial({"lr": lr, "patience": 60})
        trial = study.ask()
        params = {
            "lr": trial.suggest_categorical("lr", [0.3, 1e-6]),
            "patience": trial.suggest_categorical("patience", [60]),
        }
        request = {
            "optuna_name": "pruning-check",
            "trial_id": trial_id_of(settings, "pruning-check", trial.number),
            "objective": "val_mse",
            "folds": 3,
            "report_every": spec.report_every,
            "study": spec.model_dump(mode="json"),
        }
        report = run_trial(spec.trial_spec(params), request, settings, frame=frame)
        if report.state == "pruned":
            study.tell(trial.number, state=optuna.trial.TrialState.PRUNED)
        else:
            study.tell(trial.number, report.value)
        states[trial.number] = (params["lr"], report.state)
    assert [state for lr, state in states.values() if lr == 0.3] == ["complete"] * 4
    assert [state for lr, state in states.values() if lr == 1e-6] == ["pruned"] * 4


def test_without_pruning_a_trial_stores_every_intermediate_value_when_it_is_done(
    tmp_path: Path, frame
) -> None:
    """The values are written together after the scoring (not between epochs), so none is
    in the storage while the trial scores, and all are once it has scored: the ones its
    stage events announced, at their steps."""
    settings = _sqlite_settings(tmp_path)
    open_database(settings)
    spec = StudySpec.build(trials=1, epochs=60, objective="val_mse", prune=False)
    study = create_optuna_study(settings, "no-pruning", spec)
    trial = study.ask()
    request = {
        "optuna_name": "no-pruning",
        "trial_id": trial_id_of(settings, "no-pruning", trial.number),
        "objective": "val_mse",
        "folds": 3,
        "report_every": spec.report_every,
        "study": spec.model_dump(mode="json"),
    }
    stored_while_scoring: list[int] = []
    announced: dict[int, str] = {}

    def on_event(event) -> None:
        if str(event.data["stage"]).startswith("step "):
            step, value = str(event.data["stage"]).removeprefix("step ").split(": ")
            announced[int(step)] = value
            stored_while_scoring.append(len(study.trials[trial.number].intermediate_values))

    report = run_trial(spec.trial_spec({}), request, settings, on_event, frame=frame)
    assert report.state == "complete"
    stored = study.trials[trial.number].intermediate_values
    assert len(announced) >= 3
    assert stored_while_scoring == [0] * len(announced)
    assert {step: f"{value:.6g}" for step, value in stored.items()} == announced


# -- honest by construction ----------------------------------------------------------


@pytest.mark.parametrize("objective", ["val_rank_ic", "val_mse", "wf_sharpe"])
def test_no_objective_receives_a_test_row(
    objective: str, frame, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ssots.objective as module

    spec = RunSpec(epochs=40, horizon=5)
    prepared = prepare(frame, spec)
    test_start = prepared.times[prepared.split.test.start]
    received: list[Development] = []
    score = module.score

    def spy(rows: Development, *args, **kwargs):
        received.append(rows)
        return score(rows, *args, **kwargs)

    monkeypatch.setattr(module, "score", spy)
    trial_value(spec, frame, objective)
    (rows,) = received
    assert len(rows) == prepared.split.validation.stop < prepared.split.test.start
    assert rows.times.max() < test_start
    for values in (rows.raw_x, rows.y, rows.direction, rows.close):
        assert len(values) == len(rows)
    # Labels of the last development row read `horizon` bars ahead: still before the test.
    last = frame.index.get_loc(rows.times[-1])
    assert frame.index[last + spec.horizon] < test_start


@pytest.mark.parametrize("objective", ["val_rank_ic", "val_mse", "wf_sharpe"])
def test_test_period_prices_cannot_change_an_objective(objective: str, frame) -> None:
    spec = RunSpec(epochs=40)
    prepared = prepare(frame, spec)
    test_start = prepared.times[prepared.split.test.start]
    shaken = frame.copy()
    later = shaken.index >= test_start
    rng = np.random.default_rng(0)
    factor = rng.uniform(0.5, 1.5, later.sum())
    for column in ("open", "high", "low", "close"):
        shaken.loc[later, column] *= factor
    before = trial_value(spec, frame, objective)
    after = trial_value(spec, shaken, objective)
    assert after.value == before.value
    assert after.sharpe == before.sharpe


# -- Optuna's storage beside ours ----------------------------------------------------


def test_optuna_keeps_its_alembic_version_table_apart_from_ours(tmp_path: Path) -> None:
    settings = _sqlite_settings(tmp_path)
    database = open_database(settings)
    storage = optuna_storage(settings)
    import optuna

    optuna.create_study(storage=storage, study_name="apart")
    url, _ = optuna_url(settings)
    assert url != settings.database_url
    assert current_revision(database.engine) == revisions()[-1]
    theirs = create_engine(url)
    with theirs.connect() as connection:
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        tables = {row[0] for row in connection.execute(text("SELECT name FROM sqlite_master"))}
    assert revision not in revisions()  # Optuna's own revision, in its own file
    assert {"studies", "trials", "version_info"} <= tables
    assert open_database(settings)  # ours still opens at our newest revision


def test_on_one_shared_version_table_the_two_would_collide(tmp_path: Path) -> None:
    """Why they are kept apart: Optuna refuses a database whose ``alembic_version`` holds
    our revision."""
    import optuna

    settings = _sqlite_settings(tmp_path)
    open_database(settings)
    with pytest.raises(RuntimeError, match="no longer compatible"):
        optuna.storages.RDBStorage(settings.database_url)


def test_postgresql_puts_optunas_tables_in_their_own_schema() -> None:
    settings = Settings.from_env({"SSOTS_DATABASE_URL": "postgresql://u:p@db.example/ssots"})
    url, options = optuna_url(settings)
    assert url == "postgresql://u:p@db.example/ssots"
    assert options["connect_args"]["options"] == "-csearch_path=optuna"


# -- the space, the settings and the report ------------------------------------------


def test_the_label_horizon_is_searched_only_by_the_trading_objective() -> None:
    assert "horizon" in default_space("wf_sharpe")
    assert "horizon" not in default_space("val_mse")
    assert "threshold_quantile" not in default_space("val_rank_ic")
    with pytest.raises(ParameterError, match="only wf_sharpe may tune it"):
        parse_space({"horizon": {"type": "int", "low": 1, "high": 9}}, "val_rank_ic")


@pytest.mark.parametrize(
    ("space", "message"),
    [
        ({"seed": {"type": "int", "low": 1, "high": 2}}, "cannot be tuned"),
        ({"lr": {"type": "float", "low": 0.5, "high": 20}}, "20"),
        ({"lr": {"type": "float", "low": 0, "high": 1, "log": True}}, "log scale"),
        ({"patience": {"type": "int", "low": 9, "high": 3}}, "`low` < `high`"),
        ({"batch_size": {"type": "categorical"}}, "needs `choices`"),
        ({"lr": {"type": "float", "low": 0.1, "high": 1, "wrong": 1}}, "malformed"),
        ([], "non-empty mapping"),
    ],
)
def test_a_bad_space_is_refused_naming_the_entry(space: object, message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        parse_space(space, "val_mse")


def test_space_files_are_json_or_yaml(tmp_path: Path) -> None:
    yaml_file = tmp_path / "space.yaml"
    yaml_file.write_text(
        "lr: {type: float, low: 0.01, high: 1, log: true}\nbatch_size:\n"
        "  type: categorical\n  choices: [null, 64]\n"
    )
    json_file = tmp_path / "space.json"
    json_file.write_text(json.dumps({"momentum": {"type": "float", "low": 0, "high": 0.9}}))
    assert read_space_file(yaml_file, "val_mse")["batch_size"].choices == [None, 64]
    assert read_space_file(json_file, "val_mse")["momentum"].high == 0.9
    (tmp_path / "bad.json").write_text("{nope")
    with pytest.raises(ParameterError, match="not valid"):
        read_space_file(tmp_path / "bad.json", "val_mse")


def test_study_settings_are_checked_and_durations_read() -> None:
    assert parse_duration("30m") == 1800
    assert parse_duration("2h") == 7200
    assert parse_duration(None) is None
    with pytest.raises(ParameterError, match="30m, 2h"):
        parse_duration("soon")
    with pytest.raises(InvalidFieldsError):
        StudySpec.build(trials=0)
    with pytest.raises(InvalidFieldsError):
        StudySpec.build(objective="val_r2")
    assert StudySpec.build().trials == 50
    assert StudySpec.build(timeout="1h").timeout == 3600


def _trial(number: int, sharpe: float, state: str = "complete") -> TrialRecord:
    from datetime import UTC, datetime

    return TrialRecord(
        study_id="s", number=number, trial_id=number, job_id="j", params={"lr": 0.1},
        state=state, value=sharpe, sharpe=sharpe, run_id=None, retry_of=None, retried=False,
        message="", created_at=datetime.now(UTC), finished_at=None,
    )  # fmt: skip


def test_the_report_deflates_the_best_test_sharpe_as_the_papers_worked_example() -> None:
    """Bailey and Lopez de Prado (2014): 100 trials whose annualised Sharpe ratios have
    variance 1/2, the selected one 2.5 annualised over 1,250 daily returns with skewness
    -3 and kurtosis 10: DSR 0.9004."""
    days = 250
    spread = np.random.default_rng(1).standard_normal(100)
    spread = (spread - spread.mean()) / spread.std(ddof=1) * math.sqrt(0.5 / days)
    trials = [_trial(i, float(value)) for i, value in enumerate(spread)]
    best = trials[0]
    sample = {"sharpe": 2.5 / math.sqrt(days), "n_obs": 1250, "skew": -3.0, "kurtosis": 10.0}
    report = study_report(
        spec=StudySpec.build(objective="wf_sharpe"),
        trials=trials,
        best=best,
        refit={"run_id": "r", "test_sharpe": sample, "metrics": {}, "backtest": {}},
    )
    deflated = report["deflated_sharpe"]
    assert deflated["n_trials"] == 100
    assert deflated["sharpe_variance"] == pytest.approx(0.5 / days)
    assert deflated["expected_max_sharpe"] == pytest.approx(0.1132, abs=1e-3)
    assert deflated["dsr"] == pytest.approx(0.9004, abs=1e-3)
    from ssots.stats import SharpeSample

    assert deflated["dsr"] == deflated_sharpe_ratio(
        SharpeSample(**sample), n_trials=100, sharpe_variance=deflated["sharpe_variance"]
    )


# -- the command line --------------------------------------------------------------------


def test_ssots_tune_runs_a_study_and_prints_its_one_test_evaluation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from ssots.cli import app

    monkeypatch.setenv("SSOTS_HOME", str(tmp_path))
    space = tmp_path / "space.yaml"
    space.write_text("lr: {type: float, low: 0.05, high: 0.5, log: true}\n")
    result = CliRunner().invoke(
        app,
        ["tune", "--trials", "3", "--parallel", "2", "--epochs", "30", "--space", str(space),
         "--objective", "val_mse", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    study = json.loads(result.stdout)
    assert study["status"] == "finished"
    assert study["test_evaluations"] == 1
    assert set(study["best_params"]) == {"lr"}
    assert study["report"]["trials_run"] == 3
    shown = CliRunner().invoke(app, ["studies", "show", study["id"]])
    assert shown.exit_code == 0, shown.output
    assert "The one test evaluation (after 3 trials)" in shown.stdout
    registered = CliRunner().invoke(app, ["studies", "register", study["id"], "tuned"])
    assert registered.exit_code == 0, registered.output
    assert "registered models:/tuned/1" in registered.stdout
    database = open_database(Settings.from_env({"SSOTS_HOME": str(tmp_path)}))
    from ssots.store.registry import ModelRegistry

    (version,) = ModelRegistry(database).versions("tuned")
    assert version.run_id == study["report"]["run_id"]  # the refitted best, tested once
    assert "best of 3 trials" in ModelRegistry(database).get_model("tuned").description
    ended = CliRunner().invoke(app, ["studies", "stop", study["id"]])
    assert ended.exit_code == 2
    assert "already finished; nothing to stop" in ended.output


def test_ssots_studies_stop_asks_a_running_study_to_stop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from ssots.cli import app
    from ssots.jobs.studies import create_study

    monkeypatch.setenv("SSOTS_HOME", str(tmp_path))
    settings = Settings.from_env({"SSOTS_HOME": str(tmp_path)})
    studies = StudyStore(open_database(settings))
    study = create_study(studies, settings, StudySpec.build(trials=5))  # no coordinator yet
    registered = CliRunner().invoke(app, ["studies", "register", study.id, "too-early"])
    assert registered.exit_code == 2
    assert "has no refitted best trial yet" in registered.output
    stopped = CliRunner().invoke(app, ["studies", "stop", study.id])
    assert stopped.exit_code == 0, stopped.output
    assert studies.get(study.id).stop_requested_at is not None
    missing = CliRunner().invoke(app, ["studies", "stop", "0" * 16])
    assert missing.exit_code == 2
    assert "`ssots studies list`" in missing.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--objective", "val_r2"], "objective"),
        (["--timeout", "soon"], "30m, 2h"),
        (["--space", "missing.json"], "cannot read the space file"),
    ],
)
def test_ssots_tune_refuses_bad_settings_in_one_message(
    args: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from ssots.cli import app

    monkeypatch.setenv("SSOTS_HOME", str(tmp_path))
    result = CliRunner().invoke(app, ["tune", *args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_the_command_line_loads_optuna_only_to_tune() -> None:
    import subprocess
    import sys

    code = "import sys, ssots.cli; print(sorted({'optuna', 'yaml'} & set(sys.modules)))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert loaded.strip() == "[]"


# -- the documentation -------------------------------------------------------------------


def test_docs_carry_the_tuning_tables_verbatim() -> None:
    from conftest import PROJECT_ROOT
    from ssots.tuning import defaults_table, objectives_table, space_table

    text = (PROJECT_ROOT / "docs" / "tuning.md").read_text()
    for table in (defaults_table(), objectives_table(), space_table()):
        assert table in text


@pytest.mark.slow
def test_the_walk_through_of_docs_tuning_runs_as_written(tmp_path: Path) -> None:
    import os
    import re
    import subprocess
    import sys

    from conftest import PROJECT_ROOT

    text = (PROJECT_ROOT / "docs" / "tuning.md").read_text()
    script = re.search(r"```bash\n(.*?)```", text, re.S)
    assert script is not None
    bin_dir = str(Path(sys.executable).parent)  # the `ssots` and `python` of this venv
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "COLUMNS": "120"}
    done = subprocess.run(
        ["bash", "-c", "set -eo pipefail\n" + script.group(1)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "The one test evaluation (after 4 trials)" in done.stdout
    assert "The one test evaluation (after 3 trials)" in done.stdout
    assert "registered models:/demo-tuned/1" in done.stdout
    assert "Error" not in done.stderr


# -- the coordinator's bookkeeping -------------------------------------------------------


@pytest.mark.usefixtures("backend")  # on SQLite and PostgreSQL
def test_a_lost_trial_is_failed_and_its_settings_queued_again_once(tmp_path: Path) -> None:
    """Workers that die (no result recorded) without processes: the job rows are ended
    by hand as the job manager ends them when a worker exits without a result."""
    from ssots.jobs.studies import StudyCoordinator, create_study
    from ssots.spec import JobStatus

    settings = _settings(tmp_path)
    database = open_database(settings)
    jobs, studies = JobStore(database), StudyStore(database)
    spec = StudySpec.build(trials=2, parallel=1, epochs=10)
    study = create_study(studies, settings, spec)
    coordinator = StudyCoordinator(settings, jobs, studies)

    def die() -> TrialRecord:
        coordinator.step()
        attempt = jobs.claim_next()
        assert attempt is not None
        jobs.finish(attempt, [], status=JobStatus.FAILED, message="worker ended (exit code -9)")
        coordinator.step()
        (lost,) = [t for t in studies.trials(study.id) if t.job_id == attempt.job_id]
        return lost

    first = die()
    assert (first.state, first.retried) == ("fail", True)
    (retry,) = [t for t in studies.trials(study.id) if t.retry_of == first.number]
    assert retry.params == first.params
    assert retry.state == "running"
    second = die()  # the retry dies too: it is not retried again
    assert second.number == retry.number
    assert (second.state, second.retried) == ("fail", False)
    assert not [t for t in studies.trials(study.id) if t.retry_of == second.number]
    assert studies.get(study.id).counts == {"fail": 1, "running": 1}  # the next new trial

    import optuna

    states = {
        t.number: t.state
        for t in optuna.load_study(
            study_name=study.optuna_name, storage=optuna_storage(settings)
        ).trials
    }
    assert states[first.number] == states[second.number] == optuna.trial.TrialState.FAIL


@pytest.mark.usefixtures("backend")  # on SQLite and PostgreSQL
def test_a_timeout_ends_the_study_and_refits_the_best_so_far(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    spec = StudySpec.build(trials=500, parallel=2, epochs=20, timeout="1s", objective="val_mse")
    study = run_study(settings, spec)
    assert study.status == "finished", study.message
    assert 1 <= study.finished_trials < 500
    assert study.test_evaluations == 1
    assert study.report["trials_run"] == study.finished_trials + study.counts.get("fail", 0)


def test_the_worker_sends_exactly_the_tuning_kinds_to_their_runners() -> None:
    from ssots.jobs.trials import KINDS
    from ssots.jobs.worker import TUNING_KINDS

    assert set(KINDS) == TUNING_KINDS


def test_two_servers_coordinators_never_advance_one_study_at_once(
    tmp_path: Path, backend: str
) -> None:
    """While one coordinator holds a study (another server advancing it), a second one
    skips it; once released, the second one queues its trials."""
    from ssots.jobs.studies import StudyCoordinator, create_study

    settings = _settings(tmp_path)
    database = open_database(settings)
    jobs, studies = JobStore(database), StudyStore(database)
    record = create_study(studies, settings, StudySpec.build(trials=4, parallel=2, epochs=5))
    second = StudyCoordinator(settings, jobs, studies)
    with studies.coordinating(record.id) as ours:
        assert ours
        if backend == "postgres":
            assert second.step() is False
            assert jobs.list(limit=10)[1] == 0  # nothing queued meanwhile
    assert second.step() is True
    assert [job.kind for job in jobs.list(limit=10)[0]] == ["trial", "trial"]
