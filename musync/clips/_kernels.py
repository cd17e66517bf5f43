"""Numba kernels for :mod:`musync.clips.features` (private; callers validate shapes and types).

- :func:`frame_chunk_stats` -- one pass over a chunk of small RGB frames: 2x2 pooling, luma
  plane, luma mean / mean square / dark share, saturation, colour histogram and mean Lab.
- :func:`lag_diffs` -- mean absolute luma change against the previous few frames.
- :func:`detail_stats` -- what is in the picture: row/column profiles, a 4x4 block map and the
  region-of-interest grid of a few frames a second.
- :func:`text_lines` -- lines of text in the row profiles of sharp steps.
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
        for q in range(64):
            cnt[q] = 0
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
    detail_stats(np.zeros((1, 8, 8, 3), np.uint8), np.zeros(1, np.int64),
                 np.zeros((1, 4, 4), np.float32), 0, 1, np.zeros((1, 17, 8), np.float32),
                 np.zeros((1, 4, 8), np.float32), np.zeros((1, 4, 2, 2), np.uint8),
                 np.zeros((1, 3, 4, 4), np.float32))
    text_lines(np.zeros((1, 8), np.float32), np.zeros((1, 8), np.float32),
               np.zeros((1, 8), np.float32), 8.0, 3, 8.0, 3.0, 0.2, np.zeros((1, 2)))


#: Luma change between neighbouring pixels that counts as a sharp, high-contrast edge.
EDGE_STEP = 0.2
#: Widest glyph stroke, in detail-frame pixels: a rise and a fall this close make one stroke.
STROKE_WIDTH = 4
#: Side of the blocks of the block map, detail-frame pixels.
BLOCK = 4
#: A filled stroke: between a sharp step and the next sharp step of the opposite sign, at least
#: FILL_MIN and at most 1/FILL_MAX_SHARE of the row's pixels, whose luma varies by at most
#: FILL_RANGE (flat paint: lettering is drawn in one colour; leaves, grass and film grain are
#: not flat between their edges).
FILL_RANGE = 0.1
FILL_MIN = 2
FILL_MAX_SHARE = 8


@njit(cache=True, nogil=True)
def _median(a, n):
    """The median of ``a[:n]`` (n >= 1), as np.median gives it; sorts ``a[:n]`` in place
    (insertion sort: n is a handful of rows, and np.median costs numba seconds to compile)."""
    for i in range(1, n):
        v = a[i]
        j = i - 1
        while j >= 0 and a[j] > v:
            a[j + 1] = a[j]
            j -= 1
        a[j + 1] = v
    if n % 2:
        return a[n // 2]
    return (a[n // 2 - 1] + a[n // 2]) / 2


@njit(cache=True, nogil=True)
def detail_stats(raw, sel, ys, off, cell, rows, cols, blocks, grid):
    """Picture-content statistics of the frames ``sel`` of a chunk (``raw[sel[s]]``), in one
    row-major pass over each frame.

    Parameters
    ----------
    raw : uint8 (k, H, W, 3)       the decoder-scaled frames (twice the analysis size)
    sel : int64 (m,)               which frames of the chunk to measure
    ys : float32 (off + k, h, w)   pooled luma of the chunk, with ``off`` earlier frames first
    cell : int                     side of a region-of-interest grid cell, pooled pixels
    rows : float32 (m, 17, H)      per row: mean luma, luma range, sharp horizontal steps
                                   (>= EDGE_STEP), first and last column with such a step (-1:
                                   none), mean absolute difference from the row above, colour
                                   steps (a channel changing by >= EDGE_STEP); then filled
                                   strokes (see :data:`FILL_RANGE`), bright ones (a sharp rise,
                                   a flat run, a sharp fall): count, the sums of their mean R, G
                                   and B (0-1) and of its squared length R^2 + G^2 + B^2; then
                                   the same for dark ones
    cols : float32 (m, 4, W)       per column: mean luma, luma range, mean absolute difference
                                   from the column to the left, colour steps
    blocks : uint8 (m, 4, H//BLOCK, W//BLOCK)
                                   per BLOCK x BLOCK block: luma range and mean (x 255), sharp
                                   steps (horizontal and vertical), thin strokes (a rise and a
                                   fall within STROKE_WIDTH pixels along a row or a column, counted
                                   at the fall)
    grid : float32 (m, 3, gh, gw)  per ROI cell: mean absolute change from the previous pooled
                                   frame, mean gradient magnitude, mean luma
    """
    k, H, W, _ = raw.shape
    _, h, w = ys.shape
    inv = 1.0 / 255.0
    cstep = np.int32(EDGE_STEP * 255.0)
    bh = blocks.shape[2]
    bw = blocks.shape[3]
    prev = np.empty(W, dtype=np.float32)
    cur = np.empty(W, dtype=np.float32)
    csum = np.empty(W)
    clo = np.empty(W)
    chi = np.empty(W)
    cdiff = np.empty(W)
    ccol = np.empty(W, dtype=np.int32)
    cpos = np.empty(W, dtype=np.int32)
    csign = np.empty(W, dtype=np.int32)
    blo = np.empty((bh, bw))
    bhi = np.empty((bh, bw))
    bsum = np.empty((bh, bw))
    bedge = np.zeros((bh, bw), dtype=np.int32)
    bstroke = np.zeros((bh, bw), dtype=np.int32)
    gh = grid.shape[2]
    gw = grid.shape[3]
    cnt = np.zeros((gh, gw), dtype=np.int64)
    fill = np.zeros(10)
    fmax = max(FILL_MIN, W // FILL_MAX_SHARE)
    for s in range(sel.shape[0]):
        f = sel[s]
        # element loops, not slice assignments: the same resets, far less for numba to compile
        for j in range(W):
            csum[j] = 0.0
            clo[j] = 2.0
            chi[j] = -1.0
            cdiff[j] = 0.0
            ccol[j] = 0
            cpos[j] = -100
            csign[j] = 0
        for bi in range(bh):
            for bj in range(bw):
                blo[bi, bj] = 2.0
                bhi[bi, bj] = -1.0
                bsum[bi, bj] = 0.0
                bedge[bi, bj] = 0
                bstroke[bi, bj] = 0
        for i in range(H):
            bi = min(i // BLOCK, bh - 1)
            rs = 0.0
            rlo = 2.0
            rhi = -1.0
            redge = 0
            first = -1
            last = -1
            rdiff = 0.0
            rcol = 0
            last_pos = -100
            last_sign = 0
            fsign = 0                 # filled-stroke tracker: 1 bright, -1 dark, 0 none
            fstart = 0
            flo = 2.0
            fhi = -1.0
            fr = 0.0                  # the run's summed R, G, B (0-255)
            fg = 0.0
            fb = 0.0
            for q in range(10):
                fill[q] = 0.0
            for j in range(W):
                r0 = np.int32(raw[f, i, j, 0])
                g0 = np.int32(raw[f, i, j, 1])
                b0 = np.int32(raw[f, i, j, 2])
                v = np.float32((0.2126 * r0 + 0.7152 * g0 + 0.0722 * b0) * inv)
                cur[j] = v
                bj = min(j // BLOCK, bw - 1)
                rs += v
                rlo = min(rlo, v)
                rhi = max(rhi, v)
                csum[j] += v
                clo[j] = min(clo[j], v)
                chi[j] = max(chi[j], v)
                if bi < bh and bj < bw:
                    blo[bi, bj] = min(blo[bi, bj], v)
                    bhi[bi, bj] = max(bhi[bi, bj], v)
                    bsum[bi, bj] += v
                if j > 0:
                    d = v - cur[j - 1]
                    cdiff[j] += abs(d)
                    sgn = 1 if d >= EDGE_STEP else (-1 if d <= -EDGE_STEP else 0)
                    if sgn != 0:
                        ln = j - fstart
                        if (fsign == -sgn and FILL_MIN <= ln <= fmax
                                and fhi - flo <= FILL_RANGE):
                            q = 0 if fsign > 0 else 5
                            mr = fr * inv / ln
                            mg = fg * inv / ln
                            mb = fb * inv / ln
                            fill[q] += 1.0
                            fill[q + 1] += mr
                            fill[q + 2] += mg
                            fill[q + 3] += mb
                            fill[q + 4] += mr * mr + mg * mg + mb * mb
                        fsign = sgn
                        fstart = j
                        flo = v
                        fhi = v
                        fr = r0
                        fg = g0
                        fb = b0
                    elif fsign != 0:
                        flo = min(flo, v)
                        fhi = max(fhi, v)
                        fr += r0
                        fg += g0
                        fb += b0
                        if fhi - flo > FILL_RANGE or j - fstart > fmax:
                            fsign = 0
                    if (abs(r0 - np.int32(raw[f, i, j - 1, 0])) >= cstep
                            or abs(g0 - np.int32(raw[f, i, j - 1, 1])) >= cstep
                            or abs(b0 - np.int32(raw[f, i, j - 1, 2])) >= cstep):
                        rcol += 1
                    if abs(d) >= EDGE_STEP:
                        redge += 1
                        bedge[bi, bj] += 1
                        if first < 0:
                            first = j
                        last = j
                        sg = 1 if d > 0 else -1
                        if sg == -last_sign and j - last_pos <= STROKE_WIDTH:
                            bstroke[bi, bj] += 1
                            last_sign = 0
                        else:
                            last_sign = sg
                        last_pos = j
                if i > 0:
                    d = v - prev[j]
                    rdiff += abs(d)
                    if (abs(r0 - np.int32(raw[f, i - 1, j, 0])) >= cstep
                            or abs(g0 - np.int32(raw[f, i - 1, j, 1])) >= cstep
                            or abs(b0 - np.int32(raw[f, i - 1, j, 2])) >= cstep):
                        ccol[j] += 1
                    if abs(d) >= EDGE_STEP:
                        bedge[bi, bj] += 1
                        sg = 1 if d > 0 else -1
                        if sg == -csign[j] and i - cpos[j] <= STROKE_WIDTH:
                            bstroke[bi, bj] += 1
                            csign[j] = 0
                        else:
                            csign[j] = sg
                        cpos[j] = i
            rows[s, 0, i] = rs / W
            rows[s, 1, i] = rhi - rlo
            rows[s, 2, i] = redge
            rows[s, 3, i] = first
            rows[s, 4, i] = last
            rows[s, 5, i] = rdiff / W if i > 0 else 0.0
            rows[s, 6, i] = rcol
            for q in range(10):
                rows[s, 7 + q, i] = fill[q]
            for j in range(W):
                prev[j] = cur[j]
        for j in range(W):
            cols[s, 0, j] = csum[j] / H
            cols[s, 1, j] = chi[j] - clo[j]
            cols[s, 2, j] = cdiff[j] / H if j > 0 else 0.0
            cols[s, 3, j] = ccol[j]
        for bi in range(bh):
            for bj in range(bw):
                blocks[s, 0, bi, bj] = np.uint8(min(255.0, (bhi[bi, bj] - blo[bi, bj]) * 255.0 + 0.5))
                blocks[s, 1, bi, bj] = np.uint8(min(255.0, bsum[bi, bj] * (255.0 / (BLOCK * BLOCK)) + 0.5))
                blocks[s, 2, bi, bj] = np.uint8(min(255, bedge[bi, bj]))
                blocks[s, 3, bi, bj] = np.uint8(min(255, bstroke[bi, bj]))
        # region-of-interest grid on the pooled luma
        cur_i = off + f
        for ch in range(grid.shape[1]):
            for gi in range(gh):
                for gj in range(gw):
                    grid[s, ch, gi, gj] = 0.0
        for gi in range(gh):
            for gj in range(gw):
                cnt[gi, gj] = 0
        for i in range(h):
            gi = min(i // cell, gh - 1)
            for j in range(w):
                gj = min(j // cell, gw - 1)
                v = ys[cur_i, i, j]
                mo = abs(v - ys[cur_i - 1, i, j]) if cur_i > 0 else 0.0
                gx = ys[cur_i, i, j + 1] - v if j + 1 < w else 0.0
                gy = ys[cur_i, i + 1, j] - v if i + 1 < h else 0.0
                grid[s, 0, gi, gj] += mo
                grid[s, 1, gi, gj] += abs(gx) + abs(gy)
                grid[s, 2, gi, gj] += v
                cnt[gi, gj] += 1
        for a in range(gh):
            for b in range(gw):
                c = max(cnt[a, b], 1)
                grid[s, 0, a, b] /= c
                grid[s, 1, a, b] /= c
                grid[s, 2, a, b] /= c


@njit(cache=True, nogil=True)
def text_lines(edges, first, last, width, max_h, min_mean, contrast, min_density, out):
    """Lines of text in each frame's row profile of sharp steps.

    A line is a run of rows with at least 4 sharp steps each (and at least 0.3 of the run's
    strongest row), 2 to ``max_h`` rows high, with at least ``min_mean`` steps per row on
    average, ``contrast`` times more than the two rows above and below it (plus 0.5), at least
    ``min_density`` steps per pixel of its span (the median distance from its first to its last
    step), a span at least twice its height and below 98 % of ``width``.

    edges, first, last : float32 (m, n)   per frame and row: steps, first and last step column
    out : float64 (m, 2)                  rows inside lines, number of lines
    """
    m, n = edges.shape
    spans = np.empty(n)
    for s in range(m):
        rows_in = 0
        lines = 0
        i = 0
        while i < n:
            if edges[s, i] < 4:
                i += 1
                continue
            j = i
            top = 0.0
            total = 0.0
            while j < n:
                v = edges[s, j]
                top = max(top, v)
                if v < max(4.0, 0.3 * top):
                    break
                total += v
                j += 1
            h = j - i
            osum = 0.0
            ocnt = 0
            for k in range(max(0, i - 2), i):
                osum += edges[s, k]
                ocnt += 1
            for k in range(j, min(n, j + 2)):
                osum += edges[s, k]
                ocnt += 1
            outside = osum / ocnt if ocnt else 0.0
            nsp = 0
            for k in range(i, j):
                if first[s, k] >= 0 and last[s, k] >= first[s, k]:
                    spans[nsp] = last[s, k] - first[s, k] + 1
                    nsp += 1
            span = _median(spans, nsp) if nsp else 0.0
            mean = total / h if h else 0.0
            dens = total / max(1.0, span * h)
            if (2 <= h <= max_h and mean >= min_mean and mean >= contrast * (outside + 0.5)
                    and dens >= min_density and span >= 2 * h and span <= 0.98 * width):
                rows_in += h
                lines += 1
            i = max(j, i + 1)
        out[s, 0] = rows_in
        out[s, 1] = lines
