"""Stage 2a of the planner: the pace -- how long a shot starting at each candidate should last.

Public:

- :func:`target_lengths` -- the ideal length (frames) of a shot starting at each candidate.
- :func:`cut_rate` -- the cuts per frame the plain pace asks for (what the cut DP is held to).
- :func:`phrase_shape` -- the pattern of lengths inside each phrase; :func:`pattern_depth` -- how
  much of it a pace takes (none once a shot lasts a bar).
- :func:`build_pace` -- the accelerating pace over the build before every payoff, and where each
  build ends.
- :func:`hero_seconds` -- the held hero shot on a payoff.
- :func:`section_factor` -- the climax section faster, outros slower.
- :func:`drive_at` -- what the pace follows: the song-relative loudness.
- :func:`build_ramp`, :func:`build_swing`, :func:`soft_ceiling` -- the
  build's shape, the loudness swing it keeps inside its parts, target lengths bent toward the
  longest shot.
- :data:`PHRASE_PATTERNS` -- the phrase patterns.

The pace is built from parts, each a function here (a new pacing rule is one more function):
the **drive** (continuous, in the song's own range: the loudness over two bars ranked and
levelled within the song, :func:`musync.planner.music.relative_loudness`, or the energy curve
where the analysis has no loudness; ``calm_beats`` at its quietest, ``intense_beats`` at its
loudest, geometric in between), the **phrase shape** (a long shot then a burst, steady then a
fill, ...), the **arc** (a held stretch accelerating over the build before each payoff, from the
song's own pace there, a held hero shot on the payoff), the **section** (climax faster, outros
slower) and the beat period. The cut dynamic program (:mod:`.cuts`) then trades these targets
against accents and variety, held to the plain pace's cut rate (:func:`cut_rate`).
"""

from __future__ import annotations

import numpy as np

from ..timebase import to_frame
from ..types import Analysis, PlanSettings
from .music import MusicGrid

__all__ = ["target_lengths", "cut_rate", "phrase_shape", "build_pace", "in_build", "section_factor",
           "energy_pace", "drive_at", "soft_ceiling", "hero_seconds", "build_ramp",
           "build_swing", "BUILD_MID_OWN", "LOUD_WEIGHT", "PHRASE_PATTERNS", "pattern_depth",
           "PATTERN_FULL", "PATTERN_NONE", "BUILD_RATIO", "BUILD_TO", "BUILD_SWING",
           "HERO_TIMES", "SOFT_FROM", "ahead_in_builds"]

#: Patterns of shot lengths inside a phrase: multipliers of the energy pace over the phrase's
#: bars (bar i takes entry i mod 4, so a 6-bar phrase plays the first two again). Each is
#: normalised so four bars keep their number of shots, and each pair of bars keeps about the same
#: number of shots as the next, so the cut rate per two bars still follows the energy while the
#: lengths inside vary.
PHRASE_PATTERNS = {
    "hold, burst; hold, burst": (2.0, 0.57, 2.0, 0.57),
    "burst, hold; burst, hold": (0.57, 2.0, 0.57, 2.0),
    "steady; then hold, burst": (1.0, 1.0, 1.85, 0.63),
    "hold, burst; then steady": (1.85, 0.63, 1.0, 1.0),
}
_PATTERN_ORDER = tuple(PHRASE_PATTERNS)
#: A phrase pattern acts in full where the pace is at most this many bars per shot, and not at
#: all from :data:`PATTERN_NONE` bars (:func:`pattern_depth`).
PATTERN_FULL = 0.5
PATTERN_NONE = 1.0

#: Share of the loudness in what the pace follows (the rest is the analysis' energy curve).
LOUD_WEIGHT = 1.0

