"""Stage 2a of the planner: the pace -- how long a shot starting at each candidate should last.

Public:

- :func:`target_lengths` -- the ideal length (frames) of a shot starting at each candidate.
- :func:`phrase_shape` -- the pattern of lengths inside each phrase.
- :func:`build_pace` -- the accelerating pace over the build before every payoff.
- :func:`hero_seconds` -- the held hero shot on a payoff.
- :func:`section_factor` -- the climax section faster, outros slower.
- :data:`PHRASE_PATTERNS` -- the phrase patterns.

The pace is built from parts, each a function here (a new pacing rule is one more function):
the **energy** (continuous, in the song's own range: ``calm_beats`` at its calmest,
``intense_beats`` at its most intense, geometric in between), the **phrase shape** (a long
shot then a burst, steady then a fill, ...), the **arc** (a held stretch accelerating over the
build before each payoff, a held hero shot on the payoff), the **section** (climax faster,
outros slower) and the beat period. The cut dynamic
program (:mod:`.cuts`) then trades these targets against accents and variety.
"""

from __future__ import annotations

import numpy as np

from ..timebase import to_frame
from ..types import Analysis, PlanSettings
from .music import MusicGrid

__all__ = ["target_lengths", "phrase_shape", "build_pace", "in_build", "section_factor",
           "energy_pace", "hero_seconds", "PHRASE_PATTERNS", "BUILD_FROM", "BUILD_TO"]

#: Patterns of shot lengths inside a phrase: multipliers of the energy pace over the phrase's
#: quarters (bars of a 4-bar phrase). Each is normalised so a phrase keeps its number of shots,
#: and each half of a phrase keeps about the same number of shots as the other, so the cut rate
#: per two bars still follows the energy while the lengths inside vary.
PHRASE_PATTERNS = {
    "hold, burst; hold, burst": (1.7, 0.65, 1.7, 0.65),
    "burst, hold; burst, hold": (0.65, 1.7, 0.65, 1.7),
    "steady; then hold, burst": (1.0, 1.0, 1.6, 0.7),
    "hold, burst; then steady": (1.6, 0.7, 1.0, 1.0),
}
_PATTERN_ORDER = tuple(PHRASE_PATTERNS)

#: The build's pace at its start: at least this many times the style's intense pace (a held
#: stretch the acceleration can be felt against), and at its end: this many times it.
BUILD_FROM = 1.5
BUILD_TO = 0.6


def _normalised(pattern) -> np.ndarray:
    m = np.asarray(pattern, dtype=np.float64)
    # the number of shots in a quarter goes as 1/m: keep the mean of 1/m at 1
    return m * np.mean(1.0 / m)


def energy_pace(grid: MusicGrid, settings: PlanSettings, times: np.ndarray) -> np.ndarray:
    """Target shot length in beats from the energy over the next two seconds (song-relative)."""
    e = 0.5 * grid.rel_energy_at(times) + 0.5 * grid.rel_energy_at(times + 1.5)
    return settings.calm_beats * (settings.intense_beats / settings.calm_beats) ** np.clip(e, 0.0, 1.0)


def phrase_pattern_names(grid: MusicGrid, analysis: Analysis, seed: int) -> list[str]:
    """The pattern of every phrase: repeated sections (same label) cut alike, consecutive
    phrases differ, the seed picks the rotation."""
    out = []
    labels = [s.label for s in analysis.sections] or ["A"]
    for p in grid.phrases:
        lab = labels[min(p.section, len(labels) - 1)]
        h = sum(ord(c) * (i + 1) for i, c in enumerate(lab)) + 7 * int(seed)
        out.append(_PATTERN_ORDER[(h + p.index) % len(_PATTERN_ORDER)])
    # a pattern never repeats in the next phrase
    for i in range(1, len(out)):
        if out[i] == out[i - 1]:
            out[i] = _PATTERN_ORDER[(_PATTERN_ORDER.index(out[i]) + 1) % len(_PATTERN_ORDER)]
    return out


def phrase_shape(grid: MusicGrid, analysis: Analysis, settings: PlanSettings,
                 frames: np.ndarray) -> np.ndarray:
    """Multiplier of the pace at ``frames`` from the pattern of the phrase they fall in
    (phrases shorter than two bars keep the plain pace)."""
    names = phrase_pattern_names(grid, analysis, settings.seed)
    table = {name: _normalised(m) for name, m in PHRASE_PATTERNS.items()}
    frames = np.asarray(frames, dtype=np.int64)
    idx = grid.phrase_at(frames)
    start = np.array([p.start for p in grid.phrases], dtype=np.float64)[idx]
    end = np.array([p.end for p in grid.phrases], dtype=np.float64)[idx]
    bars = np.array([p.bars for p in grid.phrases], dtype=np.int64)[idx]
    mult = np.array([table[n] for n in names])[idx]          # (n, 4)
    q = np.clip(((frames - start) / np.maximum(end - start, 1.0) * mult.shape[1]).astype(np.int64),
                0, mult.shape[1] - 1)
    out = mult[np.arange(frames.size), q]
    return np.where(bars >= 2, out, 1.0)


