"""The bootstrap, block length, circular-shift and FDR machinery of ``ssots.stats``,
checked against outside oracles: the ``arch`` package (Politis-White block length, the
stationary bootstrap's sampler and its percentile intervals) and SciPy (Spearman's
correlation, Benjamini-Hochberg)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import false_discovery_control, pearsonr, spearmanr

from ssots import stats

arch_bootstrap = pytest.importorskip("arch.bootstrap")


def _ar1(n: int, phi: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    shocks = rng.standard_normal(n + 200)
    out = np.zeros_like(shocks)
    for t in range(1, shocks.size):
        out[t] = phi * out[t - 1] + shocks[t]
    return out[200:]


def _series(seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(3000)
    return [
        noise,
        _ar1(3000, 0.6, seed),
        _ar1(800, 0.95, seed + 1),
        np.convolve(rng.standard_normal(1204), np.ones(5), "valid"),  # overlapping labels
        np.abs(_ar1(500, 0.3, seed + 2)),
    ]


@pytest.mark.parametrize("seed", [1, 2])
def test_block_length_is_arch_optimal_block_length(seed: int) -> None:
    for series in _series(seed):
        expected = arch_bootstrap.optimal_block_length(series)["stationary"].iloc[0]
        assert stats.politis_white(series) == pytest.approx(expected, rel=1e-9)


def test_block_length_is_at_least_one_and_grows_with_dependence() -> None:
    noise, weak, strong = _series(3)[0], _ar1(3000, 0.3, 4), _ar1(3000, 0.9, 4)
    assert stats.block_length(noise) >= 1.0
    assert stats.block_length(noise) < stats.block_length(weak) < stats.block_length(strong)
    assert stats.block_length(np.ones(100)) == 1.0


def test_resample_indices_are_arch_stationary_sampler_on_the_same_draws() -> None:
    from arch.bootstrap._samplers_python import stationary_bootstrap_sample_python

    rng = np.random.default_rng(5)
    for n, p in ((50, 0.1), (400, 0.02), (400, 1.0)):
        starts, uniforms = rng.integers(n, size=(8, n)), rng.random((8, n))
        ours = stats.indices_from_draws(starts, uniforms, p)
        theirs = [
            stationary_bootstrap_sample_python(row.copy(), u, p)
            for row, u in zip(starts, uniforms, strict=True)
        ]
        np.testing.assert_array_equal(ours, theirs)


def test_counts_are_those_of_the_resampled_rows() -> None:
    rng = np.random.default_rng(16)
    for block in (1.0, 1.5, 8.0, 50.0):
        counts = stats.stationary_counts(300, block, 3000, rng)
        rows = stats.stationary_indices(300, block, 3000, rng)
        listed = np.stack([np.bincount(row, minlength=300) for row in rows])
        np.testing.assert_array_equal(counts.sum(axis=1), 300)
        assert (counts >= 0).all()
        # how unevenly rows repeat grows with the block length, alike in both samplers
        assert counts.var() == pytest.approx(listed.var(), rel=0.05)
        lag = [np.mean(c[:-1] * c[1:]) for c in (counts, listed)]
        assert lag[0] == pytest.approx(lag[1], rel=0.05)


@pytest.mark.parametrize("block", [1.0, 3.0, 12.0, 900.0])
def test_sums_by_block_are_the_counts_times_the_columns(block: float) -> None:
    columns = np.random.default_rng(18).standard_normal((700, 4))
    counts = stats.stationary_counts(700, block, 40, np.random.default_rng(2))
    sums = stats.stationary_sums(columns, block, 40, np.random.default_rng(2))
    np.testing.assert_allclose(sums, counts @ columns, atol=1e-9)


def test_weighted_statistics_are_those_of_the_listed_rows() -> None:
    rng = np.random.default_rng(17)
    x, y = rng.standard_normal(200), rng.standard_normal(200)
    rows = stats.stationary_indices(200, 5.0, 20, rng)
    counts = np.stack([np.bincount(row, minlength=200) for row in rows]).astype(float)
    np.testing.assert_allclose(
        stats.weighted_correlation(counts, x, y), stats.rows_correlation(x[rows], y[rows])
    )
    np.testing.assert_allclose(stats.weighted_sharpe(counts, x), stats.rows_sharpe(x[rows]))


def test_fast_sampler_has_geometric_blocks_and_uniform_rows() -> None:
    rng = np.random.default_rng(6)
    rows = stats.stationary_indices(1000, 10.0, 2000, rng)
    continues = np.mean(np.diff(rows, axis=1) % 1000 == 1)
    assert continues == pytest.approx(0.9 + 0.1 / 1000, abs=0.003)
    counts = np.bincount(rows.ravel(), minlength=1000) / 2000
    assert counts.mean() == pytest.approx(1.0)
    assert counts.std() < 0.05  # blocks wrap around: no row is favoured


def _arch_interval(func, block: float, *data: np.ndarray) -> np.ndarray:
    bootstrap = arch_bootstrap.StationaryBootstrap(block, *data, seed=11)
    return bootstrap.conf_int(func, reps=2000, method="percentile", size=0.95)[:, 0]


def test_sharpe_interval_agrees_with_arch() -> None:
    returns = 0.02 + 0.1 * _ar1(1500, 0.5, 7)
    block = stats.block_length(returns)
    ours = stats.sharpe_interval(returns, reps=2000, seed=3)
    low, high = _arch_interval(lambda x: x.mean() / x.std(ddof=1), block, returns)
    width = high - low
    assert ours.block == pytest.approx(block)
    assert ours.value == pytest.approx(returns.mean() / returns.std(ddof=1))
    assert abs(ours.low - low) < 0.1 * width
    assert abs(ours.high - high) < 0.1 * width


def test_correlation_interval_agrees_with_arch() -> None:
    x = _ar1(1200, 0.7, 8)
    y = 0.3 * x + _ar1(1200, 0.7, 9)
    ours = stats.correlation_interval(x, y, reps=2000, seed=4)
    low, high = _arch_interval(lambda a, b: np.corrcoef(a, b)[0, 1], ours.block, x, y)
    assert ours.value == pytest.approx(pearsonr(x, y).statistic)
    assert abs(ours.low - low) < 0.1 * (high - low)
    assert abs(ours.high - high) < 0.1 * (high - low)
    # dependence widens the interval: the same data bar by bar give a narrower one
    iid = stats.bootstrap_replicates(
        lambda counts: stats.weighted_correlation(counts, x, y), x.size, 1.0, reps=2000, seed=4
    )
    iid_low, iid_high = stats.percentile_interval(iid, 0.95)
    assert iid_high - iid_low < 0.8 * (ours.high - ours.low)


def test_rank_interval_is_spearman_and_covers_it() -> None:
    rng = np.random.default_rng(10)
    x = rng.standard_normal(600)
    y = np.round(x + rng.standard_normal(600), 1)  # ties
    interval = stats.correlation_interval(x, y, rank=True, seed=1)
    assert interval.value == pytest.approx(spearmanr(x, y).statistic)
    assert interval.low < interval.value < interval.high


def test_grouped_interval_pools_the_groups() -> None:
    rng = np.random.default_rng(12)
    xs = [rng.standard_normal(300) for _ in range(3)]
    ys = [x + rng.standard_normal(300) for x in xs]
    pooled = stats.correlation_interval(xs, ys, rank=True, seed=2)
    assert pooled.value == pytest.approx(spearmanr(np.concatenate(xs), np.concatenate(ys))[0])
    assert pooled.low < pooled.value < pooled.high
    rows = stats.grouped_indices([300, 300, 300], [2.0, 2.0, 2.0], 50, rng)
    assert ((rows[:, :300] < 300) & (rows[:, 300:600] >= 300)).all()  # each group in itself


def test_interval_of_a_constant_series_is_undefined() -> None:
    interval = stats.sharpe_interval(np.zeros(100))
    assert interval.to_dict()["value"] is None
    assert interval.to_dict()["low"] is None


def test_circular_cross_products_are_the_rolled_dot_products() -> None:
    rng = np.random.default_rng(13)
    x, y = rng.standard_normal(64), rng.standard_normal(64)
    direct = [x @ np.roll(y, s) for s in range(64)]
    np.testing.assert_allclose(stats.circular_cross_products(x, y), direct, atol=1e-10)


def test_shift_test_is_the_enumeration_of_shifted_spearman_correlations() -> None:
    rng = np.random.default_rng(14)
    y = rng.standard_normal(120)
    q = 0.2 * y + rng.standard_normal(120)
    test = stats.correlation_shift_test(y, q)
    null = [spearmanr(y, np.roll(q, s)).statistic for s in stats.allowed_shifts(120, test.margin)]
    observed = spearmanr(y, q).statistic
    assert test.observed == pytest.approx(observed)
    assert test.null_size == len(null)
    exceed = sum(v >= observed - 1e-12 for v in null)
    assert test.p_value == pytest.approx((1 + exceed) / (1 + len(null)))


def test_shift_p_value_is_never_zero_and_counts_ties() -> None:
    assert stats.shift_p_value(5.0, [0.0, 1.0, 2.0]) == pytest.approx(0.25)
    assert stats.shift_p_value(1.0, [0.0, 1.0, 2.0]) == pytest.approx(0.75)
    assert np.isnan(stats.shift_p_value(float("nan"), [1.0]))


def test_benjamini_hochberg_is_scipys_and_keeps_missing_tests_out() -> None:
    rng = np.random.default_rng(15)
    p = rng.random(40) ** 3
    np.testing.assert_allclose(stats.benjamini_hochberg(p), false_discovery_control(p))
    with_missing = np.array([0.01, np.nan, 0.04, 0.03])
    adjusted = stats.benjamini_hochberg(with_missing)
    assert np.isnan(adjusted[1])
    np.testing.assert_allclose(adjusted[[0, 2, 3]], false_discovery_control([0.01, 0.04, 0.03]))
