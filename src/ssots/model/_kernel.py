"""The maths of the Q-score model (MODEL.md section 5): forward pass, loss, analytic
gradient and projection, on a parameter vector and rows in the kernel's layout.

For ``d`` dimensions the model has ``d + 5`` parameters (13 for the eight Q-dimensions),
laid out as the vector ``theta = [w_1..w_d, alpha, beta, gamma, delta_min, delta_max]``::

    L     = w . x                          G = exp(w . ln x~),  x~ = clip(x, 1e-6, 1)
    B     = (1 - gamma) L + gamma G        cos = L / (|w| |x| + 1e-6)
    kappa = 1 - 2 sum_i w_i |x_i - L|      s = alpha cos + beta kappa
    r     = sigmoid((s - 0.7) / 0.05)      delta = delta_min + (delta_max - delta_min) r
    Q     = clip(B + delta, 0, 1)

The loss is ``MSE(Q, y) + weight_decay * sum(theta^2)`` with an analytic gradient. The
kernel works on :class:`KernelRows` (``x`` and ``ln x~`` stored transposed, row norms
precomputed once per dataset). Every evaluation (full batch, mini-batch, validation,
prediction) is one fused pass of :mod:`ssots.model._fused` (numba, imported on the first
evaluation): it streams the rows from memory once, in fixed chunks, and returns per-chunk
partial sums that are added in chunk order, so results are bit-identical for any number
of threads. At a kink the gradient takes ``sign(0) = 0`` (for ``|x_i - L|``) and 0 where
``Q`` is clipped. :mod:`ssots.model._kernel_reference` is the same maths in plain NumPy,
for the tests.

This module knows nothing of the model class, the trainer or the estimator built on it.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from types import ModuleType
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from ssots.errors import ParameterError

EPS = 1e-6
"""Floor of ``x`` inside the logarithm, and the guard added to ``|w| |x|``."""

RAMP_CENTER = 0.7
RAMP_WIDTH = 0.05
_LOWER = np.array([0.0, 0.0, 0.0, 0.0])  # alpha, beta, gamma, delta_min
_UPPER = np.array([1.0, 1.0, 0.5, 0.1])
_DELTA_MAX_UPPER = 0.2


@dataclass(frozen=True, eq=False)
class KernelRows:
    """Rows in the layout the kernel wants, built once per dataset and reused every epoch.

    Attributes:
        zt: ``(2d, n)`` float64, rows ``0..d-1`` are ``x`` transposed, rows ``d..2d-1``
            are ``ln clip(x, 1e-6, 1)`` transposed.
        norms: ``(n,)`` Euclidean row norms ``|x|``.
        y: ``(n,)`` targets, or None when only predicting.
    """

    zt: np.ndarray
    norms: np.ndarray
    y: np.ndarray | None = None

    @classmethod
    def from_arrays(cls, X: ArrayLike, y: ArrayLike | None = None) -> KernelRows:
        """Validate ``X`` (rows x d) and optional ``y`` and precompute the invariants.

        Raises:
            ParameterError: ``X`` is not a finite 2-D array with a column, or ``y`` is not
                a finite 1-D array with one value per row.
        """
        x = _finite_2d(X)
        d = x.shape[1]
        zt = np.empty((2 * d, x.shape[0]))
        zt[:d] = x.T
        np.clip(zt[:d], EPS, 1.0, out=zt[d:])
        np.log(zt[d:], out=zt[d:])
        norms = np.sqrt(np.einsum("ij,ij->i", x, x))
        return cls(zt, norms, None if y is None else _targets(y, x.shape[0]))

    @property
    def n_rows(self) -> int:
        """Number of rows."""
        return self.zt.shape[1]

    @property
    def n_dims(self) -> int:
        """Number of dimensions ``d``."""
        return self.zt.shape[0] // 2

    def take(self, rows: np.ndarray) -> KernelRows:
        """The rows at the integer positions ``rows``, in that order (e.g. a mini-batch)."""
        y = None if self.y is None else self.y[rows]
        return KernelRows(self.zt[:, rows], self.norms[rows], y)


class Objective(NamedTuple):
    """Value of the training objective at one parameter vector."""

    loss: float
    """``mse + weight_decay * sum(theta^2)``."""
    mse: float
    """Mean squared error of the clipped ``Q`` against ``y``."""
    grad: np.ndarray
    """Gradient of ``loss`` with respect to ``theta`` (length ``d + 5``)."""


def objective(theta: ArrayLike, data: KernelRows, weight_decay: float = 0.0) -> Objective:
    """Loss, MSE and analytic gradient of the model ``theta`` on ``data``.

    Args:
        theta: parameter vector ``[w_1..w_d, alpha, beta, gamma, delta_min, delta_max]``.
        data: prepared rows with targets.
        weight_decay: coefficient of the L2 penalty ``sum(theta^2)``.

    Returns:
        The :class:`Objective`; where ``Q`` is clipped its gradient is taken as 0.

    Raises:
        ParameterError: ``data`` has no targets or a different ``d`` than ``theta``.
    """
    theta = np.asarray(theta, dtype=np.float64)
    coef = _Coefficients(theta, _check_targets(data))
    loops = _loops()
    sums = _run(data, coef, loops.GRADIENT)
    n = data.n_rows
    grad = coef.gradient(sums) * (2.0 / n)
    grad += (2.0 * weight_decay) * theta
    mse = float(sums[-1]) / n
    return Objective(mse + weight_decay * float(theta @ theta), mse, grad)


def mean_squared_error(theta: ArrayLike, data: KernelRows) -> float:
    """MSE of the model ``theta`` on ``data`` (forward pass only, no gradient).

    Raises:
        ParameterError: ``data`` has no targets or a different ``d`` than ``theta``.
    """
    coef = _Coefficients(theta, _check_targets(data))
    return float(_run(data, coef, _loops().MSE)[-1]) / data.n_rows


def predict_rows(theta: ArrayLike, data: KernelRows) -> np.ndarray:
    """``Q`` in [0, 1] for every row of ``data`` under the model ``theta``.

    Raises:
        ParameterError: ``data`` has a different ``d`` than ``theta``.
    """
    coef = _Coefficients(theta, data.n_dims)
    out = np.empty(data.n_rows)
    _run(data, coef, _loops().PREDICT, out)
    return out


def project(theta: ArrayLike) -> np.ndarray:
    """Euclidean projection of a parameter vector onto the feasible set.

    ``w`` goes to its nearest point on the probability simplex (sort-based, Duchi et
    al. 2008); alpha and beta are clamped to [0, 1], gamma to [0, 0.5], and
    (delta_min, delta_max) goes to its nearest point of {0 <= delta_min <= 0.1,
    delta_min <= delta_max <= 0.2}: each clamped to its box, or, if that leaves
    delta_min > delta_max, both set to their mean clamped to [0, 0.1].

    Args:
        theta: parameter vector of length ``d + 5``, ``d >= 1``.

    Returns:
        A new projected vector.

    Raises:
        ParameterError: ``theta`` is not a finite 1-D vector of length >= 6.
    """
    out = theta_vector(theta)
    d = out.size - 5
    v = out[:d] - out[:d].max()  # shift-invariant; exact near the top, no cancellation
    u = np.sort(v)[::-1]
    excess = np.cumsum(u) - 1.0
    rho = np.flatnonzero(u * np.arange(1, d + 1) > excess)[-1]
    np.maximum(v - excess[rho] / (rho + 1), 0.0, out=out[:d])
    raw_min, raw_max = out[d + 3], out[d + 4]
    np.clip(out[d : d + 4], _LOWER, _UPPER, out=out[d : d + 4])
    out[d + 4] = min(max(raw_max, 0.0), _DELTA_MAX_UPPER)
    if out[d + 3] > out[d + 4]:
        # The box projection breaks delta_min <= delta_max, so the nearest feasible
        # pair lies on the edge delta_min = delta_max: their mean, clamped to [0, 0.1].
        # (Clamping delta_max up to delta_min instead is not the nearest point, and a
        # projected gradient step can then go uphill and stall.)
        out[d + 3] = out[d + 4] = min(max((raw_min + raw_max) / 2, 0.0), _UPPER[-1])
    return out


def theta_vector(theta: ArrayLike, name: str = "`theta`") -> np.ndarray:
    """A float64 copy of ``theta``, checked to be a finite 1-D vector of length >= 6.

    Raises:
        ParameterError: naming ``name``, when it is not.
    """
    out = np.array(theta, dtype=np.float64)
    if out.ndim != 1 or out.size < 6:
        raise ParameterError(
            f"{name} must be a 1-D vector [w_1..w_d, alpha, beta, gamma, delta_min, "
            f"delta_max] with d >= 1, got shape {out.shape}"
        )
    if not np.isfinite(out).all():
        raise ParameterError(f"{name} must be finite, e.g. QScoreModel.default(8).to_vector()")
    return out


class _Coefficients:
    """Everything the kernel needs that depends on ``theta`` only, computed once a pass."""

    def __init__(self, theta: ArrayLike, d: int) -> None:
        theta = np.asarray(theta, dtype=np.float64)
        if theta.shape != (d + 5,):
            raise ParameterError(
                f"`theta` must have d + 5 = {d + 5} values for {d}-dimensional rows, "
                f"got shape {theta.shape}"
            )
        self.d = d
        self.w = np.ascontiguousarray(theta[:d])
        alpha, beta, gamma, delta_min, delta_max = (float(v) for v in theta[d:])
        self.alpha = alpha
        self.w_norm = float(np.linalg.norm(self.w))
        # d ramp / d s times the emergence spread: dQ/ds = ramp_gain * r (1 - r).
        self.ramp_gain = (delta_max - delta_min) / RAMP_WIDTH
        # The scalars in the order ``_fused._chunk`` unpacks them.
        self.packed = np.array(
            [alpha, beta, gamma, delta_min, delta_max, self.w_norm, EPS, RAMP_CENTER, RAMP_WIDTH]
        )

    def gradient(self, sums: np.ndarray) -> np.ndarray:
        """Assemble the gradient (up to the factor 2/n) from the summed partials.

        With ``e = Q - y`` (0 where ``Q`` is clipped), ``q' = e r (1 - r)`` and
        ``D = |w| |x| + eps``, ``sums`` = [sum over rows of ``x_i u + gamma e G ln x~_i
        - 2 ramp_gain beta q' |x_i - L|`` for each i, where ``u = (1 - gamma) e +
        ramp_gain (alpha q' / D + 2 beta q' S)`` and ``S = sum_i w_i sign(x_i - L)``;
        (q'/D) . (cos |x|); e . [L, G, r, 1]; q' . [1, cos, K1]; SSE].
        """
        d, gain = self.d, self.ramp_gain
        e_l, e_g, e_r, e_1, q_1, q_cos, q_k1 = sums[d + 1 : d + 8]
        grad = np.empty(d + 5)
        grad[:d] = sums[:d]
        if self.w_norm > 0.0:
            grad[:d] -= (gain * self.alpha / self.w_norm * sums[d]) * self.w
        grad[d] = gain * q_cos
        grad[d + 1] = gain * (q_1 - 2.0 * q_k1)
        grad[d + 2] = e_g - e_l
        grad[d + 3] = e_1 - e_r
        grad[d + 4] = e_r
        return grad


@functools.cache
def _loops() -> ModuleType:
    """The compiled loops (importing numba on first use)."""
    from ssots.model import _fused

    return _fused


_PARALLEL = threading.Lock()
"""Held while a parallel pass runs: numba's default thread pool serves one at a time."""


def _run(data: KernelRows, coef: _Coefficients, mode: int, q_out: np.ndarray | None = None):
    """One fused pass in ``mode``; returns the partial sums added in chunk order.

    The chunks run on numba's threads (``numba.set_num_threads`` sets how many) when
    there are several chunks and threads and no other thread is in a parallel pass;
    otherwise on the calling thread. Both give the same bits.
    """
    loops = _loops()
    partials = np.zeros((loops.n_chunks(data.n_rows), loops.n_partials(coef.d)))
    y = data.y if data.y is not None else np.empty(0)
    q = q_out if q_out is not None else np.empty(0)
    args = (data.zt, data.norms, y, coef.w, coef.packed, mode, q, partials)
    if partials.shape[0] > 1 and loops.get_num_threads() > 1 and _PARALLEL.acquire(False):
        try:
            loops.run_parallel(*args)
        finally:
            _PARALLEL.release()
    else:
        loops.run_serial(*args)
    return loops.add_partials(partials)


def _finite_2d(X: ArrayLike) -> np.ndarray:
    x = np.asarray(X, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] < 1:
        raise ParameterError(
            f"`X` must be a 2-D array of rows x dimensions (d >= 1), got shape {x.shape}; "
            "reshape a single row with X.reshape(1, -1)"
        )
    if not np.isfinite(x).all():
        raise ParameterError("`X` must be finite: drop or impute NaN/inf rows first")
    return x


def _targets(y: ArrayLike, n_rows: int) -> np.ndarray:
    arr = np.ascontiguousarray(y, dtype=np.float64)
    if arr.shape != (n_rows,):
        raise ParameterError(
            f"`y` must be a 1-D array with one target per row of X ({n_rows}), "
            f"got shape {arr.shape}"
        )
    if not np.isfinite(arr).all():
        raise ParameterError("`y` must be finite: drop rows whose label is NaN/inf")
    return arr


def _check_targets(data: KernelRows) -> int:
    if data.y is None:
        raise ParameterError("the data has no targets: build it with KernelRows.from_arrays(X, y)")
    if data.n_rows == 0:
        raise ParameterError("`X` must have at least one row")
    return data.n_dims
