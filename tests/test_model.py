"""QScoreModel: forward pass against the formulas of MODEL.md section 5, the fused kernel
against the NumPy reference (to 1e-12, on random and edge inputs, for any number of
threads), analytic gradients against central finite differences, projection, parameter
round trips (as vectors and through the weights document) and parameter names."""

from __future__ import annotations

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ssots.artifacts import SCHEMA_V1, read_weights, write_json
from ssots.errors import DataError, ParameterError
from ssots.features import DIMENSIONS, Normalizer
from ssots.model import (
    DEFAULT_PROFILE_8,
    KernelRows,
    QScoreModel,
    _fused,
    mean_squared_error,
    objective,
    predict_rows,
)
from ssots.model._kernel_reference import forward_reference, objective_reference


def reference(theta: np.ndarray, X: np.ndarray) -> dict[str, np.ndarray]:
    """MODEL.md section 5 written out literally, one quantity per line."""
    d = X.shape[1]
    w = theta[:d]
    alpha, beta, gamma, delta_min, delta_max = theta[d:]
    L = X @ w
    G = np.exp(np.log(np.clip(X, 1e-6, 1.0)) @ w)
    B = (1 - gamma) * L + gamma * G
    cos = L / (np.linalg.norm(w) * np.linalg.norm(X, axis=1) + 1e-6)
    kappa = 1 - 2 * (np.abs(X - L[:, None]) @ w)
    s = alpha * cos + beta * kappa
    r = 1 / (1 + np.exp(-(s - 0.7) / 0.05))
    q_raw = B + delta_min + (delta_max - delta_min) * r
    return {"r": r, "q_raw": q_raw, "q": np.clip(q_raw, 0, 1)}


def numeric_grad(theta: np.ndarray, X: np.ndarray, y: np.ndarray, decay: float) -> np.ndarray:
    """Central finite differences of the model's own loss."""
    step = 1e-6
    grad = np.empty_like(theta)
    for i in range(theta.size):
        hi, lo = theta.copy(), theta.copy()
        hi[i] += step
        lo[i] -= step
        loss_hi = QScoreModel.from_vector(hi).loss_and_grad(X, y, decay)[0]
        loss_lo = QScoreModel.from_vector(lo).loss_and_grad(X, y, decay)[0]
        grad[i] = (loss_hi - loss_lo) / (2 * step)
    return grad


def interior_theta(rng: np.random.Generator, d: int, alpha: float, beta: float) -> np.ndarray:
    """Weights off the simplex (finite differences leave it anyway), scalars in range."""
    w = rng.uniform(0.2, 1.0, d) / d
    return np.r_[w, alpha, beta, rng.uniform(0.1, 0.4), rng.uniform(0.01, 0.09), 0.15]


@pytest.mark.parametrize("d", [1, 2, 5, 8, 12])
def test_predict_matches_the_formulas(d: int) -> None:
    rng = np.random.default_rng(d)
    X = rng.random((500, d))
    theta = interior_theta(rng, d, 0.6, 0.5)
    got = QScoreModel.from_vector(theta).predict(X)
    np.testing.assert_allclose(got, reference(theta, X)["q"], rtol=0, atol=1e-14)


@pytest.mark.parametrize(("d", "alpha", "beta"), [(1, 0.2, 0.6), (3, 0.5, 0.5), (8, 0.9, 0.2)])
def test_gradient_matches_finite_differences_where_the_ramp_is_active(
    d: int, alpha: float, beta: float
) -> None:
    rng = np.random.default_rng(10 + d)
    X = rng.random((300, d))
    y = rng.random(300)
    theta = interior_theta(rng, d, alpha, beta)
    r = reference(theta, X)["r"]
    assert np.mean((r > 0.05) & (r < 0.95)) > 0.1, "test point must exercise the ramp"
    loss, grad = QScoreModel.from_vector(theta).loss_and_grad(X, y, weight_decay=0.05)
    np.testing.assert_allclose(grad, numeric_grad(theta, X, y, 0.05), rtol=1e-6, atol=1e-9)
    expected = np.mean((reference(theta, X)["q"] - y) ** 2) + 0.05 * theta @ theta
    assert loss == pytest.approx(expected, rel=1e-12)


