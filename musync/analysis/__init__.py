"""Listening to the song. Float seconds throughout.

Public functions:

- :func:`analyze` -- decode a song (a path, a file-like object, or a signal ``y, sr``) and return
  its :class:`~musync.types.Analysis`.
- :func:`analyze_signal` -- the same from a mono float signal already in memory.
- :func:`save_analysis` / :func:`load_analysis` -- the versioned JSON file.

The steps live in their own modules: :mod:`.features` (spectral features), :mod:`.beats`
(tempo, beats), :mod:`.downbeats` (metre, downbeats), :mod:`.sections`, :mod:`.energy`.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from .. import cache
from ..errors import MediaError, ParameterError
from ..media import check_input_file, file_sha256, load_audio
from ..types import Analysis, AudioInfo
from .beats import onset_peakiness, track_beats
from .downbeats import estimate_downbeats
from .energy import energy_curve, find_climax, loudness_curve
from .features import compute_features
from .sections import find_sections

__all__ = ["analyze", "analyze_signal", "save_analysis", "load_analysis", "MIN_DURATION", "TEMPO_OCTAVES"]

#: Shortest song musync analyses (seconds).
MIN_DURATION = 2.0
#: Below this loudness (dBFS, loudest second) a song counts as silent.
SILENCE_DB = -55.0
#: Below this many noise deviations (:func:`.beats.pulse_significance`) there is no pulse: the
#: largest of a few hundred autocorrelation lags of noise reaches about 3.
MIN_SIGNIFICANCE = 5.0
#: Below this share of windows agreeing on the tempo the pulse is not steady -- unless the pulse
#: stands far above the noise (:data:`CLEAR_SIGNIFICANCE`), as in a steady but dense mix.
MIN_AGREEMENT = 0.3
CLEAR_SIGNIFICANCE = 10.0
#: Below this many seconds of sound the periodicity test has no power: five seconds of a steady
#: but dense piano and drums duo measure 0.9 noise deviations, as much as noise. A short input
#: then falls back only when its onsets do not stand out of their own fluctuation, as in noise
#: (:func:`.beats.onset_peakiness` below :data:`MIN_PEAKINESS`); otherwise the tracker's pulse is
#: kept, with a warning that it is a guess.
MIN_TEST_SECONDS = 8.0
#: Noise measures 1.8-2.3 (white, pink, brown, amplitude-modulated); 5 s of the shared real
#: recordings 3.1-25 (a thin margin at the low end: a sparse, soft 5 s excerpt may still fall back).
MIN_PEAKINESS = 3.0
#: Tempo of the fallback grid.
FALLBACK_BPM = 120.0

_SR = 22050
_ALGO = 20  # bump when results change, to invalidate caches


def _active_range(feat, duration: float) -> tuple[float, float]:
    """First and last moments within 40 dB of the song's loudest passage."""
    db = feat.rms_db
    thr = max(float(np.max(db)) - 40.0, -65.0)
    on = np.flatnonzero(db > thr)
    if on.size == 0:
        return 0.0, duration
    return float(on[0] * feat.hop / feat.sr), float(min(duration, (on[-1] + 1) * feat.hop / feat.sr))


def _active_part(feat, active: tuple[float, float]) -> np.ndarray:
    """The fine onset envelope between the first and last moments of sound."""
    a, b = np.round(feat.fine_frame(np.asarray(active))).astype(np.int64)
    part = feat.oenv[max(0, a):max(a + 1, b)]
    return part if part.size >= 8 else feat.oenv


def _fallback_grid(duration: float, bpb: int):
    beats = np.arange(0.0, duration - 1e-6, 60.0 / FALLBACK_BPM)
    return beats, np.zeros(beats.size), beats[::bpb]


#: ``tempo_octave`` values and the factor each applies to the tempo musync chooses.
TEMPO_OCTAVES = {"x2": 2.0, "half": 0.5}
_OCTAVES = {None: 1.0, **TEMPO_OCTAVES}


