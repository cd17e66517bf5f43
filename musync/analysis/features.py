"""Spectral features shared by the analysis steps (computed once per song).

Public: :func:`compute_features` -> :class:`Features`.

Two time grids: a fine one (``hop_fine`` samples, ~2.9 ms at 22.05 kHz) for onsets and beat
placement, and a coarse one (``hop`` samples, ~23 ms) for harmony, timbre and loudness.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Features", "compute_features"]


@dataclass(frozen=True)
class Features:
    sr: int
    hop_fine: int
    n_fft_fine: int
    oenv: np.ndarray          # (n_fine,) onset strength (log-mel spectral flux), all bands
    oenv_low: np.ndarray      # (n_fine,) onset strength below ~200 Hz (kick / bass)
    oenv_body: np.ndarray     # (n_fine,) onset strength below ~2 kHz (drums and notes, no hats)
    hop: int
    chroma: np.ndarray        # (12, n) chroma, each frame normalised to max 1
    mfcc: np.ndarray          # (13, n)
    rms_db: np.ndarray        # (n,) frame loudness, dBFS
    centroid: np.ndarray      # (n,) spectral centroid, Hz
    onset_coarse: np.ndarray  # (n,) onset strength on the coarse grid
    onset_wide: np.ndarray | None = None  # (n,) log-mel flux of the 2048-sample (93 ms) frames
                                          # (its onset times: :meth:`wide_time`)

    @property
    def fps_fine(self) -> float:
        return self.sr / self.hop_fine

    @property
    def fps(self) -> float:
        return self.sr / self.hop

    def fine_time(self, frames) -> np.ndarray:
        """Time (s) of fine onset frames.

        Flux frame t measures the change between the windows centred at frames t-1 and t; on a
        log scale a new sound registers as soon as it enters the leading edge of a window, so the
        onset it reports happened ``n_fft/2 - hop`` samples after the frame centre.
        """
        f = np.asarray(frames, dtype=np.float64)
        return (f * self.hop_fine + self.n_fft_fine / 2 - self.hop_fine) / self.sr

    def wide_time(self, frames) -> np.ndarray:
        """Time (s) of the onset a rise of :attr:`onset_wide` at coarse frame ``frames`` reports,
        as :meth:`fine_time` reads the fine grid: ``n_fft/2 - hop`` samples (of the 2048-sample
        frames) after the frame's centre."""
        f = np.asarray(frames, dtype=np.float64)
        return (f * self.hop + N_FFT_COARSE / 2 - self.hop) / self.sr

    def fine_frame(self, times) -> np.ndarray:
        t = np.asarray(times, dtype=np.float64)
        return (t * self.sr - self.n_fft_fine / 2 + self.hop_fine) / self.hop_fine

    def coarse_frame(self, times) -> np.ndarray:
        return np.asarray(times, dtype=np.float64) * self.sr / self.hop


def _flux(logmel: np.ndarray) -> np.ndarray:
    d = np.diff(logmel, axis=1)
    np.maximum(d, 0.0, out=d)
    out = np.empty(logmel.shape[1], dtype=np.float64)
    out[0] = 0.0
    out[1:] = d.mean(axis=0)
    return out


def _frames(y: np.ndarray, f0: int, f1: int, hop: int, n_fft: int) -> np.ndarray:
    """Samples for the centred frames ``f0 .. f1 - 1`` (frame t centred at sample ``t * hop``,
    zeros beyond the signal, as ``librosa.stft(center=True)`` pads)."""
    a = f0 * hop - n_fft // 2
    b = (f1 - 1) * hop + n_fft // 2 + (n_fft % 2)
    seg = y[max(a, 0):min(b, y.size)]
    if a < 0 or b > y.size:
        seg = np.pad(seg, (max(0, -a), max(0, b - y.size)))
    return seg


def _stft_blocks(y: np.ndarray, hop: int, n_fft: int, block_frames: int):
    """Yield ``(f0, |STFT|)`` for consecutive blocks of centred frames: the same frames as one
    ``librosa.stft(y, center=True)`` call, computed a block at a time so that a long song never
    holds its whole spectrogram."""
    from .spectral import stft_magnitude

    n_frames = 1 + y.size // hop
    for f0 in range(0, n_frames, block_frames):
        f1 = min(n_frames, f0 + block_frames)
        seg = _frames(y, f0, f1, hop, n_fft)
        yield f0, stft_magnitude(seg, n_fft, hop)


#: Frame length (samples) of the coarse grid's spectrogram (chroma, MFCC, loudness and the wide
#: onset flux): 93 ms at 22,050 Hz.
N_FFT_COARSE = 2048

#: Frames per block of the chunked spectrograms (about 47 s of audio for either grid).
_BLOCK_SAMPLES = 1 << 20


