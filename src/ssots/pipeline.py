"""The one training path, as pure compute: a loaded frame -> features -> labels -> split ->
normalise -> train -> calibrate -> evaluate (ARCHITECTURE.md).

Calibration (MODEL.md section 5b) maps the raw Q to the expected label with a monotone
map fitted on the training rows only; metrics judge the calibrated Q (with the raw Q's
rank IC beside them) and the Q-filter thresholds the raw Q, so trading decisions do not
depend on the map.

``run`` reads no environment, opens no database and downloads nothing: the training
service (``ssots.services.training``) resolves and loads the dataset, calls ``run`` and
writes the artifacts, for the CLI and the job worker alike. Nothing else re-implements a
step."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from ssots import evaluate, evidence, features, splits, strategies
from ssots.backtest import BacktestResult, backtest
from ssots.data.market import check_gaps
from ssots.errors import DataError, ParameterError
from ssots.events import Event, EventSink, epoch_event, stage_event
from ssots.labels import label_lookahead, performance_labels, rules_labels
from ssots.model import (
    DEFAULT_CALIBRATION,
    Calibration,
    EpochEvent,
    QScoreModel,
    TrainConfig,
    TrainResult,
    train,
)
from ssots.spec import BOOKS, RunSpec, min_rows, min_rows_reason


@dataclass(frozen=True)
class PreparedData:
    """A dataset turned into model rows: normalised features, labels and the split."""

    times: pd.DatetimeIndex
    raw_x: np.ndarray
    x: np.ndarray
    y: np.ndarray
    direction: np.ndarray
    close: np.ndarray
    split: splits.Split
    normalizer: features.Normalizer

    def split_dates(self) -> dict[str, dict[str, str]]:
        """The first and last bar time (ISO) of each block of the split, e.g.
        ``{"train": {"start": ..., "end": ...}, "validation": ..., "test": ...}``."""
        return {
            name: {
                "start": self.times[rows.start].isoformat(),
                "end": self.times[rows.stop - 1].isoformat(),
            }
            for name, rows in vars(self.split).items()
        }


@dataclass
class RunResult:
    """What a run produced: the model, its normaliser and calibration, metrics and
    provenance.

    ``metrics`` judge the calibrated Q on the test split and add ``raw_rank_ic``, the raw
    Q's rank IC; ``backtest`` trades the test split on the raw Q (MODEL.md section 7);
    ``walk_forward`` is the ``walk_forward`` function's report when the spec asks for
    folds, else None; ``evidence`` is ``evidence.run_evidence``: intervals, tests against
    no skill and the verdict of the test split and of the walk-forward folds pooled.
    """

    spec: RunSpec
    dataset: dict[str, Any]
    model: QScoreModel
    normalizer: features.Normalizer
    calibration: Calibration
    metrics: dict[str, float]
    baselines: dict[str, dict[str, float]]
    history: list[dict[str, float | None]]
    best_epoch: int
    stopped_early: bool
    split_sizes: dict[str, int]
    backtest: BacktestResult
    walk_forward: dict[str, Any] | None = None
    split_dates: dict[str, dict[str, str]] = field(default_factory=dict)
    evidence: dict[str, Any] | None = None
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def weights(self) -> dict[str, float]:
        """The 13 learned parameters keyed ``w_<dimension>`` x 8, alpha .. delta_max."""
        names = self.model.param_names(features.DIMENSIONS)
        return dict(zip(names, self.model.to_vector().tolist(), strict=True))


def run(
    spec: RunSpec,
    frame: pd.DataFrame,
    on_event: EventSink | None = None,
    *,
    source: Mapping[str, Any] | None = None,
) -> RunResult:
    """Train and evaluate a model on ``frame`` with the settings of ``spec``.

    Args:
        spec: the run's settings (``spec.dataset`` is only recorded; ``frame`` is the data).
        frame: canonical OHLCV bars (``ssots.data.load`` or ``ssots.data.demo``).
        on_event: called with stage and epoch ``Event``s (progress bars, job events).
        source: where ``frame`` came from (name, kind, path, sha256, spacing, repairs),
            recorded in ``RunResult.dataset`` beside the frame's rows and span.

    Returns:
        The trained model with test metrics next to the baselines, the test-split
        backtest and, when ``spec.walk_forward`` is set, the walk-forward report.

    Raises:
        SsotsError: unusable data or settings (message says what to do).
    """
    emit = on_event or (lambda event: None)
    emit(stage_event("computing features and labels"))
    prepared = prepare(frame, spec)
    emit(stage_event("training"))
    result = _fit(prepared, spec, on_epoch=lambda e: emit(_epoch_event(e)))
    emit(stage_event("calibrating"))
    raw, calibration = _calibrated(prepared, result.model)
    emit(stage_event("evaluating"))
    metrics = _test_metrics(prepared, calibration(raw), raw)
    baselines = _baselines(prepared, spec.seed)
    trading = _backtest_test_rows(prepared, raw, spec)
    folds = walk_forward(prepared, spec, emit) if spec.walk_forward else None
    emit(stage_event("weighing the evidence"))
    test_evidence = evidence.block_evidence(
        _test_block(prepared, calibration(raw), raw, trading), seed=spec.seed
    )
    pooled = None if folds is None else folds["aggregate"]["evidence"]
    run_evidence = evidence.run_evidence(test_evidence, pooled, spec.walk_forward)
    return RunResult(
        spec=spec,
        dataset=_provenance(frame, source),
        model=result.model,
        normalizer=prepared.normalizer,
        calibration=calibration,
        metrics=metrics,
        baselines=baselines,
        history=result.history,
        best_epoch=result.best_epoch,
        stopped_early=result.stopped_early,
        split_sizes=prepared.split.sizes(),
        backtest=trading,
        walk_forward=folds,
        split_dates=prepared.split_dates(),
        evidence=run_evidence,
    )


def _test_block(
    prepared: PreparedData, calibrated: np.ndarray, raw: np.ndarray, trading: BacktestResult
) -> evidence.TestBlock:
    """The test rows of ``prepared`` with their Q and backtest, for ``evidence``."""
    test = _rows(prepared.split.test)
    return evidence.TestBlock(
        y=prepared.y[test],
        calibrated=calibrated[test],
        raw=raw[test],
        close=prepared.close[test],
        direction=prepared.direction[test],
        backtest=trading,
    )


def _provenance(frame: pd.DataFrame, source: Mapping[str, Any] | None) -> dict[str, Any]:
    """``source`` with the frame's own rows and span (JSON-ready)."""
    return {
        **(source or {"name": "in-memory frame", "kind": "frame"}),
        "rows": len(frame),
        "start": frame.index[0].isoformat(),
        "end": frame.index[-1].isoformat(),
    }


