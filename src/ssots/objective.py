"""A tuning trial's objective, as pure compute: honest by construction.

``trial_value`` prepares the frame exactly as a run would (features, labels, the purged
chronological split), then keeps only the *development* rows, the training and validation
blocks (``Development``), and scores the trial on those alone. The test block and the
purge gap before it are cut off before ``score`` sees anything, so no objective can read a
test row, its label or its price: the study's one look at the test split is the refit of
the best trial when the study ends (``ssots.services.tuning``).

Objectives (``ssots.tuning.OBJECTIVES``):

- ``val_rank_ic``: train on the training rows (early stopping on the validation rows),
  the Spearman correlation of the raw Q with the label on the validation rows;
- ``val_mse``: the same training, the MSE of the calibrated Q (calibration fitted on the
  training rows) on the validation rows;
- ``wf_sharpe``: expanding-window walk-forward folds over the development rows only
  (``splits.walk_forward_splits`` with the same purge); each fold refits the Normalizer,
  trains, and trades its test block with the Q-filter; the value is the mean annualised
  Sharpe ratio of the Q-filtered book over the folds (an undefined Sharpe counts as 0).

Every trial also measures ``sharpe``: the per-bar Sharpe ratio (``stats.sharpe_sample``)
of the Q-filtered book on the rows it was judged on, which the deflated Sharpe ratio of
the study's best trial needs (the variance of the trials' Sharpe ratios).

Intermediate values go to ``report(value, step)`` in the objective's direction: the
validation MSE every ``report_every`` epochs (negated for ``val_rank_ic``, where higher is
better), or the running mean Sharpe after each fold of ``wf_sharpe``. ``report`` may raise
to stop the trial (pruning); the exception propagates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ssots import features, splits
from ssots.backtest import BacktestResult, Book, backtest
from ssots.errors import DataError, ParameterError
from ssots.evaluate import q_model_metrics
from ssots.labels import label_lookahead
from ssots.model import (
    DEFAULT_CALIBRATION,
    Calibration,
    EpochEvent,
    QScoreModel,
    TrainResult,
    train,
)
from ssots.pipeline import prepare, q_threshold, train_config
from ssots.spec import RunSpec
from ssots.stats import SharpeSample, sharpe_sample

__all__ = [
    "Development",
    "Report",
    "TrialOutcome",
    "book_returns",
    "development",
    "score",
    "trial_value",
]

Report = Callable[[float, int], None]
"""Receives an intermediate value and its step; may raise to prune the trial."""


@dataclass(frozen=True)
class Development:
    """The rows a study may look at: the training block and the validation block of the
    run's purged split, nothing after the validation block's end (whose labels read
    prices up to the bar before the test block).

    Attributes:
        times: bar time of each row.
        raw_x: the 8 raw dimensions per row (normalised by whoever fits on a block).
        y: labels.
        direction: the strategy's direction per row.
        close: close price per row.
        train: the training rows.
        validation: the validation rows (they end where the rows end).
        lookahead: bars a label reads ahead (the purge of inner splits).
    """

    times: pd.DatetimeIndex
    raw_x: np.ndarray
    y: np.ndarray
    direction: np.ndarray
    close: np.ndarray
    train: range
    validation: range
    lookahead: int

    def __len__(self) -> int:
        return len(self.y)


@dataclass(frozen=True)
class TrialOutcome:
    """What a trial measured: its objective ``value``, the per-bar ``sharpe`` of its
    Q-filtered book (None if that book never moved), the ``metrics`` it was judged by, the
    learned ``parameters`` (of the last model it trained) and its loss ``history``."""

    value: float
    sharpe: SharpeSample | None
    metrics: dict[str, Any]
    parameters: dict[str, float]
    history: list[dict[str, Any]]


def development(frame: pd.DataFrame, spec: RunSpec) -> Development:
    """The development rows of ``frame`` under ``spec``'s split (see ``Development``).

    Raises:
        DataError: the frame cannot be prepared (too short, a gap).
    """
    prepared = prepare(frame, spec)
    stop = prepared.split.validation.stop
    return Development(
        times=prepared.times[:stop],
        raw_x=prepared.raw_x[:stop].copy(),
        y=prepared.y[:stop].copy(),
        direction=prepared.direction[:stop].copy(),
        close=prepared.close[:stop].copy(),
        train=prepared.split.train,
        validation=prepared.split.validation,
        lookahead=label_lookahead(spec.labels, spec.horizon),
    )


def trial_value(
    spec: RunSpec,
    frame: pd.DataFrame,
    objective: str,
    *,
    folds: int = 3,
    report: Report | None = None,
    report_every: int = 10,
) -> TrialOutcome:
    """Score one trial's settings ``spec`` on the development rows of ``frame``.

    Raises:
        DataError: unusable data for these settings.
        ParameterError: an unknown objective.
    """
    return score(
        development(frame, spec),
        spec,
        objective,
        folds=folds,
        report=report,
        report_every=report_every,
    )


def score(
    rows: Development,
    spec: RunSpec,
    objective: str,
    *,
    folds: int = 3,
    report: Report | None = None,
    report_every: int = 10,
) -> TrialOutcome:
    """The objective on ``rows`` alone (they hold no test row).

    Raises:
        DataError: too few rows for the inner folds.
        ParameterError: an unknown objective.
    """
    if objective in ("val_rank_ic", "val_mse"):
        return _validation(rows, spec, objective, report, report_every)
    if objective == "wf_sharpe":
        return _walk_forward(rows, spec, folds, report)
    raise ParameterError(
        f"unknown objective {objective!r}; choose val_rank_ic, val_mse or wf_sharpe"
    )


def _fit(
    rows: Development,
    train_rows: range,
    validation_rows: range,
    spec: RunSpec,
    on_epoch: Callable[[EpochEvent], None] | None = None,
) -> tuple[np.ndarray, Calibration, TrainResult]:
    """Normalise on ``train_rows``, train (early stopping on ``validation_rows``),
    calibrate on ``train_rows``; the raw Q of every row, the calibration and the
    training's result."""
    normalizer = features.Normalizer().fit(rows.raw_x[_s(train_rows)])
    x = normalizer.transform(rows.raw_x)
    trained = train(
        x[_s(train_rows)],
        rows.y[_s(train_rows)],
        x[_s(validation_rows)],
        rows.y[_s(validation_rows)],
        config=train_config(spec),
        init=QScoreModel.default(len(features.DIMENSIONS)),
        on_epoch=on_epoch,
    )
    raw = trained.model.predict(x)
    calibration = Calibration.fit(
        raw[_s(train_rows)], rows.y[_s(train_rows)], DEFAULT_CALIBRATION, bounds=(0.0, 1.0)
    )
    return raw, calibration, trained