#: Target lengths above this share of the longest shot bend toward it (:func:`soft_ceiling`).
SOFT_FROM = 0.5
#: The hero shot on a payoff lasts at least this many times the pace its build ends on.
HERO_TIMES = 3.0
#: How many times faster the cut rate is at the end of a build than at its start.
BUILD_RATIO = 2.5
#: The fastest pace a build ends on: this many times the style's intense pace (at least a beat).
BUILD_TO = 0.6
#: How much of the song's own pace swing (louder bars faster, quieter bars slower) a build keeps
#: inside each of its parts (:func:`build_swing`; 0: the ramp alone, 1: all of it).
BUILD_SWING = 0.6
#: How far the third quarter of a build goes from the ramp back to the song's own pace there
#: (geometric; 0: the ramp, 1: the song's pace, within the ramp's range). The held first half and
#: the last quarter carry the acceleration (what a viewer feels and a reader counts: the last
#: bars against the held ones); the bars between them need not be pulled off the music as well.
BUILD_MID_OWN = 0.5


def _normalised(pattern) -> np.ndarray:
    m = np.asarray(pattern, dtype=np.float64)
    # the number of shots in a quarter goes as 1/m: keep the mean of 1/m at 1
    return m * np.mean(1.0 / m)


def drive_at(grid: MusicGrid, times: np.ndarray) -> np.ndarray:
    """What the pace follows at ``times``, [0, 1]: mostly the song-relative loudness
    (:data:`LOUD_WEIGHT`), the rest the song-relative energy, both over the next bar or so."""
    times = np.asarray(times, dtype=np.float64)
    ahead = 0.25 * grid.bar_seconds
    loud = grid.rel_loudness_at(times + ahead)
    energy = 0.5 * grid.rel_energy_at(times) + 0.5 * grid.rel_energy_at(times + 1.5)
    return np.clip(LOUD_WEIGHT * loud + (1.0 - LOUD_WEIGHT) * energy, 0.0, 1.0)


def energy_pace(grid: MusicGrid, settings: PlanSettings, times: np.ndarray) -> np.ndarray:
    """Target shot length in beats from the drive (:func:`drive_at`): ``calm_beats`` where the
    song is at its quietest, ``intense_beats`` at its loudest, geometric in between."""
    e = drive_at(grid, times)
    return settings.calm_beats * (settings.intense_beats / settings.calm_beats) ** e


def pattern_depth(pace_bars) -> np.ndarray:
    """How much of its phrase pattern a pace of ``pace_bars`` bars per shot takes: all of it up
    to :data:`PATTERN_FULL` bars, none from :data:`PATTERN_NONE` bars, linear in between
    (the pattern's multiplier is raised to this power).

    A pattern sets the lengths of the shots that start in each bar; its count per two bars
    holds only while shots are shorter than a bar. At a pace of a bar or more, a bar's hold
    outlasts the bar and swallows the next bar's burst: two bars get one shot where the pace
    asks for two, and the cut rate stops following the music there."""
    x = np.asarray(pace_bars, dtype=np.float64)
    return np.clip((PATTERN_NONE - x) / (PATTERN_NONE - PATTERN_FULL), 0.0, 1.0)


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
    """Multiplier of the pace at ``frames`` from the pattern of the phrase they fall in, bar by
    bar (:data:`PHRASE_PATTERNS`; phrases shorter than two bars keep the plain pace)."""
    names = phrase_pattern_names(grid, analysis, settings.seed)
    table = {name: _normalised(m) for name, m in PHRASE_PATTERNS.items()}
    frames = np.asarray(frames, dtype=np.int64)
    idx = grid.phrase_at(frames)
    start = np.array([p.start for p in grid.phrases], dtype=np.float64)[idx]
    end = np.array([p.end for p in grid.phrases], dtype=np.float64)[idx]
    bars = np.array([p.bars for p in grid.phrases], dtype=np.int64)[idx]
    mult = np.array([table[n] for n in names])[idx]          # (n, 4)
    # bar i of a phrase takes entry i mod 4: a phrase longer than four bars starts its pattern
    # again rather than stretching it, so a hold or a burst never outlasts a bar
    bar = np.floor((frames - start) / np.maximum(end - start, 1.0) * bars).astype(np.int64)
    q = np.clip(bar, 0, bars - 1) % mult.shape[1]
    out = mult[np.arange(frames.size), q]
    return np.where(bars >= 2, out, 1.0)


