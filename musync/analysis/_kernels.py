"""Numba kernels for analysis. Private: call the validating wrappers in beats.py / downbeats.py."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit("Tuple((float64[:], int64[:]))(float64[:], float64, float64)", cache=True, nogil=True)
def _beat_dp(local, period, tightness):
    """Ellis-style dynamic program over frames.

    score[i] = local[i] + max(0, max_{j in [i-2p, i-p/2]} score[j] - tightness * log(d/p)^2)
    Returns the cumulative scores and the back-pointers (-1 for a chain start).
    """
    n = local.shape[0]
    score = np.empty(n, dtype=np.float64)
    back = np.full(n, -1, dtype=np.int64)
    lo = int(np.floor(period * 0.5))
    hi = int(np.ceil(period * 2.0))
    if lo < 1:
        lo = 1
    for i in range(n):
        best = -1e300
        arg = -1
        j0 = i - hi
        if j0 < 0:
            j0 = 0
        for j in range(j0, i - lo + 1):
            d = i - j
            r = np.log(d / period)
            v = score[j] - tightness * r * r
            if v > best:
                best = v
                arg = j
        if arg >= 0 and best > 0.0:
            score[i] = local[i] + best
            back[i] = arg
        else:
            score[i] = local[i]
    return score, back


@njit("int64[:](float64[:, :], float64)", cache=True, nogil=True)
def _bar_viterbi(loglik, log_switch):
    """Viterbi over bar positions.

    ``loglik[i, k]``: log-likelihood that beat i sits at bar position k (0 = downbeat).
    Position advances k -> (k + 1) % M at no cost; any other move costs ``log_switch`` (< 0).
    Returns the most likely position of every beat.
    """
    n, m = loglik.shape
    delta = np.empty((n, m), dtype=np.float64)
    psi = np.zeros((n, m), dtype=np.int64)
    for k in range(m):
        delta[0, k] = loglik[0, k]
    for i in range(1, n):
        for k in range(m):
            prev = (k - 1 + m) % m
            best = delta[i - 1, prev]
            arg = prev
            for j in range(m):
                if j != prev:
                    v = delta[i - 1, j] + log_switch
                    if v > best:
                        best = v
                        arg = j
            delta[i, k] = best + loglik[i, k]
            psi[i, k] = arg
    path = np.empty(n, dtype=np.int64)
    k = 0
    best = delta[n - 1, 0]
    for j in range(1, m):
        if delta[n - 1, j] > best:
            best = delta[n - 1, j]
            k = j
    path[n - 1] = k
    for i in range(n - 1, 0, -1):
        k = psi[i, k]
        path[i - 1] = k
    return path
