"""Numba kernels of the planner. Private: call the validating wrappers in cuts.py / assign.py."""

from __future__ import annotations

import numpy as np
from numba import njit

NEG = -1e300


@njit("int64[:](int64[:], float64[:], float64[:], boolean[:], int64[:], float64[:], int64, int64, "
      "float64, float64[:], float64, float64, int64[:])", cache=True, nogil=True)
def _cut_dp(pos, bpos, score, forced, fixed_prev, target, min_len, max_len, lam, run_cost,
            short_beats, short_cost, lo):
    """Choose cut positions among candidates (a second-order dynamic program).

    pos[j]        candidate frame (sorted; pos[0] = 0 and pos[-1] = the end are always cut)
    bpos[j]       its position on the beat grid, in beats
    score[j]      what a cut at j is worth
    forced[j]     a cut at j is mandatory (the chain may not jump over it)
    fixed_prev[j] if >= 0, the shot ending at j starts exactly at that candidate (a lock)
    target[j]     the ideal length (frames) of a shot starting at candidate j
    lo[j]         the earliest candidate a shot ending at j may start at (the wrapper's window)
    A shot from i to j (d = pos[j] - pos[i] frames, L = bpos[j] - bpos[i] beats) adds
        score[j] - lam * log(d / target[i])**2
        - run_cost[r]                  r = how many shots in a row (this one included) have
                                       the same length in beats (run_cost[1] = 0; the last
                                       entry applies to every longer run)
        - short_cost                   when it and the shot before are both <= short_beats
        - 1e3                          when d < min_len or d > max_len (only where forced cuts
                                       or a lack of candidates leave no other choice)
    Lock shots (fixed_prev) add score[j] only. The state is (cut, previous cut, run length).
    Returns the indices of the chosen candidates, in order (first 0, last n - 1).
    """
    n = pos.shape[0]
    R = run_cost.shape[0] - 1
    W = 1
    for j in range(1, n):
        if j - lo[j] > W:
            W = j - lo[j]
        if fixed_prev[j] >= 0 and j - fixed_prev[j] > W:
            W = j - fixed_prev[j]
    best = np.full((n, W + 1, R + 1), NEG)
    back = np.full((n, W + 1, R + 1), -1, dtype=np.int64)
    best[0, 0, 0] = 0.0
    for j in range(1, n):
        i0 = lo[j]
        i1 = j - 1
        if fixed_prev[j] >= 0:
            i0 = fixed_prev[j]
            i1 = fixed_prev[j]
        for i in range(i0, i1 + 1):
            d = pos[j] - pos[i]
            L = bpos[j] - bpos[i]
            if fixed_prev[j] >= 0:
                base = score[j]
            else:
                r0 = np.log(max(d, 1) / target[i])
                base = score[j] - lam * r0 * r0
                if d < min_len or d > max_len:
                    base -= 1e3
            o_new = j - i
            for o in range(0, W + 1):
                if o > i:
                    break
                for r in range(0, R + 1):
                    b = best[i, o, r]
                    if b <= NEG:
                        continue
                    v = b + base
                    rn = 1
                    if o > 0:
                        Lp = bpos[i] - bpos[i - o]
                        if abs(L - Lp) < 0.1:
                            rn = r + 1
                            if rn > R:
                                rn = R
                        if L <= short_beats and Lp <= short_beats:
                            v -= short_cost
                    v -= run_cost[rn]
                    if v > best[j, o_new, rn]:
                        best[j, o_new, rn] = v
                        back[j, o_new, rn] = o * (R + 1) + r
    # the best final state, then backtrack
    bj = NEG
    bo = -1
    br = -1
    for o in range(0, W + 1):
        for r in range(0, R + 1):
            if best[n - 1, o, r] > bj:
                bj = best[n - 1, o, r]
                bo = o
                br = r
    out = []
    j = n - 1
    o = bo
    r = br
    while j > 0 and o > 0:
        out.append(j)
        code = back[j, o, r]
        i = j - o
        o = code // (R + 1)
        r = code % (R + 1)
        j = i
    out.append(0)
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
def _too_close(s, idu, sp, lastid_w, ahead_id, ahead_d, n_ahead):
    """Would identity ``idu`` in slot s come within ``sp`` slots of itself (its last use in
    this beam entry, or a fixed slot ahead)?"""
    if s - lastid_w[idu] <= sp:
        return True
    for k in range(n_ahead):
        if ahead_id[k] == idu and ahead_d[k] <= sp:
            return True
    return False


@njit(cache=True, nogil=True)
def _continuity(u, last, bright, lab):
    return abs(bright[u] - bright[last]) + np.sqrt(
        (lab[u, 0] - lab[last, 0]) ** 2 + (lab[u, 1] - lab[last, 1]) ** 2
        + (lab[u, 2] - lab[last, 2]) ** 2) / 100.0


@njit("int64[:](float64[:, :], boolean[:, :], float64[:], float64[:, :], float64[:], int64[:], int64, "
      "int64[:], int64[:], int64, float64, int64)", cache=True, nogil=True)