def _build_end(grid: MusicGrid, settings: PlanSettings) -> float:
    """The pace (beats) the build ends on: ``BUILD_TO x intense``, but never below what the
    candidates allow (a beat, or a bar when cutting on bar lines only) nor below the shortest
    shot (in beats of the song's median period: a grid of low confidence keeps its shots two
    beats long at least)."""
    floor = float(grid.beats_per_bar) if settings.cut_on == "downbeats" else 1.0
    if grid.beat_period.size:
        period = float(np.median(grid.beat_period))
        if period > 0:
            floor = max(floor, settings.min_shot / period)
    return max(BUILD_TO * settings.intense_beats, floor)


def hero_seconds(grid: MusicGrid, settings: PlanSettings, period: float,
                 end_beats: float | None = None) -> float:
    """Length of the hero shot held on a payoff: a bar, or :data:`HERO_TIMES` x the pace the build
    ends on (``end_beats``, default the fastest a build may end on) if that is longer, at least 1.5 s,
    at most two bars (more where the build ends on whole bars) and within the shortest and
    longest shot."""
    bar = grid.bar_seconds
    end = _build_end(grid, settings) if end_beats is None else max(float(end_beats), _build_end(grid, settings))
    want = max(bar, HERO_TIMES * end * period, 1.5)
    # two bars at most, unless the build ends on whole bars (cuts on bar lines only)
    top = max(2.0 * bar, HERO_TIMES * end * period) if end >= grid.beats_per_bar else 2.0 * bar
    return float(np.clip(min(want, top), settings.min_shot, settings.max_shot))


def _build_part(x: np.ndarray) -> np.ndarray:
    """(n,) int: the part of a build each place ``x`` in [0, 1) lies in -- 0 the held first half,
    1 the third quarter (the acceleration), 2 the last quarter (see :func:`build_ramp`)."""
    return np.digitize(np.asarray(x, dtype=np.float64), [0.5, 0.75])


def build_ramp(x: np.ndarray, start: float, end: float) -> np.ndarray:
    """The build's pace at ``x`` in [0, 1) of the build: held at ``start`` over the first half,
    accelerating geometrically over the third quarter, at ``end`` over the last."""
    y = np.clip((np.asarray(x, dtype=np.float64) - 0.5) / 0.25, 0.0, 1.0)
    return start * (end / start) ** y


def _builds(grid: MusicGrid, settings: PlanSettings, frames: np.ndarray, pace: np.ndarray):
    """Every payoff's build over ``frames``: ``(payoff, mask, x, start, end, p0)`` -- the frames
    in the build, their place in it [0, 1), the ramp's start and end pace (beats) and the plain
    pace over the build's first half."""
    if not settings.climax_build:
        return
    floor = _build_end(grid, settings)
    for p in grid.payoffs:
        if p.frame - p.build_start < 2:
            continue
        x = (frames - p.build_start) / float(p.frame - p.build_start)
        m = (x >= 0) & (x < 1)
        if not np.any(m):
            continue
        first = m & (x < 0.5)
        p0 = float(np.exp(np.mean(np.log(pace[first if np.any(first) else m]))))
        end = max(p0 / BUILD_RATIO, floor)
        yield p, m, x[m], max(p0, BUILD_RATIO * end), end, p0


def build_pace(grid: MusicGrid, settings: PlanSettings, frames: np.ndarray,
               pace: np.ndarray) -> tuple[np.ndarray, dict]:
    """The pace (beats) over each payoff's build, and the pace each build ends on (by the
    payoff's frame): the cut rate over a build's last quarter is :data:`BUILD_RATIO` times that
    over its first half (:func:`build_ramp`).

    The ramp starts from the song's own pace over the build's first half and ends
    :data:`BUILD_RATIO` times faster, but never faster than :func:`_build_end`; where that floor
    leaves too little room, the start is held slower than the pace so the acceleration still
    reads. A build never cuts slower than the
    pace already does (a crescendo keeps its own rise), except for that held start; its third
    quarter goes :data:`BUILD_MID_OWN` of the way back to the song's own pace (a build over a
    break does not cut its quietest bars faster than the loud ones around it); weaker payoffs
    blend the ramp with the plain pace by their strength.
    """
    out, ends = pace.copy(), {}
    floor = _build_end(grid, settings)
    for p, m, x, start, end, p0 in _builds(grid, settings, frames, pace):
        ramp = np.maximum(build_ramp(x, start, end) * build_swing(x, pace[m]), floor)
        own = ramp if start > p0 * (1 + 1e-9) else np.minimum(pace[m], ramp)
        mid = _build_part(x) == 1
        song = np.clip(pace[m], end, start)
        own = np.where(mid, own ** (1.0 - BUILD_MID_OWN) * song ** BUILD_MID_OWN, own)
        out[m] = pace[m] ** (1.0 - p.strength) * own ** p.strength
        ends[p.frame] = end
    return out, ends