def _validation(
    rows: Development, spec: RunSpec, objective: str, report: Report | None, every: int
) -> TrialOutcome:
    sign = 1.0 if objective == "val_mse" else -1.0

    def on_epoch(event: EpochEvent) -> None:
        if report is not None and event.epoch % every == 0 and event.val_loss is not None:
            report(sign * float(event.val_loss), event.epoch)

    raw, calibration, trained = _fit(rows, rows.train, rows.validation, spec, on_epoch)
    held = _s(rows.validation)
    metrics = q_model_metrics(rows.y[held], calibration(raw[held]), raw[held])
    book = _q_book(rows, raw, rows.train, rows.validation, spec)
    value = metrics["mse"] if objective == "val_mse" else metrics["raw_rank_ic"]
    returns = book_returns(book.books["q_filtered"])
    metrics["sharpe"] = book.metrics["q_filtered"]["sharpe"]
    return TrialOutcome(
        float(value), _sample(returns), metrics, _parameters(trained), trained.history
    )


def _walk_forward(
    rows: Development, spec: RunSpec, folds: int, report: Report | None
) -> TrialOutcome:
    train_share, validation_share, _ = spec.split
    try:
        inner = splits.walk_forward_splits(
            len(rows), folds, validation_share / (train_share + validation_share), rows.lookahead
        )
    except ParameterError as exc:
        raise DataError(f"{exc} (inner folds of the training + validation rows)") from None
    sharpes: list[float] = []
    pooled: list[np.ndarray] = []
    for number, split in enumerate(inner, start=1):
        raw, _, trained = _fit(rows, split.train, split.validation, spec)
        book = _q_book(rows, raw, split.train, split.test, spec)
        sharpes.append(book.metrics["q_filtered"]["sharpe"] or 0.0)
        pooled.append(book_returns(book.books["q_filtered"]))
        if report is not None:
            report(float(np.mean(sharpes)), number)
    value = float(np.mean(sharpes))
    return TrialOutcome(
        value,
        _sample(np.concatenate(pooled)),
        {"fold_sharpe": sharpes, "sharpe": value},
        _parameters(trained),
        trained.history,
    )


def _q_book(
    rows: Development, raw: np.ndarray, fitted: range, judged: range, spec: RunSpec
) -> BacktestResult:
    """The three books on the ``judged`` rows, thresholded on the ``fitted`` rows' raw Q."""
    threshold = q_threshold(raw[_s(fitted)], spec)
    held = _s(judged)
    return backtest(
        rows.times[held],
        rows.close[held],
        rows.direction[held],
        raw[held],
        threshold,
        fee_bp=spec.fee_bp,
        slippage_bp=spec.slippage_bp,
    )


def book_returns(book: Book) -> np.ndarray:
    """Bar-to-bar returns of ``book``'s equity (the first from its starting 1): what the
    per-bar Sharpe ratio of the deflated Sharpe ratio is measured on."""
    previous = np.concatenate(([1.0], book.equity[:-1]))
    return np.divide(book.equity, previous, out=np.ones_like(book.equity), where=previous > 0) - 1


def _parameters(trained: TrainResult) -> dict[str, float]:
    names = trained.model.param_names(features.DIMENSIONS)
    return dict(zip(names, trained.model.to_vector().tolist(), strict=True))


def _sample(returns: np.ndarray) -> SharpeSample | None:
    if returns.size < 2 or float(np.std(returns)) == 0.0:
        return None
    return sharpe_sample(returns)


def _s(block: range) -> slice:
    return slice(block.start, block.stop)
