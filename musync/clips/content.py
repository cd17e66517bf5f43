"""What is in the picture: content flags from the scan's detail frames (no models, plain statistics).

The scan measures about :data:`~musync.clips.features.DETAIL_RATE` detail frames per second
(:class:`~musync.clips.features.Details`: row and column profiles and a 4x4 block map of each
frame at twice the analysis size). This module reads them:

- :func:`picture_area` -- letterbox / pillarbox bars and the real picture inside them.
- :func:`frame_content` -- per detail frame: test-pattern structure, lines of text, flatness,
  brightness inside the picture area, vertical scrolling.
- :func:`settle` -- the picture area and the frame content inside it, together.
- :func:`content_flags` -- time ranges with a kind and a reason a person can check.

Flag kinds (:data:`FLAG_KINDS`):

``test_pattern``
    colour bars, test cards, colour charts: most rows (or columns) of the picture are copies of
    their neighbour and cross at least three sharp colour steps, on saturated flat colour.
``text``
    title cards, slates, captions: lines of glyphs -- bands of rows dense in sharp steps, as wide
    as a word or more, with rows almost free of sharp steps above and below them; and large
    lettering over a picture (a title logo): a tall band of rows crossing many filled strokes
    (a sharp step, a flat run, a sharp step back) that all share one paint colour.
``credits``
    rolling text: text frames whose lines move steadily up (or down) the frame.
``black``
    black or near-black frames (nearly every pixel dark, no sharp edges).
``flat``
    near-flat frames: one colour, no picture and no text (a white flash, a solid colour, a dead
    decode).
``letterbox``
    black bars at the top and bottom (or sides); informational: the clip stays usable, its
    ``picture`` area says what to frame.

The planner does not use the first five while enough other material exists
(:data:`EXCLUDING`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._kernels import BLOCK, EDGE_STEP
from .features import LUMA_709

__all__ = ["FLAG_KINDS", "EXCLUDING", "PictureArea", "FrameContent", "picture_area",
           "frame_content", "settle", "content_flags"]

FLAG_KINDS = ("test_pattern", "text", "credits", "black", "flat", "letterbox")
#: Flag kinds whose ranges are not footage (the planner avoids them).
EXCLUDING = frozenset({"test_pattern", "text", "credits", "black", "flat"})

#: A bar row/column: luma range and mean never above these in any detail frame.
_BAR_RANGE = 0.06
_BAR_LUMA = 0.10
#: Bars thinner than this share of the frame side are not reported.
_BAR_MIN = 0.02
#: Test pattern: share of picture rows (or columns) that copy their neighbour across >= 3
#: sharp colour steps; mean saturation and flat share of the picture.
_PATTERN_SHARE = 0.45
_PATTERN_SAT = 0.25
_PATTERN_FLAT = 0.5
#: Text: share of picture rows inside text lines; a text line's glyph density (sharp steps per
#: pixel of its span) and how much denser than the rows around it.
_TEXT_SHARE = 0.03
_TEXT_DENSITY = 0.22
_TEXT_CONTRAST = 3.0
_TEXT_MAX_HEIGHT = 0.16
#: Large lettering over a picture (a title logo), from the rows' filled strokes (the detail
#: kernel's runs of flat luma between a sharp step and a sharp step back, see
#: ``_kernels.FILL_RANGE``). Letters are painted in one flat colour and cut sharply from what is
#: behind them, so every row through a word crosses several such strokes (1-3 per letter) of the
#: same paint; footage has few (leaves, grass, grain and film are not flat between their edges)
#: and the ones it has differ in colour. A band of rows each crossing >= _LETTER_ROW strokes
#: (one-row gaps closed), of one polarity (bright letters on darker ground or dark on lighter),
#: is lettering when
#: - it is _LETTER_MIN_HEIGHT to _LETTER_MAX_HEIGHT of the picture high: large letters (smaller
#:   text is found by the row profile above; a band over most of the frame is a texture, e.g.
#:   a fence), measured at the detail size where 10 % is ~11 rows, a cap height of ~2x the
#:   widest stroke the kernel counts;
#: - its rows cross >= _LETTER_STROKES strokes on average: a word of two or more letters;
#: - the strokes' mean colours lie within _LETTER_FILL_SD (RMS distance in RGB, 0-1) of their
#:   mean: one paint. Titles measured 0.01-0.16 (the ends of thin strokes mix with the picture
#:   behind them at the detail size); flat strokes of many paints (a shelf of books, confetti,
#:   painted boards) 0.25 and more;
#: - the three rows above and below it cross at most 1/_LETTER_CONTRAST as many: the lettering
#:   stands out from the picture, it is not a uniformly busy texture;
#: - the paint's luma is >= _LETTER_FOREGROUND away from the band's mean luma: the strokes are the
#:   foreground, a minority of the band's pixels. The band's mean is (1 - f) x (paint - ground)
#:   away from the paint for letters covering a share f of it: letters cut >= 0.4 from their
#:   ground and covering at most half the band give >= 0.2 (titles measured 0.29-0.49). The
#:   flat runs *between* thin dark marks (paper between a drawing's ink lines, the page between
#:   small dark glyphs) are most of the band, and their luma sits near its mean (<= 0.14);
#: - the number of strokes changes from row to row (standard deviation >= _LETTER_ROW_SPREAD of
#:   the mean): letters change shape along their height (bowls, bars, diagonals, the gap
#:   between two lines; titles measured 0.24-0.43), while bars crossing the whole band (a
#:   railing, a fence, blinds, a bar pattern) cross every row the same number of times (~0.02).
_LETTER_ROW = 3
_LETTER_MIN_HEIGHT = 0.1
_LETTER_MAX_HEIGHT = 0.6
_LETTER_STROKES = 4.0
_LETTER_FILL_SD = 0.18
_LETTER_CONTRAST = 2.0
_LETTER_FOREGROUND = 0.2
_LETTER_ROW_SPREAD = 0.1
#: A fading title: next to a lettering frame, a frame whose rows in the same band still cross a
#: filled stroke in >= _FADE_ROWS of them, with >= _FADE_CONTRAST times the strokes per row of
#: the rest of the picture (footage away from lettering has about one stroke per ten rows, so
#: the band stands out; a single frame of noise does not carry a run: it must touch a strong
#: frame, and it ends at the first frame without the band).
_FADE_ROWS = 0.35
_FADE_CONTRAST = 4.0
#: Flat frame: share of flat 4x4 blocks (luma range <= 6/255) and spread of the block means.
_FLAT_BLOCKS = 0.95
_FLAT_SPREAD = 0.03
_FLAT_RANGE = 6
#: Black frame: mean luma inside the picture and share of dark pixels (see features.BLACK_*).
_DARK_LUMA = 0.07
_DARK_SHARE = 0.9


@dataclass(frozen=True)
class PictureArea:
    """The picture inside letterbox or pillarbox bars, in detail-frame pixels ``[y0, y1) x [x0, x1)``
    of a ``height x width`` detail frame."""

    y0: int
    y1: int
    x0: int
    x1: int
    height: int
    width: int

    @property
    def boxed(self) -> bool:
        return (self.y0, self.y1, self.x0, self.x1) != (0, self.height, 0, self.width)

    def fraction(self) -> tuple[float, float, float, float]:
        """``(x, y, w, h)`` as fractions of the frame."""
        return (self.x0 / self.width, self.y0 / self.height, (self.x1 - self.x0) / self.width,
                (self.y1 - self.y0) / self.height)


def _bars(mean_max: np.ndarray, range_max: np.ndarray) -> tuple[int, int]:
    """Bar lengths at the start and end of a profile (rows or columns)."""
    n = mean_max.shape[0]
    bar = (range_max <= _BAR_RANGE) & (mean_max <= _BAR_LUMA)
    a = 0
    while a < n and bar[a]:
        a += 1
    b = 0
    while b < n - a and bar[n - 1 - b]:
        b += 1
    return a, b


def picture_area(det, *, display_aspect: float | None = None) -> PictureArea:
    """Find letterbox (top and bottom) and pillarbox (left and right) bars.

    A bar row is dark (mean luma <= 0.10) and uniform (luma range <= 0.06) in every detail
    frame, counted from the frame's edge inwards. Bars are kept when both sides have them, each
    at least 2 % of the frame, the two sides agree within a quarter (letterboxing centres the
    picture), the picture between them reaches the bars in most frames and few of its rows look
    like bars (a card of text on black has black rows around and between its lines), and the
    picture inside has the shape of a picture: 1.5:1 to 2.8:1 between letterbox bars, 0.5:1 to
    1.8:1 between pillarbox bars (``display_aspect`` is the frame's width / height; default:
    the detail frame's).
    """
    m, _, H = det.rows.shape
    W = det.cols.shape[2]
    if m == 0:
        return PictureArea(0, H, 0, W, H, W)
    rmean, rrange = det.rows[:, 0].max(axis=0), det.rows[:, 1].max(axis=0)
    cmean, crange = det.cols[:, 0].max(axis=0), det.cols[:, 1].max(axis=0)

    def keep(a: int, b: int, n: int, mean_max: np.ndarray, means, ranges) -> tuple[int, int]:
        if a + b >= n or min(a, b) < _BAR_MIN * n or abs(a - b) > max(2, 0.25 * max(a, b)):
            return 0, 0
        inner = mean_max[a:n - b]
        if inner.size == 0 or inner.max() < 0.15:
            return 0, 0
        # inside the bars there is a picture: few rows look like bars (a text card on black has
        # black rows between and around its lines, a letterboxed film does not)
        barlike = (ranges[:, a:n - b] <= _BAR_RANGE) & (means[:, a:n - b] <= _BAR_LUMA)
        if float(np.median(barlike.mean(axis=1))) > 0.3:
            return 0, 0
        edge_in = min(1, barlike.shape[1] - 1)          # skip the soft boundary line
        if barlike[:, edge_in].mean() > 0.5 or barlike[:, -1 - edge_in].mean() > 0.5:
            return 0, 0
        return a, b

    aspect = display_aspect or W / H
    t, b = keep(*_bars(rmean, rrange), H, rmean, det.rows[:, 0], det.rows[:, 1])
    l, r = keep(*_bars(cmean, crange), W, cmean, det.cols[:, 0], det.cols[:, 1])
    inner = aspect * ((W - l - r) / W) / max((H - t - b) / H, 1e-9)
    if (t or b) and not (l or r) and not 1.5 <= inner <= 2.8:
        t = b = 0
    if (l or r) and not (t or b) and not 0.5 <= inner <= 1.8:
        l = r = 0
    return PictureArea(t, H - b, l, W - r, H, W)


@dataclass
class FrameContent:
    """Per detail frame (arrays of shape ``(m,)``), measured inside the picture area."""

    pattern: np.ndarray       # share of rows/columns with the structure of a test pattern
    text: np.ndarray          # share of picture rows inside lines of text
    text_lines: np.ndarray    # number of text lines
    text_flat: np.ndarray     # flat share of the blocks outside the text lines
    letters: np.ndarray       # share of picture rows inside bands of large lettering
    letter_fill: np.ndarray   # luma of that lettering's paint (NaN: none)
    flat: np.ndarray          # share of flat 4x4 blocks
    spread: np.ndarray        # standard deviation of the block means (luma)
    luma: np.ndarray          # mean luma of the picture area
    edges: np.ndarray         # share of pixels with a sharp luma step
    shift: np.ndarray         # vertical shift from the previous detail frame, rows (NaN: none)


def _vshifts(profiles: np.ndarray, max_shift: int) -> np.ndarray:
    """Vertical shift (rows, positive = content moved up) that best aligns each profile with the
    one before it, sub-row by a parabola through the best three; NaN for the first frame and
    where the earlier profile is blank. ``profiles`` is (m, n)."""
    m, n = profiles.shape
    out = np.full(m, np.nan)
    if m < 2 or n < 8:
        return out
    prev, cur = profiles[:-1], profiles[1:]
    shifts = np.arange(-max_shift, max_shift + 1)
    cost = np.full((m - 1, shifts.size), np.inf)
    for k, sft in enumerate(shifts):
        a = prev[:, max(0, sft):n + min(0, sft)]
        b = cur[:, max(0, -sft):n - max(0, sft)]
        if a.shape[1] >= n // 2:
            cost[:, k] = np.abs(a - b).mean(axis=1)
    best = np.argmin(cost, axis=1)
    v = shifts[best].astype(np.float64)
    inner = (best > 0) & (best < shifts.size - 1)
    r = np.arange(m - 1)
    l_ = cost[r, np.maximum(best - 1, 0)]
    c_ = cost[r, best]
    r_ = cost[r, np.minimum(best + 1, shifts.size - 1)]
    den = l_ - 2 * c_ + r_
    ok = inner & np.isfinite(den) & (den > 1e-9)
    v[ok] += 0.5 * (l_[ok] - r_[ok]) / den[ok]
    v[prev.std(axis=1) < 1e-3] = np.nan
    out[1:] = v
    return out


def frame_content(det, area: PictureArea, saturation: np.ndarray) -> FrameContent:
    """Measure every detail frame inside ``area`` (see :class:`FrameContent`).

    ``saturation`` is the mean saturation of each detail frame (from the frame signals).
    """
    from . import _kernels

    m = det.rows.shape[0]
    y0, y1, x0, x1 = area.y0, area.y1, area.x0, area.x1
    by0, by1 = -(-y0 // BLOCK), y1 // BLOCK
    bx0, bx1 = -(-x0 // BLOCK), x1 // BLOCK
    out = FrameContent(*(np.zeros(m) for _ in range(5)), np.full(m, np.nan),
                       *(np.zeros(m) for _ in range(4)), np.full(m, np.nan))
    if m == 0 or y1 - y0 < 4 or x1 - x0 < 4 or by1 <= by0 or bx1 <= bx0:
        return out
    # bar boundaries add colour steps to every row/column crossing them
    side_steps = int(x0 > 0) + int(x1 < area.width)
    top_steps = int(y0 > 0) + int(y1 < area.height)
    rows = det.rows[:, :, y0:y1]
    cols = det.cols[:, :, x0:x1]
    blocks = det.blocks[:, :, by0:by1, bx0:bx1]
    rng = blocks[:, 0]
    means = blocks[:, 1].astype(np.float64) / 255.0
    out.flat = (rng <= _FLAT_RANGE).mean(axis=(1, 2))
    out.spread = means.reshape(m, -1).std(axis=1)
    out.luma = means.reshape(m, -1).mean(axis=1)
    out.edges = blocks[:, 2].reshape(m, -1).sum(axis=1) / float(rng[0].size * BLOCK * BLOCK)
    sat = np.asarray(saturation, dtype=np.float64)
    # rows (columns) that copy their neighbour and cross >= 3 sharp colour steps (bars,
    # patches), or no step but a wide luma range (ramps, counted at 2/3 weight)
    same_r = rows[:, 5, 1:] < 0.012
    rep_r = (same_r & (rows[:, 6, 1:] >= 3 + side_steps)).mean(axis=1)
    if cols.shape[2] > 1:
        same_c = cols[:, 2, 1:] < 0.012
        rep_c = (same_c & (cols[:, 3, 1:] >= 3 + top_steps)).mean(axis=1)
    else:
        same_c = np.zeros((m, 1), dtype=bool)
        rep_c = np.zeros(m)
    if not area.boxed:
        ramp = (sat >= _PATTERN_SAT).astype(np.float64) * (2.0 / 3.0)
        rep_r = rep_r + ramp * (same_r & (rows[:, 6, 1:] == 0) & (rows[:, 1, 1:] >= 0.5)).mean(axis=1)
        if cols.shape[2] > 1:
            rep_c = rep_c + ramp * (same_c & (cols[:, 3, 1:] <= 2)
                                    & (cols[:, 1, 1:] >= 0.5)).mean(axis=1)
    rep = np.maximum(rep_r, rep_c)
    field_ = ((out.flat >= 0.9) & (sat >= _PATTERN_SAT) & (out.spread >= 0.12)
              & (np.maximum(same_r.mean(axis=1), same_c.mean(axis=1)) >= 0.9))
    rep = np.where(field_, np.maximum(rep, 0.9), rep)   # a synthetic colour field: ramps
    out.pattern = np.where(((sat >= _PATTERN_SAT) | (rep >= 0.6)) & (out.flat >= _PATTERN_FLAT),
                           rep, 0.0)
    e = np.ascontiguousarray(rows[:, 2], dtype=np.float32)
    res = np.zeros((m, 2))
    _kernels.text_lines(e, np.ascontiguousarray(rows[:, 3]), np.ascontiguousarray(rows[:, 4]),
                        float(x1 - x0), max(3, int(_TEXT_MAX_HEIGHT * (y1 - y0))), 8.0,
                        _TEXT_CONTRAST, _TEXT_DENSITY, res)
    out.text = res[:, 0] / max(1, y1 - y0)
    out.text_lines = res[:, 1]
    out.text_flat = out.flat
    out.letters, out.letter_fill = _lettering(rows[:, 7:17], rows[:, 0])
    out.shift = _vshifts(e.astype(np.float64), max(2, int(0.2 * (y1 - y0))))
    return out


def _lettering(fill: np.ndarray, luma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Share of rows inside bands of large lettering and the lettering's luma, per frame.

    ``fill`` is (m, 10, n): per row, bright filled strokes (count, sums of their mean R, G, B
    and of R^2 + G^2 + B^2), then dark ones; ``luma`` (m, n) the rows' mean luma (see the
    ``_LETTER_*`` constants for the rule). A frame next to a lettering frame whose band of rows
    still holds the lettering faintly (:data:`_FADE_ROWS`) counts too: titles fade in and out,
    and a half-transparent letter is no longer flat paint."""
    m, _, n = fill.shape
    share = np.zeros(m)
    paint = np.full(m, np.nan)
    band = np.full((m, 3), -1, dtype=np.int64)          # polarity, first row, end row
    lo, hi = max(3, int(_LETTER_MIN_HEIGHT * n)), int(_LETTER_MAX_HEIGHT * n)
    for pol in (0, 5):
        cnt = fill[:, pol].astype(np.float64)
        ok = cnt >= _LETTER_ROW
        ok[:, 1:-1] |= ok[:, :-2] & ok[:, 2:]
        for s in np.flatnonzero(ok.sum(axis=1) >= lo):
            for a, b in _runs(ok[s]):
                if not lo <= b - a <= hi:
                    continue
                c = cnt[s, a:b]
                tot = c.sum()
                if tot < _LETTER_STROKES * (b - a):
                    continue
                rgb = fill[s, pol + 1:pol + 4, a:b].sum(axis=1) / tot
                sd = np.sqrt(max(0.0, fill[s, pol + 4, a:b].sum() / tot - float(rgb @ rgb)))
                mu = float(rgb @ LUMA_709)
                around = np.concatenate([cnt[s, max(0, a - 3):a], cnt[s, b:b + 3]])
                rim = float(around.mean()) if around.size else 0.0
                fore = abs(mu - float(luma[s, a:b].mean()))
                if (sd <= _LETTER_FILL_SD and fore >= _LETTER_FOREGROUND
                        and c.std() >= _LETTER_ROW_SPREAD * c.mean()
                        and tot / (b - a) >= _LETTER_CONTRAST * (rim + 0.5)):
                    if (b - a) / n > share[s]:
                        share[s], paint[s] = (b - a) / n, mu
                        band[s] = (pol, a, b)
    strong = share > 0
    for step in (-1, 1):
        for s in np.flatnonzero(strong):
            pol, a, b = band[s]
            k = s + step
            while 0 <= k < m and share[k] == 0:
                c = fill[k, pol]
                rest = np.concatenate([c[:a], c[b:]])
                inside = c[a:b]
                if not ((inside >= 1).mean() >= _FADE_ROWS
                        and inside.mean() >= _FADE_CONTRAST * (rest.mean() if rest.size else 0.0)
                        and inside.mean() > 0):
                    break
                share[k], paint[k], band[k] = share[s], paint[s], band[s]
                k += step
    return share, paint


def _lines(n: float) -> str:
    k = max(1, int(round(n)))
    return "a line" if k == 1 else f"{k} lines"


def _smooth(mask: np.ndarray, width: int = 3) -> np.ndarray:
    """Majority vote over ``width`` neighbouring frames (drops one-frame blips)."""
    if mask.size < width:
        return mask.copy()
    pad = width // 2
    m = np.pad(mask.astype(np.int64), pad, mode="edge")
    votes = np.convolve(m, np.ones(width, dtype=np.int64), mode="valid")
    return votes * 2 > width


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    m = np.concatenate([[False], np.asarray(mask, dtype=bool), [False]])
    edges = np.flatnonzero(m[1:] != m[:-1])
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]


