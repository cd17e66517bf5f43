"""Numba kernels of the planner. Private: call the validating wrappers in grid.py / assign.py."""

from __future__ import annotations

import numpy as np
from numba import njit

NEG = -1e300


@njit("int64[:](int64[:], float64[:], boolean[:], int64[:], float64[:], int64, int64, float64)",
      cache=True, nogil=True)
def _cut_dp(pos, score, forced, fixed_prev, target, min_len, max_len, lam):
    """Choose cut positions among candidates.

    pos[j]        candidate frame (sorted, pos[0] = 0, pos[-1] = end; both are always cut)
    score[j]      how much a cut at j is worth
    forced[j]     a cut at j is mandatory (the chain may not jump over it)
    fixed_prev[j] if >= 0, the shot ending at j must start exactly at that candidate (a lock)
    target[j]     the ideal length (frames) of a shot starting at candidate j
    A shot from i to j is worth score[j] - lam * log((pos[j] - pos[i]) / target[i])^2 and must
    be within [min_len, max_len] frames unless forced cuts leave no choice.
    Returns the indices of the chosen candidates, in order.
    """
    n = pos.shape[0]
    best = np.full(n, NEG)
    back = np.full(n, -1, dtype=np.int64)
    best[0] = 0.0
    for j in range(1, n):
        if fixed_prev[j] >= 0:
            i = fixed_prev[j]
            if best[i] > NEG:
                best[j] = best[i] + score[j]
                back[j] = i
            continue
        bj = NEG
        arg = -1
        nearest = -1
        i = j - 1
        while i >= 0:
            d = pos[j] - pos[i]
            if d > max_len and nearest >= 0:
                break
            if best[i] > NEG:
                if nearest < 0:
                    nearest = i
                if d >= min_len and d <= max_len:
                    r = np.log(d / target[i])
                    v = best[i] + score[j] - lam * r * r
                    if v > bj:
                        bj = v
                        arg = i
            if forced[i]:
                break
            i -= 1
        if arg < 0 and nearest >= 0:
            # forced cuts closer than min_len or farther than max_len: take the nearest start
            d = pos[j] - pos[nearest]
            r = np.log(max(d, 1) / target[nearest])
            bj = best[nearest] + score[j] - lam * r * r - 1e3
            arg = nearest
        best[j] = bj
        back[j] = arg
    # backtrack from the end
    out = []
    j = n - 1
    while j >= 0:
        out.append(j)
        j = back[j]
    res = np.empty(len(out), dtype=np.int64)
    for k in range(len(out)):
        res[k] = out[len(out) - 1 - k]
    return res


@njit(cache=True, nogil=True)
def _hash_noise(a, b, seed):
    h = (a * 73856093) ^ (b * 19349663) ^ (seed * 83492791)
    h = (h ^ (h >> 13)) * 1274126177
    h = h ^ (h >> 16)
    return (h & 0xFFFF) / 65535.0


@njit(cache=True, nogil=True)
def _keep_best(cost, ws, us, n, cap, c, w, u):
    """Insert candidate (c, w, u) into the sorted top-``cap`` list of length ``n``; return the
    new length. Ties keep the earlier candidate (deterministic)."""
    if n == cap and c >= cost[n - 1]:
        return n
    k = n if n < cap else cap - 1
    while k > 0 and cost[k - 1] > c:
        if k < cap:
            cost[k] = cost[k - 1]
            ws[k] = ws[k - 1]
            us[k] = us[k - 1]
        k -= 1
    cost[k] = c
    ws[k] = w
    us[k] = u
    return n + 1 if n < cap else n


