"""The Q-score model: its maths kernel, the model, its trainer and the scikit-learn
estimator. Import from here; the ``_`` modules are the package's inner layout::

    _kernel       forward pass, loss, analytic gradient, projection on KernelRows
    _qscore       QScoreModel (parameters, projection, default initialisation, predict)
    _trainer      TrainConfig, train (projected heavy-ball momentum, early stopping)
    _calibration  Calibration (the monotone map from raw Q to the expected label)
    _estimator    QScoreRegressor (scikit-learn)

Each module imports only those listed above it.
"""

from __future__ import annotations

from ssots.model._calibration import CALIBRATIONS, DEFAULT_CALIBRATION, Calibration
from ssots.model._estimator import QScoreRegressor
from ssots.model._kernel import (
    KernelRows,
    Objective,
    mean_squared_error,
    objective,
    predict_rows,
    project,
)
from ssots.model._qscore import (
    DEFAULT_PROFILE_8,
    SCALAR_DEFAULTS,
    SCALAR_NAMES,
    QScoreModel,
)
from ssots.model._trainer import EpochEvent, TrainConfig, TrainResult, train

__all__ = [
    "CALIBRATIONS",
    "DEFAULT_CALIBRATION",
    "DEFAULT_PROFILE_8",
    "SCALAR_DEFAULTS",
    "SCALAR_NAMES",
    "Calibration",
    "EpochEvent",
    "KernelRows",
    "Objective",
    "QScoreModel",
    "QScoreRegressor",
    "TrainConfig",
    "TrainResult",
    "mean_squared_error",
    "objective",
    "predict_rows",
    "project",
    "train",
]