def _build_end(grid: MusicGrid, settings: PlanSettings) -> float:
    """The pace (beats) the build ends on: ``BUILD_TO x intense``, but never below what the
    candidates allow (a beat, or a bar when cutting on bar lines only)."""
    floor = float(grid.beats_per_bar) if settings.cut_on == "downbeats" else 1.0
    return max(BUILD_TO * settings.intense_beats, floor)


def hero_seconds(grid: MusicGrid, settings: PlanSettings, period: float) -> float:
    """Length of the hero shot held on a payoff: a bar, or 2.5x the pace the build ends on if
    that is longer, at least 1.5 s, at most two bars (and within the shortest and longest shot)."""
    bar = grid.bar_seconds
    want = max(bar, 2.5 * _build_end(grid, settings) * period, 1.5)
    return float(np.clip(min(want, 2.0 * bar), settings.min_shot, settings.max_shot))


def build_pace(grid: MusicGrid, settings: PlanSettings, frames: np.ndarray,
               pace: np.ndarray) -> np.ndarray:
    """The pace (beats) over each payoff's build: from ``max(pace, BUILD_FROM x intense, twice
    the end)`` at the build's start geometrically down to the end (:func:`_build_end`) at the
    payoff (both scaled toward the plain pace for weaker payoffs), so the cut rate accelerates
    into it."""
    out = pace.copy()
    if not settings.climax_build:
        return out
    end = _build_end(grid, settings)
    for p in grid.payoffs:
        if p.frame - p.build_start < 2:
            continue
        x = (frames - p.build_start) / float(p.frame - p.build_start)
        m = (x >= 0) & (x < 1)
        if not np.any(m):
            continue
        i0 = int(np.flatnonzero(m)[0])
        start = max(float(pace[i0]), BUILD_FROM * settings.intense_beats, 2.0 * end)
        ramp = start * (end / start) ** x[m]
        out[m] = pace[m] ** (1.0 - p.strength) * ramp ** p.strength
    return out


def in_build(grid: MusicGrid, frames: np.ndarray) -> np.ndarray:
    """(n,) bool: the frame lies in a payoff's build."""
    m = np.zeros(frames.size, dtype=bool)
    for p in grid.payoffs:
        m |= (frames >= p.build_start) & (frames < p.frame)
    return m


def section_factor(grid: MusicGrid, analysis: Analysis, settings: PlanSettings,
                   frames: np.ndarray) -> np.ndarray:
    """The climax section runs at 0.8 of the pace, outros at 1.3."""
    fps = float(grid.fps)
    out = np.ones(frames.size)
    if settings.climax_build and grid.climax_frame is not None:
        sec = analysis.section_at(grid.climax_frame / fps)
        if sec is not None:
            a, b = to_frame(sec.start, grid.fps), to_frame(sec.end, grid.fps)
            out[(frames >= a) & (frames < b)] *= 0.8
    for sec in analysis.sections:
        if sec.kind == "outro":
            a, b = to_frame(sec.start, grid.fps), to_frame(sec.end, grid.fps)
            out[(frames >= a) & (frames < b)] *= 1.3
    return out


def target_lengths(grid: MusicGrid, analysis: Analysis, settings: PlanSettings,
                   frames: np.ndarray, *, shape: bool = True) -> np.ndarray:
    """Ideal length in frames of a shot starting at each of ``frames``.

    ``energy pace (beats) x phrase shape x section factor``, replaced by the build's pace over
    every payoff's build, times the local beat period; a hero shot (:func:`hero_seconds`) on
    every payoff; clamped to ``[min_shot, max_shot]``.
    """
    fps = float(grid.fps)
    frames = np.asarray(frames, dtype=np.int64)
    t = frames / fps
    beats = energy_pace(grid, settings, t)
    if shape:
        beats = np.where(in_build(grid, frames), beats,
                         beats * phrase_shape(grid, analysis, settings, frames))
    beats = build_pace(grid, settings, frames, beats)
    beats = beats * section_factor(grid, analysis, settings, frames)
    if grid.beat_frames.size >= 2:
        bt = grid.beat_frames / fps
        period = np.interp(t, bt, grid.beat_period)
    else:
        period = np.full(t.shape, 0.5)
    sec = beats * period
    if settings.climax_build:
        pay = {p.frame for p in grid.payoffs}
        for j, f in enumerate(frames):
            if int(f) in pay:
                sec[j] = max(sec[j], hero_seconds(grid, settings, float(period[j])))
    sec = np.clip(sec, settings.min_shot, settings.max_shot)
    return np.maximum(sec * fps, 1.0)