def prepare(frame: pd.DataFrame, spec: RunSpec) -> PreparedData:
    """Features, labels, purged split and a Normalizer fitted on the training rows only.

    Raises:
        DataError: too few rows for the split, or a gap in the bars (``check_trainable``).
    """
    check_trainable(frame, spec)
    seen = strategies.signals(spec.strategy, frame)
    direction, raw_dims = seen.direction, seen.raw_dimensions
    if spec.labels == "performance":
        y_all = performance_labels(
            frame["close"].to_numpy(),
            direction,
            seen.indicators["volatility20"].to_numpy(),
            spec.horizon,
        )
    else:
        y_all = rules_labels(seen.indicators, raw_dims, spec.seed)
    lookahead = label_lookahead(spec.labels, spec.horizon)
    usable = slice(features.WARMUP_BARS, len(frame) - lookahead)
    raw_x = raw_dims.to_numpy()[usable]
    y = y_all[usable]
    if not (np.isfinite(raw_x).all() and np.isfinite(y).all()):
        raise DataError("the dataset yields undefined features after the warm-up; check its prices")
    try:
        split = splits.chronological_split(len(y), spec.split, lookahead)
    except ParameterError as exc:
        raise DataError(str(exc)) from None
    normalizer, x = _normalised(raw_x, split)
    return PreparedData(
        times=frame.index[usable],
        raw_x=raw_x,
        x=x,
        y=y,
        direction=direction[usable],
        close=frame["close"].to_numpy()[usable],
        split=split,
        normalizer=normalizer,
    )


