"""The ``ssots`` command line.

Commands live in sibling modules (``train``, ``backtest``, ``data``, ``runs``,
``models``, ``tune``, ``serve``, ``worker``), all on the app of ``_app``.
Heavy modules (pandas, scikit-learn, SQLAlchemy, numba) are imported inside the commands
that need them, so ``ssots --help``, ``data list``, ``data inspect`` and ``export`` start fast
(``tests/test_startup.py`` checks which modules each one loads).
"""

from __future__ import annotations

from ssots._threads import available_cores, limit_threads
from ssots.cli import (
    backtest,
    data,
    models,
    runs,
    schedules,
    serve,
    train,
    tune,
    webhooks,
    worker,
)
from ssots.cli._app import app

__all__ = [
    "app",
    "backtest",
    "data",
    "main",
    "models",
    "runs",
    "schedules",
    "serve",
    "train",
    "tune",
    "webhooks",
    "worker",
]


def main() -> None:
    """Console-script entry point. A lone command's native thread pools get the cores this
    process may use (``ssots serve`` gives each job worker its own share)."""
    limit_threads(available_cores())
    app()
