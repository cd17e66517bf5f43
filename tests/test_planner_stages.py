"""Each planner stage on hand-built inputs, with oracles from outside the code under test."""

from __future__ import annotations

import dataclasses
import itertools
import math
from fractions import Fraction

import numpy as np
import pytest

from musync.errors import ParameterError
from musync.planner import make_settings
from musync.planner.assign import Assignment, assign, assign_units, choose_in_point
from musync.planner.candidates import Candidates, cut_candidates
from musync.planner.costs import COST_TERMS, Costs, make_costs
from musync.planner.cuts import (STRONG_SHARE, Cuts, anticipate, bar_wants, choose_cuts, meet_counts,
                                 min_max_frames, strengthen_cuts, vary_sections)
from musync.planner.music import find_payoffs, find_phrases, music_grid
from musync.planner.pace import section_factor, target_lengths
from musync.planner.slots import make_slots, strongest_accent
from musync.planner.units import Unit, source_units
from musync.types import Shot

from planner_util import clip, grid_analysis

FPS = Fraction(30)


# -- stage 0: the music ------------------------------------------------------------------------

def test_phrases_group_bars_by_four_and_keep_leftovers():
    # 10-bar and 11-bar sections, 120 BPM (a bar is 2 s = 60 frames), grid from 0.5 s
    a = grid_analysis(bars=21, sections=((0, "A", "verse", 0.5), (10, "B", "chorus", 0.5)))
    n = 21 * 60 + 15
    ph = find_phrases(a, FPS, n)
    bars = [p.bars for p in ph]
    assert bars == [4, 6, 4, 4, 3]   # 10 = 4 + 6 (two leftover bars join), 11 = 4 + 4 + 3
    assert ph[0].start == 0 and ph[-1].end == n
    assert all(p.end == q.start for p, q in zip(ph[:-1], ph[1:]))
    # phrase starts are downbeats (the pickup before the first downbeat joins phrase 0)
    assert [p.start for p in ph[1:]] == [15 + 4 * 60, 15 + 10 * 60, 15 + 14 * 60, 15 + 18 * 60]


def test_an_energy_jump_inside_a_section_opens_a_phrase():
    a = grid_analysis(bars=16, sections=((0, "A", "verse", 0.2),))
    e = np.array(a.energy)
    e[a.energy_times >= a.downbeats[6]] = 0.9
    a = a.__class__(**{**a.__dict__, "energy": e})
    ph = find_phrases(a, FPS, 16 * 60 + 15)
    starts = [p.start for p in ph]
    assert 15 + 6 * 60 in starts and 15 + 4 * 60 in starts


def test_accents_rank_downbeat_over_backbeat_over_other_beats():
    a = grid_analysis(bars=8, strength=np.full(32, 0.5))
    g = music_grid(a, FPS, 8 * 60 + 15)
    acc = g.accent[4:8]   # bar 2: beats 1..4 (not a phrase start)
    assert acc[0] > acc[2] > acc[1] and acc[1] == pytest.approx(acc[3])
    assert g.strong[4] and not g.strong[5]
    # a stronger onset raises a plain beat, and makes it strong when it is in the top half
    s = np.full(32, 0.3)
    s[5] = 1.0
    g2 = music_grid(grid_analysis(bars=8, strength=s), FPS, 8 * 60 + 15)
    assert g2.accent[5] > g2.accent[7] and g2.strong[5]


def test_payoffs_climax_build_is_eight_bars_and_rises_are_found():
    secs = ((0, "A", "intro", 0.2), (8, "B", "verse", 0.3), (16, "C", "chorus", 0.9), (24, "D", "outro", 0.2))
    a = grid_analysis(bars=32, sections=secs, climax_bar=16)
    p = find_payoffs(a, FPS, 2.0)
    clim = [x for x in p if x.kind == "climax"]
    assert len(clim) == 1 and clim[0].frame == 15 + 16 * 60 and clim[0].build_start == 15 + 8 * 60
    # a rise of 0.9 - 0.3 at bar 8 would be 8 bars from the climax -> not a separate payoff
    assert all(abs(x.frame - clim[0].frame) >= 8 * 60 for x in p if x.kind == "rise")
    secs = ((0, "A", "intro", 0.1), (12, "B", "chorus", 0.8), (24, "C", "verse", 0.4), (36, "D", "chorus", 1.0))
    a = grid_analysis(bars=48, sections=secs, climax_bar=36)
    rises = [x for x in find_payoffs(a, FPS, 2.0) if x.kind == "rise"]
    assert [x.frame for x in rises] == [15 + 12 * 60]
    assert rises[0].build_start == 15 + 8 * 60
    # the same rise out of a two-bar break (the drums drop out, then the chorus): no build, the
    # quiet bars are the breath; the climax keeps its build whatever comes before it
    secs = ((0, "A", "verse", 0.5), (10, "X", "bridge", 0.1), (12, "B", "chorus", 0.9),
            (24, "C", "verse", 0.4), (34, "Y", "bridge", 0.1), (36, "D", "chorus", 1.0))
    p = find_payoffs(grid_analysis(bars=48, sections=secs, climax_bar=36), FPS, 2.0)
    rises = [x for x in p if x.kind == "rise"]
    assert [x.frame for x in rises] == [15 + 12 * 60] and rises[0].build_start == rises[0].frame
    clim = [x for x in p if x.kind == "climax"]
    assert clim[0].build_start == 15 + 28 * 60


# -- stage 1: candidates -----------------------------------------------------------------------

def test_candidates_force_sections_climax_and_lock_edges():
    secs = ((0, "A", "verse", 0.4), (4, "B", "chorus", 0.8))
    a = grid_analysis(bars=8, sections=secs, climax_bar=6)
    n = 8 * 60 + 15
    g = music_grid(a, FPS, n)
    s = make_settings("energy", fps=FPS)
    c = cut_candidates(g, a, s, [(100, 160)])
    f = c.frames.tolist()
    assert f[0] == 0 and f[-1] == n
    forced = set(c.frames[c.forced].tolist())
    assert {0, n, 15 + 4 * 60, 15 + 6 * 60, 100, 160} <= forced
    assert not any(100 < x < 160 for x in f)               # nothing inside a lock
    assert c.fixed_prev[f.index(160)] == f.index(100)
    assert c.kind[f.index(15 + 4 * 60)].startswith("section B")
    # every beat outside the lock is a candidate; downbeats only with cut_on="downbeats"
    beats = set((15 + 15 * np.arange(32)).tolist())
    assert {b for b in beats if not 100 <= b <= 160} <= set(f)
    d = cut_candidates(g, a, make_settings("downbeats", fps=FPS))
    assert set(d.frames[1:-1].tolist()) <= set((15 + 60 * np.arange(8)).tolist())


def test_candidates_say_which_accents_anyone_counting_hears():
    # an energy jump on the weak fourth beat of bar 3 (8.0 s) makes it strong (a drop, an entry)
    # but not an accent anyone counting the beats hears: that is a downbeat or an onset in the
    # top half
    a = grid_analysis(bars=8)
    a = dataclasses.replace(a, energy=np.where(a.energy_times >= 8.1, 0.9, 0.2))
    g = music_grid(a, FPS, 8 * 60 + 15)
    c = cut_candidates(g, a, make_settings("energy", fps=FPS))
    f = c.frames.tolist()
    before = f.index(240)
    assert c.strong[before] and not c.accented[before]
    k = np.searchsorted(g.beat_frames, c.frames[1:-1])
    want = g.is_down[k] | (g.onset_rank[k] >= 0.5) | c.forced[1:-1]
    assert np.array_equal(c.accented[1:-1], want) and c.accented[0] and c.accented[-1]
    assert np.array_equal(c.heard, c.accented)


def test_forced_cuts_closer_than_the_shortest_shot_keep_the_first():
    secs = ((0, "A", "verse", 0.4), (4, "B", "chorus", 0.8))
    a = grid_analysis(bars=8, sections=secs)
    sec = a.sections[1]
    a = a.__class__(**{**a.__dict__, "climax": sec.start + 0.1})   # 3 frames after the section start
    g = music_grid(a, FPS, 8 * 60 + 15)
    c = cut_candidates(g, a, make_settings("energy", fps=FPS, min_shot=0.4))
    forced = c.frames[c.forced].tolist()
    assert 15 + 4 * 60 in forced and 15 + 4 * 60 + 3 not in forced


def test_forced_cuts_closer_than_the_shortest_shot_to_either_end_are_dropped():
    # the climax on the first downbeat (frame 15) and a section starting 10 frames before the
    # end: with a shortest shot of 0.6 s (18 frames) neither may open a flash at an end
    n = 8 * 60 + 15
    secs = ((0, "A", "verse", 0.9), (4, "B", "chorus", 0.8))
    a = grid_analysis(bars=8, sections=secs, climax_bar=0)
    last = (n - 10) / 30.0
    a = dataclasses.replace(a, sections=(a.sections[0], a.sections[1], dataclasses.replace(
        a.sections[1], start=last, label="C", kind="outro")))
    g = music_grid(a, FPS, n)
    c = cut_candidates(g, a, make_settings("energy", fps=FPS, min_shot=0.6))
    forced = c.frames[c.forced].tolist()
    assert 15 not in forced and n - 10 not in forced and 15 + 4 * 60 in forced
    # a shortest shot of 0.3 s (9 frames) keeps the climax forced
    c = cut_candidates(g, a, make_settings("energy", fps=FPS, min_shot=0.3))
    assert 15 in c.frames[c.forced].tolist()


def test_half_beats_only_on_strong_offbeats():
    n_beats = 32
    off = np.full(n_beats, 0.1)
    off[9] = 1.0       # one strong off-beat, between beat 9 and 10
    strength = np.full(n_beats, 0.5)
    a = grid_analysis(bars=8, strength=strength, offbeat=off)
    g = music_grid(a, FPS, 8 * 60 + 15, half_beats=True)
    mid = int(math.floor((0.5 + 0.5 * 9.5) * 30 + 0.5))
    assert g.offbeat_frames.tolist() == [mid]
    c = cut_candidates(g, a, make_settings("energy", fps=FPS))
    assert mid in c.frames.tolist() and c.kind[c.frames.tolist().index(mid)] == "half-beat"
    # without measured off-beats, no half-beat candidates at all
    g0 = music_grid(grid_analysis(bars=8, strength=strength), FPS, 8 * 60 + 15, half_beats=True)
    assert g0.offbeat_frames.size == 0


# -- stage 2: the cut DP -----------------------------------------------------------------------

def _cands(frames, score=None, forced=None, fixed_prev=None, beat_pos=None):
    frames = np.asarray(frames, dtype=np.int64)
    n = frames.size
    forced = np.zeros(n, bool) if forced is None else np.asarray(forced, bool)
    forced[0] = forced[-1] = True
    return Candidates(frames=frames, score=np.zeros(n) if score is None else np.asarray(score, float),
                      forced=forced, kind=tuple("x" * n), beat_pos=frames / 15.0 if beat_pos is None else
                      np.asarray(beat_pos, float), strong=np.ones(n, bool),
                      fixed_prev=np.full(n, -1, np.int64) if fixed_prev is None else np.asarray(fixed_prev))


