"""The pace follows the loudness: oracle tests on hand-built loudness curves, and the parts
(the analysis' loudness curve, the song-relative loudness, the cut-rate controller, the build
ramp, the soft ceiling, the assignment's look-ahead)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from scipy.stats import spearmanr

import musync
from musync.analysis import analyze_signal
from musync.analysis.energy import loudness_curve
from musync.analysis.features import Features
from musync.planner._kernels import _assign_beam
from musync.planner.cuts import choose_cuts, follow_rate, window_counts
from musync.planner.music import relative_loudness
from musync.planner.pace import build_ramp, soft_ceiling
from musync.testing import synthetic_clip_infos
from musync.types import Analysis

from planner_util import grid_analysis

FPS = 30
BARS = 64


def _levels(span_db: float, seed: int = 11) -> np.ndarray:
    """A loudness per bar: 32 two-bar blocks at shuffled levels spread over ``span_db``."""
    rng = np.random.default_rng(seed)
    blocks = rng.permutation(np.linspace(-12.0 - span_db, -12.0, BARS // 2))
    return np.repeat(blocks, 2)


def _cuts_per_block(p, a) -> np.ndarray:
    downs = np.round(a.downbeats * FPS).astype(np.int64)
    edges = np.append(downs[::2], p.duration_frames)
    cuts = np.array([s.record_in for s in p.shots[1:]]) + p.settings.anticipation
    return np.array([np.sum((cuts >= e0) & (cuts < e1)) for e0, e1 in zip(edges[:-1], edges[1:])])


def _plan(levels):
    a = grid_analysis(bpm=120.0, bars=BARS, loudness=levels)
    clips = synthetic_clip_infos(24, seed=5, min_dur=8.0, max_dur=12.0)
    return a, musync.plan(a, clips, fps=FPS, seed=0)


@pytest.mark.parametrize("span,floor", [(18.0, 0.7), (1.5, 0.5)])
def test_louder_bars_get_more_cuts(span, floor):
    # one flat section, flat energy, no climax: only the loudness tells the blocks apart
    levels = _levels(span)
    a, p = _plan(levels)
    counts = _cuts_per_block(p, a)
    block_level = levels[::2]
    rho = spearmanr(counts, block_level).statistic
    assert rho >= floor, (span, rho, counts.tolist())
    # the plan's own metric says the same
    assert p.metrics["pace_loudness_2bar"] == pytest.approx(rho, abs=0.1)
    order = np.argsort(block_level)
    quiet, loud = counts[order[:8]].mean(), counts[order[-8:]].mean()
    # a song that varies by 1.5 dB still spreads its pace (the rank within the song)
    assert loud >= quiet + 1.0, (span, quiet, loud)


def test_without_loudness_the_energy_paces():
    # an analysis without a loudness curve (older files) keeps pacing by the energy curve
    secs = ((0, "A", "verse", 0.1), (16, "B", "chorus", 0.9), (32, "C", "verse", 0.1), (48, "D", "chorus", 0.9))
    a = grid_analysis(bpm=120.0, bars=BARS, sections=secs)
    assert a.loudness.size == 0
    p = musync.plan(a, synthetic_clip_infos(24, seed=5, min_dur=8.0, max_dur=12.0), fps=FPS,
                    climax_build=False)
    counts = _cuts_per_block(p, a)
    calm = np.r_[counts[0:8], counts[16:24]].mean()
    intense = np.r_[counts[8:16], counts[24:32]].mean()
    assert intense >= calm + 1.0, (calm, intense)
    assert p.metrics["pace_loudness_2bar"] is None


def test_relative_loudness_is_rank_and_level_within_the_song():
    a = grid_analysis(bpm=120.0, bars=16, loudness=np.repeat([-30.0, -20.0, -25.0, -10.0], 4))
    r = relative_loudness(a, 2.0)
    at = lambda bar: float(np.interp(a.downbeats[bar] + 4.0, a.energy_times, r))  # noqa: E731
    # mid-block values, in the order of the levels
    assert at(0) < at(8) < at(4) < at(12)
    assert 0.0 <= r.min() and r.max() <= 1.0
    # 1 dB of difference spans the ranks but not the levels (at least LOUD_SPAN dB for that)
    b = grid_analysis(bpm=120.0, bars=16, loudness=np.repeat([-20.0, -19.0, -19.5, -19.2], 4))
    rb = relative_loudness(b, 2.0)
    assert rb.max() - rb.min() >= 0.45 and rb.max() - rb.min() <= 0.75
    # no loudness curve: empty (the planner falls back to the energy)
    assert relative_loudness(grid_analysis(bars=8), 2.0).size == 0


def test_loudness_curve_is_the_mean_level_of_each_tenth():
    sr, hop = 22050, 512
    fps = sr / hop
    n = int(10 * fps)
    t = np.arange(n) / fps
    # the first half alternates -40 / -20 dB frame by frame (a mean of -30), then -10 dB
    db = np.where(t < 5.0, np.where(np.arange(n) % 2 == 0, -40.0, -20.0), -10.0)
    z = np.zeros((1, n))
    feat = Features(sr=sr, hop_fine=128, n_fft_fine=1024, oenv=np.zeros(4), oenv_low=np.zeros(4),
                    oenv_body=np.zeros(4), hop=hop, chroma=z, mfcc=z, rms_db=db, centroid=np.ones(n),
                    onset_coarse=np.zeros(n))
    times = np.arange(0.0, 10.0, 0.1)
    got = loudness_curve(feat, times)
    assert got.shape == times.shape
    assert np.allclose(got[(times > 0.1) & (times < 4.9)], -30.0, atol=2.5)
    assert np.allclose(got[times > 5.1], -10.0)
    # the mean of a stretch is the mean of its samples
    assert abs(got.mean() - db.mean()) < 0.5


def test_analysis_measures_its_loudness_and_keeps_it_in_json():
    sr = 22050
    t = np.arange(int(12 * sr)) / sr
    amp = np.where(t < 6.0, 0.05, 0.5)      # -20 dB below for the first half
    y = amp * np.sin(2 * np.pi * 220.0 * t) * (1.0 + 0.5 * (np.sin(2 * np.pi * 2.0 * t) > 0))
    a = analyze_signal(y.astype(np.float32), sr)
    assert a.loudness.size == a.energy_times.size
    first = a.loudness[(a.energy_times > 1.0) & (a.energy_times < 5.0)].mean()
    second = a.loudness[(a.energy_times > 7.0) & (a.energy_times < 11.0)].mean()
    assert abs((second - first) - 20.0) < 1.5
    b = Analysis.from_dict(json.loads(json.dumps(a.to_dict())))
    assert np.allclose(b.loudness, a.loudness, atol=0.01)
    # an older file without the key still reads, with no loudness
    d = a.to_dict()
    del d["loudness"]
    assert Analysis.from_dict(d).loudness.size == 0


def test_window_counts_integrate_the_rate():
    frames = np.array([0, 10, 20, 30, 40, 50, 60], dtype=np.int64)
    rate = np.array([0.1, 0.1, 0.1, 0.2, 0.2, 0.2, 0.2])
    wanted, made = window_counts(frames, rate, np.array([10, 30, 40]), 20.0)
    # window around 30 is [20, 40): 10 frames at 0.1, 10 at 0.2
    assert wanted[3] == pytest.approx(3.0)
    assert made[3] == 1.0            # 30 only (40 is outside)
    # at the edges the window is cut to the song
    assert wanted[0] == pytest.approx(1.0) and made[0] == 0.0


def test_follow_rate_holds_the_dp_to_the_rate():
    # every beat a candidate; strong accents only in the first half: the DP alone cuts more
    # there, the rate asks for the same everywhere
    from musync.planner.candidates import Candidates

    frames = np.arange(0, 15 * 97, 15, dtype=np.int64)
    n = frames.size
    score = np.where(np.arange(n) < n // 2, 0.8, -1.8)
    score[0] = score[-1] = 0.0
    forced = np.zeros(n, dtype=bool)
    forced[[0, -1]] = True
    c = Candidates(frames=frames, score=score, forced=forced, kind=("beat",) * n,
                   beat_pos=np.arange(n, dtype=np.float64), strong=np.ones(n, dtype=bool),
                   fixed_prev=np.full(n, -1, dtype=np.int64))
    s = musync.make_settings("energy", fps=FPS)
    target = np.full(n, 60.0)
    rate = np.full(n, 1.0 / 60.0)
    plain = choose_cuts(c, target, s)
    held = follow_rate(c, target, s, rate, 120.0, rounds=6, gain=1.0)

    def err(idx):
        w, m = window_counts(frames, rate, frames[idx[1:-1]], 120.0)
        return float(np.sum((w - m) ** 2))

    assert err(held) < 0.6 * err(plain)
    halves = lambda idx: (np.sum(idx < n // 2), np.sum(idx >= n // 2))  # noqa: E731
    a0, b0 = halves(plain)
    a1, b1 = halves(held)
    assert abs(a1 - b1) < abs(a0 - b0)
    # the planner's own setting nudges the same way, never away from the rate
    assert err(follow_rate(c, target, s, rate, 120.0)) <= err(plain)


def test_build_ramp_holds_then_accelerates():
    x = np.linspace(0.0, 0.999, 400)
    r = build_ramp(x, 5.0, 2.0)
    assert np.allclose(r[x < 0.5], 5.0) and np.allclose(r[x >= 0.75], 2.0)
    assert np.all(np.diff(r) <= 1e-12)


def test_soft_ceiling_keeps_order_below_the_top():
    sec = np.array([1.0, 3.0, 4.0, 6.0, 8.0, 12.0])
    got = soft_ceiling(sec, 6.0)
    assert np.allclose(got[:2], sec[:2])            # up to half the longest shot: unchanged
    assert np.all(np.diff(got) > 0) and got.max() < 6.0


def test_assignment_reserves_the_only_source_for_the_next_slot():
    # slot 1 only unit 0 can fill; slot 0 any unit: unit 0 must not be used for slot 0
    S, U = 3, 3
    cost = np.zeros((S, U))
    cost[0, 0] = -1.0      # the cheapest for slot 0
    ok = np.ones((S, U), dtype=np.bool_)
    ok[1, 1:] = False
    ident = np.arange(U, dtype=np.int64)
    got = _assign_beam(cost, ok, np.full(U, 0.5), np.zeros((U, 3)), np.zeros(S), ident, 1,
                       np.full(S, -1, dtype=np.int64), np.full(S, -1, dtype=np.int64), 4, 0.0, 0,
                       np.zeros(S), 0.16, 0, 1.0, np.ones(U, dtype=np.int64), 0.0)
    assert got[1] == 0 and got[0] != 0


def test_a_locked_span_asks_for_its_own_cut_only():
    """No candidate lies inside a lock, so the pace's rate at the lock's start must cover the
    whole lock as one cut: else every window over a long lock looks short of cuts and the rate
    controller crowds extra cuts beside it."""
    from musync.planner.pace import cut_rate
    from musync.planner.music import music_grid
    from musync.types import PlanSettings

    a = grid_analysis(bpm=120.0, bars=16, loudness=np.full(16, -12.0))
    settings = PlanSettings(fps=FPS)
    grid = music_grid(a, settings.fps, int(round(a.duration * FPS)))
    beats = np.round(a.beats * FPS).astype(np.int64)
    frames = np.concatenate([beats[:16], beats[32:]])      # a lock from beat 16 to beat 32
    fixed_prev = np.full(frames.size, -1, dtype=np.int64)
    fixed_prev[16] = 15
    free = cut_rate(grid, a, settings, frames)
    held = cut_rate(grid, a, settings, frames, fixed_prev)
    span = frames[16] - frames[15]
    assert free[15] * span > 3                              # 8 s of this pace: several cuts
    assert held[15] * span == pytest.approx(1.0)
    assert np.array_equal(np.delete(free, 15), np.delete(held, 15))


def _build_song():
    """32 bars at 120 BPM, the climax on bar 24 (its build over bars 16-23); the loudness -20 dB,
    except inside the build's held first half: bars 16-17 at -10 dB, bars 18-19 at -30 dB."""
    levels = np.full(32, -20.0)
    levels[16:18], levels[18:20] = -10.0, -30.0
    return grid_analysis(bpm=120.0, bars=32, climax_bar=24, loudness=levels)


