"""Stage 2 of the planner: the cuts -- the dynamic program that picks them, then anticipation.

Public:

- :class:`Cuts` -- the chosen cut frames (first 0, last the song's end) and why each is there.
- :func:`choose_cuts` -- run the cut DP on :class:`~musync.planner.candidates.Candidates` and
  their target lengths; returns candidate indices.
- :func:`dp_window` -- for every candidate, the earliest candidate a shot ending there may start
  at (the DP's search window).
- :func:`make_cuts` -- candidates + targets in, :class:`Cuts` out (DP, anticipation, shots split
  where clips are too short).
- :func:`follow_rate` -- the cut DP held to a cut rate: run again with cuts worth more where
  the plan cuts less often than the pace asks (over windows of two bars) and less where more.
- :func:`window_counts` -- cuts wanted and cuts made over a window around every candidate.
- :func:`hold_heroes` -- the cut DP again where a payoff's hero shot came out no longer than the
  shots leading into it: the candidates inside the hero's span are dropped, so it holds
  more than :data:`HERO_CONTRAST` times the median of its :data:`HERO_LEAD` predecessors.
- :func:`meet_counts` -- after the DP: single cuts added (on strong accents) or taken away (weak
  ones) where two bars in a row have fewer or more cuts than the pace asks for, when the DP's own
  objective can pay for it (:data:`COUNT_WEIGHT`); :func:`bar_wants` -- the counts it aims at.
- :func:`vary_sections` -- then, in a section whose shots came out too even, cuts moved inside
  their bars (or into the next, the count priced) until the lengths vary (:data:`VARY_FLOOR`),
  or a cut added or taken away where no move can vary a long section;
  :func:`strengthen_cuts` -- cuts off the accents moved onto them where too few are on one
  (:data:`STRONG_SHARE`).
- :func:`anticipate` -- move cuts a number of frames early (never the start, the end or a lock
  edge).
- :data:`LAMBDA`, :data:`RUN_COST`, :data:`SHORT_COST` -- the DP's weights.

The DP maximises, over all cut sequences, the sum of the cuts' worth minus a length penalty
``LAMBDA * log(length / target)**2`` and a variety penalty: ``RUN_COST[r]`` for the r-th shot in
a row of one length (in beats) and ``SHORT_COST`` for two one-beat shots in a row. Variety is part
of the objective, so a phrase gets a pattern of lengths and never a metronome.

The DP alone trades the pace for accents: where strong accents are scarce it cuts less often
than the pace asks, where they are plenty more often, so the cut rate would follow the accents
more than the music's level. :func:`follow_rate` closes that loop: the number of cuts over every
window of two bars is held near the number the pace's rate asks for there, the accents still
choosing which beats carry them. It moves whole stretches of cuts at a time; :func:`meet_counts`
then settles the windows it leaves a cut over or under, one cut at a time, over both ways of
pairing the bars (a reader of the plan may count from either).
"""

from __future__ import annotations

import dataclasses
import heapq
import math
from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError
from ..timebase import to_frame
from ..types import PlanSettings
from .candidates import Candidates

__all__ = ["Cuts", "choose_cuts", "dp_window", "make_cuts", "anticipate", "split_long",
           "follow_rate", "window_counts", "LAMBDA", "RUN_COST", "SHORT_COST", "RATE_ROUNDS",
           "RATE_GAIN", "RUN_MAX", "min_max_frames", "meet_counts", "bar_wants", "COUNT_WEIGHT",
           "REPAIR_COUNT_WEIGHT", "COUNT_SWEEPS",
           "COUNT_CV_FLOOR", "vary_sections", "VARY_FLOOR", "VARY_SPLITS", "VARY_SPLIT_BARS",
           "VARY_WORTH", "VARY_LOSS", "VARY_SHOTS",
           "strengthen_cuts", "STRONG_SHARE", "SPLIT_PATTERN",
           "hold_heroes", "hero_need", "HERO_CONTRAST", "HERO_LEAD", "quicken_builds", "build_ratio",
           "BUILD_MIN", "BUILD_BARS", "BUILD_CHANGES", "BUILD_LOSS", "BUILD_FLOOR"]

#: Weight of the length penalty.
LAMBDA = 4.0
#: Cost of the r-th shot in a row of the same length in beats (index r; 0 and 1 cost nothing;
#: the last entry applies to every longer run).
RUN_COST = (0.0, 0.0, 0.3, 0.9, 1.8, 8.0)
#: No cut a repair adds or takes away (:func:`meet_counts`, and the splits and joins of
#: :func:`vary_sections` and :func:`quicken_builds`) makes a run of shots of one length (in beats)
#: longer than this, whatever the count it brings nearer: the DP prices such a run
#: (:data:`RUN_COST`), but the count error can outbid that price.
RUN_MAX = 4
#: Cost of a one-beat (or shorter) shot right after another.
SHORT_COST = 0.35
#: Shots up to this many beats count as one-beat shots.
SHORT_BEATS = 1.25
#: Re-runs of the cut DP that hold the cut rate to the pace (:func:`follow_rate`).
RATE_ROUNDS = 2
#: Worth added to the cuts around a window per cut it lacks (taken away per cut too many).
RATE_GAIN = 0.3
#: The largest worth the rate may add to or take from a cut.
RATE_LIMIT = 3.0
#: Worth of a unit of squared count error per two bars in :func:`meet_counts` (against the DP's
#: objective: a cut's accent, its shots' lengths against their targets, variety).
COUNT_WEIGHT = 2.0
#: What the repairs after it (:func:`vary_sections`, :func:`strengthen_cuts`,
#: :func:`quicken_builds`) price that error at: their work is the variety, the accents and the
#: builds, and priced as high the count would leave them no move to make.
REPAIR_COUNT_WEIGHT = 1.0
#: Passes over the bars :func:`meet_counts` makes at most.
COUNT_SWEEPS = 3
#: :func:`meet_counts` brings no section's shot-length coefficient of variation below this.
COUNT_CV_FLOOR = 0.3
#: A section whose shot lengths vary less than this (coefficient of variation) gets cuts moved
#: inside their bars until they vary this much (:func:`vary_sections`); the benchmark's target
#: is 0.25, the margin is for whoever measures with other beats and bars.
VARY_FLOOR = 0.3
#: What a unit of that variation is worth against the cut DP's objective.
VARY_WORTH = 10.0
#: The most of the DP's objective one such move may cost.
VARY_LOSS = 3.0
#: Sections of fewer shots are left as they are.
VARY_SHOTS = 2
#: Cuts :func:`vary_sections` may add to (or take from) a section whose moves alone leave it too
#: even, if it has :data:`VARY_SPLIT_BARS` bars or more (a short section may hold two even
#: shots; eight bars in two equal holds is a picture standing still).
VARY_SPLITS = 2
VARY_SPLIT_BARS = 8
#: :func:`strengthen_cuts` moves cuts on weak beats onto strong accents while fewer than this
#: share of the cuts are on one (the benchmark's target is 0.8).
STRONG_SHARE = 0.95
#: A hero shot on a payoff lasts more than this many times the median of the shots before it
#: (a hold reads against what leads into it, whatever its own target).
HERO_CONTRAST = 2.0
#: How many shots before a hero it is held against.
HERO_LEAD = 4
#: :func:`quicken_builds` holds the cut rate over a build's last quarter to at least this many
#: times that over its first half (the benchmark's target is 1.5 over the last two bars against
#: bars -8..-5; the margin is for whoever counts with other bar lines) ...
BUILD_MIN = 1.6
#: ... on builds of this many bars or more, changing at most :data:`BUILD_CHANGES` cuts, none
#: costing more than :data:`BUILD_LOSS` of the DP's objective.
BUILD_BARS = 8
BUILD_CHANGES = 3
BUILD_LOSS = 3.0
#: Below this ratio (the benchmark's 1.5 and a margin: at 1.5 exactly a build reads as no more
#: than a pace that happens to quicken, and a frame's rounding of the bar lines takes it under)
#: :func:`quicken_builds` also adds a cut on a plain beat of the last quarter where no accent
#: there will do.
BUILD_FLOOR = 1.55