def _objective(c: Candidates, target, path, *, min_len, max_len, lam, run_cost, short_beats, short_cost):
    """The DP's objective, written out for one cut sequence (the oracle)."""
    v = 0.0
    run = 0
    prev_len = None
    for i, j in zip(path[:-1], path[1:]):
        d = c.frames[j] - c.frames[i]
        L = c.beat_pos[j] - c.beat_pos[i]
        if c.fixed_prev[j] >= 0:
            v += c.score[j]
        else:
            v += c.score[j] - lam * math.log(max(d, 1) / target[i]) ** 2
            if d < min_len or d > max_len:
                v -= 1e3
        if prev_len is not None and abs(L - prev_len) < 0.1:
            run += 1
        else:
            run = 1
        if prev_len is not None and L <= short_beats and prev_len <= short_beats:
            v -= short_cost
        v -= run_cost[min(run, len(run_cost) - 1)]
        prev_len = L
    return v


def _allowed(c: Candidates, path, max_len):
    """The chain may not jump over a forced cut, must follow locks, and a shot longer than the
    longest shot is only allowed between neighbouring candidates."""
    s = set(path)
    if not all(j in s for j in np.flatnonzero(c.forced)):
        return False
    for i, j in zip(path[:-1], path[1:]):
        if c.fixed_prev[j] >= 0 and c.fixed_prev[j] != i:
            return False
        if c.fixed_prev[j] < 0 and c.frames[j] - c.frames[i] > max_len and j != i + 1:
            return False
    return True


@pytest.mark.parametrize("seed", range(25))
def test_cut_dp_finds_the_best_sequence(seed):
    """Against exhaustive search over every cut subset (the objective written out in the test)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(4, 12))
    frames = np.unique(np.concatenate([[0], rng.integers(1, 120, n - 2), [121]]))
    n = frames.size
    forced = rng.random(n) < 0.2
    forced[0] = forced[-1] = True
    fixed = np.full(n, -1, np.int64)
    if n > 4 and seed % 3 == 0:
        a = int(rng.integers(1, n - 2))
        fixed[a + 1] = a
        forced[a] = forced[a + 1] = True
    beat_pos = np.round(frames / 15.0 * 2) / 2
    c = _cands(frames, rng.normal(0, 1, n), forced, fixed, beat_pos)
    target = rng.uniform(10, 50, n)
    s = make_settings("energy", fps=FPS, min_shot=float(rng.uniform(0.1, 0.5)), max_shot=float(rng.uniform(1.0, 2.5)))
    mn, mx = min_max_frames(s)
    run_cost = (0.0, 0.0, 0.3, 0.9, 1.8, 8.0)
    kw = dict(min_len=mn, max_len=mx, lam=4.0, run_cost=run_cost, short_beats=1.25, short_cost=0.35)
    got = choose_cuts(c, target, s).tolist()
    best = -np.inf
    inner = list(range(1, n - 1))
    for r in range(len(inner) + 1):
        for sub in itertools.combinations(inner, r):
            path = [0, *sub, n - 1]
            if _allowed(c, path, mx):
                best = max(best, _objective(c, target, path, **kw))
    assert _allowed(c, got, mx)
    assert _objective(c, target, got, **kw) == pytest.approx(best, abs=1e-9)


def test_cut_dp_shortest_shot_is_exactly_allowed():
    # one candidate per frame; the pace wants 1-frame shots: every shot must be exactly min_len,
    # never shorter (the last one takes what is left)
    s = make_settings("energy", fps=FPS, min_shot=0.4)           # 12 frames at 30 fps
    mn, _ = min_max_frames(s)
    assert mn == 12
    c = _cands(np.arange(0, 121), score=np.full(121, 5.0), beat_pos=np.arange(121) * 0.37)
    idx = choose_cuts(c, np.full(121, 6.0), s, run_cost=(0.0, 0.0))
    d = np.diff(c.frames[idx])
    assert d.min() == 12 and np.all(d == 12) and d.size == 10


def test_cut_dp_longest_shot_is_exactly_allowed():
    s = make_settings("energy", fps=FPS, max_shot=1.0)           # 30 frames
    _, mx = min_max_frames(s)
    c = _cands(np.arange(0, 151), score=np.full(151, -5.0), beat_pos=np.arange(151) * 0.37)
    idx = choose_cuts(c, np.full(151, 1e4), s, run_cost=(0.0, 0.0))
    d = np.diff(c.frames[idx])
    assert d.max() == mx == 30 and np.all(d == 30)


def test_shot_limits_round_to_the_nearest_frame():
    # 0.4 s at 24000/1001 fps is 9.59 frames -> 10 (truncating would give 9); 0.5 s at 25 -> 12.5 -> 13
    assert min_max_frames(make_settings("energy", fps=Fraction(24000, 1001), min_shot=0.4))[0] == 10
    assert min_max_frames(make_settings("energy", fps=25, min_shot=0.5))[0] == 13
    assert min_max_frames(make_settings("energy", fps=Fraction(24000, 1001), max_shot=2.5))[1] == 60


def test_cut_dp_follows_the_target_length():
    # equal worth everywhere: the length penalty alone decides -> a cut every 3rd candidate
    c = _cands(np.arange(0, 181, 5), score=np.full(37, 0.1))
    s = make_settings("energy", fps=FPS, min_shot=0.1, max_shot=4.0)
    idx = choose_cuts(c, np.full(37, 15.0), s, run_cost=(0.0, 0.0), short_cost=0.0)
    assert np.all(np.diff(c.frames[idx]) == 15)
    # a strong accent off the grid of targets pulls a cut onto it
    sc = np.full(37, 0.1)
    sc[4] = 3.0          # frame 20
    idx = choose_cuts(_cands(np.arange(0, 181, 5), score=sc), np.full(37, 15.0), s, run_cost=(0.0, 0.0),
                      short_cost=0.0)
    assert 20 in c.frames[idx].tolist()


def test_cut_dp_forced_cuts_and_locks():
    frames = np.arange(0, 301, 10)
    forced = np.zeros(frames.size, bool)
    forced[7] = True                     # frame 70
    fixed = np.full(frames.size, -1, np.int64)
    fixed[20] = 12                        # a lock from frame 120 to 200
    forced[12] = forced[20] = True
    c = _cands(frames, score=np.zeros(frames.size), forced=forced, fixed_prev=fixed)
    s = make_settings("energy", fps=FPS, min_shot=0.3, max_shot=8.0)
    got = c.frames[choose_cuts(c, np.full(frames.size, 40.0), s)].tolist()
    assert 70 in got and 120 in got and 200 in got
    assert got[got.index(120) + 1] == 200       # nothing inside the lock


def test_cut_dp_breaks_runs_of_equal_lengths():
    # a target of exactly 2 beats everywhere: without the run cost the DP cuts every 2 beats;
    # with it, no more than four shots in a row share a length
    frames = 15 * np.arange(0, 65)
    c = _cands(frames, score=np.where(np.arange(65) % 2 == 0, 0.5, 0.3), beat_pos=np.arange(65.0))
    s = make_settings("energy", fps=FPS, min_shot=0.3, max_shot=8.0)
    flat = np.diff(c.beat_pos[choose_cuts(c, np.full(65, 30.0), s, run_cost=(0.0, 0.0), short_cost=0.0)])
    assert np.all(flat == 2)
    L = np.diff(c.beat_pos[choose_cuts(c, np.full(65, 30.0), s)])
    run = best = 1
    for x, y in zip(L[:-1], L[1:]):
        run = run + 1 if x == y else 1
        best = max(best, run)
    assert best <= 4


# -- stage 2, the count per two bars (meet_counts) ----------------------------------------------

def _wanted_per_bar(frames, rate, bars):
    """The rate's cuts in every bar, summed frame by frame (the oracle for ``bar_wants``)."""
    out = []
    for b0, b1 in zip(bars[:-1], bars[1:]):
        total = 0.0
        for t in range(int(b0), int(b1)):
            j = int(np.searchsorted(frames, t, side="right")) - 1
            total += rate[max(j, 0)]
        out.append(total)
    return np.array(out)


def _count_error(c, path, want_bar, bars):
    """Squared error of the cuts over every two bars in a row (both pairings), the song's start
    and end not counted as cuts."""
    f = c.frames[list(path)[1:-1]]
    made = np.array([np.sum((f >= b0) & (f < b1)) for b0, b1 in zip(bars[:-1], bars[1:])], float)
    return float(np.sum((made[:-1] + made[1:] - want_bar[:-1] - want_bar[1:]) ** 2))


def test_bar_wants_integrate_the_rate_over_two_bars():
    frames = np.array([0, 60, 120, 180, 240, 250], dtype=np.int64)
    rate = np.array([1 / 60, 1 / 30, 1 / 30, 1 / 60, 1 / 60, 1 / 60])
    bars = np.array([0, 60, 120, 180, 240])
    bar_of, want = bar_wants(frames, rate, bars)
    assert bar_of.tolist() == [0, 1, 2, 3, -1, -1]       # from the last bar line on: no bar
    assert want == pytest.approx([3.0, 4.0, 3.0])          # bars 0+1, 1+2, 2+3
    # against a frame-by-frame sum, with candidates between the bar lines
    rng = np.random.default_rng(3)
    f = np.unique(np.r_[0, rng.integers(1, 400, 30), 400])
    r = rng.uniform(0.01, 0.1, f.size)
    b = np.array([17, 77, 140, 199, 260, 333, 390])
    per_bar = _wanted_per_bar(f, r, b)
    assert bar_wants(f, r, b)[1] == pytest.approx(per_bar[:-1] + per_bar[1:])


def _beats(n_bars, strong_every=2):
    """A beat every 15 frames, four to the bar; every ``strong_every``-th beat is strong."""
    frames = 15 * np.arange(4 * n_bars + 1)
    c = _cands(frames, score=np.where(np.arange(frames.size) % strong_every == 0, 0.5, -0.3),
               beat_pos=np.arange(frames.size, dtype=float))
    return dataclasses.replace(c, strong=np.arange(frames.size) % strong_every == 0), frames[::4]


def _cuts_per_bar(c, idx, bars):
    f = c.frames[np.asarray(idx)[1:-1]]
    return [int(np.sum((f >= b0) & (f < b1))) for b0, b1 in zip(bars[:-1], bars[1:])]


def _longest_equal_run(lengths):
    """The longest run of consecutive equal lengths (in beats, within a tenth)."""
    best = run = 0
    prev = None
    for x in lengths:
        run = run + 1 if prev is not None and abs(x - prev) < 0.1 else 1
        best, prev = max(best, run), x
    return best