def test_a_build_keeps_the_loudness_swing_inside_its_parts():
    from musync.planner.music import music_grid
    from musync.planner.pace import target_lengths

    a = _build_song()
    s = musync.make_settings("energy", fps=FPS)
    grid = music_grid(a, s.fps, int(round(a.duration * FPS)))
    (pay,) = grid.payoffs
    assert pay.build_start == round(a.downbeats[16] * FPS) and pay.frame == round(a.downbeats[24] * FPS)
    beats = np.round(a.beats * FPS).astype(np.int64)
    beats_len = target_lengths(grid, a, s, beats, shape=False, hero=False) / (0.5 * FPS)   # in beats
    bar = np.arange(beats.size) // 4
    loud, quiet, last = beats_len[(bar >= 16) & (bar < 18)], beats_len[(bar >= 18) & (bar < 20)], \
        beats_len[(bar >= 22) & (bar < 24)]
    # the quiet bars of the build's first half are held longer than its loud bars, by much more
    # than the ramp alone (which only keeps the loud bars' own faster pace) would give
    assert np.median(quiet) > 2.6 * np.median(loud), (quiet, loud)
    # the build still accelerates: its last two bars cut faster than either half of its start,
    # at least 1.5x the first half's cut rate
    assert last.max() < loud.min()
    first_rate = np.mean(1.0 / np.r_[loud, quiet])
    assert np.mean(1.0 / last) >= 1.5 * first_rate


