"""Training of the Q-score model (MODEL.md section 6).

Projected heavy-ball momentum on ``loss = MSE + weight_decay * sum(theta^2)``::

    v     <- momentum * v - step * grad
    theta <- Project(theta + v)

made robust without tuning by two rules applied once per epoch, after comparing the
epoch's training loss with the previous epoch's:

* **adaptive restart** (O'Donoghue and Candes 2015, function-value scheme): when the loss
  rose, the velocity is reset to 0 and ``step`` is halved;
* **step growth**: otherwise ``step`` grows by 5%, up to ``10 * lr``.

``step`` starts at ``lr``. Full batch by default (the rules then act before every update);
or shuffled mini-batches drawn from ``numpy.random.default_rng`` seeded with
``TrainConfig.seed`` (the rules then act at the end of each epoch, on the mean batch
loss). With a validation set, training stops once the validation MSE has not fallen below
``best * (1 - min_delta)`` for ``patience`` epochs, and the best parameters are restored.
Same seed and data give bit-identical parameters.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ssots import spec
from ssots.errors import ParameterError
from ssots.model._kernel import KernelRows, mean_squared_error, objective
from ssots.model._qscore import QScoreModel


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of :func:`train`.

    Attributes:
        epochs: maximum number of passes over the training rows (>= 1).
        lr: initial step size (> 0); the step adapts within (0, 10 * lr].
        momentum: heavy-ball coefficient in [0, 1).
        weight_decay: L2 penalty coefficient (>= 0) on every parameter.
        patience: epochs without validation improvement before stopping (>= 1).
        min_delta: relative tolerance in [0, 1): an epoch improves when its validation
            MSE is below ``best * (1 - min_delta)``.
        batch_size: rows per shuffled mini-batch (>= 1), or None for full batch.
        seed: seed of the mini-batch shuffling (>= 0).

    Raises:
        ParameterError: a field is out of range; the message names it and gives an example.
    """

    epochs: int = spec.DEFAULT_EPOCHS
    lr: float = spec.DEFAULT_LR
    momentum: float = spec.DEFAULT_MOMENTUM
    weight_decay: float = spec.DEFAULT_WEIGHT_DECAY
    patience: int = spec.DEFAULT_PATIENCE
    min_delta: float = spec.DEFAULT_MIN_DELTA
    batch_size: int | None = None
    seed: int = spec.DEFAULT_SEED

    @classmethod
    def of(cls, source: object, **overrides: Any) -> TrainConfig:
        """The config whose fields are the same-named attributes of ``source`` (a
        ``RunSpec``, an estimator), with ``overrides`` taking precedence."""
        names = [item.name for item in fields(cls) if item.name not in overrides]
        return cls(**{name: getattr(source, name) for name in names}, **overrides)

    def __post_init__(self) -> None:
        _check_int("epochs", self.epochs, 1, "500")
        _check_real("lr", self.lr, "> 0", "0.1", lambda v: v > 0)
        _check_real("momentum", self.momentum, "in [0, 1)", "0.9", lambda v: 0 <= v < 1)
        _check_real("weight_decay", self.weight_decay, ">= 0", "1e-4", lambda v: v >= 0)
        _check_int("patience", self.patience, 1, "20")
        _check_real("min_delta", self.min_delta, "in [0, 1)", "3e-4", lambda v: 0 <= v < 1)
        if self.batch_size is not None:
            _check_int("batch_size", self.batch_size, 1, "256 (or None for full batch)")
        _check_int("seed", self.seed, 0, "42")


@dataclass(frozen=True)
class EpochEvent:
    """One epoch's record: passed to the ``on_epoch`` callback after every epoch, and (as a
    dict of the same fields) one entry of :attr:`TrainResult.history`.

    Attributes:
        epoch: 1-based number of the epoch just finished.
        epochs: the configured maximum.
        train_loss: training MSE (see :func:`train` for which parameters it measures).
        val_loss: validation MSE after the epoch, or None without a validation set.
    """

    epoch: int
    epochs: int
    train_loss: float
    val_loss: float | None


