"""Stage 5 of the planner: which unit fills each slot, and from which in-point.

Public:

- :class:`Assignment` -- the unit, source in-point and "motion peak on the accent" flag of
  every slot.
- :func:`assign` -- :class:`~musync.planner.costs.Costs` + slots + units in, an
  :class:`Assignment` out (numba beam search, or file order with ``order="source"``).
- :func:`assign_units` -- the beam search alone.
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

__all__ = ["Assignment", "assign", "assign_units", "choose_in_point", "source_order", "SPACING"]

#: The same file never within this many shots of itself (1: never twice in a row).
SPACING = 1
#: With duplicate groups (copies of one shot count as one source): never within this many.
GROUP_SPACING = 3


@dataclass(frozen=True, eq=False)
class Assignment:
    """unit[s]: index into the units; source_in[s]: first source frame; peak_hit[s]: the unit's
    motion peak lands on the slot's accent."""

    unit: np.ndarray
    source_in: np.ndarray
    peak_hit: np.ndarray


def assign_units(costs: Costs, units, *, width: int = 8, noise: float = 0.05, seed: int = 0,
                 spacing: int = SPACING, ident=None) -> np.ndarray:
    """Choose the unit of every slot (see :func:`musync.planner._kernels._assign_beam`).

    ``ident`` (U,) says which units count as the same source (default: the same file).
    """
    S, U = costs.unit.shape
    bright = np.array([u.brightness for u in units], dtype=np.float64)
    lab = np.array([u.lab for u in units], dtype=np.float64).reshape(U, 3)
    ident = np.array([u.clip for u in units], dtype=np.int64) if ident is None else \
        np.asarray(ident, dtype=np.int64)
    if ident.shape != (U,):
        raise ValueError(f"ident must have shape ({U},)")
    from ._kernels import _assign_beam  # compiled on first use, not on `import musync` (a command that does not plan never compiles it)

    return _assign_beam(np.ascontiguousarray(costs.unit, dtype=np.float64),
                        np.ascontiguousarray(costs.ok, dtype=np.bool_), bright, lab,
                        np.ascontiguousarray(costs.continuity, dtype=np.float64), ident,
                        int(spacing), np.ascontiguousarray(costs.fixed, dtype=np.int64),
                        np.ascontiguousarray(costs.prefer, dtype=np.int64), int(width),
                        float(noise), int(seed))


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
        choice = assign_units(costs, units, seed=seed, ident=ident,
                              spacing=GROUP_SPACING if grouped else SPACING)
    else:
        choice = assign_units(costs, units, seed=seed)
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