def test_build_swing_keeps_each_part_on_its_mean():
    from musync.planner.pace import build_swing

    x = np.linspace(0.0, 0.999, 40)
    pace = np.where(np.arange(40) % 4 < 2, 2.0, 8.0)
    w = build_swing(x, pace)
    for m in (x < 0.5, (x >= 0.5) & (x < 0.75), x >= 0.75):
        assert np.mean(np.log(w[m])) == pytest.approx(0.0, abs=1e-9)
    assert np.all(w[pace == 2.0] < 1.0) and np.all(w[pace == 8.0] > 1.0)
    # a flat pace: no swing
    assert np.allclose(build_swing(x, np.full(40, 3.0)), 1.0)


def _low_confidence_song(**kw):
    """32 bars at 120 BPM on an uncertain grid (confidence 0.1): the first 16 bars at -30 dB, the
    last 16 at -10 dB; downbeats and the middle beat of each bar are the strong onsets."""
    levels = np.r_[np.full(16, -30.0), np.full(16, -10.0)]
    return grid_analysis(bpm=120.0, bars=32, confidence=0.1, loudness=levels, **kw)


def test_low_confidence_grid_cuts_inside_the_bar_only_where_loud():
    from musync.planner.candidates import cut_candidates
    from musync.planner.music import music_grid

    a = _low_confidence_song()
    s = musync.make_settings("energy", fps=FPS)
    grid = music_grid(a, s.fps, int(round(a.duration * FPS)))
    downs = set(np.round(a.downbeats * FPS).astype(int).tolist())
    half = round(a.downbeats[16] * FPS)
    eff = dataclasses.replace(s, cut_on="downbeats")
    inside = lambda c: [int(f) for f in c.frames[1:-1] if int(f) not in downs]  # noqa: E731
    got = inside(cut_candidates(grid, a, eff, low_confidence=True, loud_beats=True))
    # the strong middle beats of the loud half (a bar in, where the two-bar loudness is loud)
    assert len(got) >= 12 and all(f > half for f in got)
    mids = set(np.round(a.beats[2::4] * FPS).astype(int).tolist())
    assert set(got) <= mids
    assert inside(cut_candidates(grid, a, eff, low_confidence=True)) == []