@dataclass(frozen=True, eq=False)
class Cuts:
    """The cuts of a plan: ``frames[0] == 0``, ``frames[-1]`` the song's end, strictly rising.

    ``kind[k]`` says why the cut at ``frames[k]`` is there (the candidate's kind, ``"lock"`` or
    ``"split: clips are short"``); ``target[k]`` is the pace's ideal length (frames) of the shot
    starting there (0 where unknown); ``candidate[k]`` is the candidate index or -1.
    """

    frames: np.ndarray
    kind: tuple
    target: np.ndarray
    candidate: np.ndarray

    @property
    def spans(self) -> list[tuple[int, int]]:
        f = self.frames.tolist()
        return list(zip(f[:-1], f[1:]))


def min_max_frames(settings: PlanSettings) -> tuple[int, int]:
    """The shortest and longest shot in frames (nearest frame, :mod:`musync.timebase`)."""
    mn = max(1, to_frame(settings.min_shot, settings.fps))
    mx = max(mn, to_frame(settings.max_shot, settings.fps))
    return mn, mx


def dp_window(frames: np.ndarray, forced: np.ndarray, max_len: int) -> np.ndarray:
    """For each candidate j, the earliest start i of a shot ending at j: no forced candidate
    strictly between i and j, ``frames[j] - frames[i] <= max_len``, and never later than j - 1
    (so the DP always has a way on)."""
    n = frames.size
    idx = np.arange(n)
    last_forced = np.maximum.accumulate(np.where(forced, idx, 0))
    prev_forced = np.concatenate([[0], last_forced[:-1]])
    by_len = np.searchsorted(frames, frames - max_len, side="left")
    lo = np.maximum(prev_forced, by_len)
    lo = np.minimum(lo, np.maximum(idx - 1, 0))
    lo[0] = 0
    return lo.astype(np.int64)


def choose_cuts(cands: Candidates, target: np.ndarray, settings: PlanSettings, *,
                lam: float = LAMBDA, run_cost=RUN_COST, short_cost: float = SHORT_COST) -> np.ndarray:
    """Run the cut DP; return the indices into ``cands.frames`` of the chosen cuts (the first
    is 0, the last ``len(cands) - 1``).

    ``target`` (n,) is the ideal length in frames of a shot starting at each candidate; shots
    are kept within ``[min_shot, max_shot]`` (in frames, to the nearest frame) wherever the
    forced cuts allow.
    """
    n = len(cands)
    target = np.asarray(target, dtype=np.float64)
    if target.shape != (n,):
        raise ParameterError(f"target must have shape ({n},), got {target.shape}")
    if n < 2:
        raise ParameterError("need at least two candidates (the start and the end)")
    if np.any(np.diff(cands.frames) <= 0):
        raise ParameterError("candidate frames must be strictly increasing")
    min_len, max_len = min_max_frames(settings)
    rc = np.asarray(run_cost, dtype=np.float64)
    if rc.size < 2:
        raise ParameterError("run_cost needs at least two entries")
    lo = dp_window(cands.frames, cands.forced, max_len)
    from ._kernels import _cut_dp  # compiled on first use, not on `import musync` (a command that does not plan never compiles it)

    return _cut_dp(cands.frames.astype(np.int64), cands.beat_pos.astype(np.float64),
                   cands.score.astype(np.float64), cands.forced.astype(np.bool_),
                   cands.fixed_prev.astype(np.int64), np.maximum(target, 1.0),
                   int(min_len), int(max_len), float(lam), rc, float(SHORT_BEATS),
                   float(short_cost), lo)