def test_meet_counts_adds_cuts_on_strong_beats_where_two_bars_lack_them(monkeypatch):
    import musync.planner.cuts as cuts_mod

    c, bars = _beats(8)
    s = make_settings("energy", fps=FPS, min_shot=0.3, max_shot=8.0)
    n = len(c)
    target = np.full(n, 30.0)
    rate = np.full(n, 2.0 / 60.0)                    # two cuts a bar
    start = np.flatnonzero(np.arange(n) % 4 == 0)     # one a bar (downbeats)
    want_bar = np.full(8, 2.0)
    got = meet_counts(c, start, target, s, rate, bars)
    added = sorted(set(got.tolist()) - set(start.tolist()))
    assert added and all(c.strong[j] for j in added) and set(start.tolist()) <= set(got.tolist())
    assert _count_error(c, got, want_bar, bars) < _count_error(c, start, want_bar, bars)
    # at the planner's weight, a run of equal lengths still costs what it costs (some bars keep
    # one cut); a heavy weight fills the bars, but never into a run of more than RUN_MAX equal
    # shots (the first bar has the song's start on its downbeat, which is no cut, and no weak
    # beat is cut to make up for it)
    heavy = meet_counts(c, start, target, s, rate, bars, weight=30.0, sweeps=50, cv_floor=0.0)
    per_bar = _cuts_per_bar(c, heavy, bars)
    assert per_bar[0] == 1 and set(per_bar) == {1, 2} and sum(per_bar) > 8 + 3
    assert _longest_equal_run(np.diff(c.beat_pos[heavy])) == cuts_mod.RUN_MAX == 4
    assert np.all(c.strong[heavy])
    # without that limit, the heavy weight fills every bar: fifteen two-beat shots in a row
    monkeypatch.setattr(cuts_mod, "RUN_MAX", 99)
    unbound = meet_counts(c, start, target, s, rate, bars, weight=30.0, sweeps=50, cv_floor=0.0)
    assert _cuts_per_bar(c, unbound, bars) == [1] + [2] * 7
    assert np.all(c.strong[unbound])
    monkeypatch.undo()
    # every shot two beats long but the first: the lengths are even, which only the variety
    # floor (off above) keeps from happening
    kept = meet_counts(c, start, target, s, rate, bars, weight=30.0, sweeps=50)
    lengths = np.diff(c.frames[kept]).astype(float)
    assert lengths.std() / lengths.mean() >= 0.3 - 1e-9
    # no weight, no change
    assert meet_counts(c, start, target, s, rate, bars, weight=0.0).tolist() == start.tolist()


def test_meet_counts_takes_weak_cuts_away_where_two_bars_have_too_many(monkeypatch):
    import musync.planner.cuts as cuts_mod

    c, bars = _beats(8)
    s = make_settings("energy", fps=FPS, min_shot=0.3, max_shot=8.0)
    n = len(c)
    target = np.full(n, 15.0)                         # the lengths alone want a cut every beat
    rate = np.full(n, 2.0 / 60.0)                     # the pace two a bar
    every = np.arange(n)
    light = meet_counts(c, every, target, s, rate, bars, weight=0.2, sweeps=50)
    heavy = meet_counts(c, every, target, s, rate, bars, weight=30.0, sweeps=50, cv_floor=0.0)
    # the count's weight decides how far the lengths (and the cost of a run of equal lengths)
    # give way; strong beats always stay
    assert set(np.flatnonzero(c.strong)) <= set(heavy.tolist())
    assert len(heavy) < len(light) <= n
    # every two bars within a cut of the four they want (the song's start is no cut), in shots
    # of two beats and one, never more than RUN_MAX of one length in a row
    per_bar = np.array(_cuts_per_bar(c, heavy, bars))
    assert np.all(np.abs(per_bar[:-1] + per_bar[1:] - 4) <= 1), per_bar
    assert _longest_equal_run(np.diff(c.beat_pos[heavy])) <= cuts_mod.RUN_MAX == 4
    assert np.sum(~c.strong[heavy]) < np.sum(~c.strong[light])
    # without that limit: exactly two a bar, fifteen two-beat shots in a row (a metronome)
    monkeypatch.setattr(cuts_mod, "RUN_MAX", 99)
    unbound = meet_counts(c, every, target, s, rate, bars, weight=30.0, sweeps=50, cv_floor=0.0)
    assert _cuts_per_bar(c, unbound, bars) == [1] + [2] * 7
    assert np.all(c.strong[unbound])


def test_meet_counts_adds_no_cut_whose_next_shot_makes_a_run_too_long(monkeypatch):
    # 6 4 4 4 4 2 beats; the first two bars want more cuts, and the one strong beat free is
    # beat 2: a cut there makes the shot after it the fifth four-beat shot in a row
    import musync.planner.cuts as cuts_mod

    frames = 15 * np.arange(25)
    strong = np.zeros(25, dtype=bool)
    strong[[0, 2, 6, 10, 14, 18, 22, 24]] = True
    c = dataclasses.replace(_cands(frames, beat_pos=np.arange(25, dtype=float)), strong=strong)
    s = make_settings("energy", fps=FPS, min_shot=0.3, max_shot=8.0)
    rate = np.full(25, 1.0 / 60.0)
    rate[:8] = 3.0 / 60.0
    start = np.array([0, 6, 10, 14, 18, 22, 24])
    args = (c, start, np.full(25, 60.0), s, rate, frames[::4])
    assert meet_counts(*args, weight=30.0, cv_floor=0.0).tolist() == start.tolist()
    monkeypatch.setattr(cuts_mod, "RUN_MAX", 99)
    assert 2 in meet_counts(*args, weight=30.0, cv_floor=0.0).tolist()


def test_repairs_add_join_or_move_no_cut_into_a_run_of_more_than_run_max(monkeypatch):
    # a beat every 15 frames; four four-beat shots, then eight beats, then three: splitting the
    # eight into four and four makes five four-beat shots in a row, into five and three or six
    # and two does not. Two-beat shots 2 2 2 2 then 1 1: joining the two one-beat shots makes a
    # fifth two-beat shot, joining a two and the one after it does not
    import musync.planner.cuts as cuts_mod
    from musync.planner.cuts import _Mover

    s = make_settings("energy", fps=FPS, min_shot=0.3, max_shot=8.0)
    frames = 15 * np.arange(33)
    c = _cands(frames, beat_pos=np.arange(33, dtype=float))
    bars = frames[::4]

    def mover(idx):
        return _Mover(c, np.asarray(idx), np.full(33, 60.0), s, bars, None, None, (), 1.0)

    cut = [0, 4, 8, 12, 16, 24, 27, 32]
    split_at = {int(j2) for j2, *_ in mover(cut).splits(4)}
    assert 20 not in split_at and {21, 22} <= split_at
    joins = [0, 2, 4, 6, 8, 9, 10, 13, 32]
    assert mover(joins).merge(5) is None and mover(joins).merge(6) is not None
    # the run on the other side of the change, and a run of exactly RUN_MAX (allowed)
    def offered(idx, k):
        return {int(j2) for j2, *_ in mover(idx).splits(k)}

    right = [0, 3, 9, 13, 17, 21, 25, 30, 32]         # 3 6 4 4 4 4 5: a cut at 5 makes 2 then 4
    left = [0, 4, 8, 12, 16, 22, 25, 32]              # 4 4 4 4 6 3: a cut at 20 makes 4 then 2
    four = [0, 4, 8, 12, 18, 21, 32]                  # 4 4 4 6 3: a cut at 16 makes a fourth 4
    assert 5 not in offered(right, 1) and 20 not in offered(left, 4) and 16 in offered(four, 3)
    join_right = [0, 3, 4, 5, 7, 9, 11, 13, 18, 32]   # 3 1 1 2 2 2 2 5: joining the ones
    join_four = [0, 3, 4, 5, 7, 9, 11, 16, 32]        # 3 1 1 2 2 2 5: a fourth two
    assert mover(join_right).merge(2) is None and mover(join_four).merge(2) is not None
    # a cut moved (the variety and accent repairs' moves, inside its bar here): 4 4 4 4 5 11,
    # the cut at beat 21 to 20 makes a fifth four-beat shot, to 22 or 23 it does not; in
    # 4 4 4 4 4 4 2 6 a move that shortens the run of six is taken, if not to four
    def moved(idx, k):
        return {int(j2) for j2, *_ in mover(idx).moves(k)}

    move = [0, 4, 8, 12, 16, 21, 32]
    assert moved(move, 5) == {22, 23}
    six = [0, 4, 8, 12, 16, 20, 24, 26, 32]
    assert moved(six, 6) == {25}                      # 4 4 4 4 4 5 1: five left, not six
    assert moved(six, 5) == {21, 22, 23}              # 4 4 4 4 5 3 / 6 2 / 7 1: the run broken
    # five fours, a five, seven fours: the cut after the five to beat 24 joins the five to the
    # run on the left (six) and takes one from the run on the right (seven), which is allowed
    frames2 = 15 * np.arange(54)
    c2 = _cands(frames2, beat_pos=np.arange(54, dtype=float))
    long_run = [0, 4, 8, 12, 16, 20, 25, 29, 33, 37, 41, 45, 49, 53]
    mv2 = _Mover(c2, np.asarray(long_run), np.full(54, 60.0), s, frames2[::4], None, None, (), 1.0)
    assert {int(j2) for j2, *_ in mv2.moves(6)} == {24, 26, 27}
    monkeypatch.setattr(cuts_mod, "RUN_MAX", 99)
    assert 20 in {int(j2) for j2, *_ in mover(cut).splits(4)}
    assert mover(joins).merge(5) is not None
    assert 5 in offered(right, 1) and mover(join_right).merge(2) is not None
    assert moved(move, 5) == {20, 22, 23}


def test_moves_keep_a_hero_above_its_contrast(monkeypatch):
    # a beat every 15 frames, bars of eight beats; the hero at beat 6 holds three beats after
    # shots of 1 1 1 3 (median 1: it needs 2 x 15 + 1 frames). Moving the cut at beat 3 to 4
    # makes the shots before it 1 1 2 2 (median 1.5: it would need 46 frames, it has 45), to 5
    # (1 1 3 1) it does not. (The hero's own end moves only later: nothing is cut inside it.)
    import musync.planner.cuts as cuts_mod
    from musync.planner.cuts import _Mover

    s = make_settings("energy", fps=FPS, min_shot=0.3, max_shot=8.0)
    frames = 15 * np.arange(17)
    c = _cands(frames, beat_pos=np.arange(17, dtype=float))
    def moved(cut, k, hero=6):
        mv = _Mover(c, np.array(cut), np.full(17, 45.0), s, frames[::8], None, None, (hero,), 1.0)
        return {int(j2) for j2, *_ in mv.moves(k)}

    cut = [0, 1, 2, 3, 6, 9, 16]
    # the fourth cut before a hero at beat 7 (shots 1 1 2 1 before it, three beats its own):
    # moved from beat 2 to 1, the shots before the hero are 2 1 2 1 (median 1.5)
    far = [0, 2, 3, 4, 6, 7, 10, 16]
    # a hero already short of its contrast (two beats after 1 1 1 3, a frame under): the move
    # to 5 keeps it as short of it (1 1 3 1), the move to 4 more (1 1 2 2)
    short = [0, 1, 2, 3, 6, 8, 16]
    assert moved(cut, 3) == {5} and moved(cut, 5) == {10, 11, 12, 13, 14, 15}
    assert moved(cut, 4) == set()                          # the hero's start never moves
    assert moved(far, 1, hero=7) == set() and moved(short, 3) == {5}
    monkeypatch.setattr(cuts_mod, "HERO_CONTRAST", 0.0)
    assert moved(cut, 3) == {4, 5} and moved(cut, 5) == {10, 11, 12, 13, 14, 15}
    assert moved(far, 1, hero=7) == {1} and moved(short, 3) == {4, 5}