@dataclass(frozen=True)
class TrainResult:
    """Outcome of :func:`train`.

    Attributes:
        model: with validation data, the parameters of the epoch with the best
            validation MSE (whether or not training stopped early); else the last ones.
        history: one dict per epoch, the fields of its :class:`EpochEvent` (``epoch``,
            ``epochs``, ``train_loss``, ``val_loss``).
        best_epoch: epoch whose parameters ``model`` holds.
        stopped_early: True when patience ran out before ``epochs``.
        epochs_run: number of epochs trained.
    """

    model: QScoreModel
    history: list[dict[str, float | int | None]] = field(repr=False)
    best_epoch: int
    stopped_early: bool
    epochs_run: int


def train(
    X_train: ArrayLike,
    y_train: ArrayLike,
    X_val: ArrayLike | None = None,
    y_val: ArrayLike | None = None,
    *,
    config: TrainConfig | None = None,
    init: QScoreModel | None = None,
    on_epoch: Callable[[EpochEvent], None] | None = None,
) -> TrainResult:
    """Fit the Q-score model to rows already scaled to [0, 1].

    The reported ``train_loss`` is the MSE at the parameters *before* each update, which
    the gradient step computes anyway (no extra pass): in full batch, the MSE of the
    parameters the epoch started from; with mini-batches, the row-weighted mean of the
    batch MSEs. ``val_loss`` is the validation MSE *after* the epoch's updates.

    Args:
        X_train: training rows x d.
        y_train: training targets.
        X_val: validation rows (enables early stopping), or None.
        y_val: validation targets, given exactly when ``X_val`` is.
        config: hyper-parameters; default ``TrainConfig()``.
        init: starting model (projected onto the feasible set first); default
            ``QScoreModel.default(d)``.
        on_epoch: called with an :class:`EpochEvent` after every epoch; an exception it
            raises aborts training and propagates (e.g. for cancellation).

    Returns:
        The :class:`TrainResult`.

    Raises:
        ParameterError: malformed data, mismatched dimensions or a bad ``init``.
    """
    config = config or TrainConfig()
    train_data = KernelRows.from_arrays(X_train, y_train)
    if train_data.n_rows == 0:
        raise ParameterError("`X_train` must have at least one row")
    val_data = _validation_data(X_val, y_val, train_data.n_dims)
    theta = QScoreModel.project(_initial(init, train_data.n_dims).to_vector())
    optimiser = MomentumOptimiser(theta.size, config)
    rng = np.random.default_rng(config.seed)
    stopper = _EarlyStopping(config.patience, config.min_delta)
    history: list[dict[str, float | int | None]] = []
    for epoch in range(1, config.epochs + 1):
        train_loss = _run_epoch(theta, optimiser, train_data, config, rng)
        val_loss = None if val_data is None else mean_squared_error(theta, val_data)
        event = EpochEvent(epoch, config.epochs, train_loss, val_loss)
        history.append(asdict(event))
        if on_epoch is not None:
            on_epoch(event)
        if val_loss is not None and stopper.should_stop(epoch, val_loss, theta):
            break
    if val_data is None:
        return TrainResult(QScoreModel.from_vector(theta), history, epoch, False, epoch)
    stopped = epoch < config.epochs
    return TrainResult(
        QScoreModel.from_vector(stopper.best_theta), history, stopper.best_epoch, stopped, epoch
    )


STEP_GROWTH = 1.05
"""Factor on the step after an epoch whose training loss did not rise."""
STEP_CUT = 0.5
"""Factor on the step at a restart (the training loss rose)."""
MAX_STEP_FACTOR = 10.0
"""The step never exceeds ``MAX_STEP_FACTOR * lr``."""


