"""Tuning as a use case: Optuna's storage beside the project's database, creating a
study, what a trial does in its worker, and the study's report after the one test
evaluation of its refitted best trial.

Optuna keeps its trials in its own tables (RDB storage) and stamps its own Alembic
revision into a table named ``alembic_version``, the name our migrations use too. So the
two never share a schema: on SQLite Optuna's tables live in their own file beside the
project's (``ssots.db`` -> ``ssots-optuna.db``), on PostgreSQL in their own schema
(``optuna``) of the same database (``optuna_url``; tests/test_tuning.py checks both
revisions stay apart).

Everything here imports Optuna inside the function that needs it: ``ssots train`` and
``ssots --help`` never load it."""

from __future__ import annotations

import functools
import math
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ssots.config import Settings
from ssots.errors import ParameterError
from ssots.events import EventSink, stage_event
from ssots.objective import TrialOutcome, book_returns, trial_value
from ssots.pipeline import RunResult
from ssots.spec import RunSpec
from ssots.stats import SharpeSample, deflated_sharpe_ratio, expected_max_sharpe, sharpe_sample
from ssots.tuning import TUNE_DEFAULTS, Dimension, StudySpec

if TYPE_CHECKING:
    import optuna

    from ssots.store.db import Database

__all__ = [
    "FIGURES",
    "OPTUNA_SCHEMA",
    "TrialReport",
    "load_frame",
    "load_optuna_study",
    "make_pruner",
    "make_sampler",
    "optuna_storage",
    "optuna_url",
    "run_trial",
    "study_dataset",
    "study_figures",
    "study_report",
    "suggest",
    "test_sharpe",
    "trial_id_of",
]

OPTUNA_SCHEMA = "optuna"
"""The PostgreSQL schema of Optuna's tables (SQLite: a file of their own)."""


def optuna_url(settings: Settings) -> tuple[str, dict[str, Any]]:
    """Where Optuna's storage lives for ``settings``' database, and the engine options.

    Raises:
        ParameterError: a database kind other than SQLite or PostgreSQL.
    """
    from sqlalchemy.engine import make_url

    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        database = Path(url.database or "")
        sibling = database.with_name(f"{database.stem}-optuna{database.suffix or '.db'}")
        return f"sqlite:///{sibling}", {"connect_args": {"timeout": 60}}
    if url.get_backend_name() == "postgresql":
        return url.render_as_string(hide_password=False), {
            "connect_args": {"options": f"-csearch_path={OPTUNA_SCHEMA}"},
            "pool_pre_ping": True,
        }
    raise ParameterError(
        f"tuning supports SQLite and PostgreSQL databases, not {url.get_backend_name()}"
    )


@functools.lru_cache(maxsize=8)
def _storage(url: str, options: str, existing: bool) -> optuna.storages.RDBStorage:
    import json

    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if existing:  # a worker: the coordinator created the tables and checked their schema
        return _with_commit_mode(
            optuna.storages.RDBStorage(
                url,
                engine_kwargs=json.loads(options),
                skip_compatibility_check=True,
                skip_table_creation=True,
            )
        )
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if not path.exists():  # WAL: the server and its workers write at once
            connection = sqlite3.connect(path)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.close()
    else:
        from sqlalchemy import create_engine, text

        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {OPTUNA_SCHEMA}"))
        engine.dispose()
    return _with_commit_mode(optuna.storages.RDBStorage(url, engine_kwargs=json.loads(options)))


def _with_commit_mode(storage: optuna.storages.RDBStorage) -> optuna.storages.RDBStorage:
    """On SQLite, commit as the project's own database does (``store.db.sqlite_commit_mode``):
    each trial writes its intermediate values one commit at a time, which then costs about
    half as much."""
    from sqlalchemy import event

    from ssots.store.db import sqlite_commit_mode

    if storage.engine.dialect.name == "sqlite":
        event.listen(storage.engine, "connect", sqlite_commit_mode)
        storage.engine.dispose()  # (a connection opened before the listener: reopened)
    return storage