def test_low_confidence_plan_cuts_faster_where_loud():
    a = _low_confidence_song()
    clips = synthetic_clip_infos(24, seed=5, min_dur=8.0, max_dur=12.0)
    p = musync.plan(a, clips, fps=FPS, seed=0)
    counts = _cuts_per_block(p, a)
    downs = set(np.round(a.downbeats * FPS).astype(int).tolist())
    cuts = np.array([s.record_in for s in p.shots[1:]]) + p.settings.anticipation
    half = round(a.downbeats[16] * FPS)
    in_bar = [int(c) for c in cuts if int(c) not in downs]
    # loud: cuts inside the bar too, about two beats apart; quiet: bar lines only
    assert counts[8:].mean() >= 2.5 and counts[:8].mean() <= 1.0, counts.tolist()
    assert len(in_bar) >= 8 and all(c > half for c in in_bar)
    # never a one-beat flash on a grid that may be wrong, even where every beat is a strong
    # onset: two beats (15 frames each) at least, less a frame for a wavering tempo
    hits = np.where(np.arange(128) % 4 == 0, 1.0, np.where(np.arange(128) < 64, 0.3, 0.95))
    flat = _low_confidence_song(strength=hits)
    r = musync.plan(flat, clips, fps=FPS, seed=0)
    assert min(s.length for s in r.shots[:-1]) >= 29, sorted(s.length for s in r.shots)[:5]
    assert np.mean(_cuts_per_block(r, flat)[8:]) >= 2.5
    # a fallback grid (no beat found at all, so no strong beat either) cuts on its bar lines and
    # the middle of its bars, and faster where loud: the half bars are how two bars can hold
    # more than two cuts
    fb = _low_confidence_song(fallback=True)
    q = musync.plan(fb, clips, fps=FPS, seed=0)
    fc = np.array([s.record_in for s in q.shots[1:]]) + q.settings.anticipation
    mids = set(np.round(fb.beats[2::4] * FPS).astype(int).tolist())
    assert all(int(c) in downs | mids for c in fc)
    fcount = _cuts_per_block(q, fb)
    assert fcount[8:].mean() >= 2.5 and fcount[:8].mean() <= 1.0, fcount.tolist()
    assert sum(int(c) in mids for c in fc if c > half) >= 6
    assert min(s.length for s in q.shots[:-1]) >= 29


def test_low_confidence_settings_keep_shots_two_beats_apart():
    # the settings an uncertain grid is planned with, against the rule: no shot shorter than 1.9
    # beats (0.95 s at 120 BPM: two beats less a little for a wavering tempo), two beats at the
    # fastest, 16 at the calmest (a fallback grid too); a confident grid as given
    from musync.planner import LOW_CONF_SHORTEST, grid_settings

    s = musync.make_settings("energy", fps=FPS, min_shot=0.1)
    eff, low, loud = grid_settings(_low_confidence_song(), s)
    assert low and loud and LOW_CONF_SHORTEST == 1.9
    assert eff.min_shot == pytest.approx(1.9 * 60.0 / 120.0) and eff.cut_on == "beats"
    assert eff.intense_beats >= 2.0 and eff.calm_beats >= 16.0
    eff, low, loud = grid_settings(_low_confidence_song(fallback=True), s)
    assert low and loud and eff.cut_on == "beats" and eff.min_shot == pytest.approx(0.95)
    eff, low, loud = grid_settings(_low_confidence_song(fallback=True),
                                   dataclasses.replace(s, cut_on="downbeats"))
    assert low and not loud and eff.cut_on == "downbeats" and eff.min_shot == pytest.approx(0.1)
    # a fallback grid in 3/4 has no middle beat to cut on: bar lines only, as before
    waltz = grid_analysis(bpm=120.0, bars=32, bpb=3, fallback=True)
    eff, low, loud = grid_settings(waltz, s)
    assert low and not loud and eff.cut_on == "downbeats" and eff.min_shot == pytest.approx(0.1)
    sure = grid_analysis(bpm=120.0, bars=8)
    assert grid_settings(sure, s) == (s, False, False)


