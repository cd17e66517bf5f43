"""Numba kernels of the planner. Private: call the validating wrappers in cuts.py / assign.py."""

from __future__ import annotations

import numpy as np
from numba import njit

NEG = -1e300
#: What the beam search adds for the same identity twice in a row where nothing else could
#: fill a slot: so another path through the earlier slots is taken wherever one exists.
REPEAT_COST = 1e3
#: How many units for the first slot of a pair the brightness repair tries (the best by their own
#: gain), each with every unit for the second.
PAIR_TRIES = 24


@njit(cache=True, nogil=True)
def _shot_worth(d, tgt, sc, locked, min_len, max_len, lam):
    """What a shot of ``d`` frames adds to the cut DP's objective before variety: the worth
    ``sc`` of the cut ending it, less ``lam * log(d / tgt)**2`` and 1e3 outside
    ``[min_len, max_len]``; a locked shot adds ``sc`` only."""
    if locked:
        return sc
    r0 = np.log(max(d, 1) / tgt)
    v = sc - lam * r0 * r0
    if d < min_len or d > max_len:
        v -= 1e3
    return v


@njit(cache=True, nogil=True)
def _variety(L, Lp, r, run_cost, short_beats, short_cost):
    """The variety cost of a shot of ``L`` beats after one of ``Lp`` that ended a run of ``r``
    equal lengths, and the run it ends: ``(cost, run)``."""
    R = run_cost.shape[0] - 1
    rn = 1
    cost = 0.0
    if abs(L - Lp) < 0.1:
        rn = min(r + 1, R)
    if L <= short_beats and Lp <= short_beats:
        cost += short_cost
    return cost + run_cost[rn], rn


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
            base = _shot_worth(d, target[i], score[j], fixed_prev[j] >= 0, min_len, max_len, lam)
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
                        cost, rn = _variety(L, bpos[i] - bpos[i - o], r, run_cost, short_beats,
                                            short_cost)
                        v -= cost
                    else:
                        v -= run_cost[1]
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
def _path_value(cut, a, b, pos, bpos, score, fixed_prev, target, min_len, max_len, lam, run_cost,
                short_beats, short_cost):
    """The cut DP's objective (see :func:`_cut_dp`) of the shots ``cut[k] -> cut[k + 1]`` for k
    in ``[a, b)``, the run of equal lengths counted from shot ``a`` (the caller starts far
    enough back for the run to be the true one where it matters)."""
    v = 0.0
    r = 0
    Lp = 0.0
    for k in range(a, b):
        i = cut[k]
        j = cut[k + 1]
        L = bpos[j] - bpos[i]
        v += _shot_worth(pos[j] - pos[i], target[i], score[j], fixed_prev[j] >= 0, min_len,
                         max_len, lam)
        if k > a:
            cost, r = _variety(L, Lp, r, run_cost, short_beats, short_cost)
        else:
            cost, r = run_cost[1], 1
        v -= cost
        Lp = L
    return v


@njit(cache=True, nogil=True)
def _move_values(cut, k, a, b, js, pos, bpos, score, fixed_prev, target, min_len, max_len, lam,
                 run_cost, short_beats, short_cost):
    """:func:`_path_value` over cuts ``[a, b]`` as they are (entry 0) and with ``cut[k]`` moved
    to each of ``js`` (entries 1 ..); ``cut`` is as it was on return."""
    out = np.empty(js.shape[0] + 1)
    out[0] = _path_value(cut, a, b, pos, bpos, score, fixed_prev, target, min_len, max_len, lam,
                         run_cost, short_beats, short_cost)
    j0 = cut[k]
    for i in range(js.shape[0]):
        cut[k] = js[i]
        out[i + 1] = _path_value(cut, a, b, pos, bpos, score, fixed_prev, target, min_len, max_len,
                                 lam, run_cost, short_beats, short_cost)
    cut[k] = j0
    return out