def test_gradient_matches_finite_differences_near_the_clip() -> None:
    rng = np.random.default_rng(3)
    X = np.vstack([rng.uniform(0.9, 1.0, (100, 4)), rng.random((100, 4))])
    y = rng.random(200)
    theta = np.r_[0.3, 0.3, 0.2, 0.2, 0.8, 0.5, 0.3, 0.08, 0.2]
    q_raw = reference(theta, X)["q_raw"]
    assert (q_raw > 1.001).sum() > 10, "test point must have clipped rows"
    assert (q_raw < 0.999).sum() > 10
    grad = QScoreModel.from_vector(theta).loss_and_grad(X, y)[1]
    np.testing.assert_allclose(grad, numeric_grad(theta, X, y, 0.0), rtol=1e-6, atol=1e-9)


def test_clipped_rows_contribute_no_gradient() -> None:
    theta = QScoreModel.default(8).to_vector()
    X = np.ones((50, 8))  # Q before clipping is 1 + delta > 1
    _, grad = QScoreModel.from_vector(theta).loss_and_grad(X, np.zeros(50), weight_decay=0.3)
    np.testing.assert_allclose(grad, 0.6 * theta, rtol=0, atol=1e-15)


def test_gradient_is_consistent_across_row_blocks() -> None:
    """More rows than one kernel chunk, with a short last chunk and a short last lane."""
    rng = np.random.default_rng(4)
    X = rng.random((2 * _fused.CHUNK_ROWS + 123, 8))
    y = rng.random(X.shape[0])
    theta = interior_theta(rng, 8, 0.7, 0.4)
    model = QScoreModel.from_vector(theta)
    loss, grad = model.loss_and_grad(X, y)
    cut = _fused.CHUNK_ROWS + 3000
    loss_a, grad_a = model.loss_and_grad(X[:cut], y[:cut])
    loss_b, grad_b = model.loss_and_grad(X[cut:], y[cut:])
    n_b = X.shape[0] - cut
    assert loss == pytest.approx((cut * loss_a + n_b * loss_b) / X.shape[0], rel=1e-12)
    np.testing.assert_allclose(grad, (cut * grad_a + n_b * grad_b) / X.shape[0], rtol=1e-10)
    assert loss == pytest.approx(np.mean((reference(theta, X)["q"] - y) ** 2), rel=1e-12)


def test_kernel_rows_take_and_mse_agree_with_arrays() -> None:
    rng = np.random.default_rng(5)
    X, y = rng.random((100, 3)), rng.random(100)
    theta = QScoreModel.default(3).to_vector()
    rows = np.array([5, 1, 99, 42])
    subset = KernelRows.from_arrays(X, y).take(rows)
    direct = KernelRows.from_arrays(X[rows], y[rows])
    assert mean_squared_error(theta, subset) == mean_squared_error(theta, direct)
    assert objective(theta, direct).mse == mean_squared_error(theta, direct)


