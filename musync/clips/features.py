"""Measuring a clip from its low-resolution frames, with no per-pixel Python loops.

The scanner feeds decoder-scaled RGB frames to a :class:`FrameAccumulator`, which reduces each
chunk of frames to a handful of per-frame signals (:class:`FrameSignals`) in one pass of a small
numba kernel (:mod:`musync.clips._kernels`); :func:`measure` turns those signals into the
features of a :class:`~musync.types.ClipInfo` with numpy on short arrays. Each step is a small
public function that can be called (and tested) on its own.

Public:

- :class:`FrameAccumulator` -- frames in, :class:`FrameSignals` out (streaming, bounded memory).
- :class:`FrameSignals` -- per-frame luma, contrast, saturation, Lab colour and frame differences.
- :func:`detect_cuts` -- internal hard cuts (flashes are not cuts).
- :func:`motion_curve` -- motion energy per analysis frame on an absolute [0, 1] scale.
- :func:`motion_peaks` -- moments of visual impact ("visual beats").
- :func:`usable_window` -- trim black, fades from/to black, frozen ends and unstable ends.
- :func:`measure` -- all of the above, composed: a :class:`Measurement`.

Scales: luma is Rec. 709 Y' in [0, 1]; a frame difference is the mean absolute luma change
between two analysis frames, in the same units.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

__all__ = ["FrameAccumulator", "FrameSignals", "Measurement", "detect_cuts", "motion_curve",
           "motion_peaks", "usable_window", "measure", "MOTION_SCALE", "MOTION_FLOOR", "BLACK_LUMA",
           "BLACK_SHARE", "FROZEN_DIFF"]

#: Motion values are ``1 - exp(-max(0, d - MOTION_FLOOR) / MOTION_SCALE)`` for ``d`` the mean
#: absolute luma change per 1/30 s of the analysis frames; the floor absorbs codec noise.
MOTION_SCALE = 0.05
MOTION_FLOOR = 0.002
#: A pixel is dark at or below this luma; a frame is black when :data:`BLACK_SHARE` of its
#: pixels are dark (the defaults of ffmpeg's ``blackdetect``).
BLACK_LUMA = 0.10
BLACK_SHARE = 0.98
#: Two analysis frames are the same picture (a frozen frame) below this mean luma change (the
#: motion floor: encoders keep refining a repeated picture for a few frames).
FROZEN_DIFF = 0.002
#: Frame differences are kept against this many previous frames (for flash suppression).
_LOOKBACK = 4
_REF_DT = 1.0 / 30.0

_SRGB_LINEAR = np.where(np.arange(256) / 255.0 <= 0.04045, np.arange(256) / 255.0 / 12.92,
                        ((np.arange(256) / 255.0 + 0.055) / 1.055) ** 2.4).astype(np.float32)


@dataclass
class FrameSignals:
    """Per-frame signals of the analysis frames of one clip. All arrays have shape ``(n,)``
    except ``lab`` ``(n, 3)`` and ``diffs`` ``(n, 4)``.

    Attributes
    ----------
    times : frame times, seconds from the first frame
    end : end time of the last frame (its start plus one frame interval), seconds
    luma : mean luma, [0, 1]
    contrast : standard deviation of luma, [0, 0.5]
    dark : share of dark pixels (luma <= :data:`BLACK_LUMA`), [0, 1]
    saturation : mean HSV saturation, [0, 1]
    lab : mean CIE Lab colour
    diffs : ``diffs[i, k-1]`` is the mean absolute luma change from frame ``i - k`` to frame
        ``i`` (NaN where ``i < k``)
    hist_diff : half the L1 distance between the 64-bin colour histograms of frames ``i - 1`` and
        ``i``, [0, 1] (NaN at 0)
    """

    times: np.ndarray
    end: float
    luma: np.ndarray
    contrast: np.ndarray
    dark: np.ndarray
    saturation: np.ndarray
    lab: np.ndarray
    diffs: np.ndarray
    hist_diff: np.ndarray

    detail: "Details | None" = None

    def __len__(self) -> int:
        return int(self.times.shape[0])

    @property
    def black(self) -> np.ndarray:
        """Boolean (n,): frames that are black."""
        return self.dark >= BLACK_SHARE

    @property
    def d1(self) -> np.ndarray:
        """Mean absolute luma change from the previous frame, (n,) (0 at frame 0)."""
        return np.nan_to_num(self.diffs[:, 0])


@dataclass
class Details:
    """What the scan sees in the picture, measured on a subset of the analysis frames.

    ``idx`` arrays index the analysis frames (rows of :class:`FrameSignals`).

    Attributes
    ----------
    idx : int (m,)              detail frames (about :data:`DETAIL_RATE` per second)
    rows : float (m, 17, H)     per row of the detail frame (twice the analysis size): mean
                                luma, luma range, sharp steps, first and last column with one,
                                difference from the row above, colour steps, then bright and
                                dark filled strokes (count, sums of their mean R, G, B and of
                                R^2 + G^2 + B^2)
    cols : float (m, 4, W)      per column: mean luma, luma range, difference from the left,
                                colour steps
    blocks : uint8 (m, 4, H/4, W/4)
                                per 4x4 block: luma range, mean luma, sharp steps, thin strokes
    colours : int (m,)          colour-histogram bins (of 64) holding 90 % of the pixels
    grid : float (m, 3, gh, gw) per region-of-interest cell: motion, edge density, mean luma
    (see :func:`musync.clips._kernels.detail_stats`)
    cell : int                  ROI cell side in pooled pixels
    sample_idx : int (s,)       fingerprint samples (about :data:`SAMPLE_RATE` per second)
    samples : float16 (s, h, w) pooled luma of those frames
    sample_colour : float (s, 2, 2, 2)
                                opponent colour (R-G, (R+G)/2-B) of each quarter of the frame
    print_idx : int (p,)        the first analysis frame at or after each whole second
    thumbs : uint8 (p, 8, 8)    their 8x8 luma thumbnails (:func:`frame_thumbnail`)
    """

    idx: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    blocks: np.ndarray
    colours: np.ndarray
    grid: np.ndarray
    cell: int
    sample_idx: np.ndarray
    samples: np.ndarray
    sample_colour: np.ndarray
    print_idx: np.ndarray
    thumbs: np.ndarray


#: Detail frames per second (content flags, region of interest, letterbox).
DETAIL_RATE = 5.0
#: Statistics per row of a detail frame (see :class:`Details`).
ROW_STATS = 17
#: Fingerprint samples per second (duplicate detection).
SAMPLE_RATE = 4.0

#: Rec. 709 luma weights of R, G, B.
LUMA_709 = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)


def frame_thumbnail(rgb: np.ndarray) -> np.ndarray:
    """The 8x8 luma thumbnail of a frame: the per-second fingerprint kept in the clip record.

    Definition (so that any decoder can recompute it): take the frame as 8-bit RGB, as stored
    (before rotation; bars included), of any size ``H x W`` (a scaled copy gives nearly the same
    values); luma ``Y = 0.2126 R + 0.7152 G + 0.0722 B``; pixel ``(row r, column c)`` belongs to
    cell ``(8 r // H, 8 c // W)``; a cell's value is the mean ``Y`` of its pixels rounded to the
    nearest integer (0-255). Compare two with :func:`musync.clips.fingerprint.thumb_distance`.

    Parameters
    ----------
    rgb : uint8 (H, W, 3), H and W at least 8

    Returns
    -------
    uint8 (8, 8)
    """
    a = np.asarray(rgb)
    if a.ndim != 3 or a.shape[2] != 3 or a.shape[0] < 8 or a.shape[1] < 8:
        raise ValueError(f"expected an (H, W, 3) frame of at least 8x8 pixels; got {a.shape}")
    H, W = a.shape[:2]
    y = a.astype(np.float32) @ LUMA_709
    ri = (8 * np.arange(H)) // H
    ci = (8 * np.arange(W)) // W
    rs = np.flatnonzero(np.diff(ri, prepend=-1))        # first row of each cell
    cs = np.flatnonzero(np.diff(ci, prepend=-1))
    sums = np.add.reduceat(np.add.reduceat(y.astype(np.float64), rs, axis=0), cs, axis=1)
    counts = np.diff(np.append(rs, H))[:, None] * np.diff(np.append(cs, W))[None, :]
    return np.clip(np.floor(sums / counts + 0.5), 0, 255).astype(np.uint8)


def _thumb_from_luma(y: np.ndarray) -> np.ndarray:
    """:func:`frame_thumbnail` from an already pooled luma plane in [0, 1] (the scan's way:
    the same cells, means of 2x2-averaged luma)."""
    H, W = y.shape
    ri = (8 * np.arange(H)) // H
    ci = (8 * np.arange(W)) // W
    rs = np.flatnonzero(np.diff(ri, prepend=-1))
    cs = np.flatnonzero(np.diff(ci, prepend=-1))
    sums = np.add.reduceat(np.add.reduceat(y.astype(np.float64), rs, axis=0), cs, axis=1)
    counts = np.diff(np.append(rs, H))[:, None] * np.diff(np.append(cs, W))[None, :]
    return np.clip(np.floor(255.0 * sums / counts + 0.5), 0, 255).astype(np.uint8)


def _roi_cell(h: int, w: int) -> int:
    """Side of a region-of-interest cell in pooled pixels: 16 cells along the long side."""
    return max(1, -(-max(h, w) // 16))


class FrameAccumulator:
    """Reduce a stream of small RGB frames to :class:`FrameSignals`, a chunk at a time.

    Parameters
    ----------
    height, width : int
        Size of the frames passed to :meth:`add` (even numbers). Frames are averaged over 2x2
        blocks before measuring: the decoder scales to twice the analysis size and the pooling
        removes most aliasing and noise cheaply.
    chunk : int
        Frames measured together (memory: ``chunk * height * width * 3`` bytes).
    details : bool
        Also measure what is in the picture (:class:`Details`: content statistics and the region
        of interest at :data:`DETAIL_RATE`, fingerprint samples at :data:`SAMPLE_RATE`, a
        thumbnail per second).
    """

    def __init__(self, height: int, width: int, *, chunk: int = 32, details: bool = True):
        if height % 2 or width % 2 or height < 2 or width < 2:
            raise ValueError(f"frames must have even sizes; got {width}x{height}")
        self.height, self.width = int(height), int(width)
        self._buf = np.empty((chunk, height, width, 3), dtype=np.uint8)
        self._k = 0
        self._times: list[float] = []
        self._parts: list[tuple[np.ndarray, ...]] = []
        self._prev_y: np.ndarray | None = None      # the last _LOOKBACK luma frames
        self._prev_hist: np.ndarray | None = None
        self._details = bool(details)
        h, w = self.height // 2, self.width // 2
        self._cell = _roi_cell(h, w)
        self._grid_shape = (-(-h // self._cell), -(-w // self._cell))
        self._marks: list[int] = []                  # per buffered frame: bit 1 detail, 2 sample
        self._next = [-math.inf, -math.inf, 0.0]      # next detail time, sample time, print second
        self._dparts: list[tuple[np.ndarray, ...]] = []
        self._sparts: list[tuple[np.ndarray, ...]] = []
        self._print_idx: list[int] = []
        self._thumbs: list[np.ndarray] = []

    def add(self, rgb: np.ndarray, t: float) -> int:
        """Add one frame, ``rgb`` (height, width, 3) uint8, shown at ``t`` seconds.

        Returns what the frame is used for: bit 1 a detail frame, bit 2 a fingerprint sample,
        bit 4 the frame of a per-second print (the scan probes its full-resolution plane)."""
        mark = 0
        self._buf[self._k] = rgb
        index = len(self._times)
        self._times.append(float(t))
        if self._details:
            t0 = self._times[0]
            rel = float(t) - t0
            if rel >= self._next[0]:
                mark |= 1
                self._next[0] = max(self._next[0] + 1.0 / DETAIL_RATE, rel + 0.5 / DETAIL_RATE)
            if rel >= self._next[1]:
                mark |= 2
                self._next[1] = max(self._next[1] + 1.0 / SAMPLE_RATE, rel + 0.5 / SAMPLE_RATE)
            self._marks.append(mark)
            if rel >= self._next[2] - 1e-9:
                self._print_idx.append(index)
                self._next[2] = math.floor(rel + 1e-9) + 1.0
                mark |= 4
            self._marks[-1] = mark
        self._k += 1
        if self._k == self._buf.shape[0]:
            self._flush()
        return mark

    def _flush(self) -> None:
        from . import _kernels

        k = self._k
        if k == 0:
            return
        h, w = self.height // 2, self.width // 2
        y = np.empty((k, h, w), dtype=np.float32)
        stats = np.empty((k, 4))
        hist = np.empty((k, 64), dtype=np.float32)
        lab = np.empty((k, 3))
        _kernels.frame_chunk_stats(self._buf[:k], _SRGB_LINEAR, _kernels._M, BLACK_LUMA,
                                   y, stats, hist, lab)
        luma = stats[:, 0]
        contrast = np.sqrt(np.maximum(stats[:, 1] - luma * luma, 0.0))
        # differences against the previous _LOOKBACK frames (across chunk borders)
        prev = self._prev_y if self._prev_y is not None else np.empty((0, h, w), np.float32)
        ys = np.concatenate([prev, y], axis=0)
        diffs = np.empty((k, _LOOKBACK))
        _kernels.lag_diffs(ys, prev.shape[0], k, _LOOKBACK, diffs)
        hprev = self._prev_hist
        hs = hist if hprev is None else np.concatenate([hprev[None], hist], axis=0)
        hd = 0.5 * np.abs(np.diff(hs, axis=0)).sum(axis=1, dtype=np.float64)
        hist_diff = hd if hprev is not None else np.concatenate([[np.nan], hd])
        if self._details:
            self._flush_details(ys, prev.shape[0], k, hist)
        self._prev_y = ys[-_LOOKBACK:].copy()
        self._prev_hist = hist[-1].copy()
        self._parts.append((luma, contrast, stats[:, 2].copy(), stats[:, 3].copy(), lab, diffs,
                            hist_diff))
        self._k = 0

    def _flush_details(self, ys: np.ndarray, off: int, k: int, hist: np.ndarray) -> None:
        from . import _kernels

        marks = np.asarray(self._marks[-k:], dtype=np.int64)
        self._marks = []
        first = len(self._times) - k
        sel = np.flatnonzero(marks & 1).astype(np.int64)
        if sel.size:
            m = sel.size
            H, W = self.height, self.width
            B = _kernels.BLOCK
            gh, gw = self._grid_shape
            rows = np.empty((m, ROW_STATS, H), dtype=np.float32)
            cols = np.empty((m, 4, W), dtype=np.float32)
            blocks = np.empty((m, 4, H // B, W // B), dtype=np.uint8)
            grid = np.empty((m, 3, gh, gw), dtype=np.float32)
            _kernels.detail_stats(self._buf[:k], sel, ys, off, self._cell, rows, cols, blocks, grid)
            hs = -np.sort(-hist[sel], axis=1)
            colours = 1 + (np.cumsum(hs, axis=1) < 0.9).sum(axis=1)
            self._dparts.append((sel + first, rows, cols, blocks, colours, grid))
        prints = np.flatnonzero(marks & 4)
        for f in prints:
            self._thumbs.append(_thumb_from_luma(ys[off + f]))
        samp = np.flatnonzero(marks & 2)
        if samp.size:
            raw = self._buf[samp, 2::4, 2::4].astype(np.float32)    # every 4th pixel is enough
            hh, ww = raw.shape[1] // 2, raw.shape[2] // 2
            q = raw[:, :2 * hh, :2 * ww].reshape(samp.size, 2, hh, 2, ww, 3).mean(axis=(2, 4))
            opp = np.stack([q[..., 0] - q[..., 1], 0.5 * (q[..., 0] + q[..., 1]) - q[..., 2]],
                           axis=-1) / 255.0
            self._sparts.append((samp + first, ys[off + samp].astype(np.float16), opp))

    def _details_out(self) -> Details:
        H, W = self.height, self.width
        gh, gw = self._grid_shape
        h, w = H // 2, W // 2
        B = 4
        if self._dparts:
            idx, rows, cols, blocks, colours, grid = (np.concatenate(c, axis=0)
                                                      for c in zip(*self._dparts))
        else:
            idx, colours = np.zeros(0, np.int64), np.zeros(0, np.int64)
            rows, cols = np.zeros((0, ROW_STATS, H), np.float32), np.zeros((0, 4, W), np.float32)
            blocks = np.zeros((0, 4, H // B, W // B), np.uint8)
            grid = np.zeros((0, 3, gh, gw), np.float32)
        if self._sparts:
            sidx, samples, colour = (np.concatenate(c, axis=0) for c in zip(*self._sparts))
        else:
            sidx, samples = np.zeros(0, np.int64), np.zeros((0, h, w), np.float16)
            colour = np.zeros((0, 2, 2, 2))
        thumbs = (np.stack(self._thumbs) if self._thumbs else np.zeros((0, 8, 8), np.uint8))
        return Details(idx, rows, cols, blocks, colours, grid, self._cell, sidx, samples, colour,
                       np.asarray(self._print_idx, dtype=np.int64), thumbs)

    def finish(self, end: float | None = None) -> FrameSignals:
        """Measure the frames still buffered and return the signals of all frames added.

        ``end`` is the end time of the last frame; by default its start plus the median frame
        interval (or 1/30 s for a single frame).
        """
        self._flush()
        times = np.asarray(self._times, dtype=np.float64)
        if end is None:
            dt = float(np.median(np.diff(times))) if times.size > 1 else _REF_DT
            end = (float(times[-1]) if times.size else 0.0) + dt
        detail = self._details_out() if self._details else None
        if not self._parts:
            z = np.zeros(0)
            return FrameSignals(times, float(end), z, z, z, z, np.zeros((0, 3)),
                                np.zeros((0, _LOOKBACK)), z, detail)
        cols = list(zip(*self._parts))
        cat = [np.concatenate(c, axis=0) for c in cols]
        return FrameSignals(times, float(end), *cat, detail)


# --------------------------------------------------------------------------------------------
# cuts, motion, peaks


def detect_cuts(sig: FrameSignals, *, threshold: float = 0.08, ratio: float = 3.0,
                hist_min: float = 0.05, window: int = 4, min_gap: int = 3) -> np.ndarray:
    """Indices of frames that start a new shot (hard cuts), ascending.

    A frame ``i`` is a cut when its luma change from frame ``i - 1`` is at least ``threshold``
    and ``ratio`` times the median change of the ``window`` frames on each side, when the
    colour histogram changes too (``hist_min``), when the picture does not come back within the
    next three frames and frame ``i`` does not look like the frames before ``i - 1`` (either
    would be a flash), and when neither side is black (that is a cut to or from black, reported
    as a black region instead).

    Parameters
    ----------
    sig : FrameSignals
    threshold : float
        Minimum luma change, in luma units.
    ratio : float
        How far the change must stand above its neighbourhood.
    hist_min : float
        Minimum colour-histogram change (half L1 distance, [0, 1]).
    window : int
        Neighbourhood half-width in frames.
    min_gap : int
        Minimum frames between two cuts (the stronger wins).

    Returns
    -------
    ndarray (c,) of int
    """
    n = len(sig)
    if n < 3:
        return np.zeros(0, dtype=np.int64)
    d = sig.diffs
    score = np.nan_to_num(d[:, 0])
    score[0] = 0.0
    hist = np.nan_to_num(sig.hist_diff)
    black = sig.black
    pad = np.pad(score, window, mode="edge")
    # neighbourhood medians without the frame itself: (n, 2*window)
    offsets = np.concatenate([np.arange(window), np.arange(window + 1, 2 * window + 1)])
    idx = np.arange(n)[:, None] + offsets
    local = np.median(pad[idx], axis=1)
    cand = np.flatnonzero((score >= threshold) & (score >= ratio * local) & (hist >= hist_min))
    keep = []
    for i in cand:
        if i < 1 or black[i] or black[i - 1]:
            continue
        # a flash returns to the old picture: frame i+j against frame i-1 is diffs[i+j, j];
        # the frame after a flash is like the frames before it: frame i against i-k, diffs[i, k-1]
        returned = False
        for j in range(1, min(3, n - 1 - i) + 1):
            if np.nan_to_num(d[i + j, j]) < 0.5 * d[i, 0]:
                returned = True
                break
        for k in range(2, min(_LOOKBACK, i) + 1):
            if d[i, k - 1] < 0.5 * d[i, 0]:
                returned = True
                break
        if not returned:
            keep.append(int(i))
    # enforce the minimum gap, strongest first
    out: list[int] = []
    for i in sorted(keep, key=lambda i: (-score[i], i)):
        if all(abs(i - j) >= min_gap for j in out):
            out.append(i)
    return np.asarray(sorted(out), dtype=np.int64)


def motion_curve(sig: FrameSignals, cuts=()) -> np.ndarray:
    """Motion energy of each analysis frame, (n,) in [0, 1] on an absolute scale.

    The mean absolute luma change from the previous frame, rescaled to a 1/30 s interval, is
    mapped through ``1 - exp(-max(0, d - MOTION_FLOOR) / MOTION_SCALE)``. Frames that start a
    cut take the value of the frame before them (a cut is not motion); frame 0 takes the value
    of frame 1. A repeated
    frame between moving ones (pulldown, frame-rate conversion) takes the mean of its
    neighbours, so the curve does not flicker at the repeat rate.
    """
    n = len(sig)
    if n == 0:
        return np.zeros(0)
    d = sig.d1.copy()
    if n > 2:
        nb = np.minimum(d[:-2], d[2:])                     # neighbours of frames 1 .. n-2
        dup = np.flatnonzero((d[1:-1] < 0.2 * nb) & (nb > 4 * FROZEN_DIFF)) + 1
        dup = dup[dup >= 2]
        d[dup] = 0.5 * (d[dup - 1] + d[dup + 1])
        if d[-1] < 0.2 * d[-2] and d[-2] > 4 * FROZEN_DIFF:     # the last frame has one neighbour
            d[-1] = d[-2]
    if n > 1:
        dt = np.diff(sig.times)
        scale = np.clip(_REF_DT / np.maximum(dt, 1e-6), 0.25, 4.0)
        d[1:] *= scale
        for c in sorted(int(c) for c in cuts):
            if 1 <= c < n:
                d[c] = d[c - 1] if c >= 2 else (d[c + 1] if c + 1 < n else 0.0)
        d[0] = d[1]
    else:
        d[0] = 0.0
    return 1.0 - np.exp(-np.maximum(d - MOTION_FLOOR, 0.0) / MOTION_SCALE)


def motion_peaks(times: np.ndarray, curve: np.ndarray, *, min_strength: float = 0.15,
                 spread: float = 4.0, min_interval: float = 0.25, exclude=(), lo: int = 0,
                 hi: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Moments of visual impact: where the motion curve jumps up.

    The impact at frame ``i`` is how far ``curve[i]`` rises above the mean of the three frames
    before it; a peak is a local maximum of impact (over two frames each side) that reaches
    ``min_strength`` and stands ``spread`` robust deviations above the median impact. Peaks
    closer than ``min_interval`` seconds keep the stronger one. A one-frame flash at frame
    ``k`` gives a peak at frame ``k``.

    Parameters
    ----------
    times, curve : ndarray (n,)
        From :func:`motion_curve`.
    exclude : iterable of int
        Frame indices that cannot be peaks (internal cuts; the frame before and after too).
    lo, hi : int
        Only frames ``lo <= i < hi`` (the usable window) are considered.

    Returns
    -------
    peak_times, strengths : ndarray (k,), ascending in time; strengths in [0, 1].
    """
    n = curve.shape[0]
    hi = n if hi is None else min(int(hi), n)
    lo = max(0, int(lo))
    if hi - lo < 3:
        return np.zeros(0), np.zeros(0)
    c = np.asarray(curve, dtype=np.float64)
    pad = np.concatenate([np.full(3, c[0]), c])
    before = (pad[0:n] + pad[1:n + 1] + pad[2:n + 2]) / 3.0
    imp = np.maximum(0.0, c - before)
    imp[:lo] = 0.0
    imp[hi:] = 0.0
    seg = imp[lo:hi]
    med = float(np.median(seg))
    mad = 1.4826 * float(np.median(np.abs(seg - med)))
    thr = max(min_strength, med + spread * mad)
    padi = np.pad(imp, 2, constant_values=-1.0)
    left = np.maximum(padi[0:n], padi[1:n + 1])
    right = np.maximum(padi[3:n + 3], padi[4:n + 4])
    cand = np.flatnonzero((imp >= thr) & (imp > left) & (imp >= right))
    excl = set()
    for c in exclude:
        excl.update((int(c) - 1, int(c), int(c) + 1))
    cand = [int(i) for i in cand if int(i) not in excl]
    chosen: list[int] = []
    for i in sorted(cand, key=lambda i: (-imp[i], i)):
        if all(abs(times[i] - times[j]) >= min_interval for j in chosen):
            chosen.append(i)
    chosen.sort()
    return times[chosen].astype(np.float64), np.clip(imp[chosen], 0.0, 1.0)


# --------------------------------------------------------------------------------------------
# regions and the usable window


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``[start, stop)`` index pairs of the True runs of a boolean array."""
    m = np.concatenate([[False], np.asarray(mask, dtype=bool), [False]])
    edges = np.flatnonzero(m[1:] != m[:-1])
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]


def _fade_in_end(luma: np.ndarray, lo: int, hi: int, w: int, max_len: int) -> int:
    """Index where a fade up from black that starts at ``lo`` ends (``lo`` when there is none)."""
    i = lo
    while i < hi - 1 and i - lo < max_len and luma[i] < 0.95 * luma[i: min(hi, i + w + 1)].max():
        i += 1
    if i > lo and luma[lo] < 0.15 and luma[lo] < 0.5 * luma[i] and luma[i] - luma[lo] > 0.03:
        return i
    return lo


@dataclass
class Window:
    """The usable window in frame indices ``[lo, hi)`` and the regions found on the way."""

    lo: int
    hi: int
    regions: list[tuple[int, int, str]] = field(default_factory=list)   # [start, stop) frames
    warnings: list[str] = field(default_factory=list)
    black_throughout: bool = False
    static: bool = False


def usable_window(sig: FrameSignals, *, rate: float, edge: float = 0.5, edge_trim: float = 0.0,
                  frozen_min: float = 0.5) -> Window:
    """Find what an editor would use: trim black, fades from/to black, frozen and unstable ends.

    Steps, each from both ends: black frames; a fade from (to) black (luma rising towards a
    steady level from near black, up to 3 s); frozen frames (3 or more identical frames at an
    end; kept when the whole clip is static); unstable frames in the first/last ``edge`` seconds
    (jumps in motion or brightness far above the clip's own interior, the warping and flicker of
    generated clips); then a fixed ``edge_trim`` seconds. Black runs and frozen runs of at least
    ``frozen_min`` seconds inside the window are reported as regions.

    Parameters
    ----------
    sig : FrameSignals
    rate : float
        Analysis frames per second (sets the window lengths in frames).

    Returns
    -------
    Window
    """
    n = len(sig)
    win = Window(0, n)
    if n == 0:
        return win
    black = sig.black
    luma = sig.luma
    d1 = sig.d1
    regions = win.regions
    lo, hi = 0, n
    while lo < hi and black[lo]:
        lo += 1
    while hi > lo and black[hi - 1]:
        hi -= 1
    if lo >= hi:
        win.black_throughout = True
        win.lo, win.hi = 0, 0
        regions.append((0, n, "black"))
        return win
    if lo > 0:
        regions.append((0, lo, "black"))
    if hi < n:
        regions.append((hi, n, "black"))
    # fades from and to black
    w = max(3, int(round(0.3 * rate)))
    max_fade = int(round(3.0 * rate))
    fe = _fade_in_end(luma, lo, hi, w, max_fade)
    if fe > lo:
        regions.append((lo, fe, "fade_in"))
        lo = fe
    rev = luma[::-1]
    fs = n - 1 - _fade_in_end(rev, n - hi, n - lo, w, max_fade)
    if fs < hi - 1:
        regions.append((fs + 1, hi, "fade_out"))
        hi = fs + 1
    # frozen frames
    frozen = (d1 < FROZEN_DIFF) & ~black
    frozen[0] = False
    nonblack = ~black[lo:hi]
    moving = ~frozen[lo + 1:hi] & nonblack[1:]
    if hi - lo > 1 and not moving.any():
        win.static = True
        win.warnings.append("no motion at all (a still picture stored as video?)")
    elif hi - lo > 1:
        j = lo + 1
        while j < hi and frozen[j]:
            j += 1
        if j - lo >= 3:                       # frames lo .. j-1 are one picture
            regions.append((lo, j - 1, "frozen"))
            lo = j - 1
        k = hi - 1
        while k > lo and frozen[k]:
            k -= 1
        if hi - k >= 3:                       # frames k .. hi-1 are one picture
            regions.append((k + 1, hi, "frozen"))
            hi = k + 1
    # unstable ends
    e = int(round(edge * rate))
    if e >= 2 and hi - lo >= 2 * e + max(e, 10):
        inner = slice(lo + e, hi - e)
        fl = np.abs(np.diff(luma, prepend=luma[0]))
        flags = np.zeros(n, dtype=bool)
        for v, floor in ((d1, 0.01), (fl, 0.02)):
            base = float(np.median(v[inner]))
            mad = 1.4826 * float(np.median(np.abs(v[inner] - base))) + 1e-4
            flags |= (v > base + 8.0 * mad) & (v > 2.0 * base + floor)
        head = np.flatnonzero(flags[lo + 1: lo + e + 1])
        if head.size:
            new_lo = lo + 1 + int(head[-1])
            regions.append((lo, new_lo, "unstable"))
            lo = new_lo
        tail = np.flatnonzero(flags[hi - e: hi])
        if tail.size:
            new_hi = hi - e + int(tail[0])
            if new_hi > lo:
                regions.append((new_hi, hi, "unstable"))
                hi = new_hi
    # a fixed trim
    if edge_trim > 0:
        k = int(round(edge_trim * rate))
        lo, hi = min(lo + k, hi), max(hi - k, lo)
    # internal black and frozen runs
    min_frozen = max(2, int(round(frozen_min * rate)))
    for a, b in _runs(black[lo:hi]):
        regions.append((lo + a, lo + b, "black"))
    if not win.static:
        for a, b in _runs(frozen[lo + 1:hi]):
            if b - a >= min_frozen:
                regions.append((lo + a, lo + 1 + b, "frozen"))
    win.lo, win.hi = lo, max(lo, hi)
    regions.sort()
    return win


# --------------------------------------------------------------------------------------------
# composition


@dataclass
class Measurement:
    """Everything :func:`measure` finds, in seconds from the first frame (plain data)."""

    usable_in: float
    usable_out: float
    brightness: float
    contrast: float
    saturation: float
    palette: tuple[float, float, float]
    motion: float
    motion_times: np.ndarray
    motion_curve: np.ndarray
    peak_times: np.ndarray
    peak_strengths: np.ndarray
    cuts: np.ndarray
    subshots: list[tuple[float, float, float, float, tuple[float, float, float]]]
    regions: list[tuple[float, float, str]]
    warnings: list[str]
    black_throughout: bool = False


def _palette(lab: np.ndarray) -> tuple[float, float, float]:
    m = lab.mean(axis=0) if lab.shape[0] else np.zeros(3)
    return float(m[0]), float(m[1]), float(m[2])


def measure(sig: FrameSignals, *, rate: float, edge: float = 0.5,
            edge_trim: float = 0.0) -> Measurement:
    """Measure one clip from its frame signals.

    Parameters
    ----------
    sig : FrameSignals
        From :meth:`FrameAccumulator.finish`.
    rate : float
        Analysis frames per second.
    edge, edge_trim : float
        See :func:`usable_window`.

    Returns
    -------
    Measurement
        Brightness, contrast, saturation, palette and motion are means over the usable window.
    """
    n = len(sig)
    t = sig.times
    ends = np.concatenate([t[1:], [sig.end]]) if n else np.zeros(0)
    cuts = detect_cuts(sig)
    curve = motion_curve(sig, cuts)
    win = usable_window(sig, rate=rate, edge=edge, edge_trim=edge_trim)
    lo, hi = win.lo, win.hi

    def tstart(i: int) -> float:
        return float(t[i]) if i < n else float(sig.end)

    def tend(i: int) -> float:                       # end of frame i-1, i.e. time of index i
        return float(ends[i - 1]) if i > 0 else 0.0

    regions = [(tstart(a), tend(b), kind) for a, b, kind in win.regions if b > a]
    if win.black_throughout or hi <= lo:
        return Measurement(0.0, 0.0, float(sig.luma.mean()) if n else 0.0, 0.0, 0.0,
                           _palette(sig.lab), 0.0, t, curve, np.zeros(0), np.zeros(0),
                           t[cuts], [], regions, win.warnings, win.black_throughout)
    sl = slice(lo, hi)
    msl = slice(lo + 1, hi) if hi - lo > 1 else sl        # the frame at lo may carry a trim jump
    ptimes, pstr = motion_peaks(t, curve, exclude=cuts, lo=lo, hi=hi)
    # sub-shots: the usable window split at cuts, without internal black frames
    black = sig.black
    bounds = [lo] + [int(c) for c in cuts if lo < c < hi] + [hi]
    subshots = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        for ra, rb in _runs(~black[a:b]):
            s0, s1 = a + ra, a + rb
            ms = slice(s0 + 1, s1) if s1 - s0 > 1 else slice(s0, s1)
            subshots.append((tstart(s0), tend(s1), float(sig.luma[s0:s1].mean()),
                             float(curve[ms].mean()), _palette(sig.lab[s0:s1])))
    return Measurement(
        usable_in=tstart(lo), usable_out=tend(hi),
        brightness=float(sig.luma[sl].mean()), contrast=float(sig.contrast[sl].mean()),
        saturation=float(sig.saturation[sl].mean()), palette=_palette(sig.lab[sl]),
        motion=float(curve[msl].mean()), motion_times=t, motion_curve=curve,
        peak_times=ptimes, peak_strengths=pstr, cuts=t[cuts], subshots=subshots,
        regions=regions, warnings=win.warnings)