def build_swing(x: np.ndarray, pace: np.ndarray) -> np.ndarray:
    """How the song's own pace moves around its mean inside each part of a build (the held first
    half, the third quarter, the last quarter; see :func:`build_ramp`):
    ``(pace / geometric mean of the pace over the part) ** BUILD_SWING``.

    The ramp sets each part's pace; this multiplier keeps the louder bars of a part faster than
    its quieter ones (a build over a texture that comes and goes still breathes with it), while
    each part keeps its mean, so the acceleration from part to part is still the ramp's."""
    x = np.asarray(x, dtype=np.float64)
    pace = np.asarray(pace, dtype=np.float64)
    out = np.ones(x.size)
    part = _build_part(x)
    for k in range(3):
        m = part == k
        if np.count_nonzero(m) >= 2:
            lp = np.log(np.maximum(pace[m], 1e-9))
            out[m] = np.exp(BUILD_SWING * (lp - lp.mean()))
    return out


def in_build(grid: MusicGrid, frames: np.ndarray) -> np.ndarray:
    """(n,) bool: the frame lies in a payoff's build."""
    m = np.zeros(frames.size, dtype=bool)
    for p in grid.payoffs:
        m |= (frames >= p.build_start) & (frames < p.frame)
    return m


def section_factor(grid: MusicGrid, analysis: Analysis, settings: PlanSettings,
                   frames: np.ndarray) -> np.ndarray:
    """The climax section (the one the climax frame falls in) runs at 0.8 of the pace, outros
    at 1.3; sections by their start frames (:meth:`MusicGrid.section_index`)."""
    frames = np.asarray(frames, dtype=np.int64)
    out = np.ones(frames.size)
    if not analysis.sections:
        return out
    idx = grid.section_index(frames)
    ci = grid.climax_section()
    if settings.climax_build and ci is not None:
        out[idx == ci] *= 0.8
    for i, sec in enumerate(analysis.sections):
        if sec.kind == "outro":
            out[idx == i] *= 1.3
    return out


def ahead_in_builds(grid: MusicGrid, settings: PlanSettings, frames: np.ndarray,
                    sec: np.ndarray) -> np.ndarray:
    """Lengths (s) of shots starting inside a build, looking ahead: a shot starting at
    ``frames[j]`` lasts until the pace's cut count from there reaches one (``sec`` read as a
    step function over ``frames``, its rate ``1 / sec``), never longer than ``sec[j]``.

    The pace at a shot's start alone lets a shot that starts where a build begins to accelerate
    run on at the held pace across the whole acceleration (the build's last bars then hold one
    long shot instead of speeding up); looking ahead, it ends where the faster pace says. A shot
    whose count does not reach one before the payoff keeps ``sec[j]``."""
    out = np.asarray(sec, dtype=np.float64).copy()
    if not settings.climax_build or frames.size < 2:
        return out
    fps = float(grid.fps)
    f = np.asarray(frames, dtype=np.float64)
    dt = np.diff(f)
    cum = np.concatenate([[0.0], np.cumsum(dt / np.maximum(out[:-1] * fps, 1e-9))])
    for p in grid.payoffs:
        js = np.flatnonzero((frames >= p.build_start) & (frames < p.frame))
        end = int(np.searchsorted(frames, p.frame, side="left"))
        for j in js:
            k = int(np.searchsorted(cum, cum[j] + 1.0, side="left"))   # first candidate past one cut
            if k > end or k >= f.size:
                continue
            # inside the step from k - 1 to k: the rest of the count at that step's rate
            rest = cum[j] + 1.0 - cum[k - 1]
            got = (f[k - 1] + rest * out[k - 1] * fps - f[j]) / fps
            out[j] = min(out[j], got)
    return out


