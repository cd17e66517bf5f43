"""Stage 0 of the planner: the song as an editor hears it, in plan frames.

Public:

- :class:`Phrase`, :class:`Payoff`, :class:`MusicGrid` -- the musical context every later stage
  reads: beats with their accent weight, bars, phrases, the energy relative to the song's own
  range, and the payoffs (the climax and every big rise of energy) with their build-ups.
- :func:`music_grid` -- an :class:`~musync.types.Analysis` in, a :class:`MusicGrid` out.
- :func:`find_phrases` -- bars grouped into phrases (4 bars, a leftover bar or two joining the
  last phrase; a new phrase wherever the energy jumps inside a section).
- :func:`relative_loudness` -- the loudness in the song's own range (what the pace follows).
- :func:`beat_accents` -- the musical weight of a cut on every beat.
- :func:`find_payoffs` -- the climax and the big rises of energy, each with its build.
- :func:`beat_position` -- frames as positions on a beat grid (lengths in beats).
- :func:`beat_in_bar` -- each beat's place in its bar.

All frames are integers at the plan rate (:mod:`musync.timebase`); all weights are plain floats.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from ..timebase import to_frame, to_frames
from ..types import Analysis

__all__ = ["Phrase", "Payoff", "MusicGrid", "music_grid", "find_phrases", "beat_accents",
           "find_payoffs", "energy_at", "beat_position", "beat_in_bar", "relative_loudness", "PHRASE_BARS",
           "LOUD_BARS", "LOUD_SPAN"]

#: Bars per phrase (the common phrase length of popular music).
PHRASE_BARS = 4
#: Bars the loudness is averaged over before the pace follows it.
LOUD_BARS = 2.0
#: The smallest loudness range (dB) that counts as the full range from quiet to loud.
LOUD_SPAN = 6.0
#: An energy jump (on the song's 0-1 energy scale) over one bar that opens a phrase or marks a
#: rise worth a build and a payoff.
RISE = 0.2
#: A rise whose build would end this much quieter (energy, 0-1) over its second half than over
#: its first is a return after a break, and gets no build (:func:`find_payoffs`).
BREAK_DIP = 0.1


@dataclass(frozen=True)
class Phrase:
    """A phrase: record frames ``[start, end)``, ``bars`` bars long, inside section ``section``.

    ``index`` counts the phrases of its section from 0; ``period_start`` is True for a phrase
    that opens an 8-bar period (every other phrase of a section, and every section start).
    """

    start: int
    end: int
    bars: int
    section: int
    index: int
    period_start: bool


@dataclass(frozen=True)
class Payoff:
    """A moment the song pays off: the climax, or a big rise of energy.

    ``frame`` is the payoff's downbeat; the build runs over ``[build_start, frame)``;
    ``strength`` in (0, 1] (1 for the climax) scales how hard the build accelerates.
    """

    frame: int
    build_start: int
    strength: float
    kind: str   # "climax" or "rise"


@dataclass(frozen=True, eq=False)
class MusicGrid:
    """The musical context of a plan, in integer frames at ``fps``.

    Attributes
    ----------
    fps : Fraction
    duration_frames : int
    beat_frames : (n,) int64          every beat, in frames
    beat_period : (n,) float64        seconds from this beat to the next (the last repeats)
    is_down : (n,) bool               the beat is a downbeat (a bar line)
    onset_rank : (n,) float64         the beat's onset strength ranked within the song, [0, 1]
    accent : (n,) float64             the musical weight of a cut on the beat (see
                                      :func:`beat_accents`): downbeat > beat, plus onset strength,
                                      plus drops and entries, plus phrase starts
    strong : (n,) bool                a downbeat, an onset in the song's top half, or a drop
    offbeat_frames : (m,) int64       half-beats strong enough to cut on (empty unless the
                                      analysis measured off-beat onsets)
    offbeat_accent : (m,) float64
    downbeat_frames : (d,) int64
    bar_seconds : float               median bar length
    phrases : tuple of Phrase         tiling ``[0, duration_frames)``
    section_frames : (s,) int64       section start frames
    energy_times, energy_rel : (k,)   the energy curve mapped into the song's own range, [0, 1]
    loud_rel : (k,)                   the loudness (RMS level) in the song's own range, [0, 1],
                                      at ``energy_times`` (see :func:`relative_loudness`)
    payoffs : tuple of Payoff
    climax_frame : int or None
    beats_per_bar : int
    """

    fps: Fraction
    duration_frames: int
    beat_frames: np.ndarray
    beat_period: np.ndarray
    is_down: np.ndarray
    onset_rank: np.ndarray
    accent: np.ndarray
    strong: np.ndarray
    offbeat_frames: np.ndarray
    offbeat_accent: np.ndarray
    downbeat_frames: np.ndarray
    bar_seconds: float
    phrases: tuple
    section_frames: np.ndarray
    energy_times: np.ndarray
    energy_rel: np.ndarray
    payoffs: tuple
    climax_frame: int | None
    beats_per_bar: int = 4
    loud_rel: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def beat_position(self, frames) -> np.ndarray:
        """Position of ``frames`` on the beat grid, in beats (see :func:`beat_position`)."""
        return beat_position(frames, self.beat_frames, self.fps)

    def rel_energy_at(self, times) -> np.ndarray:
        """The song-relative energy at ``times`` (seconds)."""
        if self.energy_rel.size == 0:
            return np.full(np.shape(times), 0.5)
        return np.interp(times, self.energy_times, self.energy_rel)

    def rel_loudness_at(self, times) -> np.ndarray:
        """The song-relative loudness at ``times`` (seconds); the relative energy where the
        analysis has no loudness curve."""
        if self.loud_rel.size == 0 or self.loud_rel.size != self.energy_times.size:
            return self.rel_energy_at(times)
        return np.interp(times, self.energy_times, self.loud_rel)

    def section_index(self, frames) -> np.ndarray:
        """Index (into the analysis' sections) of the section holding each of ``frames``, read
        from :attr:`section_frames` (the section starts rounded to frames, as every other frame
        here: a frame at a section's start frame is in that section, even where the start in
        seconds lies a fraction of a frame after it)."""
        return np.maximum(0, np.searchsorted(self.section_frames, np.asarray(frames), side="right") - 1)

    def climax_section(self) -> int | None:
        """Index of the section the climax frame falls in (see :meth:`section_index`), or None."""
        if self.climax_frame is None:
            return None
        return int(self.section_index(self.climax_frame))

    def phrase_at(self, frames) -> np.ndarray:
        """Index of the phrase holding each of ``frames``."""
        starts = np.array([p.start for p in self.phrases], dtype=np.int64)
        return np.maximum(0, np.searchsorted(starts, np.asarray(frames), side="right") - 1)


def beat_position(frames, beat_frames, fps=30) -> np.ndarray:
    """Position of ``frames`` on a beat grid, in beats: beat k at k, half-way at k + 0.5; outside
    the grid the first and last beat periods extend it (no grid at all: 120 BPM at ``fps``)."""
    f = np.asarray(frames, dtype=np.float64)
    b = np.asarray(beat_frames, dtype=np.float64)
    if b.size < 2:
        return (f - (b[0] if b.size else 0.0)) / (float(fps) * 0.5)
    k = np.arange(b.size, dtype=np.float64)
    out = np.interp(f, b, k)
    lo, hi = f < b[0], f > b[-1]
    out[lo] = (f[lo] - b[0]) / max(b[1] - b[0], 1.0)
    out[hi] = k[-1] + (f[hi] - b[-1]) / max(b[-1] - b[-2], 1.0)
    return out


def energy_at(analysis: Analysis, times) -> np.ndarray:
    """The analysis' energy curve (0-1) interpolated at ``times`` (seconds)."""
    if analysis.energy.size == 0:
        return np.zeros(np.shape(times))
    return np.interp(times, analysis.energy_times, analysis.energy)


def _ranks(v: np.ndarray) -> np.ndarray:
    """Ranks of ``v`` in [0, 1], ties sharing their mean rank."""
    v = np.asarray(v, dtype=np.float64)
    if v.size <= 1:
        return np.full(v.size, 0.5)
    order = np.argsort(v, kind="mergesort")
    r = np.empty(v.size)
    r[order] = np.arange(v.size, dtype=np.float64)
    _, inv, counts = np.unique(v, return_inverse=True, return_counts=True)
    if counts.max() > 1:
        sums = np.bincount(inv, weights=r)
        r = sums[inv] / counts[inv]
    return r / (v.size - 1)


def relative_energy(analysis: Analysis) -> np.ndarray:
    """The energy curve in the song's own range: half its rank within the song (so a song that
    is loud throughout still spans calm to intense), half its value (so a quiet song does not
    pretend to be intense)."""
    e = np.asarray(analysis.energy, dtype=np.float64)
    if e.size == 0:
        return e
    return 0.5 * _ranks(e) + 0.5 * np.clip(e, 0.0, 1.0)


def relative_loudness(analysis: Analysis, bar: float) -> np.ndarray:
    """The loudness in the song's own range, [0, 1], at ``analysis.energy_times``.

    The RMS level (dB, silence floored at -60 dBFS) is averaged over :data:`LOUD_BARS` bars
    around each moment, then mapped half by its rank within the song (so a song that is loud
    throughout still spans quiet to loud) and half by its place between the song's 5th and 95th
    percentile, at least :data:`LOUD_SPAN` dB apart (so 1 dB of difference does not pretend to be
    a contrast). Empty when the analysis has no loudness curve.
    """
    db = np.asarray(analysis.loudness, dtype=np.float64)
    t = np.asarray(analysis.energy_times, dtype=np.float64)
    if db.size == 0 or db.size != t.size:
        return np.zeros(0)
    db = np.maximum(db, -60.0)
    step = float(t[1] - t[0]) if t.size >= 2 else 0.1
    w = max(1, int(round(LOUD_BARS * bar / step)))
    if w > 1 and db.size > 1:
        # a centred running mean, the ends averaging what they have
        c = np.concatenate([[0.0], np.cumsum(db)])
        i = np.arange(db.size)
        lo = np.clip(i - w // 2, 0, db.size)
        hi = np.clip(i - w // 2 + w, 0, db.size)
        db = (c[hi] - c[lo]) / np.maximum(hi - lo, 1)
    lo, hi = np.percentile(db, [5, 95])
    span = max(hi - lo, LOUD_SPAN)
    mid = 0.5 * (lo + hi)
    value = np.clip((db - (mid - 0.5 * span)) / span, 0.0, 1.0)
    return 0.5 * _ranks(db) + 0.5 * value


def beat_accents(analysis: Analysis, beat_frames: np.ndarray, is_down: np.ndarray,
                 energy_rise: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The musical weight of a cut on every beat.

    ``accent = position + 0.8 * onset rank + 1.2 * rise``: position 1.0 on a downbeat, 0.4 on the
    middle beat of a 4/4 or 6/8 bar (the backbeat), 0.15 elsewhere; the onset rank is the beat's onset
    strength ranked within the song (kick, snare and crash hits rank high); ``energy_rise`` in
    [0, 1] marks drops and entries. A beat is *strong* when it is a downbeat, its onset is in the
    song's top half, or the energy jumps there.

    Returns ``(accent, strong, onset_rank)``, each of shape ``(n,)``.
    """
    n = beat_frames.size
    strength = np.asarray(analysis.beat_strength, dtype=np.float64)
    if strength.size != n or analysis.fallback:
        strength = np.zeros(n)
    rank = _ranks(strength) if np.ptp(strength) > 0 else np.zeros(n)
    bpb = int(analysis.beats_per_bar)
    pos_in_bar = beat_in_bar(is_down)
    pos = np.where(is_down, 1.0, np.where((bpb % 2 == 0) & (pos_in_bar == bpb // 2), 0.4, 0.15))
    accent = pos + 0.8 * rank + 1.2 * energy_rise
    strong = is_down | (rank >= 0.5) | (energy_rise >= 0.5)
    return accent, strong, rank


def beat_in_bar(is_down: np.ndarray) -> np.ndarray:
    """(n,) int64: each beat's place in its bar (0 on a downbeat, 1 on the next beat, ...), -1
    before the first downbeat."""
    is_down = np.asarray(is_down, dtype=bool)
    idx = np.arange(is_down.size)
    last = np.maximum.accumulate(np.where(is_down, idx, -1)) if is_down.size else idx
    return np.where(last >= 0, idx - last, -1).astype(np.int64)


def find_phrases(analysis: Analysis, fps: Fraction, duration_frames: int) -> tuple[Phrase, ...]:
    """Group bars into phrases.

    Each section's bars are counted from its first downbeat in groups of :data:`PHRASE_BARS`;
    a leftover of one or two bars joins the section's last phrase, three make a phrase of their
    own; a downbeat where the energy jumps by :data:`RISE` or more within one bar starts a new
    phrase (a drop the section boundaries missed). Beats before a section's first downbeat (a
    pickup) belong to its first phrase. Phrases tile ``[0, duration_frames)``.
    """
    downs = np.asarray(analysis.downbeats, dtype=np.float64)
    secs = list(analysis.sections) or []
    if not secs:
        from ..types import Section

        secs = [Section(0.0, analysis.duration, "A")]
    bar = float(np.median(np.diff(downs))) if downs.size >= 2 else 2.0
    out: list[Phrase] = []
    for si, sec in enumerate(secs):
        s0 = 0 if si == 0 else to_frame(sec.start, fps)
        s1 = duration_frames if si == len(secs) - 1 else to_frame(secs[si + 1].start, fps)
        if s1 <= s0:
            continue
        d = downs[(downs >= sec.start - 1e-6) & (downs < sec.end - 1e-6)]
        # phrase starts: every PHRASE_BARS bars from the first downbeat, re-anchored at jumps
        rise = energy_at(analysis, d + 0.5 * bar) - energy_at(analysis, d - 0.5 * bar) if d.size else d
        starts: list[int] = []      # indices into d
        k = 0
        while k < d.size:
            starts.append(k)
            nxt = k + PHRASE_BARS
            for j in range(k + 2, min(nxt, d.size)):
                if rise[j] >= RISE and j - k >= 2:
                    nxt = j
                    break
            k = nxt
        # a leftover of one or two bars joins the phrase before it
        if len(starts) >= 2 and d.size - starts[-1] <= 2 and starts[-1] - starts[-2] >= PHRASE_BARS:
            starts.pop()
        bounds = [s0] + [to_frame(d[i], fps) for i in starts[1:]] + [s1]
        bars = [(starts[i + 1] if i + 1 < len(starts) else d.size) - starts[i]
                for i in range(len(starts))] or [max(1, int(round((sec.end - sec.start) / bar)))]
        for pi, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):
            if b <= a:
                continue
            out.append(Phrase(int(a), int(b), int(bars[min(pi, len(bars) - 1)]), si, pi, pi % 2 == 0))
    if not out:
        out = [Phrase(0, duration_frames, 1, 0, 0, True)]
    return tuple(out)


def find_payoffs(analysis: Analysis, fps: Fraction, bar: float) -> tuple[Payoff, ...]:
    """The climax and every big rise of energy, each with the stretch its build runs over.

    A rise is a downbeat where the mean energy of the next two bars exceeds that of the two bars
    before by :data:`RISE` or more, at least eight bars into the song and eight bars from any
    other payoff; its strength grows with the jump. The climax's build spans the eight bars
    before it, a rise's the four bars before it, never reaching back past the previous payoff;
    a rise out of a break (its build's second half quieter than its first by
    :data:`BREAK_DIP`) has none.
    """
    out: list[tuple[float, float, str]] = []   # (time, strength, kind)
    if analysis.climax > 0:
        out.append((float(analysis.climax), 1.0, "climax"))
    downs = np.asarray(analysis.downbeats, dtype=np.float64)
    if downs.size >= 6:
        steps = np.linspace(0.0, 2 * bar, 9)
        after = energy_at(analysis, downs[:, None] + steps[None, :]).mean(axis=1)
        before = energy_at(analysis, downs[:, None] - steps[None, :]).mean(axis=1)
        rise = after - before
        order = np.argsort(-rise, kind="mergesort")
        for k in order:
            if rise[k] < RISE:
                break
            t = float(downs[k])
            if t < 8 * bar - 1e-6 or any(abs(t - p) < 8 * bar - 1e-6 for p, _, _ in out):
                continue
            out.append((t, float(np.clip(rise[k] / (2 * RISE), 0.5, 0.9)), "rise"))
    out.sort()
    payoffs = []
    prev = 0.0
    for t, s, kind in out:
        start = max(prev, t - (8 if kind == "climax" else 4) * bar)
        if kind == "rise" and t - start > bar:
            # a rise out of a break (the build's second half quieter than its first: the drums
            # drop out before the return) has no build: the quiet bars are the breath
            mid = 0.5 * (start + t)
            first = energy_at(analysis, np.linspace(start, mid, 9)).mean()
            second = energy_at(analysis, np.linspace(mid, t, 9)).mean()
            if second < first - BREAK_DIP:
                start = t
        payoffs.append(Payoff(to_frame(t, fps), to_frame(start, fps), s, kind))
        prev = t
    return tuple(payoffs)


def music_grid(analysis: Analysis, fps, duration_frames: int, *, half_beats: bool = False) -> MusicGrid:
    """The :class:`MusicGrid` of ``analysis`` at ``fps``.

    ``half_beats`` lists the strong off-beats (when the analysis measured off-beat onsets:
    ``analysis.offbeat_strength``); only those in the top tenth of all the song's onsets, and
    only where the off-beat is stronger than both beats around it, become cut points.
    """
    fps = Fraction(fps)
    beats = np.asarray(analysis.beats, dtype=np.float64)
    beat_frames = to_frames(beats, fps)
    keep = (beat_frames >= 0) & (beat_frames <= duration_frames)
    beats, beat_frames = beats[keep], beat_frames[keep]
    n = beats.size
    if n >= 2:
        period = np.append(np.diff(beats), beats[-1] - beats[-2])
    else:
        period = np.full(n, 60.0 / max(analysis.tempo, 1.0))
    down_frames = to_frames(np.asarray(analysis.downbeats, dtype=np.float64), fps)
    is_down = np.isin(beat_frames, down_frames)
    bar = float(np.median(np.diff(analysis.downbeats))) if analysis.downbeats.size >= 2 else \
        float(analysis.beats_per_bar * (np.median(period) if n else 0.5))
    rise = np.clip((energy_at(analysis, beats + 0.3) - energy_at(analysis, beats - 0.5)) / RISE, 0.0, 1.0) \
        if n else np.zeros(0)
    # the beat_strength array may not match once edge beats were dropped
    a_for_acc = analysis
    if analysis.beat_strength.size == analysis.beats.size and not np.all(keep):
        import dataclasses

        a_for_acc = dataclasses.replace(analysis, beats=beats, beat_strength=analysis.beat_strength[keep])
    accent, strong, rank = beat_accents(a_for_acc, beat_frames, is_down, rise)
    phrases = find_phrases(analysis, fps, duration_frames)
    p_start = np.array([p.start for p in phrases], dtype=np.int64)
    p_period = np.array([p.period_start for p in phrases], dtype=bool)
    j = np.clip(np.searchsorted(p_start, beat_frames), 0, p_start.size - 1)
    at_start = p_start[j] == beat_frames
    accent = accent + np.where(at_start, np.where(p_period[j], 1.5, 1.0), 0.0)
    strong = strong | at_start
    # strong off-beats
    off_f = np.zeros(0, dtype=np.int64)
    off_a = np.zeros(0)
    ob = np.asarray(getattr(analysis, "offbeat_strength", np.zeros(0)), dtype=np.float64)
    if half_beats and n >= 2 and ob.size == analysis.beats.size and not analysis.fallback:
        ob = ob[keep][:-1]
        bs = np.asarray(a_for_acc.beat_strength, dtype=np.float64)
        allv = np.concatenate([bs, ob])
        thr = np.percentile(allv, 90) if allv.size else 1.0
        good = (ob >= thr) & (ob > bs[:-1]) & (ob > bs[1:]) & (ob > 0)
        mids = 0.5 * (beats[:-1] + beats[1:])
        off_f = to_frames(mids[good], fps)
        off_a = 0.3 + 0.8 * np.clip(ob[good], 0.0, 1.0)
    sec_frames = np.array([0] + [to_frame(s.start, fps) for s in analysis.sections[1:]], dtype=np.int64)
    climax = to_frame(analysis.climax, fps) if analysis.climax > 0 else None
    return MusicGrid(
        fps=fps, duration_frames=int(duration_frames), beat_frames=beat_frames.astype(np.int64),
        beat_period=period, is_down=is_down, onset_rank=rank, accent=accent, strong=strong,
        offbeat_frames=off_f.astype(np.int64), offbeat_accent=off_a,
        downbeat_frames=down_frames.astype(np.int64), bar_seconds=bar if bar > 0 else 2.0,
        phrases=phrases, section_frames=sec_frames,
        energy_times=np.asarray(analysis.energy_times, dtype=np.float64),
        energy_rel=relative_energy(analysis), payoffs=find_payoffs(analysis, fps, bar if bar > 0 else 2.0),
        climax_frame=climax, beats_per_bar=int(analysis.beats_per_bar),
        loud_rel=relative_loudness(analysis, bar if bar > 0 else 2.0))
