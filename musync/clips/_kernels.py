"""Numba kernels for :mod:`musync.clips.features` (private; callers validate shapes and types).

- :func:`frame_chunk_stats` -- one pass over a chunk of small RGB frames: 2x2 pooling, luma
  plane, luma mean / mean square / dark share, saturation, colour histogram and mean Lab.
- :func:`lag_diffs` -- mean absolute luma change against the previous few frames.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# sRGB (D65) -> XYZ / white point, rows X, Y, Z
_M = np.array([[0.4124564 / 0.95047, 0.3575761 / 0.95047, 0.1804375 / 0.95047],
               [0.2126729, 0.7151522, 0.0721750],
               [0.0193339 / 1.08883, 0.1191920 / 1.08883, 0.9503041 / 1.08883]])


@njit(cache=True, nogil=True)
def _lab_f(t):
    if t > 0.008856451679035631:            # (6/29)**3
        return t ** (1.0 / 3.0)
    return t / 0.12841854934601665 + 4.0 / 29.0   # t / (3 (6/29)^2) + 4/29


@njit(cache=True, nogil=True)
def frame_chunk_stats(raw, lin_lut, m, black_luma, luma_out, stats_out, hist_out, lab_out):
    """Measure ``k`` frames in one pass, averaging 2x2 blocks first.

    Parameters
    ----------
    raw : uint8 (k, H, W, 3)       frames as scaled by the decoder; H and W even
    lin_lut : float32 (256,)       sRGB value -> linear light
    m : float64 (3, 3)             linear RGB -> XYZ / white point
    black_luma : float             luma at or below which a pixel counts as dark
    luma_out : float32 (k, H/2, W/2)   pooled luma plane, [0, 1]
    stats_out : float64 (k, 4)     mean luma, mean squared luma, dark share, mean saturation
    hist_out : float32 (k, 64)     4x4x4 RGB histogram of the pooled pixels (shares)
    lab_out : float64 (k, 3)       mean CIE Lab over every 4th pooled pixel in each direction
    """
    k, H, W, _ = raw.shape
    h = H // 2
    w = W // 2
    npx = h * w
    inv = 1.0 / 1020.0
    cnt = np.zeros(64, dtype=np.int64)
    for f in range(k):
        s1 = 0.0
        s2 = 0.0
        dark = 0
        ssat = 0.0
        sl = 0.0
        sa = 0.0
        sb = 0.0
        nlab = 0
        cnt[:] = 0
        for i in range(h):
            for j in range(w):
                r = (np.int32(raw[f, 2 * i, 2 * j, 0]) + raw[f, 2 * i, 2 * j + 1, 0]
                     + raw[f, 2 * i + 1, 2 * j, 0] + raw[f, 2 * i + 1, 2 * j + 1, 0])
                g = (np.int32(raw[f, 2 * i, 2 * j, 1]) + raw[f, 2 * i, 2 * j + 1, 1]
                     + raw[f, 2 * i + 1, 2 * j, 1] + raw[f, 2 * i + 1, 2 * j + 1, 1])
                b = (np.int32(raw[f, 2 * i, 2 * j, 2]) + raw[f, 2 * i, 2 * j + 1, 2]
                     + raw[f, 2 * i + 1, 2 * j, 2] + raw[f, 2 * i + 1, 2 * j + 1, 2])
                y = (0.2126 * r + 0.7152 * g + 0.0722 * b) * inv
                luma_out[f, i, j] = y
                s1 += y
                s2 += y * y
                if y <= black_luma:
                    dark += 1
                mx = max(r, max(g, b))
                if mx > 40:                                  # 0.04 of full scale, x 1020
                    mn = min(r, min(g, b))
                    ssat += (mx - mn) / mx
                r8 = (r + 2) >> 2
                g8 = (g + 2) >> 2
                b8 = (b + 2) >> 2
                cnt[(r8 >> 6) * 16 + (g8 >> 6) * 4 + (b8 >> 6)] += 1
                if (i & 3) == 0 and (j & 3) == 0:
                    lr = lin_lut[r8]
                    lg = lin_lut[g8]
                    lb = lin_lut[b8]
                    fx = _lab_f(m[0, 0] * lr + m[0, 1] * lg + m[0, 2] * lb)
                    fy = _lab_f(m[1, 0] * lr + m[1, 1] * lg + m[1, 2] * lb)
                    fz = _lab_f(m[2, 0] * lr + m[2, 1] * lg + m[2, 2] * lb)
                    sl += 116.0 * fy - 16.0
                    sa += 500.0 * (fx - fy)
                    sb += 200.0 * (fy - fz)
                    nlab += 1
        stats_out[f, 0] = s1 / npx
        stats_out[f, 1] = s2 / npx
        stats_out[f, 2] = dark / npx
        stats_out[f, 3] = ssat / npx
        for q in range(64):
            hist_out[f, q] = cnt[q] / npx
        lab_out[f, 0] = sl / nlab
        lab_out[f, 1] = sa / nlab
        lab_out[f, 2] = sb / nlab


@njit(cache=True, nogil=True, fastmath=True)
def lag_diffs(ys, off, k, lookback, out):
    """``out[i, lag-1]`` = mean |ys[off+i] - ys[off+i-lag]| for lags 1..lookback (NaN if out of range).

    ``ys`` : float32 (off + k, h, w); ``out`` : float64 (k, lookback).
    """
    _, h, w = ys.shape
    for i in range(k):
        for lag in range(1, lookback + 1):
            src = off + i - lag
            if src < 0:
                out[i, lag - 1] = np.nan
                continue
            s = 0.0
            for a in range(h):
                for b in range(w):
                    s += abs(ys[off + i, a, b] - ys[src, a, b])
            out[i, lag - 1] = s / (h * w)


def warm() -> None:
    """Compile (or load from numba's cache) the kernels on tiny inputs."""
    raw = np.zeros((1, 4, 4, 3), dtype=np.uint8)
    lut = np.zeros(256, dtype=np.float32)
    frame_chunk_stats(raw, lut, _M, 0.1, np.zeros((1, 2, 2), np.float32), np.zeros((1, 4)),
                      np.zeros((1, 64), np.float32), np.zeros((1, 3)))
    lag_diffs(np.zeros((2, 2, 2), np.float32), 1, 1, 1, np.zeros((1, 1)))