def test_low_confidence_build_accelerates_on_strong_beats():
    # a quiet song (no loud passage) on an uncertain grid, its climax on bar 24: the build's
    # accelerating half (bars 20-23) may cut on the strong middle beats, the rest of the song
    # keeps to its bar lines
    from musync.planner.candidates import cut_candidates
    from musync.planner.music import music_grid

    a = grid_analysis(bpm=120.0, bars=32, confidence=0.1, climax_bar=24, loudness=np.full(32, -30.0))
    s = musync.make_settings("energy", fps=FPS)
    grid = music_grid(a, s.fps, int(round(a.duration * FPS)))
    downs = set(np.round(a.downbeats * FPS).astype(int).tolist())
    c = cut_candidates(grid, a, s, low_confidence=True, loud_beats=True)
    inside = [int(f) for f in c.frames[1:-1] if int(f) not in downs]
    lo, hi = round(a.downbeats[20] * FPS), round(a.downbeats[24] * FPS)
    assert len(inside) == 4 and all(lo < f < hi for f in inside), inside
    p = musync.plan(a, synthetic_clip_infos(24, seed=5, min_dur=8.0, max_dur=12.0), fps=FPS, seed=0)
    cuts = np.array([x.record_in for x in p.shots[1:]]) + p.settings.anticipation
    last2 = np.sum((cuts >= round(a.downbeats[22] * FPS)) & (cuts < hi)) / 2.0
    first4 = np.sum((cuts >= round(a.downbeats[16] * FPS)) & (cuts < round(a.downbeats[20] * FPS))) / 4.0
    # the build's last two bars cut more than once a bar, 1.5x its first half at least
    assert last2 > 1.0 and last2 >= 1.5 * first4, (last2, first4)


def test_low_confidence_build_accelerates_where_only_the_bar_lines_are_strong():
    # a steady pulse with the weight on the bar line alone (every other beat weak), on an
    # uncertain grid, its climax on bar 24: over the build's accelerating half (bars 20-23) the
    # middle beat of each bar is a cut point all the same, nowhere else inside a bar; the last
    # two bars cut faster than once a bar and 1.5x the build's first half
    from musync.planner.candidates import cut_candidates
    from musync.planner.music import music_grid

    hits = np.where(np.arange(128) % 4 == 0, 1.0, 0.3)
    a = grid_analysis(bpm=120.0, bars=32, confidence=0.1, climax_bar=24, strength=hits,
                      loudness=np.full(32, -30.0))
    s = musync.make_settings("energy", fps=FPS)
    grid = music_grid(a, s.fps, int(round(a.duration * FPS)))
    assert not np.any(grid.strong & ~grid.is_down)
    downs = set(np.round(a.downbeats * FPS).astype(int).tolist())
    c = cut_candidates(grid, a, s, low_confidence=True, loud_beats=True)
    inside = [int(f) for f in c.frames[1:-1] if int(f) not in downs]
    mids = [round(a.beats[4 * b + 2] * FPS) for b in range(20, 24)]
    assert inside == mids, (inside, mids)
    p = musync.plan(a, synthetic_clip_infos(24, seed=5, min_dur=8.0, max_dur=12.0), fps=FPS, seed=0)
    cuts = np.array([x.record_in for x in p.shots[1:]]) + p.settings.anticipation
    hi = round(a.downbeats[24] * FPS)
    last2 = np.sum((cuts >= round(a.downbeats[22] * FPS)) & (cuts < hi)) / 2.0
    first4 = np.sum((cuts >= round(a.downbeats[16] * FPS)) & (cuts < round(a.downbeats[20] * FPS))) / 4.0
    assert last2 > 1.0 and last2 >= 1.5 * first4, (last2, first4)


def test_build_never_ends_on_a_pace_shorter_than_the_shortest_shot():
    # the pace a build ends on is what the plan can cut: at 120 BPM (0.5 s beats) with no shot
    # under 0.95 s, 1.9 beats, not the 1.2 beats (0.6 x intense 2) a looser shortest shot allows
    from musync.planner.music import music_grid
    from musync.planner.pace import build_pace

    a = grid_analysis(bpm=120.0, bars=32, climax_bar=24, loudness=np.full(32, -20.0))
    for min_shot, want in ((0.95, 1.9), (0.1, 1.2)):
        s = musync.make_settings("energy", fps=FPS, min_shot=min_shot)
        grid = music_grid(a, s.fps, int(round(a.duration * FPS)))
        frames = np.round(a.beats * FPS).astype(np.int64)
        _, ends = build_pace(grid, s, frames, np.full(frames.size, 2.0))
        climax = round(a.downbeats[24] * FPS)
        assert ends[climax] == pytest.approx(want), (min_shot, ends)