@pytest.mark.parametrize("at,added", [(42, True), (41, False)])
def test_meet_counts_keeps_the_shortest_shot_exactly(at, added):
    # two bars want four cuts and have three; the one candidate left is exactly the shortest
    # shot (12 frames) after a cut, or a frame less
    s = make_settings("energy", fps=FPS, min_shot=0.4, max_shot=8.0)
    assert min_max_frames(s)[0] == 12
    frames = np.array([0, 30, at, 60, 90, 120])
    c = _cands(frames, beat_pos=frames / 15.0)
    start = np.array([0, 1, 3, 4, 5])
    got = meet_counts(c, start, np.full(6, 30.0), s, np.full(6, 2.0 / 60.0), np.array([0, 60, 120]),
                      weight=10.0)
    assert (2 in got.tolist()) is added


def test_meet_counts_prices_the_whole_run_a_cut_would_lengthen(monkeypatch):
    # six two-beat shots, one of four beats, two of two: a cut inside the four-beat shot would
    # bring its bars to the pace's count, but it makes a run of ten equal shots, which costs far
    # more than the count gains; the same cut after shots of other lengths is worth making.
    # The price alone, at a count weight of 1 (RUN_MAX, which would forbid the cut outright,
    # lifted)
    import musync.planner.cuts as cuts_mod

    monkeypatch.setattr(cuts_mod, "RUN_MAX", 99)
    frames = 15 * np.arange(21)
    c = dataclasses.replace(_cands(frames, beat_pos=np.arange(21, dtype=float)),
                            strong=np.arange(21) % 2 == 0)        # the even beats
    s = make_settings("energy", fps=FPS, min_shot=0.3, max_shot=8.0)
    n = frames.size
    bars = frames[::4]
    rate = np.full(n, 2.0 / 60.0)
    rate[:4] = 1.0 / 60.0            # the first bar has the song's start and one cut: as wanted
    target = np.full(n, 30.0)
    start = np.array([0, 2, 4, 6, 8, 10, 12, 16, 18, 20])
    # (the variety floor off: it alone would keep the lengths from evening out)
    assert meet_counts(c, start, target, s, rate, bars, cv_floor=0.0, weight=1.0).tolist() == start.tolist()
    varied = np.array([0, 3, 4, 7, 8, 11, 12, 16, 18, 20])          # 3 1 3 1 3 1 4 2 2 beats
    assert 14 in meet_counts(c, varied, target, s, rate, bars, cv_floor=0.0, weight=1.0).tolist()
    # and where the run would grow after the cut: 3 1 4 2 2 2 2 4 beats, the 4 at beat 4 split
    # makes six two-beat shots in a row, the dearest of them four shots past the cut
    after = np.array([0, 3, 4, 8, 10, 12, 14, 16, 20])
    rate2 = np.repeat([1.0, 2.0, 2.0, 2.0, 1.0, 1.0], [4, 4, 4, 4, 4, 1]) / 60.0
    assert meet_counts(c, after, target, s, rate2, bars, cv_floor=0.0,
                       weight=1.0).tolist() == after.tolist()


@pytest.mark.parametrize("seed", range(200))
def test_meet_counts_ends_where_no_single_move_pays(seed):
    """Against the objective, the count error and the sections' variety written out here: the
    result is never worse than where it started, and no allowed single move (a cut added on a
    strong candidate or a weak cut taken away, never a forced cut, a lock or a hero shot, never
    one that brings a section's CV below the floor) raises it further."""
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(12, 30))
    if seed % 2:
        frames = np.unique(np.r_[0, rng.integers(1, 300, n - 2), 300])
    else:                        # on a beat grid: equal lengths in a row, so the run costs count
        frames = 15 * np.unique(np.r_[0, rng.integers(1, 20, n - 2), 20])
    n = frames.size
    forced = rng.random(n) < 0.15
    forced[0] = forced[-1] = True
    fixed = np.full(n, -1, np.int64)
    if seed % 4 == 0:
        a = int(rng.integers(2, n - 3))
        fixed[a + 1] = a
        forced[a] = forced[a + 1] = True
    c = dataclasses.replace(_cands(frames, rng.normal(0, 1, n), forced, fixed,
                                   np.round(frames / 15.0 * 2) / 2),
                            strong=rng.random(n) < 0.6)
    target = rng.uniform(15, 60, n)
    # a fast pace (cuts to add) or a slow one (cuts to take away)
    rate = rng.uniform(1 / 60, 1 / 12, n) if seed % 4 < 2 else rng.uniform(1 / 150, 1 / 50, n)
    bars = np.arange(int(rng.integers(0, 20)), 301, 40)
    s = make_settings("energy", fps=FPS, min_shot=0.2, max_shot=3.0)
    mn, mx = min_max_frames(s)
    kw = dict(min_len=mn, max_len=mx, lam=4.0, run_cost=(0.0, 0.0, 0.3, 0.9, 1.8, 8.0),
              short_beats=1.25, short_cost=0.35)
    start = choose_cuts(c, target, s)
    free = [j for j in start[1:-1] if not forced[j]]
    heroes = [int(free[0])] if free and seed % 3 == 0 else []
    weight = float(rng.choice([0.5, 1.0, 3.0]))
    sections = np.r_[0, np.sort(rng.choice(np.arange(20, 290, 10), int(rng.integers(0, 5)), replace=False))]
    floor = float(rng.choice([0.0, 0.3, 0.5, 0.8]))
    got = meet_counts(c, start, target, s, rate, bars, keep=heroes, weight=weight, sweeps=100,
                      sections=sections, cv_floor=floor)

    def cvs(path):
        """The shot-length CV of every section (shots belong to the section they start in)."""
        out = []
        for a0, a1 in zip(sections, np.r_[sections[1:], 10**9]):
            L = np.array([frames[j] - frames[i] for i, j in zip(path[:-1], path[1:])
                          if a0 <= frames[i] < a1], float)
            out.append(float(L.std() / L.mean()) if L.size >= 2 else 0.0)
        return np.array(out)

    def keeps_variety(old, new):
        a, b = cvs(old), cvs(new)
        return bool(np.all((b >= floor) | (b >= a - 1e-12)))
    want_bar = _wanted_per_bar(frames, rate, bars)
    J = lambda path: _objective(c, target, path, **kw) - weight * _count_error(c, path, want_bar, bars)  # noqa: E731
    assert J(list(got)) >= J(list(start)) - 1e-9
    # a section at the floor or above stays there; one below it gets no lower
    assert np.all(cvs(list(got)) >= np.minimum(floor, cvs(list(start))) - 1e-9)
    assert set(np.flatnonzero(forced)) <= set(got.tolist())
    for h in heroes:       # the hero and its span are as they were
        nxt = start[list(start).index(h) + 1]
        assert h in got and nxt in got and not any(h < j < nxt for j in got)
    assert all(c.strong[j] for j in set(got) - set(start))
    assert not any(c.strong[j] for j in set(start) - set(got))
    movable = ~forced & (fixed < 0)
    movable[[0, -1]] = False
    for h in heroes:
        nxt = start[list(start).index(h) + 1]
        movable[h:nxt] = False
    inside = (frames >= bars[0]) & (frames < bars[-1])
    best = J(list(got))
    for j in np.flatnonzero(movable & inside):
        have = j in set(got.tolist())
        if have == bool(c.strong[j]):
            continue                 # only strong cuts are added, only weak ones taken away
        path = sorted(set(got.tolist()) ^ {int(j)})
        if _count_error(c, path, want_bar, bars) >= _count_error(c, list(got), want_bar, bars):
            continue                 # a move must bring the count nearer
        if not keeps_variety(list(got), path):
            continue                 # and keep the sections' variety
        assert J(path) <= best + 1e-9, (j, J(path) - best)


