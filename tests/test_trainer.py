"""Training: the planted-model check of MODEL.md section 7, the adaptive restart and step
size, determinism, early stopping, the epoch callback, weight decay and configuration
errors."""

from __future__ import annotations

import dataclasses
import itertools

import numba
import numpy as np
import pytest

from planted import planted, planted_check
from ssots.errors import ParameterError
from ssots.model import (
    EpochEvent,
    KernelRows,
    QScoreModel,
    QScoreRegressor,
    TrainConfig,
    _fused,
    _trainer,
    mean_squared_error,
    train,
)
from ssots.model._trainer import MAX_STEP_FACTOR, STEP_CUT, STEP_GROWTH, MomentumOptimiser


@pytest.mark.parametrize("seed", range(10))
def test_planted_model_is_recovered(seed: int) -> None:
    """MODEL.md section 7 with the library defaults, on the first 10 of the 50 seeds that
    ``benchmarks/sweep_planted.py`` runs."""
    outcome = planted_check(seed)
    assert outcome.epochs_run <= TrainConfig().epochs
    assert outcome.max_w_error < 0.01
    assert outcome.test_r2 > 0.98


def test_regressor_defaults_are_the_train_config_defaults() -> None:
    params = QScoreRegressor().get_params()
    for field in dataclasses.fields(TrainConfig):
        if field.name != "seed":  # the estimator's is random_state
            assert params[field.name] == field.default, field.name


def test_a_rise_restarts_the_momentum_and_halves_the_step() -> None:
    config = TrainConfig(lr=0.1)
    optimiser = MomentumOptimiser(3, config)
    optimiser.velocity[:] = [1.0, -2.0, 0.5]
    optimiser.observe(1.0)  # the first loss is no rise: the step grows
    assert optimiser.step == pytest.approx(0.1 * STEP_GROWTH)
    assert optimiser.velocity.tolist() == [1.0, -2.0, 0.5]
    optimiser.observe(1.0)  # equal is no rise either
    optimiser.observe(1.5)
    assert optimiser.velocity.tolist() == [0.0, 0.0, 0.0]
    assert optimiser.step == pytest.approx(0.1 * STEP_GROWTH**2 * STEP_CUT)
    assert optimiser.restarts == 1
    for loss in np.linspace(1.4, 0.1, 200):
        optimiser.observe(loss)
    assert optimiser.step == MAX_STEP_FACTOR * 0.1


def test_restarts_tame_a_far_too_large_learning_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    """With lr 3 (30 times the default) plain heavy-ball momentum keeps overshooting; the
    restarts and step cuts bring the step down, and training ends where lr 0.1 does."""
    X, y = small_problem(seed=3, n=2000)
    config = TrainConfig(epochs=200, lr=3.0)
    nominal = train(X, y, config=TrainConfig(epochs=200)).history[-1]["train_loss"]
    adaptive = [row["train_loss"] for row in train(X, y, config=config).history]
    assert adaptive[-1] == pytest.approx(nominal, rel=1e-2)
    monkeypatch.setattr(_trainer, "STEP_CUT", 1.0)
    monkeypatch.setattr(_trainer, "STEP_GROWTH", 1.0)
    plain = [row["train_loss"] for row in train(X, y, config=config).history]
    assert plain[-1] > 10 * nominal
    rises = [sum(b > a for a, b in itertools.pairwise(run)) for run in (adaptive, plain)]
    assert rises[0] < rises[1] / 3


def test_training_moves_along_the_edge_delta_min_equals_delta_max() -> None:
    """Regression: the projection used to clamp delta_max up to delta_min, which is not the
    nearest point; a projected step on that edge could then go uphill for every step size,
    the restarts cut the step to 0 and training froze (on real BTC data, at epoch 8).
    Labels with a negative ramp term pull delta_max below delta_min; both must come down
    together (with the old clamp the loss ended at 5.9e-5)."""
    X, _, true = planted(seed=2, n=2000)
    start = QScoreModel(true.w, 0.9, 0.6, 0.2, delta_min=0.08, delta_max=0.08)
    full, none = (QScoreModel(true.w, 0.9, 0.6, 0.2, 0.0, top).predict(X) for top in (0.2, 0.0))
    y = start.predict(X) - 0.15 * (full - none)
    result = train(X, y, config=TrainConfig(epochs=100), init=start)
    assert result.history[-1]["train_loss"] < 3e-5
    assert result.model.scalars()["delta_max"] < 0.06


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


def test_training_is_bit_identical_for_any_number_of_threads() -> None:
    """Enough rows for several kernel chunks, so the parallel pass is used with 2 threads."""
    X, y, _ = planted(seed=4, n=3 * _fused.CHUNK_ROWS)
    config = TrainConfig(epochs=8)
    before = numba.get_num_threads()
    runs = []
    try:
        for threads in range(1, min(2, numba.config.NUMBA_NUM_THREADS) + 1):
            numba.set_num_threads(threads)
            runs.append(train(X[:-5000], y[:-5000], X[-5000:], y[-5000:], config=config))
    finally:
        numba.set_num_threads(before)
    assert all(np.array_equal(run.model.to_vector(), runs[0].model.to_vector()) for run in runs)
    assert all(run.history == runs[0].history for run in runs)


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
    config = TrainConfig(epochs=100, patience=4, min_delta=0.99)  # no MSE falls 99% in 4
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
        ("min_delta", 1.0),
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
