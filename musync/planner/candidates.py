"""Stage 1 of the planner: where a cut may fall, and what a cut there is worth.

Public:

- :class:`Candidates` -- candidate cut frames with their worth, forced flags, reasons, positions
  on the beat grid and lock constraints.
- :func:`cut_candidates` -- a :class:`~musync.planner.music.MusicGrid` (plus settings and locks)
  in, :class:`Candidates` out.

The worth of a cut is the beat's accent (:func:`musync.planner.music.beat_accents`) minus
:data:`ACCENT_BASE`, less :data:`WEAK_PENALTY` more on a weak beat, so the cut dynamic program
gains by cutting on strong accents and pays for cutting on weak ones; plus :data:`DENSITY` times
how much louder than its mean the song is there (:func:`musync.planner.pace.drive_at`; nothing
where it is quieter, nothing inside builds), so the cut rate follows the loudness from bar to
bar and not only from section to section.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..timebase import to_frame
from ..types import Analysis, PlanSettings
from .music import MusicGrid, beat_in_bar, energy_at
from .pace import drive_at

__all__ = ["Candidates", "cut_candidates", "ACCENT_BASE", "WEAK_PENALTY", "FORCED_SCORE",
           "LOUD_BEATS"]

#: Accent a cut must beat to be worth anything.
ACCENT_BASE = 0.75
#: Extra cost of a cut on a weak beat (not a downbeat, onset in the song's lower half).
WEAK_PENALTY = 0.6
#: Worth of a forced cut (section start, climax).
FORCED_SCORE = 3.0
#: How much more a cut is worth where the music is louder than usual (per unit of the song's
#: relative loudness above its mean): the cut rate follows the loudness from bar to bar.
DENSITY = 4.0
#: On a low-confidence grid, strong beats are cut points where the drive (the song-relative
#: loudness, :func:`musync.planner.pace.drive_at`) is at least this (``loud_beats``).
LOUD_BEATS = 0.6


@dataclass(frozen=True, eq=False)
class Candidates:
    """Candidate cuts: ``frames`` sorted and unique, the first 0 and the last the song's end.

    Attributes
    ----------
    frames : (n,) int64
    score : (n,) float64       worth of a cut there (positive on strong accents)
    forced : (n,) bool         a cut there is mandatory (section starts, climax, lock edges)
    kind : tuple of str        why: "start", "end", "section B (chorus)", "climax", "phrase",
                               "downbeat", "beat", "accent", "half-beat", "lock"
    beat_pos : (n,) float64    position on the beat grid in beats (for lengths in beats)
    strong : (n,) bool         the cut would be on a strong accent (a downbeat, an onset in the
                               song's top half, a jump in energy, a phrase start)
    fixed_prev : (n,) int64    -1, or the candidate a locked shot ending here starts at
    accented : (n,) bool       the cut would be on a downbeat or on a beat whose onset is in the
                               song's top half -- the accents anyone counting the beats hears (and
                               forced cuts); None: as ``strong``
    """

    frames: np.ndarray
    score: np.ndarray
    forced: np.ndarray
    kind: tuple
    beat_pos: np.ndarray
    strong: np.ndarray
    fixed_prev: np.ndarray
    accented: np.ndarray | None = None

    @property
    def heard(self) -> np.ndarray:
        """:attr:`accented`, or :attr:`strong` where the candidates do not say."""
        return self.strong if self.accented is None else self.accented

    def __len__(self) -> int:
        return int(self.frames.size)


def _mid_bar(grid: MusicGrid) -> np.ndarray:
    """(n,) bool: the beat halves its bar (the third beat of a 4/4 bar; none in an odd metre)."""
    bpb = int(grid.beats_per_bar)
    if bpb % 2:
        return np.zeros(grid.beat_frames.size, dtype=bool)
    return beat_in_bar(grid.is_down) == bpb // 2


def cut_candidates(grid: MusicGrid, analysis: Analysis, settings: PlanSettings, locks=(), *,
                   low_confidence: bool = False, loud_beats: bool = False) -> Candidates:
    """Candidate cut frames and their worth.

    Beats become candidates (downbeats only with ``cut_on == "downbeats"`` or a low-confidence
    grid), and the strong off-beats of ``grid`` (only present with ``half_beats``). Section starts
    and the climax are forced; two forced cuts closer than the shortest shot keep only the first
    (a lock edge always stays), and one closer than that to the song's start or end is dropped
    (no flash at either end). ``locks`` are ``(record_in, record_out)`` pairs: both edges are
    forced and nothing inside a lock is a candidate. With ``low_confidence`` (no trustworthy
    beat), the worth is where the energy moves rather than the grid's accents (plus the
    loudness term in full). ``loud_beats`` (a low-confidence grid under a style that cuts on
    beats) also keeps the strong beats (onset in the song's top half) where the song is in the
    loud part of its own range (the drive at least :data:`LOUD_BEATS`) and over the accelerating
    half of every build: where the music is loud, and into a payoff, an editor cuts inside the
    bar even when the grid is uncertain, on the hits it can hear. Over that accelerating half the
    beat in the middle of each bar (even metres) is a cut point too, strong or not: a build whose
    bars have no strong hit inside them (a steady pulse with the weight on the bar line) could
    otherwise not cut faster than once a bar, and its last bars would not accelerate. A fallback
    grid (no pulse found: a fixed grid with no onsets on it) has no strong beats to offer, so with
    ``loud_beats`` the middle of every bar (in an even metre) is a cut point all through the
    song: cutting on bar lines alone, two bars hold at most two cuts and the cut rate cannot
    follow the loudness; the pace decides where the half bars are used.
    """
    fps = grid.fps
    n_end = grid.duration_frames
    table: dict[int, list] = {}   # frame -> [score, kind, forced, strong]

    def add(frame, score, kind, forced=False, strong=False):
        f = int(frame)
        if f <= 0 or f >= n_end:
            return
        old = table.get(f)
        if old is None:
            table[f] = [float(score), kind, bool(forced), bool(strong)]
            return
        if forced and not old[2]:
            old[1] = kind
        elif score > old[0] and not old[2]:
            old[1] = kind
        old[0] = max(old[0], float(score))
        old[2] = old[2] or forced
        old[3] = old[3] or strong

    downs_only = settings.cut_on == "downbeats" or low_confidence
    phrase_starts = {p.start for p in grid.phrases}
    t_beats = grid.beat_frames / float(fps)
    de = np.abs(energy_at(analysis, t_beats + 0.5) - energy_at(analysis, t_beats - 0.5))
    er = drive_at(grid, t_beats)
    usual = float(np.mean(drive_at(grid, grid.energy_times))) if grid.energy_times.size else 0.5
    # only where louder than usual: the pace already slows the quiet passages, and cuts there
    # must not become so costly that the DP drops the phrase's pattern
    dens = DENSITY * np.maximum(er - usual, 0.0)
    # the accelerating half of every build (where a grid that cuts on bar lines may run out of
    # cut points before the build's pace does)
    ramp = np.zeros(grid.beat_frames.size, dtype=bool)
    for p in grid.payoffs:   # over a build the pace decides
        dens[(grid.beat_frames >= p.build_start) & (grid.beat_frames <= p.frame)] = 0.0
        ramp |= (2 * grid.beat_frames >= p.build_start + p.frame) & (grid.beat_frames < p.frame)
    mid = _mid_bar(grid)
    for k, f in enumerate(grid.beat_frames):
        down = bool(grid.is_down[k])
        strong = bool(grid.strong[k])
        inside = loud_beats and ((strong and (er[k] >= LOUD_BEATS or ramp[k]))
                                 or (mid[k] and (ramp[k] or analysis.fallback)))
        if downs_only and not down and int(f) not in phrase_starts and not inside:
            continue
        s = float(grid.accent[k]) - ACCENT_BASE - (0.0 if strong else WEAK_PENALTY)
        s = 0.3 * s + 4.0 * float(de[k]) + float(dens[k]) if low_confidence else s + float(dens[k])
        kind = "phrase" if int(f) in phrase_starts else "downbeat" if down else (
            "accent" if grid.onset_rank[k] >= 0.75 else "beat")
        add(f, s, kind, strong=strong)
    if not downs_only:
        for f, a in zip(grid.offbeat_frames, grid.offbeat_accent):
            add(f, float(a) - ACCENT_BASE, "half-beat", strong=True)
    min_len = max(1, to_frame(settings.min_shot, fps))
    forced_cuts = []
    for sec in analysis.sections[1:]:
        forced_cuts.append((to_frame(sec.start, fps), f"section {sec.label}" + (f" ({sec.kind})" if sec.kind else "")))
    if settings.climax_build and grid.climax_frame is not None:
        forced_cuts.append((grid.climax_frame, "climax"))
    lock_spans = sorted((int(a), int(b)) for a, b in locks)
    lock_edges = sorted({e for ab in lock_spans for e in ab})
    kept: list[int] = [0]   # the song's start (a forced cut too close to it is dropped)
    for fr, kind in sorted(forced_cuts):
        if fr <= 0 or fr >= n_end:
            continue
        near_prev = fr - kept[-1] < min_len
        near_end = n_end - fr < min_len
        near_lock = any(abs(fr - e) < min_len and fr != e for e in lock_edges)
        if near_prev or near_end or near_lock:
            if fr == kept[-1]:
                add(fr, FORCED_SCORE, kind, forced=True, strong=True)
            continue
        kept.append(fr)
        add(fr, FORCED_SCORE, kind, forced=True, strong=True)
    for e in lock_edges:
        add(e, 0.0, "lock", forced=True, strong=True)
    frames = np.array(sorted(table), dtype=np.int64)
    if lock_spans and frames.size:
        inside = np.zeros(frames.size, dtype=bool)
        for a, b in lock_spans:
            inside |= (frames > a) & (frames < b)
        frames = frames[~inside]
    frames = np.concatenate([[0], frames, [n_end]]).astype(np.int64)
    n = frames.size
    score = np.zeros(n)
    forced = np.zeros(n, dtype=bool)
    strong = np.ones(n, dtype=bool)
    kinds = ["start"] + [""] * (n - 2) + ["end"]
    forced[0] = forced[-1] = True
    for j in range(1, n - 1):
        sc, kind, fo, st = table[int(frames[j])]
        score[j], kinds[j], forced[j], strong[j] = sc, kind, fo, st
    firm = {int(f): bool(grid.is_down[k] or grid.onset_rank[k] >= 0.5)
            for k, f in enumerate(grid.beat_frames)}
    accented = forced | np.array([firm.get(int(f), False) for f in frames], dtype=bool)
    fixed_prev = np.full(n, -1, dtype=np.int64)
    index = {int(f): j for j, f in enumerate(frames)}
    for a, b in lock_spans:
        if a in index and b in index:
            fixed_prev[index[b]] = index[a]
    return Candidates(frames=frames, score=score, forced=forced, kind=tuple(kinds),
                      beat_pos=grid.beat_position(frames), strong=strong, fixed_prev=fixed_prev,
                      accented=accented)
