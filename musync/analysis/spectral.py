"""The spectral building blocks of the features, in numpy and scipy.

These are the textbook definitions musync uses, written to give the same numbers as librosa
0.11's functions of the same name (``stft``, ``filters.mel``, ``mel_frequencies``,
``power_to_db``, ``filters.chroma``, ``feature.chroma_stft``, ``feature.mfcc``,
``feature.rms``, ``feature.spectral_centroid``, ``resample(res_type="soxr_hq")``), which the
tests check. Importing librosa compiles some twenty numba kernels musync never calls (about
15 s on the first run after install), so the analysis does without it.

Public: :func:`stft_magnitude`, :func:`mel_filters`, :func:`mel_frequencies`,
:func:`power_to_db`, :func:`chroma_filters`, :func:`chroma`, :func:`mfcc`, :func:`rms`,
:func:`spectral_centroid`, :func:`resample`.
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = ["stft_magnitude", "mel_filters", "mel_frequencies", "power_to_db", "chroma_filters",
           "chroma", "mfcc", "rms", "spectral_centroid", "resample"]

# the Slaney mel scale: linear below 1 kHz, logarithmic above
_F_SP = 200.0 / 3
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOGSTEP = np.log(6.4) / 27.0


@functools.lru_cache(maxsize=8)
def _hann(n_fft: int) -> np.ndarray:
    from scipy.signal import get_window

    w = get_window("hann", n_fft, fftbins=True)
    w.setflags(write=False)
    return w


def stft_magnitude(seg: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """``|STFT|`` (bins x frames, float32) of the frames of ``seg`` that fit whole (no
    centring, no padding), periodic Hann window."""
    from numpy.lib.stride_tricks import sliding_window_view
    from scipy import fft

    frames = sliding_window_view(np.asarray(seg), n_fft)[::hop]
    spec = np.empty((frames.shape[0], n_fft // 2 + 1), dtype=np.complex64)
    rows = max(1, (1 << 22) // n_fft)               # about 32 MB of float64 per block
    w = _hann(n_fft)
    for a in range(0, frames.shape[0], rows):
        spec[a:a + rows] = fft.rfft(w * frames[a:a + rows], axis=-1)
    return np.abs(spec).T


def _hz_to_mel(f):
    f = np.asanyarray(f, dtype=np.float64)
    mels = f / _F_SP
    log_t = f >= _MIN_LOG_HZ
    mels = np.where(log_t, _MIN_LOG_MEL + np.log(np.where(log_t, f, _MIN_LOG_HZ) / _MIN_LOG_HZ) / _LOGSTEP,
                    mels)
    return mels


def _mel_to_hz(m):
    m = np.asanyarray(m, dtype=np.float64)
    freqs = _F_SP * m
    log_t = m >= _MIN_LOG_MEL
    return np.where(log_t, _MIN_LOG_HZ * np.exp(_LOGSTEP * (m - _MIN_LOG_MEL)), freqs)


def mel_frequencies(n_mels: int, *, fmin: float = 0.0, fmax: float = 11025.0) -> np.ndarray:
    """``n_mels`` frequencies (Hz) evenly spaced on the Slaney mel scale from fmin to fmax."""
    return _mel_to_hz(np.linspace(float(_hz_to_mel(fmin)), float(_hz_to_mel(fmax)), n_mels))


@functools.lru_cache(maxsize=16)
def mel_filters(sr: float, n_fft: int, n_mels: int, fmax: float | None = None) -> np.ndarray:
    """Triangular mel filters (n_mels x bins, float32), Slaney area normalisation."""
    fmax = float(sr) / 2 if fmax is None else fmax
    fftfreqs = np.fft.rfftfreq(n=n_fft, d=1.0 / sr)
    mel_f = mel_frequencies(n_mels + 2, fmin=0.0, fmax=fmax)
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fftfreqs)
    w = np.zeros((n_mels, n_fft // 2 + 1), dtype=np.float32)
    for i in range(n_mels):
        w[i] = np.maximum(0, np.minimum(-ramps[i] / fdiff[i], ramps[i + 2] / fdiff[i + 1]))
    w *= (2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels]))[:, np.newaxis]
    w.setflags(write=False)
    return w


def power_to_db(S: np.ndarray, *, ref: float = 1.0, amin: float = 1e-10) -> np.ndarray:
    """``10 log10(max(S, amin) / max(ref, amin))`` (no floor)."""
    out = 10.0 * np.log10(np.maximum(amin, S))
    out -= 10.0 * np.log10(np.maximum(amin, abs(ref)))
    return out


def _normalize(S: np.ndarray, norm, axis: int) -> np.ndarray:
    """Scale slices of ``S`` along ``axis`` to unit ``norm`` (inf, or p > 0); slices whose norm
    is below the dtype's smallest normal number are left as they are."""
    mag = np.abs(S).astype(float)
    if norm == np.inf:
        length = np.max(mag, axis=axis, keepdims=True)
    else:
        length = np.sum(mag ** norm, axis=axis, keepdims=True) ** (1.0 / norm)
    tiny = np.finfo(S.dtype if np.issubdtype(S.dtype, np.floating) else np.float32).tiny
    length[length < tiny] = 1.0
    out = np.empty_like(S)
    out[:] = S / length
    return out