_STORAGE_LOCK = threading.Lock()
"""One thread at a time opens a storage: two creating the tables of a new file at once
would collide (the API's handlers and the job manager's coordinator share a process)."""


def optuna_storage(settings: Settings, *, existing: bool = False) -> optuna.storages.RDBStorage:
    """Optuna's RDB storage for ``settings`` (one per process and database), its tables
    created and their schema checked; with ``existing`` (a trial's worker) neither, which
    saves a fresh process about a second of Alembic."""
    import json

    url, options = optuna_url(settings)
    with _STORAGE_LOCK:
        return _storage(url, json.dumps(options, sort_keys=True), existing)


def make_sampler(spec: StudySpec) -> optuna.samplers.BaseSampler:
    """TPE seeded from the study's seed; ``constant_liar`` keeps parallel trials apart."""
    import optuna

    return optuna.samplers.TPESampler(seed=spec.seed, constant_liar=True)


def make_pruner(
    startup_trials: int = TUNE_DEFAULTS["startup_trials"],
    warmup_steps: int = TUNE_DEFAULTS["warmup_steps"],
    *,
    prune: bool = True,
) -> optuna.pruners.BasePruner:
    """The median pruner: after ``startup_trials`` finished trials, stop a trial whose
    intermediate value is worse than the median of earlier trials' at the same step,
    once it has reported more than ``warmup_steps`` values (``prune`` False: never)."""
    import optuna

    if not prune:
        return optuna.pruners.NopPruner()

    return optuna.pruners.MedianPruner(
        n_startup_trials=startup_trials, n_warmup_steps=warmup_steps, interval_steps=1
    )


def pruner_steps(spec: StudySpec) -> int:
    """Warm-up steps in the pruner's unit: epochs for the validation objectives (an
    intermediate value every ``spec.report_every`` epochs), folds for ``wf_sharpe``."""
    warmup = TUNE_DEFAULTS["warmup_steps"]
    return warmup if spec.objective == "wf_sharpe" else warmup * spec.report_every


def create_optuna_study(settings: Settings, name: str, spec: StudySpec) -> optuna.Study:
    """Create Optuna's side of a study (its direction, seeded sampler, pruner)."""
    import optuna

    return optuna.create_study(
        storage=optuna_storage(settings),
        study_name=name,
        direction=spec.direction,
        sampler=make_sampler(spec),
        pruner=make_pruner(warmup_steps=pruner_steps(spec), prune=spec.prune),
        load_if_exists=True,
    )


def load_optuna_study(settings: Settings, name: str, spec: StudySpec) -> optuna.Study:
    """Optuna's side of a study, with the study's seeded sampler and its pruner."""
    import optuna

    return optuna.load_study(
        study_name=name,
        storage=optuna_storage(settings),
        sampler=make_sampler(spec),
        pruner=make_pruner(warmup_steps=pruner_steps(spec), prune=spec.prune),
    )


def trial_id_of(settings: Settings, name: str, number: int) -> int:
    """The storage's id of trial ``number`` of the Optuna study ``name`` (what a trial's
    worker opens the trial by)."""
    storage = optuna_storage(settings)
    study_id = storage.get_study_id_from_name(name)
    return storage.get_trial_id_from_study_id_trial_number(study_id, number)


def suggest(trial: optuna.Trial, space: dict[str, Dimension]) -> dict[str, Any]:
    """Ask ``trial`` for a value of every dimension of ``space``."""
    params: dict[str, Any] = {}
    for name, dimension in space.items():
        if dimension.type == "categorical":
            params[name] = trial.suggest_categorical(name, dimension.choices)  # type: ignore[arg-type]
        elif dimension.type == "int":
            params[name] = trial.suggest_int(
                name,
                int(dimension.low),  # type: ignore[arg-type]
                int(dimension.high),  # type: ignore[arg-type]
                step=dimension.step or 1,
                log=dimension.log,
            )
        else:
            params[name] = trial.suggest_float(
                name,
                dimension.low,  # type: ignore[arg-type]
                dimension.high,  # type: ignore[arg-type]
                log=dimension.log,
            )
    return params