def _rate_integral(frames: np.ndarray, rate: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The cuts ``rate`` (per frame, a step from each of ``frames`` to the next) asks for from
    ``frames[0]`` to every ``x``: piecewise linear between candidates; beyond the ends, the end
    rates continue."""
    f = np.asarray(frames, dtype=np.float64)
    r = np.asarray(rate, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    cum = np.concatenate([[0.0], np.cumsum(r[:-1] * np.diff(f))])
    out = np.interp(x, f, cum)
    out = np.where(x < f[0], (x - f[0]) * r[0], out)
    return np.where(x > f[-1], cum[-1] + (x - f[-1]) * r[-1], out)


def window_counts(frames: np.ndarray, rate: np.ndarray, chosen: np.ndarray,
                  window: float) -> tuple[np.ndarray, np.ndarray]:
    """Cuts wanted and cuts made over the window ``[f - window/2, f + window/2)`` around every
    candidate frame ``f``.

    ``rate[j]`` is the cuts per frame the pace asks for from ``frames[j]`` to the next candidate
    (a step function, so the wanted count is its integral over the window); ``chosen`` are the
    frames cut (the song's start and end are not cuts). Returns ``(wanted, made)``, each (n,).
    """
    f = np.asarray(frames, dtype=np.float64)
    half = 0.5 * float(window)
    lo, hi = np.maximum(f - half, f[0]), np.minimum(f + half, f[-1])
    wanted = _rate_integral(f, rate, hi) - _rate_integral(f, rate, lo)
    c = np.sort(np.asarray(chosen, dtype=np.float64))
    made = (np.searchsorted(c, hi, side="left") - np.searchsorted(c, lo, side="left")).astype(np.float64)
    return wanted, made


def follow_rate(cands: Candidates, target: np.ndarray, settings: PlanSettings, rate: np.ndarray,
                window: float, *, rounds: int = RATE_ROUNDS, gain: float = RATE_GAIN) -> np.ndarray:
    """The cut DP (:func:`choose_cuts`) held to a cut rate.

    After each run, every candidate's worth moves by ``gain`` per cut the window of ``window``
    frames around it lacks against ``rate`` (cuts per frame, see :func:`window_counts`), or has
    too many, within :data:`RATE_LIMIT` (a lacking window raises only its strong accents, so the
    extra cuts land on them); the DP runs again, ``rounds`` times at most. Returns the
    run whose window counts are closest to the wanted ones (squared error), as candidate indices.
    """
    rate = np.asarray(rate, dtype=np.float64)
    if rate.shape != (len(cands),):
        raise ParameterError(f"rate must have shape ({len(cands)},), got {rate.shape}")
    idx = choose_cuts(cands, target, settings)
    if rounds <= 0 or window <= 0 or len(cands) < 3:
        return idx
    frames = cands.frames
    free = ~cands.forced
    bonus = np.zeros(len(cands))
    best, best_err = idx, np.inf
    for k in range(rounds + 1):
        wanted, made = window_counts(frames, rate, frames[idx[1:-1]], window)
        err = float(np.sum((wanted - made) ** 2))
        if err < best_err:
            best, best_err = idx, err
        if k == rounds:
            break
        bonus = np.clip(bonus + gain * (wanted - made), -RATE_LIMIT, RATE_LIMIT) * free
        # more cuts go onto strong accents only; fewer cuts may come off any candidate
        add = np.where(bonus > 0, bonus * cands.strong, bonus)
        idx = choose_cuts(dataclasses.replace(cands, score=cands.score + add), target, settings)
    return best


def hero_need(frames: np.ndarray, idx: np.ndarray, k: int) -> int:
    """The shortest hero (frames) the shot starting at cut ``idx[k]`` must hold: a frame more
    than ``HERO_CONTRAST`` x the median length of the (up to) ``HERO_LEAD`` shots before it (0
    when it has no shot before it). The extra frame keeps the hero above the contrast when the
    lengths are read in seconds: ``(2m / fps) / (m / fps)`` can come out a hair below 2."""
    if k <= 0:
        return 0
    lead = np.diff(frames[idx[max(0, k - HERO_LEAD):k + 1]])
    return int(np.floor(HERO_CONTRAST * float(np.median(lead)) + 1e-9)) + 1


def _hero_drops(cands: Candidates, idx: np.ndarray, heroes, max_len: int) -> np.ndarray:
    """Candidates to drop so that every chosen hero in ``heroes`` (candidate indices) lasts
    :func:`hero_need` frames at least: those strictly inside ``[hero, end)``, where ``end`` is the
    first candidate that far on, or the furthest one before the next forced cut (or lock) and
    within ``max_len``."""
    frames = cands.frames
    drop = np.zeros(len(cands), dtype=bool)
    where = {int(i): k for k, i in enumerate(idx)}
    for h in heroes:
        k = where.get(int(h))
        if k is None or k + 1 >= len(idx):
            continue
        need = hero_need(frames, idx, k)
        if frames[idx[k + 1]] - frames[h] >= need:
            continue
        end = int(h)
        for j in range(int(h) + 1, len(cands)):
            if frames[j] - frames[h] > max_len:
                break
            end = j
            if cands.forced[j] or cands.fixed_prev[j] >= 0 or frames[j] - frames[h] >= need:
                break
        drop[int(h) + 1:end] = True
    return drop & ~cands.forced & (cands.fixed_prev < 0)


def _subset(cands: Candidates, keep: np.ndarray) -> Candidates:
    """The candidates where ``keep`` is true (lock links renumbered)."""
    new = np.cumsum(keep) - 1
    fp = np.where(cands.fixed_prev >= 0, new[np.maximum(cands.fixed_prev, 0)], -1)
    return Candidates(frames=cands.frames[keep], score=cands.score[keep], forced=cands.forced[keep],
                      kind=tuple(k for k, m in zip(cands.kind, keep) if m), beat_pos=cands.beat_pos[keep],
                      strong=cands.strong[keep], fixed_prev=fp[keep],
                      accented=None if cands.accented is None else cands.accented[keep])


def hold_heroes(cands: Candidates, idx: np.ndarray, heroes, choose, settings: PlanSettings,
                rounds: int = 2) -> np.ndarray:
    """The cuts ``idx`` (candidate indices) with every hero shot held against the shots leading
    into it: at least :func:`hero_need` (a frame more than :data:`HERO_CONTRAST` x the median of
    its :data:`HERO_LEAD` predecessors), as far as the next forced cut and the longest shot allow.

    ``heroes`` are the candidates a hero shot starts on; ``choose(cands, keep)`` runs the cut DP
    on the candidates where ``keep`` is true and returns indices into them. A hero that came out
    too short (cut worth after the payoff trading its length for more cuts, or a lead-in whose
    shots are as long as the hero's own target) gets the candidates inside its span dropped and
    the DP runs again (``rounds`` times at most: the shots before it may move too). Returns
    candidate indices into ``cands``."""
    heroes = [int(h) for h in heroes]
    if not heroes:
        return idx
    _, max_len = min_max_frames(settings)
    drop = np.zeros(len(cands), dtype=bool)
    for _ in range(rounds):
        more = _hero_drops(cands, idx, heroes, max_len) & ~drop
        if not np.any(more):
            break
        drop |= more
        keep = ~drop
        idx = np.flatnonzero(keep)[choose(_subset(cands, keep), keep)]
    return idx


def bar_wants(frames: np.ndarray, rate: np.ndarray, bars: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where the candidates ``frames`` lie among the bars starting at ``bars`` (frames, rising) and
    the cuts the pace's ``rate`` (cuts per frame from each candidate to the next) wants over every
    two bars in a row.

    Returns ``(bar_of, want)``: ``bar_of[j]`` the bar of candidate j (-1 before the first bar or
    from the last bar line on), ``want[w]`` the wanted count over bars w and w + 1 (one window per
    bar, so both ways of pairing the bars count)."""
    f = np.asarray(frames, dtype=np.float64)
    edges = np.asarray(bars, dtype=np.float64)
    per_bar = np.diff(_rate_integral(f, rate, edges))
    bar_of = np.searchsorted(edges, f, side="right").astype(np.int64) - 1
    bar_of[bar_of >= per_bar.size] = -1
    return bar_of, per_bar[:-1] + per_bar[1:]


def _movable(cands: Candidates, chosen: np.ndarray, keep=()) -> np.ndarray:
    """(n,) bool: where a repair may add, take away or move a cut -- not a forced cut, a lock's
    edge, the first or last candidate, a hero's start (``keep``) or anywhere inside a hero shot."""
    movable = ~cands.forced & (cands.fixed_prev < 0)
    movable[[0, -1]] = False
    for h in keep:
        h = int(h)
        movable[h] = False
        after = np.flatnonzero(chosen[h + 1:])
        if after.size:
            movable[h + 1:h + 1 + int(after[0])] = False      # nothing is cut inside a hero shot
    return movable


def _section_of(frames: np.ndarray, sections) -> np.ndarray:
    """(n,) int64: the section (index into the sorted start frames ``sections``) of each frame."""
    sec = np.zeros(1, dtype=np.int64) if sections is None else \
        np.sort(np.asarray(sections, dtype=np.int64))
    return np.maximum(np.searchsorted(sec, frames, side="right") - 1, 0).astype(np.int64)


def meet_counts(cands: Candidates, idx: np.ndarray, target: np.ndarray, settings: PlanSettings,
                rate: np.ndarray, bars: np.ndarray, *, keep=(), sections=None,
                weight: float = COUNT_WEIGHT, sweeps: int = COUNT_SWEEPS,
                cv_floor: float = COUNT_CV_FLOOR) -> np.ndarray:
    """The cuts ``idx`` (candidate indices) moved nearer to the cut count the pace asks for over
    every two bars in a row, one cut at a time.

    The cut DP and its rate controller (:func:`follow_rate`) get the count per two bars within a
    cut or so; rounding and the accents leave some windows a cut over or under, in either
    direction, whatever the level of the music there. Here a cut is added on a strong accent
    where two bars lack one, or a cut on a weak beat taken away where they have one too many
    (a cut on a strong accent stays), when that pays for itself in the DP's own objective
    (length against target, accents, variety) with ``weight`` per unit of squared count error
    (``sum_w (made_w - wanted_w)**2`` over the windows of :func:`bar_wants`). Forced cuts,
    locks, the candidates in ``keep`` (hero shots) and the span of a hero shot are never touched.
    ``bars`` are the bar lines (frames). No move evens out the lengths of a section
    (``sections``: their start frames; shots belong to the section they start in) below a
    coefficient of variation of ``cv_floor``: the variety the phrase patterns made stays."""
    idx = np.asarray(idx, dtype=np.int64)
    n = len(cands)
    rate = np.asarray(rate, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    if rate.shape != (n,) or target.shape != (n,):
        raise ParameterError(f"rate and target must have shape ({n},)")
    bars = np.asarray(bars, dtype=np.int64)
    if weight <= 0 or sweeps <= 0 or bars.size < 3 or idx.size < 2:
        return idx
    if np.any(np.diff(bars) <= 0):
        raise ParameterError("bar lines must be strictly increasing")
    chosen = np.zeros(n, dtype=bool)
    chosen[idx] = True
    movable = _movable(cands, chosen, keep)
    bar_of, want = bar_wants(cands.frames, rate, bars)
    sec_of = _section_of(cands.frames, sections)
    min_len, max_len = min_max_frames(settings)
    from ._kernels import _count_search

    out = _count_search(cands.frames.astype(np.int64), cands.beat_pos.astype(np.float64),
                        cands.score.astype(np.float64), cands.strong.astype(np.bool_), movable,
                        cands.fixed_prev.astype(np.int64), np.maximum(target, 1.0), int(min_len),
                        int(max_len), float(LAMBDA), np.asarray(RUN_COST, dtype=np.float64),
                        float(SHORT_BEATS), float(SHORT_COST), bar_of, want, float(weight), chosen,
                        int(sweeps), sec_of, float(cv_floor), int(RUN_MAX))
    return np.flatnonzero(out).astype(np.int64)


def _replaced(sums, before, after) -> tuple[float, float, float]:
    """Count, sum and sum of squares of lengths with ``sums``, once a move replaced the two
    lengths ``before`` it by the two ``after`` it."""
    n, s1, s2 = sums
    (la, lc), (na, nc) = before, after
    return n, s1 - la - lc + na + nc, s2 - la * la - lc * lc + na * na + nc * nc


class _Mover:
    """Moves of one cut to another candidate between its neighbours, priced: the cut DP's own
    objective over the shots the move touches (accents, lengths against the target, runs,
    one-beat pairs) less ``weight`` x the change of the squared count error per two bars
    (:func:`bar_wants`) where the pace's ``rate`` is given. Forced cuts, locks and hero shots
    (``keep``) never move; a move stays inside its bar, or goes to the bar before or after
    where the rate prices it. No move makes a run of more than :data:`RUN_MAX` shots of one
    length through the two shots it changes, unless the longest run through them was longer
    before (as no cut the repairs add or take away makes such a run), and none brings a hero
    under its contrast with the shots before it. Each cut's moves are priced once and again only when a move
    nearby changes what they touch."""

    def __init__(self, cands, idx, target, settings, bars, sections, rate, keep, weight):
        from ._kernels import _cv, _move_values

        self._cv = _cv.py_func              # the count repair's variety measure, in plain Python
        n = len(cands)
        self.cut = np.asarray(idx, dtype=np.int64).copy()
        chosen = np.zeros(n, dtype=bool)
        chosen[self.cut] = True
        self.movable = _movable(cands, chosen, keep).tolist()
        self.heroes = {int(h) for h in keep}
        if rate is not None:
            bar_of, want = bar_wants(cands.frames, np.asarray(rate, dtype=np.float64), bars)
            self.want = want.tolist()
        else:
            bar_of = np.searchsorted(bars, cands.frames, side="right").astype(np.int64) - 1
            self.want = None
        self.bar_of = bar_of.tolist()
        inner = bar_of[self.cut[1:-1]]
        self.cnt = np.bincount(inner[inner >= 0], minlength=bars.size).astype(np.float64).tolist()
        self.weight = float(weight)
        self.sec_of = _section_of(cands.frames, sections).tolist()
        self.pos = cands.frames.astype(np.int64).tolist()
        mn, mx = min_max_frames(settings)
        run_cost = np.asarray(RUN_COST, dtype=np.float64)
        self.R = run_cost.size - 1
        args = (cands.frames.astype(np.int64), cands.beat_pos.astype(np.float64),
                cands.score.astype(np.float64), cands.fixed_prev.astype(np.int64),
                np.maximum(np.asarray(target, dtype=np.float64), 1.0), int(mn), int(mx),
                float(LAMBDA), run_cost, float(SHORT_BEATS), float(SHORT_COST))
        self.values = lambda cut, k, a, b, js: _move_values(cut, k, a, b, js, *args)
        self._args = args
        self._cache: dict[int, list] = {}
        self._sections: dict[int, list] | None = None

    def _d_err(self, b: int, b2: int) -> float:
        """The change of the count error when a cut leaves bar b for bar b2 (b2 = b +- 1): the
        windows of two bars w = (w, w + 1) that hold one of the two bars but not both."""
        if self.want is None or b == b2:
            return 0.0
        lo, hi = min(b, b2), max(b, b2)
        # window (lo - 1, lo) loses the cut if it leaves lo, else gains it; so does (hi, hi + 1)
        return (self._window_d(lo - 1, -1.0 if b == lo else 1.0)
                + self._window_d(hi, -1.0 if b == hi else 1.0))

    def _window_d(self, v: int, by: float) -> float:
        """The change of the squared count error of the window of bars (v, v + 1) when its count
        changes by ``by`` (0 for a window that is not there)."""
        if not 0 <= v < len(self.want):
            return 0.0
        e = self.cnt[v] + self.cnt[v + 1] - self.want[v]
        return (e + by) ** 2 - e * e

    def section(self, q):
        """The cut indices (into ``cut``) starting a shot in section q (a move takes a shot
        out of its section only where a section's first cut is no forced cut: then this is
        counted again)."""
        if self._sections is None:
            self._sections = {}
            for k, j in enumerate(self.cut[:-1].tolist()):
                self._sections.setdefault(self.sec_of[j], []).append(k)
        return self._sections.get(q, [])

    def lengths(self, ks) -> tuple[float, float, float]:
        """Count, sum and sum of squares of the lengths of the shots starting at cuts ``ks``."""
        pos, cut = self.pos, self.cut
        d = [float(pos[cut[k + 1]] - pos[cut[k]]) for k in ks]
        return float(len(d)), sum(d), sum(x * x for x in d)

    def cv(self, sums) -> float:
        """The coefficient of variation of lengths with ``sums`` (count, sum, sum of squares)."""
        return self._cv(*sums)

    def moves(self, k):
        """Every move of cut ``k`` (an index into ``cut``): ``(j2, gain, d_err, before, after)``,
        ``gain`` the objective's change less the count error's price, ``before``/``after`` the
        two lengths it changes. No move puts either shot in a run of one length longer than
        :data:`RUN_MAX` (unless it shortens a longer run that was there)."""
        got = self._cache.get(k)
        if got is not None:
            return got
        from ._kernels import _move_runs

        cut, bar_of, pos = self.cut, self.bar_of, self.pos
        out = []
        j = int(cut[k])
        if 1 <= k < cut.size - 1 and self.movable[j]:
            a, c = int(cut[k - 1]), int(cut[k + 1])
            lo, hi = max(0, k - self.R - 1), min(cut.size - 1, k + self.R + 2)
            bj = bar_of[j]
            before = (float(pos[j] - pos[a]), float(pos[c] - pos[j]))
            js = []
            for j2 in range(a + 1, c):
                b2 = bar_of[j2]
                near = b2 == bj or (self.want is not None and bj >= 0 and b2 >= 0
                                    and abs(b2 - bj) == 1)
                if j2 != j and near and self.movable[j2]:
                    js.append(j2)
            if js:
                ja = np.array(js, dtype=np.int64)
                v = self.values(cut, k, lo, hi, ja)
                runs = _move_runs(cut, k, ja, self._args[1])
                heroes = [q for q in range(k + 1, min(cut.size - 1, k + 1 + HERO_LEAD))
                          if int(cut[q]) in self.heroes]
                near_hero = self._hero_margins(heroes)   # (computed once for all the moves)
                for i, j2 in enumerate(js):
                    if runs[i + 1] > RUN_MAX and runs[i + 1] >= runs[0]:
                        continue                 # a run of one length too long, or longer
                    if near_hero and not self._heroes_hold(k, j2, near_hero):
                        continue
                    d_err = 0.0 if bar_of[j2] == bj else self._d_err(bj, bar_of[j2])
                    out.append((j2, float(v[i + 1] - v[0]) - self.weight * d_err, d_err, before,
                                (float(pos[j2] - pos[a]), float(pos[c] - pos[j2]))))
        self._cache[k] = out
        return out

    def _hero_margins(self, heroes) -> list[tuple[int, int]]:
        """``(q, margin)`` for the hero shots starting at cuts ``heroes`` (indices into
        ``cut``): the frames by which each outlasts :func:`hero_need` (negative: short of it)."""
        frames, cut = self._args[0], self.cut
        return [(q, int(frames[cut[q + 1]] - frames[cut[q]]) - hero_need(frames, cut, q)) for q in heroes]

    def _heroes_hold(self, k: int, j2: int, heroes) -> bool:
        """Whether the hero shots of ``heroes`` (``(q, margin)`` from :meth:`_hero_margins`,
        each with cut ``k`` among the :data:`HERO_LEAD` cuts before it) still last
        :func:`hero_need` with cut ``k`` moved to candidate ``j2`` (the lengths it is held
        against change), or miss it by no more than they did. (Nothing moves inside a hero
        shot: :func:`_movable`.)"""
        j0 = self.cut[k]
        self.cut[k] = j2
        try:
            after = self._hero_margins([q for q, _ in heroes])
        finally:
            self.cut[k] = j0
        return all(m >= 0 or m >= m0 for (_, m0), (_, m) in zip(heroes, after))

    def _d_add(self, b: int, by: float = 1.0) -> float:
        """The change of the count error when a cut is added in bar b (``by=-1``: taken away)."""
        if self.want is None or b < 0:
            return 0.0
        return self._window_d(b - 1, by) + self._window_d(b, by)

    def _runs_ok(self, new, shots, lo, hi) -> bool:
        """Whether the ``shots`` (indices into the cuts ``new``) that a cut added or taken away
        made are in no run of one length longer than :data:`RUN_MAX` (shots ``lo .. hi - 1``
        counted)."""
        from ._kernels import _run_through

        bpos = self._args[1]
        return all(_run_through(new, k, lo, hi, bpos) <= RUN_MAX for k in shots)

    def merge(self, k):
        """Cut ``k`` (an index into ``cut``) taken away, joining the shots on either side of it:
        ``(gain, before, after)`` as :meth:`splits` prices an added cut, or None where the cut
        may not go (a forced cut, a lock's edge, or one of the :data:`HERO_LEAD` cuts before a
        hero, which its hold is measured against)."""
        from ._kernels import _path_value

        cut, pos = self.cut, self.pos
        j = int(cut[k])
        if not (1 <= k < cut.size - 1) or not self.movable[j]:
            return None
        if any(int(h) in self.heroes for h in cut[k + 1:k + 1 + HERO_LEAD].tolist()):
            return None                      # a hero is held against the shots before it
        a, c = int(cut[k - 1]), int(cut[k + 1])
        lo, hi = max(0, k - self.R - 2), min(cut.size - 1, k + self.R + 2)
        new = np.delete(cut, k)
        if not self._runs_ok(new, (k - 1,), lo, hi - 1):
            return None
        v0 = _path_value(cut, lo, hi, *self._args)
        v = _path_value(new, lo, hi - 1, *self._args)
        gain = float(v - v0) - self.weight * self._d_add(self.bar_of[j], -1.0)
        return gain, (float(pos[j] - pos[a]), float(pos[c] - pos[j])), float(pos[c] - pos[a])

    def splits(self, k):
        """Every cut that could be added inside the shot starting at cut ``k`` (an index into
        ``cut``), on a candidate the repair may use: ``(j2, gain, before, after)``, ``gain``
        the objective's change less the count error's price, ``before`` the shot's length and
        ``after`` the two it becomes."""
        from ._kernels import _path_value

        cut, pos = self.cut, self.pos
        a, c = int(cut[k]), int(cut[k + 1])
        js = [j2 for j2 in range(a + 1, c) if self.movable[j2]]
        if not js:
            return []
        lo, hi = max(0, k - self.R - 1), min(cut.size - 1, k + self.R + 2)
        v0 = _path_value(cut, lo, hi, *self._args)
        out = []
        for j2 in js:
            new = np.insert(cut, k + 1, j2)
            if not self._runs_ok(new, (k, k + 1), lo, hi + 1):
                continue
            v = _path_value(new, lo, hi + 1, *self._args)
            gain = float(v - v0) - self.weight * self._d_add(self.bar_of[j2])
            out.append((j2, gain, float(pos[c] - pos[a]),
                        (float(pos[j2] - pos[a]), float(pos[c] - pos[j2]))))
        return out

    def _run_span(self, k: int) -> tuple[int, int]:
        """The first and last shot of the run of one length through shot ``k``, wide: shots
        within two tenths of a beat of its length (:func:`~musync.planner._kernels._run_through`
        counts a run within a tenth of each shot's own, which this covers)."""
        bpos, cut = self._args[1], self.cut
        L = bpos[cut[k + 1]] - bpos[cut[k]]
        a = k
        while a > 0 and abs(bpos[cut[a]] - bpos[cut[a - 1]] - L) < 0.2:
            a -= 1
        b = k
        while b + 2 < cut.size and abs(bpos[cut[b + 2]] - bpos[cut[b + 1]] - L) < 0.2:
            b += 1
        return a, b

    def apply(self, k, j2, d_err) -> tuple[int, int]:
        """Move cut ``k`` to candidate ``j2``; returns the range ``[lo, hi)`` of the cuts whose
        moves are priced again: those within the DP's reach of it, those in the runs of one
        length through the two shots it changes (before and after), and, where it changes bars,
        those in the bars within two of either (the windows of two bars whose count error their
        moves price)."""
        j = int(self.cut[k])
        b, b2 = self.bar_of[j], self.bar_of[j2]
        lo, hi = max(0, k - self.R - 2), min(self.cut.size, k + self.R + 3)
        spans = [self._run_span(k - 1), self._run_span(k)]
        if b2 != b:
            self.cnt[b] -= 1.0
            self.cnt[b2] += 1.0
            first, last = min(b, b2) - 2, max(b, b2) + 2
            q = k
            while q > 0 and self.bar_of[int(self.cut[q - 1])] >= first:
                q -= 1
            lo = min(lo, q)
            q = k
            while q + 1 < self.cut.size and self.bar_of[int(self.cut[q + 1])] <= last:
                q += 1
            hi = max(hi, q + 1)
        if self.sec_of[j2] != self.sec_of[j]:
            self._sections = None          # a section's first cut that is no forced cut crossed it
        self.cut[k] = j2
        spans += [self._run_span(k - 1), self._run_span(k)]
        # a move's run check reads the runs through the shots on either side of its cut
        lo = min([lo] + [a - 1 for a, _ in spans])
        hi = max([hi] + [e + 3 for _, e in spans])
        lo, hi = max(0, lo), min(self.cut.size, hi)
        for q in range(lo, hi):
            self._cache.pop(q, None)
        return lo, hi


def vary_sections(cands: Candidates, idx: np.ndarray, target: np.ndarray, settings: PlanSettings,
                  bars: np.ndarray, sections, *, rate: np.ndarray | None = None, keep=(),
                  floor: float = VARY_FLOOR, worth: float = VARY_WORTH, shortest: int = VARY_SHOTS,
                  weight: float = REPAIR_COUNT_WEIGHT) -> np.ndarray:
    """The cuts ``idx`` (candidate indices) with the shots of every section that came out too
    even made to differ: while the coefficient of variation of a section's shot lengths is under
    ``floor`` (and it has ``shortest`` shots or more), one cut moves to another candidate
    between the cuts on either side of it, onto an accent where it was on one
    (:attr:`~musync.planner.candidates.Candidates.heard`): inside its own bar (every count per
    bar stays), or, where the pace's ``rate`` is given, into the bar before or after, the count
    error per two bars it makes priced the way :func:`meet_counts` prices it, at ``weight`` per
    unit (:data:`REPAIR_COUNT_WEIGHT`, below the count repair's own). The move
    taken is the one that raises the section's variation and costs least in the DP's own
    objective (:func:`choose_cuts`: accents, lengths against the target, runs, one-beat pairs),
    the variation worth ``worth`` per unit, no move costing more than :data:`VARY_LOSS`. Forced
    cuts, locks and hero shots (``keep``) stay. Where the moves leave a section of
    :data:`VARY_SPLIT_BARS` bars or more still too even, a cut is added on an accent inside one of
    its shots or one of its cuts taken away (two shots joined into a hold), whichever is
    priced best the same way (the count error included), up to :data:`VARY_SPLITS` times, the
    moves tried again after each.

    The DP and the count repair keep the cut rate and the accents; on a stretch of even level
    with accents on every beat, or only on the downbeats, they can still land on lengths of 3, 3,
    4, 3, 4 beats, or 8, 8, 12, 8 -- steady, the metronome the phrase patterns are there to
    break."""
    mv = _checked_mover(cands, idx, target, settings, bars, sections, rate, keep, weight)
    if mv is None or floor <= 0:
        return np.asarray(idx, dtype=np.int64)
    strong = cands.heard.tolist()
    bar_sec = np.bincount(_section_of(np.asarray(bars, dtype=np.int64), sections))
    for q in sorted(set(mv.sec_of[j] for j in mv.cut[:-1].tolist())):
        for added in range(VARY_SPLITS + 1):
            ks = mv.section(q)
            if len(ks) < shortest or _vary_moves(mv, ks, strong, floor, worth) >= floor:
                break
            if added == VARY_SPLITS or q >= bar_sec.size or bar_sec[q] < VARY_SPLIT_BARS:
                break
            grown = _vary_split(mv, ks, strong, worth)
            if grown is None:
                break
            mv = _Mover(cands, grown, target, settings, bars, sections, rate, keep, weight)
    return mv.cut


def _vary_moves(mv: _Mover, ks, strong, floor: float, worth: float) -> float:
    """:func:`vary_sections`' moves over the shots starting at cuts ``ks`` (one section), the
    best first, until their variation reaches ``floor``; returns the variation reached."""
    sums = mv.lengths(ks)
    for _ in range(4 * len(ks)):
        cv0 = mv.cv(sums)
        if cv0 >= floor:
            break
        best, move = -math.inf, None
        for k in ks[1:]:                           # the first cut of a section stays
            j = int(mv.cut[k])
            for j2, gain, d_err, before, after in mv.moves(k):
                if strong[j] and not strong[j2]:
                    continue
                more = mv.cv(_replaced(sums, before, after)) - cv0
                if more <= 1e-9:
                    continue
                v = gain + worth * more
                if v > best:
                    best, move = v, (k, j2, d_err, before, after)
        if move is None or best < -VARY_LOSS:
            break
        k, j2, d_err, before, after = move
        sums = _replaced(sums, before, after)
        mv.apply(k, j2, d_err)
    return mv.cv(sums)


def _vary_split(mv: _Mover, ks, strong, worth: float):
    """The cuts of ``mv`` with one cut added on an accent inside a shot of the section whose
    shots start at cuts ``ks``, or one of its cuts (not the first) taken away: the change that
    raises the section's variation and costs least in the DP's objective and the count (as a
    move is priced), or None where none raises it or the best costs more than
    :data:`VARY_LOSS`. A section of a few long, even shots (a calm intro of two four-bar holds)
    has no move that varies it without a shot past the longest; one of even one-bar shots on a
    grid that cuts on bar lines has no move inside a bar."""
    n, s1, s2 = mv.lengths(ks)
    cv0 = mv.cv((n, s1, s2))
    best, add = -math.inf, None
    for k in ks:
        for j2, gain, before, (la, lb) in mv.splits(k):
            if not strong[j2]:
                continue
            more = mv.cv((n + 1.0, s1, s2 - before * before + la * la + lb * lb)) - cv0
            if more <= 1e-9:
                continue
            v = gain + worth * more
            if v > best:
                best, add = v, (k, j2)
    drop = None
    for k in ks[1:]:                                   # the first cut of a section stays
        got = mv.merge(k)
        if got is None:
            continue
        gain, (la, lb), joined = got
        more = mv.cv((n - 1.0, s1, s2 - la * la - lb * lb + joined * joined)) - cv0
        if more <= 1e-9:
            continue
        v = gain + worth * more
        if v > best:
            best, drop = v, k
    if (add is None and drop is None) or best < -VARY_LOSS:
        return None
    if drop is not None:
        return np.delete(mv.cut, drop)
    return np.insert(mv.cut, add[0] + 1, add[1])


def _build_parts(a: int, b: int) -> tuple[float, float, float]:
    """Edges (frames) that count the cuts of the build ``[a, b)``: its held first half is
    ``[start, mid)``, its last quarter ``[late, b)``. Each edge lies one frame before the exact
    start, half or three quarters of the build: a cut on a bar line rounded to the frame before
    it (or a build that starts a frame after its bar line) counts in the part the bar line opens,
    as a count over bar lines in frames puts it."""
    return a - 1.0, a + (b - a) / 2.0 - 1.0, a + 3.0 * (b - a) / 4.0 - 1.0


def build_ratio(frames: np.ndarray, build: tuple[int, int]) -> float:
    """The cut rate over the last quarter of ``build`` (``(start, payoff)`` frames) against that
    over its first half, from the cut ``frames`` (inf where the first half has no cut and the
    last quarter has one, 0 where neither has); parts as :func:`_build_parts` counts them."""
    a, b = int(build[0]), int(build[1])
    start, mid, late = _build_parts(a, b)
    f = np.asarray(frames, dtype=np.float64)
    n1 = float(np.sum((f >= start) & (f < mid)))
    n2 = float(np.sum((f >= late) & (f < b)))
    if n1 == 0:
        return math.inf if n2 else 0.0
    return 2.0 * n2 / n1            # the last quarter is half as long as the first half


def quicken_builds(cands: Candidates, idx: np.ndarray, target: np.ndarray, settings: PlanSettings,
                   bars: np.ndarray, sections, builds, *, rate: np.ndarray | None = None, keep=(),
                   ratio: float = BUILD_MIN, weight: float = REPAIR_COUNT_WEIGHT) -> np.ndarray:
    """The cuts ``idx`` (candidate indices) with every build of :data:`BUILD_BARS` bars or more
    (``builds``: ``(start, payoff)`` frames) accelerating into its payoff: while the cut rate
    over its last quarter is under ``ratio`` times that over its first half
    (:func:`build_ratio`), a cut is added on an accent
    (:attr:`~musync.planner.candidates.Candidates.heard`) inside the last quarter or one taken
    away from the first half, whichever costs least in the DP's objective over the shots it
    touches less the count error's price (as :func:`vary_sections` prices its moves, without a
    variation term), none costing more than :data:`BUILD_LOSS` and none among the shots a hero
    is held against. The changes made stay where three do not reach ``ratio``: each makes the
    last quarter faster against the first half. A build's length is read in bars of the median
    bar length (its start may fall a frame or two off a bar line).

    The pace asks for the acceleration (:func:`musync.planner.pace.build_pace`), but the DP
    trades it away where the last bars have few strong accents and the variety terms price a
    run of the short, even shots a build ends on: the last bars then cut no faster than the
    held first half, and the build does not read."""
    idx = np.asarray(idx, dtype=np.int64)
    frames = cands.frames
    bars = np.asarray(bars, dtype=np.int64)
    if bars.size < 2:
        return idx
    bar = float(np.median(np.diff(bars)))
    heard = cands.heard
    on_beat = np.abs(cands.beat_pos - np.round(cands.beat_pos)) < 0.05
    for a, b in builds:
        if b - a < (BUILD_BARS - 0.5) * bar:
            continue
        start, mid, late = _build_parts(a, b)
        for _ in range(BUILD_CHANGES):
            now = build_ratio(frames[idx[1:-1]], (a, b))          # the song's ends are no cuts
            if now >= ratio:
                break
            # at the floor, any beat of the last quarter will do, not only the accents
            ok = heard | (on_beat if now < BUILD_FLOOR else heard)
            mv = _checked_mover(cands, idx, target, settings, bars, sections, rate, keep, weight)
            if mv is None:
                break
            best, change = -math.inf, None
            at = frames[mv.cut]
            # the shots reaching into the last quarter; the cuts of the held half
            for k in range(max(int(np.searchsorted(at, late, side="right")) - 1, 0),
                           int(np.searchsorted(at, b, side="left"))):
                for j2, gain, _, _ in mv.splits(k):
                    if late <= frames[j2] < b and ok[j2] and gain > best:
                        best, change = gain, ("add", k, j2)
            for k in range(max(int(np.searchsorted(at, start, side="left")), 1),
                           min(int(np.searchsorted(at, mid, side="left")), mv.cut.size - 1)):
                got = mv.merge(k)
                if got is not None and got[0] > best:
                    best, change = got[0], ("drop", k, 0)
            if change is None or best < -BUILD_LOSS:
                break
            what, k, j2 = change
            idx = np.insert(mv.cut, k + 1, j2) if what == "add" else np.delete(mv.cut, k)
    return idx


def _checked_mover(cands, idx, target, settings, bars, sections, rate, keep, weight):
    n = len(cands)
    if np.shape(target) != (n,) or (rate is not None and np.shape(rate) != (n,)):
        raise ParameterError(f"target and rate must have shape ({n},)")
    bars = np.asarray(bars, dtype=np.int64)
    if np.size(idx) < 3 or bars.size < 3:
        return None
    return _Mover(cands, idx, target, settings, bars, sections, rate, keep, weight)


def strengthen_cuts(cands: Candidates, idx: np.ndarray, target: np.ndarray, settings: PlanSettings,
                    bars: np.ndarray, sections, *, rate: np.ndarray | None = None, keep=(),
                    share: float = STRONG_SHARE, floor: float = VARY_FLOOR,
                    weight: float = REPAIR_COUNT_WEIGHT) -> np.ndarray:
    """The cuts ``idx`` with cuts off the accents moved onto them while fewer than ``share`` of
    the cuts are on one (:attr:`~musync.planner.candidates.Candidates.heard`: a downbeat or a
    beat whose onset is in the song's top half): the cheapest move first (the DP's own objective
    and the count's price, as :func:`vary_sections` moves cuts), none costing more than
    :data:`VARY_LOSS`, none bringing a section's shot-length variation under ``floor`` (or
    lower where it is). The DP trades accents against the pace's lengths; where the lengths
    win too often the cuts drift off the accents the music gives, and a cut a beat away from
    a kick or a downbeat reads as late."""
    mv = _checked_mover(cands, idx, target, settings, bars, sections, rate, keep, weight)
    if mv is None or share <= 0:
        return np.asarray(idx, dtype=np.int64)
    strong = cands.heard.tolist()
    inner = mv.cut.size - 2                            # the song's start and end are no cuts
    on = sum(strong[j] for j in mv.cut[1:-1].tolist())
    if inner <= 0:
        return mv.cut
    sums: dict[int, tuple] = {}

    def best_move(k):
        """Cut k's best move onto an accent, ``(gain, j2, d_err, section)``, or None."""
        j = int(mv.cut[k])
        if strong[j]:
            return None
        q = mv.sec_of[int(mv.cut[k - 1])]              # the section of the shot before the cut
        if q not in sums:
            sums[q] = mv.lengths(mv.section(q))
        cv0 = mv.cv(sums[q])
        best, move = -math.inf, None
        for j2, gain, d_err, before, after in mv.moves(k):
            if not strong[j2] or gain <= best:
                continue
            cv1 = mv.cv(_replaced(sums[q], before, after))
            if cv1 < floor and cv1 < cv0 - 1e-12:
                continue
            best, move = gain, (gain, j2, d_err, q)
        return move

    # every cut's best move in a heap (the best first, the earliest cut on a tie), priced again
    # only where a move made changes what it reads: its section's lengths, its neighbours
    heap: list = []
    version = [0] * mv.cut.size

    def push(k):
        version[k] += 1
        got = best_move(k)
        if got is not None:
            heapq.heappush(heap, (-got[0], k, version[k], got))

    for k in range(1, mv.cut.size - 1):
        push(k)
    for _ in range(inner):
        if on / inner >= share:
            break
        while heap and heap[0][2] != version[heap[0][1]]:
            heapq.heappop(heap)
        if not heap or heap[0][3][0] < -VARY_LOSS:
            break
        _, k, _, (_, j2, d_err, q) = heapq.heappop(heap)
        was = mv.sec_of[int(mv.cut[k])]
        lo, hi = mv.apply(k, j2, d_err)
        # the move changed the shots before and after the cut: their sections' lengths (two
        # sections where the cut is a section's first and no forced cut, as where a forced cut
        # near another was dropped); a cut's move is checked against the section of the shot
        # before it, so the cuts after those sections' shots are priced again
        sec = []
        for qq in {q, was, mv.sec_of[int(mv.cut[k])]}:
            sums.pop(qq, None)
            sec += mv.section(qq)
        on += 1
        for kk in sorted(set(range(max(1, lo), min(mv.cut.size - 1, hi))) | set(sec)
                         | {x + 1 for x in sec}):
            if 1 <= kk < mv.cut.size - 1:
                push(kk)
    return mv.cut


def anticipate(frames: list[int], n_frames: int, keep: set) -> list[int]:
    """Cut ``n_frames`` early: every cut except the first, the last and those in ``keep``
    (lock edges) moves back by exactly ``n_frames``, but never onto or before the cut before
    it."""
    if not n_frames:
        return list(frames)
    out = [frames[0]]
    for c in frames[1:-1]:
        out.append(c if c in keep else max(out[-1] + 1, c - n_frames))
    out.append(frames[-1])
    return out


#: The lengths of the pieces a shot too long is cut into (:func:`split_long`), in turn: a
#: longer and a shorter one, so the pieces never read as a run of equal shots.
SPLIT_PATTERN = (1.0, 0.7)


def split_long(cuts: list[int], max_len: int, beat_frames: np.ndarray) -> tuple[list[int], int]:
    """Insert cuts so no shot exceeds ``max_len`` frames; returns the cuts and how many were
    added.

    A shot too long is cut into the fewest pieces of at most ``max_len`` whose lengths go in
    turn as :data:`SPLIT_PATTERN` (a longer piece, then a shorter one: never a run of equal
    shots), each added cut on the beat nearest its share (never leaving a piece longer than
    ``max_len``). Past the last beat (a song that ends in a long silence, where the beat tracker
    finds nothing) the grid continues at the median beat period, so the pieces keep the song's
    pulse; with no beats at all the cuts fall on the shares themselves."""
    bf = np.sort(np.asarray(beat_frames, dtype=np.int64))
    if bf.size >= 2 and cuts:
        period = float(np.median(np.diff(bf)))
        if period >= 1:
            tail = bf[-1] + np.round(period * np.arange(1, int((cuts[-1] - bf[-1]) / period) + 1))
            bf = np.concatenate([bf, tail.astype(np.int64)])
    pat = np.asarray(SPLIT_PATTERN, dtype=np.float64)
    out = [cuts[0]]
    added = 0
    for a, b in zip(cuts[:-1], cuts[1:]):
        if b - a <= max_len:
            out.append(b)
            continue
        n = 2
        while (b - a) * pat[0] / pat[np.arange(n) % pat.size].sum() > max_len:
            n += 1                                    # the fewest pieces whose longest fits
        w = pat[np.arange(n) % pat.size]
        shares = a + (b - a) * np.cumsum(w)[:-1] / w.sum()
        prev = a
        for k, ideal in enumerate(shares):
            rest = n - 1 - k                          # pieces after this cut
            lo, hi = b - rest * max_len, prev + max_len
            ok = bf[(bf >= max(lo, prev + 1)) & (bf <= hi)]
            nxt = int(ok[np.argmin(np.abs(ok - ideal))]) if ok.size else int(round(min(max(ideal, lo), hi)))
            out.append(nxt)
            added += 1
            prev = nxt
        out.append(b)
    return out, added


def make_cuts(cands: Candidates, target: np.ndarray, settings: PlanSettings, *,
              lock_edges=frozenset(), longest_unit: int | None = None,
              beat_frames: np.ndarray | None = None, rate: np.ndarray | None = None,
              window: float = 0.0, heroes=(), bars: np.ndarray | None = None,
              sections: np.ndarray | None = None, builds=()) -> tuple[Cuts, int]:
    """The cuts: the DP's choice (held to ``rate`` over windows of ``window`` frames when given,
    :func:`follow_rate`), the hero shots on ``heroes`` (candidate indices) held
    (:func:`hold_heroes`), the count per two bars brought nearer to the rate's where ``bars``
    (bar lines, frames) are given (:func:`meet_counts`, keeping the variety inside the
    ``sections``, their start frames), the sections' lengths varied and the cuts moved onto the
    accents (:func:`vary_sections`, :func:`strengthen_cuts`), every build (``builds``:
    ``(start, payoff)`` frames) made to accelerate (:func:`quicken_builds`), moved
    ``settings.anticipation`` frames early, then split where no clip is long enough
    (``longest_unit`` frames). Returns ``(cuts, n_split)``."""

    def choose(c, keep):
        if rate is None:
            return choose_cuts(c, target[keep], settings)
        return follow_rate(c, target[keep], settings, rate[keep], window)

    idx = choose(cands, np.ones(len(cands), dtype=bool))
    idx = hold_heroes(cands, idx, heroes, choose, settings)
    if rate is not None and bars is not None:
        idx = meet_counts(cands, idx, target, settings, rate, bars, keep=heroes, sections=sections)
    if bars is not None:
        idx = vary_sections(cands, idx, target, settings, bars, sections, rate=rate, keep=heroes)
        idx = strengthen_cuts(cands, idx, target, settings, bars, sections, rate=rate, keep=heroes)
        idx = quicken_builds(cands, idx, target, settings, bars, sections, builds, rate=rate,
                             keep=heroes)
    frames = [int(cands.frames[i]) for i in idx]
    kind = {int(cands.frames[i]): cands.kind[i] for i in idx}
    tgt = {int(cands.frames[i]): float(target[i]) for i in idx}
    cand = {int(cands.frames[i]): int(i) for i in idx}
    moved = anticipate(frames, int(settings.anticipation), set(lock_edges))
    kind = {m: kind[f] for f, m in zip(frames, moved)}
    tgt = {m: tgt[f] for f, m in zip(frames, moved)}
    cand = {m: cand[f] for f, m in zip(frames, moved)}
    n_split = 0
    if longest_unit is not None:
        bf = beat_frames if beat_frames is not None else np.zeros(0, dtype=np.int64)
        moved, n_split = split_long(moved, int(longest_unit), bf - int(settings.anticipation))
    return Cuts(frames=np.asarray(moved, dtype=np.int64),
                kind=tuple(kind.get(f, "split: clips are short") for f in moved),
                target=np.array([tgt.get(f, 0.0) for f in moved]),
                candidate=np.array([cand.get(f, -1) for f in moved], dtype=np.int64)), n_split
