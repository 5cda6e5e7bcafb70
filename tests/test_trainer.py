"""Training: the planted-model check of MODEL.md section 7, determinism, early stopping,
the epoch callback, weight decay and configuration errors."""

from __future__ import annotations

import numpy as np
import pytest

from planted import planted, planted_check
from ssots.errors import ParameterError
from ssots.model import EpochEvent, KernelRows, QScoreModel, TrainConfig, mean_squared_error, train


def test_planted_model_is_recovered() -> None:
    """MODEL.md section 7. Patience 50: with momentum 0.9 the validation loss bounces
    for ~30 epochs after the first descent, which patience 20 mistakes for a plateau
    (``benchmarks/sweep_planted.py`` counts how often, over 20 random thetas)."""
    outcome = planted_check(seed=6, patience=50)
    assert outcome.epochs_run <= 1000
    assert outcome.max_w_error < 0.01
    assert outcome.test_r2 > 0.98


def small_problem(seed: int = 0, n: int = 600) -> tuple[np.ndarray, np.ndarray]:
    X, y, _ = planted(seed, n)
    return X, y


@pytest.mark.parametrize("batch_size", [None, 64])
def test_same_seed_gives_bit_identical_parameters(batch_size: int | None) -> None:
    X, y = small_problem()
    config = TrainConfig(epochs=30, batch_size=batch_size, seed=7)
    first = train(X[:400], y[:400], X[400:], y[400:], config=config)
    second = train(X[:400], y[:400], X[400:], y[400:], config=config)
    assert np.array_equal(first.model.to_vector(), second.model.to_vector())
    assert first.history == second.history


def test_mini_batch_seeds_differ() -> None:
    X, y = small_problem()
    runs = [train(X, y, config=TrainConfig(epochs=5, batch_size=50, seed=s)) for s in (1, 2)]
    assert not np.array_equal(runs[0].model.to_vector(), runs[1].model.to_vector())


def test_early_stopping_restores_the_best_parameters() -> None:
    """Validation labels come from a model half-way between the initialisation and the
    training target, so the validation loss falls and then rises."""
    X, y, true = planted(seed=1, n=2000)
    start = QScoreModel.default(8).to_vector()
    halfway = QScoreModel.from_vector((start + true.to_vector()) / 2)
    X_val = X[1500:]
    y_val = halfway.predict(X_val)
    config = TrainConfig(epochs=500, patience=10, min_delta=0.0)
    result = train(X[:1500], y[:1500], X_val, y_val, config=config)
    val = [row["val_loss"] for row in result.history]
    best = result.best_epoch
    assert result.stopped_early
    assert 1 < best < result.epochs_run == best + config.patience == len(val)
    assert min(val) == val[best - 1]
    assert max(val[best:]) > val[best - 1]
    restored = mean_squared_error(result.model.to_vector(), KernelRows.from_arrays(X_val, y_val))
    assert restored == val[best - 1]


def test_improvements_smaller_than_min_delta_do_not_count() -> None:
    X, y = small_problem()
    config = TrainConfig(epochs=100, patience=4, min_delta=1.0)  # no MSE can drop by 1
    result = train(X[:400], y[:400], X[400:], y[400:], config=config)
    assert (result.best_epoch, result.epochs_run, result.stopped_early) == (1, 5, True)


def test_without_validation_all_epochs_run_and_last_parameters_are_kept() -> None:
    X, y = small_problem()
    result = train(X, y, config=TrainConfig(epochs=12))
    assert (result.epochs_run, result.best_epoch, result.stopped_early) == (12, 12, False)
    assert all(row["val_loss"] is None for row in result.history)
    longer = train(X, y, config=TrainConfig(epochs=13))
    # Full batch reports the MSE at the parameters the epoch started from.
    start_13 = mean_squared_error(result.model.to_vector(), KernelRows.from_arrays(X, y))
    assert longer.history[12]["train_loss"] == pytest.approx(start_13, rel=1e-12)
    assert not np.array_equal(longer.model.to_vector(), result.model.to_vector())


def test_first_train_loss_is_the_initial_mse() -> None:
    X, y = small_problem()
    result = train(X, y, config=TrainConfig(epochs=1))
    initial = mean_squared_error(QScoreModel.default(8).to_vector(), KernelRows.from_arrays(X, y))
    assert result.history[0]["train_loss"] == pytest.approx(initial, rel=1e-12)


def test_callback_sees_every_epoch_numbered_from_one() -> None:
    X, y = small_problem()
    events: list[EpochEvent] = []
    config = TrainConfig(epochs=15)
    result = train(X[:400], y[:400], X[400:], y[400:], config=config, on_epoch=events.append)
    assert [e.epoch for e in events] == list(range(1, result.epochs_run + 1))
    assert all(e.epochs == 15 for e in events)
    assert [e.train_loss for e in events] == [row["train_loss"] for row in result.history]
    assert [e.val_loss for e in events] == [row["val_loss"] for row in result.history]


def test_callback_exception_aborts_training() -> None:
    class CancelledError(Exception):
        pass

    seen: list[int] = []

    def cancel_at_three(event: EpochEvent) -> None:
        seen.append(event.epoch)
        if event.epoch == 3:
            raise CancelledError

    X, y = small_problem()
    with pytest.raises(CancelledError):
        train(X, y, config=TrainConfig(epochs=50), on_epoch=cancel_at_three)
    assert seen == [1, 2, 3]


def test_weight_decay_shrinks_the_parameters() -> None:
    X, y = small_problem()
    plain = train(X, y, config=TrainConfig(epochs=100)).model.to_vector()
    decayed = train(X, y, config=TrainConfig(epochs=100, weight_decay=0.05)).model.to_vector()
    assert np.sum(decayed**2) < np.sum(plain**2)
    assert np.sum(decayed[8:] ** 2) < np.sum(plain[8:] ** 2)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("epochs", 0),
        ("epochs", 2.5),
        ("epochs", True),
        ("lr", 0.0),
        ("lr", float("nan")),
        ("momentum", 1.0),
        ("momentum", -0.1),
        ("weight_decay", -1e-3),
        ("patience", 0),
        ("min_delta", -1.0),
        ("batch_size", 0),
        ("seed", -1),
        ("seed", "42"),
    ],
)
def test_config_validation_names_the_field(field: str, value: object) -> None:
    with pytest.raises(ParameterError, match=f"`{field}` must be .*e\\.g\\."):
        TrainConfig(**{field: value})


def test_data_errors() -> None:
    X, y = small_problem()
    with pytest.raises(ParameterError, match="both `X_val` and `y_val`"):
        train(X, y, X_val=X)
    with pytest.raises(ParameterError, match=r"`X_val` must have .* 8 columns"):
        train(X, y, X[:, :3], y)
    with pytest.raises(ParameterError, match="`init` has 3 weights"):
        train(X, y, init=QScoreModel.default(3))
    with pytest.raises(ParameterError, match="`y` must be"):
        train(X, y[:-1])