def assert_agrees_with_reference(theta: np.ndarray, X: np.ndarray, y: np.ndarray) -> None:
    """Loss, MSE, every gradient component and Q of the fused kernel within 1e-12 of the
    NumPy reference (relative to the value, absolute below 1)."""
    data = KernelRows.from_arrays(X, y)
    got, want = objective(theta, data, 0.01), objective_reference(theta, X, y, 0.01)
    assert got.loss == pytest.approx(want.loss, rel=1e-12, abs=1e-12)
    assert got.mse == pytest.approx(want.mse, rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(got.grad, want.grad, rtol=1e-12, atol=1e-12)
    assert mean_squared_error(theta, data) == got.mse
    q = forward_reference(theta, X)["q"]
    np.testing.assert_allclose(predict_rows(theta, data), q, rtol=0, atol=1e-12)


@pytest.mark.parametrize("d", [1, 2, 5, 8, 13])
def test_fused_kernel_agrees_with_the_reference_on_random_inputs(d: int) -> None:
    rng = np.random.default_rng(100 + d)
    n = _fused.CHUNK_ROWS + 2 * _fused.LANES + 17  # several chunks, short last lane
    X, y = rng.random((n, d)), rng.random(n)
    for alpha, beta in [(0.6, 0.5), (0.9, 0.1), (0.2, 0.9)]:
        theta = interior_theta(rng, d, alpha, beta)
        assert_agrees_with_reference(theta, X, y)
        assert_agrees_with_reference(QScoreModel.project(theta), X, y)


def edge_rows(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    """Rows with values at and below the log floor 1e-6, exactly 0 and exactly 1, whole
    rows of ones, zeros and equal values (every x_i - L = 0: the sign kink)."""
    X = rng.random((n, d))
    picks = rng.random((n, d))
    X[picks < 0.15] = 1e-6
    X[(picks >= 0.15) & (picks < 0.25)] = 1e-9
    X[(picks >= 0.25) & (picks < 0.35)] = 0.0
    X[(picks >= 0.35) & (picks < 0.5)] = 1.0
    X[:50] = 1.0
    X[50:100] = 0.0
    X[100:150] = 0.25
    return X


@pytest.mark.parametrize(
    ("name", "theta"),
    [
        ("feasible", np.r_[np.full(4, 0.25), 0.7, 0.3, 0.2, 0.02, 0.05]),
        ("q clipped at 1", np.r_[0.5, 0.25, 0.125, 0.125, 0.8, 0.5, 0.3, 0.08, 0.2]),
        ("q clipped at 0", np.r_[-0.5, 0.25, -0.375, 0.125, 0.5, 0.5, 0.2, -0.2, -0.1]),
        ("ramp saturated at 1", np.r_[np.full(4, 0.25), 1.0, 1.0, 0.2, 0.0, 0.1]),
        ("ramp saturated at 0", np.r_[np.full(4, 0.25), 0.0, 0.0, 0.2, 0.03, 0.1]),
        ("ramp far past saturation", np.r_[np.full(4, 0.25), -60.0, 40.0, 0.2, 0.01, 0.1]),
    ],
)
def test_fused_kernel_agrees_with_the_reference_on_edge_inputs(
    name: str, theta: np.ndarray
) -> None:
    """The weights are dyadic, so on rows of equal values L is exact in any summation
    order and both sides see x_i - L = 0 (elsewhere the kink is a tie either may break,
    each then taking one of the one-sided gradients)."""
    rng = np.random.default_rng(7)
    X = edge_rows(rng, 3000, 4)
    y = rng.random(3000)
    f = forward_reference(theta, X)
    checks = {
        "q clipped at 1": (f["q_raw"] > 1).sum() >= 30,
        "q clipped at 0": (f["q_raw"] < 0).sum() >= 30,
        "ramp saturated at 1": (f["r"] > 1 - 1e-9).sum() >= 30,
        "ramp saturated at 0": (f["r"] < 1e-5).sum() >= 300,
        "ramp far past saturation": (f["r"] == 0).sum() >= 300,
    }
    assert checks.get(name, True), f"test point must exercise: {name}"
    assert_agrees_with_reference(theta, X, y)


@pytest.mark.parametrize("d", [2, 8])
def test_reference_gradient_matches_finite_differences(d: int) -> None:
    rng = np.random.default_rng(20 + d)
    X, y = rng.random((400, d)), rng.random(400)
    theta = interior_theta(rng, d, 0.6, 0.5)
    step = 1e-6
    numeric = np.empty_like(theta)
    for i in range(theta.size):
        hi, lo = theta.copy(), theta.copy()
        hi[i] += step
        lo[i] -= step
        loss_hi = objective_reference(hi, X, y, 0.05).loss
        numeric[i] = (loss_hi - objective_reference(lo, X, y, 0.05).loss) / (2 * step)
    np.testing.assert_allclose(
        objective_reference(theta, X, y, 0.05).grad, numeric, rtol=1e-6, atol=1e-9
    )


def test_results_are_bit_identical_for_any_number_of_threads() -> None:
    """The chunk partition is fixed and partial sums are added in chunk order, so the
    serial pass and parallel passes on 1 or 2 threads give the same bits."""
    rng = np.random.default_rng(8)
    n = 5 * _fused.CHUNK_ROWS + 321
    X, y = rng.random((n, 8)), rng.random(n)
    data = KernelRows.from_arrays(X, y)
    theta = interior_theta(rng, 8, 0.7, 0.4)
    before = numba.get_num_threads()
    runs = []
    try:
        for threads in range(1, min(2, numba.config.NUMBA_NUM_THREADS) + 1):
            numba.set_num_threads(threads)
            result = objective(theta, data, 0.01)
            q = predict_rows(theta, data)
            runs.append((result.loss, result.grad.tobytes(), q.tobytes()))
    finally:
        numba.set_num_threads(before)
    assert all(run == runs[0] for run in runs)
    coef = np.r_[theta[8:], np.linalg.norm(theta[:8]), 1e-6, 0.7, 0.05]
    partials = [np.zeros((_fused.n_chunks(n), _fused.n_partials(8))) for _ in range(2)]
    for run, out in zip((_fused.run_serial, _fused.run_parallel), partials, strict=True):
        run(data.zt, data.norms, data.y, theta[:8].copy(), coef, _fused.GRADIENT, X[:0, 0], out)
    assert np.array_equal(partials[0], partials[1])


theta_vectors = st.integers(1, 10).flatmap(
    lambda d: arrays(np.float64, d + 5, elements=st.floats(-1e3, 1e3, allow_subnormal=False))
)


@settings(max_examples=300, deadline=None)
@given(theta=theta_vectors)
def test_projection_is_feasible_idempotent_and_kkt(theta: np.ndarray) -> None:
    d = theta.size - 5
    p = QScoreModel.project(theta)
    w = p[:d]
    alpha, beta, gamma, delta_min, delta_max = p[d:]
    assert (w >= 0).all()
    assert w.sum() == pytest.approx(1.0, abs=1e-12)
    assert 0 <= alpha <= 1
    assert 0 <= beta <= 1
    assert 0 <= gamma <= 0.5
    assert 0 <= delta_min <= 0.1
    assert delta_min <= delta_max <= 0.2
    np.testing.assert_allclose(QScoreModel.project(p), p, rtol=0, atol=1e-12)
    # KKT of min |w - v|^2 on the simplex: w = max(v - tau, 0) for one tau.
    v = theta[:d]
    tau = np.mean((v - w)[w > 0])
    scale = 1e-9 * max(1.0, np.abs(v).max())
    np.testing.assert_allclose((v - w)[w > 0], tau, rtol=0, atol=scale)
    assert (v[w == 0] <= tau + scale).all()


@settings(max_examples=100, deadline=None)
@given(v=arrays(np.float64, 3, elements=st.floats(-2, 2)), seed=st.integers(0, 2**32 - 1))
def test_simplex_projection_is_the_nearest_point(v: np.ndarray, seed: int) -> None:
    w = QScoreModel.project(np.r_[v, 0.5, 0.5, 0.2, 0.02, 0.05])[:3]
    rng = np.random.default_rng(seed)
    candidates = np.vstack([rng.dirichlet(np.ones(3), 2000), np.eye(3)])
    best = np.min(np.linalg.norm(candidates - v, axis=1))
    assert np.linalg.norm(w - v) <= best + 1e-12


def test_projection_clamps_scalars_and_orders_delta_max() -> None:
    p = QScoreModel.project([0.2, 0.9, -1.0, 2.0, 0.7, 0.08, 0.01])
    np.testing.assert_allclose(p, [0.15, 0.85, 0.0, 1.0, 0.5, 0.045, 0.045])
    p = QScoreModel.project([1.0, 0.5, 0.5, 0.1, 0.5, 0.9])
    assert p[-2:].tolist() == [0.1, 0.2]


@settings(max_examples=200, deadline=None)
@given(pair=arrays(np.float64, 2, elements=st.floats(-0.5, 0.5)))
def test_delta_pair_projection_is_the_nearest_point(pair: np.ndarray) -> None:
    """(delta_min, delta_max) goes to its nearest point of {0 <= delta_min <= 0.1,
    delta_min <= delta_max <= 0.2}, checked against a fine grid of that set."""
    got = QScoreModel.project(np.r_[0.5, 0.5, 0.5, 0.5, 0.2, pair])[-2:]
    grid = np.linspace(0, 0.2, 401)
    lo, hi = np.meshgrid(grid[grid <= 0.1], grid)
    feasible = np.c_[lo.ravel(), hi.ravel()][lo.ravel() <= hi.ravel()]
    best = np.min(np.linalg.norm(feasible - pair, axis=1))
    assert np.linalg.norm(got - pair) <= best + 1e-12


@settings(max_examples=100, deadline=None)
@given(
    X=arrays(np.float64, (20, 4), elements=st.floats(0, 1)),
    raw=arrays(np.float64, 9, elements=st.floats(-5, 5)),
)
def test_predict_stays_in_unit_interval(X: np.ndarray, raw: np.ndarray) -> None:
    q = QScoreModel.from_vector(QScoreModel.project(raw)).predict(X)
    assert q.shape == (20,)
    assert ((q >= 0) & (q <= 1)).all()


def test_default_initialisation() -> None:
    model = QScoreModel.default(8)
    assert model.w.tolist() == list(DEFAULT_PROFILE_8)
    assert model.scalars() == {
        "alpha": 0.7,
        "beta": 0.3,
        "gamma": 0.2,
        "delta_min": 0.02,
        "delta_max": 0.05,
    }
    np.testing.assert_allclose(QScoreModel.default(4).w, 0.25)
    with pytest.raises(ParameterError, match="`d` must be an integer >= 1"):
        QScoreModel.default(0)


def weights_file(model: QScoreModel, path, drop: str | None = None):
    """A minimal ``ssots.weights/1`` document (no calibration) holding ``model``."""
    parameters = dict(zip(model.param_names(), model.to_vector().tolist(), strict=True))
    if drop is not None:
        del parameters[drop]
    rows = np.random.default_rng(0).random((50, model.n_dims))
    document = {
        "schema": SCHEMA_V1,
        "dimensions": list(DIMENSIONS),
        "parameters": parameters,
        "normalizer": Normalizer().fit(rows).to_dict(),
        "strategy": "momentum-cross",
    }
    return write_json(path, document)


def test_vector_and_weights_document_round_trips(tmp_path) -> None:
    rng = np.random.default_rng(6)
    model = QScoreModel.from_vector(QScoreModel.project(rng.random(13)))
    assert np.array_equal(QScoreModel.from_vector(model.to_vector()).to_vector(), model.to_vector())
    assert model.param_names()[:8] == [f"w_{name}" for name in DIMENSIONS]
    path = weights_file(model, tmp_path / "model.json")
    loaded = read_weights(path).model
    assert np.array_equal(loaded.to_vector(), model.to_vector())
    X = rng.random((10, 8))
    assert np.array_equal(loaded.predict(X), model.predict(X))


def test_weights_document_errors(tmp_path) -> None:
    model = QScoreModel.default(8)
    with pytest.raises(DataError, match=r"is damaged.*alpha"):
        read_weights(weights_file(model, tmp_path / "partial.json", drop="alpha"))
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(DataError, match="is not JSON"):
        read_weights(bad)


def test_param_names() -> None:
    names = QScoreModel.default(8).param_names()
    assert names[:2] == ["w_sma_trend", "w_ema_trend"]
    assert names[8:] == ["alpha", "beta", "gamma", "delta_min", "delta_max"]
    assert len(names) == 13
    assert QScoreModel.default(2).param_names(["a", "b"])[:2] == ["w_a", "w_b"]
    assert QScoreModel.default(2).param_names()[:2] == ["w_x1", "w_x2"]
    with pytest.raises(ParameterError, match="2 unique strings"):
        QScoreModel.default(2).param_names(["a", "a"])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: QScoreModel.from_vector([0.5, 0.5, 0.1]), "d >= 1"),
        (lambda: QScoreModel([0.5, np.nan]), "must be finite"),
        (lambda: QScoreModel([[0.5]]), "1-D vector"),
        (lambda: QScoreModel.default(3).predict(np.ones((4, 2))), "d \\+ 5 = 7"),
        (lambda: QScoreModel.default(2).predict(np.array([[0.1, np.inf]])), "`X` must be finite"),
        (lambda: QScoreModel.default(2).loss_and_grad(np.ones((3, 2)), [1.0]), "`y` must be"),
        (lambda: QScoreModel.default(2).loss_and_grad(np.ones((3, 2))), "no targets"),
    ],
)
def test_errors_name_the_argument(call, message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        call()
