"""Compound metre: 6/8 (two dotted-quarter beats a bar, each in three eighths) against 12/8, 4/4
and 3/4, on synthetic songs with exact truth."""

from __future__ import annotations

import json

import numpy as np
import pytest

from musync.analysis import analyze_signal, beats, downbeats, load_analysis, save_analysis
from musync.errors import ParameterError
from musync.testing import compound_song, make_song
from planner_util import grid_analysis

SR = 22050
FORM = [("verse", 8), ("chorus", 8)]


def f_measure(ref, est, tol=0.07):
    import mir_eval

    return float(mir_eval.beat.f_measure(np.asarray(ref, float), np.asarray(est, float), tol))


def _compound(bpm, beats_per_bar=2, *, dur=30.0, seed=0, humanize=0.0, chord_beats=None):
    s = compound_song(bpm=bpm, beats_per_bar=beats_per_bar, duration=dur, seed=seed, humanize=humanize,
                      chord_beats=chord_beats)
    return s.y, s.sr, s.beats, s.downbeats


@pytest.mark.parametrize("bpm", [60, 80, 100])
def test_six_eight_is_two_dotted_quarters_a_bar(bpm):
    y, sr, ref, downs = _compound(bpm, humanize=0.005, seed=bpm)
    a = analyze_signal(y, sr)
    assert abs(a.tempo - bpm) <= 0.04 * bpm, a.tempo
    assert a.beats_per_bar == 2 and a.beat_division == 3 and a.metre == "6/8"
    assert f_measure(ref, a.beats) >= 0.95
    assert f_measure(downs, a.downbeats) >= 0.9
    assert a.confidences["metre"] >= 0.5
    # the eighth-note levels stay available as the alternatives
    assert any(abs(alt["bpm"] - bpm * k) < 0.04 * bpm * k for alt in a.tempo_alternatives for k in (1.5, 3))


@pytest.mark.parametrize("bpm,mult", [(80, 1.5), (60, 3.0)])
def test_without_the_grouping_in_threes_six_eight_is_tracked_on_eighths(bpm, mult, monkeypatch):
    """Without the grouping of the eighths in threes the 6/8 is tracked on every other eighth
    (the 3:2 error) at 80 and on every eighth at 60."""
    y, sr, *_ = _compound(bpm, humanize=0.005, seed=bpm)
    monkeypatch.setattr(beats, "TERNARY_GROUPING", np.inf)
    a = analyze_signal(y, sr)
    assert abs(a.tempo - mult * bpm) <= 0.04 * mult * bpm, a.tempo
    assert a.metre != "6/8"


@pytest.mark.parametrize("bpm,seed,acoustic,rule", [(195, 1, False, "GROUP_ACCENT"),
                                                    (210, 2, True, "COMPOUND_PAIRING")])
def test_fast_waltz_bars_are_not_dotted_quarters(bpm, seed, acoustic, rule, monkeypatch):
    """A fast waltz's bars are groups of three quarters, as a 6/8 beat is of three eighths; they
    do not pair up, or the quarters inside them are as loud as the first (the snare's "pah pah").
    Each of the two rules alone keeps one of these waltzes in 3/4, off the bar level. (Both are
    tracked at half their written tempo: a separate, older error this test does not pin down.)"""
    s = make_song(bpm=bpm, beats_per_bar=3, hats=0, acoustic=acoustic, form=FORM, humanize=0.01, seed=seed)
    a = analyze_signal(s.y, SR)
    assert a.metre == "3/4" and abs(a.tempo - bpm / 3) > 0.1 * bpm / 3
    monkeypatch.setattr(beats, rule, -np.inf)
    b = analyze_signal(s.y, SR)
    assert abs(b.tempo - bpm / 3) <= 0.04 * bpm / 3   # one beat a bar: the bars taken for beats


def test_six_eight_bar_needs_the_harmonic_rhythm(monkeypatch):
    y, sr, *_ = _compound(80, humanize=0.005, seed=80)
    monkeypatch.setattr(downbeats, "HALF_BAR_CHANGE", 10.0)
    a = analyze_signal(y, sr)
    assert a.beat_division == 3 and a.beats_per_bar == 4