def _check_overrides(beats_per_bar, tempo, tempo_octave, downbeat) -> None:
    if beats_per_bar not in (None, 2, 3, 4):
        raise ParameterError(f"beats_per_bar must be 2, 3, 4 or None (auto), not {beats_per_bar!r}")
    if tempo_octave not in _OCTAVES:
        raise ParameterError(f"tempo_octave must be 'x2', 'half' or None, not {tempo_octave!r}")
    if tempo is not None and tempo_octave is not None:
        raise ParameterError("give either tempo or tempo_octave, not both")
    if tempo is not None and not (20.0 <= float(tempo) <= 360.0):
        raise ParameterError(f"tempo must be between 20 and 360 BPM, not {tempo!r}")
    if downbeat is not None and not float(downbeat) >= 0.0:
        raise ParameterError(f"downbeat must be a time in seconds >= 0, not {downbeat!r}")


def _rephase(beats: np.ndarray, downbeat: float) -> np.ndarray:
    """Shift the whole grid so that a beat falls on ``downbeat`` when the nearest tracked beat is
    more than a quarter of a beat away from it (the user heard the other phase)."""
    if beats.size < 2:
        return beats
    i = int(np.argmin(np.abs(beats - downbeat)))
    period = float(np.median(np.diff(beats)))
    d = downbeat - beats[i]
    if abs(d) > 0.25 * period:
        beats = beats + d
        beats = beats[beats >= 0.0]
    return beats


def analyze_signal(y: np.ndarray, sr: int, *, beats_per_bar: int | None = None,
                   audio: AudioInfo | None = None, name: str = "<signal>", tempo: float | None = None,
                   tempo_octave: str | None = None, downbeat: float | None = None) -> Analysis:
    """Analyse a mono float signal ``y`` (shape ``(n,)``) sampled at ``sr`` Hz.

    See :func:`analyze` for the result and the options. ``audio`` describes the source for the
    result's ``audio`` field (a placeholder is used when omitted).
    """
    _check_overrides(beats_per_bar, tempo, tempo_octave, downbeat)
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise ParameterError(f"expected a mono signal of shape (n,), got shape {y.shape}")
    if not np.all(np.isfinite(y)):
        raise MediaError(name, "contains NaN or infinite samples; the file is corrupt, re-export it")
    duration = y.size / float(sr)
    if duration < MIN_DURATION:
        raise MediaError(name, f"audio is only {duration:.2f} s long; musync needs at least "
                         f"{MIN_DURATION:g} s of music")
    if sr != _SR:
        from .spectral import resample

        y = resample(np.asarray(y), sr, _SR).astype(np.float32)
    if audio is None:
        audio = AudioInfo(name, "", duration, int(sr), 1)
    feat = compute_features(y, _SR)
    warnings: list[str] = []
    loud = float(np.max(np.convolve(feat.rms_db, np.ones(43) / 43, mode="same"))) if feat.rms_db.size else -120.0
    fallback = False
    forced = tempo is not None or tempo_octave is not None
    guessed = False  # a short input kept with the tracker's best guess
    if loud < SILENCE_DB:
        fallback = True
        warnings.append(f"silent or nearly silent (loudest second {loud:.0f} dBFS): no beat to follow; "
                        f"using a fixed {FALLBACK_BPM:g} BPM grid")
        clarity = agreement = signif = 0.0
    else:
        active = _active_range(feat, duration)
        bt = track_beats(feat, active=active, tempo=tempo)
        if tempo_octave is not None:
            auto = bt
            bt = track_beats(feat, active=active, tempo=auto.tempo * _OCTAVES[tempo_octave])
            bt = replace(bt, alternatives=((auto.tempo, auto.level_confidence),) + auto.alternatives)
        clarity, agreement, signif = bt.clarity, bt.agreement, bt.significance
        no_pulse = signif < MIN_SIGNIFICANCE or (agreement < MIN_AGREEMENT and signif < CLEAR_SIGNIFICANCE)
        short = active[1] - active[0] < MIN_TEST_SECONDS
        if no_pulse and not forced and short and onset_peakiness(_active_part(feat, active)) >= MIN_PEAKINESS:
            no_pulse, guessed = False, True
            warnings.append(f"only {active[1] - active[0]:.1f} s of sound: too short to tell a steady pulse "
                            f"from noise ({signif:.1f} noise deviations); the beats are the tracker's best "
                            f"guess, check them or give the tempo")
        if (no_pulse and not forced) or bt.beats.size < 4:
            fallback = True
            warnings.append(f"no steady pulse found (pulse clarity {clarity:.2f}, {signif:.1f} noise deviations, "
                            f"tempo stability {agreement:.2f}); using a fixed "
                            f"{FALLBACK_BPM:g} BPM grid; cut by phrases and energy instead")
    alternatives: tuple = ()
    level_conf = 0.0
    division = 2
    if fallback:
        bpb = beats_per_bar or 4
        beats, strength, downbeats = _fallback_grid(duration, bpb)
        bpm = FALLBACK_BPM
        down_conf = metre_conf = 0.0
    else:
        beats, strength, bpm = bt.beats, bt.strength, bt.tempo
        if downbeat is not None:
            shifted = _rephase(beats, float(downbeat))
            if shifted is not beats:
                strength = np.zeros(shifted.size) if shifted.size != beats.size else strength
                beats = shifted
        division = bt.division
        downbeats, bpb, down_conf, _, metre_conf = estimate_downbeats(feat, beats, beats_per_bar=beats_per_bar,
                                                                      downbeat=downbeat, division=division)
        alternatives = tuple({"bpm": round(float(b), 3), "score": round(float(p), 4)}
                             for b, p in bt.alternatives[:2])
        level_conf = 1.0 if forced else bt.level_confidence
    if not fallback:
        strength = heard_strength(feat, beats, strength)
    e_times, e_vals = energy_curve(feat, duration)
    sections, sec_conf = find_sections(feat, downbeats, duration, e_times, e_vals)
    climax = find_climax(e_times, e_vals, sections, downbeats)
    beat_conf = 0.0 if fallback else float(
        np.clip((signif - MIN_SIGNIFICANCE) / 20.0, 0.0, 1.0) * np.clip((agreement - 0.2) / 0.6, 0.0, 1.0))
    if not fallback and beat_conf < 0.5 and not guessed:  # a short input's guess says so already
        warnings.append(f"weak pulse (grid confidence {beat_conf:.2f}); check the beats before relying on them")
    params = {"sr": _SR, "beats_per_bar": beats_per_bar, "algorithm": _ALGO}
    for k, v in (("tempo", tempo), ("tempo_octave", tempo_octave), ("downbeat", downbeat)):
        if v is not None:
            params[k] = v
    a = Analysis(audio=audio, duration=duration, tempo=float(bpm), beats=beats,
                 beat_strength=strength, downbeats=downbeats, beats_per_bar=int(bpb),
                 sections=sections, energy_times=e_times, energy=e_vals, climax=climax,
                 confidence=beat_conf,
                 confidences={"beats": beat_conf, "downbeats": float(down_conf),
                              "sections": float(sec_conf), "pulse_clarity": float(clarity),
                              "tempo_stability": float(agreement), "tempo_level": float(level_conf),
                              "metre": float(metre_conf)},
                 fallback=fallback, warnings=tuple(warnings), params=params,
                 tempo_alternatives=alternatives, loudness=loudness_curve(feat, e_times),
                 beat_division=int(division))
    # store exactly what the JSON form holds, so save/load round-trips to an equal object
    return Analysis.from_dict(json.loads(json.dumps(a.to_dict())))


