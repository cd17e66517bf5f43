"""Stage 4 of the planner: what it costs to put each source unit in each slot.

Public:

- :class:`Costs` -- the cost matrix the assignment minimises, which units fit which slots,
  the continuity weights between neighbours, and every term's share (for reasons and scores).
- :func:`make_costs` -- slots + units + settings in, :class:`Costs` out.
- :data:`COST_TERMS` -- the named cost terms, in order.

**Adding a cost term** (content flags, duplicates, quality, hero ranges, framing, ...): write a
function ``term(ctx: CostContext) -> ndarray (S, U)`` (cost of unit u in slot s, about 0-1 per
unit of weight; negative is a reward), add ``("name", term)`` to :data:`COST_TERMS` and a
default weight ``"name": w`` to ``musync.planner.styles.WEIGHTS``. It is scaled by
``settings.weights["name"]`` and shows up in :attr:`Costs.terms`. Hard rules (a unit that must
never fill a slot) go into :func:`fits` instead; rules about neighbours (never the same source
twice in a row) live in the assignment's beam search.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import PlanError
from ..types import PlanSettings
from .music import _ranks
from .seeing import SEEING_TERMS, UnitSight, content_rules, neighbour_rule, section_rule
from .slots import Slots
from .styles import WEIGHTS

__all__ = ["Costs", "CostContext", "make_costs", "fits", "apart_rule", "settle_singles",
           "COST_TERMS", "KEEP_BONUS"]

#: Reward for keeping a slot's previous unit in a stable re-plan.
KEEP_BONUS = 5.0


@dataclass(frozen=True, eq=False)
class CostContext:
    """What a cost term may read: the slots, the units and their derived arrays."""

    slots: Slots
    units: tuple
    settings: PlanSettings
    motion_rank: np.ndarray    # (U,) each unit's motion ranked among the units, [0, 1]
    top_motion: np.ndarray     # (U,) 0-1: how far a unit is in the top fifth of motion
    peak_frame: np.ndarray     # (U,) int64 strongest motion peak (a huge negative number: none)
    lo: np.ndarray             # (U,) int64
    hi: np.ndarray             # (U,) int64
    sight: UnitSight | None = None   # what the scan saw in each unit (musync.planner.seeing)


@dataclass(frozen=True, eq=False)
class Costs:
    """The assignment's inputs.

    unit : (S, U) float64       total cost of unit u in slot s
    ok : (S, U) bool            unit u can fill slot s
    continuity : (S,) float64   weight of the brightness/colour continuity cost between slot
                                s - 1 and slot s (negative: contrast is rewarded)
    fixed : (S,) int64          -1, or the unit a locked slot must use
    prefer : (S,) int64         -1, or the unit a slot keeps in a stable re-plan
    terms : dict                name -> (S, U) weighted contribution of each cost term
    ident : (U,) int64 or None  what counts as the same source for reuse and spacing (a
                                duplicate group is one source); None: the file
    notes : tuple of str        what the content rules had to allow (for the plan's warnings)
    jump : (S,) float64 or None weight of the steep brightness-jump cost between slot s - 1 and
                                slot s (inside a section; 0 at section changes and the payoff)
    """

    unit: np.ndarray
    ok: np.ndarray
    continuity: np.ndarray
    fixed: np.ndarray
    prefer: np.ndarray
    terms: dict
    ident: np.ndarray | None = None
    notes: tuple = ()
    jump: np.ndarray | None = None


# -- the cost terms ---------------------------------------------------------------------------

def term_motion(ctx: CostContext) -> np.ndarray:
    """Motion against music: a unit's motion rank should match the shot's energy."""
    return np.abs(ctx.motion_rank[None, :] - ctx.slots.energy_rel[:, None])


def term_peak(ctx: CostContext) -> np.ndarray:
    """1 where the unit's strongest motion peak cannot land on the shot's strongest accent."""
    start = ctx.peak_frame[None, :] - ctx.slots.accent[:, None]
    L = ctx.slots.length[:, None]
    fit = (start >= ctx.lo[None, :]) & (start + L <= ctx.hi[None, :])
    return (~fit).astype(np.float64)


def term_climax(ctx: CostContext) -> np.ndarray:
    """Hold the most intense material back for the climax: a cost before it, a reward in it."""
    s = ctx.slots
    if not ctx.settings.climax_build:
        return np.zeros((len(s), len(ctx.units)))
    sign = s.before_climax.astype(np.float64) - s.in_climax.astype(np.float64)
    return sign[:, None] * ctx.top_motion[None, :]


def term_hero(ctx: CostContext) -> np.ndarray:
    """The hero shot on a payoff: the most striking unit (high motion, a peak to land)."""
    s = ctx.slots
    hero = np.array([r == "hero" for r in s.role], dtype=np.float64)
    has_peak = (ctx.peak_frame > -10 ** 11).astype(np.float64)
    return hero[:, None] * (1.0 - 0.6 * ctx.motion_rank[None, :] - 0.4 * has_peak[None, :])


#: The cost terms, in the order they are added (``(name, function)``).
COST_TERMS = (
    ("motion", term_motion),
    ("peak", term_peak),
    ("climax", term_climax),
    ("hero", term_hero),
) + SEEING_TERMS


def fits(slots: Slots, units) -> np.ndarray:
    """(S, U) bool: the unit is long enough for the slot."""
    length = np.array([u.length for u in units], dtype=np.int64)
    return length[None, :] >= slots.length[:, None]


def _single(ok: np.ndarray, ident: np.ndarray) -> np.ndarray:
    """(S,) int64: the one identity that can fill each slot (``ok``: (S, U)), or -1."""
    any_ok = ok.any(axis=1)
    first = ident[np.argmax(ok, axis=1)]
    other = (ok & (ident[None, :] != first[:, None])).any(axis=1)
    return np.where(any_ok & ~other, first, -1)


def apart_rule(ok: np.ndarray, wider, ident: np.ndarray, fixed: np.ndarray) -> np.ndarray:
    """Never the same source twice in a row outranks the material rules: where two neighbouring
    slots can each be filled by one and the same source only (the brightness rules of
    :func:`~musync.planner.seeing.section_rule` and :func:`~musync.planner.seeing.neighbour_rule`
    pruned the rest, or a locked shot's source is the only one its neighbour has), an unlocked
    slot of the two (the one with fewer units, the later on a tie) gets back the other sources
    it had before those rules (``wider``: the ``ok`` matrices the rules started from, the
    narrowest first; a flagged or blown-up unit comes back only where nothing else can fill the
    slot). Where no rule removed another source (one clip alone is long enough for both shots)
    the slots stay as they are. A slot given back a source has two, so one pass settles all."""
    out = ok.copy()
    S = out.shape[0]
    ident = np.asarray(ident, dtype=np.int64)
    one = _single(out, ident)
    for k in np.flatnonzero((one[:-1] >= 0) & (one[:-1] == one[1:])):
        if one[k] < 0:
            continue                      # the pair before gave this slot a second source
        i = int(one[k])
        first = (k + 1, k) if fixed[k] >= 0 or out[k + 1].sum() <= out[k].sum() else (k, k + 1)
        for s in first:
            if fixed[s] >= 0:
                continue
            back = next((w[s] & (ident != i) for w in wider if (w[s] & (ident != i)).any()), None)
            if back is not None:
                out[s] |= back
                one[s] = -1
                break
    return out


def settle_singles(ok: np.ndarray, ident: np.ndarray, fixed: np.ndarray) -> np.ndarray:
    """A slot only one source can fill keeps that source from its neighbours wherever they have
    another (and so on down a chain of such slots): the assignment's search then never walks
    into two neighbours left with nothing but that source."""
    out = ok.copy()
    S = out.shape[0]
    ident = np.asarray(ident, dtype=np.int64)
    one = _single(out, ident)
    todo = list(np.flatnonzero(one >= 0))
    while todo:
        k = int(todo.pop())
        i = int(one[k])
        for nb in (k - 1, k + 1):
            if not (0 <= nb < S) or fixed[nb] >= 0 or one[nb] >= 0:
                continue
            mine = out[nb] & (ident == i)
            if mine.any() and (out[nb] & ~mine).any():
                out[nb] &= ~mine
                rest = np.unique(ident[out[nb]])
                if rest.size == 1:                     # the neighbour is down to one source too
                    one[nb] = rest[0]
                    todo.append(nb)
    return out


def continuity_weights(slots: Slots, settings: PlanSettings) -> np.ndarray:
    """Continuity matters inside a section, less across a section change, and a payoff's hero
    shot is meant to contrast with what came before."""
    w = float(settings.weights.get("continuity", 1.0))
    S = len(slots)
    out = np.full(S, w)
    for k in range(1, S):
        if slots.section[k] != slots.section[k - 1]:
            out[k] = 0.3 * w
        if slots.role[k] == "hero":
            out[k] = -0.5 * w
    if S:
        out[0] = 0.0
    return out


def jump_weights(slots: Slots, settings: PlanSettings) -> np.ndarray:
    """Inside a section a brightness jump between neighbours is a fault (the steep cost of the
    assignment, weight ``luma_jump``); at a section change it is allowed (0). A payoff's hero
    shot inside a section still contrasts with the shot before (its continuity weight is
    negative), but within the same limit."""
    w = float(settings.weights.get("luma_jump", WEIGHTS["luma_jump"]))
    S = len(slots)
    out = np.full(S, w)
    if S:
        out[0] = 0.0
        sec = np.asarray(slots.section)
        out[1:][sec[1:] != sec[:-1]] = 0.0
    return out


def make_costs(slots: Slots, units, settings: PlanSettings, *, terms=COST_TERMS,
               sight: UnitSight | None = None) -> Costs:
    """The cost of every unit in every slot: the weighted sum of ``terms``, the fits, the locks
    and the stability preferences of a re-plan. With ``sight`` (what the scan saw in each unit),
    the content rules apply and the terms that read it count; without, those terms are 0."""
    units = tuple(units)
    U, S = len(units), len(slots)
    motion = np.array([u.motion for u in units])
    mrank = _ranks(motion)
    ctx = CostContext(slots=slots, units=units, settings=settings, motion_rank=mrank,
                      top_motion=np.clip((mrank - 0.8) / 0.2, 0.0, 1.0),
                      peak_frame=np.array([u.peaks[0][0] if u.peaks else -10 ** 12 for u in units],
                                          dtype=np.int64),
                      lo=np.array([u.lo for u in units], dtype=np.int64),
                      hi=np.array([u.hi for u in units], dtype=np.int64), sight=sight)
    total = np.zeros((S, U))
    parts = {}
    for name, fn in terms:
        w = float(settings.weights.get(name, 0.0))
        if w == 0.0:
            continue
        c = w * np.asarray(fn(ctx), dtype=np.float64)
        if c.shape != (S, U):
            raise ValueError(f"cost term {name!r} returned shape {c.shape}, expected {(S, U)}")
        parts[name] = c
        total += c
    ok = fits(slots, units)
    wider = [ok]                  # the ok matrices before the material rules, narrowest first
    notes: list[str] = []
    if sight is not None:
        ok, notes = content_rules(ok, sight)
        wider.insert(0, ok)
        ok = section_rule(ok, slots, units, sight)
    fixed = np.full(S, -1, dtype=np.int64)
    prefer = np.full(S, -1, dtype=np.int64)
    for k in range(S):
        for want, out in ((slots.fixed[k], fixed), (slots.keep[k], prefer)):
            if want is None:
                continue
            cand = [j for j, u in enumerate(units) if u.path == want.source]
            if not cand:
                if out is fixed:
                    raise PlanError(f"shot {want.index}: locked source {want.source!r} is not among the clips")
                continue
            best = max(cand, key=lambda j: (min(units[j].hi, want.source_out)
                                            - max(units[j].lo, want.source_in), -j))
            if out is prefer and not (units[best].lo <= want.source_in and want.source_out <= units[best].hi):
                continue
            out[k] = best
            if out is fixed:
                ok[k, best] = True
    ident = None if sight is None else sight.group
    if settings.order != "source":          # file order is the director's choice
        same = np.array([u.clip for u in units], dtype=np.int64) if ident is None else ident
        ok = neighbour_rule(ok, slots, units, fixed, same, frozen=prefer >= 0)
        ok = settle_singles(apart_rule(ok, wider, same, fixed), same, fixed)
    for k in np.flatnonzero(prefer >= 0):
        total[k, prefer[k]] -= KEEP_BONUS
    return Costs(unit=total, ok=ok, continuity=continuity_weights(slots, settings), fixed=fixed,
                 prefer=prefer, terms=parts, ident=ident, notes=tuple(notes),
                 jump=jump_weights(slots, settings))
