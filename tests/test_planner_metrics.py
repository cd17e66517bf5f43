"""Plan metrics and the monotony report, recomputed independently from the shots."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from scipy.stats import rankdata

import musync
from musync.planner.diagnostics import diagnose, format_report
from musync.planner.metrics import plan_metrics
from musync.testing import synthetic_clip_infos
from musync.types import Section, Shot

from planner_util import grid_analysis

FPS = Fraction(30)


def _shots(lengths, sources=None, start=0):
    out, t = [], start
    for k, L in enumerate(lengths):
        src = sources[k] if sources else f"/c{k % 5}.mp4"
        out.append(Shot(k, src, 0, L, t, t + L))
        t += L
    return out


def _metrics(shots, beats, downs, sections=(), section_frames=(0,), climax=None, strong=None):
    secs = sections or (Section(0.0, 100.0, "A", 0.5),)
    return plan_metrics(shots, fps=FPS, duration_frames=shots[-1].record_out, beat_frames=np.asarray(beats),
                        downbeat_frames=np.asarray(downs), sections=secs, section_frames=list(section_frames),
                        brightness={}, climax_frame=climax, strong_beats=strong)


def test_adjacent_repeats_and_repeats_are_counted():
    src = ["/a", "/a", "/b", "/c", "/c", "/a"]
    m = _metrics(_shots([15] * 6, src), np.arange(0, 200, 15), np.arange(0, 200, 60))
    assert m["adjacent_repeats"] == 2 and m["repeats"] == 3 and m["clips_used"] == 3


def test_runs_of_equal_and_one_beat_lengths():
    beats = np.arange(0, 2000, 15)            # a beat every 15 frames
    L = [30, 30, 30, 30, 30, 60, 15, 15, 15, 15, 15, 15, 15, 15, 15, 45]
    m = _metrics(_shots(L), beats, beats[::4])
    assert m["equal_run_max"] == 9 and m["equal_run_at"] == 6        # nine one-beat shots
    assert m["one_beat_run_max"] == 9 and m["one_beat_run_at"] == 6
    m2 = _metrics(_shots([30, 30, 30, 60, 30, 30]), beats, beats[::4])
    assert m2["equal_run_max"] == 3 and m2["one_beat_run_max"] == 0


def test_build_and_payoff_measures():
    beats = np.arange(0, 4000, 15)
    downs = beats[::4]                          # bars of 60 frames
    c = int(downs[20])                          # the climax: bar 20 (frame 1200)
    # bars 12-15 (frames 720-960): one cut per bar; bars 18-19: one cut per beat; a 4-bar shot at the climax
    lengths = [720] + [60] * 4 + [120] + [15] * 8 + [240, 60, 60]
    shots = _shots(lengths)
    assert shots[14].record_in == c
    m = _metrics(shots, beats, downs, climax=c)
    assert m["build_cuts"] == [4, 8]            # cuts at 720, 780, 840, 900 / eight in frames 1080-1199
    assert m["build_ratio"] == pytest.approx((8 / 120) / (4 / 240))
    assert m["payoff_shot"] == 14 and m["payoff_hold"] == pytest.approx(240 / 15)


def test_a_climax_on_the_first_bar_line_opens_the_song_on_its_payoff():
    beats = np.arange(15, 4000, 15)
    downs = beats[::4]
    shots = _shots([15, 60, 60, 60, 60])
    m = _metrics(shots, beats, downs, climax=int(downs[0]))
    assert m["payoff_opens"] and m["payoff_hold"] is None and m["payoff_shot"] is None
    d = {x["check"]: x for x in diagnose(shots, m, fps=FPS, beat_frames=beats, downbeat_frames=downs,
                                         climax_frame=int(downs[0]))}
    assert d["payoff"]["ok"] and "opens on its payoff" in d["payoff"]["reason"]
    # a bar later the payoff is measured again: 60 frames against the 15 before it
    m = _metrics(shots, beats, downs, climax=int(downs[1]))
    assert not m["payoff_opens"] and m["payoff_shot"] == 1 and m["payoff_hold"] == pytest.approx(4.0)


def test_a_climax_on_the_first_beat_leaves_no_flash_at_the_start():
    # the climax on the first downbeat, 4 frames in (as a loud excerpt's analysis may put it)
    a = grid_analysis(bars=16, start=4 / 30, sections=((0, "A", "chorus", 0.9), (8, "B", "verse", 0.5)),
                      climax_bar=0)
    p = musync.plan(a, synthetic_clip_infos(12, seed=2, min_dur=6, max_dur=10), fps=FPS)
    assert p.shots[0].length >= round(p.settings.min_shot * 30)
    assert not any("shorter than the shortest shot" in w for w in p.warnings)
    assert p.metrics["payoff_opens"]


def test_cuts_on_strong_accents():
    beats = np.arange(0, 600, 15)
    m = _metrics(_shots([15, 15, 30, 45, 60]), beats, beats[::4], strong=beats[::2])
    # cuts at 15, 30, 60, 105, 165 -> strong (every other beat): 30, 60 -> 2/5 ... and 0 / 165?
    expect = np.mean([min(abs(x - beats[::2])) <= 1 for x in (15, 30, 60, 105)])
    assert m["cuts_on_strong_accent"] == pytest.approx(expect)


def _independent(p, a):
    """The metrics recomputed from the plan's shots and markers (and the analysis' strengths)."""
    cuts = np.array([s.record_in for s in p.shots[1:]])
    starts = np.array([s.record_in for s in p.shots])
    beats = np.array(p.markers["beats"])
    downs = np.array(p.markers["downbeats"])
    near = lambda x, g: np.array([np.min(np.abs(g - v)) <= 1 for v in x])  # noqa: E731
    out = {"shots": len(p.shots),
           "cuts_on_beat": round(float(near(cuts, beats).mean()), 4),
           "cuts_on_downbeat": round(float(near(cuts, downs).mean()), 4),
           "section_boundaries_cut": round(float(near(np.array([s["frame"] for s in p.markers["sections"][1:]]),
                                                      starts).mean()), 4),
           "adjacent_repeats": sum(x.source == y.source for x, y in zip(p.shots[:-1], p.shots[1:])),
           "clips_used": len({s.source for s in p.shots}),
           "repeats": len(p.shots) - len({s.source for s in p.shots})}
    r = (rankdata(a.beat_strength) - 1) / (a.beat_strength.size - 1)
    strong = np.union1d(downs, beats[r >= 0.5])
    out["cuts_on_strong_accent"] = round(float(near(cuts, strong).mean()), 4)
    # lengths in beats, by linear interpolation of the beat index
    pos = lambda f: np.interp(f, beats, np.arange(beats.size))  # noqa: E731
    L = [pos(s.record_out) - pos(s.record_in) for s in p.shots[1:-1]]
    run = best = 1
    for x, y in zip(L[:-1], L[1:]):
        run = run + 1 if abs(x - y) < 0.25 else 1
        best = max(best, run)
    out["equal_run_inner"] = best
    out["mean_shot"] = round(float(np.mean([s.length for s in p.shots])) / 30, 4)
    return out


def test_plan_metrics_match_an_independent_count():
    secs = ((0, "A", "intro", 0.2), (4, "B", "verse", 0.5), (12, "C", "chorus", 0.9), (20, "D", "verse", 0.5),
            (28, "E", "chorus", 1.0), (36, "F", "outro", 0.2))
    rng = np.random.default_rng(1)
    a = grid_analysis(bars=40, sections=secs, climax_bar=28, strength=rng.uniform(0, 1, 160))
    p = musync.plan(a, synthetic_clip_infos(12, seed=1, min_dur=6, max_dur=10), fps=FPS)
    want = _independent(p, a)
    m = p.metrics
    for k, v in want.items():
        if k == "equal_run_inner":
            assert m["equal_run_max"] >= v
        else:
            assert m[k] == v, k
    # the monotony report is stored and points at real shots
    d = m["diagnostics"]
    assert {x["check"] for x in d} >= {"equal-length run", "variation per section", "build into the climax",
                                       "payoff", "cuts on strong accents", "one-beat run"}
    for x in d:
        assert all(0 <= k < len(p.shots) for k in x["shots"]) and x["reason"]


def test_the_report_points_at_a_metronome():
    beats = np.arange(0, 3000, 15)
    downs = beats[::4]
    shots = _shots([60, 30] + [15] * 12 + [60, 30, 45])
    secs = (Section(0.0, 100.0, "A", 0.5, "verse"),)
    m = plan_metrics(shots, fps=FPS, duration_frames=shots[-1].record_out, beat_frames=beats,
                     downbeat_frames=downs, sections=secs, section_frames=[0], brightness={},
                     climax_frame=None, strong_beats=downs)
    d = {x["check"]: x for x in diagnose(shots, m, fps=FPS, beat_frames=beats, downbeat_frames=downs,
                                         strong_beats=downs)}
    eq = d["equal-length run"]
    assert not eq["ok"] and eq["shots"] == list(range(2, 14)) and "12 shots in a row of 1 beat" in eq["reason"]
    one = d["one-beat run"]
    assert not one["ok"] and one["value"] == 12 and "strobe" in one["reason"]
    weak = d["cuts on strong accents"]
    assert not weak["ok"] and 2 in weak["shots"] and 3 in weak["shots"] and 4 not in weak["shots"]
    lines = format_report(list(d.values()))
    assert any(line.startswith("!!  equal-length run: shots 2-13 (0:03.0-0:09.0)") for line in lines)
