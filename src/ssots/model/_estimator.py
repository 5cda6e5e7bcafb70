"""The scikit-learn estimator around the Q-score model, its trainer and its calibration."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import (
    check_array,
    check_consistent_length,
    check_is_fitted,
    check_random_state,
    column_or_1d,
    validate_data,
)

from ssots import spec
from ssots.errors import ParameterError
from ssots.features import Normalizer
from ssots.model._calibration import CALIBRATIONS, DEFAULT_CALIBRATION, Calibration
from ssots.model._trainer import TrainConfig, train


class QScoreRegressor(RegressorMixin, BaseEstimator):
    """scikit-learn estimator around :class:`QScoreModel`, trained by :func:`ssots.model.train`.

    Unless ``prescaled``, ``fit`` fits a :class:`~ssots.features.Normalizer` on the
    training rows only and applies it to ``eval_set`` and to ``predict`` input, so ``X``
    may hold any real values. Targets are meant to be Q-scores in [0, 1]; other real
    targets are accepted. After training, a monotone :class:`Calibration` from the raw Q
    to the target is fitted on the training rows (``X``, ``y``; never ``eval_set``):
    ``predict`` returns the calibrated expected target, within the training targets'
    range, and ``predict(X, raw=True)`` the raw Q in [0, 1], whose ranking is the same.

    Args:
        epochs: maximum number of passes over the training rows.
        lr: learning rate.
        momentum: heavy-ball momentum in [0, 1).
        weight_decay: L2 penalty coefficient on all parameters.
        patience: epochs without a validation improvement before stopping (only with
            ``eval_set``).
        min_delta: smallest validation-MSE decrease that counts as an improvement.
        batch_size: rows per shuffled mini-batch; None for full batch.
        random_state: seed (int) for mini-batch shuffling, a RandomState, or None.
        prescaled: True when ``X`` is already in [0, 1] and must not be normalised.
        calibration: kind of calibration map: ``affine`` (default), ``isotonic`` or
            ``identity`` (``predict`` then returns the raw Q).

    Attributes:
        model_: the fitted :class:`QScoreModel`.
        calibration_: the fitted :class:`Calibration`.
        weights_: its ``d`` dimension weights.
        normalizer_: the fitted Normalizer, or None when ``prescaled``.
        n_features_in_: number of columns seen in ``fit``.
        history_: one dict per epoch (``epoch``, ``epochs``, ``train_loss``, ``val_loss``).
        best_epoch_: the epoch whose parameters were kept.
    """

    def __init__(
        self,
        epochs: int = spec.DEFAULT_EPOCHS,
        lr: float = spec.DEFAULT_LR,
        momentum: float = spec.DEFAULT_MOMENTUM,
        weight_decay: float = spec.DEFAULT_WEIGHT_DECAY,
        patience: int = spec.DEFAULT_PATIENCE,
        min_delta: float = spec.DEFAULT_MIN_DELTA,
        batch_size: int | None = None,
        random_state: int | np.random.RandomState | None = None,
        prescaled: bool = False,
        calibration: str = DEFAULT_CALIBRATION,
    ) -> None:
        self.epochs = epochs
        self.lr = lr
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.patience = patience
        self.min_delta = min_delta
        self.batch_size = batch_size
        self.random_state = random_state
        self.prescaled = prescaled
        self.calibration = calibration

    def fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        eval_set: Sequence[tuple[ArrayLike, ArrayLike]] | None = None,
    ) -> QScoreRegressor:
        """Train from the default initialisation, then calibrate on the training rows.

        Args:
            X: training rows x dimensions.
            y: training targets.
            eval_set: ``[(X_val, y_val)]``; its MSE drives early stopping (as in
                LightGBM's scikit-learn API). Without it every epoch runs.

        Returns:
            self.

        Raises:
            ValueError: malformed ``X``, ``y`` or ``eval_set``; ParameterError (a
                ValueError) for an invalid hyper-parameter.
        """
        X, y = validate_data(self, X, y, y_numeric=True, dtype=np.float64)
        if self.calibration not in CALIBRATIONS:
            raise ParameterError(
                f"`calibration` must be one of {', '.join(CALIBRATIONS)}; got {self.calibration!r}"
            )
        config = TrainConfig.of(self, seed=_seed(self.random_state))
        self.normalizer_ = None if self.prescaled else Normalizer().fit(X)
        validation = self._validation_rows(eval_set)
        scaled = self._scale(X)
        result = train(scaled, y, *validation, config=config)
        self.calibration_ = Calibration.fit(result.model.predict(scaled), y, self.calibration)
        self.model_ = result.model
        self.weights_ = result.model.w
        self.history_ = result.history
        self.best_epoch_ = result.best_epoch
        return self

    def predict(self, X: ArrayLike, raw: bool = False) -> np.ndarray:
        """Calibrated Q-scores (the expected target), one per row of ``X``.

        Args:
            X: rows x dimensions.
            raw: return the model's raw Q in [0, 1] instead (what a Q-filter thresholds).

        Raises:
            NotFittedError: before ``fit``. ValueError: malformed ``X``.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        q = self.model_.predict(self._scale(X))
        return q if raw else self.calibration_(q)

    def __sklearn_tags__(self) -> Any:
        """Tags: a 13-parameter bounded score with a monotone map fits arbitrary targets
        poorly."""
        tags = super().__sklearn_tags__()
        tags.regressor_tags.poor_score = True
        return tags

    def _scale(self, X: np.ndarray) -> np.ndarray:
        return X if self.normalizer_ is None else self.normalizer_.transform(X)

    def _validation_rows(
        self, eval_set: Sequence[tuple[ArrayLike, ArrayLike]] | None
    ) -> tuple[np.ndarray, np.ndarray] | tuple[()]:
        if eval_set is None:
            return ()
        if len(eval_set) != 1 or len(eval_set[0]) != 2:
            raise ParameterError(
                "`eval_set` must be a list with one (X_val, y_val) pair, "
                "e.g. eval_set=[(X_val, y_val)]"
            )
        X_val, y_val = eval_set[0]
        X_val = validate_data(self, X_val, reset=False, dtype=np.float64)
        y_val = column_or_1d(check_array(y_val, ensure_2d=False, dtype=np.float64))
        check_consistent_length(X_val, y_val)
        return self._scale(X_val), y_val


def _seed(random_state: int | np.random.RandomState | None) -> int:
    """An int seed from a scikit-learn ``random_state`` (an int is used as is)."""
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        return int(random_state)
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