#: How far from a beat (s) the wide frames' flux is read for its strength (its largest value).
WIDE_REACH = 0.05


def heard_strength(feat, beats: np.ndarray, strength: np.ndarray) -> np.ndarray:
    """Each beat's strength as two onset measures hear it: the mean of ``strength`` (the fine
    grid's peak at the beat, 23 ms frames) and the wide frames' log-mel flux (93 ms frames, its
    largest value within :data:`WIDE_REACH` of the beat), each over its own 95th percentile and
    clipped to 1. The two frame lengths rank the beats of a real recording differently (a
    short tick and a note that swells over a few tens of milliseconds weigh differently in
    each); a kick, a snare or a crash is high in both. A beat only one of them ranks high is an
    accent another onset measure, or a listener, may not count as one: on the five annotated
    recordings of ``../shared``, cuts on beats in the top half of the fine measure alone were in
    the top half of librosa's onset envelope (at the human beats) 55-70 % of the time."""
    strength = np.asarray(strength, dtype=np.float64)
    beats = np.asarray(beats, dtype=np.float64)
    wide = getattr(feat, "onset_wide", None)
    if wide is None or wide.size == 0 or beats.size == 0 or strength.size != beats.size:
        return strength
    t = feat.wide_time(np.arange(wide.size))
    lo = np.searchsorted(t, beats - WIDE_REACH, side="left")
    hi = np.searchsorted(t, beats + WIDE_REACH, side="right")
    w = np.array([wide[a:b].max() if b > a else 0.0 for a, b in zip(lo, hi)])
    ref = float(np.percentile(w, 95))
    w = np.clip(w / ref, 0.0, 1.0) if ref > 0 else np.zeros_like(w)
    return 0.5 * (np.clip(strength, 0.0, 1.0) + w)


