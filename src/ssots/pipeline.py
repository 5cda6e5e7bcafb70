"""The one training path: dataset -> features -> labels -> split -> normalise -> train ->
evaluate (ARCHITECTURE.md). The CLI calls ``run`` in-process; the job system calls it in a
worker. Nothing else re-implements a step."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ssots import evaluate, features, splits, strategies
from ssots.backtest import BOOKS, DEFAULT_FEE_BP, BacktestResult, backtest
from ssots.errors import DataError, ParameterError
from ssots.labels import DEFAULT_HORIZON, label_lookahead, performance_labels, rules_labels
from ssots.model import QScoreModel
from ssots.trainer import EpochEvent, TrainConfig, TrainResult, train


class RunSpec(BaseModel):
    """Everything that defines a training run. Same spec and data -> identical weights."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dataset: str = Field(
        "demo",
        description="`demo`, a CSV/Parquet path, a registered dataset, or kaggle:OWNER/SLUG",
    )
    strategy: str = Field("momentum-cross", description="strategy whose calls are scored")
    labels: Literal["performance", "rules"] = "performance"
    horizon: int = Field(DEFAULT_HORIZON, ge=1, le=500, description="label horizon, bars")
    epochs: int = Field(500, ge=1, le=100_000)
    lr: float = Field(0.1, gt=0, le=10)
    momentum: float = Field(0.9, ge=0, lt=1)
    weight_decay: float = Field(0.0, ge=0, le=1)
    patience: int = Field(50, ge=1)
    batch_size: int | None = Field(None, ge=1)
    seed: int = Field(42, ge=0)
    split: tuple[float, float, float] = splits.DEFAULT_RATIOS
    demo_days: int = Field(1095, ge=90, le=36_500, description="length of demo data, days")
    demo_freq: str = Field("1d", description="bar spacing of demo data")
    threshold: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Q-filter threshold (default: median predicted Q on the training rows)",
    )
    fee_bp: float = Field(
        DEFAULT_FEE_BP,
        ge=0,
        le=1000,
        description="backtest fee per unit of position change, basis points",
    )
    slippage_bp: float = Field(
        0.0, ge=0, le=1000, description="backtest slippage per unit of position change, bp"
    )
    walk_forward: int | None = Field(
        None, ge=2, le=20, description="also validate with this many expanding-window folds"
    )

    @field_validator("strategy")
    @classmethod
    def _known_strategy(cls, value: str) -> str:
        return strategies.check_strategy(value)

    @field_validator("split", mode="before")
    @classmethod
    def _valid_split(cls, value: Any) -> tuple[float, float, float]:
        return splits.parse_ratios(value)

    @classmethod
    def build(cls, **values: Any) -> RunSpec:
        """Validate ``values`` into a spec, raising ParameterError that names each bad field."""
        try:
            return cls(**values)
        except ValidationError as exc:
            problems = "; ".join(
                f"`{'.'.join(str(p) for p in err['loc'])}`: {err['msg']}" for err in exc.errors()
            )
            raise ParameterError(f"invalid run settings: {problems}") from None

    def train_config(self) -> TrainConfig:
        """The trainer's part of the spec."""
        return TrainConfig(
            epochs=self.epochs,
            lr=self.lr,
            momentum=self.momentum,
            weight_decay=self.weight_decay,
            patience=self.patience,
            batch_size=self.batch_size,
            seed=self.seed,
        )


@dataclass(frozen=True)
class Event:
    """Progress of a run: ``kind`` is "stage" (data: {"stage": name}) or "epoch"
    (data: epoch, epochs, train_loss, val_loss)."""

    kind: Literal["stage", "epoch"]
    data: dict[str, Any]


EventSink = Callable[[Event], None]


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


@dataclass
class RunResult:
    """What a run produced: the model, its normaliser, metrics and provenance.

    ``backtest`` trades the test split (MODEL.md section 7); ``walk_forward`` is the
    ``walk_forward`` function's report when the spec asks for folds, else None.
    """

    spec: RunSpec
    dataset: dict[str, Any]
    model: QScoreModel
    normalizer: features.Normalizer
    metrics: dict[str, float]
    baselines: dict[str, dict[str, float]]
    history: list[dict[str, float | None]]
    best_epoch: int
    stopped_early: bool
    split_sizes: dict[str, int]
    backtest: BacktestResult
    walk_forward: dict[str, Any] | None = None
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def weights(self) -> dict[str, float]:
        """The 13 learned parameters keyed ``w_<dimension>`` x 8, alpha .. delta_max."""
        names = self.model.param_names(features.DIMENSIONS)
        return dict(zip(names, self.model.to_vector().tolist(), strict=True))


