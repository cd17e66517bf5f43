"""Whole plans on hand-built songs: frame-exact cuts, anticipation, in-points, the pace of each
style, the arc. Oracles are computed here (exact fractions, the song's own grid)."""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction

import numpy as np
import pytest

import musync
from musync.errors import PlanError
from musync.planfile import validate_plan
from musync.testing import synthetic_clip_infos

from planner_util import grid_analysis

NTSC = Fraction(24000, 1001)


def exact_frame(t: float, fps: Fraction) -> int:
    return math.floor(Fraction(t) * fps + Fraction(1, 2))


SECS = ((0, "A", "intro", 0.15), (4, "B", "verse", 0.45), (12, "C", "chorus", 0.9), (20, "B", "verse", 0.5),
        (28, "C", "chorus", 1.0), (36, "D", "outro", 0.2))


@pytest.fixture(scope="module")
def song():
    rng = np.random.default_rng(7)
    return grid_analysis(bpm=123.0, bars=40, start=0.517, sections=SECS, climax_bar=28,
                         strength=rng.uniform(0.1, 1.0, 160))


@pytest.fixture(scope="module")
def clips():
    return synthetic_clip_infos(14, seed=4, min_dur=6.0, max_dur=12.0)


def test_cuts_land_exactly_on_beat_frames(song, clips):
    p = musync.plan(song, clips, fps=NTSC)
    beats = {exact_frame(t, NTSC) for t in song.beats}
    cuts = [s.record_in for s in p.shots[1:]]
    assert set(cuts) <= beats
    # every section start and the climax are cut, to the frame
    starts = {s.record_in for s in p.shots}
    for sec in song.sections[1:]:
        assert exact_frame(sec.start, NTSC) in starts
    assert exact_frame(song.climax, NTSC) in starts
    assert p.duration_frames == exact_frame(song.duration, NTSC)


@pytest.mark.parametrize("n", [1, 3])
def test_anticipation_is_exactly_n_frames(song, clips, n):
    p0 = musync.plan(song, clips, fps=NTSC)
    pn = musync.plan(song, clips, fps=NTSC, anticipation=n)
    c0 = [s.record_in for s in p0.shots[1:]]
    cn = [s.record_in for s in pn.shots[1:]]
    assert cn == [c - n for c in c0]
    assert pn.shots[-1].record_out == p0.shots[-1].record_out
    assert pn.metrics["cuts_on_beat"] == 1.0


def test_motion_peaks_land_on_beats(song, clips):
    p = musync.plan(song, clips, fps=NTSC)
    peaks = {c.path: [exact_frame(t, NTSC) for t in c.peak_times] for c in clips}
    beats = {exact_frame(t, NTSC) for t in song.beats}
    hits = [s for s in p.shots if s.scores.get("peak_on_accent") == 1.0]
    assert len(hits) >= 5
    for s in hits:
        landed = [s.record_in + (pk - s.source_in) for pk in peaks[s.source] if s.source_in <= pk < s.source_out]
        assert any(x in beats for x in landed), s


def _mean_beats(p, a, lo_bar, hi_bar):
    """Mean shot length (in beats) of the shots starting in bars [lo_bar, hi_bar)."""
    fps = float(p.fps)
    period = 60.0 / a.tempo
    d = a.downbeats
    sel = [s for s in p.shots if d[lo_bar] - 1e-6 <= s.record_in / fps < (d[hi_bar] if hi_bar < d.size else 1e9)]
    return float(np.mean([s.length / fps / period for s in sel])), sel


@pytest.mark.parametrize("style", ["energy", "downbeats", "phrase"])
def test_mean_shot_per_section_follows_the_style(style):
    # calm and intense halves, no climax: the pace is the style's intent alone
    secs = ((0, "A", "verse", 0.05), (16, "B", "chorus", 1.0), (32, "A", "verse", 0.05), (48, "B", "chorus", 1.0))
    a = grid_analysis(bpm=120.0, bars=64, sections=secs)
    p = musync.plan(a, synthetic_clip_infos(20, seed=2, min_dur=14, max_dur=16), style=style, fps=30,
                    climax_build=False, max_shot=12.0)
    # the style's intent: about calm_beats in the calm sections, intense_beats in the loud ones
    calm = (0.6 * p.settings.calm_beats, 1.15 * p.settings.calm_beats)
    intense = (0.75 * p.settings.intense_beats, 1.6 * p.settings.intense_beats)
    for lo in (0, 32):
        m, _ = _mean_beats(p, a, lo, lo + 16)
        assert calm[0] <= m <= calm[1], (style, lo, m)
    for lo in (16, 48):
        m, _ = _mean_beats(p, a, lo, lo + 16)
        assert intense[0] <= m <= intense[1], (style, lo, m)
    if style != "energy":   # bar lines only
        downs = {int(round(t * 30)) for t in a.downbeats}
        assert {s.record_in for s in p.shots[1:]} <= downs


def test_the_arc_builds_breathes_and_pays_off(song, clips):
    p = musync.plan(song, clips, fps=30)
    m = p.metrics
    assert m["build_ratio"] >= 1.5
    assert m["payoff_hold"] >= 2.0
    k = m["payoff_shot"]
    assert "hero shot" in p.shots[k].reason
    assert m["equal_run_max"] <= 4 and m["one_beat_run_max"] <= 8
    assert m["cuts_on_strong_accent"] >= 0.8
    # phrases vary the lengths inside every long section
    assert m["cv_min"] >= 0.25


def test_a_plan_whose_only_fault_is_a_gap(song, clips):
    p = musync.plan(song, clips, fps=30)
    shots = list(p.shots)
    s = shots[5]
    shots[5] = dataclasses.replace(s, record_in=s.record_in + 2, source_in=s.source_in + 2)
    with pytest.raises(PlanError, match=r"shot 5: starts at frame \d+ but the previous shot ends at \d+ \(gap\)"):
        validate_plan(dataclasses.replace(p, shots=tuple(shots)))


def test_locks_are_kept_and_never_repeated_beside(song, clips):
    p = musync.plan(song, clips, fps=30)
    shots = list(p.shots)
    for k in (6, 9, 14):
        shots[k] = dataclasses.replace(shots[k], locked=True)
    edited = dataclasses.replace(p, shots=tuple(shots))
    for seed in range(4):
        r = musync.replan(edited, song, clips, seed=seed, scope="all")
        locked = [s for s in r.shots if s.locked]
        assert [(s.source, s.record_in, s.record_out, s.source_in) for s in locked] == \
            [(shots[k].source, shots[k].record_in, shots[k].record_out, shots[k].source_in) for k in (6, 9, 14)]
        assert r.metrics["adjacent_repeats"] == 0