@njit(cache=True, nogil=True)
def _run_through(cut, k, a, b, bpos):
    """The run of shots around shot ``cut[k] -> cut[k + 1]`` (itself included) whose lengths in
    beats are each within a tenth of a beat of its own, counting the shots ``k`` in ``[a, b)``.
    (:func:`_variety` compares each shot with the one before instead; on the beat grid, where
    lengths are whole or half beats, the two count the same runs.)"""
    L = bpos[cut[k + 1]] - bpos[cut[k]]
    n = 1
    q = k - 1
    while q >= a and abs(bpos[cut[q + 1]] - bpos[cut[q]] - L) < 0.1:
        n += 1
        q -= 1
    q = k + 1
    while q < b and abs(bpos[cut[q + 1]] - bpos[cut[q]] - L) < 0.1:
        n += 1
        q += 1
    return n


@njit(cache=True, nogil=True)
def _move_runs(cut, k, js, bpos):
    """The longest run of one length (:func:`_run_through`, over all the shots of ``cut``)
    through the two shots that cut ``cut[k]`` ends and starts, as they are (entry 0) and with
    ``cut[k]`` moved to each of ``js`` (entries 1 ..); ``cut`` is as it was on return."""
    out = np.empty(js.shape[0] + 1, dtype=np.int64)
    m = cut.shape[0] - 1
    j0 = cut[k]
    for i in range(js.shape[0] + 1):
        if i > 0:
            cut[k] = js[i - 1]
        out[i] = max(_run_through(cut, k - 1, 0, m, bpos), _run_through(cut, k, 0, m, bpos))
    cut[k] = j0
    return out


@njit(cache=True, nogil=True)
def _cv(n, s1, s2):
    """Coefficient of variation of n lengths with sum s1 and sum of squares s2 (0 below two)."""
    if n < 2 or s1 <= 0.0:
        return 0.0
    m = s1 / n
    return np.sqrt(max(s2 / n - m * m, 0.0)) / m


@njit(cache=True, nogil=True)
def _section_sums(cut, m, pos, sec_of, sn, s1, s2):
    """The count, sum and sum of squares of the lengths of the shots ``cut[k] -> cut[k + 1]``
    (k < m - 1) per section of their first frame, into ``sn``, ``s1``, ``s2``."""
    sn[:] = 0.0
    s1[:] = 0.0
    s2[:] = 0.0
    for k in range(m - 1):
        d = float(pos[cut[k + 1]] - pos[cut[k]])
        q = sec_of[cut[k]]
        sn[q] += 1.0
        s1[q] += d
        s2[q] += d * d


@njit("boolean[:](int64[:], float64[:], float64[:], boolean[:], boolean[:], int64[:], float64[:], "
      "int64, int64, float64, float64[:], float64, float64, int64[:], float64[:], float64, "
      "boolean[:], int64, int64[:], float64, int64)", cache=True, nogil=True)