def test_twelve_eight_shuffle_keeps_four_beats(monkeypatch):
    """A 12/8 shuffle at a 90 BPM dotted-quarter pulse, one chord a bar of four: the kick and
    snare alternate every beat exactly as in 6/8, only the chords say the bar has four beats."""
    y, sr, ref, downs = _compound(90, 4, humanize=0.005, seed=9)
    a = analyze_signal(y, sr)
    assert abs(a.tempo - 90) <= 0.04 * 90
    assert a.beats_per_bar == 4 and a.beat_division == 3 and a.metre == "12/8"
    assert f_measure(downs, a.downbeats) >= 0.9
    monkeypatch.setattr(downbeats, "HALF_BAR_CHANGE", -1.0)  # without the harmonic rhythm it is 6/8
    assert analyze_signal(y, sr).metre == "6/8"


def test_six_eight_shuffle_with_chords_every_other_bar_is_reported_as_twelve_eight():
    """The documented limit: with nothing but the harmony to tell the bar, a 6/8 whose chords
    change every other bar sounds like 12/8; the beats are right, every other downbeat is found."""
    y, sr, ref, downs = _compound(80, chord_beats=4, humanize=0.005, seed=8)
    a = analyze_signal(y, sr)
    assert abs(a.tempo - 80) <= 0.04 * 80 and a.metre == "12/8"
    assert f_measure(ref, a.beats) >= 0.95
    assert 0.5 <= f_measure(downs, a.downbeats) <= 0.75


def test_without_chord_changes_the_compound_bar_stays_at_four(monkeypatch):
    """One chord throughout: nothing tells 6/8 from 12/8, and the bar stays at four beats."""
    y, sr, ref, _ = _compound(80, chord_beats=0, humanize=0.005, seed=80)
    a = analyze_signal(y, sr)
    assert a.metre == "12/8" and abs(a.tempo - 80) <= 0.04 * 80 and f_measure(ref, a.beats) >= 0.95
    monkeypatch.setattr(downbeats, "HARMONY_CLEAR", -np.inf)  # reading the chroma's noise as chords
    assert analyze_signal(y, sr).beats_per_bar == 2


def test_fast_compound_half_bars_are_not_bars(monkeypatch):
    """Triplet swing at 140 BPM with a chord every two beats: the two-beat "bar" would last 0.86 s,
    half a bar of a fast swing; it stays four beats."""
    y, sr, *_ = _compound(140, chord_beats=2, seed=14)
    a = analyze_signal(y, sr)
    assert abs(a.tempo - 140) <= 0.04 * 140
    assert a.beat_division == 3 and a.beats_per_bar == 4
    monkeypatch.setattr(downbeats, "MIN_DUPLE_BAR", 0.5)
    assert analyze_signal(y, sr).beats_per_bar == 2


@pytest.mark.parametrize("kw,metre", [
    (dict(bpm=90, hats=2), "4/4"),                   # straight eighths
    (dict(bpm=60, hats=4), "4/4"),                   # straight sixteenths
    (dict(bpm=96, hats=2, swing=0.33), "12/8"),      # triplet swing: divided in three, 4 beats, never 6/8
    (dict(bpm=108, beats_per_bar=3, downbeat_gain=0.3, pickup=1), "3/4"),  # oom-pah-pah waltz
])
def test_simple_metres_and_swing_keep_their_bars(kw, metre):
    s = make_song(form=FORM, humanize=0.01, seed=1, **kw)
    a = analyze_signal(s.y, SR)
    assert abs(a.tempo - kw["bpm"]) <= 0.02 * kw["bpm"]
    assert a.metre == metre
    assert f_measure(s.downbeats, a.downbeats) >= 0.9


def test_beat_division_thirds_against_halves():
    n, period = 20000, 120.0
    rng = np.random.default_rng(5)
    frames = np.arange(0, n - period, period)
    floor = 0.05 * rng.random(n)

    def pulses(step, phase, height):
        env = np.zeros(n)
        env[np.round(np.arange(phase, n - 1, step)).astype(int)] = height
        return env

    bare = floor + pulses(period, 0.0, 1.0)
    eighths = bare + pulses(period, period / 2, 0.5)
    triplets = bare + pulses(period, period / 3, 0.5) + pulses(period, 2 * period / 3, 0.5)
    swing = bare + pulses(period, 2 * period / 3, 0.5)
    assert beats.beat_division(bare, frames)[0] == 2
    assert beats.beat_division(eighths, frames)[0] == 2
    assert beats.beat_division(triplets, frames)[0] == 3
    assert beats.beat_division(swing, frames)[0] == 3
    assert beats.beat_division(eighths + pulses(period, period / 3, 0.2), frames)[0] == 2  # halves win
    # dense sixteenths over a weak half: the quarters keep it binary
    sixteenths = bare + pulses(period / 4, period / 4, 0.8) - pulses(period, period / 2, 0.8)
    sixteenths += pulses(period, period / 3, 0.5) + pulses(period, 2 * period / 3, 0.5)
    assert beats.beat_division(sixteenths, frames)[0] == 2