def test_make_cuts_and_plan_hold_the_count_per_two_bars(monkeypatch):
    # make_cuts with the bar lines ends nearer the rate's count per two bars than the DP and its
    # rate controller alone; plan() hands it the grid's bar lines
    import musync
    import musync.planner.cuts as cuts_mod
    from musync.planner.cuts import make_cuts

    c, bars = _beats(16)
    s = make_settings("energy", fps=FPS, min_shot=0.3, max_shot=8.0)
    n = len(c)
    target = np.full(n, 60.0)
    rate = np.where(np.arange(n) < n // 2, 1.0, 3.0) / 60.0      # one cut a bar, then three
    want_bar = _wanted_per_bar(c.frames, rate, bars)
    plain, _ = make_cuts(c, target, s, rate=rate, window=120.0)
    held, _ = make_cuts(c, target, s, rate=rate, window=120.0, bars=bars)
    err = lambda cuts: _count_error(c, np.searchsorted(c.frames, cuts.frames), want_bar, bars)  # noqa: E731
    assert err(held) < err(plain)
    seen = []
    real = cuts_mod.meet_counts

    def spy(cands, idx, target, settings, rate, bars, **kw):
        seen.append(np.asarray(bars))
        return real(cands, idx, target, settings, rate, bars, **kw)

    monkeypatch.setattr(cuts_mod, "meet_counts", spy)
    a = grid_analysis(bpm=120.0, bars=16)
    musync.plan(a, [clip(i, dur=20.0) for i in range(4)], fps=FPS)
    assert len(seen) == 1
    assert np.array_equal(seen[0], np.round(np.asarray(a.downbeats) * float(FPS)).astype(np.int64))


def test_anticipation_moves_every_cut_exactly_n_frames():
    assert anticipate([0, 30, 61, 90, 120], 2, {61}) == [0, 28, 61, 88, 120]
    assert anticipate([0, 3, 5, 120], 4, set()) == [0, 1, 2, 120]   # never onto the cut before


def test_make_cuts_validates_inputs():
    c = _cands(np.array([0, 10, 20]))
    with pytest.raises(ParameterError):
        choose_cuts(c, np.ones(2), make_settings("energy", fps=FPS))


# -- stage 2a: the pace ------------------------------------------------------------------------

def test_pace_is_longer_when_calm_and_accelerates_into_the_climax():
    secs = ((0, "A", "verse", 0.1), (8, "B", "chorus", 0.6), (16, "C", "chorus", 1.0))
    a = grid_analysis(bars=24, sections=secs, climax_bar=16)
    n = 24 * 60 + 15
    g = music_grid(a, FPS, n)
    s = make_settings("energy", fps=FPS)
    beats = g.beat_frames
    t = target_lengths(g, a, s, beats, shape=False)
    calm = t[(beats > 15) & (beats < 15 + 3 * 60)].mean()
    loud = t[(beats > 15 + 17 * 60) & (beats < 15 + 23 * 60)].mean()
    assert calm > 2.5 * loud
    # the build: the bars before the climax shorten steadily, then the hero shot on the climax
    build = t[(beats >= 15 + 8 * 60) & (beats < 15 + 16 * 60)]
    assert build[0] > 1.4 * build[-1] and np.all(np.diff(build) <= 1e-9)
    hero = t[beats.tolist().index(15 + 16 * 60)]
    assert hero >= 60 and hero >= 2.0 * build[-1]
    # clamped to the shortest and longest shot
    s2 = make_settings("energy", fps=FPS, min_shot=1.0, max_shot=3.0)
    t2 = target_lengths(g, a, s2, beats)
    assert t2.min() >= 30 - 1e-9 and t2.max() <= 90 + 1e-9


@pytest.mark.parametrize("late", [0.0, 0.4 / FPS, -0.4 / FPS])
def test_the_climax_section_is_the_one_the_climax_frame_opens(late):
    # the climax on section C's start, that start a fraction of a frame after (or before) the
    # downbeat: in frames, C starts on the climax frame, so C runs faster (0.8) and B does not,
    # and the slots say the same
    secs = ((0, "A", "verse", 0.2), (8, "B", "verse", 0.4), (16, "C", "chorus", 1.0))
    a = grid_analysis(bars=24, sections=secs, climax_bar=16)
    b, c, *_ = a.sections[1:]
    moved = (a.sections[0], dataclasses.replace(b, end=b.end + late),
             dataclasses.replace(c, start=c.start + late))
    a = dataclasses.replace(a, sections=moved, climax=a.climax + late)
    n = 24 * 60 + 15
    g = music_grid(a, FPS, n)
    climax = 15 + 16 * 60
    assert g.climax_frame == climax and g.climax_section() == 2
    s = make_settings("energy", fps=FPS)
    fr = np.arange(n)
    f = section_factor(g, a, s, fr)
    np.testing.assert_allclose(f[fr < climax], 1.0)
    np.testing.assert_allclose(f[fr >= climax], 0.8)
    cuts = Cuts(frames=np.array([0, 15 + 12 * 60, climax, climax + 60, n]),
                kind=("start", "downbeat", "climax", "beat", "end"), target=np.zeros(5),
                candidate=np.full(5, -1))
    sl = make_slots(cuts, g, a)
    assert sl.section.tolist() == [0, 1, 2, 2]
    assert sl.section_label == ("A", "B", "C", "C")
    assert sl.in_climax.tolist() == [False, False, True, True]
    assert sl.before_climax.tolist() == [True, True, False, False]


def test_outro_sections_run_slower():
    secs = ((0, "A", "verse", 0.5), (8, "B", "outro", 0.5))
    a = grid_analysis(bars=16, sections=secs)
    n = 16 * 60 + 15
    g = music_grid(a, FPS, n)
    fr = np.arange(n)
    f = section_factor(g, a, make_settings("energy", fps=FPS), fr)
    edge = 15 + 8 * 60
    np.testing.assert_allclose(f[fr < edge], 1.0)
    np.testing.assert_allclose(f[fr >= edge], 1.3)


# -- stage 3: slots ----------------------------------------------------------------------------

def test_slots_carry_the_strongest_accent_and_the_role():
    a = grid_analysis(bars=24, sections=((0, "A", "verse", 0.2), (8, "B", "verse", 0.4),
                                         (16, "C", "chorus", 1.0)), climax_bar=16)
    n = 24 * 60 + 15
    g = music_grid(a, FPS, n)
    climax = 15 + 16 * 60
    cuts = Cuts(frames=np.array([0, 15 + 60 + 15, 15 + 12 * 60, climax, climax + 60, n]),
                kind=("start", "beat", "downbeat", "climax", "beat", "end"), target=np.zeros(6),
                candidate=np.full(6, -1))
    sl = make_slots(cuts, g, a)
    # slot 1 runs from beat 5 to the climax: its strongest accent is the start of section B
    # (bar 8: a phrase start where the energy rises)
    assert sl.accent[1] == (15 + 8 * 60) - (15 + 75)
    assert strongest_accent(g, 15 + 75, climax) == sl.accent[1]
    assert sl.role[1:] == ("", "build", "hero", "payoff")
    assert sl.section_label[0] == "A" and sl.section_label[3] == "C"
    lock = Shot(9, "/clips/c000.mp4", 0, 60, climax, climax + 60, locked=True)
    sl2 = make_slots(cuts, g, a, locked=[lock])
    assert sl2.fixed[3] is lock and sl2.fixed[4] is None


# -- stage 4-5: costs and assignment -----------------------------------------------------------

def _units(k, length=300, peaks=()):
    return [Unit(i, f"/c{i}.mp4", 0, length, 0.5, (50.0, 0.0, 0.0), 0.1 * i, tuple(peaks)) for i in range(k)]


def _costs(unit_cost, ok=None, fixed=None, prefer=None, cont=None):
    S, U = unit_cost.shape
    return Costs(unit=unit_cost, ok=np.ones((S, U), bool) if ok is None else ok,
                 continuity=np.zeros(S) if cont is None else cont,
                 fixed=np.full(S, -1, np.int64) if fixed is None else fixed,
                 prefer=np.full(S, -1, np.int64) if prefer is None else prefer, terms={})


def test_assignment_never_puts_one_file_twice_in_a_row():
    units = _units(3)
    cost = np.zeros((12, 3))
    cost[:, 0] = -10.0                       # unit 0 is by far the best everywhere
    got = assign_units(_costs(cost), units)
    assert all(x != y for x, y in zip(got[:-1], got[1:]))
    # the round robin: every file once before any repeat
    assert sorted(got[:3].tolist()) == [0, 1, 2]
    # two units of one file count as the same file
    units2 = [Unit(0, "/a.mp4", 0, 100, 0.5, (50.0, 0, 0), 0.1, ()), Unit(0, "/a.mp4", 100, 200, 0.5, (50.0, 0, 0), 0.2, ()),
              Unit(1, "/b.mp4", 0, 100, 0.5, (50.0, 0, 0), 0.3, ())]
    got2 = assign_units(_costs(np.array([[-5.0, -5.0, 0.0]] * 6)), units2)
    files = [units2[u].clip for u in got2]
    assert all(x != y for x, y in zip(files[:-1], files[1:]))


def test_assignment_avoids_a_repeat_wherever_some_assignment_does():
    # oracle: every assignment, enumerated; where one without the same file twice in a row
    # exists, the beam's has none either (the cheap path into a slot only one file can fill
    # must give way to a dearer one that leaves that file free)
    n = 0
    for seed in range(300):
        rng = np.random.default_rng(seed)
        S, U = int(rng.integers(3, 7)), int(rng.integers(2, 5))
        ok = rng.random((S, U)) < 0.5
        ok[np.arange(S), rng.integers(0, U, S)] = True
        if not any(all(a != b for a, b in zip(p[:-1], p[1:]))
                   for p in itertools.product(*[np.flatnonzero(r) for r in ok])):
            continue
        n += 1
        got = assign_units(_costs(rng.normal(0.0, 1.0, (S, U)), ok=ok), _units(U))
        assert all(ok[np.arange(S), got])
        assert all(a != b for a, b in zip(got[:-1], got[1:])), (seed, ok.astype(int).tolist(), got)
    assert n > 200


def test_assignment_looks_ahead_to_a_locked_shot():
    units = _units(3)
    cost = np.zeros((5, 3))
    cost[3, 0] = -10.0        # slot 3 would love unit 0, but slot 4 is locked to unit 0
    fixed = np.array([-1, -1, -1, -1, 0])
    got = assign_units(_costs(cost, fixed=fixed), units)
    assert got[4] == 0 and got[3] != 0
    # with spacing 2, not even two slots before
    got2 = assign_units(_costs(np.where(np.arange(3)[None, :] == 0, -10.0, 0.0) * np.ones((5, 1)), fixed=fixed),
                        units, spacing=2)
    assert got2[3] != 0 and got2[2] != 0


def test_assignment_keeps_a_preferred_unit_outside_the_round_robin():
    units = _units(3)
    cost = np.zeros((4, 3))
    prefer = np.array([-1, -1, 0, -1])
    cost[2, 0] -= 5.0
    got = assign_units(_costs(cost, prefer=prefer), units)
    assert got[2] == 0


def test_in_point_lands_the_peak_on_the_accent():
    u = Unit(0, "/c.mp4", 10, 400, 0.5, (50.0, 0, 0), 0.3, ((100, 0.9), (300, 0.5)))
    assert choose_in_point(u, 60, 12, []) == (88, True)        # 100 - 12
    # the strongest peak's range is taken: the next one is used, still on the accent
    assert choose_in_point(u, 60, 12, [(88, 148)]) == (288, True)
    # a peak that cannot land (too close to the start) falls back to the centre of the unit
    v = Unit(0, "/c.mp4", 0, 200, 0.5, (50.0, 0, 0), 0.3, ((5, 0.9),))
    assert choose_in_point(v, 60, 30, []) == (70, False)


def test_costs_sum_the_named_terms_and_honour_locks():
    a = grid_analysis(bars=8, sections=((0, "A", "verse", 0.9),))
    n = 8 * 60 + 15
    g = music_grid(a, FPS, n)
    cuts = Cuts(frames=np.array([0, 75, 135, 195, n]), kind=("start", "beat", "beat", "beat", "end"),
                target=np.zeros(5), candidate=np.full(5, -1))
    lock = Shot(0, "/clips/c001.mp4", 0, 60, 135, 195, locked=True)
    sl = make_slots(cuts, g, a, locked=[lock])
    units = source_units([clip(0, motion=0.05, peak=2.0), clip(1, motion=0.9), clip(2, motion=0.5, dur=1.0)], FPS)
    s = make_settings("energy", fps=FPS)
    c = make_costs(sl, units, s)
    assert set(c.terms) == {name for name, _ in COST_TERMS}
    assert np.allclose(c.unit, sum(c.terms.values()))
    assert c.fixed.tolist() == [-1, -1, 1, -1]
    assert not c.ok[0, 2]                      # a 1 s clip cannot fill a 2.5 s shot
    # loud music: the high-motion clip costs less on the motion term
    assert c.terms["motion"][1, 1] < c.terms["motion"][1, 0]
    # a new term is one entry: it shows up in the sum with its weight
    s2 = make_settings("energy", fps=FPS, weights={"brightness_test": 2.0})
    c2 = make_costs(sl, units, s2, terms=COST_TERMS + (("brightness_test", lambda ctx: np.ones((len(ctx.slots), len(ctx.units)))),))
    assert np.allclose(c2.unit - c.unit, 2.0)


def test_source_units_round_peaks_to_the_nearest_frame():
    c = clip(0, dur=4.0, peak=1.0166)      # 30.498 frames -> 30; 1.0172 s -> 30.516 -> 31
    assert source_units([c], FPS)[0].peaks[0][0] == 30
    c = clip(0, dur=4.0, peak=1.0172)
    assert source_units([c], FPS)[0].peaks[0][0] == 31
    u = source_units([clip(0, dur=4.0, usable_in=0.51)], FPS)[0]
    assert (u.lo, u.hi) == (16, 120)        # whole frames inside [0.51, 4.0]


def test_assign_places_in_points_and_keeps_locked_ranges():
    a = grid_analysis(bars=8, sections=((0, "A", "verse", 0.5),))
    n = 8 * 60 + 15
    g = music_grid(a, FPS, n)
    cuts = Cuts(frames=np.array([0, 75, 195, n]), kind=("start", "beat", "beat", "end"),
                target=np.zeros(4), candidate=np.full(4, -1))
    lock = Shot(0, "/clips/c000.mp4", 7, 127, 75, 195, locked=True)
    sl = make_slots(cuts, g, a, locked=[lock])
    units = source_units([clip(0, dur=20, peak=10.0), clip(1, dur=20, peak=5.0)], FPS)
    s = make_settings("energy", fps=FPS)
    res = assign(make_costs(sl, units, s), sl, units)
    assert isinstance(res, Assignment)
    assert res.source_in[1] == 7 and res.unit[1] == 0
    for k in (0, 2):
        u = units[res.unit[k]]
        assert u.clip == 1
        if res.peak_hit[k]:
            assert res.source_in[k] + sl.accent[k] == u.peaks[0][0]


def _singles(ok, ident):
    return [np.unique(ident[row]).tolist() for row in ok]


def _random_slots(seed, max_slots, density):
    """A random (S, U) matrix of which units may fill which slot (every slot at least one) and
    the units' identities (some shared): ``(rng, ident, matrix)``."""
    rng = np.random.default_rng(seed)
    S, U = int(rng.integers(2, max_slots)), int(rng.integers(2, 6))
    ident = rng.integers(0, max(2, U - 1), U)
    m = rng.random((S, U)) < density
    m[np.arange(S), rng.integers(0, U, S)] = True
    return rng, ident, m


def _random_locks(rng, ok, share):
    """Lock about ``share`` of the slots of ``ok`` (in place) to one random unit each."""
    S, U = ok.shape
    fixed = np.where(rng.random(S) < share, rng.integers(0, U, S), -1)
    for k in np.flatnonzero(fixed >= 0):
        ok[k] = False
        ok[k, fixed[k]] = True
    return fixed


@pytest.mark.parametrize("seed", range(200))
def test_apart_rule_gives_neighbours_a_second_source_from_before_the_rules(seed):
    # oracle: after the rule, two neighbouring slots are left with one and the same source only
    # where neither unlocked slot of the pair had another source before the material rules;
    # nothing is taken away; a unit comes back from the wider matrix only where the narrower
    # one had no other source for that slot
    from musync.planner.costs import apart_rule

    rng, ident, fits = _random_slots(seed, 9, 0.7)
    S, U = fits.shape
    content = fits & (rng.random((S, U)) < 0.8)
    ok = content & (rng.random((S, U)) < 0.4)
    for k in range(S):
        if not ok[k].any():
            ok[k] = content[k] if content[k].any() else fits[k]
    fixed = _random_locks(rng, ok, 0.2)
    out = apart_rule(ok, [content, fits], ident, fixed)
    assert np.all(out >= ok)
    assert np.all(out[fixed >= 0] == ok[fixed >= 0])
    one = _singles(out, ident)
    for k in range(S - 1):
        if len(one[k]) == 1 and one[k] == one[k + 1]:
            i = one[k][0]
            for s in (k, k + 1):
                assert fixed[s] >= 0 or not (fits[s] & (ident != i)).any(), (k, s)
    for k in range(S):
        added = out[k] & ~ok[k]
        if added.any():
            i = np.unique(ident[ok[k]]).tolist()
            assert len(i) == 1 and not np.any(added & (ident == i[0]))
            if (content[k] & (ident != i[0])).any():
                assert not np.any(added & ~content[k])


@pytest.mark.parametrize("seed", range(100))
def test_settle_singles_keeps_a_one_source_slot_s_source_from_its_neighbours(seed):
    # oracle: nothing is added; no slot is emptied; a neighbour (unlocked) of a slot left with
    # one source no longer has that source wherever it has another
    from musync.planner.costs import settle_singles

    rng, ident, ok = _random_slots(seed, 10, 0.35)
    S = ok.shape[0]
    fixed = _random_locks(rng, ok, 0.15)
    out = settle_singles(ok, ident, fixed)
    assert np.all(out <= ok) and np.all(out.any(axis=1))
    assert np.array_equal(out[fixed >= 0], ok[fixed >= 0])
    one = _singles(out, ident)
    for k in range(S):
        if len(one[k]) != 1:
            continue
        for nb in (k - 1, k + 1):
            if 0 <= nb < S and fixed[nb] < 0 and len(one[nb]) > 1:
                assert one[k][0] not in one[nb], (k, nb)


def test_settle_singles_clears_a_chain_the_assignment_would_walk_into():
    # slot 3 only file 0 can fill, slot 2 files 0 and 1, slot 1 file 1 or 2: file 0 leaves
    # slot 2, so file 1 must fill it and leaves slot 1 to file 2, which slot 0 then keeps away from
    from musync.planner.costs import settle_singles

    ident = np.arange(3)
    ok = np.array([[1, 1, 1], [0, 1, 1], [1, 1, 0], [1, 0, 0]], dtype=bool)
    out = settle_singles(ok, ident, np.full(4, -1))
    assert out.astype(int).tolist() == [[1, 1, 0], [0, 0, 1], [0, 1, 0], [1, 0, 0]]
    got = assign_units(_costs(np.zeros((4, 3)), ok=out), _units(3))
    assert got[1:].tolist() == [2, 1, 0]


def test_apart_rule_leaves_a_pair_alone_when_one_clip_alone_fits_both():
    from musync.planner.costs import apart_rule

    ident = np.array([0, 1, 2])
    ok = np.array([[True, False, False], [True, False, False], [True, True, False]])
    out = apart_rule(ok, [ok.copy()], ident, np.full(3, -1))
    assert np.array_equal(out, ok)
    wider = ok.copy()
    wider[1, 2] = True
    out = apart_rule(ok, [wider], ident, np.full(3, -1))
    assert out[1, 2] and out.sum() == ok.sum() + 1
    # a locked slot keeps its unit; its neighbour gets the second source
    fixed = np.array([-1, 0, -1])
    wider[0, 1] = True
    out = apart_rule(ok, [wider], ident, fixed)
    assert np.array_equal(out[1], ok[1]) and out[0, 1] and out.sum() == ok.sum() + 1


def _cv(frames):
    d = np.diff(np.asarray(frames, dtype=float))
    return float(d.std() / d.mean())


def _per_bar(frames, bars):
    f = np.asarray(frames)[1:-1]
    return [int(np.sum((f >= b0) & (f < b1))) for b0, b1 in zip(bars[:-1], bars[1:])]


def test_vary_sections_breaks_an_even_section_inside_its_bars():
    # eight bars, a cut every second beat, every shot two beats: CV 0 -> the floor, with every
    # count per bar as it was, no cut moved onto a weak beat (the last of each bar, whose accent
    # alone would pay for a move there) and the forced cut at bar 4 (a section start) in place
    c, bars = _beats(8, strong_every=1)
    forced = c.forced.copy()
    forced[16] = True
    weak = np.arange(len(c)) % 4 == 3
    c = dataclasses.replace(c, forced=forced, strong=~weak, score=np.where(weak, 1.5, 0.0))
    s = make_settings("energy", fps=FPS, min_shot=0.3, max_shot=8.0)
    n = len(c)
    target = np.full(n, 30.0)
    even = np.arange(0, n, 2)
    sections = np.array([0, 240])
    got = vary_sections(c, even, target, s, bars, sections)
    f = c.frames[got]
    for a, b in ((0, 240), (240, 480)):
        m = (f >= a) & (f <= b)
        assert _cv(f[m]) >= 0.3 - 1e-9, (a, b, f[m])
    assert _per_bar(f, bars) == _per_bar(c.frames[even], bars)
    assert not np.any(weak[got]) and 16 in got.tolist() and got.size == even.size
    assert np.all(np.diff(got) > 0)
    # without the rule about weak beats the same accents do pull cuts there (the test can fail)
    free = vary_sections(dataclasses.replace(c, strong=np.ones(n, bool)), even, target, s, bars, sections)
    assert np.any(weak[free])
    # a section varied enough already, or a floor of 0, is left as it is
    varied = np.array([0, 2, 3, 6, 8, 9, 12, 16, 18, 19, 22, 24, 25, 28, 32])
    c1 = dataclasses.replace(c, strong=np.ones(n, bool), score=np.zeros(n))
    assert _cv(c1.frames[varied[varied <= 16]]) >= 0.3
    assert vary_sections(c1, varied, target, s, bars, sections).tolist()[:8] == varied.tolist()[:8]
    assert vary_sections(c, even, target, s, bars, sections, floor=0.0).tolist() == even.tolist()


def test_vary_sections_moves_a_bar_line_cut_into_the_next_bar_when_the_pace_allows(monkeypatch):
    # cuts on bar lines only (one candidate a bar), every third bar: 12 12 12 12 beats cannot
    # vary inside a bar; with the pace's rate a cut may move to the bar before or after (never
    # two bars), the count error priced (the moves alone: no cut is added)
    import musync.planner.cuts as cuts_mod

    monkeypatch.setattr(cuts_mod, "VARY_SPLITS", 0)
    frames = 60 * np.arange(25)
    c = dataclasses.replace(_cands(frames, beat_pos=4.0 * np.arange(25)), strong=np.ones(25, bool))
    s = make_settings("energy", fps=FPS, min_shot=0.3, max_shot=20.0)
    target = np.full(25, 180.0)
    even = np.arange(0, 25, 3)
    bars = frames
    assert vary_sections(c, even, target, s, bars, None).tolist() == even.tolist()
    rate = np.full(25, 1.0 / 180.0)                 # one cut every three bars: as the plan has it
    got = vary_sections(c, even, target, s, bars, None, rate=rate)
    assert _cv(c.frames[got]) >= 0.3 - 1e-9 and got.size == even.size
    assert np.all(np.abs(got - even) <= 1)
    # the count error per two bars (the oracle's, both pairings) grows by one move's worth at
    # the planner's weight, not at all under a heavy price
    want_bar = np.full(24, 1.0 / 3.0)
    base = _count_error(c, even, want_bar, bars)
    assert _count_error(c, got, want_bar, bars) <= base + 4
    # cuts every second bar, the pace asking for one per two bars (none in the first bar): every
    # move leaves one window of two bars a cut short and another a cut over; a heavy price on the
    # count keeps every cut in its bar, no price lets them move
    two = np.arange(0, 25, 2)
    rate2 = np.full(25, 1.0 / 120.0)
    rate2[0] = 1e-9
    assert vary_sections(c, two, target, s, bars, None, rate=rate2, weight=100.0).tolist() == two.tolist()
    assert vary_sections(c, two, target, s, bars, None, rate=rate2, weight=0.0).tolist() != two.tolist()


def test_vary_sections_adds_a_cut_to_a_long_section_of_two_even_holds(monkeypatch):
    # an eight-bar section (cuts on bar lines only, 60 frames a bar) held in two four-bar shots:
    # no move varies it (moving the middle cut a bar makes a shot longer than the longest, 240
    # frames), so a cut is added on a bar line inside one of them; a section of fewer than eight
    # bars keeps its two holds, and so does one where the count per two bars prices the extra cut
    import musync.planner.cuts as cuts_mod

    frames = 60 * np.arange(9)
    c = _cands(frames, beat_pos=4.0 * np.arange(9))
    s = make_settings("energy", fps=FPS, min_shot=0.3, max_shot=8.0)
    target = np.full(9, 180.0)
    even = np.array([0, 4, 8])
    got = vary_sections(c, even, target, s, frames, np.array([0]))
    f = c.frames[got]
    assert got.size == 4 and np.all(np.diff(got) > 0) and _cv(f) >= 0.3 - 1e-9, f
    assert np.all(np.diff(f) <= 240) and {0, 8} <= set(got.tolist())
    # four bar lines to the section (bars every 120 frames): left alone
    assert vary_sections(c, even, target, s, frames[::2], np.array([0])).tolist() == even.tolist()
    # a pace that asks for no cut at all, the count priced heavily: the extra cut does not pay
    rate = np.full(9, 1e-9)
    assert vary_sections(c, even, target, s, frames, np.array([0]), rate=rate,
                         weight=100.0).tolist() == even.tolist()
    got2 = vary_sections(c, even, target, s, frames, np.array([0]), rate=rate)
    assert got2.size == 4
    # no split allowed: the section stays even (the test can fail)
    monkeypatch.setattr(cuts_mod, "VARY_SPLITS", 0)
    assert vary_sections(c, even, target, s, frames, np.array([0])).tolist() == even.tolist()


def test_vary_sections_joins_two_shots_of_a_long_section_of_even_bars(monkeypatch):
    # eight one-bar shots on a beat grid (15 frames a beat, 60 a bar, the shortest shot a bar):
    # no move inside a bar and no added cut keeps every shot a bar long at least, so a cut is
    # taken away and two bars hold one shot; a forced cut (a section start) stays, and so do the
    # cuts a hero is held against
    import musync.planner.cuts as cuts_mod

    c, bars = _beats(8, strong_every=1)
    n = len(c)
    s = make_settings("energy", fps=FPS, min_shot=2.0, max_shot=8.0)
    target = np.full(n, 60.0)
    every = np.arange(0, n, 4)
    got = vary_sections(c, every, target, s, bars, np.array([0]))
    f = c.frames[got]
    assert got.size == 8 and set(got.tolist()) < set(every.tolist()), got
    assert _cv(f) >= 0.3 - 1e-9 and np.all(np.diff(f) >= 60), f
    forced = c.forced.copy()
    forced[16] = True
    kept = vary_sections(dataclasses.replace(c, forced=forced), every, target, s, bars, np.array([0]))
    assert 16 in kept.tolist() and kept.size == 8 and _cv(c.frames[kept]) >= 0.3 - 1e-9
    # a hero on bar 7: none of the four cuts before it goes (its hold is measured against them)
    hero = vary_sections(c, every, target, s, bars, np.array([0]), keep=[28])
    assert {12, 16, 20, 24, 28} <= set(hero.tolist()) and hero.size == 8, hero
    monkeypatch.setattr(cuts_mod, "VARY_SPLITS", 0)
    assert vary_sections(c, every, target, s, bars, np.array([0])).tolist() == every.tolist()


def ratio_from_start(frames, bars):
    """Cuts per frame over bars 6-7 against bars 0-3 (the song's start and end are no cuts)."""
    f = np.asarray(frames)[1:-1]
    first = np.sum((f >= bars[0]) & (f < bars[4])) / (bars[4] - bars[0])
    last = np.sum((f >= bars[6]) & (f < bars[8])) / (bars[8] - bars[6])
    return last / first


def test_quicken_builds_makes_the_last_bars_of_a_build_cut_faster(monkeypatch):
    # 16 bars, a beat every 15 frames, a build over bars 8-15 into a payoff on bar 16: the DP's
    # cuts are one a bar all through it (no acceleration); the repair adds cuts in the build's
    # last quarter (bars 14-15) or takes them from its first half (bars 8-11) until the cut rate
    # there is 1.6 times the first half's, counted here from the frames
    import musync.planner.cuts as cuts_mod
    from musync.planner.cuts import build_ratio, quicken_builds

    # the ratio itself: 3 cuts over the first half of [0, 80), 2 over its last quarter
    assert build_ratio([10, 20, 30, 65, 75], (0, 80)) == pytest.approx((2 / 20) / (3 / 40))
    assert build_ratio([50, 65], (0, 80)) == np.inf and build_ratio([50], (0, 80)) == 0.0
    # a frame's slack at each edge: a cut a frame before the three quarters (61.5 of 82) is in
    # the last quarter; one a frame before the half (41) is not in the first half, and one a frame
    # before the start is
    assert build_ratio([10, 20, 30, 40, 61, 75], (0, 82)) == pytest.approx(2 * 2 / 3)
    assert build_ratio([-1, 10, 20, 30, 61, 75], (0, 82)) == pytest.approx(2 * 2 / 4)
    assert build_ratio([-2, 10, 20, 30, 60, 75], (0, 82)) == pytest.approx(2 * 1 / 3)
    c, bars = _beats(16, strong_every=2)
    s = make_settings("energy", fps=FPS, min_shot=0.3, max_shot=8.0)
    n = len(c)
    target = np.full(n, 50.0)
    every_bar = np.arange(0, n, 4)
    a, b = int(bars[8]), int(bars[16])

    def ratio(idx):
        f = c.frames[idx][1:-1]
        first = np.sum((f >= a) & (f < bars[12])) / (bars[12] - a)
        last = np.sum((f >= bars[14]) & (f < b)) / (b - bars[14])
        return last / first

    assert ratio(every_bar) == pytest.approx(1.0)
    got = quicken_builds(c, every_bar, target, s, bars, None, [(a, b)])
    assert ratio(got) >= 1.6 - 1e-9
    changed = set(c.frames[got].tolist()) ^ set(c.frames[every_bar].tolist())
    assert changed and all(a <= f < bars[12] or bars[14] <= f < b for f in changed), changed
    assert np.all(np.diff(got) > 0) and got[0] == 0 and got[-1] == n - 1
    # no build (or one of four bars), or a cost cap of nothing: the cuts stay
    # a build that starts a frame after its first bar line is still eight bars long
    late_start = quicken_builds(c, every_bar, target, s, bars, None, [(a + 1, b)])
    assert late_start.tolist() != every_bar.tolist() and ratio(late_start) >= 1.6 - 1e-9
    # cuts are added on accents only while the build is at BUILD_FLOOR or more: with the held
    # half's cuts forced (none can go), the last quarter gains cuts on its accents; with no accent
    # there but the bar lines, on its plain beats (the ratio is 1.0, under the floor), and none
    # with the floor at 1.0 or where those cuts would fall between two beats
    forced = c.forced.copy()
    forced[32:48:4] = True
    held = dataclasses.replace(c, forced=forced)
    got2 = quicken_builds(held, every_bar, target, s, bars, None, [(a, b)])
    assert ratio(got2) > 1.0 and set(got2.tolist()) > set(every_bar.tolist())
    heard = np.ones(n, bool)
    heard[(c.frames >= bars[14]) & (c.frames < b) & (np.arange(n) % 4 != 0)] = False
    deaf = dataclasses.replace(held, accented=heard)
    got3 = quicken_builds(deaf, every_bar, target, s, bars, None, [(a, b)])
    added = set(got3.tolist()) - set(every_bar.tolist())
    assert ratio(got3) > 1.0 and added and not heard[list(added)].any(), added
    assert all(bars[14] <= c.frames[j] < b for j in added), added
    off = deaf.beat_pos.copy()
    off[~heard] += 0.5
    assert quicken_builds(dataclasses.replace(deaf, beat_pos=off), every_bar, target, s, bars, None,
                          [(a, b)]).tolist() == every_bar.tolist()
    monkeypatch.setattr(cuts_mod, "BUILD_FLOOR", 1.0)
    assert quicken_builds(deaf, every_bar, target, s, bars, None, [(a, b)]).tolist() == every_bar.tolist()
    monkeypatch.undo()
    assert quicken_builds(c, every_bar, target, s, bars, None, []).tolist() == every_bar.tolist()
    # a build from the song's first frame: the start is no cut (one cut in the held half, on
    # bar 2, one in the last quarter, on bar 7: 2x already)
    sparse = np.array([0, 8, 16, 20, 28, 32, n - 1])
    assert ratio_from_start(c.frames[sparse], bars) == pytest.approx(2.0)
    assert quicken_builds(c, sparse, target, s, bars, None, [(0, int(bars[8]))]).tolist() == sparse.tolist()
    short = (int(bars[12]), b)
    assert quicken_builds(c, every_bar, target, s, bars, None, [short]).tolist() == every_bar.tolist()

    monkeypatch.setattr(cuts_mod, "BUILD_LOSS", -1e6)
    assert quicken_builds(c, every_bar, target, s, bars, None, [(a, b)]).tolist() == every_bar.tolist()


def test_vary_sections_keeps_locks_heroes_and_the_longest_shot():
    c, bars = _beats(4, strong_every=1)
    n = len(c)
    even = np.arange(0, n, 2)
    s = make_settings("energy", fps=FPS, min_shot=0.3, max_shot=1.0)      # 30 frames at most
    got = vary_sections(c, even, np.full(n, 30.0), s, bars, None)
    assert got.tolist() == even.tolist()            # every move would make a shot too long
    s = make_settings("energy", fps=FPS, min_shot=0.3, max_shot=8.0)
    assert _cv(c.frames[vary_sections(c, even, np.full(n, 30.0), s, bars, None)]) >= 0.3 - 1e-9
    # a locked shot from candidate 2 to 4 (its edges forced, as the candidates make them) and a
    # hero from 8 to 10: none of their cuts moves, whatever the variety wants
    fixed = np.full(n, -1, np.int64)
    fixed[4] = 2
    forced = c.forced.copy()
    forced[[2, 4]] = True
    c2 = dataclasses.replace(c, fixed_prev=fixed, forced=forced)
    got = vary_sections(c2, even, np.full(n, 30.0), s, bars, None, keep=[8])
    assert {2, 4, 8, 10}.issubset(set(got.tolist())), got
    assert got.tolist() != even.tolist()
    # where the hero's start is the only cut that could move, nothing moves
    only = c.forced.copy()
    only[:] = True
    only[[7, 8, 9]] = False
    c3 = dataclasses.replace(c, forced=only)
    assert vary_sections(c3, even, np.full(n, 30.0), s, bars, None).tolist() != even.tolist()
    assert vary_sections(c3, even, np.full(n, 30.0), s, bars, None, keep=[8]).tolist() == even.tolist()
    # a move that costs more than VARY_LOSS of the objective (the accents outweigh even the
    # run of equal lengths it would break) is not made
    rich = dataclasses.replace(c, score=np.where(np.isin(np.arange(n), even), 50.0, -50.0))
    assert vary_sections(rich, even, np.full(n, 30.0), s, bars, None).tolist() == even.tolist()


def test_strengthen_cuts_moves_cuts_off_weak_beats_until_enough_are_on_accents():
    # eight bars, accents heard on the downbeats and the third beats only (``strong`` says every
    # beat, as an energy jump would); the cuts on the second beat of every bar and the downbeat
    # of every other bar: a third of them on an accent -> at least STRONG_SHARE, inside their bars
    c, bars = _beats(8, strong_every=1)
    n = len(c)
    heard = np.arange(n) % 4 != 1
    heard &= np.arange(n) % 4 != 3
    c = dataclasses.replace(c, accented=heard, strong=np.ones(n, bool))
    s = make_settings("energy", fps=FPS, min_shot=0.3, max_shot=8.0)
    target = np.full(n, 30.0)
    start = np.unique(np.r_[0, np.arange(1, n - 1, 4), np.arange(8, n - 1, 8), n - 1])
    share0 = np.mean(heard[start[1:-1]])
    assert share0 < 0.5
    got = strengthen_cuts(c, start, target, s, bars, None)
    assert np.mean(heard[got[1:-1]]) >= STRONG_SHARE - 1e-9
    assert _per_bar(c.frames[got], bars) == _per_bar(c.frames[start], bars)
    assert got.size == start.size and np.all(np.diff(got) > 0)
    # no share asked, or one already met: nothing moves
    assert strengthen_cuts(c, start, target, s, bars, None, share=0.0).tolist() == start.tolist()
    assert strengthen_cuts(c, got, target, s, bars, None).tolist() == got.tolist()
    # where ``accented`` is not given, ``strong`` decides (every beat here: nothing to do)
    plain = dataclasses.replace(c, accented=None)
    assert strengthen_cuts(plain, start, target, s, bars, None).tolist() == start.tolist()
    # a move that costs more than VARY_LOSS (the weak beats' own worth) is not made
    rich = dataclasses.replace(c, score=np.where(np.isin(np.arange(n), start), 50.0, -50.0))
    assert strengthen_cuts(rich, start, target, s, bars, None).tolist() == start.tolist()
    # forced cuts stay where they are, off the accent or not
    fz = c.forced.copy()
    fz[start[1:-1]] = True
    assert strengthen_cuts(dataclasses.replace(c, forced=fz), start, target, s, bars, None).tolist() == start.tolist()


def _strengthen_oracle(c, idx, target, s, bars, sections, rate, share, floor):
    """:func:`strengthen_cuts` priced from scratch: a new mover before every move, the best
    move onto an accent (the earliest cut on a tie), none under the variety ``floor`` of the
    section of the shot before the cut where it was above it, none costing more than
    VARY_LOSS."""
    from musync.planner.cuts import REPAIR_COUNT_WEIGHT, VARY_LOSS, _Mover, _replaced

    heard = c.heard
    cut = np.array(idx)
    inner = cut.size - 2
    for _ in range(inner):
        if np.mean(heard[cut[1:-1]]) >= share:
            break
        mv = _Mover(c, cut, target, s, bars, sections, rate, (), REPAIR_COUNT_WEIGHT)
        best, move = -np.inf, None
        for k in range(1, cut.size - 1):
            if heard[cut[k]]:
                continue
            sums = mv.lengths(mv.section(mv.sec_of[int(cut[k - 1])]))
            cv0 = mv.cv(sums)
            for j2, gain, _, before, after in mv.moves(k):
                if not heard[j2] or gain <= best:
                    continue
                cv1 = mv.cv(_replaced(sums, before, after))
                if cv1 < floor and cv1 < cv0 - 1e-12:
                    continue
                best, move = gain, (k, j2)
        if move is None or best < -VARY_LOSS:
            break
        cut[move[0]] = move[1]
    return cut


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_strengthen_cuts_makes_the_moves_a_repair_priced_from_scratch_would(seed):
    # the repair keeps each cut's best move and prices again only what a move changes; the
    # oracle prices every move afresh (a new mover) before each one, with the same rule: the
    # best move onto an accent, the earliest cut on a tie, none under the section's variety
    # floor (0.5 here, where it decides often) where it was above it, none costing more than
    # VARY_LOSS
    rng = np.random.default_rng(seed)
    n_bars = 32
    frames = 15 * np.arange(4 * n_bars + 1)
    n = frames.size
    heard = (np.arange(n) % 4 == 0) | (rng.random(n) < 0.3)
    c = dataclasses.replace(_cands(frames, score=rng.normal(0.0, 0.4, n), beat_pos=np.arange(n, dtype=float)),
                            accented=heard, strong=np.ones(n, bool))
    s = make_settings("energy", fps=FPS, min_shot=0.3, max_shot=8.0)
    bars = frames[::4]
    sections = [0, 8 * 60, 16 * 60, 24 * 60]
    target = rng.uniform(20.0, 60.0, n)
    rate = rng.uniform(1.0, 3.0, n) / 60.0
    first = [f // 15 for f in sections]                   # the sections' first beats
    start = np.unique(np.r_[0, rng.choice(np.arange(1, n - 1), 70, replace=False), n - 1, first])
    # forced but the last (as where a forced section cut near another forced cut is dropped)
    forced = np.isin(np.arange(n), [0, n - 1] + first[:-1])
    c = dataclasses.replace(c, forced=forced)

    for share in (0.7, 0.95, 1.0):
        got = strengthen_cuts(c, start, target, s, bars, sections, rate=rate, share=share, floor=0.5)
        want = _strengthen_oracle(c, start, target, s, bars, sections, rate, share, 0.5)
        assert got.tolist() == want.tolist(), share
    assert np.mean(heard[got[1:-1]]) > np.mean(heard[start[1:-1]])


def test_strengthen_cuts_prices_again_the_cuts_after_a_section_s_shots():
    # a section that starts between two beats (its first cut is no forced cut): a move changes
    # the variety of the section of the shot before each cut, which is not always the section
    # of the cut itself; the floor at the section's own variation, where it decides
    from musync.planner.cuts import REPAIR_COUNT_WEIGHT, _Mover

    for seed in (0, 1):
        rng = np.random.default_rng(seed)
        n = 193
        frames = 15 * np.arange(n)
        heard = (np.arange(n) % 4 == 0) | (rng.random(n) < 0.3)
        c = dataclasses.replace(_cands(frames, score=rng.normal(0.0, 0.4, n), beat_pos=np.arange(n, dtype=float)),
                                accented=heard, strong=np.ones(n, bool))
        s = make_settings("energy", fps=FPS, min_shot=0.3, max_shot=8.0)
        bars = frames[::4]
        sections = [0, 15 * 150 + 7]
        target = rng.uniform(20.0, 60.0, n)
        rate = rng.uniform(1.0, 3.0, n) / 60.0
        start = np.unique(np.r_[0, rng.choice(np.arange(1, n - 1), 100, replace=False), n - 1])
        cv0 = _Mover(c, start, target, s, bars, sections, rate, (), REPAIR_COUNT_WEIGHT)
        cv0 = cv0.cv(cv0.lengths(cv0.section(0)))
        for d in (-0.02, -0.005, 0.0, 0.005, 0.02):
            got = strengthen_cuts(c, start, target, s, bars, sections, rate=rate, share=1.0, floor=cv0 + d)
            want = _strengthen_oracle(c, start, target, s, bars, sections, rate, 1.0, cv0 + d)
            assert got.tolist() == want.tolist(), (seed, d)


def test_a_mover_prices_again_every_move_a_move_changes():
    # after each move (inside a bar or into the next; cuts on beats and half-beats, eight
    # candidates a bar, the count per two bars priced), every cut's moves as the mover has them
    # -- kept or priced again -- are those a mover made afresh on the new cuts finds. (A move
    # into the next bar changes the count error of moves up to two bars away, which can be more
    # cuts away than the DP's reach.)
    from musync.planner.cuts import _Mover

    rng = np.random.default_rng(0)
    n = 8 * 24 + 1
    frames = 8 * np.arange(n)
    c = _cands(frames, score=rng.normal(0.0, 0.4, n), beat_pos=np.arange(n) / 2.0)
    s = make_settings("energy", fps=FPS, min_shot=0.25, max_shot=8.0)
    bars = frames[::8]
    target = rng.uniform(20.0, 60.0, n)
    rate = rng.uniform(1.0, 3.0, n) / 60.0
    # a run of equal lengths that reaches far (3 3 3 3 3 ... beats), then a dense stretch
    dense = np.arange(80, n - 1)
    cut = np.unique(np.r_[0, np.arange(6, 80, 6), dense[rng.random(dense.size) < 0.6], n - 1])
    args = (c, cut, target, s, bars, None, rate, (), 4.0)
    mv = _Mover(*args)
    for k in range(1, cut.size - 1):
        mv.moves(k)                                          # all priced once
    crossed = 0
    for step in range(60):
        k = int(rng.integers(1, mv.cut.size - 1))
        options = mv.moves(k)
        if not options:
            continue
        j2, _, d_err, *_ = options[int(rng.integers(len(options)))]
        crossed += mv.bar_of[j2] != mv.bar_of[int(mv.cut[k])]
        mv.apply(k, j2, d_err)
        fresh = _Mover(c, mv.cut.copy(), *args[2:])
        for q in range(1, mv.cut.size - 1):
            a = [(j, round(g, 9)) for j, g, *_ in mv.moves(q)]
            b = [(j, round(g, 9)) for j, g, *_ in fresh.moves(q)]
            assert a == b, (step, q)
    assert crossed >= 5
    # a run of seven three-beat shots that ends where a cut beyond the DP's reach moves: the
    # cut before the run's first shot reads that run (its move's run check scans into it)
    c1 = _cands(15 * np.arange(57))
    cut1 = np.array([0, 5, 7, 9, 11, 13, 15, 17, 19, 21, 24, 27, 30, 33, 36, 39, 42, 46, 51, 56])
    args1 = (c1, cut1, np.full(57, 40.0), s, np.array([0, 10 ** 6, 2 * 10 ** 6]), None, None, (), 1.0)
    mv1 = _Mover(*args1)
    for k in range(1, cut1.size - 1):
        mv1.moves(k)
    mv1.apply(16, 41, 0.0)
    fresh1 = _Mover(c1, mv1.cut.copy(), *args1[2:])
    for q in range(1, cut1.size - 1):
        assert [j for j, *_ in mv1.moves(q)] == [j for j, *_ in fresh1.moves(q)], q


def test_strengthen_cuts_keeps_a_section_varied():
    # shots of 1 and 3 beats in turn, every other cut off the accents (the even beats): each move
    # onto an accent evens a pair out to 2 + 2 beats, so under a variety floor of 0.45 none is
    # made; with no floor they are
    c, bars = _beats(4, strong_every=1)
    n = len(c)
    heard = np.arange(n) % 2 == 0
    c = dataclasses.replace(c, accented=heard, strong=np.ones(n, bool))
    s = make_settings("energy", fps=FPS, min_shot=0.3, max_shot=8.0)
    start = np.array([0, 1, 4, 5, 8, 9, 12, 13, 16])               # 1 3 1 3 1 3 1 3 beats
    assert _cv(c.frames[start]) >= 0.45
    got = strengthen_cuts(c, start, np.full(n, 30.0), s, bars, None, floor=0.45)
    assert got.tolist() == start.tolist()
    free = strengthen_cuts(c, start, np.full(n, 30.0), s, bars, None, floor=0.0)
    # ... six of the seven: the last move would make a long run of two-beat shots, which the
    # DP's run cost prices above VARY_LOSS
    assert np.sum(heard[free[1:-1]]) == 6 and _longest_equal_run(np.diff(c.beat_pos[free])) <= 4