class MomentumOptimiser:
    """Projected heavy-ball updates with adaptive restart and an adaptive step size."""

    def __init__(self, size: int, config: TrainConfig) -> None:
        self.velocity = np.zeros(size)
        self.momentum = config.momentum
        self.step = config.lr
        self.max_step = MAX_STEP_FACTOR * config.lr
        self.last_loss = math.inf
        self.restarts = 0

    def observe(self, loss: float) -> None:
        """Adapt to the training loss at the current parameters: if it rose since the last
        call, restart (zero the velocity) and halve the step; else grow the step."""
        if loss > self.last_loss:
            self.velocity[:] = 0.0
            self.step *= STEP_CUT
            self.restarts += 1
        else:
            self.step = min(self.step * STEP_GROWTH, self.max_step)
        self.last_loss = loss

    def update(self, theta: np.ndarray, grad: np.ndarray) -> None:
        """``v <- momentum v - step grad; theta <- Project(theta + v)``, in place."""
        self.velocity *= self.momentum
        self.velocity -= self.step * grad
        theta[:] = QScoreModel.project(theta + self.velocity)


class _EarlyStopping:
    """Tracks the best validation MSE and the parameters that reached it."""

    def __init__(self, patience: int, min_delta: float) -> None:
        self.patience = patience
        self.min_delta = min_delta
        self.best_loss = math.inf
        self.best_epoch = 0
        self.best_theta = np.empty(0)
        self.waited = 0

    def should_stop(self, epoch: int, val_loss: float, theta: np.ndarray) -> bool:
        """Record this epoch; True once ``patience`` epochs passed without a validation
        MSE below ``best * (1 - min_delta)``."""
        if val_loss < self.best_loss * (1.0 - self.min_delta):
            self.best_loss, self.best_epoch, self.best_theta = val_loss, epoch, theta.copy()
            self.waited = 0
            return False
        self.waited += 1
        return self.waited >= self.patience


def _run_epoch(
    theta: np.ndarray,
    optimiser: MomentumOptimiser,
    data: KernelRows,
    config: TrainConfig,
    rng: np.random.Generator,
) -> float:
    """One epoch of updates to ``theta`` and ``optimiser`` in place; returns the train MSE.

    Full batch: the loss at ``theta`` is known before the update, so the optimiser adapts
    first and then steps. Mini-batches: it steps on every batch and adapts once at the end,
    on the row-weighted mean batch loss (one batch's loss says little about the next).
    """
    if config.batch_size is None:
        result = objective(theta, data, config.weight_decay)
        optimiser.observe(result.loss)
        optimiser.update(theta, result.grad)
        return result.mse
    order = rng.permutation(data.n_rows)
    mse = loss = 0.0
    for start in range(0, data.n_rows, config.batch_size):
        batch = data.take(order[start : start + config.batch_size])
        result = objective(theta, batch, config.weight_decay)
        optimiser.update(theta, result.grad)
        mse += result.mse * batch.n_rows
        loss += result.loss * batch.n_rows
    optimiser.observe(loss / data.n_rows)
    return mse / data.n_rows


def _validation_data(X_val: ArrayLike | None, y_val: ArrayLike | None, d: int) -> KernelRows | None:
    if (X_val is None) != (y_val is None):
        raise ParameterError("pass both `X_val` and `y_val`, or neither")
    if X_val is None:
        return None
    data = KernelRows.from_arrays(X_val, y_val)
    if data.n_dims != d or data.n_rows == 0:
        raise ParameterError(
            f"`X_val` must have at least one row and {d} columns like `X_train`, "
            f"got shape {(data.n_rows, data.n_dims)}"
        )
    return data


def _initial(init: QScoreModel | None, d: int) -> QScoreModel:
    if init is None:
        return QScoreModel.default(d)
    if init.n_dims != d:
        raise ParameterError(
            f"`init` has {init.n_dims} weights but the data has {d} columns: "
            f"use QScoreModel.default({d}) or a model trained on {d} dimensions"
        )
    return init


def _check_int(name: str, value: object, minimum: int, example: str) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ParameterError(
            f"`{name}` must be an integer >= {minimum}, e.g. {example}; got {value!r}"
        )


def _check_real(
    name: str, value: object, rule: str, example: str, ok: Callable[[float], bool]
) -> None:
    valid = (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and ok(float(value))
    )
    if not valid:
        raise ParameterError(f"`{name}` must be {rule}, e.g. {example}; got {value!r}")