@njit(cache=True, nogil=True)
def _assign_beam(unit_cost, ok, bright, lab, cont_w, file_id, fixed, width, noise, seed):
    """Beam search: which source unit fills each shot.

    unit_cost[s, u]  cost of unit u in shot s (motion fit, peak fit, climax hold-back, ...)
    ok[s, u]         unit u can fill shot s (long enough)
    bright[u], lab[u, 3]
                     brightness and mean Lab colour: the continuity cost between neighbours is
                     cont_w[s] * (|dB| + |dLab| / 100), cont_w[s] applying between shot s-1 and s
    file_id[u]       the file a unit comes from (never the same file twice in a row)
    fixed[s]         -1, or the unit a locked shot must use
    Rules: among units able to fill the shot (and not from the previous shot's file, when another
    file can fill it), only units of the least-used files may be chosen (round robin over files:
    every clip is used before any is repeated); a repeat prefers the unit used longest ago.
    Returns the unit of every shot (-1 where no unit can fill it).
    """
    S, U = unit_cost.shape
    W = width
    F = 0
    for u in range(U):
        if file_id[u] + 1 > F:
            F = file_id[u] + 1
    counts = np.zeros((W, F), dtype=np.int64)
    last_used = np.full((W, U), -1, dtype=np.int64)
    hist = np.full((W, S), -1, dtype=np.int64)
    cost = np.zeros(W)
    alive = 1
    cand_cost = np.empty(W)
    cand_w = np.empty(W, dtype=np.int64)
    cand_u = np.empty(W, dtype=np.int64)
    new_counts = np.empty((W, F), dtype=np.int64)
    new_last = np.empty((W, U), dtype=np.int64)
    new_hist = np.empty((W, S), dtype=np.int64)
    new_cost = np.empty(W)
    for s in range(S):
        nc = 0
        for w in range(alive):
            last = hist[w, s - 1] if s > 0 else -1
            last_file = file_id[last] if last >= 0 else -1
            if fixed[s] >= 0:
                u = fixed[s]
                c = cost[w]
                if last >= 0:
                    c += cont_w[s] * (abs(bright[u] - bright[last]) + np.sqrt(
                        (lab[u, 0] - lab[last, 0]) ** 2 + (lab[u, 1] - lab[last, 1]) ** 2
                        + (lab[u, 2] - lab[last, 2]) ** 2) / 100.0)
                nc = _keep_best(cand_cost, cand_w, cand_u, nc, W, c, w, u)
                continue
            other_file = False
            for u in range(U):
                if ok[s, u] and file_id[u] != last_file:
                    other_file = True
                    break
            mincount = 1 << 60
            for u in range(U):
                if ok[s, u] and not (other_file and file_id[u] == last_file):
                    if counts[w, file_id[u]] < mincount:
                        mincount = counts[w, file_id[u]]
            if mincount == (1 << 60):
                continue
            for u in range(U):
                if not ok[s, u] or counts[w, file_id[u]] != mincount:
                    continue
                if other_file and file_id[u] == last_file:
                    continue
                c = cost[w] + unit_cost[s, u] + noise * _hash_noise(s, u, seed)
                if last >= 0:
                    c += cont_w[s] * (abs(bright[u] - bright[last]) + np.sqrt(
                        (lab[u, 0] - lab[last, 0]) ** 2 + (lab[u, 1] - lab[last, 1]) ** 2
                        + (lab[u, 2] - lab[last, 2]) ** 2) / 100.0)
                if last_used[w, u] >= 0:
                    c += 1.0 / (1.0 + (s - last_used[w, u]))
                nc = _keep_best(cand_cost, cand_w, cand_u, nc, W, c, w, u)
        if nc == 0:
            continue  # no unit can fill shot s: it stays -1 and the wrapper reports it
        new_alive = nc
        for k in range(new_alive):
            q = k
            w = cand_w[q]
            u = cand_u[q]
            new_counts[k, :] = counts[w, :]
            new_counts[k, file_id[u]] += 1
            new_last[k, :] = last_used[w, :]
            new_last[k, u] = s
            new_hist[k, :] = hist[w, :]
            new_hist[k, s] = u
            new_cost[k] = cand_cost[q]
        for k in range(new_alive):
            counts[k, :] = new_counts[k, :]
            last_used[k, :] = new_last[k, :]
            hist[k, :] = new_hist[k, :]
            cost[k] = new_cost[k]
        alive = new_alive
    return hist[0].copy()
