"""QScoreRegressor: scikit-learn's own estimator checks, eval_set early stopping, the
training-only normaliser and the calibration fitted on the training rows."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from ssots.features import Normalizer
from ssots.model import Calibration, QScoreModel, QScoreRegressor


@parametrize_with_checks(
    [QScoreRegressor(epochs=30), QScoreRegressor(epochs=30, calibration="isotonic")]
)
def test_scikit_learn_compatible(estimator: QScoreRegressor, check) -> None:
    check(estimator)


def market_like(seed: int = 0, n: int = 1500) -> tuple[np.ndarray, np.ndarray]:
    """Raw, unscaled features (different units per column) and Q-score labels."""
    rng = np.random.default_rng(seed)
    unit = rng.random((n, 4))
    X = unit * np.array([0.02, 100.0, 1.0, 5e-4]) + np.array([-0.01, 0.0, 3.0, 0.0])
    true = QScoreModel([0.4, 0.3, 0.2, 0.1], 0.6, 0.5, 0.2, 0.03, 0.1)
    return X, true.predict(unit) + rng.normal(0, 0.01, n)


def test_eval_set_drives_early_stopping() -> None:
    X, y = market_like()
    y_val = np.full(500, 0.5)  # unrelated labels: validation loss soon stops improving
    model = QScoreRegressor(epochs=400, patience=5).fit(X[:1000], y[:1000], [(X[1000:], y_val)])
    assert len(model.history_) < 400
    assert model.best_epoch_ == len(model.history_) - 5
    assert all(row["val_loss"] is not None for row in model.history_)
    assert model.weights_.shape == (4,)
    assert np.array_equal(model.weights_, model.model_.w)


def test_without_eval_set_every_epoch_runs() -> None:
    X, y = market_like()
    model = QScoreRegressor(epochs=40).fit(X, y)
    assert len(model.history_) == model.best_epoch_ == 40
    assert model.history_[-1]["val_loss"] is None
    assert model.score(X, y) > 0.9


def test_normalizer_is_fitted_on_training_rows_only() -> None:
    X, y = market_like()
    reference = Normalizer().fit(X[:1000])
    bounds = []
    for shift in (0.0, 1e3):
        eval_set = [(X[1000:] + shift, y[1000:])]
        model = QScoreRegressor(epochs=5).fit(X[:1000], y[:1000], eval_set=eval_set)
        model.predict(X[1000:] * 7.0)
        bounds.append((model.normalizer_.low_, model.normalizer_.high_))
    for low, high in bounds:
        np.testing.assert_array_equal(low, reference.low_)
        np.testing.assert_array_equal(high, reference.high_)
    expected = model.model_.predict(reference.transform(X[1000:]))
    np.testing.assert_array_equal(model.predict(X[1000:], raw=True), expected)
    np.testing.assert_array_equal(model.predict(X[1000:]), model.calibration_(expected))


def test_prescaled_skips_normalising() -> None:
    rng = np.random.default_rng(1)
    X = rng.uniform(0.2, 0.6, (300, 3))  # a normaliser would stretch this to [0, 1]
    y = rng.random(300)
    model = QScoreRegressor(epochs=5, prescaled=True).fit(X, y)
    assert model.normalizer_ is None
    np.testing.assert_array_equal(model.predict(X, raw=True), model.model_.predict(X))
    scaled = QScoreRegressor(epochs=5).fit(X, y)
    assert not np.array_equal(scaled.predict(X, raw=True), scaled.model_.predict(X))


def test_predict_is_calibrated_on_the_training_rows_and_keeps_the_raw_ranking() -> None:
    X, y = market_like()
    y = 0.3 + 0.2 * y  # a target the raw Q's scale does not fit: calibration must shift it
    model = QScoreRegressor(epochs=40).fit(X[:1000], y[:1000], [(X[1000:], y[1000:])])
    raw = model.predict(X[:1000], raw=True)
    assert model.calibration_ == Calibration.fit(raw, y[:1000], "affine")
    calibrated, raw_test = model.predict(X[1000:]), model.predict(X[1000:], raw=True)
    order = np.argsort(raw_test)
    assert np.all(np.diff(calibrated[order]) >= 0)  # monotone: the raw ranking is kept
    assert y[:1000].min() <= calibrated.min()
    assert calibrated.max() <= y[:1000].max()
    uncalibrated = QScoreRegressor(epochs=40, calibration="identity")
    uncalibrated.fit(X[:1000], y[:1000], [(X[1000:], y[1000:])])
    np.testing.assert_array_equal(uncalibrated.predict(X[1000:]), raw_test)
    assert model.score(X[1000:], y[1000:]) > uncalibrated.score(X[1000:], y[1000:]) + 0.5


@pytest.mark.parametrize(
    "eval_set",
    [[], [(np.ones((3, 4)), np.ones(3))] * 2, [(np.ones((3, 4)),)], [(np.ones((3, 2)), [1, 1, 1])]],
)
def test_malformed_eval_set_is_rejected(eval_set) -> None:
    X, y = market_like(n=50)
    with pytest.raises(ValueError, match=r"eval_set|features"):
        QScoreRegressor(epochs=2).fit(X, y, eval_set=eval_set)


def test_invalid_hyper_parameter_is_reported_at_fit() -> None:
    X, y = market_like(n=50)
    with pytest.raises(ValueError, match=r"`lr` must be > 0, e\.g\. 0\.1"):
        QScoreRegressor(lr=-1.0).fit(X, y)
    with pytest.raises(ValueError, match=r"`calibration` must be one of affine, isotonic"):
        QScoreRegressor(calibration="logistic").fit(X, y)
