"""Analysis on music that is not a click track: the metrical level people tap, metre with a weak
downbeat, quiet steady recordings, the user's overrides, and the human-annotated real recordings."""

from __future__ import annotations

import numpy as np
import pytest

import musync
from musync.analysis import analyze_signal
from musync.errors import ParameterError
from musync.testing import make_song

SR = 22050
FORM = [("verse", 8), ("chorus", 8)]


def f_measure(ref, est, tol=0.07):
    import mir_eval

    return float(mir_eval.beat.f_measure(np.asarray(ref, float), np.asarray(est, float), tol))


def abs_offset(ref, est, tol=0.07):
    d = [est[np.argmin(np.abs(est - r))] - r for r in ref]
    d = np.array([x for x in d if abs(x) <= tol])
    return float(np.mean(np.abs(d)))


@pytest.mark.parametrize("kw", [
    dict(bpm=90, hats=2),             # backbeat with eighth-note hats: must not double to 180
    dict(bpm=60, hats=4),             # slow, sixteenth hats: must not be 120 or 240
    dict(bpm=96, hats=2, swing=0.33),  # swung eighths
    dict(bpm=174),                    # fast backbeat: must not halve
])
def test_tempo_level_is_the_song_beat(kw):
    s = make_song(form=FORM, humanize=0.01, seed=1, **kw)
    a = analyze_signal(s.y, SR)
    assert not a.fallback
    assert abs(a.tempo - kw["bpm"]) / kw["bpm"] < 0.02, a.tempo
    assert f_measure(s.beats, a.beats) >= 0.95
    # the runner-up level is reported, at another octave
    alt = a.tempo_alternatives[0]["bpm"]
    assert min(abs(np.log2(alt / a.tempo) - k) for k in (-2, -1, 1, 2, np.log2(1 / 3))) < 0.05
    assert 0.0 < a.tempo_alternatives[0]["score"] < a.confidences["tempo_level"] <= 1.0


def test_waltz_with_weak_downbeat():
    s = make_song(bpm=108, beats_per_bar=3, downbeat_gain=0.3, form=FORM, pickup=1, humanize=0.005, seed=2)
    a = analyze_signal(s.y, SR)
    assert a.beats_per_bar == 3
    assert abs(a.tempo - 108) < 2
    assert f_measure(s.downbeats, a.downbeats) >= 0.9


def test_quiet_acoustic_recording_does_not_fall_back():
    s = make_song(bpm=84, acoustic=True, peak_db=-32.0, form=FORM, humanize=0.01, seed=3)
    a = analyze_signal(s.y, SR)
    assert not a.fallback
    assert not any("no steady pulse" in w for w in a.warnings)
    assert abs(a.tempo - 84) < 2
    assert f_measure(s.beats, a.beats) >= 0.9


def test_beats_follow_the_pulse_not_each_played_note():
    # notes jitter by 15 ms (sd); the beat is the line through its neighbours: about 7 ms off the
    # grid, against about 12 ms for beats placed on each played note
    s = make_song(bpm=120, humanize=0.015, form=FORM, seed=4)
    a = analyze_signal(s.y, SR)
    assert f_measure(s.beats, a.beats) >= 0.97
    assert abs_offset(s.beats, a.beats) < 8.5e-3


def test_overrides_rephase_the_grid():
    s = make_song(bpm=100, hats=2, form=FORM, seed=5)
    auto = analyze_signal(s.y, SR)
    assert abs(auto.tempo - 100) < 1.5
    fast = analyze_signal(s.y, SR, tempo_octave="x2")
    assert abs(fast.tempo - 200) < 3 and not fast.fallback
    assert f_measure(s.beats, fast.beats[::2]) >= 0.9 or f_measure(s.beats, fast.beats[1::2]) >= 0.9
    assert fast.tempo_alternatives[0]["bpm"] == pytest.approx(auto.tempo, rel=0.01)
    half = analyze_signal(s.y, SR, tempo_octave="half")
    assert abs(half.tempo - 50) < 1.0
    forced = analyze_signal(s.y, SR, tempo=150.0)
    assert abs(forced.tempo - 150) < 3
    # a downbeat on beat 2 of the true bars: bars now count from there
    t = float(s.beats[9])
    d = analyze_signal(s.y, SR, downbeat=t)
    assert np.min(np.abs(d.downbeats - t)) < 0.03
    assert f_measure(s.beats[9::4], d.downbeats) >= 0.9
    # a downbeat between two beats shifts the whole grid onto it
    mid = float(s.beats[9] + s.beats[10]) / 2
    m = analyze_signal(s.y, SR, downbeat=mid)
    assert np.min(np.abs(m.beats - mid)) < 0.01 and np.min(np.abs(m.downbeats - mid)) < 0.01
    with pytest.raises(ParameterError):
        analyze_signal(s.y, SR, tempo_octave="x3")
    with pytest.raises(ParameterError):
        analyze_signal(s.y, SR, tempo=120.0, tempo_octave="x2")


