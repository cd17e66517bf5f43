"""Stage 5 of the planner: which unit fills each slot, and from which in-point.

Public:

- :class:`Assignment` -- the unit, source in-point and "motion peak on the accent" flag of
  every slot.
- :func:`assign` -- :class:`~musync.planner.costs.Costs` + slots + units in, an
  :class:`Assignment` out (numba beam search, or file order with ``order="source"``).
- :func:`assign_units` -- the beam search alone.
- :func:`smooth_jumps` -- repair the brightness jumps inside sections the beam left.
- :func:`choose_in_point` -- land the unit's strongest motion peak on the shot's strongest
  accent, using a fresh part of a clip that was used before.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import PlanError
from .costs import Costs
from .slots import Slots
from .units import STILL_FRAMES, Unit

__all__ = ["Assignment", "assign", "assign_units", "smooth_jumps", "choose_in_point",
           "source_order", "identity_spacing", "SPACING"]

#: The same file never within this many shots of itself (1: never twice in a row).
SPACING = 1
#: Copies of one shot (a duplicate group of several files, one source for reuse): never within
#: this many shots of each other.
GROUP_SPACING = 3
#: Brightness changes up to this much between neighbours inside a section cost only the
#: continuity term; above it the steep jump cost applies and the round robin may give way.
JUMP_FREE = 0.16
#: The repair pass after the beam search works on the cuts whose change is over this.
JUMP_LIMIT = 0.2
#: How many uses ahead of the least-used source a smooth source may run to avoid a jump, and
#: what each such use costs.
JUMP_SLACK = 1
REUSE_COST = 1.0
#: What a source coming back two shots after itself costs (A B A; a third of it after three).
RETURN_COST = 2.0


@dataclass(frozen=True, eq=False)
class Assignment:
    """unit[s]: index into the units; source_in[s]: first source frame; peak_hit[s]: the unit's
    motion peak lands on the slot's accent."""

    unit: np.ndarray
    source_in: np.ndarray
    peak_hit: np.ndarray


def identity_spacing(ident: np.ndarray, units, spacing: int = SPACING,
                     group_spacing: int = GROUP_SPACING) -> np.ndarray:
    """(max ident + 1,) int64: how far apart each identity keeps its shots -- ``group_spacing``
    for a duplicate group of several files, ``spacing`` for a file alone."""
    ident = np.asarray(ident, dtype=np.int64)
    F = int(ident.max()) + 1 if ident.size else 1
    files: dict[int, set] = {}
    for i, u in zip(ident.tolist(), units):
        files.setdefault(i, set()).add(u.path)
    out = np.full(F, int(spacing), dtype=np.int64)
    for i, f in files.items():
        if len(f) > 1:
            out[i] = int(group_spacing)
    return out


def assign_units(costs: Costs, units, *, width: int = 8, noise: float = 0.05, seed: int = 0,
                 spacing: int = SPACING, ident=None, id_spacing=None) -> np.ndarray:
    """Choose the unit of every slot (see :func:`musync.planner._kernels._assign_beam`).

    ``ident`` (U,) says which units count as the same source (default: the same file);
    ``id_spacing`` (per identity) how far apart each keeps its shots (default: ``spacing``).
    """
    S, U = costs.unit.shape
    bright = np.array([u.brightness for u in units], dtype=np.float64)
    lab = np.array([u.lab for u in units], dtype=np.float64).reshape(U, 3)
    ident = np.array([u.clip for u in units], dtype=np.int64) if ident is None else \
        np.asarray(ident, dtype=np.int64)
    if ident.shape != (U,):
        raise ValueError(f"ident must have shape ({U},)")
    jump = np.zeros(S) if costs.jump is None else np.asarray(costs.jump, dtype=np.float64)
    if jump.shape != (S,):
        raise ValueError(f"costs.jump must have shape ({S},)")
    F = int(ident.max()) + 1 if U else 1
    id_sp = np.full(F, int(spacing), dtype=np.int64) if id_spacing is None else \
        np.minimum(np.asarray(id_spacing, dtype=np.int64), int(spacing))
    if id_sp.shape != (F,):
        raise ValueError(f"id_spacing must have shape ({F},)")
    from ._kernels import _assign_beam  # compiled on first use, not on `import musync` (a command that does not plan never compiles it)

    return _assign_beam(np.ascontiguousarray(costs.unit, dtype=np.float64),
                        np.ascontiguousarray(costs.ok, dtype=np.bool_), bright, lab,
                        np.ascontiguousarray(costs.continuity, dtype=np.float64), ident,
                        int(spacing), np.ascontiguousarray(costs.fixed, dtype=np.int64),
                        np.ascontiguousarray(costs.prefer, dtype=np.int64), int(width),
                        float(noise), int(seed), np.ascontiguousarray(jump), JUMP_FREE,
                        JUMP_SLACK if jump.any() else 0, REUSE_COST, id_sp,
                        RETURN_COST)