def check_trainable(frame: pd.DataFrame, spec: RunSpec) -> None:
    """Refuse a frame the run cannot train on: fewer bars than ``spec.min_rows`` gives
    for its split and label look-ahead, or (unless ``spec.allow_gaps``) a gap between bars
    longer than ``spec.MAX_GAP_SPACINGS`` median spacings.

    Raises:
        DataError: saying how many rows the run needs, or where the gap is.
    """
    lookahead = label_lookahead(spec.labels, spec.horizon)
    needed = min_rows(spec.split, lookahead)
    if len(frame) < needed:
        raise DataError(
            f"the dataset has {len(frame):,} bars; this run needs at least {needed} "
            f"({min_rows_reason(spec.split, lookahead)}); use a longer price history, or a "
            "shorter horizon"
        )
    if not spec.allow_gaps:
        check_gaps(frame.index)


def _normalised(
    raw_x: np.ndarray, split: splits.Split
) -> tuple[features.Normalizer, np.ndarray]:
    """A Normalizer fitted on the split's training rows only, and every row scaled by it."""
    normalizer = features.Normalizer().fit(raw_x[_rows(split.train)])
    return normalizer, normalizer.transform(raw_x)


def _calibrated(prepared: PreparedData, model: QScoreModel) -> tuple[np.ndarray, Calibration]:
    """The raw Q of every row and the calibration fitted on the training rows only (labels
    lie in [0, 1], so calibrated values are clipped to it)."""
    raw = model.predict(prepared.x)
    train_rows = _rows(prepared.split.train)
    calibration = Calibration.fit(
        raw[train_rows], prepared.y[train_rows], DEFAULT_CALIBRATION, bounds=(0.0, 1.0)
    )
    return raw, calibration


def _test_metrics(
    prepared: PreparedData, calibrated: np.ndarray, raw: np.ndarray
) -> dict[str, float]:
    """Metrics of the calibrated Q on the test rows, with the raw Q's rank IC."""
    test = _rows(prepared.split.test)
    return evaluate.q_model_metrics(prepared.y[test], calibrated[test], raw[test])


def _baselines(prepared: PreparedData, seed: int) -> dict[str, dict[str, float]]:
    """The baselines fitted on the training rows, judged on the test rows."""
    train_rows, test = _rows(prepared.split.train), _rows(prepared.split.test)
    return evaluate.baseline_metrics(
        prepared.x[train_rows], prepared.y[train_rows], prepared.x[test], prepared.y[test], seed
    )


def with_split(prepared: PreparedData, split: splits.Split) -> PreparedData:
    """The same rows under another split, with a Normalizer refitted on its training rows."""
    normalizer, x = _normalised(prepared.raw_x, split)
    return replace(prepared, split=split, normalizer=normalizer, x=x)


def walk_forward(
    prepared: PreparedData, spec: RunSpec, on_event: EventSink | None = None
) -> dict[str, Any]:
    """Expanding-window walk-forward validation with ``spec.walk_forward`` folds.

    Folds come from ``splits.walk_forward_splits`` (purged like the main split; each
    validation tail keeps the spec's validation share of train + validation). Every fold
    refits the Normalizer on its own training rows, trains from the default initialisation
    with the spec's settings, calibrates on its own training rows, and is judged on its
    test block: metrics of the calibrated Q (with ``raw_rank_ic``) and the three books on
    the raw Q (threshold: ``q_threshold`` of the fold's training rows).

    Returns:
        JSON-ready ``{"folds": [...], "aggregate": {...}}``. Each fold has ``fold``, the
        ``train`` / ``validation`` / ``test`` row ranges ``[start, stop)``, ``best_epoch``,
        ``calibration`` (the fold's map, ``Calibration.to_dict``), ``metrics``,
        ``backtest`` (without curves) and ``evidence`` (``evidence.block_evidence``). The
        aggregate has the ``metrics`` of all test rows pooled, ``mean_r2``,
        ``mean_sharpe`` and total ``trades`` per book, ``q_filter_beats_strategy``: folds
        whose Q-filtered Sharpe is above the strategy's (an undefined Sharpe, a book that
        never moved, counts as 0), and ``evidence``: ``evidence.pooled_evidence`` of the
        folds' test blocks.

    Raises:
        ParameterError: ``spec.walk_forward`` is not set.
        DataError: too few rows for a block of some fold.
    """
    if spec.walk_forward is None:
        raise ParameterError("set `walk_forward` to the number of folds (2..20)")
    emit = on_event or (lambda event: None)
    train_share, validation_share, _ = spec.split
    try:
        fold_splits = splits.walk_forward_splits(
            len(prepared.y),
            spec.walk_forward,
            validation_share / (train_share + validation_share),
            label_lookahead(spec.labels, spec.horizon),
        )
    except ParameterError as exc:
        raise DataError(str(exc)) from None
    folds, tested, blocks = [], [], []
    for number, split in enumerate(fold_splits, start=1):
        emit(stage_event(f"walk-forward fold {number} of {len(fold_splits)}"))
        fold = with_split(prepared, split)
        trained = _fit(fold, spec)
        raw, calibration = _calibrated(fold, trained.model)
        calibrated = calibration(raw)
        test = _rows(split.test)
        tested.append((fold.y[test], calibrated[test], raw[test]))
        trading = _backtest_test_rows(fold, raw, spec)
        blocks.append(_test_block(fold, calibrated, raw, trading))
        folds.append(
            {
                "fold": number,
                **{name: [rows.start, rows.stop] for name, rows in vars(split).items()},
                "best_epoch": trained.best_epoch,
                "calibration": calibration.to_dict(),
                "metrics": _test_metrics(fold, calibrated, raw),
                "backtest": trading.to_dict(max_points=None),
                "evidence": evidence.block_evidence(blocks[-1], seed=spec.seed + number),
            }
        )
    aggregate = _walk_forward_aggregate(folds, tested)
    aggregate["evidence"] = evidence.pooled_evidence(blocks, seed=spec.seed)
    return {"folds": folds, "aggregate": aggregate}