def test_tatum_grouping_threes_against_twos():
    six = np.tile([3.0, 0.2, 0.2, 1.5, 0.2, 0.2], 8)       # 6/8 eighths: kick, -, -, snare, -, -
    four = np.tile([2.0, 0.0, 1.0, 0.0], 12)               # 4/4 eighths: beats on every other one
    tresillo = np.tile([1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0], 6)  # 3+3+2 over a 4/4 bar
    tern, pair, accent = beats.tatum_grouping(six)
    assert tern > 0.8 and pair > 0.25 and accent > 1.5
    waltz = np.tile([2.0, 1.5, 1.5], 16)                  # oom-pah-pah: every group alike, inner beats loud
    w_tern, w_pair, w_accent = beats.tatum_grouping(waltz)
    assert w_tern > 0.4 and w_pair < pair - 0.25 and w_accent < accent / 3
    assert beats.tatum_grouping(four)[0] < 0.0
    assert beats.tatum_grouping(tresillo)[0] == -np.inf
    assert beats.tatum_grouping(six[:12])[0] == -np.inf   # too short to tell


def test_forced_two_beats_and_json_round_trip(tmp_path):
    y, sr, ref, downs = _compound(80, humanize=0.005, seed=80)
    a = analyze_signal(y, sr)
    p = save_analysis(a, tmp_path / "a.json")
    d = json.loads(p.read_text())
    assert d["beat_division"] == 3 and d["beats_per_bar"] == 2
    assert load_analysis(p) == a
    del d["beat_division"]                                 # a file written before the field
    (tmp_path / "old.json").write_text(json.dumps(d))
    old = load_analysis(tmp_path / "old.json")
    assert old.beat_division == 2 and old.metre == "2/4"
    s = make_song(bpm=100, form=FORM, seed=2)
    forced = analyze_signal(s.y, SR, beats_per_bar=2)
    assert forced.beats_per_bar == 2 and forced.metre == "2/4"
    assert f_measure(s.beats[::2], forced.downbeats) >= 0.9 or f_measure(s.beats[1::2], forced.downbeats) >= 0.9
    with pytest.raises(ParameterError):
        analyze_signal(s.y, SR, beats_per_bar=5)
    with pytest.raises(ParameterError):
        type(a)(**{**{f: getattr(a, f) for f in a.__dataclass_fields__}, "beat_division": 4})


def test_cli_and_planner_take_a_two_beat_bar(tmp_path, capsys):
    import musync
    from musync.cli import main
    from musync.planfile import validate_plan
    from musync.testing import synthetic_clip_infos

    p = compound_song(bpm=80, humanize=0.005, seed=80, duration=24.0).write(tmp_path / "six_eight.wav")
    assert main(["analyze", str(p), "--no-cache"]) == 0
    assert "6/8" in capsys.readouterr().out
    assert main(["analyze", str(p), "--no-cache", "--beats-per-bar", "2", "--json", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["beats_per_bar"] == 2
    a = musync.analyze(p, use_cache=False)
    plan = musync.plan(a, synthetic_clip_infos(12, seed=1), seed=1)
    validate_plan(plan)
    assert plan.metrics["cuts_on_beat"] >= 0.9


@pytest.mark.parametrize("bpb,middle", [(2, 1), (3, None), (4, 2)])
def test_planner_weighs_the_backbeat_of_a_two_beat_bar(bpb, middle):
    """The middle beat of a 6/8 bar (the snare) weighs like beat 3 of a 4/4 bar; a 3/4 bar has none."""
    from musync.planner.music import beat_accents

    a = grid_analysis(bpm=80, bars=8, bpb=bpb, strength=np.full(8 * bpb, 0.5))
    n = a.beats.size
    is_down = np.arange(n) % bpb == 0
    accent, _, _ = beat_accents(a, np.arange(n), is_down, np.zeros(n))
    pos = np.arange(n) % bpb
    assert np.all(accent[is_down] == 1.0)
    for k in range(1, bpb):
        assert np.allclose(accent[pos == k], 0.4 if k == middle else 0.15)