def _assign_beam(unit_cost, ok, bright, lab, cont_w, ident, spacing, fixed, prefer, width, noise,
                 seed):
    """Beam search: which source unit fills each slot.

    unit_cost[s, u]  cost of unit u in slot s (the sum of the cost terms of costs.py)
    ok[s, u]         unit u can fill slot s (long enough)
    bright[u], lab[u, 3]
                     brightness and mean Lab colour: the continuity cost between neighbours is
                     cont_w[s] * (|dB| + |dLab| / 100), cont_w[s] applying between slot s-1 and s
                     (a negative weight rewards contrast)
    ident[u]         what counts as "the same source" (the file a unit comes from)
    spacing          the same identity never within this many slots (1: never twice in a row),
                     counting the fixed slots ahead too (and the next slot when only one
                     identity can fill it); where no unit can keep that distance
                     the widest distance some unit keeps applies (twice in a row only when
                     nothing else can fill the slot)
    fixed[s]         -1, or the unit a locked (or kept) slot must use
    prefer[s]        -1, or a unit the slot keeps if it can (stable re-plans): exempt from the
                     round robin; its bonus is in unit_cost
    Rules: among units allowed by the spacing rule, only units of the least-used identities may
    be chosen (round robin: every source is used before any is repeated); a repeat prefers the
    unit used longest ago. Returns the unit of every slot (-1 where no unit can fill it).
    """
    S, U = unit_cost.shape
    W = width
    F = 0
    for u in range(U):
        if ident[u] + 1 > F:
            F = ident[u] + 1
    counts = np.zeros((W, F), dtype=np.int64)
    last_used = np.full((W, U), -1, dtype=np.int64)
    lastid = np.full((W, F), -(1 << 40), dtype=np.int64)
    lastu = np.full(W, -1, dtype=np.int64)      # the unit of the previous slot, per entry
    parent = np.full((S, W), -1, dtype=np.int64)
    chosen = np.full((S, W), -1, dtype=np.int64)
    cost = np.zeros(W)
    alive = 1
    cand_cost = np.empty(W)
    cand_w = np.empty(W, dtype=np.int64)
    cand_u = np.empty(W, dtype=np.int64)
    new_counts = np.empty((W, F), dtype=np.int64)
    new_last = np.empty((W, U), dtype=np.int64)
    new_lastid = np.empty((W, F), dtype=np.int64)
    new_lastu = np.empty(W, dtype=np.int64)
    new_cost = np.empty(W)
    ahead_id = np.empty(max(spacing, 1), dtype=np.int64)
    ahead_d = np.empty(max(spacing, 1), dtype=np.int64)
    for s in range(S):
        n_ahead = 0
        for k in range(1, spacing + 1):
            if s + k < S and fixed[s + k] >= 0:
                ahead_id[n_ahead] = ident[fixed[s + k]]
                ahead_d[n_ahead] = k
                n_ahead += 1
        # a next slot only one source can fill (a long shot, few long clips) reserves it
        if spacing >= 1 and s + 1 < S and fixed[s + 1] < 0 and n_ahead < ahead_id.size:
            only = -1
            for u in range(U):
                if ok[s + 1, u]:
                    if only == -1:
                        only = ident[u]
                    elif ident[u] != only:
                        only = -2
                        break
            if only >= 0:
                ahead_id[n_ahead] = only
                ahead_d[n_ahead] = 1
                n_ahead += 1
        nc = 0
        for w in range(alive):
            last = lastu[w]
            if fixed[s] >= 0:
                u = fixed[s]
                c = cost[w]
                if last >= 0:
                    c += cont_w[s] * _continuity(u, last, bright, lab)
                nc = _keep_best(cand_cost, cand_w, cand_u, nc, W, c, w, u)
                continue
            lw = lastid[w]
            # the widest spacing some unit can keep (never twice in a row unless nothing else fits)
            sp = spacing
            while sp > 0:
                found = False
                for u in range(U):
                    if ok[s, u] and not _too_close(s, ident[u], sp, lw, ahead_id, ahead_d, n_ahead):
                        found = True
                        break
                if found:
                    break
                sp -= 1
            mincount = 1 << 60
            for u in range(U):
                if ok[s, u] and counts[w, ident[u]] < mincount and not (
                        sp > 0 and _too_close(s, ident[u], sp, lw, ahead_id, ahead_d, n_ahead)):
                    mincount = counts[w, ident[u]]
            if mincount == (1 << 60):
                continue
            for u in range(U):
                if not ok[s, u]:
                    continue
                if counts[w, ident[u]] != mincount and u != prefer[s]:
                    continue
                if sp > 0 and _too_close(s, ident[u], sp, lw, ahead_id, ahead_d, n_ahead):
                    continue
                c = cost[w] + unit_cost[s, u] + noise * _hash_noise(s, u, seed)
                if last >= 0:
                    c += cont_w[s] * _continuity(u, last, bright, lab)
                if last_used[w, u] >= 0:
                    c += 1.0 / (1.0 + (s - last_used[w, u]))
                nc = _keep_best(cand_cost, cand_w, cand_u, nc, W, c, w, u)
        if nc == 0:
            # no unit can fill slot s: it stays -1 (the wrapper reports it); the beam goes on
            for k in range(alive):
                parent[s, k] = k
                lastu[k] = -1
            continue
        for k in range(nc):
            w = cand_w[k]
            u = cand_u[k]
            parent[s, k] = w
            chosen[s, k] = u
            # element loops, not slice assignments: the same copy, far less for numba to compile
            for f in range(F):
                new_counts[k, f] = counts[w, f]
                new_lastid[k, f] = lastid[w, f]
            new_counts[k, ident[u]] += 1
            for v in range(U):
                new_last[k, v] = last_used[w, v]
            new_last[k, u] = s
            new_lastid[k, ident[u]] = s
            new_lastu[k] = u
            new_cost[k] = cand_cost[k]
        counts, new_counts = new_counts, counts
        last_used, new_last = new_last, last_used
        lastid, new_lastid = new_lastid, lastid
        lastu, new_lastu = new_lastu, lastu
        cost, new_cost = new_cost, cost
        alive = nc
    # backtrack from the best entry (the candidates are kept sorted, best first)
    out = np.full(S, -1, dtype=np.int64)
    k = 0
    for s in range(S - 1, -1, -1):
        out[s] = chosen[s, k]
        k = parent[s, k]
        if k < 0:
            k = 0
    return out