def run(spec: RunSpec, on_event: EventSink | None = None) -> RunResult:
    """Run the whole pipeline for ``spec``.

    Args:
        spec: the run's settings.
        on_event: called with stage and epoch ``Event``s (progress bars, job events).

    Returns:
        The trained model with test metrics next to the baselines, the test-split
        backtest and, when ``spec.walk_forward`` is set, the walk-forward report.

    Raises:
        SsotsError: unusable dataset or settings (message says what to do).
    """
    emit = on_event or (lambda event: None)
    emit(Event("stage", {"stage": "loading data"}))
    from ssots.config import Settings  # TODO(lead): services.training resolves the data
    from ssots.services.datasets import resolve

    dataset = resolve(
        spec.dataset,
        Settings.from_env(),
        seed=spec.seed,
        demo_days=spec.demo_days,
        demo_freq=spec.demo_freq,
    )
    emit(Event("stage", {"stage": "computing features and labels"}))
    prepared = prepare(dataset.frame, spec)
    emit(Event("stage", {"stage": "training"}))
    result = _fit(prepared, spec, on_epoch=lambda e: emit(Event("epoch", _epoch_data(e))))
    emit(Event("stage", {"stage": "evaluating"}))
    predicted = result.model.predict(prepared.x)
    metrics = _test_metrics(prepared, predicted)
    baselines = _baselines(prepared, spec.seed)
    trading = _backtest_test_rows(prepared, predicted, spec)
    folds = walk_forward(prepared, spec, emit) if spec.walk_forward else None
    return RunResult(
        spec=spec,
        dataset=dataset.describe(),
        model=result.model,
        normalizer=prepared.normalizer,
        metrics=metrics,
        baselines=baselines,
        history=result.history,
        best_epoch=result.best_epoch,
        stopped_early=result.stopped_early,
        split_sizes=prepared.split.sizes(),
        backtest=trading,
        walk_forward=folds,
    )


def prepare(frame: pd.DataFrame, spec: RunSpec) -> PreparedData:
    """Features, labels, purged split and a Normalizer fitted on the training rows only.

    Raises:
        DataError: too few usable rows for the split.
    """
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


def _normalised(
    raw_x: np.ndarray, split: splits.Split
) -> tuple[features.Normalizer, np.ndarray]:
    """A Normalizer fitted on the split's training rows only, and every row scaled by it."""
    normalizer = features.Normalizer().fit(raw_x[_rows(split.train)])
    return normalizer, normalizer.transform(raw_x)


def _test_metrics(prepared: PreparedData, predicted: np.ndarray) -> dict[str, float]:
    """Regression metrics of ``predicted`` (one Q per row) on the test rows."""
    test = _rows(prepared.split.test)
    return evaluate.regression_metrics(prepared.y[test], predicted[test])


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
    with the spec's settings, and is judged on its test block: regression metrics and the
    three books (threshold: ``spec.threshold`` or the fold's training median).

    Returns:
        JSON-ready ``{"folds": [...], "aggregate": {...}}``. Each fold has ``fold``, the
        ``train`` / ``validation`` / ``test`` row ranges ``[start, stop)``, ``best_epoch``,
        ``metrics`` and ``backtest`` (without curves). The aggregate has the ``metrics`` of
        all test rows pooled, ``mean_r2``, ``mean_sharpe`` and total ``trades`` per book,
        and ``q_filter_beats_strategy``: folds whose Q-filtered Sharpe is above the
        strategy's (an undefined Sharpe, a book that never moved, counts as 0).

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
    folds, tested = [], []
    for number, split in enumerate(fold_splits, start=1):
        emit(Event("stage", {"stage": f"walk-forward fold {number} of {len(fold_splits)}"}))
        fold = with_split(prepared, split)
        trained = _fit(fold, spec)
        predicted = trained.model.predict(fold.x)
        test = _rows(split.test)
        tested.append((fold.y[test], predicted[test]))
        folds.append(
            {
                "fold": number,
                **{name: [rows.start, rows.stop] for name, rows in vars(split).items()},
                "best_epoch": trained.best_epoch,
                "metrics": _test_metrics(fold, predicted),
                "backtest": _backtest_test_rows(fold, predicted, spec).to_dict(max_points=None),
            }
        )
    return {"folds": folds, "aggregate": _walk_forward_aggregate(folds, tested)}


def _walk_forward_aggregate(
    folds: list[dict[str, Any]], tested: list[tuple[np.ndarray, np.ndarray]]
) -> dict[str, Any]:
    def per_fold(book: str, metric: str) -> list[Any]:
        return [fold["backtest"]["metrics"][book][metric] for fold in folds]

    sharpe = {book: [value or 0.0 for value in per_fold(book, "sharpe")] for book in BOOKS}
    y_true, y_pred = (np.concatenate(part) for part in zip(*tested, strict=True))
    return {
        "metrics": evaluate.regression_metrics(y_true, y_pred),
        "mean_r2": float(np.mean([fold["metrics"]["r2"] for fold in folds])),
        "mean_sharpe": {book: float(np.mean(values)) for book, values in sharpe.items()},
        "trades": {book: sum(per_fold(book, "trades")) for book in BOOKS},
        "q_filter_beats_strategy": sum(
            q > s for q, s in zip(sharpe["q_filtered"], sharpe["strategy"], strict=True)
        ),
    }


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
        config=spec.train_config(),
        init=QScoreModel.default(len(features.DIMENSIONS)),
        on_epoch=on_epoch,
    )


def _backtest_test_rows(
    prepared: PreparedData, predicted: np.ndarray, spec: RunSpec
) -> BacktestResult:
    """The three books on the test rows, given the model's Q for every row; the Q-filter
    threshold is ``spec.threshold`` or the median predicted Q on the training rows."""
    test = _rows(prepared.split.test)
    threshold = spec.threshold
    if threshold is None:
        threshold = float(np.median(predicted[_rows(prepared.split.train)]))
    return backtest(
        prepared.times[test],
        prepared.close[test],
        prepared.direction[test],
        predicted[test],
        threshold,
        fee_bp=spec.fee_bp,
        slippage_bp=spec.slippage_bp,
    )


def _rows(block: range) -> slice:
    return slice(block.start, block.stop)


def _epoch_data(event: EpochEvent) -> dict[str, Any]:
    return {
        "epoch": event.epoch,
        "epochs": event.epochs,
        "train_loss": event.train_loss,
        "val_loss": event.val_loss,
    }