def target_lengths(grid: MusicGrid, analysis: Analysis, settings: PlanSettings,
                   frames: np.ndarray, *, shape: bool = True, hero: bool = True,
                   ahead: bool = True) -> np.ndarray:
    """Ideal length in frames of a shot starting at each of ``frames``.

    ``energy pace (beats) x phrase shape ** pattern depth x section factor``, replaced by the
    build's pace over every payoff's build, times the local beat period; a hero shot
    (:func:`hero_seconds`) on every payoff; bent toward ``max_shot`` above half of it
    (:func:`soft_ceiling`) and clamped to ``[min_shot, max_shot]``. ``shape=False`` leaves out
    the phrase patterns, ``hero=False`` the hero shots (the plain pace, e.g. for the cut rate),
    ``ahead=False`` the look-ahead inside builds (:func:`ahead_in_builds`; the pace at each frame itself).
    """
    fps = float(grid.fps)
    frames = np.asarray(frames, dtype=np.int64)
    t = frames / fps
    beats = energy_pace(grid, settings, t)
    if shape:
        depth = pattern_depth(beats / float(max(grid.beats_per_bar, 1)))
        beats = np.where(in_build(grid, frames), beats,
                         beats * phrase_shape(grid, analysis, settings, frames) ** depth)
    beats, ends = build_pace(grid, settings, frames, beats)
    beats = beats * section_factor(grid, analysis, settings, frames)
    if grid.beat_frames.size >= 2:
        bt = grid.beat_frames / fps
        period = np.interp(t, bt, grid.beat_period)
    else:
        period = np.full(t.shape, 0.5)
    sec = beats * period
    if ahead:
        sec = ahead_in_builds(grid, settings, frames, sec)
    if settings.climax_build and hero:
        pay = {p.frame for p in grid.payoffs}
        for j, f in enumerate(frames):
            if int(f) in pay:
                sec[j] = max(sec[j], hero_seconds(grid, settings, float(period[j]), ends.get(int(f))))
    sec = np.clip(soft_ceiling(sec, settings.max_shot), settings.min_shot, settings.max_shot)
    return np.maximum(sec * fps, 1.0)


def soft_ceiling(sec: np.ndarray, top: float) -> np.ndarray:
    """Lengths (s) above ``SOFT_FROM x top`` approach ``top`` smoothly instead of all stopping at
    it, so the held shots of a calm phrase still differ from each other."""
    sec = np.asarray(sec, dtype=np.float64)
    knee = SOFT_FROM * float(top)
    room = float(top) - knee
    if room <= 0:
        return np.minimum(sec, top)
    over = np.maximum(sec - knee, 0.0)
    return np.where(sec > knee, knee + room * (1.0 - np.exp(-over / room)), sec)


def cut_rate(grid: MusicGrid, analysis: Analysis, settings: PlanSettings,
             frames: np.ndarray, fixed_prev: np.ndarray | None = None) -> np.ndarray:
    """Cuts per frame the pace asks for from each of ``frames`` to the next: the inverse of the
    plain pace (:func:`target_lengths` without phrase patterns, which only move cuts around
    inside a phrase, and without hero shots), and one cut over the whole of every locked shot
    (``fixed_prev``, see :class:`~musync.planner.candidates.Candidates`: a lock has no candidate
    inside it, so it must not count as cuts the pace is missing).

    A hero shot does not lower the count: the window it opens still asks for the cuts of its
    pace, so the rate controller puts the ones the held shot leaves out right after it (the
    payoff opens with a hold, then a burst) instead of leaving the song's loudest bars with the
    fewest cuts."""
    frames = np.asarray(frames, dtype=np.int64)
    rate = 1.0 / target_lengths(grid, analysis, settings, frames, shape=False, hero=False, ahead=False)
    if fixed_prev is not None:
        for j in np.flatnonzero(np.asarray(fixed_prev) >= 0):
            i = int(fixed_prev[j])
            rate[i] = 1.0 / max(int(frames[j] - frames[i]), 1)
    return rate