def _read(path):
    rows = np.loadtxt(path, ndmin=2)
    return rows[:, 0], rows[rows[:, 1] == 1, 0]


def test_annotated_real_recordings(shared_data):
    folder = shared_data / "audio" / "annotated"
    refs = sorted(folder.glob("*.beats"))
    if not refs:
        pytest.skip("no annotated recordings")
    f, down, acc, fallback = [], [], [], []
    for ref_path in refs:
        audio = [p for p in folder.glob(ref_path.stem + ".*") if p.suffix != ".beats"][0]
        beats, downs = _read(ref_path)
        a = musync.analyze(audio, use_cache=False)
        ref_tempo = 60.0 / np.median(np.diff(beats))
        f.append(f_measure(beats, a.beats))
        down.append(f_measure(downs, a.downbeats))
        acc.append(abs(a.tempo - ref_tempo) <= 0.04 * ref_tempo)
        fallback.append(a.fallback)
        if ref_path.stem == "hainsworth_001":  # 100 BPM rock, once tracked at 200
            assert abs(a.tempo - 100) < 4
        if ref_path.stem == "gtzan_country_00000":  # 84 BPM, eighth-note strums, once at 168
            assert abs(a.tempo - ref_tempo) <= 0.04 * ref_tempo
        if ref_path.stem == "fof_tutorial":  # steady 120 BPM; once left the grid twice (F 0.56)
            assert f[-1] >= 0.95
            assert down[-1] >= 0.9  # bars once on beat 3 (F 0): beats 1 and 3 alike, starts on 1
    # measured floors (README status): the targets are beat F 0.85, downbeat F 0.75 and
    # tempo acc1 0.85; what musync reaches today is below them
    assert np.mean(f) >= 0.76
    assert np.mean(down) >= 0.66
    assert np.mean(acc) >= 6 / 7 - 1e-9
    assert not any(fallback)  # no steady recording gets the fallback grid, not even 5 s of one


def _strummed_backbeat(bpm, dur=30.0, sr=22050, seed=0):
    """Kick on beats 1 and 3, snare on 2 and 4, and an even strummed chord on every eighth --
    nothing faster: the eighths are the fastest pulse, and each of them is as loud as a beat."""
    rng = np.random.default_rng(seed)
    n = int(dur * sr)
    y = np.zeros(n)
    t = np.arange(int(0.25 * sr)) / sr
    kick = np.sin(2 * np.pi * (50 + 60 * np.exp(-t / 0.03)) * t) * np.exp(-t / 0.12)
    snare = rng.standard_normal(t.size) * np.exp(-t / 0.05) * 0.6
    strum = sum(np.sin(2 * np.pi * f * k * t) / k for f in (196.0, 246.9, 293.7, 392.0)
                for k in (1, 2, 3)) * np.exp(-t / 0.08) * 0.075
    k, at = 0, 0.5
    while at < dur - 0.3:
        for sound, play in ((strum, True), (kick, k % 4 == 0), (snare, k % 4 == 2)):
            if play:
                i = int(at * sr)
                y[i:i + sound.size] += sound[: n - i]
        k += 1
        at += 30.0 / bpm
    return (0.5 * y / np.abs(y).max()).astype(np.float32), sr


@pytest.mark.parametrize("bpm", [80, 88])
def test_backbeat_over_strummed_eighths_is_not_doubled(bpm, monkeypatch):
    """The eighth-note strums are the fastest pulse; the kick and snare make the beat."""
    y, sr = _strummed_backbeat(bpm)
    assert abs(analyze_signal(y, sr).tempo - bpm) < 0.02 * bpm
    from musync.analysis import beats

    monkeypatch.setattr(beats, "BACKBEAT_WEIGHT", 0.0)  # without the backbeat cue it doubles
    assert abs(analyze_signal(y, sr).tempo - 2 * bpm) < 0.04 * bpm


