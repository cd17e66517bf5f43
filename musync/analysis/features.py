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


def compute_features(y: np.ndarray, sr: int, *, hop_fine: int = 64, n_fft_fine: int = 512, hop: int = 512) -> Features:
    """Compute onset envelopes and frame features of mono ``y`` at ``sr`` Hz."""
    import librosa

    y = np.asarray(y, dtype=np.float32)
    # fine grid: log-mel flux
    S = np.abs(librosa.stft(y, n_fft=n_fft_fine, hop_length=hop_fine, center=True)) ** 2
    mel_fb = librosa.filters.mel(sr=sr, n_fft=n_fft_fine, n_mels=40, fmax=min(11025.0, sr / 2))
    mel = mel_fb @ S
    logmel = librosa.power_to_db(mel, ref=float(mel.max()) if mel.size else 1.0, top_db=80.0)
    oenv = _flux(logmel)
    freqs = librosa.mel_frequencies(n_mels=40, fmax=min(11025.0, sr / 2))
    oenv_low = _flux(logmel[freqs < 200.0])
    oenv_body = _flux(logmel[freqs < 2000.0])
    # coarse grid
    C = np.abs(librosa.stft(y, n_fft=2048, hop_length=hop, center=True))
    P = C ** 2
    chroma = librosa.feature.chroma_stft(S=P, sr=sr, tuning=0.0)
    mel2 = librosa.feature.melspectrogram(S=P, sr=sr, n_mels=96)
    mfcc = librosa.feature.mfcc(S=librosa.power_to_db(mel2, ref=1.0, top_db=None), n_mfcc=13)
    rms = librosa.feature.rms(S=C, frame_length=2048)[0]
    rms_db = 20.0 * np.log10(np.maximum(rms, 1e-6))
    centroid = librosa.feature.spectral_centroid(S=C, sr=sr)[0]
    n = C.shape[1]
    # onset strength resampled to the coarse grid (max over each coarse hop)
    ratio = hop // hop_fine
    m = min(oenv.size // ratio, n)
    oc = np.zeros(n)
    oc[:m] = oenv[: m * ratio].reshape(m, ratio).max(axis=1)
    return Features(sr=sr, hop_fine=hop_fine, n_fft_fine=n_fft_fine, oenv=oenv, oenv_low=oenv_low, oenv_body=oenv_body, hop=hop,
                    chroma=chroma.astype(np.float64), mfcc=mfcc.astype(np.float64),
                    rms_db=rms_db.astype(np.float64), centroid=centroid.astype(np.float64),
                    onset_coarse=oc)