def load_frame(
    spec: RunSpec, settings: Settings, database: Database | None = None
) -> tuple[Any, dict[str, Any]]:
    """The canonical frame ``spec.dataset`` names (no local files: trials run as jobs)
    and its provenance; a registered dataset is looked up in ``database`` (default:
    opened from ``settings``)."""
    from ssots.data.sources.reference import parse_reference
    from ssots.services.datasets import frame_sha256, resolve

    dataset = resolve(
        parse_reference(spec.dataset, files=False),
        settings,
        seed=spec.seed,
        demo_days=spec.demo_days,
        demo_freq=spec.demo_freq,
        database=database,
    )
    return dataset.frame, {**dataset.describe(), "fingerprint": frame_sha256(dataset.frame)}


@dataclass(frozen=True)
class TrialReport:
    """What a trial job reports: its state (``complete``, ``pruned``, or ``fail`` for an
    undefined value), value, the per-bar Sharpe ratio of its Q-filtered book, and its
    outcome (None when pruned)."""

    state: str
    value: float | None
    sharpe: float | None
    outcome: TrialOutcome | None


def run_trial(
    spec: RunSpec,
    request: dict[str, Any],
    settings: Settings,
    on_event: EventSink | None = None,
    frame: Any = None,
) -> TrialReport:
    """Run one trial in a worker: load the data, score the settings ``spec`` on the
    development rows (``ssots.objective``), reporting intermediate values to Optuna's
    trial ``request["trial_id"]`` and stopping when its pruner says so (without pruning,
    the values are written together when the scoring is done).

    Args:
        spec: the trial's run settings.
        request: the trial job's request (``optuna_name``, ``trial_id``, ``objective``,
            ``folds``, ``report_every``, ``study`` (the ``StudySpec`` dump)).
        settings: where the data and Optuna's storage are.
        on_event: receives an ``intermediate`` stage event per report.
        frame: the data already loaded (else loaded from ``spec.dataset``).

    Raises:
        SsotsError: unusable data or settings (the trial fails).
    """
    import optuna

    emit = on_event or (lambda event: None)
    study_spec = StudySpec.build(**request["study"])
    study = optuna.load_study(
        study_name=request["optuna_name"],
        storage=optuna_storage(settings, existing=True),
        sampler=optuna.samplers.RandomSampler(),
        pruner=make_pruner(warmup_steps=pruner_steps(study_spec), prune=study_spec.prune),
    )
    trial = optuna.trial.Trial(study, request["trial_id"])
    reports: list[tuple[float, int]] = []

    def report(value: float, step: int) -> None:
        reports.append((value, step))
        emit(stage_event(f"step {step}: {value:.6g}"))
        if study_spec.prune:  # the pruner reads the values back from the storage
            trial.report(value, step)
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned at step {step}")

    if frame is None:
        emit(stage_event("loading data"))
        frame, _ = load_frame(spec, settings)
    emit(stage_event("scoring the trial on the training and validation rows"))
    try:
        outcome = trial_value(
            spec,
            frame,
            request["objective"],
            folds=request["folds"],
            report=report,
            report_every=request["report_every"],
        )
    except optuna.TrialPruned:
        return TrialReport("pruned", reports[-1][0], None, None)
    if not study_spec.prune:
        # Written together once the training is done: each is a commit of its own, which
        # measured by hand more than twice as dear between epochs as in a row (about 1.8
        # against 0.7 ms on SQLite; presumably the training evicts the storage's code and data
        # from the CPU's caches), and nothing reads them before the trial ends.
        for value, step in reports:
            trial.report(value, step)
    value = outcome.value if math.isfinite(outcome.value) else None
    sharpe = outcome.sharpe.sharpe if outcome.sharpe is not None else None
    return TrialReport("complete" if value is not None else "fail", value, sharpe, outcome)


def test_sharpe(result: RunResult) -> SharpeSample | None:
    """The per-bar Sharpe ratio (with its moments) of the refitted model's Q-filtered book
    on the test split; None when that book never moved."""
    returns = book_returns(result.backtest.books["q_filtered"])
    if returns.size < 2 or float(np.std(returns)) == 0.0:
        return None
    return sharpe_sample(returns)


