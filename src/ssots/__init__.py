"""SSO-TS: interpretable Q-score models for crypto trading strategies.

The public API is listed in ``__all__``. Names are imported on first use, so that
``import ssots`` (and the ``ssots`` command's start-up) stays light.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from ssots.errors import DataError, ParameterError, SsotsError

__version__ = "0.1.0"

_LAZY: dict[str, str] = {
    "QScoreModel": "ssots.model",
    "QScoreRegressor": "ssots.model",
    "TrainConfig": "ssots.model",
    "train": "ssots.model",
    "RunSpec": "ssots.spec",
    "JobStatus": "ssots.spec",
    "RunResult": "ssots.pipeline",
    "run": "ssots.pipeline",
    "train_run": "ssots.services.training",
    "Event": "ssots.events",
    "Normalizer": "ssots.features",
    "DIMENSIONS": "ssots.features",
    "compute_indicators": "ssots.features",
    "dimensions": "ssots.features",
    "STRATEGIES": "ssots.spec",
    "read_weights": "ssots.artifacts",
    "resolve_weights": "ssots.services.models",
    "load": "ssots.data",
    "demo": "ssots.data",
}

__all__ = ["DataError", "ParameterError", "SsotsError", "__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ssots' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
