"""Analysis: beats, downbeats, sections, energy, bad input, JSON, cache."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
import soundfile as sf

import musync
from musync.analysis import analyze_signal
from musync.errors import MediaError, OutputExistsError, ParameterError
from musync.media import ffmpeg_exe
from musync.testing import click_track, make_song, write_wav

SR = 22050


def f_measure(ref, est, tol=0.07):
    ref, est = np.asarray(ref), np.asarray(est)
    if ref.size == 0 or est.size == 0:
        return 0.0
    used = np.zeros(est.size, bool)
    hits = 0
    for r in ref:
        d = np.abs(est - r)
        d[used] = np.inf
        j = int(np.argmin(d))
        if d[j] <= tol:
            used[j] = True
            hits += 1
    p, r = hits / est.size, hits / ref.size
    return 0.0 if hits == 0 else 2 * p * r / (p + r)


def mean_offset(ref, est, tol=0.07):
    d = []
    for r in ref:
        j = int(np.argmin(np.abs(est - r)))
        if abs(est[j] - r) <= tol:
            d.append(est[j] - r)
    return float(np.mean(d))


@pytest.mark.parametrize("bpm,bpb,pickup", [(60, 4, 0), (90, 3, 2), (120, 4, 1), (174, 4, 0), (120, 3, 0)])
def test_click_track_beats_tempo_downbeats(bpm, bpb, pickup):
    y, beats, downs = click_track(bpm=bpm, duration=24.0, sr=SR, beats_per_bar=bpb, pickup=pickup)
    a = analyze_signal(y, SR)
    assert not a.fallback
    assert f_measure(beats, a.beats) >= 0.97
    assert abs(a.tempo - bpm) / bpm < 0.01
    assert abs(mean_offset(beats, a.beats)) < 0.005
    # first and last beats kept
    assert abs(a.beats[0] - beats[0]) < 0.02 and abs(a.beats[-1] - beats[-1]) < 0.02
    assert a.beats_per_bar == bpb
    assert f_measure(downs, a.downbeats) >= 0.95


@pytest.mark.parametrize("kw", [dict(bpm=120, pickup=1), dict(bpm=90, beats_per_bar=3, pickup=2, humanize=0.01,
                                                                tempo_drift=0.03, seed=1)])
def test_synthetic_song_grid_sections_climax(kw):
    s = make_song(**kw)
    a = analyze_signal(s.y, SR)
    assert f_measure(s.beats, a.beats) >= 0.95
    assert a.beats_per_bar == s.beats_per_bar
    assert f_measure(s.downbeats, a.downbeats) >= 0.9
    # every true boundary found within half a second, on a downbeat
    est = np.array([x.start for x in a.sections])
    for start, _end, _label, _kind in s.sections[1:]:
        assert np.min(np.abs(est - start)) < 0.5
    for x in a.sections[1:]:
        assert np.min(np.abs(a.downbeats - x.start)) < 1e-6
    # repeats share a label, different parts do not
    truth_labels = [lab for *_, lab, _k in [(x[0], x[1], x[2], x[3]) for x in s.sections]]
    est_labels = [x.label for x in a.sections]
    assert len(est_labels) == len(truth_labels)
    for i in range(len(truth_labels)):
        for j in range(len(truth_labels)):
            if truth_labels[i] == truth_labels[j]:
                assert est_labels[i] == est_labels[j]
    assert a.sections[0].kind == "intro" and a.sections[-1].kind == "outro"
    assert abs(a.climax - s.climax) < 0.5
    # energy: in [0, 1], about 10 Hz, choruses above verses
    assert a.energy.min() >= 0 and a.energy.max() <= 1
    assert abs(np.median(np.diff(a.energy_times)) - 0.1) < 1e-6
    by_kind = {}
    for x in a.sections:
        by_kind.setdefault(x.kind, []).append(x.energy)
    assert min(by_kind["chorus"]) > max(by_kind["verse"]) > max(by_kind["intro"])


def test_silence_and_noise_give_fallback_grid():
    rng = np.random.default_rng(1)
    for y in (np.zeros(SR * 8), rng.standard_normal(SR * 12) * 0.3, rng.standard_normal(SR * 8) * 1e-4):
        a = analyze_signal(y.astype(np.float32), SR)
        assert a.fallback and a.confidence == 0.0
        assert a.warnings and "grid" in a.warnings[0]
        assert np.allclose(np.diff(a.beats), 0.5)


def test_bad_inputs_raise_media_error_naming_file(tmp_path):
    cases = {}
    cases["missing.wav"] = None
    (tmp_path / "empty.wav").write_bytes(b"")
    cases["empty.wav"] = "empty"
    (tmp_path / "text.wav").write_text("this is not audio\n" * 20)
    cases["text.wav"] = "not"
    # header only
    sf.write(str(tmp_path / "header.wav"), np.zeros((0, 1), np.float32), SR)
    cases["header.wav"] = ""
    bad = np.zeros(SR * 3, np.float32)
    bad[100] = np.nan
    sf.write(str(tmp_path / "nan.wav"), bad, SR, subtype="FLOAT")
    cases["nan.wav"] = "NaN"
    write_wav(tmp_path / "short.wav", np.zeros(SR), SR)
    cases["short.wav"] = "2 s"
    for name, word in cases.items():
        with pytest.raises(MediaError) as exc:
            musync.analyze(tmp_path / name, use_cache=False)
        msg = str(exc.value)
        assert name in msg and "\n" not in msg
        if word:
            assert word in msg


def test_decodes_any_rate_layout_and_container(tmp_path):
    s = make_song(bpm=110, form=[("verse", 4), ("chorus", 4)], sr=SR)
    y48 = np.interp(np.arange(0, s.y.size, SR / 48000), np.arange(s.y.size), s.y).astype(np.float32)
    stereo = np.stack([y48, y48], axis=1)
    six = np.repeat(y48[:, None], 6, axis=1) / 3
    sf.write(str(tmp_path / "stereo48.flac"), stereo, 48000)
    sf.write(str(tmp_path / "six.wav"), six, 48000)
    subprocess.run([ffmpeg_exe(), "-nostdin", "-v", "error", "-i", str(tmp_path / "stereo48.flac"), "-c:a", "aac",
                    "-b:a", "128k", str(tmp_path / "song.m4a")], check=True)
    for name, ch in (("stereo48.flac", 2), ("six.wav", 6), ("song.m4a", 2)):
        a = musync.analyze(tmp_path / name, use_cache=False)
        assert a.audio.channels == ch and a.audio.sample_rate == 48000
        assert abs(a.tempo - 110) < 1.5, name
        assert f_measure(s.beats, a.beats) > 0.9, name


def test_json_round_trip_and_cache(tmp_path):
    s = make_song(bpm=100, form=[("intro", 2), ("verse", 4), ("chorus", 4)])
    p = s.write(tmp_path / "song.wav")
    a = musync.analyze(p)
    out = musync.save_analysis(a, tmp_path / "a.json")
    d = json.loads(out.read_text())
    for key in ("version", "audio", "tempo", "beats_per_bar", "beats", "beat_strength", "downbeats", "sections",
                "energy", "climax", "confidence"):
        assert key in d
    assert set(d["audio"]) >= {"path", "sha256", "duration", "sample_rate", "channels"}
    assert musync.load_analysis(out) == a
    with pytest.raises(OutputExistsError):
        musync.save_analysis(a, out)  # no overwrite without asking
    b = musync.analyze(p)  # cached
    assert b == a
    assert musync.analyze(p, use_cache=False) == a
    c = musync.analyze(p, beats_per_bar=3, use_cache=False)
    assert c.beats_per_bar == 3


def test_analysis_is_deterministic():
    s = make_song(bpm=128, form=[("verse", 4), ("chorus", 4)], seed=3)
    a1, a2 = analyze_signal(s.y, SR), analyze_signal(s.y, SR)
    assert a1.to_dict() == a2.to_dict()


def test_real_songs(shared_data):
    songs = sorted((shared_data / "audio").rglob("*.ogg"))
    assert songs
    for p in songs:
        a = musync.analyze(p, use_cache=False)
        assert a.duration > 20 and len(a.sections) >= 1
        if not a.fallback:
            assert 40 < a.tempo < 240 and len(a.beats) > 10
            assert np.all(np.diff(a.beats) > 0)


def test_silver_beats(shared_data):
    silver = sorted((shared_data / "audio" / "cc_long" / "silver").glob("*.beats"))
    if not silver:
        pytest.skip("no silver references")
    scores = []
    for ref_path in silver:
        song = ref_path.parent.parent / (ref_path.stem + ".ogg")
        ref = np.loadtxt(ref_path)
        a = musync.analyze(song, use_cache=False)
        scores.append(f_measure(ref, a.beats))
    assert np.mean(scores) >= 0.9


def _wide_features(wide, sr=22050, hop=512):
    from musync.analysis.features import Features

    z = np.zeros(wide.size)
    return Features(sr=sr, hop_fine=64, n_fft_fine=512, oenv=z, oenv_low=z, oenv_body=z, hop=hop,
                    chroma=np.zeros((12, wide.size)), mfcc=np.zeros((13, wide.size)), rms_db=z,
                    centroid=z, onset_coarse=z, onset_wide=wide)


def test_beat_strength_is_the_mean_of_the_fine_and_the_wide_onset_measures():
    # the wide frames' flux read within 50 ms of each beat (its largest value), over its own
    # 95th percentile and clipped to 1, averaged with the fine grid's strength; a rise at
    # coarse frame f reports an onset at (f * 512 + 1024 - 512) / sr
    from types import SimpleNamespace

    from musync.analysis import WIDE_REACH, heard_strength

    sr, hop = 22050, 512
    beats = 1.0 + 0.5 * np.arange(20)
    wide = np.zeros(int(12.0 * sr / hop))
    fr = lambda t: int(round((t * sr - 512) / hop))     # noqa: E731  (the frame reporting t)
    want = np.zeros(20)
    for i, b in enumerate(beats):
        v = 1.0 + i                                      # a different height at every beat
        if i == 3:
            wide[fr(b + 0.07)] = 50.0                    # beyond the reach: not this beat's
            continue
        wide[fr(b + (0.035 if i % 2 else -0.035))] = v   # within it (a frame is 23 ms), after or before
        want[i] = v
    wide[fr(beats[5])] = 2.0                             # a smaller value nearer: the largest counts
    assert WIDE_REACH == 0.05
    fine = np.linspace(0.0, 1.2, 20)                     # (clipped to 1 too)
    got = heard_strength(_wide_features(wide), beats, fine)
    ref = np.percentile(want, 95)
    np.testing.assert_allclose(got, 0.5 * (np.minimum(fine, 1.0) + np.minimum(want / ref, 1.0)), atol=1e-12)
    assert got[3] == pytest.approx(0.5 * fine[3]) and got[19] == pytest.approx(1.0)
    # beats on frame centres, a rise three frames (70 ms) before each: it reports an onset 46 ms
    # before the beat, inside the reach (read at the frames' centres, it would be outside)
    on = 40 + 20 * np.arange(20)
    early = np.zeros_like(wide)
    early[on - 3] = 1.0
    got = heard_strength(_wide_features(early), on * hop / sr, np.zeros(20))
    np.testing.assert_allclose(got, 0.5)
    early[on - 3], early[on - 4] = 0.0, 1.0              # four frames (93 ms; 70 ms reported): outside
    assert np.all(heard_strength(_wide_features(early), on * hop / sr, np.zeros(20)) == 0.0)
    # no wide measure, or strengths that do not match the beats: the fine strength as it is
    np.testing.assert_array_equal(heard_strength(SimpleNamespace(onset_wide=None), beats, fine), fine)
    short = fine[:5]
    np.testing.assert_array_equal(heard_strength(_wide_features(wide), beats, short), short)


def test_the_wide_onset_flux_finds_bursts_where_they_are_and_does_not_see_its_blocks():
    from musync.analysis.features import _wide_flux, compute_features

    sr = 22050
    rng = np.random.default_rng(1)
    y = 0.001 * rng.standard_normal(10 * sr)
    times = 0.5 + 0.61 * np.arange(14) + rng.uniform(0.0, 0.02, 14)
    for t in times:
        s, m = int(t * sr), int(0.05 * sr)
        y[s:s + m] += 0.5 * rng.standard_normal(m) * np.exp(-np.arange(m) / (0.01 * sr))
    f = compute_features(y.astype(np.float32), sr)
    tw = f.wide_time(np.arange(f.onset_wide.size))
    off = []
    for t in times:
        near = np.flatnonzero(np.abs(tw - t) < 0.1)
        off.append(tw[near[np.argmax(f.onset_wide[near])]] - t)
    # each burst's rise within a coarse hop (23 ms) of it, none early on average
    assert np.max(np.abs(off)) < 0.0233 and abs(np.mean(off)) < 0.006, off
    # one floor for the whole song (80 dB under its loudest value), whatever the blocks: a
    # quiet stretch before a loud one makes no rise at the block's edge
    lm = np.full((4, 40), -150.0)
    lm[:, 10:20] = -100.0 + rng.uniform(-1.0, 1.0, (4, 10))   # more than 80 dB under the peak
    lm[:, 20:] = -20.0 + rng.uniform(-1.0, 1.0, (4, 20))
    lm[:, 30] += 12.0
    full = np.r_[0.0, np.maximum(np.diff(np.maximum(lm, lm.max() - 80.0), axis=1), 0.0).mean(axis=0)]
    for step in (1, 7, 19, 20, 40, 100):                 # (19: a block starts on the rise)
        np.testing.assert_allclose(_wide_flux(lm, step), full, atol=1e-12)
    assert np.argmax(full) == 20 and np.all(full[1:20] == 0.0) and full[30] > full[31]
