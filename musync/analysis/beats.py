"""Tempo and beat tracking on the fine onset envelope.

Public functions:

- :func:`estimate_tempo` -- global tempo (BPM, not quantised) and pulse clarity from the onset
  autocorrelation with a log-normal tempo prior.
- :func:`track_beats` -- beat times (s), per-beat strength, tempo from inter-beat intervals,
  pulse clarity; includes the first and last beats and corrects half/double-tempo errors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d

from ..errors import ParameterError
from ._kernels import _beat_dp
from .features import Features

__all__ = ["estimate_tempo", "track_beats", "BeatTrack"]

MIN_BPM, MAX_BPM = 40.0, 240.0


def _normalise(oenv: np.ndarray) -> np.ndarray:
    o = np.asarray(oenv, dtype=np.float64)
    o = o - np.median(o)
    np.maximum(o, 0.0, out=o)
    s = o.std()
    return o / s if s > 0 else o


def _autocorr(o: np.ndarray, max_lag: int, win: int | None = None) -> np.ndarray:
    """Normalised autocorrelation of each window of ``win`` frames (half overlap), so that slow
    tempo drift does not smear the peaks. Returns ``(n_windows, max_lag + 1)``; row sums give the
    song's autocorrelation."""
    n = o.size
    if win is None or win >= n:
        frames = (o - o.mean())[None, :]
    else:
        hop = max(1, win // 4)
        starts = np.arange(0, n - win + 1, hop)
        frames = np.stack([o[s:s + win] for s in starts])
        frames = frames - frames.mean(axis=1, keepdims=True)
    L = frames.shape[1]
    nfft = 1 << int(np.ceil(np.log2(2 * L)))
    F = np.fft.rfft(frames, nfft, axis=1)
    ac = np.fft.irfft(F * np.conj(F), nfft, axis=1)[:, : max_lag + 1]
    # unbiased: correct for the shrinking overlap at long lags
    return ac / np.maximum(L - np.arange(ac.shape[1]), 1)[None, :] * L


def _pick(ac: np.ndarray, score_w: np.ndarray, valid: np.ndarray) -> int:
    lags = np.arange(ac.size, dtype=np.float64)
    comb = ac.copy()
    for mult in (2, 3, 4):
        idx = np.minimum(np.round(lags * mult).astype(int), ac.size - 1)
        comb += 0.5 * np.where(lags * mult < ac.size, ac[idx], 0.0)
    return int(np.argmax(np.where(valid, comb * score_w, -np.inf)))


def estimate_tempo(oenv: np.ndarray, fps: float, *, prior_bpm: float = 120.0,
                   prior_octaves: float = 1.0) -> tuple[float, float, float]:
    """Estimate the dominant tempo of an onset envelope.

    Parameters
    ----------
    oenv : ndarray (n,) onset strength sampled at ``fps`` frames per second
    fps : frame rate of ``oenv``
    prior_bpm, prior_octaves : centre and width of the log-normal tempo prior

    Returns
    -------
    tempo : float, BPM (parabolically interpolated, not quantised to lags)
    clarity : float in [0, 1], height of the normalised autocorrelation at that period
    agreement : float in [0, 1], share of 6-second windows whose own tempo agrees with it (up to
        a factor of two); noise and rubato score low, a steady pulse close to 1
    """
    if fps <= 0:
        raise ParameterError("fps must be positive")
    o = gaussian_filter1d(_normalise(oenv), sigma=0.010 * fps)
    max_lag = int(np.ceil(fps * 60.0 / MIN_BPM))
    if o.size < 4 or not np.any(o > 0):
        return prior_bpm, 0.0, 0.0
    win = int(round(6.0 * fps))
    acw = _autocorr(o, min(max_lag, o.size - 1, win - 1), win)
    ac = acw.sum(axis=0)
    ac = ac / ac[0] if ac[0] > 0 else ac
    lags = np.arange(ac.size, dtype=np.float64)
    lo = int(np.floor(fps * 60.0 / MAX_BPM))
    bpm = np.where(lags > 0, 60.0 * fps / np.maximum(lags, 1e-9), np.inf)
    weight = np.exp(-0.5 * (np.log2(bpm / prior_bpm) / prior_octaves) ** 2)
    valid = (lags >= max(lo, 1)) & (lags < ac.size - 1)
    k = _pick(ac, weight, valid)
    # parabolic refinement of the lag on the raw autocorrelation
    lag = float(k)
    if 1 <= k < ac.size - 1:
        a, b, c = ac[k - 1], ac[k], ac[k + 1]
        den = a - 2 * b + c
        if den < 0:
            lag = k + 0.5 * (a - c) / den
    clarity = float(np.clip(ac[k], 0.0, 1.0))
    tempo = 60.0 * fps / lag
    agree = []
    for row in acw:
        if row[0] <= 0:
            continue
        row = row / row[0]
        kw = _pick(row, weight, valid)
        r = abs(np.log2(max(kw, 1) / lag))
        # a window votes for the tempo only if its own pulse stands above the noise floor
        agree.append(row[kw] >= 0.2 and min(abs(r - j) for j in (0.0, 1.0)) < 0.06)
    agreement = float(np.mean(agree)) if agree else 0.0
    return tempo, clarity, agreement


@dataclass(frozen=True)
class BeatTrack:
    """Result of :func:`track_beats`: beat times (s), strengths, tempo (BPM), pulse clarity,
    the DP's beat period (fine frames) and tempo stability."""

    beats: np.ndarray
    strength: np.ndarray
    tempo: float
    clarity: float
    period_frames: float
    agreement: float = 1.0


def _dp_beats(local: np.ndarray, period: float, tightness: float) -> np.ndarray:
    score, back = _beat_dp(local, float(period), float(tightness))
    n = local.size
    tail = max(1, int(round(period)))
    i = n - tail + int(np.argmax(score[n - tail:]))
    out = []
    while i >= 0:
        out.append(i)
        i = back[i]
    return np.asarray(out[::-1], dtype=np.int64)


def _peak_near(o: np.ndarray, frames: np.ndarray, radius: int) -> tuple[np.ndarray, np.ndarray]:
    """Refine integer frames to the onset peak within ``radius`` (parabolic), return (pos, height)."""
    n = o.size
    pos = np.empty(frames.size)
    val = np.empty(frames.size)
    for j, f in enumerate(frames):
        a = max(0, int(f) - radius)
        b = min(n, int(f) + radius + 1)
        if b <= a:
            pos[j], val[j] = f, 0.0
            continue
        k = a + int(np.argmax(o[a:b]))
        p = float(k)
        if 0 < k < n - 1:
            y0, y1, y2 = o[k - 1], o[k], o[k + 1]
            den = y0 - 2 * y1 + y2
            if den < 0:
                p = k + float(np.clip(0.5 * (y0 - y2) / den, -0.5, 0.5))
        pos[j], val[j] = p, o[k]
    return pos, val


def _steady(times: np.ndarray, half: int = 2) -> np.ndarray:
    """Each beat moved to a straight line fitted through its neighbours (+-``half`` beats): the
    played notes jitter around the pulse; the pulse itself only drifts slowly."""
    n = times.size
    if n < 2 * half + 1:
        return times
    out = np.empty(n)
    for i in range(n):
        a, b = max(0, i - half), min(n, i + half + 1)
        k = np.arange(a, b, dtype=np.float64)
        slope, icept = np.polyfit(k, times[a:b], 1)
        out[i] = slope * i + icept
    return out


def track_beats(feat: Features, *, tightness: float = 100.0, prior_bpm: float = 120.0,
                active: tuple[float, float] | None = None) -> BeatTrack:
    """Track beats on the fine onset envelope of ``feat``.

    Steps: tempo from the autocorrelation; an Ellis-style dynamic program (numba) on the fine
    grid; a half/double-tempo check (if the midpoints between beats are as strong as the beats,
    the pulse is twice as fast; if nothing sounds between beats and every other beat is much
    weaker, we are tracking a subdivision and the pulse is half as fast); each beat moved
    to its onset peak within +-12 ms, then onto a line through its neighbours (the pulse, not the
    jitter of each played note); beats kept out to the first and last moments of sound
    (``active``, seconds).

    Returns
    -------
    BeatTrack with ``beats`` (s), ``strength`` in [0, 1], ``tempo`` (BPM from the median inter-beat
    interval), ``clarity`` (pulse clarity in [0, 1]), ``agreement`` (tempo stability in [0, 1]).
    """
    fps = feat.fps_fine
    o = _normalise(feat.oenv)
    tempo0, clarity, agreement = estimate_tempo(feat.oenv, fps, prior_bpm=prior_bpm)
    local = gaussian_filter1d(o, sigma=max(1.0, fps * 60.0 / tempo0 / 32.0), mode="constant")

    def run(bpm):
        period = fps * 60.0 / bpm
        return _dp_beats(local, period, tightness), period

    frames, period = run(tempo0)
    radius = max(1, int(round(0.012 * fps)))
    if frames.size >= 8:
        _, on = _peak_near(o, frames, radius)
        mids = ((frames[:-1] + frames[1:]) // 2).astype(np.int64)
        _, mid = _peak_near(o, mids, radius)
        ratio_mid = float(np.mean(mid) / max(np.mean(on), 1e-9))
        # alternation measured below 2 kHz: a backbeat's snare is strong there, the off-beat
        # hi-hat of a subdivision is not
        _, body = _peak_near(_normalise(feat.oenv_body), frames, radius)
        even, odd = body[0::2].mean(), body[1::2].mean()
        ratio_alt = float(min(even, odd) / max(even, odd, 1e-9))
        bpm = 60.0 * fps / period
        if ratio_mid > 0.8 and bpm * 2 <= 180.0:
            frames, period = run(bpm * 2)
        elif ratio_alt < 0.5 and ratio_mid < 0.25 and bpm / 2 >= 55.0:
            frames, period = run(bpm / 2)
    pos, height = _peak_near(o, frames, radius)
    times = _steady(feat.fine_time(pos))
    if active is not None:
        t0, t1 = active
        keep = (times >= t0 - 0.05) & (times <= t1 + 0.05)
        times, height = times[keep], height[keep]
    times = np.maximum(times, 0.0)
    if times.size >= 2:
        tempo = 60.0 / float(np.median(np.diff(times)))
    else:
        tempo = 60.0 * fps / period
    ref = np.percentile(height, 95) if height.size else 1.0
    strength = np.clip(height / ref, 0.0, 1.0) if ref > 0 else np.zeros_like(height)
    return BeatTrack(times, strength, tempo, clarity, period, agreement)
