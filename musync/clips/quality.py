"""Picture quality, visual interest, hero ranges and the region of interest of a clip.

Inputs are what the scan already has: the frame signals and detail frames
(:mod:`musync.clips.features`) and, about once a second, a **plane probe**: four 64x64 tiles
of the decoded luma plane at full resolution (:func:`plane_probe`), where fine detail and
compression blocks are visible.

Public:

- :func:`plane_probe` -- sharpness bands and blockiness of one full-resolution luma plane.
- :func:`shift_velocity` -- the global shift of the picture between detail frames (for shake).
- :func:`quality_of` -- a :class:`~musync.types.Quality` for a span of frames.
- :func:`interest_curve` -- visual interest of each detail frame (contrast, colour, detail).
- :func:`hero_ranges` -- the most striking ranges of a clip.
- :func:`roi_track` -- where the subject is: a box per half second from motion and detail.
- :func:`upscale_factor` -- how far a clip's picture is blown up to fill an output size.
- :func:`quality_at` -- quality at an output size (resolution included).

Scales (documented so that the planner and the reports can read them): every component is in
[0, 1]; see :class:`~musync.types.Quality`.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["plane_probe", "shift_velocity", "quality_of", "interest_curve", "hero_ranges", "roi_track",
           "upscale_factor", "quality_at", "PROBE_TILE"]

#: Side of the full-resolution tiles probed for detail and blocks (pixels, a multiple of 8).
PROBE_TILE = 64
_EDGES = np.array([0.04, 0.055, 0.075, 0.1, 0.14, 0.19, 0.26, 0.36, 0.5])
_TILE_SPOTS = ((0.3, 0.3), (0.3, 0.7), (0.7, 0.3), (0.7, 0.7))
_freq_cache: dict[int, tuple[np.ndarray, np.ndarray, list]] = {}


def _freqs(n: int):
    if n not in _freq_cache:
        f = np.fft.fftfreq(n)
        fr = np.sqrt(f[:, None] ** 2 + f[None, :] ** 2)
        w = np.hanning(n)
        masks = [(fr >= a) & (fr < b) for a, b in zip(_EDGES[:-1], _EDGES[1:])]
        _freq_cache[n] = (fr, np.outer(w, w), masks)
    return _freq_cache[n]


def plane_probe(plane: np.ndarray, box=None) -> np.ndarray:
    """Measure fine detail and compression blocks on a full-resolution luma plane.

    Parameters
    ----------
    plane : 2-D array (H, W)
        The decoded luma plane (8-bit, or more bits scaled to [0, 255]); ``box = (y0, y1, x0,
        x1)`` limits it to the picture inside bars.

    Returns
    -------
    ndarray (4,)
        ``sharp``: power at 0.19-0.5 cycles/pixel against 0.055-0.14 (median over textured
        tiles), ``cutoff``: the frequency where the spectrum falls off a cliff (0.5 when it does
        not: the picture has detail up to the pixel grid), ``block``: mean luma step across the
        8-pixel grid against the mean step elsewhere, ``tiles``: textured tiles measured. NaN
        values when no tile has texture.
    """
    a = np.asarray(plane)
    H, W = a.shape
    y0, y1, x0, x1 = box if box is not None else (0, H, 0, W)
    n = PROBE_TILE
    if y1 - y0 < n or x1 - x0 < n:
        n = max(16, (min(y1 - y0, x1 - x0) // 8) * 8)
        if n < 16:
            return np.array([np.nan, np.nan, np.nan, 0.0])
    _, win, masks = _freqs(n)
    sharp, cut, block = [], [], []
    def place(lo: int, hi: int, f: float) -> int:
        # a tile start on the 8-pixel grid (where codec blocks start), inside [lo, hi - n]
        first, last = -(-lo // 8) * 8, (hi - n) // 8 * 8
        return min(max(int(lo + f * (hi - lo) - n / 2) // 8 * 8, first), last)

    for fy, fx in _TILE_SPOTS:
        ty, tx = place(y0, y1, fy), place(x0, x1, fx)
        if ty < y0 or tx < x0:
            continue
        g = a[ty:ty + n, tx:tx + n].astype(np.float32) / 255.0
        if float(g.std()) < 0.02:
            continue
        p = np.abs(np.fft.fft2((g - g.mean()) * win)) ** 2
        bands = np.array([p[mk].mean() for mk in masks]) + 1e-12
        sharp.append(bands[5:].mean() / bands[1:4].mean())
        ratios = bands[1:] / bands[:-1]
        c = 0.5
        for i in range(1, ratios.size):
            if ratios[i] <= 0.1 and ratios[i] <= 0.4 * float(np.median(ratios[:i])):
                c = float(_EDGES[i + 1])
                break
        cut.append(c)
        dx = np.abs(np.diff(g, axis=1))
        dy = np.abs(np.diff(g, axis=0))
        k = np.arange(1, n)
        on = (k % 8) == 0
        inner = 0.5 * (dx[:, ~on].mean() + dy[~on, :].mean())
        edge = 0.5 * (dx[:, on].mean() + dy[on, :].mean())
        block.append(edge / max(inner, 1e-4))
    if not sharp:
        return np.array([np.nan, np.nan, np.nan, 0.0])
    return np.array([float(np.median(sharp)), float(np.median(cut)), float(np.median(block)),
                     float(len(sharp))])


def _shifts(profiles: np.ndarray, max_shift: int) -> np.ndarray:
    """Best shift (pixels) between consecutive 1-D luma profiles, (m,): NaN for the first and
    where the picture changed too much to align (a cut, a flash)."""
    from .content import _vshifts

    p = np.asarray(profiles, dtype=np.float64)
    out = _vshifts(p, max_shift)
    if p.shape[0] > 1:
        jump = ((np.abs(p[1:] - p[:-1]).mean(axis=1) > 0.06)
                | (np.abs(p[1:].mean(axis=1) - p[:-1].mean(axis=1)) > 0.04))
        out[1:][jump] = np.nan
    return out


def _clip01(x) -> float:
    return float(min(1.0, max(0.0, x)))


def shift_velocity(det, area) -> tuple[np.ndarray, np.ndarray]:
    """Global picture shift between consecutive detail frames, as fractions of the picture
    width and height (``vx``, ``vy``, (m,) each; NaN at the first frame and across cuts)."""
    rows = det.rows[:, 0, area.y0:area.y1]
    cols = det.cols[:, 0, area.x0:area.x1]
    vy = _shifts(rows, max(2, rows.shape[1] // 12)) / max(1, rows.shape[1])
    vx = _shifts(cols, max(2, cols.shape[1] // 12)) / max(1, cols.shape[1])
    return vx, vy


def quality_of(sig, det, fc, probes: np.ndarray, sel: np.ndarray, psel: np.ndarray,
               *, rate: float, velocity):
    """Quality of one span of a clip.

    Parameters
    ----------
    sig : FrameSignals;  det : Details;  fc : FrameContent (see :mod:`musync.clips.content`)
    probes : (p, 4) plane probes of the clip
    sel : indices of the detail frames in the span;  psel : indices of the probes in the span
    rate : analysis frames per second
    velocity : (vx, vy) from :func:`shift_velocity`

    Returns
    -------
    Quality

    Components: ``sharpness`` maps the probes' high/mid power ratio from 0.002 (0) to 0.08 (1)
    on a log scale; ``detail`` is the spectral cut-off over the pixel grid's 0.5 cycles/pixel;
    ``blockiness`` maps the grid step ratio from 1.1 (0) to 1.6 (1); ``shake`` is the jitter of
    the global shift of the picture (its frame-to-frame change minus a 0.5 s moving median), 1
    at 2 % of the frame per detail frame; ``flicker`` the frame-to-frame mean-luma wobble
    (second differences), 1 at 0.03; ``exposure`` falls with clipped highlights, crushed
    shadows and a mean luma far from mid-grey. ``score`` = 0.35 sharpness + 0.15 detail + 0.15
    (1 - blockiness) + 0.1 (1 - shake) + 0.1 (1 - flicker) + 0.15 exposure.
    """
    from ..types import Quality

    pr = probes[psel] if probes.size and psel.size else np.zeros((0, 4))
    ok = pr[:, 3] > 0 if pr.size else np.zeros(0, dtype=bool)
    if ok.any():
        sr = float(np.median(pr[ok, 0]))
        sharp = _clip01(math.log(max(sr, 1e-6) / 0.002) / math.log(0.08 / 0.002))
        detail = _clip01(float(np.median(pr[ok, 1])) / 0.5)
        block = _clip01((float(np.median(pr[ok, 2])) - 1.1) / 0.5)
    else:
        sharp, detail, block = 0.5, 1.0, 0.0
    if sel.size >= 4:
        vx, vy = velocity[0][sel[1:]], velocity[1][sel[1:]]
        jit = []
        for v in (vx, vy):
            ok = np.isfinite(v)
            if ok.sum() >= 3:
                pad = np.pad(v, 2, mode="edge")
                win = np.lib.stride_tricks.sliding_window_view(pad, 5)
                med = np.full(v.size, np.nan)
                some = np.isfinite(win).any(axis=1)
                med[some] = np.nanmedian(win[some], axis=1)
                dev = (v - med)[ok & np.isfinite(med)]
                if dev.size:
                    jit.append(float(np.sqrt(np.mean(dev ** 2))))
        shake = _clip01(max(jit) / 0.02) if jit else 0.0
    else:
        shake = 0.0
    fidx = np.arange(det.idx[sel[0]], det.idx[sel[-1]] + 1) if sel.size else np.zeros(0, int)
    if fidx.size >= 4:
        lum = sig.luma[fidx]
        d2 = np.abs(np.diff(lum, 2))
        d2 = d2[d2 < 0.08]                          # cuts and flashes are not flicker
        flicker = _clip01(float(np.median(d2)) / 0.03 * 3.0) if d2.size else 0.0
    else:
        flicker = 0.0
    if sel.size:
        means = det.blocks[sel, 1].astype(np.float64) / 255.0
        clipped = float((means >= 0.97).mean())
        crushed = float((means <= 0.03).mean())
        mean = float(fc.luma[sel].mean())
        exposure = _clip01(1.0 - 2.0 * clipped - 1.5 * max(0.0, crushed - 0.1)
                           - 2.0 * max(0.0, abs(mean - 0.45) - 0.25))
    else:
        exposure = 1.0
    score = (0.35 * sharp + 0.15 * detail + 0.15 * (1 - block) + 0.1 * (1 - shake)
             + 0.1 * (1 - flicker) + 0.15 * exposure)
    return Quality(score, sharp, detail, block, shake, flicker, exposure)


def interest_curve(sig, det, fc) -> np.ndarray:
    """Visual interest of each detail frame in [0, 1]: contrast, colourfulness and detail."""
    idx = det.idx
    if idx.size == 0:
        return np.zeros(0)
    con = np.clip(sig.contrast[idx] / 0.25, 0, 1)
    sat = np.clip(sig.saturation[idx] / 0.45, 0, 1)
    edge = np.clip(fc.edges / 0.08, 0, 1)
    return 0.4 * con + 0.3 * sat + 0.3 * edge


def hero_ranges(times: np.ndarray, interest: np.ndarray, motion: np.ndarray,
                quality: np.ndarray, spans, *, length: float = 2.0, count: int = 3,
                excluded=()):
    """The most striking ranges of a clip: quality x interest x motion, over ``length`` seconds.

    Parameters
    ----------
    times : (m,) detail-frame times;  interest, motion, quality : (m,) per detail frame
    spans : list of (start, end) seconds where heroes may lie (sub-shots in the usable window)
    excluded : list of (start, end) that may not be used (flagged ranges)

    Returns
    -------
    list of (start, end, score, reason), best first, at most ``count``, not overlapping.
    """
    out = []
    if times.size == 0:
        return out
    mot = motion / (motion + 0.12)                  # moving pictures are striking, up to a point
    val = np.clip(quality, 0, 1) * (0.3 + 0.7 * interest) * (0.35 + 0.65 * mot)
    cands = []
    for a, b in spans:
        if b - a < 0.5:
            continue
        L = min(length, b - a)
        starts = np.arange(a, max(a, b - L) + 1e-9, 0.25)
        for s in starts:
            e = s + L
            if any(s < xb and xa < e for xa, xb in excluded):
                continue
            m = (times >= s) & (times < e)
            if not m.any():
                continue
            cands.append((float(val[m].mean()), float(s), float(e), float(quality[m].mean()),
                          float(interest[m].mean()), float(motion[m].mean())))
    cands.sort(key=lambda c: -c[0])
    for sc, s, e, q, i, mo in cands:
        if len(out) >= count:
            break
        if any(s < ob and os_ < e for os_, ob, _, _ in out):
            continue
        out.append((s, e, sc, f"quality {q:.2f}, interest {i:.2f}, motion {mo:.2f}"))
    return out


def roi_track(det, area, *, step: float, times: np.ndarray):
    """Where the subject is: one box per ``step`` seconds.

    Each region-of-interest cell of the detail frames scores its motion above the frame's
    median motion (the camera's own movement removed), plus a third of its edge density above
    the frame's median and a quarter of its luma contrast with the frame (each relative to the
    frame's largest). The scores of the frames in each window are averaged; the box holds the
    cells scoring at least half the best one (one cell of margin, at least a fifth of the
    picture each way), inside the picture area.

    Returns
    -------
    roi_times : (r,) window centres (seconds);  boxes : (r, 4) ``x, y, w, h`` as fractions of the
    (stored, unrotated) frame
    """
    m = det.idx.shape[0]
    if m == 0:
        return np.zeros(0), np.zeros((0, 4))
    g = det.grid.astype(np.float64)
    gh, gw = g.shape[2], g.shape[3]

    def above_median(x):
        return np.maximum(x - np.median(x.reshape(m, -1), axis=1)[:, None, None], 0.0)

    def norm(x):
        mx = x.reshape(m, -1).max(axis=1)[:, None, None]
        return x / np.maximum(mx, 1e-6)

    lum = g[:, 2]
    con = np.abs(lum - lum.reshape(m, -1).mean(axis=1)[:, None, None])
    mot = above_median(g[:, 0])
    moving = (mot.reshape(m, -1).max(axis=1) > 0.004)[:, None, None]
    score = np.where(moving, norm(mot), 0.0) + 0.33 * norm(above_median(g[:, 1])) + 0.25 * norm(con)
    H, W = area.height, area.width
    cy = (np.arange(gh) + 0.5) / gh
    cx = (np.arange(gw) + 0.5) / gw
    inside = ((cy[:, None] >= area.y0 / H) & (cy[:, None] <= area.y1 / H)
              & (cx[None, :] >= area.x0 / W) & (cx[None, :] <= area.x1 / W))
    score = score * inside[None]
    t_end = float(times[-1]) + 1.0 / 5.0                 # the last detail frame's end
    centres = np.arange(float(times[0]) + step / 2, t_end, step)
    if centres.size == 0:
        centres = np.array([float(times[0])])
    boxes = []
    px0, py0 = area.x0 / W, area.y0 / H
    pw, ph = (area.x1 - area.x0) / W, (area.y1 - area.y0) / H
    for c in centres:
        sel = np.flatnonzero(np.abs(times - c) <= step / 2 + 1e-9)
        if sel.size == 0:
            sel = np.array([int(np.argmin(np.abs(times - c)))])
        mov = moving[sel, 0, 0]
        if mov.any():                     # frames that see motion lead the ones that do not
            sel = sel[mov]
        s = score[sel].mean(axis=0)
        top = float(s.max())
        if top <= 1e-9:
            boxes.append((px0, py0, pw, ph))
            continue
        rows_, cols_ = np.nonzero(s >= 0.5 * top)
        y0 = max(0, rows_.min() - 1) / gh
        y1 = min(gh, rows_.max() + 2) / gh
        x0 = max(0, cols_.min() - 1) / gw
        x1 = min(gw, cols_.max() + 2) / gw
        bw = min(pw, max(0.2 * pw, x1 - x0))
        bh = min(ph, max(0.2 * ph, y1 - y0))
        mx, my = 0.5 * (x0 + x1), 0.5 * (y0 + y1)
        x = min(max(mx - bw / 2, px0), px0 + pw - bw)
        y = min(max(my - bh / 2, py0), py0 + ph - bh)
        boxes.append((x, y, bw, bh))
    return centres, np.asarray(boxes, dtype=np.float64).reshape(-1, 4)


def upscale_factor(clip, size) -> float:
    """How far ``clip``'s real picture (inside any bars) is scaled up to fill ``size = (w, h)``.

    Fill framing: the picture is scaled until it covers the output, so the factor is the larger
    of the two ratios; the picture's effective detail (:attr:`Quality.detail`) divides its
    pixel size. Below 1 the source is scaled down.
    """
    w, h = size
    pic = clip.picture if clip.picture else (0, 0, *clip.size)
    pw, ph = max(1, pic[2]), max(1, pic[3])
    detail = clip.quality.detail if clip.quality is not None else 1.0
    detail = min(1.0, max(0.1, detail))
    return max(w / (pw * detail), h / (ph * detail))


def quality_at(clip, size) -> float:
    """Quality of ``clip`` in an output of ``size``: its picture quality, lowered by upscaling
    (full up to 1x, half at 2x, a quarter at 4x)."""
    q = clip.quality.score if clip.quality is not None else 0.5
    up = upscale_factor(clip, size)
    return float(q * min(1.0, 1.0 / max(up, 1e-6)))
