"""Warm-ups of the job workers.

``warm`` loads the compiled numba loops (and the modules Optuna's storage imports lazily)
into the forkserver before it forks any worker, so that no job pays for loading them
(about 2.5 s per fresh process: the indicators, the full-batch and the mini-batch training
passes). ``LocalExecutor`` lists this module in ``WORKER_PRELOAD``; importing it runs
``warm`` once. Only serial code runs there: the rows are fewer than one chunk of the fused
kernel, so its parallel pass (whose thread pool must not exist before a fork) is never
started, and the baselines (OpenMP) do not run.

``warm_process`` runs in a worker process itself, after its thread limits, while it waits
for its first attempt: one small training run through the whole pipeline (baselines,
backtest, evidence), which a first job would otherwise pay for (about a tenth of a
second)."""

from __future__ import annotations

import contextlib
from typing import Any

__all__ = ["warm", "warm_process"]


LAZY_IMPORTS: tuple[str, ...] = (
    "sqlalchemy.orm",
    "alembic.command",
    "alembic.config",
    "alembic.migration",
    "alembic.script",
    "optuna.storages._rdb.models",
)
"""What Optuna's RDB storage imports lazily when a worker opens it (about half a second)."""
OPTIONAL_IMPORTS: tuple[str, ...] = ("pyarrow.parquet",)
"""What reading a registered dataset's canonical Parquet file imports, when installed."""


def warm() -> None:
    """Import what opening Optuna's storage needs, and run a tiny trial of each training
    path (full batch, mini-batch) once."""
    import importlib

    for name in LAZY_IMPORTS:
        importlib.import_module(name)
    for name in OPTIONAL_IMPORTS:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    from ssots.objective import trial_value
    from ssots.spec import RunSpec

    frame = _small_frame()
    for batch_size in (None, 32):
        trial_value(RunSpec(epochs=2, batch_size=batch_size), frame, "val_mse")
    from sqlalchemy.orm import configure_mappers

    import ssots.store.tables  # noqa: F401  (its mappers, configured once here)

    configure_mappers()


def warm_process() -> None:
    """Run one small training through the whole pipeline in this process (nothing is
    written)."""
    from ssots.pipeline import run
    from ssots.spec import RunSpec

    run(RunSpec(epochs=2), _small_frame())


def _small_frame() -> Any:
    """The warm-ups' data: the smallest demo a default run trains on, fewer rows than one
    chunk of the fused kernel."""
    from ssots.data import demo

    return demo(days=400, seed=0)


warm()
