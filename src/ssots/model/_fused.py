"""The fused loop behind ``ssots.model``'s kernel, compiled by numba: one pass over the
rows computes L, G, cos, kappa, the ramp, Q, the residual and every sum the gradient is
assembled from (MODEL.md section 5; the formulas are in :mod:`ssots.model._kernel`, and
:mod:`ssots.model._kernel_reference` writes the same maths in plain NumPy).

The rows are cut into chunks of ``CHUNK_ROWS`` (a fixed partition: it depends on the
number of rows only). Each chunk writes its partial sums to its own row of ``partials``;
the caller adds those rows in chunk order. The chunks run in parallel (``prange``) when
there are several, so results are bit-identical for any number of threads, and serial
and parallel calls agree bit for bit. Inside a chunk, ``LANES`` rows at a time go through
four loops: two over the dimensions (L and ln G; the absolute and signed deviations from
L) and one over the dimensions for the gradient, each elementwise over the rows so the
compiler vectorises them, with one loop over the rows in between for the per-row scalars
(the two exponentials, cos, the ramp, Q and the residual). The gradient's ``d`` sums over
rows are kept per lane (``acc``) and added up once per chunk, in a fixed order, so no
reduction needs reassociation.

``@njit(cache=True)`` keeps the machine code on disk: numba writes it to the
``__pycache__`` folder beside this file (or under ``NUMBA_CACHE_DIR`` when set, or the
user's cache folder when this one is read-only), so only the first call after an install
or an edit of this file compiles. :mod:`ssots.model._kernel` imports this module (and
numba) on its first evaluation.
"""

from __future__ import annotations

import math

import numpy as np
from numba import get_num_threads, njit, prange

__all__ = ["get_num_threads"]  # re-exported for the kernel, which imports numba only here

CHUNK_ROWS = 8192
"""Rows per chunk: the unit of parallel work and of the ordered reduction."""
LANES = 256
"""Rows per inner block: per-row scratch and the lane accumulators stay in L1/L2."""

PREDICT, MSE, GRADIENT = 0, 1, 2
"""What a pass computes: Q only; also the squared error; also the gradient sums."""

# Columns of a row of ``partials`` after the d gradient sums (see ``_kernel``).
_N_SCALARS = 9  # (q'/D).(cos|x|), e.[L, G, r, 1], q'.[1, cos, K1], SSE


def n_partials(d: int) -> int:
    """Width of a row of ``partials``: ``d + 8`` gradient sums, then the SSE."""
    return d + _N_SCALARS