def _walk_forward_aggregate(
    folds: list[dict[str, Any]], tested: list[tuple[np.ndarray, np.ndarray, np.ndarray]]
) -> dict[str, Any]:
    def per_fold(book: str, metric: str) -> list[Any]:
        return [fold["backtest"]["metrics"][book][metric] for fold in folds]

    sharpe = {book: [value or 0.0 for value in per_fold(book, "sharpe")] for book in BOOKS}
    y_true, calibrated, raw = (np.concatenate(part) for part in zip(*tested, strict=True))
    return {
        "metrics": evaluate.q_model_metrics(y_true, calibrated, raw),
        "mean_r2": float(np.mean([fold["metrics"]["r2"] for fold in folds])),
        "mean_sharpe": {book: float(np.mean(values)) for book, values in sharpe.items()},
        "trades": {book: sum(per_fold(book, "trades")) for book in BOOKS},
        "q_filter_beats_strategy": sum(
            q > s for q, s in zip(sharpe["q_filtered"], sharpe["strategy"], strict=True)
        ),
    }


def train_config(spec: RunSpec) -> TrainConfig:
    """The trainer's part of ``spec``."""
    return TrainConfig.of(spec)


def _fit(
    prepared: PreparedData, spec: RunSpec, on_epoch: Callable[[EpochEvent], None] | None = None
) -> TrainResult:
    """Train from the default initialisation on the split's training rows, stopping early
    on its validation rows."""
    train_rows, validation_rows = _rows(prepared.split.train), _rows(prepared.split.validation)
    return train(
        prepared.x[train_rows],
        prepared.y[train_rows],
        prepared.x[validation_rows],
        prepared.y[validation_rows],
        config=train_config(spec),
        init=QScoreModel.default(len(features.DIMENSIONS)),
        on_epoch=on_epoch,
    )


def _backtest_test_rows(
    prepared: PreparedData, raw: np.ndarray, spec: RunSpec
) -> BacktestResult:
    """The three books on the test rows, given the model's raw Q for every row; the
    Q-filter threshold is ``q_threshold`` of the training rows."""
    test = _rows(prepared.split.test)
    threshold = q_threshold(raw[_rows(prepared.split.train)], spec)
    return backtest(
        prepared.times[test],
        prepared.close[test],
        prepared.direction[test],
        raw[test],
        threshold,
        fee_bp=spec.fee_bp,
        slippage_bp=spec.slippage_bp,
    )


def q_threshold(train_raw: np.ndarray, spec: RunSpec) -> float:
    """The Q-filter threshold: ``spec.threshold``, else the ``spec.threshold_quantile``
    quantile (default: the median) of the raw Q on the training rows ``train_raw``."""
    if spec.threshold is not None:
        return spec.threshold
    if spec.threshold_quantile is None:
        return float(np.median(train_raw))
    return float(np.quantile(train_raw, spec.threshold_quantile))


def _rows(block: range) -> slice:
    return slice(block.start, block.stop)


def _epoch_event(event: EpochEvent) -> Event:
    return epoch_event(event.epoch, event.epochs, event.train_loss, event.val_loss)