def _pulses(n_frames, period, phase=0.0, height=1.0):
    env = np.zeros(n_frames)
    idx = np.round(np.arange(phase, n_frames - 1, period)).astype(int)
    env[idx] = height
    return env


def test_subdivision_contrast_tells_beats_from_the_fastest_pulse():
    from musync.analysis.beats import subdivision_contrast

    rng = np.random.default_rng(3)
    n, period = 20000, 120.0
    beats = np.arange(0, n - period, period)
    floor = 0.05 * rng.random(n)
    bare = floor + _pulses(n, period)                                   # nothing between the beats
    eighths = bare + _pulses(n, period, period / 2, 0.5)                # half-strength eighths
    triplets = bare + _pulses(n, period / 3, period / 3, 0.4) * (np.arange(n) % period > 1)
    assert subdivision_contrast(bare, beats) < 0.05
    assert 0.4 < subdivision_contrast(eighths, beats) < 0.6
    assert 0.3 < subdivision_contrast(triplets, beats) < 0.5
    # played a little late (a sixteenth of a beat is allowed for)
    late = floor + _pulses(n, period) + _pulses(n, period, period / 2 + 6, 0.5)
    assert subdivision_contrast(late, beats) > 0.4


def test_cli_tempo_options(tmp_path, capsys):
    import json

    from musync.cli import main

    s = make_song(bpm=90, hats=2, form=[("verse", 4), ("chorus", 4)], seed=6)
    p = s.write(tmp_path / "song.wav")
    assert main(["analyze", str(p), "--no-cache", "--json", str(tmp_path / "a.json")]) == 0
    out = capsys.readouterr().out
    d = json.loads((tmp_path / "a.json").read_text())
    assert abs(d["tempo"] - 90) < 1.5 and d["tempo_alternatives"] and "other tempo" in out
    assert main(["analyze", str(p), "--no-cache", "--tempo-octave", "x2", "--json", "-"]) == 0
    assert abs(json.loads(capsys.readouterr().out)["tempo"] - 180) < 3
    assert main(["analyze", str(p), "--no-cache", "--tempo", "120", "--json", "-"]) == 0
    assert abs(json.loads(capsys.readouterr().out)["tempo"] - 120) < 2
    t = float(s.beats[5])
    assert main(["analyze", str(p), "--no-cache", "--downbeat", f"{t:.3f}", "--json", "-"]) == 0
    downs = np.array(json.loads(capsys.readouterr().out)["downbeats"])
    assert np.min(np.abs(downs - t)) < 0.03
    assert main(["analyze", str(p), "--tempo", "120", "--tempo-octave", "half"]) == 2
    assert main(["analyze", str(p), "--tempo-octave", "x3"]) == 2


def _grid_with_departure(start, stop, shift=0.3, n=100, period=50.0):
    grid = 100.0 + period * np.arange(n)
    t = grid.copy()
    t[start:stop] += shift * period
    return grid, t


def test_bridge_departures_restores_the_grid_only_where_it_holds_on_both_sides():
    from musync.analysis.beats import BRIDGE_ANCHOR, bridge_departures

    assert BRIDGE_ANCHOR == 8
    grid, t = _grid_with_departure(40, 60)          # 40 on-grid beats before, 40 after
    out, filled = bridge_departures(t)
    np.testing.assert_allclose(out, grid)
    assert filled.sum() == 20 and filled[40:60].all()
    # the callback sees the departed beats and may refuse
    seen = []
    out, filled = bridge_departures(t, lambda dep, fill: seen.append((dep.start, dep.stop, fill.size)) or False)
    np.testing.assert_array_equal(out, t)
    assert seen == [(40, 60, 20)] and not filled.any()
    # exactly 8 anchor beats on each side are enough, 7 are not
    for start, stop, bridged in ((8, 30, True), (7, 30, False), (70, 92, True), (70, 93, False), (0, 20, False)):
        grid, t = _grid_with_departure(start, stop)
        out, _ = bridge_departures(t)
        assert np.allclose(out, grid) if bridged else np.array_equal(out, t), (start, stop)
    # one stray beat is jitter, not a departure
    _, t = _grid_with_departure(50, 51)
    np.testing.assert_array_equal(bridge_departures(t)[0], t)
    # two departures with only 7 on-grid beats between them: neither has its anchors
    grid, t = _grid_with_departure(20, 30)
    t[37:45] += 0.3 * 50.0
    np.testing.assert_array_equal(bridge_departures(t)[0], t)
    # a departure of 45 % of the song is still a departure from the grid the rest holds
    grid, t = _grid_with_departure(15, 60, shift=0.15)
    np.testing.assert_allclose(bridge_departures(t)[0], grid)
    # the beat DP can also add or drop a beat inside the departure: the grid count wins
    grid, t = _grid_with_departure(40, 60)
    extra = np.sort(np.concatenate([t, [t[50] + 20.0]]))
    np.testing.assert_allclose(bridge_departures(extra)[0], grid)
    with pytest.raises(ParameterError):
        bridge_departures(t, anchor=0)