@pytest.mark.parametrize("own,late", [(2.0, 2.0), (2.0, 6.0), (4.0, 2.0), (4.0, 6.0)])
def test_a_build_holds_accelerates_and_its_third_quarter_leans_to_the_song(own, late):
    # 32 bars at 120 BPM, the climax on bar 24: its build over bars 16-23. The song's own pace
    # ``own`` beats, and ``late`` beats over the build's second half (6: a break, quieter bars;
    # 2 after 4: louder bars). The ramp ends on own / 2.5, but never under 0.6 x the intense pace
    # (1.2 beats), and starts 2.5 x its end: a song at 2 beats is held at 3 over the first half
    # (slower than its own pace), one at 4 keeps its 4. The third quarter goes half-way
    # (geometrically) from the build's pace to the song's, held within the ramp's range; a build
    # that is not held never cuts slower than the song already does.
    from musync.planner.music import music_grid
    from musync.planner.pace import build_pace

    a = grid_analysis(bpm=120.0, bars=32, climax_bar=24, loudness=np.full(32, -20.0))
    s = musync.make_settings("energy", fps=FPS)
    grid = music_grid(a, s.fps, int(round(a.duration * FPS)))
    frames = np.arange(0, int(round(a.duration * FPS)), dtype=np.int64)
    b16, b20, b22, b24 = (round(a.downbeats[k] * FPS) for k in (16, 20, 22, 24))
    pace = np.where((frames >= b20) & (frames < b24), late, own)
    out, ends = build_pace(grid, s, frames, pace)
    end = max(own / 2.5, 1.2)
    start = max(own, 2.5 * end)
    assert ends[b24] == pytest.approx(end) and start == pytest.approx(3.0 if own == 2.0 else 4.0)
    first, third, last = (frames >= b16) & (frames < b20), (frames >= b20) & (frames < b22), \
        (frames >= b22) & (frames < b24)
    assert np.allclose(out[first], start) and np.allclose(out[last], min(end, late))
    x = (frames[third] - b16) / (b24 - b16)
    ramp = start * (end / start) ** ((x - 0.5) / 0.25)
    held = ramp if start > own else np.minimum(ramp, late)
    song = np.clip(late, end, start)
    assert np.allclose(out[third], np.sqrt(held * song))
    assert np.all(out[third] >= np.minimum(ramp, song) - 1e-9)
    assert np.all(out[third] <= np.maximum(ramp, song) + 1e-9)
    if start == own and late < own:
        # louder bars in a build that is not held: the song's own faster pace, not the ramp's
        assert np.allclose(out[third][ramp > late], late)
    outside = (frames < b16) | (frames >= b24)
    assert np.array_equal(out[outside], pace[outside])


def _beat_candidates(n, *, forced=(), score=None):
    from musync.planner.candidates import Candidates

    frames = np.arange(0, 15 * n, 15, dtype=np.int64)
    f = np.zeros(n, dtype=bool)
    f[[0, -1]] = True
    f[list(forced)] = True
    sc = np.zeros(n) if score is None else np.asarray(score, dtype=np.float64)
    return Candidates(frames=frames, score=sc, forced=f, kind=("beat",) * n,
                      beat_pos=np.arange(n, dtype=np.float64), strong=np.ones(n, dtype=bool),
                      fixed_prev=np.full(n, -1, dtype=np.int64))


def test_hero_need_is_a_frame_more_than_twice_the_median_of_the_four_shots_before():
    from musync.planner.cuts import hero_need

    frames = np.array([0, 40, 70, 100, 110, 130, 200], dtype=np.int64)
    idx = np.arange(frames.size)
    # the four shots before cut 5: 30, 30, 10, 20 -> median 25 -> more than 50
    assert hero_need(frames, idx, 5) == 51
    # fewer shots before it: the median of those there are (40 -> 81; 40, 30 -> 71)
    assert hero_need(frames, idx, 1) == 81 and hero_need(frames, idx, 2) == 71
    assert hero_need(frames, idx, 0) == 0
    # a half-frame median: shots 7 and 8 -> 2 x 7.5 = 15 -> 16
    assert hero_need(np.array([0, 7, 15, 40]), np.arange(4), 2) == 16
    # read in seconds, the hero is above twice the median at every frame rate
    for fps in (24, 25, 30, 24000 / 1001, 30000 / 1001, 60):
        for m in range(2, 200):
            lead = np.array([0, m, 2 * m, 3 * m + 1, 4 * m + 2])
            need = hero_need(np.r_[lead, lead[-1] + 1000], np.arange(6), 4)
            assert need / fps >= 2 * np.median(np.diff(lead) / fps), (fps, m)


def test_a_hero_is_held_against_the_shots_leading_into_it():
    # beats every 15 frames; the hero on beat 48 (forced) asks for a bar, the four-beat shots
    # before it are as long, and every beat after it is worth a cut: the DP alone trades the
    # hero for cuts; held, it lasts more than twice the median of its four predecessors, ending
    # on the first beat past that
    from musync.planner.cuts import make_cuts

    n, h = 97, 48
    score = np.where(np.arange(n) > h, 2.5, 0.0)
    c = _beat_candidates(n, forced=[h], score=score)
    s = musync.make_settings("energy", fps=FPS, anticipation=0)
    target = np.where(np.arange(n) < h, 60.0, 15.0)
    target[h] = 60.0

    def hero(cuts):
        f = cuts.frames.tolist()
        k = f.index(15 * h)
        lead = np.median(np.diff(f[k - 4:k + 1]))
        return f[k + 1] - f[k], lead

    free, _ = make_cuts(c, target, s)
    length, lead = hero(free)
    assert length < 2 * lead, (length, lead)
    held, _ = make_cuts(c, target, s, heroes=[h])
    length, lead = hero(held)
    assert 2 * lead < length <= 2 * lead + 15, (length, lead)
    # the rest of the plan still cuts where the DP wants: on every worthy beat after the hero
    after = np.diff(held.frames[held.frames >= 15 * h + length])
    assert np.median(after) == 15
    # a forced cut inside the span the hero needs ends it there (never moved, never dropped)
    c2 = _beat_candidates(n, forced=[h, h + 5], score=score)
    f2 = make_cuts(c2, target, s, heroes=[h])[0].frames.tolist()
    assert f2[f2.index(15 * h) + 1] == 15 * (h + 5)


