"""The Sharpe statistics against the published worked example and simple cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ssots.stats import (
    SharpeSample,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    probabilistic_sharpe_ratio,
    sharpe_sample,
)

# Bailey and Lopez de Prado (2014), "The Deflated Sharpe Ratio", section 4's numerical
# example: 100 trials whose annualised Sharpe ratios have variance 1/2, the best one 2.5
# annualised, five years of daily returns (1,250) with skewness -3 and kurtosis 10. The
# paper finds an expected maximum of 0.1132 per day and a DSR of 0.9004.
_DAYS = 250
_EXAMPLE = SharpeSample(sharpe=2.5 / math.sqrt(_DAYS), n_obs=1250, skew=-3.0, kurtosis=10.0)


def test_expected_maximum_matches_the_worked_example() -> None:
    assert expected_max_sharpe(100, 0.5 / _DAYS) == pytest.approx(0.1132, abs=5e-5)


def test_deflated_sharpe_ratio_matches_the_worked_example() -> None:
    dsr = deflated_sharpe_ratio(_EXAMPLE, n_trials=100, sharpe_variance=0.5 / _DAYS)
    assert dsr == pytest.approx(0.9004, abs=1e-3)


def test_psr_is_one_half_at_the_benchmark_and_grows_with_the_sample() -> None:
    assert probabilistic_sharpe_ratio(0.1, 500, benchmark=0.1) == pytest.approx(0.5)
    short = probabilistic_sharpe_ratio(0.05, 100)
    long = probabilistic_sharpe_ratio(0.05, 1000)
    assert 0.5 < short < long < 1.0
    # Negative skew and fat tails make the same Sharpe ratio less certain.
    assert probabilistic_sharpe_ratio(0.05, 1000, skew=-2.0, kurtosis=9.0) < long


def test_a_single_trial_is_not_deflated() -> None:
    sample = SharpeSample(0.05, 400, 0.0, 3.0)
    assert deflated_sharpe_ratio(sample, n_trials=1, sharpe_variance=0.01) == pytest.approx(
        probabilistic_sharpe_ratio(0.05, 400)
    )


def test_sharpe_sample_measures_normal_returns() -> None:
    rng = np.random.default_rng(7)
    sample = sharpe_sample(rng.normal(0.1, 1.0, 200_000))
    assert sample.sharpe == pytest.approx(0.1, abs=0.01)
    assert sample.skew == pytest.approx(0.0, abs=0.03)
    assert sample.kurtosis == pytest.approx(3.0, abs=0.05)
    assert sample.n_obs == 200_000


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: sharpe_sample([1.0]), "`returns`"),
        (lambda: probabilistic_sharpe_ratio(0.1, 1), "`n_obs`"),
        (lambda: expected_max_sharpe(0, 0.1), "`n_trials`"),
        (lambda: expected_max_sharpe(3, -1.0), "`sharpe_variance`"),
    ],
)
def test_bad_arguments_are_named(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]