def _count_search(pos, bpos, score, strong, movable, fixed_prev, target, min_len, max_len, lam,
                  run_cost, short_beats, short_cost, bar_of, want, mu, chosen_in, sweeps, sec_of,
                  cv_floor, run_max):
    """Move single cuts so the cuts per two bars come nearer to ``want``.

    chosen_in[j]  the cuts to start from (``chosen_in[0]`` and ``chosen_in[-1]`` set)
    movable[j]    a cut may be added at j (only if ``strong[j]``) or taken away from it (only if
                  not ``strong[j]``)
    bar_of[j]     the bar candidate j lies in (0 .. nb - 1), -1 where no bar counts it
    want[w]       the cuts wanted over bars w and w + 1 (nb - 1 windows, one per bar: both
                  phases of two-bar windows)
    sec_of[j]     the section of candidate j (shots belong to the section they start in)
    A move is made when it raises ``objective - mu * sum_w (made_w - want_w)**2``, the objective
    that of :func:`_cut_dp`, with the count error falling, and leaves the coefficient of variation
    of the shot lengths of every section it touches at ``cv_floor`` or more (or no lower than it
    was) and makes no run of shots of one length longer than ``run_max``; bar by bar, the best
    move in the bar first, ``sweeps`` passes at most. Returns the new cuts (bool, n).
    """
    n = pos.shape[0]
    nb = want.shape[0] + 1
    R = run_cost.shape[0] - 1
    chosen = chosen_in.copy()
    cut = np.empty(n, dtype=np.int64)
    m = 0
    for j in range(n):
        if chosen[j]:
            cut[m] = j
            m += 1
    cnt = np.zeros(nb)
    for k in range(1, m - 1):
        b = bar_of[cut[k]]
        if b >= 0:
            cnt[b] += 1.0
    # the shots' lengths per section: count, sum, sum of squares
    ns = 0
    for j in range(n):
        if sec_of[j] + 1 > ns:
            ns = sec_of[j] + 1
    sn = np.zeros(ns)
    s1 = np.zeros(ns)
    s2 = np.zeros(ns)
    _section_sums(cut, m, pos, sec_of, sn, s1, s2)
    # the candidates of each bar, as a range (candidates are sorted, bars rise with them)
    first = np.full(nb, -1, dtype=np.int64)
    last = np.full(nb, -2, dtype=np.int64)
    for j in range(n):
        b = bar_of[j]
        if b >= 0:
            if first[b] < 0:
                first[b] = j
            last[b] = j
    trial = np.empty(n + 1, dtype=np.int64)
    for _ in range(sweeps):
        moved = False
        for b in range(nb):
            while True:
                dev = 0.0
                nw = 0.0
                if b >= 1:
                    dev += cnt[b - 1] + cnt[b] - want[b - 1]
                    nw += 1.0
                if b < nb - 1:
                    dev += cnt[b] + cnt[b + 1] - want[b]
                    nw += 1.0
                best = 1e-9
                bj = -1
                for j in range(first[b], last[b] + 1):
                    if not movable[j]:
                        continue
                    add = not chosen[j]
                    dE = (2.0 * dev + nw) if add else (-2.0 * dev + nw)
                    # cuts are added on strong accents only, and only weak ones are taken away
                    if dE >= 0.0 or (add and not strong[j]) or (not add and strong[j]):
                        continue
                    # where j is (or would be) in the cut list
                    lo = 0
                    hi = m
                    while lo < hi:
                        mid = (lo + hi) // 2
                        if cut[mid] < j:
                            lo = mid + 1
                        else:
                            hi = mid
                    kk = lo                       # cut[kk] == j (remove) or the cut after j (add)
                    # the variety of the sections the move touches
                    pa = cut[kk - 1]
                    pc = cut[kk + 1] if not add else cut[kk]
                    da = float(pos[j] - pos[pa])
                    dc = float(pos[pc] - pos[j])
                    dl = da + dc
                    qa = sec_of[pa]
                    qj = sec_of[j]
                    sg = 1.0 if add else -1.0     # add: (a, c) -> (a, j) + (j, c); remove: back
                    na = sn[qa]
                    a1 = s1[qa] + sg * (da - dl)
                    a2 = s2[qa] + sg * (da * da - dl * dl)
                    if qj == qa:
                        na += sg
                        a1 += sg * dc
                        a2 += sg * dc * dc
                    worse = False
                    cva = _cv(na, a1, a2)
                    if cva < cv_floor and cva < _cv(sn[qa], s1[qa], s2[qa]) - 1e-12:
                        worse = True
                    if qj != qa:
                        nj = sn[qj] + sg
                        j1 = s1[qj] + sg * dc
                        j2 = s2[qj] + sg * dc * dc
                        cvj = _cv(nj, j1, j2)
                        if cvj < cv_floor and cvj < _cv(sn[qj], s1[qj], s2[qj]) - 1e-12:
                            worse = True
                    if worse:
                        continue
                    a = max(0, kk - R - 1)
                    # the shots from a to R + 1 past the change; beyond, both lists agree on the
                    # last R + 1 lengths, so every later term is the same
                    e_old = min(m - 1, kk + R + 2)
                    old = _path_value(cut, a, e_old, pos, bpos, score, fixed_prev, target,
                                      min_len, max_len, lam, run_cost, short_beats, short_cost)
                    t = 0
                    for q in range(a, min(m, e_old + 1)):
                        if add and q == kk:
                            trial[t] = j
                            t += 1
                        if not add and q == kk:
                            continue
                        trial[t] = cut[q]
                        t += 1
                    # no run of one length past run_max through the shots the move makes
                    run = _run_through(trial, kk - a - 1, 0, t - 1, bpos)
                    if add:
                        run = max(run, _run_through(trial, kk - a, 0, t - 1, bpos))
                    if run > run_max:
                        continue
                    new = _path_value(trial, 0, t - 1, pos, bpos, score, fixed_prev, target,
                                      min_len, max_len, lam, run_cost, short_beats, short_cost)
                    gain = new - old - mu * dE
                    if gain > best:
                        best = gain
                        bj = j
                if bj < 0:
                    break
                # apply the move
                if chosen[bj]:
                    q = 0
                    while cut[q] != bj:
                        q += 1
                    for r in range(q, m - 1):
                        cut[r] = cut[r + 1]
                    m -= 1
                    cnt[b] -= 1.0
                else:
                    q = m
                    while q > 0 and cut[q - 1] > bj:
                        cut[q] = cut[q - 1]
                        q -= 1
                    cut[q] = bj
                    m += 1
                    cnt[b] += 1.0
                chosen[bj] = not chosen[bj]
                _section_sums(cut, m, pos, sec_of, sn, s1, s2)
                moved = True
        if not moved:
            break
    return chosen


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
def _third_in_five(s, idu, w, chosen, parent, ident):
    """Would identity ``idu`` in slot s be there a third time within five slots (walking beam
    entry w's own history back)? Called only where its last use is at most 3 slots back."""
    n = 0
    k = w
    for t in range(s - 1, max(-1, s - 5), -1):
        if k < 0:
            break
        u = chosen[t, k]
        if u >= 0 and ident[u] == idu:
            n += 1
        k = parent[t, k]
    return n >= 2