def test_plan_holds_the_climax_hero_against_its_lead_in():
    # an uncertain grid, quiet until the climax on bar 24 and loud after it: the loud beats after
    # the climax are worth cuts, which shortened the hero below twice the build's last shots
    a = grid_analysis(bpm=120.0, bars=32, climax_bar=24, confidence=0.1,
                      loudness=np.r_[np.full(24, -26.0), np.full(8, -8.0)])
    clips = synthetic_clip_infos(24, seed=5, min_dur=8.0, max_dur=12.0)
    c = round(a.climax * FPS)
    for seed in (0, 1, 2):
        p = musync.plan(a, clips, fps=FPS, seed=seed)
        rin = [s.record_in + (p.settings.anticipation if k else 0) for k, s in enumerate(p.shots)]
        k = rin.index(c)
        lens = [s.length for s in p.shots]
        assert lens[k] >= 2 * np.median(lens[k - 4:k]), (seed, lens[k - 4:k + 1])


def test_a_hero_does_not_take_cuts_from_the_window_it_opens():
    # quiet until the climax on bar 24, loud after it: the hero held on the climax does not
    # lower the cuts its window asks for, so the ones it leaves out come right after it (a hold,
    # then a burst) instead of leaving the song's loudest bars with the fewest cuts
    from musync.planner.music import music_grid
    from musync.planner.pace import cut_rate, target_lengths

    a = grid_analysis(bpm=120.0, bars=32, climax_bar=24,
                      loudness=np.r_[np.full(24, -26.0), np.full(8, -8.0)])
    s = musync.make_settings("energy", fps=FPS)
    grid = music_grid(a, s.fps, int(round(a.duration * FPS)))
    beats = np.round(a.beats * FPS).astype(np.int64)
    c = round(a.climax * FPS)
    # the rate is the plain pace's everywhere, over the hero's span too
    plain = target_lengths(grid, a, s, beats, shape=False, hero=False, ahead=False)
    held = target_lengths(grid, a, s, beats, shape=False, ahead=False)
    assert held[beats == c][0] > 1.5 * plain[beats == c][0]
    assert np.allclose(cut_rate(grid, a, s, beats), 1.0 / plain)
    clips = synthetic_clip_infos(24, seed=5, min_dur=8.0, max_dur=12.0)
    two_bars = 2 * 4 * 0.5 * FPS
    for seed in range(4):
        p = musync.plan(a, clips, fps=FPS, seed=seed)
        rin = np.array([sh.record_in + (p.settings.anticipation if k else 0) for k, sh in enumerate(p.shots)])
        k = int(np.flatnonzero(rin == c)[0])
        lens = np.array([sh.length for sh in p.shots])
        assert lens[k] >= 2 * np.median(lens[k - 4:k])                  # still held
        # the four loud bars from the climax cut at least as often as the four quiet ones before
        after = np.count_nonzero((rin >= c) & (rin < c + 2 * two_bars))
        before = np.count_nonzero((rin >= c - 2 * two_bars) & (rin < c))
        assert after >= before, (seed, after, before, lens[k - 4:k + 6])


def test_a_shot_starting_in_a_build_looks_ahead_to_its_faster_pace():
    from types import SimpleNamespace

    from musync.planner.pace import ahead_in_builds

    grid = SimpleNamespace(fps=FPS, payoffs=(SimpleNamespace(build_start=0, frame=150),))
    s = musync.make_settings("energy", fps=FPS)
    frames = np.array([0, 30, 60, 90, 120, 150, 180], dtype=np.int64)
    sec = np.array([4.0, 4.0, 1.0, 1.0, 1.0, 3.0, 3.0])
    got = ahead_in_builds(grid, s, frames, sec)
    # from frame 0: a quarter of a shot by 30, half by 60, the other half at the 1-s pace (15
    # frames): 75 frames; from 30: a quarter by 60, then 22.5 frames: 52.5 frames
    assert got[0] == pytest.approx(2.5) and got[1] == pytest.approx(52.5 / FPS)
    # already at the faster pace, or past the payoff: unchanged
    assert np.array_equal(got[2:], sec[2:])
    # a slower pace ahead never lengthens a shot; a count that does not reach one before the
    # payoff keeps the shot's own length
    slow = ahead_in_builds(grid, s, frames, np.array([1.0, 1.0, 1.0, 3.0, 3.0, 3.0, 3.0]))
    assert np.array_equal(slow, [1.0, 1.0, 1.0, 3.0, 3.0, 3.0, 3.0])
    short = SimpleNamespace(fps=FPS, payoffs=(SimpleNamespace(build_start=0, frame=60),))
    assert np.array_equal(ahead_in_builds(short, s, frames, sec)[:2], [4.0, 4.0])