def _envelope_track(beat_times, extra=(), weak=()):
    """Beat times tracked on a hand-built onset envelope with a peak at every time (s) of
    ``beat_times`` (height 0.45 at the indices ``weak``, else 1) and at every time of ``extra``."""
    from dataclasses import replace

    from musync.analysis import beats as B
    from musync.analysis.features import compute_features

    rng = np.random.default_rng(0)
    feat = compute_features((0.01 * rng.standard_normal(SR * 82)).astype(np.float32), SR)
    x = np.arange(feat.oenv.size)
    at = feat.fine_frame
    peaks = [(at(t), 0.45 if i in weak else 1.0) for i, t in enumerate(beat_times)] + [(at(t), 1.0) for t in extra]
    env = sum(h * np.exp(-0.5 * ((x - c) / 1.5) ** 2) for c, h in peaks) + 0.02 * rng.random(x.size)
    feat = replace(feat, oenv=env, oenv_low=env, oenv_body=env)
    return B.track_beats(feat).beats, np.asarray(beat_times)


def _off(got, truth, tol=0.035):
    return int(sum(np.min(np.abs(got - t)) > tol for t in truth))


def test_track_holds_a_steady_grid_through_a_syncopated_passage(monkeypatch):
    """120 BPM; for 50 of 150 beats a stronger riff anticipates every beat by 0.7 of a beat (the
    beat itself still sounds, weaker). The free DP follows the riff; the grid holds."""
    from musync.analysis import beats as B

    beat = 0.25 + 0.5 * np.arange(150)
    args = (beat, beat[50:100] + 0.15, set(range(50, 100)))
    assert _off(*_envelope_track(*args)) == 0
    monkeypatch.setattr(B, "BRIDGE_SUPPORT", 0.5)  # the grid's beats carry 0.45 of the riff's onsets
    assert _off(*_envelope_track(*args)) >= 40


def test_track_follows_a_passage_that_slows_down(monkeypatch):
    """For 50 of 150 beats the tempo eases by up to 4 % and back, losing exactly one beat: the
    same grid holds on both sides, but its positions fall between the notes inside, so nothing
    is bridged."""
    from musync.analysis import beats as B

    k = np.arange(150)
    ease = np.where((k >= 50) & (k < 100), 0.02 * (1 - np.cos(2 * np.pi * (k - 50) / 50)), 0.0)
    beat = 0.25 + np.concatenate([[0.0], np.cumsum(0.5 * (1 + ease))[:-1]])
    assert _off(*_envelope_track(beat)) == 0
    monkeypatch.setattr(B, "BRIDGE_SUPPORT", 0.0)  # bridging regardless of the onsets breaks it
    assert _off(*_envelope_track(beat)) >= 20


def _clicks(beat_times, dur, sr=SR, bed_db=None, seed=0):
    """Short noise bursts at ``beat_times`` (s), over an optional steady noise bed (dBFS)."""
    rng = np.random.default_rng(seed)
    y = np.zeros(int(dur * sr))
    if bed_db is not None:
        y += 10 ** (bed_db / 20) * np.sqrt(2) * rng.standard_normal(y.size)
    burst = rng.standard_normal(int(0.05 * sr)) * np.exp(-np.arange(int(0.05 * sr)) / (0.01 * sr))
    for t in beat_times:
        i = int(t * sr)
        y[i:i + burst.size] += 0.5 * burst[: y.size - i]
    return y.astype(np.float32)


