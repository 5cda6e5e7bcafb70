"""The planted-model check of MODEL.md section 7, shared by ``tests/test_trainer.py`` and
``benchmarks/sweep_planted.py``."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ssots.model import QScoreModel, TrainConfig, train


def planted(seed: int, n: int = 20_000) -> tuple[np.ndarray, np.ndarray, QScoreModel]:
    """x ~ U[0,1]^8, w ~ flat Dirichlet, the other five uniform in their ranges,
    y = Q_true(x) + N(0, 0.01^2)."""
    rng = np.random.default_rng(seed)
    X = rng.random((n, 8))
    delta_min = rng.uniform(0, 0.1)
    true = QScoreModel(
        rng.dirichlet(np.ones(8)),
        alpha=rng.uniform(0, 1),
        beta=rng.uniform(0, 1),
        gamma=rng.uniform(0, 0.5),
        delta_min=delta_min,
        delta_max=rng.uniform(delta_min, 0.2),
    )
    return X, true.predict(X) + rng.normal(0, 0.01, n), true


class PlantedOutcome(NamedTuple):
    """How well training from the default initialisation recovered a planted theta."""

    max_w_error: float
    test_r2: float
    epochs_run: int


def planted_check(seed: int, config: TrainConfig | None = None) -> PlantedOutcome:
    """Train on 20,000 planted rows split 60/20/20 from the default initialisation with
    ``config`` (default ``TrainConfig()``, the library defaults: lr 0.1, momentum 0.9,
    early stopping, at most 500 epochs); judge on the test rows."""
    X, y, true = planted(seed)
    train_rows, val_rows, test_rows = slice(0, 12_000), slice(12_000, 16_000), slice(16_000, None)
    result = train(
        X[train_rows],
        y[train_rows],
        X[val_rows],
        y[val_rows],
        config=config or TrainConfig(),
        init=QScoreModel.default(8),
    )
    predicted, y_test = result.model.predict(X[test_rows]), y[test_rows]
    r2 = 1 - np.sum((y_test - predicted) ** 2) / np.sum((y_test - y_test.mean()) ** 2)
    max_w_error = float(np.abs(result.model.w - true.w).max())
    return PlantedOutcome(max_w_error, float(r2), result.epochs_run)


def passes(outcome: PlantedOutcome) -> bool:
    """MODEL.md section 7: every w_i within 0.01 of the truth and test R^2 > 0.98."""
    return outcome.max_w_error < 0.01 and outcome.test_r2 > 0.98
