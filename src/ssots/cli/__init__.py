"""The ``ssots`` command line.

Commands live in sibling modules (``train``, ``backtest``, ``data``), all on the app of ``_app``.
Heavy modules (pandas, scikit-learn) are imported inside the commands that need them, so
``ssots --help`` starts fast.
"""

from __future__ import annotations

from ssots.cli import backtest, data, serve, train
from ssots.cli._app import app

__all__ = ["app", "backtest", "data", "main", "serve", "train"]


def main() -> None:
    """Console-script entry point."""
    app()