@functools.lru_cache(maxsize=8)
def chroma_filters(sr: float, n_fft: int, n_chroma: int = 12) -> np.ndarray:
    """Chroma filters (n_chroma x bins, float32): Gaussian bumps per pitch class around each
    bin's pitch, weighted toward octave 5 (two octaves wide), rows starting at C, A = 440 Hz."""
    frequencies = np.linspace(0, sr, n_fft, endpoint=False)[1:]
    frqbins = n_chroma * np.log2(frequencies / (440.0 / 16))
    frqbins = np.concatenate(([frqbins[0] - 1.5 * n_chroma], frqbins))
    binwidth = np.concatenate((np.maximum(frqbins[1:] - frqbins[:-1], 1.0), [1]))
    D = np.subtract.outer(frqbins, np.arange(0, n_chroma, dtype="d")).T
    half = np.round(float(n_chroma) / 2)
    D = np.remainder(D + half + 10 * n_chroma, n_chroma) - half
    wts = np.exp(-0.5 * (2 * D / np.tile(binwidth, (n_chroma, 1))) ** 2)
    wts = _normalize(wts, 2, 0)
    wts *= np.tile(np.exp(-0.5 * (((frqbins / n_chroma - 5.0) / 2.0) ** 2)), (n_chroma, 1))
    wts = np.roll(wts, -3 * (n_chroma // 12), axis=0)
    out = np.ascontiguousarray(wts[:, : int(1 + n_fft / 2)], dtype=np.float32)
    out.setflags(write=False)
    return out


def chroma(P: np.ndarray, sr: float) -> np.ndarray:
    """Chroma of a power spectrogram (bins x frames), each frame scaled to a maximum of 1."""
    n_fft = 2 * (P.shape[0] - 1)
    raw = np.einsum("cf,ft->ct", chroma_filters(sr, n_fft), P, optimize=True)
    return _normalize(raw, np.inf, 0)


def mfcc(S_db: np.ndarray, n_mfcc: int) -> np.ndarray:
    """The first ``n_mfcc`` coefficients of the orthonormal DCT-II of a dB mel spectrogram."""
    from scipy import fft

    return fft.dct(S_db, axis=-2, type=2, norm="ortho")[:n_mfcc, :]


def rms(C: np.ndarray, frame_length: int) -> np.ndarray:
    """Root mean square of the frames of a magnitude spectrogram (Parseval; DC and Nyquist
    counted once)."""
    x = np.abs(C).astype(np.float32) ** 2
    x[0, :] *= 0.5
    if frame_length % 2 == 0:
        x[-1, :] *= 0.5
    return np.sqrt(2 * np.sum(x, axis=0) / frame_length ** 2)


def spectral_centroid(C: np.ndarray, sr: float) -> np.ndarray:
    """Magnitude-weighted mean frequency (Hz) of each frame of a magnitude spectrogram."""
    n_fft = 2 * (C.shape[0] - 1)
    freq = np.fft.rfftfreq(n=n_fft, d=1.0 / sr)[:, np.newaxis]
    return np.sum(freq * _normalize(C, 1, 0), axis=0)


def resample(y: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Band-limited resampling (soxr, high quality) to ``ceil(len * ratio)`` samples."""
    import soxr

    n = int(np.ceil(y.shape[-1] * float(target_sr) / orig_sr))
    out = soxr.resample(y, orig_sr, target_sr, quality="soxr_hq")
    if out.shape[-1] > n:
        out = out[:n]
    elif out.shape[-1] < n:
        out = np.pad(out, (0, n - out.shape[-1]))
    return np.asarray(out, dtype=y.dtype)