def study_report(
    *,
    spec: StudySpec,
    trials: list[Any],
    best: Any,
    refit: dict[str, Any],
) -> dict[str, Any]:
    """The study's report: how many trials ran, the best trial, its one test evaluation,
    and the deflated Sharpe ratio of its test Sharpe given how many trials were run and
    the variance of their Sharpe ratios (Bailey and Lopez de Prado 2014).

    Args:
        spec: the study's settings.
        trials: every trial (``store.studies.TrialRecord``).
        best: the best trial (a ``TrialRecord``).
        refit: the refit job's result: ``run_id``, ``metrics``, ``backtest`` (book
            metrics), ``test_sharpe`` (``SharpeSample`` fields or None), ``weights_path``.
    """
    counted = [trial for trial in trials if not trial.retried]
    states = {
        state: sum(t.state == state for t in counted) for state in ("complete", "pruned", "fail")
    }
    sharpes = [t.sharpe for t in counted if t.sharpe is not None and math.isfinite(t.sharpe)]
    variance = float(np.var(sharpes, ddof=1)) if len(sharpes) >= 2 else 0.0
    n_trials = max(1, len(counted))
    deflated: dict[str, Any] = {
        "n_trials": n_trials,
        "sharpe_variance": variance,
        "expected_max_sharpe": expected_max_sharpe(n_trials, variance),
        "test_sharpe": None,
        "dsr": None,
    }
    sample = refit.get("test_sharpe")
    if sample is not None:
        measured = SharpeSample(**sample)
        deflated["test_sharpe"] = measured.sharpe
        deflated["dsr"] = _finite(
            deflated_sharpe_ratio(measured, n_trials=n_trials, sharpe_variance=variance)
        )
    return {
        "objective": spec.objective,
        "direction": spec.direction,
        "trials_run": len(counted),
        "trials": states,
        "best_trial": best.number,
        "best_value": best.value,
        "best_params": best.params,
        "run_id": refit.get("run_id"),
        "weights_path": refit.get("weights_path"),
        "test": {"metrics": refit.get("metrics"), "backtest": refit.get("backtest")},
        "deflated_sharpe": deflated,
    }


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def study_dataset(reference: str, settings: Settings) -> str:
    """The dataset reference a study's trial jobs can read: a local file is registered
    first (trials, like every job, read only the demo, registered or Kaggle datasets) and
    named by its id; a ``kaggle:`` reference is fetched first; others are unchanged.

    Raises:
        DataError: the file is not usable market data.
        KaggleError: the download failed.
    """
    from ssots.data.sources.reference import FileRef, KaggleRef, parse_reference

    ref = parse_reference(reference)
    if isinstance(ref, KaggleRef):
        from ssots.services.datasets import ensure_dataset

        return ensure_dataset(ref, settings).id
    if isinstance(ref, FileRef):
        from ssots.services.datasets import register_file
        from ssots.store.datasets import DatasetRegistry

        record = register_file(
            DatasetRegistry(settings), ref.path, name=ref.path.name, source="file"
        )
        return record.id
    return reference


FIGURES: dict[str, str] = {
    "history": "plot_optimization_history",
    "importances": "plot_param_importances",
    "parallel": "plot_parallel_coordinate",
    "intermediate": "plot_intermediate_values",
}
"""The study page's figures and the ``optuna.visualization`` function drawing each."""


def study_figures(settings: Settings, optuna_name: str) -> dict[str, Any]:
    """The study's Plotly figures (``optuna.visualization``) as JSON-ready dicts; a
    figure Optuna cannot draw yet (too few trials) is None."""
    import json
    import warnings

    import optuna

    study = optuna.load_study(study_name=optuna_name, storage=optuna_storage(settings))
    figures: dict[str, Any] = {}
    for key, function in FIGURES.items():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                figure = getattr(optuna.visualization, function)(study)
            figures[key] = json.loads(figure.to_json())
        except (ValueError, RuntimeError, ZeroDivisionError):
            figures[key] = None
    return figures