def test_build_targets_look_ahead_over_the_acceleration():
    from musync.planner.music import music_grid
    from musync.planner.pace import target_lengths

    a = grid_analysis(bpm=120.0, bars=32, climax_bar=24, loudness=np.full(32, -20.0))
    s = musync.make_settings("energy", fps=FPS)
    grid = music_grid(a, s.fps, int(round(a.duration * FPS)))
    beats = np.round(a.beats * FPS).astype(np.int64)
    now = target_lengths(grid, a, s, beats, shape=False, hero=False, ahead=False)
    ahead = target_lengths(grid, a, s, beats, shape=False, hero=False)
    # an independent count: from each beat, add up (beat gap / length) until one shot is used up
    j0 = 4 * 20   # the downbeat where the build starts to accelerate (its half-way point)
    used, k = 0.0, j0
    while used + (beats[k + 1] - beats[k]) / now[k] < 1.0:
        used += (beats[k + 1] - beats[k]) / now[k]
        k += 1
    want = beats[k] + (1.0 - used) * now[k] - beats[j0]
    assert ahead[j0] == pytest.approx(want, abs=1e-6)
    assert ahead[j0] < now[j0] - 2.0            # frames
    # outside the builds nothing changes
    out = (beats < grid.payoffs[0].build_start) | (beats >= grid.payoffs[0].frame)
    assert np.array_equal(ahead[out], now[out])


def test_a_phrase_pattern_is_laid_bar_by_bar():
    # phrases of 4, 6 and 1 bars (30 frames a bar): bar i of a phrase takes entry i mod 4 of its
    # pattern, so the 6-bar phrase plays its first two bars again instead of stretching four
    # entries over 1.5 bars each; a one-bar phrase keeps the plain pace
    from types import SimpleNamespace

    from musync.planner.music import Phrase
    from musync.planner.pace import PHRASE_PATTERNS, phrase_pattern_names, phrase_shape

    phrases = (Phrase(0, 120, 4, 0, 0, True), Phrase(120, 300, 6, 0, 1, False),
               Phrase(300, 330, 1, 0, 2, True))
    grid = SimpleNamespace(phrases=phrases,
                           phrase_at=lambda f: np.searchsorted([0, 120, 300], f, side="right") - 1)
    a = grid_analysis(bpm=120.0, bars=12)
    s = musync.make_settings("energy", fps=FPS, seed=0)
    names = phrase_pattern_names(grid, a, 0)
    frames = np.arange(0, 330, 5)
    got = phrase_shape(grid, a, s, frames)
    for f, g in zip(frames, got):
        k = 0 if f < 120 else 1 if f < 300 else 2
        if k == 2:
            assert g == 1.0
            continue
        m = np.asarray(PHRASE_PATTERNS[names[k]], dtype=np.float64)
        m = m * np.mean(1.0 / m)
        assert g == pytest.approx(m[((f - phrases[k].start) // 30) % 4]), (f, names[k])


def test_a_phrase_pattern_fades_once_a_shot_lasts_a_bar():
    # the oracle: full depth up to half a bar per shot, none from a bar, linear in between
    from musync.planner.pace import PATTERN_FULL, PATTERN_NONE, pattern_depth, phrase_shape, target_lengths

    assert (PATTERN_FULL, PATTERN_NONE) == (0.5, 1.0)
    assert pattern_depth([0.1, 0.5, 0.75, 1.0, 3.0]) == pytest.approx([1.0, 1.0, 0.5, 0.0, 0.0])
    # a calm song (shots of a bar or more, no climax): the phrase patterns leave the lengths as
    # the plain pace has them; a busy one (a beat a shot): they act in full
    a = grid_analysis(bpm=120.0, bars=16)
    grid = musync.planner.music_grid(a, FPS, 16 * 60 + 15)
    beats = grid.beat_frames
    calm = musync.make_settings("energy", fps=FPS, calm_beats=6.0, intense_beats=5.0, climax_build=False)
    assert np.array_equal(target_lengths(grid, a, calm, beats), target_lengths(grid, a, calm, beats, shape=False))
    busy = musync.make_settings("energy", fps=FPS, calm_beats=1.5, intense_beats=1.0, climax_build=False)
    plain = target_lengths(grid, a, busy, beats, shape=False)
    shaped = target_lengths(grid, a, busy, beats)
    mult = phrase_shape(grid, a, busy, beats)
    inside = (plain > busy.min_shot * FPS + 1) & (shaped < busy.max_shot * FPS * 0.5)
    assert inside.sum() > 10
    assert shaped[inside] == pytest.approx(plain[inside] * mult[inside], rel=1e-6)