def test_music_start_is_the_first_loud_beat():
    from musync.analysis.downbeats import music_start
    from musync.analysis.features import compute_features

    beats = np.arange(0.5, 20.0, 0.5)
    # after half a second of silence the music starts on the first beat
    assert music_start(compute_features(_clicks(beats, 20.0), SR), beats) == 0
    # a quiet lead-in (40 dB down) does not count: the music starts on the beat at 4 s
    quiet = _clicks(beats[beats < 4.0], 20.0) * 0.01 + _clicks(beats[beats >= 4.0], 20.0, seed=1)
    assert beats[music_start(compute_features(quiet, SR), beats)] == 4.0
    # nor does a noise bed 45 dB down before it
    rng = np.random.default_rng(2)
    bed = np.where(np.arange(20 * SR) < 4 * SR, 10 ** (-45 / 20) * rng.standard_normal(20 * SR), 0.0)
    lead = (bed + _clicks(beats[beats >= 4.0], 20.0, seed=1)).astype(np.float32)
    assert beats[music_start(compute_features(lead, SR), beats)] == 4.0
    # a first beat tracked 20 ms after the click is still on it
    assert music_start(compute_features(_clicks(beats, 20.0), SR), beats + 0.02) == 0
    # an excerpt that begins loud, its first beat a fifth of a beat later: no start on a beat
    late = np.arange(0.1, 20.0, 0.5)
    assert music_start(compute_features(_clicks(late, 20.0, bed_db=-12.0), SR), late) is None


@pytest.mark.parametrize("lead, start_prior, first", [
    (4.0, 8.0, 0),     # beat 3 ahead by 4 units over the song: the start decides
    (4.0, 0.0, 2),     # without the prior the song's cues win
    (40.0, 8.0, 2),    # a clear lead is never overruled by the start
])
def test_start_prior_breaks_only_near_ties(monkeypatch, lead, start_prior, first):
    from musync.analysis import downbeats as D

    n = 64
    beats = 0.5 * np.arange(n)
    d = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)      # beats 1 and 3 alike, 2 and 4 weak
    d[2::4] += lead / (n / 4) * 0.75                    # beat 3 ahead by `lead` over the song
    monkeypatch.setattr(D, "downbeat_salience", lambda feat, b: d.copy())
    monkeypatch.setattr(D, "music_start", lambda feat, b: 0)
    monkeypatch.setattr(D, "START_PRIOR", start_prior)
    down, bpb, *_ = D.estimate_downbeats(None, beats, beats_per_bar=4)
    assert bpb == 4
    assert down[0] == beats[first]


def test_short_inputs_fall_back_only_when_they_sound_like_noise(monkeypatch):
    from musync.analysis import beats as B
    from musync.analysis.features import compute_features

    rng = np.random.default_rng(5)
    noise = (0.3 * rng.standard_normal(5 * SR)).astype(np.float32)
    clicks = _clicks(np.arange(0.3, 5.0, 0.42), 5.0, bed_db=-30.0)
    assert B.onset_peakiness(compute_features(noise, SR).oenv) < 2.6
    assert B.onset_peakiness(compute_features(clicks, SR).oenv) > 5.0
    a = analyze_signal(noise, SR)
    assert a.fallback and "no steady pulse" in a.warnings[0]
    # a short steady recording the significance test cannot tell from noise (as 5 s of a dense
    # trio): kept, with a warning -- also over digital silence and inside a longer silent file
    monkeypatch.setattr(B, "pulse_significance", lambda *args: 1.0)
    bare = _clicks(np.arange(0.3, 5.0, 0.42), 5.0)
    padded = np.concatenate([bare, np.zeros(20 * SR, dtype=np.float32)])
    for y in (clicks, bare, padded):
        a = analyze_signal(y, SR)
        assert not a.fallback and "too short" in a.warnings[0] and len(a.warnings) == 1
    # ten seconds are enough for the test to be believed: no pulse, the fallback grid
    long = _clicks(np.arange(0.3, 10.0, 0.42), 10.0, bed_db=-30.0)
    assert analyze_signal(long, SR).fallback