def settle(det, saturation: np.ndarray, *, display_aspect: float | None = None):
    """The picture area and the frame content measured inside it.

    Letterbox bars found by :func:`picture_area` are dropped when the whole frame holds lines of
    text in most detail frames (a text card on black is not a letterboxed picture).

    Returns
    -------
    area : PictureArea;  fc : FrameContent
    """
    area = picture_area(det, display_aspect=display_aspect)
    fc = frame_content(det, area, saturation)
    if area.boxed and det.idx.size:
        full = PictureArea(0, area.height, 0, area.width, area.height, area.width)
        fc_full = frame_content(det, full, saturation)
        if float((fc_full.text >= _TEXT_SHARE).mean()) > 0.5:
            return full, fc_full
    return area, fc


def content_flags(sig, det, area: PictureArea, *, min_duration: float = 0.3, fc=None):
    """Content flags of one clip: a list of ``(start, end, kind, reason, score)``.

    Parameters
    ----------
    sig : FrameSignals
        The clip's frame signals (``times`` from the first frame, ``end``).
    det : Details
        ``sig.detail``.
    area : PictureArea
        From :func:`settle` (or :func:`picture_area`).
    min_duration : float
        Shortest range reported, seconds.
    fc : FrameContent, optional
        :func:`frame_content` inside ``area``, when already measured.

    Returns
    -------
    list of tuple (start, end, kind, reason, score), sorted by start; ``score`` in [0, 1] says how
    clearly the range shows its kind.
    """
    flags = []
    n = len(sig)
    if n == 0:
        return flags
    t = sig.times
    ends = np.concatenate([t[1:], [sig.end]])
    idx = det.idx
    m = idx.shape[0]
    if area.boxed:
        fx, fy, fw, fh = area.fraction()
        what = "letterbox" if area.y0 > 0 and area.x0 == 0 else (
            "pillarbox" if area.x0 > 0 and area.y0 == 0 else "window box")
        flags.append((0.0, float(sig.end), "letterbox",
                      f"{what}: the picture is {fw * 100:.0f}% x {fh * 100:.0f}% of the frame "
                      "inside black bars", 1.0))
    if fc is None:
        fc = frame_content(det, area, sig.saturation[idx])
    # black / near-black frames, at the full analysis rate; a frame whose nearest detail frame
    # shows sharp edges (white text on black) is not black
    dark = (sig.dark >= _DARK_SHARE) & (sig.luma <= _DARK_LUMA)
    if m:
        near = np.clip(np.searchsorted(idx, np.arange(n), side="right") - 1, 0, m - 1)
        dark &= (fc.edges[near] < 0.002) & (fc.text[near] == 0)
    for a, b in _runs(_smooth(dark)):
        start, end = float(t[a]), float(ends[b - 1])
        if end - start >= min_duration:
            lum = float(sig.luma[a:b].mean())
            flags.append((start, end, "black", f"black frames (mean luma {lum:.2f})", 1.0))
    if m == 0:
        return sorted(flags)
    dstart = t[idx]
    dend = np.concatenate([t[idx[1:]], [sig.end]])
    not_dark = ~dark[idx]

    def emit(mask, kind, reason_fn, score_fn):
        for a, b in _runs(_smooth(mask)):
            start, end = float(dstart[a]), float(dend[b - 1])
            if end - start >= min_duration:
                flags.append((start, end, kind, reason_fn(a, b), float(score_fn(a, b))))

    flat = ((fc.flat >= _FLAT_BLOCKS) & (fc.spread <= _FLAT_SPREAD) & not_dark
            & (fc.text == 0) & (fc.edges < 0.002))
    emit(flat, "flat", lambda a, b: f"one flat colour (luma {fc.luma[a:b].mean():.2f}), no picture",
         lambda a, b: 1.0)
    pattern = (fc.pattern >= _PATTERN_SHARE) & not_dark & ~flat
    emit(pattern, "test_pattern",
         lambda a, b: (f"{np.median(fc.pattern[a:b]) * 100:.0f}% of the rows or columns repeat "
                       "bars of flat, saturated colour"),
         lambda a, b: min(1.0, float(np.median(fc.pattern[a:b])) / 0.9))
    texty = (((fc.text >= _TEXT_SHARE) | (fc.letters > 0)) & not_dark & ~flat
             & ~_smooth(pattern))
    # rolling text: text frames moving steadily along the vertical
    shift = np.nan_to_num(fc.shift)
    moving = np.abs(shift) >= 0.3
    for a, b in _runs(_smooth(texty)):
        start, end = float(dstart[a]), float(dend[b - 1])
        if end - start < min_duration:
            continue
        lines = float(np.median(fc.text_lines[a:b]))
        share = float(np.median(fc.text[a:b]))
        s = shift[a + 1:b]
        sign = np.sign(np.median(s)) if s.size else 0.0
        steady = float(((np.sign(s) == sign) & moving[a + 1:b]).mean()) if s.size else 0.0
        if s.size >= 3 and sign != 0 and steady >= 0.6 and end - start >= 0.8:
            rate = -float(np.median(s)) / area.height * (m / max(sig.end, 1e-6))
            flags.append((start, end, "credits",
                          f"rolling text: {_lines(lines)} moving {'up' if sign > 0 else 'down'} "
                          f"about {abs(rate) * 100:.0f}% of the frame height a second",
                          min(1.0, steady)))
            continue
        bg = "on a flat background" if float(np.median(fc.flat[a:b])) >= 0.6 else "over a picture"
        big = fc.letters[a:b]
        if float((big > 0).mean()) >= 0.5 and share < _TEXT_SHARE:
            paint = float(np.nanmedian(fc.letter_fill[a:b]))
            tone = "light" if paint >= 0.5 else "dark"
            flags.append((start, end, "text",
                          f"large {tone} lettering {bg} (a title: {np.median(big[big > 0]) * 100:.0f}% "
                          "of the picture height, one flat colour)",
                          min(1.0, float((big > 0).mean()))))
            continue
        flags.append((start, end, "text",
                      f"{_lines(lines)} of text {bg} ({share * 100:.0f}% of the rows)",
                      min(1.0, share / 0.1)))
    flags.sort(key=lambda f: (f[0], f[1], f[2]))
    return flags