def _wide_flux(log_mel: np.ndarray, step: int) -> np.ndarray:
    """The log-mel flux of the wide (2048-sample) frames, the band mean of each frame's rise
    over the one before (0 at frame 0), with every value floored 80 dB under the song's loudest
    (as the fine grid's): an onset heard over 93 ms as well as over the fine grid's 23 ms. Reduced
    ``step`` frames at a time."""
    n = log_mel.shape[1]
    out = np.zeros(n)
    if n < 2:
        return out
    floor = float(log_mel.max()) - 80.0
    step = max(1, int(step))
    for f0 in range(1, n, step):
        f1 = min(n, f0 + step)
        part = np.maximum(log_mel[:, f0 - 1:f1], floor)
        out[f0:f1] = np.maximum(np.diff(part, axis=1), 0.0).mean(axis=0)
    return out


def compute_features(y: np.ndarray, sr: int, *, hop_fine: int = 64, n_fft_fine: int = 512, hop: int = 512) -> Features:
    """Compute onset envelopes and frame features of mono ``y`` at ``sr`` Hz.

    The spectrograms are computed in blocks of about 47 s and reduced at once (mel bands,
    chroma, MFCC, loudness), so memory grows with the song's length only by the small per-frame
    features: a one-hour mix needs a few hundred MB, not the several GB of its spectrograms.
    """
    from . import spectral as sp

    y = np.asarray(y, dtype=np.float32)
    fmax = min(11025.0, sr / 2)
    # fine grid: log-mel flux (three bands); the log needs the song's loudest mel value first
    mel_fb = sp.mel_filters(sr, n_fft_fine, 40, fmax)
    n_fine = 1 + y.size // hop_fine
    mel = np.empty((40, n_fine), dtype=np.float32)
    for f0, mag in _stft_blocks(y, hop_fine, n_fft_fine, max(1, _BLOCK_SAMPLES // hop_fine)):
        mel[:, f0:f0 + mag.shape[1]] = mel_fb @ (mag ** 2)
    ref = float(mel.max()) if mel.size else 1.0
    freqs = sp.mel_frequencies(40, fmax=fmax)
    bands = (slice(None), freqs < 200.0, freqs < 2000.0)
    env = [np.zeros(n_fine) for _ in bands]
    step = max(1, _BLOCK_SAMPLES // hop_fine)
    prev = None
    for f0 in range(0, n_fine, step):
        f1 = min(n_fine, f0 + step)
        lm = sp.power_to_db(mel[:, f0:f1], ref=ref)
        np.maximum(lm, -80.0, out=lm)  # top_db=80 below the song's loudest mel value (0 dB)
        ext = lm if prev is None else np.concatenate([prev, lm], axis=1)
        d = np.maximum(np.diff(ext, axis=1), 0.0)
        start = f0 + 1 if prev is None else f0
        for e, sel in zip(env, bands):
            e[start:f1] = d[sel].mean(axis=0)
        prev = lm[:, -1:]
    del mel
    oenv, oenv_low, oenv_body = env
    # coarse grid: chroma, MFCC, loudness, brightness, a block at a time
    n = 1 + y.size // hop
    chroma = np.empty((12, n))
    mfcc = np.empty((13, n))
    rms = np.empty(n)
    centroid = np.empty(n)
    wide_db = np.empty((96, n), dtype=np.float32)   # (60 MB for an hour; the fine mel is more)
    for f0, C in _stft_blocks(y, hop, N_FFT_COARSE, max(1, _BLOCK_SAMPLES // hop)):
        sl = slice(f0, f0 + C.shape[1])
        P = C ** 2
        chroma[:, sl] = sp.chroma(P, sr)
        mel2 = np.einsum("ft,mf->mt", P, sp.mel_filters(sr, N_FFT_COARSE, 96), optimize=True)
        lm2 = sp.power_to_db(mel2, ref=1.0)
        mfcc[:, sl] = sp.mfcc(lm2, 13)
        wide_db[:, sl] = lm2
        rms[sl] = sp.rms(C, N_FFT_COARSE)
        centroid[sl] = sp.spectral_centroid(C, sr)
    rms_db = 20.0 * np.log10(np.maximum(rms, 1e-6))
    wide = _wide_flux(wide_db, _BLOCK_SAMPLES // hop)
    del wide_db
    # onset strength resampled to the coarse grid (max over each coarse hop)
    ratio = hop // hop_fine
    m = min(oenv.size // ratio, n)
    oc = np.zeros(n)
    oc[:m] = oenv[: m * ratio].reshape(m, ratio).max(axis=1)
    return Features(sr=sr, hop_fine=hop_fine, n_fft_fine=n_fft_fine, oenv=oenv, oenv_low=oenv_low, oenv_body=oenv_body, hop=hop,
                    chroma=chroma, mfcc=mfcc, rms_db=rms_db, centroid=centroid, onset_coarse=oc,
                    onset_wide=wide)