def analyze(path, sr: int | None = None, *, beats_per_bar: int | None = None,
            use_cache: bool = True, tempo: float | None = None, tempo_octave: str | None = None,
            downbeat: float | None = None) -> Analysis:
    """Analyse a song: a file, a file-like object, or a signal ``(y, sr)`` already in memory.

    Parameters
    ----------
    path : str, Path, binary file-like object, or ndarray
        A file: wav/flac/ogg/mp3 (via soundfile) or anything ffmpeg decodes (m4a, aac, mp4, mov,
        webm...). A file-like object (``open(..., "rb")``, ``io.BytesIO``, an upload) holding
        such a file: it is read to the end, never closed. Or the samples ``y``, shape ``(n,)``
        or ``(n, channels)`` (channels are averaged), with ``sr``.
    sr : int, optional
        Sample rate of ``y``; only (and always) with a signal.
    beats_per_bar : 2, 3, 4 or None
        Force the beats per bar; None estimates it (2 only for beats divided in three: 6/8).
    use_cache : bool
        Reuse and store results keyed by the file's content and these options.
    tempo : float or None
        Track the beats at this tempo (BPM) instead of choosing the metrical level.
    tempo_octave : 'x2', 'half' or None
        Twice or half the tempo musync would choose (the other metrical level; see
        ``tempo_alternatives`` in the result).
    downbeat : float or None
        A time (s) that is a downbeat: bars are counted from the beat there, and if no tracked
        beat is within a quarter beat of it the whole grid is shifted onto it.

    Returns
    -------
    Analysis
        Tempo, beats and their strengths, downbeats, sections with repeat labels and roles, the
        energy curve at 10 Hz, the climax and confidences. When the song has no usable pulse
        (silence, noise), ``fallback`` is True, the grid is a fixed 120 BPM one and
        ``warnings`` says why.

    Raises
    ------
    MediaError
        Missing, empty, non-audio, header-only, corrupt (NaN) or too short (< 2 s) input.

    Examples
    --------
    >>> import musync, musync.testing as mt
    >>> song = mt.make_song(bpm=100, form=[("verse", 4), ("chorus", 4)])
    >>> _ = song.write("/tmp/ex.wav")
    >>> round(musync.analyze("/tmp/ex.wav", use_cache=False).tempo)
    100
    >>> round(musync.analyze(song.y, song.sr).tempo)          # a signal already in memory
    100
    >>> with open("/tmp/ex.wav", "rb") as f:                   # a file-like object
    ...     round(musync.analyze(f, use_cache=False).tempo)
    100
    """
    _check_overrides(beats_per_bar, tempo, tempo_octave, downbeat)
    over = {"tempo": tempo, "tempo_octave": tempo_octave, "downbeat": downbeat}
    if isinstance(path, np.ndarray) or (sr is not None and not hasattr(path, "read")):
        return _analyze_array(path, sr, beats_per_bar=beats_per_bar, **over)
    if sr is not None:
        raise ParameterError("sr is only for a signal (analyze(y, sr)); a file carries its own rate")
    if hasattr(path, "read"):
        return _analyze_stream(path, beats_per_bar=beats_per_bar, use_cache=use_cache, **over)
    p = check_input_file(path)
    sha = file_sha256(p)
    key = cache.make_key("analysis", sha, _cache_opts(beats_per_bar, over))
    if use_cache:
        hit = cache.get_json("analysis", key)
        if hit is not None:
            try:
                hit["audio"]["path"] = str(p.resolve())
                return Analysis.from_dict(hit)
            except (KeyError, TypeError, ValueError, ParameterError):
                pass
    y, stream = load_audio(p, sr=_SR)
    audio = AudioInfo(str(p.resolve()), sha, float(stream.duration or y.size / _SR), int(stream.sample_rate),
                      int(stream.channels))
    a = analyze_signal(y, _SR, beats_per_bar=beats_per_bar, audio=audio, name=str(p), tempo=tempo,
                       tempo_octave=tempo_octave, downbeat=downbeat)
    if use_cache:
        cache.put_json("analysis", key, a.to_dict())
    return a


