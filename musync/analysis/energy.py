"""The emotional-energy curve and the climax.

Public: :func:`energy_curve`, :func:`loudness_curve`, :func:`find_climax`.

Energy mixes loudness (frame RMS in dB), onset density (how busy the music is) and brightness
(spectral centroid), each standardised over the song, smoothed over about a second and mapped to
[0, 1] at ``rate`` Hz (10 by default).
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d

from .features import Features

__all__ = ["energy_curve", "loudness_curve", "find_climax"]


def _std(x: np.ndarray) -> np.ndarray:
    lo, hi = np.percentile(x, [5, 95])
    return (x - lo) / (hi - lo) if hi - lo > 1e-9 else np.zeros_like(x)


def energy_curve(feat: Features, duration: float, *, rate: float = 10.0,
                 smooth: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Energy in [0, 1] sampled at ``rate`` Hz over ``[0, duration)``.

    Parameters
    ----------
    feat : Features
    duration : seconds
    rate : samples per second of the output curve
    smooth : standard deviation (s) of the Gaussian smoothing

    Returns
    -------
    times : ndarray (k,) seconds
    energy : ndarray (k,) in [0, 1]
    """
    fps = feat.fps
    sig = max(1.0, 0.25 * fps)
    loud = gaussian_filter1d(feat.rms_db, sig)
    # below -60 dBFS is silence whatever the song's range
    loud = np.maximum(loud, -60.0)
    dens = gaussian_filter1d(feat.onset_coarse, 1.0 * fps)
    bright = gaussian_filter1d(np.log(np.maximum(feat.centroid, 50.0)), sig)
    e = 0.55 * _std(loud) + 0.3 * _std(dens) + 0.15 * _std(bright)
    # silent frames carry no energy regardless of brightness
    e = np.where(feat.rms_db < -60.0, np.minimum(e, 0.0), e)
    e = gaussian_filter1d(e, max(1.0, smooth * fps))
    lo, hi = np.percentile(e, [2, 99.5])
    e = np.clip((e - lo) / (hi - lo), 0.0, 1.0) if hi - lo > 1e-9 else np.zeros_like(e)
    times = np.arange(0.0, duration, 1.0 / rate)
    src_t = np.arange(e.size) / fps
    return times, np.interp(times, src_t, e)


def loudness_curve(feat: Features, times: np.ndarray) -> np.ndarray:
    """The RMS level (dBFS) at ``times`` (evenly spaced): the mean of the frame levels over each
    sample's share of the time axis (a tenth of a second at 10 Hz), unsmoothed, so the level of
    any stretch of the song is the mean of its samples. A sample no frame falls in takes the
    level of the nearest frame."""
    times = np.asarray(times, dtype=np.float64)
    db = np.asarray(feat.rms_db, dtype=np.float64)
    if times.size == 0 or db.size == 0:
        return np.full(times.size, -120.0)
    step = float(times[1] - times[0]) if times.size >= 2 else 1.0
    src_t = np.arange(db.size) / feat.fps
    k = np.clip(np.floor((src_t - times[0]) / step + 0.5).astype(np.int64), 0, times.size - 1)
    sums = np.bincount(k, weights=db, minlength=times.size)
    counts = np.bincount(k, minlength=times.size)
    near = np.interp(times, src_t, db)
    return np.where(counts > 0, sums / np.maximum(counts, 1), near)


def find_climax(times: np.ndarray, energy: np.ndarray, sections, downbeats: np.ndarray) -> float:
    """The moment the song peaks: the start of its most intense section (the later one when two
    are within 0.03), or -- if that section opens the song -- the downbeat nearest the energy
    maximum."""
    if len(sections):
        # among near-ties prefer the later section
        top = max(s.energy for s in sections)
        cands = [i for i, s in enumerate(sections) if s.energy >= top - 0.03]
        best = max(cands)
        if sections[best].start > 0.0:
            return float(sections[best].start)
    if energy.size == 0:
        return 0.0
    t = float(times[int(np.argmax(energy))])
    if downbeats.size:
        t = float(downbeats[int(np.argmin(np.abs(downbeats - t)))])
    return t
