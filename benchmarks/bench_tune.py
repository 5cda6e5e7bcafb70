"""Tuning throughput: the same 20-trial study through the job system with ``--parallel 2``
and with ``--parallel 1`` (trials per second, target >= 1.7), and the time per trial with
``--parallel 1`` over Optuna's own in-process ``study.optimize`` on the same objective and
the same data (the scheduling overhead: handing each trial to a worker process, the
database, Optuna's RDB storage; target <= 1.2).

The data is a registered dataset of 4-hourly demo bars over three years (6,570 bars); the
objective is ``val_mse`` with full-batch training for a fixed number of epochs (patience =
epochs, no pruning), so every trial does the same work whatever its settings. Studies run
as ``ssots tune`` runs them (``jobs.studies.run_study``: a local job manager and
``LocalExecutor``); one warm-up study first starts the forkserver (it loads the compiled
loops once, as a server does at its first job). A study's time is from its start until its
last trial ended (the refit of the best trial, its one test evaluation, is not timed).
Optuna's reference is ``study.optimize`` in one process with the same seeded TPE sampler,
the same intermediate reports and the same kind of storage as the study's: Optuna's RDB
storage in an SQLite file of its own, set up by ``services.tuning.optuna_storage``, so
that the ratio is the job system's scheduling (trial jobs, worker processes, the project's
database, the coordinator's rounds) and not the cost of the storage every parallel Optuna
study pays. It runs twice, before and after the studies, each time in a process from the
workers' forkserver (the compiled loops already loaded, as in a worker) at a worker's
niceness and thread budget; their mean is the reference. The same loop with Optuna's
in-memory storage is printed too, for the cost of the storage itself. The figures are on
the last line.

    python benchmarks/bench_tune.py [--trials 20] [--epochs 3000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from ssots._threads import limit_threads, threads_per_worker
from ssots.config import Settings
from ssots.data import demo
from ssots.jobs.studies import run_study
from ssots.jobs.worker import WORKER_NICENESS
from ssots.objective import trial_value
from ssots.services.datasets import register_file
from ssots.services.tuning import make_sampler, optuna_storage, suggest
from ssots.store.datasets import DatasetRegistry
from ssots.tuning import StudySpec

SPEEDUP_TARGET = 1.7
OVERHEAD_TARGET = 1.2
SPACE = {
    "lr": {"type": "float", "low": 0.01, "high": 0.5, "log": True},
    "momentum": {"type": "float", "low": 0.0, "high": 0.9},
    "weight_decay": {"type": "float", "low": 1e-6, "high": 1e-3, "log": True},
}


def timed_study(settings: Settings, spec: StudySpec) -> float:
    """Seconds from the study's start until its trials are done (refit excluded)."""
    started = time.perf_counter()
    trials_done: list[float] = []

    def watch(record: Any) -> None:
        if record.status != "running" and not trials_done:
            trials_done.append(time.perf_counter())

    record = run_study(settings, spec, on_round=watch)
    if record.status != "finished" or record.finished_trials != spec.trials:
        raise SystemExit(f"study {record.id} ended {record.status}: {record.message}")
    return trials_done[0] - started


def optuna_in_process(spec: StudySpec, frame: Any, storage: Any = None) -> float:
    """Seconds of Optuna's ``study.optimize`` over the same objective, in this process,
    with ``storage`` (None: Optuna's in-memory storage)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        storage=storage,
        direction=spec.direction,
        sampler=make_sampler(spec),
        pruner=optuna.pruners.NopPruner(),
    )
    space = spec.search_space()

    def objective(trial: optuna.Trial) -> float:
        run_spec = spec.trial_spec(suggest(trial, space))
        outcome = trial_value(
            run_spec,
            frame,
            spec.objective,
            report=lambda value, step: trial.report(value, step),
            report_every=spec.report_every,
        )
        return outcome.value

    started = time.perf_counter()
    study.optimize(objective, n_trials=spec.trials)
    return time.perf_counter() - started


def _references(spec: StudySpec, frame: Any) -> tuple[float, float]:
    """Optuna's in-process seconds with an RDB storage like the study's and with its
    in-memory storage, in a child process (see the module docstring)."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    with ProcessPoolExecutor(1, mp_context=get_context("forkserver")) as pool:
        return pool.submit(_niced_references, spec, frame).result()


def _niced_references(spec: StudySpec, frame: Any) -> tuple[float, float]:
    os.nice(WORKER_NICENESS)
    limit_threads(threads_per_worker(1))
    with tempfile.TemporaryDirectory() as scratch:
        storage = optuna_storage(Settings.from_env({"SSOTS_HOME": scratch}))
        with_storage = optuna_in_process(spec, frame, storage)
    return with_storage, optuna_in_process(spec, frame)


def main() -> None:
    """Run the benchmark and print the figures on the last line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=3000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        settings = Settings.from_env({"SSOTS_HOME": home})
        frame = demo(days=1095, seed=42, freq="4h")
        csv = Path(home) / "demo-4h.csv"
        frame.to_csv(csv)
        dataset = register_file(DatasetRegistry(settings), csv, name="demo-4h", source="file")
        base = {
            "dataset": dataset.id,
            "objective": "val_mse",
            "epochs": args.epochs,
            "prune": False,
            "space": {**SPACE, "patience": {"type": "categorical", "choices": [args.epochs]}},
        }
        print(f"data: {len(frame):,} bars; {args.trials} trials of {args.epochs} epochs each")
        timed_study(settings, StudySpec.build(**{**base, "trials": 2, "parallel": 2}))  # warm-up
        serial = StudySpec.build(**{**base, "trials": args.trials, "parallel": 1})
        references = [_references(serial, frame)]
        one = timed_study(settings, serial)
        print(f"  --parallel 1: {one:.1f} s ({args.trials / one:.2f} trials/s)")
        two = timed_study(
            settings, StudySpec.build(**{**base, "trials": args.trials, "parallel": 2})
        )
        print(f"  --parallel 2: {two:.1f} s ({args.trials / two:.2f} trials/s)")
        references.append(_references(serial, frame))
        reference = sum(rdb for rdb, _ in references) / len(references)
        in_memory = sum(memory for _, memory in references) / len(references)
        print(
            "  Optuna study.optimize in-process, RDB storage (SQLite file): "
            f"{' and '.join(f'{rdb:.1f}' for rdb, _ in references)} s, mean {reference:.1f} s"
        )
        print(
            "  the same with Optuna's in-memory storage: "
            f"{' and '.join(f'{memory:.1f}' for _, memory in references)} s, "
            f"mean {in_memory:.1f} s (--parallel 1 over it: {one / in_memory:.2f})"
        )
    speedup = one / two
    overhead = one / reference
    print(
        f"bench_tune: trials/s --parallel 2 over 1 = {speedup:.2f} (target >= {SPEEDUP_TARGET}); "
        f"time per trial over Optuna in-process (RDB storage) = {overhead:.2f} "
        f"(target <= {OVERHEAD_TARGET})"
    )


if __name__ == "__main__":
    main()