def _cache_opts(beats_per_bar, over: dict) -> dict:
    opts = {"beats_per_bar": beats_per_bar, "algo": _ALGO}
    opts.update({k: v for k, v in over.items() if v is not None})
    return opts


def _analyze_array(y, sr, *, beats_per_bar, **over) -> Analysis:
    """``analyze(y, sr)``: a mono or multi-channel float signal in memory (never cached)."""
    if sr is None or not float(sr) > 0 or int(sr) != sr:
        raise ParameterError(f"analyze(y, sr) needs a positive integer sample rate, not {sr!r}")
    y = np.asarray(y)
    if y.ndim == 2:  # (n, channels), or (channels, n) as librosa keeps it
        y = y.mean(axis=1 if y.shape[0] >= y.shape[1] else 0)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.number):
        raise ParameterError(f"expected samples of shape (n,) or (n, channels), got {y.shape} {y.dtype}")
    if np.issubdtype(y.dtype, np.integer):  # PCM: scale to [-1, 1]
        y = y / float(np.iinfo(y.dtype).max)
    audio = AudioInfo("<signal>", "", y.size / float(sr), int(sr), 1)
    return analyze_signal(y.astype(np.float32), int(sr), beats_per_bar=beats_per_bar, audio=audio, **over)


def _analyze_stream(f, *, beats_per_bar, use_cache: bool, **over) -> Analysis:
    """``analyze(fileobj)``: the bytes are decoded from a private temporary file, then removed."""
    import hashlib
    import os
    import tempfile

    name = str(getattr(f, "name", "") or "<stream>")
    data = f.read()
    if not isinstance(data, (bytes, bytearray)):
        raise ParameterError(f"{name}: analyze needs a binary file object (open it with 'rb')")
    if not data:
        raise MediaError(name, "is empty (0 bytes); pass a song file")
    sha = hashlib.sha256(data).hexdigest()
    key = cache.make_key("analysis", sha, _cache_opts(beats_per_bar, over))
    if use_cache:
        hit = cache.get_json("analysis", key)
        if hit is not None:
            try:
                hit["audio"]["path"] = name
                return Analysis.from_dict(hit)
            except (KeyError, TypeError, ValueError, ParameterError):
                pass
    fd, tmp = tempfile.mkstemp(prefix="musync-song-", suffix=Path(name).suffix or ".bin")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        y, stream = load_audio(tmp, sr=_SR)
    except MediaError as exc:
        raise MediaError(name, exc.problem) from None
    finally:
        os.unlink(tmp)
    audio = AudioInfo(name, sha, float(stream.duration or y.size / _SR), int(stream.sample_rate),
                      int(stream.channels))
    a = analyze_signal(y, _SR, beats_per_bar=beats_per_bar, audio=audio, name=name, **over)
    if use_cache:
        cache.put_json("analysis", key, a.to_dict())
    return a


def save_analysis(analysis: Analysis, path, *, overwrite: bool = False) -> Path:
    """Write ``analysis`` as JSON (schema in the README) atomically."""
    from .._fs import write_text

    return write_text(path, json.dumps(analysis.to_dict(), indent=1) + "\n", overwrite=overwrite)


def load_analysis(path) -> Analysis:
    """Read an analysis JSON file written by :func:`save_analysis` or ``musync analyze --json``."""
    from .._fs import read_json

    p = Path(path)
    d = read_json(p, what="analysis JSON file", how="create one with `musync analyze --json`")
    if not isinstance(d, dict) or "beats" not in d:
        raise MediaError(p, "not an analysis JSON file (no 'beats'); create one with `musync analyze --json`")
    try:
        return Analysis.from_dict(d)
    except (KeyError, TypeError, ValueError) as exc:
        raise MediaError(p, f"analysis JSON is malformed ({exc}); re-create it with `musync analyze`") from None