def n_chunks(n_rows: int) -> int:
    """Number of chunks ``n_rows`` rows are cut into."""
    return -(-n_rows // CHUNK_ROWS)


# exp(x) = 2^k exp(h), k = round(x / ln 2), h = x - k ln 2 in [-ln 2 / 2, ln 2 / 2]
# (Cody and Waite's split of ln 2: k * _LN2_HI is exact for |k| < 2^11), exp(h) by its
# Taylor polynomial to degree 13 (truncation error below 5e-18 relative) and 2^k built
# from the bits of ``x / ln 2 + _SHIFTER``, whose low bits hold k + 1023 once rounded.
_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_SHIFTER = 1.5 * 2.0**52 + 1023.0
_EXP_LIMIT = 708.0  # exp(+-708) is a normal float64; arguments are clamped to this
_C2, _C3, _C4, _C5, _C6, _C7 = (1.0 / math.factorial(k) for k in range(2, 8))
_C8, _C9, _C10, _C11, _C12, _C13 = (1.0 / math.factorial(k) for k in range(8, 14))


@njit(cache=True, fastmath={"contract"})
def _exp_into(x, out, m):
    """``out[:m] = exp(x[:m])`` (within 2 ulp of ``np.exp``), in elementwise loops the
    compiler vectorises; ``x`` is overwritten. Arguments are clamped to +-708: the
    kernel's never come near (the ramp's stays within [-26, 34] for feasible theta)."""
    bits = out.view(np.int64)
    for r in range(m):
        v = min(max(x[r], -_EXP_LIMIT), _EXP_LIMIT)
        t = v * _LOG2E + _SHIFTER
        k = t - _SHIFTER
        h = (v - k * _LN2_HI) - k * _LN2_LO
        p = _C13 * h + _C12
        p = p * h + _C11
        p = p * h + _C10
        p = p * h + _C9
        p = p * h + _C8
        p = p * h + _C7
        p = p * h + _C6
        p = p * h + _C5
        p = p * h + _C4
        p = p * h + _C3
        p = p * h + _C2
        p = p * h + 1.0
        x[r] = p * h + 1.0
        out[r] = t
    for r in range(m):
        bits[r] = bits[r] << 52  # the biased exponent k + 1023, nothing else: 2^k
    for r in range(m):
        out[r] *= x[r]


@njit(cache=True, fastmath={"contract"})
def _add_product(total, a, b, m):
    """``total[:m] += a[:m] * b[:m]``."""
    for r in range(m):
        total[r] += a[r] * b[r]


@njit(cache=True, fastmath={"contract"})
def _chunk(zt, norms, y, w, coef, mode, start, stop, q_out, partial):
    """Rows ``start:stop``: write Q to ``q_out`` (PREDICT) or this chunk's sums to
    ``partial`` (``d + 8`` gradient sums, then the SSE).

    Each loop touches few arrays: the compiler vectorises a loop only when it can check
    cheaply at run time that the arrays it writes do not overlap those it reads.
    """
    d = w.size
    alpha, beta, gamma, delta_min, delta_max, w_norm, eps, center, width = coef
    spread = delta_max - delta_min
    gain = spread / width  # dQ/ds = gain * r (1 - r)
    lin = np.empty(LANES)  # L
    geo = np.empty(LANES)  # G
    dev = np.empty(LANES)  # K1 = sum w_i |x_i - L|   (kappa = 1 - 2 K1)
    sgn = np.empty(LANES)  # S  = sum w_i sign(x_i - L)
    inv = np.empty(LANES)  # 1 / (|w| |x| + eps)
    cos = np.empty(LANES)
    ramp = np.empty(LANES)  # r
    q = np.empty(LANES)  # Q
    err = np.empty(LANES)  # e: Q - y, 0 where Q is clipped
    qp = np.empty(LANES)  # q' = e r (1 - r), then q' / (|w| |x| + eps)
    u = np.empty(LANES)  # coefficient of x_i in the w-gradient
    eg = np.empty(LANES)  # gamma e G, coefficient of ln x~_i
    qb = np.empty(LANES)  # 2 gain beta q', coefficient of -|x_i - L|
    tmp = np.empty(LANES)
    acc = np.zeros((d + _N_SCALARS, LANES))  # per-lane sums, added up at the end
    s_qcn, s_el, s_eg, s_er = acc[d], acc[d + 1], acc[d + 2], acc[d + 3]
    s_e, s_q, s_qcos, s_qk1, sse = acc[d + 4], acc[d + 5], acc[d + 6], acc[d + 7], acc[d + 8]
    for b0 in range(start, stop, LANES):
        m = min(LANES, stop - b0)
        nrm = norms[b0 : b0 + m]
        # L and w . ln x~ (then G), then |x_i - L| and sign(x_i - L) weighted by w.
        lin[:m] = 0.0
        tmp[:m] = 0.0
        for i in range(d):
            wi = w[i]
            x_i = zt[i, b0 : b0 + m]
            lx_i = zt[d + i, b0 : b0 + m]
            for r in range(m):
                lin[r] += wi * x_i[r]
                tmp[r] += wi * lx_i[r]
        _exp_into(tmp, geo, m)
        dev[:m] = 0.0
        sgn[:m] = 0.0
        for i in range(d):
            wi = w[i]
            x_i = zt[i, b0 : b0 + m]
            for r in range(m):
                a = x_i[r] - lin[r]
                dev[r] += wi * abs(a)
                sgn[r] += wi if a > 0.0 else (-wi if a < 0.0 else 0.0)
        # cos, the synergy s and the ramp r = 1 / (1 + exp((center - s) / width)).
        for r in range(m):
            inv[r] = 1.0 / (w_norm * nrm[r] + eps)
            cos[r] = lin[r] * inv[r]
        for r in range(m):
            tmp[r] = (center - (alpha * cos[r] + beta * (1.0 - 2.0 * dev[r]))) / width
        _exp_into(tmp, ramp, m)
        for r in range(m):
            ramp[r] = 1.0 / (1.0 + ramp[r])
        # Q = clip(B + delta, 0, 1); err holds 1 where Q is not clipped, 0 where it is.
        for r in range(m):
            tmp[r] = ((1.0 - gamma) * lin[r] + gamma * geo[r] + delta_min) + spread * ramp[r]
        for r in range(m):
            q[r] = min(max(tmp[r], 0.0), 1.0)
            err[r] = 1.0 if q[r] == tmp[r] else 0.0
        if mode == PREDICT:
            q_out[b0 : b0 + m] = q[:m]
            continue
        yy = y[b0 : b0 + m]
        for r in range(m):
            res = q[r] - yy[r]
            sse[r] += res * res
            err[r] *= res
        if mode != GRADIENT:
            continue
        # The sums the gradient is assembled from (see _kernel) and the per-row
        # coefficients of x_i, ln x~_i and |x_i - L| in the w-gradient.
        for r in range(m):
            qp[r] = err[r] * (ramp[r] * (1.0 - ramp[r]))
        _add_product(s_el, err, lin, m)
        _add_product(s_eg, err, geo, m)
        _add_product(s_er, err, ramp, m)
        for r in range(m):
            s_e[r] += err[r]
        for r in range(m):
            s_q[r] += qp[r]
        _add_product(s_qcos, qp, cos, m)
        _add_product(s_qk1, qp, dev, m)
        for r in range(m):
            qb[r] = (2.0 * gain * beta) * qp[r]
        for r in range(m):
            u[r] = (1.0 - gamma) * err[r] + qb[r] * sgn[r]
        for r in range(m):
            eg[r] = gamma * err[r] * geo[r]
        for r in range(m):
            qp[r] *= inv[r]  # q' / (|w| |x| + eps) from here on
        for r in range(m):
            u[r] += (gain * alpha) * qp[r]
        for r in range(m):
            tmp[r] = cos[r] * nrm[r]
        _add_product(s_qcn, qp, tmp, m)
        for i in range(d):
            x_i = zt[i, b0 : b0 + m]
            lx_i = zt[d + i, b0 : b0 + m]
            acc_i = acc[i]
            for r in range(m):
                acc_i[r] += x_i[r] * u[r] + lx_i[r] * eg[r] - qb[r] * abs(x_i[r] - lin[r])
    if mode == PREDICT:
        return
    for j in range(d + _N_SCALARS):
        total = 0.0
        for r in range(LANES):
            total += acc[j, r]
        partial[j] = total


@njit(cache=True, parallel=True, fastmath={"contract"})
def run_parallel(zt, norms, y, w, coef, mode, q_out, partials):
    """Every chunk of rows, in parallel; chunk ``k`` writes ``partials[k]``."""
    n = zt.shape[1]
    for k in prange(partials.shape[0]):
        start = k * CHUNK_ROWS
        _chunk(zt, norms, y, w, coef, mode, start, min(n, start + CHUNK_ROWS), q_out, partials[k])


@njit(cache=True, fastmath={"contract"})
def run_serial(zt, norms, y, w, coef, mode, q_out, partials):
    """Every chunk of rows, in order, on the calling thread (same results bit for bit as
    :func:`run_parallel`; no thread start-up for small inputs)."""
    n = zt.shape[1]
    for k in range(partials.shape[0]):
        start = k * CHUNK_ROWS
        _chunk(zt, norms, y, w, coef, mode, start, min(n, start + CHUNK_ROWS), q_out, partials[k])


@njit(cache=True)
def add_partials(partials):
    """The column sums of ``partials``, adding its rows (chunks) in order."""
    out = np.zeros(partials.shape[1])
    for k in range(partials.shape[0]):
        for j in range(partials.shape[1]):
            out[j] += partials[k, j]
    return out
