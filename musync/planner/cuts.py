"""Stage 2 of the planner: the cuts -- the dynamic program that picks them, then anticipation.

Public:

- :class:`Cuts` -- the chosen cut frames (first 0, last the song's end) and why each is there.
- :func:`choose_cuts` -- run the cut DP on :class:`~musync.planner.candidates.Candidates` and
  their target lengths; returns candidate indices.
- :func:`dp_window` -- for every candidate, the earliest candidate a shot ending there may start
  at (the DP's search window).
- :func:`make_cuts` -- candidates + targets in, :class:`Cuts` out (DP, anticipation, shots split
  where clips are too short).
- :func:`anticipate` -- move cuts a number of frames early (never the start, the end or a lock
  edge).
- :data:`LAMBDA`, :data:`RUN_COST`, :data:`SHORT_COST` -- the DP's weights.

The DP maximises, over all cut sequences, the sum of the cuts' worth minus a length penalty
``LAMBDA * log(length / target)**2`` and a variety penalty: ``RUN_COST[r]`` for the r-th shot in
a row of one length (in beats) and ``SHORT_COST`` for two one-beat shots in a row. Variety is part
of the objective, so a phrase gets a pattern of lengths and never a metronome.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError
from ..timebase import to_frame
from ..types import PlanSettings
from ._kernels import _cut_dp
from .candidates import Candidates

__all__ = ["Cuts", "choose_cuts", "dp_window", "make_cuts", "anticipate", "split_long",
           "LAMBDA", "RUN_COST", "SHORT_COST", "min_max_frames"]

#: Weight of the length penalty.
LAMBDA = 4.0
#: Cost of the r-th shot in a row of the same length in beats (index r; 0 and 1 cost nothing;
#: the last entry applies to every longer run).
RUN_COST = (0.0, 0.0, 0.3, 0.9, 1.8, 8.0)
#: Cost of a one-beat (or shorter) shot right after another.
SHORT_COST = 0.35
#: Shots up to this many beats count as one-beat shots.
SHORT_BEATS = 1.25


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
    return _cut_dp(cands.frames.astype(np.int64), cands.beat_pos.astype(np.float64),
                   cands.score.astype(np.float64), cands.forced.astype(np.bool_),
                   cands.fixed_prev.astype(np.int64), np.maximum(target, 1.0),
                   int(min_len), int(max_len), float(lam), rc, float(SHORT_BEATS),
                   float(short_cost), lo)


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


def split_long(cuts: list[int], max_len: int, beat_frames: np.ndarray) -> tuple[list[int], int]:
    """Insert cuts (on beats where possible) so no shot exceeds ``max_len`` frames; returns the
    cuts and how many were added."""
    out = [cuts[0]]
    added = 0
    for a, b in zip(cuts[:-1], cuts[1:]):
        while b - a > max_len:
            inside = beat_frames[(beat_frames > a) & (beat_frames <= a + max_len)]
            nxt = int(inside[-1]) if inside.size and inside[-1] - a >= max(1, max_len // 2) else a + max_len
            out.append(nxt)
            added += 1
            a = nxt
        out.append(b)
    return out, added


def make_cuts(cands: Candidates, target: np.ndarray, settings: PlanSettings, *,
              lock_edges=frozenset(), longest_unit: int | None = None,
              beat_frames: np.ndarray | None = None) -> tuple[Cuts, int]:
    """The cuts: the DP's choice, moved ``settings.anticipation`` frames early, then split where
    no clip is long enough (``longest_unit`` frames). Returns ``(cuts, n_split)``."""
    idx = choose_cuts(cands, target, settings)
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
