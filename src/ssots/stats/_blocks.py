"""The block length of a dependent bootstrap, chosen from the data.

The rule is Politis and White's automatic block length (Econometric Reviews 23, 2004) with
the correction of Patton, Politis and White (Econometric Reviews 28, 2009), in the form
the ``arch`` package computes (``arch.bootstrap.optimal_block_length``, column
``stationary``): the lag window m is twice the first lag after which k_n = max(5,
floor(log10 n)) consecutive autocorrelations lie inside +-2 sqrt(log10(n) / n) (at most
ceil(sqrt n) + k_n), and the stationary bootstrap's expected block length is

    b = (2 G^2 / D)^(1/3) n^(1/3),   G = sum_{|k|<=m} h(k/m) |k| gamma_k,
    D = 2 (sum_{|k|<=m} h(k/m) gamma_k)^2,   h(x) = min(1, 2 (1 - |x|)),

capped at min(3 sqrt n, n / 3). Autocovariances are computed for all lags at once (one
FFT), not one dot product per lag.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

__all__ = ["block_length", "politis_white"]


def politis_white(x: npt.ArrayLike) -> float:
    """The Politis-White (2004, corrected 2009) expected block length of a stationary
    bootstrap of the series ``x``, exactly as ``arch`` computes it (no lower bound).

    Args:
        x: a series of at least 3 finite values.

    Returns:
        The block length (a positive real; 0 when ``x`` shows no dependence at all, NaN
        when it does not vary).

    Raises:
        ValueError: fewer than 3 values.
    """
    values = np.asarray(x, dtype=np.float64)
    n = values.size
    if n < 3:
        raise ValueError(f"a block length needs at least 3 values, got {n}")
    eps = values - values.mean()
    b_max = math.ceil(min(3.0 * math.sqrt(n), n / 3.0))
    kn = max(5, int(math.log10(n)))
    m_max = min(math.ceil(math.sqrt(n)) + kn, n - 2)
    lags = np.arange(m_max + 1)
    cross = _autocovariance_sums(eps, m_max)
    squares = np.concatenate(([0.0], np.cumsum(eps**2)))
    tail = squares[-1] - squares[lags + 1]  # sum of eps[i+1:]^2
    head = squares[n - lags - 1]  # sum of eps[:n-i-1]^2
    with np.errstate(divide="ignore", invalid="ignore"):
        abs_acorr = np.abs(cross) / np.sqrt(tail * head)
    inside = abs_acorr < 2.0 * math.sqrt(math.log10(n) / n)
    # the first i >= kn with abs_acorr[i-kn:i] all inside: m = i - kn
    runs = np.convolve(inside.astype(np.int64), np.ones(kn, dtype=np.int64), "valid")
    first = np.flatnonzero(runs[: m_max + 1 - kn] == kn)
    m = min(2 * max(int(first[0]), 1), m_max) if first.size else m_max
    acv = cross / n
    k = np.arange(1, m + 1)
    lam = np.where(k / m <= 0.5, 1.0, 2.0 * (1.0 - k / m))
    g = float(np.sum(2.0 * lam * k * acv[1 : m + 1]))
    long_run = float(acv[0] + np.sum(2.0 * lam * acv[1 : m + 1]))
    if long_run == 0.0:
        return math.nan
    b = ((2.0 * g**2) / (2.0 * long_run**2)) ** (1.0 / 3.0) * n ** (1.0 / 3.0)
    return float(min(b, b_max))


def block_length(x: npt.ArrayLike) -> float:
    """The expected block length the bootstrap uses for ``x``: ``politis_white`` but at
    least 1 (a series without dependence is resampled bar by bar; a constant one too)."""
    b = politis_white(x)
    return 1.0 if not b >= 1.0 else b


def _autocovariance_sums(eps: np.ndarray, max_lag: int) -> np.ndarray:
    """sum_t eps[t] eps[t - i] for i = 0 .. max_lag (zero-padded FFT: no wrap-around)."""
    size = 1 << (2 * eps.size - 1).bit_length()
    spectrum = np.fft.rfft(eps, size)
    return np.fft.irfft(spectrum * np.conj(spectrum), size)[: max_lag + 1]
