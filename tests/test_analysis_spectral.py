"""The analysis' spectral building blocks give librosa's numbers (librosa 0.11 is the oracle:
musync does not import it, so that a first run does not compile its numba kernels)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from musync.analysis import spectral as sp

librosa = pytest.importorskip("librosa")


@pytest.fixture(scope="module")
def signal():
    rng = np.random.default_rng(3)
    t = np.arange(22050 * 20) / 22050
    y = 0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(t)) + 0.05 * rng.standard_normal(t.size)
    return y.astype(np.float32)


@pytest.mark.parametrize("n_fft, hop", [(512, 64), (2048, 512)])
def test_stft_magnitude(signal, n_fft, hop):
    want = np.abs(librosa.stft(signal, n_fft=n_fft, hop_length=hop, center=False))
    got = sp.stft_magnitude(signal, n_fft, hop)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


def test_filters_and_frequencies():
    for sr, n_fft, n_mels, fmax in ((22050, 512, 40, 11025.0), (22050, 2048, 96, None), (16000, 1024, 40, 8000.0)):
        np.testing.assert_allclose(sp.mel_filters(sr, n_fft, n_mels, fmax),
                                   librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmax=fmax), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(sp.mel_frequencies(40, fmax=11025.0), librosa.mel_frequencies(n_mels=40, fmax=11025.0))
    np.testing.assert_allclose(sp.chroma_filters(22050, 2048), librosa.filters.chroma(sr=22050, n_fft=2048, tuning=0.0),
                               rtol=1e-6, atol=1e-9)


def test_frame_features(signal):
    C = sp.stft_magnitude(signal, 2048, 512)
    C[:, :5] = 0.0                                   # silent frames: no division by zero
    P = C ** 2
    close = dict(rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(sp.chroma(P, 22050), librosa.feature.chroma_stft(S=P, sr=22050, tuning=0.0), **close)
    mel = librosa.feature.melspectrogram(S=P, sr=22050, n_mels=96)
    np.testing.assert_allclose(sp.power_to_db(mel, ref=1.0), librosa.power_to_db(mel, ref=1.0, top_db=None), **close)
    np.testing.assert_allclose(sp.mfcc(sp.power_to_db(mel), 13),
                               librosa.feature.mfcc(S=librosa.power_to_db(mel, top_db=None), n_mfcc=13), rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(sp.rms(C, 2048), librosa.feature.rms(S=C, frame_length=2048)[0], **close)
    np.testing.assert_allclose(sp.spectral_centroid(C, 22050), librosa.feature.spectral_centroid(S=C, sr=22050)[0],
                               rtol=1e-5, atol=1e-3)


@pytest.mark.parametrize("sr", [44100, 48000, 16000])
def test_resample(signal, sr):
    y = signal[: sr * 2]
    want = librosa.resample(y, orig_sr=sr, target_sr=22050, res_type="soxr_hq")
    got = sp.resample(y, sr, 22050)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


def test_analysis_does_not_import_librosa(tmp_path):
    code = ("import sys, numpy as np, musync\n"
            "t = np.arange(22050 * 4) / 22050\n"
            "musync.analyze(np.sin(2 * np.pi * 2 * t).astype(np.float32) * (np.sin(2 * np.pi * t * 2) > 0), 44100)\n"
            "print('librosa' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stderr
