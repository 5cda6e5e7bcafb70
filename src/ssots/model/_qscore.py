"""The Q-score model of MODEL.md section 5: its ``d + 5`` parameters, their projection
onto the feasible set, the default initialisation and predictions. The maths lives in
:mod:`ssots.model._kernel`; a trained model is stored in the weights document of
:mod:`ssots.artifacts` (``ssots.weights/2``)."""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from ssots.errors import ParameterError
from ssots.features import DIMENSIONS
from ssots.model._kernel import KernelRows, objective, predict_rows, project, theta_vector

DEFAULT_PROFILE_8: tuple[float, ...] = (0.18, 0.20, 0.18, 0.16, 0.12, 0.08, 0.05, 0.03)
"""Initial dimension weights for the eight standard Q-dimensions."""

SCALAR_NAMES: tuple[str, ...] = ("alpha", "beta", "gamma", "delta_min", "delta_max")
"""Names of the five parameters after the ``d`` weights, in vector order."""

SCALAR_DEFAULTS: tuple[float, ...] = (0.7, 0.3, 0.2, 0.02, 0.05)


class QScoreModel:
    """The Q-score model with its ``d + 5`` parameters.

    Args:
        w: the ``d >= 1`` dimension weights (on the probability simplex when feasible).
        alpha: synergy weight of the alignment ``cos``, in [0, 1].
        beta: synergy weight of the coherence ``kappa``, in [0, 1].
        gamma: share of the weighted geometric mean in the base score, in [0, 0.5].
        delta_min: emergence gain below the ramp, in [0, 0.1].
        delta_max: emergence gain above the ramp, in [delta_min, 0.2].

    The constructor checks shapes and finiteness only; :meth:`project` maps any vector
    into the ranges above.

    Raises:
        ParameterError: ``w`` is not a non-empty finite 1-D vector or a scalar is not finite.
    """

    def __init__(
        self,
        w: ArrayLike,
        alpha: float = SCALAR_DEFAULTS[0],
        beta: float = SCALAR_DEFAULTS[1],
        gamma: float = SCALAR_DEFAULTS[2],
        delta_min: float = SCALAR_DEFAULTS[3],
        delta_max: float = SCALAR_DEFAULTS[4],
    ) -> None:
        weights = np.asarray(w, dtype=np.float64)
        if weights.ndim != 1 or weights.size < 1:
            raise ParameterError(
                f"`w` must be a 1-D vector of d >= 1 weights, e.g. [0.5, 0.5]; got {w!r}"
            )
        theta = np.r_[weights, alpha, beta, gamma, delta_min, delta_max]
        self._theta = theta_vector(theta, "the model parameters")

    @classmethod
    def default(cls, d: int) -> QScoreModel:
        """The initialisation of MODEL.md: uniform ``w`` (the standard profile for d = 8).

        Raises:
            ParameterError: ``d`` is not an integer >= 1.
        """
        if isinstance(d, bool) or not isinstance(d, numbers.Integral) or d < 1:
            raise ParameterError(f"`d` must be an integer >= 1, e.g. 8; got {d!r}")
        w = DEFAULT_PROFILE_8 if d == len(DEFAULT_PROFILE_8) else np.full(int(d), 1.0 / d)
        return cls(w, *SCALAR_DEFAULTS)

    @property
    def n_dims(self) -> int:
        """Number of dimensions ``d``."""
        return self._theta.size - 5

    @property
    def w(self) -> np.ndarray:
        """A copy of the ``d`` dimension weights."""
        return self._theta[: self.n_dims].copy()

    def to_vector(self) -> np.ndarray:
        """A copy of ``theta = [w_1..w_d, alpha, beta, gamma, delta_min, delta_max]``."""
        return self._theta.copy()

    @classmethod
    def from_vector(cls, theta: ArrayLike) -> QScoreModel:
        """The model with parameter vector ``theta`` (length ``d + 5``).

        Raises:
            ParameterError: ``theta`` is not a finite 1-D vector of length >= 6.
        """
        vector = theta_vector(theta)
        return cls(vector[:-5], *vector[-5:].tolist())

    def scalars(self) -> dict[str, float]:
        """``alpha``, ``beta``, ``gamma``, ``delta_min`` and ``delta_max`` by name."""
        return dict(zip(SCALAR_NAMES, self._theta[-5:].tolist(), strict=True))

    def predict(self, X: ArrayLike | KernelRows) -> np.ndarray:
        """``Q`` in [0, 1] for each row of ``X`` (rows x d, values expected in [0, 1]).

        Raises:
            ParameterError: ``X`` is not a finite 2-D array with ``d`` columns.
        """
        data = X if isinstance(X, KernelRows) else KernelRows.from_arrays(X)
        return predict_rows(self._theta, data)

    def loss_and_grad(
        self, X: ArrayLike | KernelRows, y: ArrayLike | None = None, weight_decay: float = 0.0
    ) -> tuple[float, np.ndarray]:
        """``MSE(Q, y) + weight_decay * sum(theta^2)`` and its gradient w.r.t. ``theta``.

        Args:
            X: rows x d, or :class:`KernelRows` carrying its targets (then ``y`` is None).
            y: one target per row when ``X`` is an array.
            weight_decay: coefficient of the L2 penalty.

        Returns:
            ``(loss, grad)`` with ``grad`` of length ``d + 5`` in vector order.

        Raises:
            ParameterError: shapes disagree or targets are missing.
        """
        data = X if isinstance(X, KernelRows) else KernelRows.from_arrays(X, y)
        result = objective(self._theta, data, weight_decay)
        return result.loss, result.grad

    @staticmethod
    def project(theta: ArrayLike) -> np.ndarray:
        """Euclidean projection of ``theta`` onto the feasible set (see
        :func:`ssots.model.project`): ``w`` onto the probability simplex, the five scalars
        into their ranges.

        Raises:
            ParameterError: ``theta`` is not a finite 1-D vector of length >= 6.
        """
        return project(theta)

    def param_names(self, dimension_names: Sequence[str] | None = None) -> list[str]:
        """``w_<dimension>`` for each dimension, then the five scalar names.

        Args:
            dimension_names: ``d`` unique names; default the eight Q-dimension keys when
                d = 8, else ``x1..xd``.

        Raises:
            ParameterError: the names are not ``d`` unique strings.
        """
        return [f"w_{name}" for name in self._dimension_names(dimension_names)] + list(SCALAR_NAMES)

    def __repr__(self) -> str:
        scalars = ", ".join(f"{k}={v:.4g}" for k, v in self.scalars().items())
        return f"QScoreModel(w={np.array2string(self.w, precision=4)}, {scalars})"

    def _dimension_names(self, names: Sequence[str] | None) -> list[str]:
        d = self.n_dims
        if names is None:
            return list(DIMENSIONS) if d == len(DIMENSIONS) else [f"x{i + 1}" for i in range(d)]
        names = list(names)
        if len(names) != d or len(set(names)) != d or not all(isinstance(n, str) for n in names):
            raise ParameterError(
                f"`dimension_names` must be {d} unique strings, one per weight; got {names!r}"
            )
        return names
