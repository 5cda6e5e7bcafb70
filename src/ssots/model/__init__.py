"""The Q-score model: its maths kernel, the model, its trainer and the scikit-learn
estimator. Import from here; the ``_`` modules are the package's inner layout::

    _fused        the compiled fused pass (numba; imported by _kernel on first use)
    _kernel       forward pass, loss, analytic gradient, projection on KernelRows
    _kernel_reference  the same maths in plain NumPy, for the tests
    _qscore       QScoreModel (parameters, projection, default initialisation, predict)
    _trainer      TrainConfig, train (projected heavy-ball momentum, early stopping)
    _calibration  Calibration (the monotone map from raw Q to the expected label)
    _estimator    QScoreRegressor (scikit-learn)

Each module imports only those listed above it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ssots.model._calibration import CALIBRATIONS, DEFAULT_CALIBRATION, Calibration
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

if TYPE_CHECKING:
    from ssots.model._estimator import QScoreRegressor

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


def __getattr__(name: str) -> Any:
    # QScoreRegressor imports scikit-learn: only code that uses it pays for it (reading
    # or exporting a weights file does not).
    if name == "QScoreRegressor":
        from ssots.model._estimator import QScoreRegressor

        return QScoreRegressor
    raise AttributeError(f"module 'ssots.model' has no attribute {name!r}")