def smooth_jumps(choice: np.ndarray, costs: Costs, units, slots: Slots, *, ident=None,
                 id_spacing=None, passes: int = 4) -> np.ndarray:
    """Repair the brightness jumps inside sections that the beam search left (a swap with
    another shot of the section, or another unit where one fits; see
    :func:`musync.planner._kernels._smooth_jumps`). Locked and kept shots stay, and so does the
    first round of the sources (every source once before any repeats)."""
    S, U = costs.unit.shape
    if costs.jump is None or not np.any(costs.jump > 0) or S < 2:
        return choice
    bright = np.array([u.brightness for u in units], dtype=np.float64)
    lab = np.array([u.lab for u in units], dtype=np.float64).reshape(U, 3)
    ident = np.array([u.clip for u in units], dtype=np.int64) if ident is None else \
        np.asarray(ident, dtype=np.int64)
    frozen = (np.asarray(costs.fixed) >= 0) | (np.asarray(costs.prefer) >= 0)
    # the first round (every source once before any repeats) stays as the beam made it
    seen: set[int] = set()
    for k, u in enumerate(choice.tolist()):
        if u >= 0 and int(ident[u]) in seen:
            frozen[:k] = True
            break
        if u >= 0:
            seen.add(int(ident[u]))
    else:
        frozen[:] = True
    id_sp = np.full(int(ident.max()) + 1, SPACING, dtype=np.int64) if id_spacing is None else \
        np.asarray(id_spacing, dtype=np.int64)
    from ._kernels import _smooth_jumps  # compiled on first use, like the beam search

    return _smooth_jumps(np.ascontiguousarray(choice, dtype=np.int64),
                         np.ascontiguousarray(costs.unit, dtype=np.float64),
                         np.ascontiguousarray(costs.ok, dtype=np.bool_), bright, lab,
                         np.ascontiguousarray(costs.continuity, dtype=np.float64),
                         np.ascontiguousarray(costs.jump, dtype=np.float64), JUMP_FREE, ident,
                         id_sp, frozen, np.ascontiguousarray(slots.section, dtype=np.int64),
                         REUSE_COST, RETURN_COST, int(passes), JUMP_LIMIT)


def source_order(ok: np.ndarray, units, fixed: np.ndarray) -> np.ndarray:
    """Clips in file order, cycling; skip units too short for a shot and the previous file (and
    the file of a locked shot right after)."""
    S, U = ok.shape
    out = np.full(S, -1, dtype=np.int64)
    nxt = 0
    for s in range(S):
        if fixed[s] >= 0:
            out[s] = fixed[s]
            continue
        avoid = {units[out[s - 1]].clip} if s and out[s - 1] >= 0 else set()
        if s + 1 < S and fixed[s + 1] >= 0:
            avoid.add(units[fixed[s + 1]].clip)
        others = any(ok[s, v] and units[v].clip not in avoid for v in range(U))
        for step in range(U):
            u = (nxt + step) % U
            if ok[s, u] and (units[u].clip not in avoid or not others):
                out[s] = u
                nxt = u + 1
                break
    return out