@njit(cache=True, nogil=True)
def _continuity(u, last, bright, lab):
    return abs(bright[u] - bright[last]) + np.sqrt(
        (lab[u, 0] - lab[last, 0]) ** 2 + (lab[u, 1] - lab[last, 1]) ** 2
        + (lab[u, 2] - lab[last, 2]) ** 2) / 100.0


@njit(cache=True, nogil=True)
def _jump(u, last, bright, jump_free):
    """The steep part of a brightness change: 0 up to ``jump_free``, then growing with the
    square of the excess (1 at 0.05 over it, 4 at 0.1 over it)."""
    h = abs(bright[u] - bright[last]) - jump_free
    if h <= 0.0:
        return 0.0
    h = h / 0.05
    return h * h


@njit("int64[:](float64[:, :], boolean[:, :], float64[:], float64[:, :], float64[:], int64[:], int64, "
      "int64[:], int64[:], int64, float64, int64, float64[:], float64, int64, float64, int64[:], "
      "float64)", cache=True, nogil=True)
def _assign_beam(unit_cost, ok, bright, lab, cont_w, ident, spacing, fixed, prefer, width, noise,
                 seed, jump_w, jump_free, slack, reuse_w, id_space, return_w):
    """Beam search: which source unit fills each slot.

    unit_cost[s, u]  cost of unit u in slot s (the sum of the cost terms of costs.py)
    ok[s, u]         unit u can fill slot s (long enough)
    bright[u], lab[u, 3]
                     brightness and mean Lab colour: the continuity cost between neighbours is
                     cont_w[s] * (|dB| + |dLab| / 100), cont_w[s] applying between slot s-1 and s
                     (a negative weight rewards contrast)
    ident[u]         what counts as "the same source" (the file a unit comes from)
    spacing, id_space[F]
                     identity i never within min(spacing, id_space[i]) slots of itself (1: never
                     twice in a row; a duplicate group keeps a wider distance than a file),
                     and never three times within five slots,
                     counting the fixed slots ahead too (and the next slot when only one
                     identity can fill it); where no unit can keep that distance
                     the widest distance some unit keeps applies (twice in a row only when
                     nothing else can fill the slot, and then at REPEAT_COST, a locked slot
                     after its own source too: the beam takes another path through the
                     earlier slots wherever one exists)
    fixed[s]         -1, or the unit a locked (or kept) slot must use
    prefer[s]        -1, or a unit the slot keeps if it can (stable re-plans): exempt from the
                     round robin; its bonus is in unit_cost
    jump_w[s]        weight of the steep brightness-jump cost between slot s-1 and s
                     (:func:`_jump` above ``jump_free``; 0 where contrast is allowed)
    slack, reuse_w   the round robin is a preference: where every least-used identity would
                     jump more than ``jump_free`` in brightness from the previous slot (and
                     jump_w[s] > 0, and every identity has been used once), an identity used up
                     to ``slack`` times more may fill the slot instead, at ``reuse_w`` per extra
                     use (the jump cost decides); then no identity falls more than slack + 1
                     uses behind the most used one (one left out for a while comes back once,
                     not in a burst)
    return_w         cost of an identity coming back two slots after its last use (A B A; a
                     third of it three slots after)
    Rules: among units allowed by the spacing rule, only units of the least-used identities may
    be chosen (round robin: every source is used before any is repeated, but for the brightness
    exception above); a repeat prefers the unit used longest ago. Returns the unit of every slot
    (-1 where no unit can fill it).
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
                    c += cont_w[s] * _continuity(u, last, bright, lab) + jump_w[s] * _jump(
                        u, last, bright, jump_free)
                    if ident[last] == ident[u]:
                        c += REPEAT_COST
                nc = _keep_best(cand_cost, cand_w, cand_u, nc, W, c, w, u)
                continue
            lw = lastid[w]
            # the widest spacing some unit can keep (never twice in a row unless nothing else fits;
            # first also never three times in five slots)
            sp = spacing + 1
            while sp > 0:
                found = False
                for u in range(U):
                    iu = ident[u]
                    if ok[s, u] and not (
                            _too_close(s, iu, min(sp, id_space[iu]), lw, ahead_id, ahead_d, n_ahead)
                            or (sp > spacing and s - lw[iu] <= 3
                                and _third_in_five(s, iu, w, chosen, parent, ident))):
                        found = True
                        break
                if found:
                    break
                sp -= 1
            mincount = 1 << 60
            for u in range(U):
                iu = ident[u]
                if ok[s, u] and counts[w, iu] < mincount and not (sp > 0 and (
                        _too_close(s, iu, min(sp, id_space[iu]), lw, ahead_id, ahead_d, n_ahead)
                        or (sp > spacing and s - lw[iu] <= 3
                            and _third_in_five(s, iu, w, chosen, parent, ident)))):
                    mincount = counts[w, iu]
            if mincount == (1 << 60):
                continue
            # every least-used identity jumps in brightness: one used more may fill in
            extra = 0
            if slack > 0 and last >= 0 and jump_w[s] > 0.0 and mincount > 0:
                extra = slack
                for u in range(U):
                    iu = ident[u]
                    if ok[s, u] and counts[w, iu] == mincount and not (sp > 0 and (
                            _too_close(s, iu, min(sp, id_space[iu]), lw, ahead_id, ahead_d, n_ahead)
                            or (sp > spacing and s - lw[iu] <= 3
                                and _third_in_five(s, iu, w, chosen, parent, ident)))) \
                            and _jump(u, last, bright, jump_free) <= 0.0:
                        extra = 0
                        break
            for u in range(U):
                if not ok[s, u]:
                    continue
                iu = ident[u]
                over = counts[w, iu] - mincount
                if over != 0 and u != prefer[s] and (over < 0 or over > extra):
                    continue
                if sp > 0 and (
                        _too_close(s, iu, min(sp, id_space[iu]), lw, ahead_id, ahead_d, n_ahead)
                        or (sp > spacing and s - lw[iu] <= 3
                            and _third_in_five(s, iu, w, chosen, parent, ident))):
                    continue
                c = cost[w] + unit_cost[s, u] + noise * _hash_noise(s, u, seed)
                if over > 0 and u != prefer[s]:
                    c += reuse_w * over
                if last >= 0:
                    c += cont_w[s] * _continuity(u, last, bright, lab) + jump_w[s] * _jump(
                        u, last, bright, jump_free)
                if last_used[w, u] >= 0:
                    c += 1.0 / (1.0 + (s - last_used[w, u]))
                back = s - lw[iu]
                if back == 1:
                    c += REPEAT_COST
                elif back == 2:
                    c += return_w
                elif back == 3:
                    c += return_w / 3.0
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
            top = 0                            # the most uses of one identity in the entry
            for f in range(F):
                new_counts[k, f] = counts[w, f]
                new_lastid[k, f] = lastid[w, f]
                if counts[w, f] > top:
                    top = counts[w, f]
            new_counts[k, ident[u]] += 1
            top = max(top, new_counts[k, ident[u]])
            if slack > 0 and top > slack + 1:
                # a source left out for a while (brightness, length) is not owed its turns:
                # it never falls more than slack + 1 uses behind, so it comes back once, not
                # in a burst
                floor = top - slack - 1
                for i in range(F):
                    if new_counts[k, i] < floor:
                        new_counts[k, i] = floor
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


@njit(cache=True, nogil=True)
def _slot_list(out, t, order, dst):
    """Fill ``dst`` with the units allowed in slot t, in brightness order; return how many."""
    n = 0
    for k in range(order.shape[0]):
        v = order[k]
        if out[t, v]:
            dst[n] = v
            n += 1
    return n


@njit(cache=True, nogil=True)
def _mark_unmatched(out, s, order, lst, n, bright, ident, jump, drop):
    """Set ``drop[u]`` for every unit u allowed in slot s without a unit of another identity
    among ``lst[:n]`` (sorted by brightness) within ``jump`` of its brightness (one sweep in
    brightness order); return how many were newly marked."""
    U = order.shape[0]
    p = 0
    marked = 0
    for k in range(U):
        u = order[k]
        if not out[s, u] or drop[u]:
            continue
        b = bright[u]
        while p < n and bright[lst[p]] < b:
            p += 1
        found = False
        q = p
        while q < n and bright[lst[q]] - b <= jump:
            if ident[lst[q]] != ident[u]:
                found = True
                break
            q += 1
        if not found:
            q = p - 1
            while q >= 0 and b - bright[lst[q]] <= jump:
                if ident[lst[q]] != ident[u]:
                    found = True
                    break
                q -= 1
        if not found:
            drop[u] = True
            marked += 1
    return marked


@njit("boolean[:, :](boolean[:, :], float64[:], int64[:], int64[:], boolean[:], float64, int64)",
      cache=True, nogil=True)
def _neighbour_support(ok, bright, ident, section, frozen, jump, min_ids):
    """Arc consistency of brightness between neighbours inside a section.

    A unit stays allowed in slot s (ok[s, u]) only where each slot next to it inside its
    section allows a unit of another identity within ``jump`` in brightness. Repeated until
    nothing changes. Slots with ``frozen[s]`` (locked) are never pruned, a slot is never left
    with fewer than ``min_ids`` identities (it keeps its units instead and is frozen), and the
    first and last slot of a section need support only from inside it.
    """
    S, U = ok.shape
    out = ok.copy()
    order = np.argsort(bright)
    fz = frozen.copy()
    F = 0
    for u in range(U):
        if ident[u] + 1 > F:
            F = ident[u] + 1
    seen = np.zeros(F, dtype=np.int64)
    stamp = 0
    left_l = np.empty(U, dtype=np.int64)
    right_l = np.empty(U, dtype=np.int64)
    drop = np.zeros(U, dtype=np.bool_)
    dirty = np.ones(S, dtype=np.bool_)       # slots whose neighbours changed since their check
    changed = True
    while changed:
        changed = False
        for s in range(S):
            if fz[s] or not dirty[s]:
                continue
            dirty[s] = False
            left = s > 0 and section[s - 1] == section[s]
            right = s + 1 < S and section[s + 1] == section[s]
            if not left and not right:
                continue
            nl = _slot_list(out, s - 1, order, left_l) if left else 0
            nr = _slot_list(out, s + 1, order, right_l) if right else 0
            for u in range(U):
                drop[u] = False
            n_drop = 0
            if left:
                n_drop += _mark_unmatched(out, s, order, left_l, nl, bright, ident, jump, drop)
            if right:
                n_drop += _mark_unmatched(out, s, order, right_l, nr, bright, ident, jump, drop)
            if n_drop == 0:
                continue
            # identities left after the drop
            stamp += 1
            n_ids = 0
            for u in range(U):
                if out[s, u] and not drop[u] and seen[ident[u]] != stamp:
                    seen[ident[u]] = stamp
                    n_ids += 1
            if n_ids < min_ids:
                fz[s] = True
                continue
            for u in range(U):
                if drop[u]:
                    out[s, u] = False
            changed = True
            if s > 0:
                dirty[s - 1] = True
            if s + 1 < S:
                dirty[s + 1] = True
    return out


@njit(cache=True, nogil=True)
def _edge_cost(a, b, s, bright, lab, cont_w, jump_w, jump_free):
    """What the cut from unit a (slot s - 1) to unit b (slot s) costs."""
    if a < 0 or b < 0:
        return 0.0
    return cont_w[s] * _continuity(b, a, bright, lab) + jump_w[s] * _jump(b, a, bright, jump_free)


@njit(cache=True, nogil=True)
def _fits_spacing(seq, s, u, ident, id_space):
    """Unit u in slot s keeps its identity's spacing (``id_space``) from it in ``seq``, and its
    identity is not there three times within five slots."""
    S = seq.shape[0]
    sp = id_space[ident[u]]
    for k in range(max(0, s - sp), min(S, s + sp + 1)):
        if k == s or seq[k] < 0:
            continue
        if ident[seq[k]] == ident[u]:
            return False
    for a in range(max(0, s - 4), min(s, S - 5) + 1):
        n = 1
        for k in range(a, a + 5):
            if k != s and seq[k] >= 0 and ident[seq[k]] == ident[u]:
                n += 1
        if n >= 3:
            return False
    return True


@njit(cache=True, nogil=True)
def _local_cost(seq, s, unit_cost, bright, lab, cont_w, jump_w, jump_free, ident, return_w):
    """Unit cost of slot s, the cuts into and out of it and its returns (the same identity two
    slots before or after)."""
    S = seq.shape[0]
    c = unit_cost[s, seq[s]]
    for k in (s - 2, s + 2):
        if 0 <= k < S and seq[k] >= 0 and ident[seq[k]] == ident[seq[s]]:
            c += return_w
    if s > 0:
        c += _edge_cost(seq[s - 1], seq[s], s, bright, lab, cont_w, jump_w, jump_free)
    if s + 1 < S:
        c += _edge_cost(seq[s], seq[s + 1], s + 1, bright, lab, cont_w, jump_w, jump_free)
    return c


@njit(cache=True, nogil=True)
def _in_section(seq, lo, hi, skip, idv, ident):
    """How often identity ``idv`` fills the slots ``lo..hi`` (slot ``skip`` not counted)."""
    n = 0
    for k in range(lo, hi + 1):
        if k != skip and seq[k] >= 0 and ident[seq[k]] == idv:
            n += 1
    return n


@njit(cache=True, nogil=True)
def _replace_gain(seq, a, v, lo, hi, unit_cost, bright, lab, cont_w, jump_w, jump_free, ident,
                  return_w, reuse_w):
    """Cost of slot a as it is minus its cost with unit v (spacing not checked), where a source
    the section shows more often than the one it replaces costs ``reuse_w``."""
    ua = seq[a]
    before = _local_cost(seq, a, unit_cost, bright, lab, cont_w, jump_w, jump_free, ident, return_w)
    seq[a] = v
    after = _local_cost(seq, a, unit_cost, bright, lab, cont_w, jump_w, jump_free, ident, return_w)
    seq[a] = ua
    if _in_section(seq, lo, hi, a, ident[v], ident) > _in_section(seq, lo, hi, a, ident[ua], ident):
        after += reuse_w
    return before - after


@njit("int64[:](int64[:], float64[:, :], boolean[:, :], float64[:], float64[:, :], float64[:], "
      "float64[:], float64, int64[:], int64[:], boolean[:], int64[:], float64, float64, int64, "
      "float64)", cache=True, nogil=True)
def _smooth_jumps(choice, unit_cost, ok, bright, lab, cont_w, jump_w, jump_free, ident, id_space,
                  frozen, section, reuse_w, return_w, passes, fix_above):
    """Repair the brightness jumps the beam search left inside sections.

    For every cut s - 1 -> s with jump_w[s] > 0 whose brightness change is over ``fix_above``,
    try (a) swapping the unit of slot s - 1 or s with the unit of another slot of the same
    section, (b) replacing one of them by another unit allowed there (``ok``) and (c) replacing
    both (the PAIR_TRIES best units for s - 1 by their own gain, each with every unit for s),
    keeping each identity's spacing (``id_space``) and never touching ``frozen`` slots;
    the move that lowers the local cost most (unit costs, continuity and jump costs of the cuts
    it touches, ``return_w`` per return A B A, ``reuse_w`` for a replacement by a source the
    section shows more often) is made. Up to ``passes`` rounds.
    """
    S = choice.shape[0]
    U = unit_cost.shape[1]
    seq = choice.copy()
    cand = np.empty(U, dtype=np.int64)
    for _ in range(passes):
        improved = False
        for s in range(1, S):
            if jump_w[s] <= 0.0 or seq[s] < 0 or seq[s - 1] < 0:
                continue
            if abs(bright[seq[s]] - bright[seq[s - 1]]) <= fix_above:
                continue
            lo = s
            while lo > 0 and section[lo - 1] == section[s]:
                lo -= 1
            hi = s
            while hi + 1 < S and section[hi + 1] == section[s]:
                hi += 1
            best_gain = 1e-9
            best_kind = -1
            best_a = -1
            best_b = -1
            for side in range(2):
                a = s - 1 + side
                if frozen[a]:
                    continue
                ua = seq[a]
                base_a = _local_cost(seq, a, unit_cost, bright, lab, cont_w, jump_w, jump_free,
                                     ident, return_w)
                # (a) swap with slot t of the same section
                for t in range(lo, hi + 1):
                    if t == a or frozen[t] or seq[t] < 0:
                        continue
                    ut = seq[t]
                    if ident[ut] == ident[ua] or not ok[a, ut] or not ok[t, ua]:
                        continue
                    before = base_a + _local_cost(seq, t, unit_cost, bright, lab, cont_w, jump_w,
                                                  jump_free, ident, return_w)
                    seq[a] = ut
                    seq[t] = ua
                    fine = _fits_spacing(seq, a, ut, ident, id_space) and _fits_spacing(
                        seq, t, ua, ident, id_space)
                    after = _local_cost(seq, a, unit_cost, bright, lab, cont_w, jump_w, jump_free,
                                        ident, return_w) + _local_cost(
                        seq, t, unit_cost, bright, lab, cont_w, jump_w, jump_free, ident, return_w)
                    seq[a] = ua
                    seq[t] = ut
                    if fine and before - after > best_gain:
                        best_gain = before - after
                        best_kind = 0
                        best_a = a
                        best_b = t
                # (b) another unit in slot a
                for v in range(U):
                    if v == ua or not ok[a, v] or not _fits_spacing(seq, a, v, ident, id_space):
                        continue
                    g = _replace_gain(seq, a, v, lo, hi, unit_cost, bright, lab, cont_w, jump_w,
                                      jump_free, ident, return_w, reuse_w)
                    if g > best_gain:
                        best_gain = g
                        best_kind = 1
                        best_a = a
                        best_b = v
            # (c) both slots: a smooth unit for s - 1 (from its left), then the best for s
            a = s - 1
            best_pair = -1
            if not frozen[a] and not frozen[s]:
                ua = seq[a]
                us = seq[s]
                nv = 0
                for v in range(U):
                    smooth = a == 0 or seq[a - 1] < 0 or jump_w[a] <= 0.0 or _jump(
                        v, seq[a - 1], bright, jump_free) <= 0.0
                    if v != ua and ok[a, v] and smooth and _fits_spacing(seq, a, v, ident, id_space):
                        cand[nv] = v
                        nv += 1
                # the PAIR_TRIES best first halves by their own gain (every pair would be U^2)
                g1s = np.empty(nv)
                for k in range(nv):
                    g1s[k] = _replace_gain(seq, a, cand[k], lo, hi, unit_cost, bright, lab, cont_w,
                                           jump_w, jump_free, ident, return_w, reuse_w)
                order = np.argsort(-g1s[:nv])
                for k in order[:PAIR_TRIES]:
                    v = cand[k]
                    g1 = g1s[k]
                    seq[a] = v
                    for w2 in range(U):
                        if w2 == us or not ok[s, w2] or _jump(w2, v, bright, jump_free) > 0.0 \
                                or not _fits_spacing(seq, s, w2, ident, id_space):
                            continue
                        g = g1 + _replace_gain(seq, s, w2, lo, hi, unit_cost, bright, lab, cont_w,
                                               jump_w, jump_free, ident, return_w, reuse_w)
                        if g > best_gain:
                            best_gain = g
                            best_kind = 2
                            best_a = v
                            best_pair = w2
                    seq[a] = ua
            if best_kind == 0:
                ua = seq[best_a]
                seq[best_a] = seq[best_b]
                seq[best_b] = ua
                improved = True
            elif best_kind == 1:
                seq[best_a] = best_b
                improved = True
            elif best_kind == 2:
                seq[s - 1] = best_a
                seq[s] = best_pair
                improved = True
        if not improved:
            break
    return seq
