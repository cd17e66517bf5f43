"""Where to cut: candidate frames, their worth, the target pace, and the cut dynamic program.

Public functions:

- :func:`cut_candidates` -- candidate cut frames with scores, forced flags and reasons.
- :func:`target_lengths` -- the ideal shot length (frames) at each candidate from the energy
  curve, the style and the arc toward the climax.
- :func:`choose_cuts` -- the numba dynamic program that picks the cuts.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ..errors import ParameterError
from ..timebase import to_frames
from ..types import Analysis, PlanSettings
from ._kernels import _cut_dp

__all__ = ["to_frames", "Candidates", "cut_candidates", "target_lengths", "choose_cuts",
           "energy_at"]


def energy_at(analysis: Analysis, times) -> np.ndarray:
    """The energy curve interpolated at ``times`` (s)."""
    if analysis.energy.size == 0:
        return np.zeros(np.shape(times))
    return np.interp(times, analysis.energy_times, analysis.energy)


@dataclass(frozen=True)
class Candidates:
    """Candidate cuts: frames (sorted, unique, first 0 and last the end), worth, flags."""

    frames: np.ndarray      # (n,) int64
    score: np.ndarray       # (n,) float64
    forced: np.ndarray      # (n,) bool
    kind: tuple             # (n,) str: "start", "end", "section", "climax", "downbeat", "beat", ...
    fixed_prev: np.ndarray  # (n,) int64, -1 or the candidate a locked shot starts at


def cut_candidates(analysis: Analysis, settings: PlanSettings, duration_frames: int,
                   locks=()) -> Candidates:
    """Candidate cut frames and what a cut there is worth.

    Beats (and half-beats with ``settings.half_beats``; downbeats only with ``cut_on ==
    "downbeats"``) become candidates. Worth: beat strength, +1 on a downbeat, +0.5 on a phrase
    start (every 4th bar of a section). Section starts and the climax downbeat are forced;
    ``locks`` (pairs of record frames) are forced and nothing inside them is a candidate.
    """
    fps = settings.fps
    beats = np.asarray(analysis.beats, dtype=np.float64)
    strength = np.asarray(analysis.beat_strength, dtype=np.float64)
    if strength.size != beats.size:
        strength = np.ones(beats.size)
    if analysis.fallback:
        strength = np.zeros(beats.size)
    fr = {}

    def add(frame, score, kind, forced=False):
        f = int(frame)
        if f <= 0 or f >= duration_frames:
            return
        old = fr.get(f)
        if old is None:
            fr[f] = [score, kind, forced]
        else:
            # keep the best reason; forced wins
            if forced and not old[2]:
                old[1] = kind
            elif score > old[0] and not old[2]:
                old[1] = kind
            old[0] = max(old[0], score)
            old[2] = old[2] or forced

    down = np.asarray(analysis.downbeats, dtype=np.float64)
    down_f = set(to_frames(down, fps).tolist())
    beat_f = to_frames(beats, fps)
    # phrase starts: every 4th bar counted from each section's first downbeat
    phrase_f = set()
    for sec in analysis.sections:
        d = down[(down >= sec.start - 1e-6) & (down < sec.end - 1e-6)]
        phrase_f.update(to_frames(d[::4], fps).tolist())
    cut_on = settings.cut_on
    for k, f in enumerate(beat_f):
        is_down = int(f) in down_f
        if cut_on == "downbeats" and not is_down:
            continue
        s = 0.5 + 0.5 * float(strength[k])
        kind = "beat"
        if is_down:
            s += 1.0
            kind = "downbeat"
        if int(f) in phrase_f:
            s += 0.5
            kind = "phrase"
        add(f, s, kind)
    if settings.half_beats and beats.size >= 2 and cut_on != "downbeats":
        mids = 0.5 * (beats[:-1] + beats[1:])
        for f in to_frames(mids, fps):
            add(f, 0.25, "half-beat")
    for sec in analysis.sections[1:]:
        add(to_frames([sec.start], fps)[0], 3.0, f"section {sec.label}"
            + (f" ({sec.kind})" if sec.kind else ""), forced=True)
    if settings.climax_build and analysis.climax > 0:
        add(to_frames([analysis.climax], fps)[0], 3.0, "climax", forced=True)
    lock_spans = sorted((int(a), int(b)) for a, b in locks)
    for a, b in lock_spans:
        add(a, 0.0, "lock", forced=True)
        add(b, 0.0, "lock", forced=True)
    frames = np.array(sorted(fr), dtype=np.int64)
    if lock_spans and frames.size:
        inside = np.zeros(frames.size, dtype=bool)
        for a, b in lock_spans:
            inside |= (frames > a) & (frames < b)
        frames = frames[~inside]
    frames = np.concatenate([[0], frames, [duration_frames]]).astype(np.int64)
    n = frames.size
    score = np.zeros(n)
    forced = np.zeros(n, dtype=bool)
    kinds = ["start"] + [""] * (n - 2) + ["end"]
    forced[0] = forced[-1] = True
    for j in range(1, n - 1):
        sc, kind, fo = fr[int(frames[j])]
        score[j], kinds[j], forced[j] = sc, kind, fo
    fixed_prev = np.full(n, -1, dtype=np.int64)
    index = {int(f): j for j, f in enumerate(frames)}
    for a, b in lock_spans:
        if a in index and b in index:
            fixed_prev[index[b]] = index[a]
    return Candidates(frames, score, forced, tuple(kinds), fixed_prev)


def target_lengths(analysis: Analysis, settings: PlanSettings, frames: np.ndarray) -> np.ndarray:
    """Ideal shot length in frames for a shot starting at each frame.

    Geometric between ``calm_beats`` (the song's calmest tenth) and ``intense_beats`` (its most
    intense tenth) beats at the local beat period, using the energy over the next two seconds. With ``climax_build``: the
    eight bars before the climax speed up to 60 % of that length, the bar just before the
    climax is held as one breath shot, the climax section is cut 40 % faster, outro sections
    are 30 % slower. Clamped to
    ``[min_shot, max_shot]`` seconds.
    """
    fps = float(settings.fps)
    t = frames / fps
    e = 0.5 * energy_at(analysis, t) + 0.5 * energy_at(analysis, t + 2.0)
    # pace is relative to the song's own range: its calm tenth is calm, its loud tenth intense
    if analysis.energy.size:
        lo, hi = np.percentile(analysis.energy, [10, 90])
        e = np.clip((e - lo) / max(hi - lo, 0.2), 0.0, 1.0)
    beats = analysis.beats
    if beats.size >= 2:
        ibi = np.diff(beats)
        mid = 0.5 * (beats[:-1] + beats[1:])
        period = np.interp(t, mid, ibi)
    else:
        period = np.full(t.shape, 60.0 / max(analysis.tempo, 1.0))
    beats_len = settings.calm_beats * (settings.intense_beats / settings.calm_beats) ** e
    target = beats_len * period
    bar = analysis.beats_per_bar * np.median(period) if period.size else 2.0
    if settings.climax_build and analysis.climax > 0:
        c = analysis.climax
        ramp_start = c - 8 * bar
        ramp = np.clip((t - ramp_start) / max(c - bar - ramp_start, 1e-6), 0.0, 1.0)
        build = (t >= ramp_start) & (t < c - bar - 1e-6)
        target = np.where(build, target * (1.0 - 0.4 * ramp), target)
        breath = (t >= c - bar - 0.5 * np.median(period)) & (t < c)
        target = np.where(breath, np.maximum(c - t, target), target)
        # the payoff: the climax section is cut faster than anything before it
        sec = analysis.section_at(c)
        if sec is not None:
            m = (t >= sec.start) & (t < sec.end)
            target = np.where(m, target * 0.6, target)
    for sec in analysis.sections:
        if sec.kind == "outro":
            m = (t >= sec.start) & (t < sec.end)
            target = np.where(m, target * 1.3, target)
    target = np.clip(target, settings.min_shot, settings.max_shot)
    return np.maximum(target * fps, 1.0)


def choose_cuts(cands: Candidates, target: np.ndarray, settings: PlanSettings, *,
                lam: float = 4.0) -> np.ndarray:
    """Run the cut DP; return indices into ``cands.frames`` of the chosen cuts (first 0, last end)."""
    n = cands.frames.size
    if target.shape != (n,):
        raise ParameterError(f"target must have shape ({n},), got {target.shape}")
    fps = float(settings.fps)
    min_len = max(1, int(round(settings.min_shot * fps)))
    max_len = max(min_len, int(round(settings.max_shot * fps)))
    return _cut_dp(cands.frames.astype(np.int64), cands.score.astype(np.float64),
                   cands.forced.astype(np.bool_), cands.fixed_prev.astype(np.int64),
                   np.ascontiguousarray(target, dtype=np.float64), min_len, max_len, float(lam))
