"""The Q-score model's forward pass, loss and analytic gradient in plain NumPy, one
formula a line (MODEL.md section 5): the reference the fused kernel of
:mod:`ssots.model._kernel` is tested against. It holds every per-row quantity for all
rows at once, so it is slow and memory-hungry; it is not used for training.

Same conventions as the kernel: ``x~ = clip(x, 1e-6, 1)`` inside the logarithm,
``sign(0) = 0`` at the kink of ``|x_i - L|``, no gradient where ``Q`` is clipped, and
the ``|w|`` term of d cos / d w dropped when ``|w| = 0``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ssots.model._kernel import EPS, RAMP_CENTER, RAMP_WIDTH, Objective


def forward_reference(theta: ArrayLike, X: ArrayLike) -> dict[str, np.ndarray]:
    """Every per-row quantity of the model ``theta`` on the rows ``X`` (n x d), by name:
    ``L, G, B, cos, kappa, s, r, delta, q_raw`` (before clipping) and ``q``."""
    theta = np.asarray(theta, dtype=np.float64)
    X = np.asarray(X, dtype=np.float64)
    d = X.shape[1]
    w = theta[:d]
    alpha, beta, gamma, delta_min, delta_max = theta[d:]
    L = X @ w
    G = np.exp(np.log(np.clip(X, EPS, 1.0)) @ w)
    B = (1.0 - gamma) * L + gamma * G
    cos = L / (np.linalg.norm(w) * np.linalg.norm(X, axis=1) + EPS)
    kappa = 1.0 - 2.0 * (np.abs(X - L[:, None]) @ w)
    s = alpha * cos + beta * kappa
    with np.errstate(over="ignore"):  # exp -> inf is the sigmoid's right limit, r = 0
        r = 1.0 / (1.0 + np.exp(-(s - RAMP_CENTER) / RAMP_WIDTH))
    delta = delta_min + (delta_max - delta_min) * r
    q_raw = B + delta
    return {
        "L": L, "G": G, "B": B, "cos": cos, "kappa": kappa, "s": s, "r": r,
        "delta": delta, "q_raw": q_raw, "q": np.clip(q_raw, 0.0, 1.0),
    }  # fmt: skip


def jacobian_reference(theta: ArrayLike, X: ArrayLike) -> np.ndarray:
    """d Q_raw / d theta for every row (n x (d + 5)), column by column."""
    theta = np.asarray(theta, dtype=np.float64)
    X = np.asarray(X, dtype=np.float64)
    d = X.shape[1]
    w = theta[:d]
    alpha, beta, gamma, delta_min, delta_max = theta[d:]
    f = forward_reference(theta, X)
    L, G, cos, r = f["L"], f["G"], f["cos"], f["r"]
    ln_x = np.log(np.clip(X, EPS, 1.0))
    x_norm = np.linalg.norm(X, axis=1)
    w_norm = np.linalg.norm(w)
    den = w_norm * x_norm + EPS
    # d cos / d w_i = x_i / den - cos |x| w_i / (|w| den)
    d_cos = X / den[:, None]
    if w_norm > 0.0:
        d_cos -= (cos * x_norm / (w_norm * den))[:, None] * w
    # d kappa / d w_i = -2 |x_i - L| + 2 x_i sum_j w_j sign(x_j - L)
    deviation = X - L[:, None]
    S = np.sign(deviation) @ w
    d_kappa = -2.0 * np.abs(deviation) + 2.0 * X * S[:, None]
    d_ramp_d_s = r * (1.0 - r) / RAMP_WIDTH
    spread = delta_max - delta_min
    jac = np.empty((X.shape[0], d + 5))
    jac[:, :d] = (
        (1.0 - gamma) * X
        + gamma * G[:, None] * ln_x
        + (spread * d_ramp_d_s)[:, None] * (alpha * d_cos + beta * d_kappa)
    )
    jac[:, d] = spread * d_ramp_d_s * cos  # alpha
    jac[:, d + 1] = spread * d_ramp_d_s * f["kappa"]  # beta
    jac[:, d + 2] = G - L  # gamma
    jac[:, d + 3] = 1.0 - r  # delta_min
    jac[:, d + 4] = r  # delta_max
    return jac


def objective_reference(
    theta: ArrayLike, X: ArrayLike, y: ArrayLike, weight_decay: float = 0.0
) -> Objective:
    """Loss ``MSE + weight_decay * sum(theta^2)``, MSE and gradient on rows ``X``, ``y``:
    ``grad = 2/n J^T e + 2 weight_decay theta`` with ``e = Q - y`` where ``Q`` is not
    clipped and 0 where it is."""
    theta = np.asarray(theta, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    f = forward_reference(theta, X)
    residual = f["q"] - y
    mse = float(np.mean(residual**2))
    e = np.where(f["q"] == f["q_raw"], residual, 0.0)
    grad = 2.0 / y.size * (jacobian_reference(theta, X).T @ e) + 2.0 * weight_decay * theta
    return Objective(mse + weight_decay * float(theta @ theta), mse, grad)