def choose_in_point(unit: Unit, length: int, accent: int, used: list[tuple[int, int]]) -> tuple[int, bool]:
    """First source frame for a shot of ``length`` frames whose strongest accent is ``accent``
    frames after its start.

    Tries the unit's motion peaks, strongest first, placing each on the accent (``source_in =
    peak - accent``); takes the first placement that fits the unit and does not overlap a range
    of this unit already used. Without such a peak, takes the placement that overlaps used
    ranges least (centred in the unit when unused). Returns ``(source_in, peak_on_accent)``.
    """
    lo, hi = unit.lo, unit.hi
    latest = hi - length
    if latest < lo:
        raise ValueError("unit shorter than shot")

    def overlap(a: int) -> int:
        return sum(max(0, min(a + length, b) - max(a, x)) for x, b in used)

    for pf, _st in unit.peaks:
        a = pf - accent
        if lo <= a <= latest and overlap(a) == 0:
            return a, True
    if unit.is_still or unit.hi - unit.lo >= STILL_FRAMES // 2:  # any part is the same picture
        return lo, False
    if not used:
        return lo + (latest - lo) // 2, False
    # least overlap, then farthest from the previous uses, on a grid of positions
    steps = min(64, latest - lo + 1)
    cands = np.unique(np.linspace(lo, latest, steps).round().astype(np.int64))
    best = min(cands.tolist(), key=lambda a: (overlap(a), -min(abs(a - x) for x, _ in used), a))
    return int(best), False


def assign(costs: Costs, slots: Slots, units, *, order: str = "auto", seed: int = 0,
           fps: float = 30.0) -> Assignment:
    """Units and in-points for every slot. Locked slots keep their source range; a slot that
    keeps its previous unit in a stable re-plan keeps its previous in-point too."""
    units = list(units)
    if order == "source":
        choice = source_order(costs.ok, units, costs.fixed)
    elif costs.ident is not None:
        ident = costs.ident
        grouped = np.unique(ident).size < len({u.path for u in units})
        sp = GROUP_SPACING if grouped else SPACING
        id_sp = identity_spacing(ident, units, SPACING, sp)
        choice = assign_units(costs, units, seed=seed, ident=ident, spacing=sp, id_spacing=id_sp)
        choice = smooth_jumps(choice, costs, units, slots, ident=ident, id_spacing=id_sp)
    else:
        choice = assign_units(costs, units, seed=seed)
        choice = smooth_jumps(choice, costs, units, slots)
    if np.any(choice < 0):
        k = int(np.flatnonzero(choice < 0)[0])
        raise PlanError(f"no clip can fill shot {k} ({slots.length[k] / fps:.2f} s); add longer clips")
    S = len(slots)
    src = np.zeros(S, dtype=np.int64)
    hit = np.zeros(S, dtype=bool)
    used: dict[int, list[tuple[int, int]]] = {}
    for k in range(S):
        u = int(choice[k])
        L = int(slots.length[k])
        fixed = slots.fixed[k]
        keep = slots.keep[k]
        if fixed is not None:
            src[k] = fixed.source_in
        elif keep is not None and u == costs.prefer[k] and units[u].lo <= keep.source_in \
                and keep.source_in + L <= units[u].hi:
            src[k] = keep.source_in
            hit[k] = bool(keep.scores.get("peak_on_accent", 0.0) >= 1.0)
        else:
            src[k], hit[k] = choose_in_point(units[u], L, int(slots.accent[k]), used.get(u, []))
            if units[u].is_still:
                src[k] = units[u].lo
        used.setdefault(u, []).append((int(src[k]), int(src[k]) + L))
    return Assignment(unit=choice.astype(np.int64), source_in=src, peak_hit=hit)
