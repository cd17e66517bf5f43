"""Framing that keeps the subject: the crop window of a shot at any output aspect.

A ``fill`` output crops the source to the output's aspect. Centred, a 9:16 crop of a 16:9 shot
cuts off whatever is not in the middle. The window lies inside the clip's real picture (letterbox
bars are cropped away: the render scales the picture, not the frame, to fill the output). Here the window follows the clip's region of interest
(:attr:`musync.types.ClipInfo.roi`, where the motion and the detail are) like a calm camera
operator: it starts centred on the subject, holds still while the subject stays in the middle
half of the window, and pans (at most one window width a second) only when it would leave it.

Public:

- :func:`crop_window` -- the largest window of an aspect inside a frame, as fractions.
- :func:`shot_crop` -- a :class:`~musync.types.ShotCrop` for a shot (or None: no crop needed).
- :func:`centred_crop` -- the plain centred window, for comparison.
- :func:`subject_fit` -- how well a clip's subject fits a window of the aspect (0-1): the
  planner prefers clips that fit for 9:16 and 1:1.
- :func:`subject_inside` -- share of frames whose subject centre lies inside a shot's crop.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

__all__ = ["crop_window", "shot_crop", "centred_crop", "subject_fit", "subject_inside",
           "KEY_STEP", "MAX_SPEED"]

#: Seconds between two keyframes of a crop.
KEY_STEP = 0.2
#: Fastest pan of the window, in window widths (or heights) per second.
MAX_SPEED = 1.0
#: The window holds still while the subject's centre stays in the middle share of it.
_DEAD = 0.5


def _display_aspect(clip) -> float:
    w, h = clip.size
    return float(w) / float(h) if w and h else 16 / 9


def _picture(clip) -> tuple[float, float, float, float]:
    """The real picture (inside any letterbox bars) as fractions ``x, y, w, h`` of the frame."""
    w, h = clip.size
    pic = tuple(getattr(clip, "picture", ()) or ())
    if not pic or not (w and h):
        return 0.0, 0.0, 1.0, 1.0
    x, y, pw, ph = pic
    return x / w, y / h, pw / w, ph / h


def _window(clip, out_aspect: float) -> tuple[float, float, float, float, float, float]:
    """The largest window of ``out_aspect`` inside the clip's picture: ``(w, h)`` as fractions of
    the frame, and the bounds of its top-left corner ``(x_lo, x_hi, y_lo, y_hi)``."""
    px, py, pw, ph = _picture(clip)
    ww, wh = crop_window(_display_aspect(clip) * pw / ph, out_aspect)
    w, h = ww * pw, wh * ph
    return w, h, px, px + pw - w, py, py + ph - h


def crop_window(source_aspect: float, out_aspect: float) -> tuple[float, float]:
    """``(w, h)``: the largest window of ``out_aspect`` inside a frame of ``source_aspect``, as
    fractions of the frame (one of them is 1)."""
    if source_aspect >= out_aspect:
        return out_aspect / source_aspect, 1.0
    return 1.0, source_aspect / out_aspect


def _roi_centres(clip, times: np.ndarray) -> np.ndarray:
    """Subject centre ``(n, 2)`` at ``times`` (seconds from the clip's first frame)."""
    rt = np.asarray(clip.roi_times, dtype=np.float64)
    boxes = np.asarray(clip.roi, dtype=np.float64).reshape(-1, 4)
    if rt.size == 0:
        return np.full((times.size, 2), 0.5)
    cx = boxes[:, 0] + boxes[:, 2] / 2
    cy = boxes[:, 1] + boxes[:, 3] / 2
    return np.stack([np.interp(times, rt, cx), np.interp(times, rt, cy)], axis=1)


def _follow(centre: np.ndarray, size: float, fps: float, lo: float = 0.0,
            hi: float | None = None) -> np.ndarray:
    """Top-left position (one axis) of a window of ``size`` following ``centre`` (per frame),
    between ``lo`` and ``hi``."""
    n = centre.size
    hi = 1.0 - size if hi is None else hi
    if hi - lo <= 1e-6:
        return np.full(n, lo)
    head = centre[:max(1, min(n, int(round(0.5 * fps))))]
    pos = float(np.clip(np.median(head) - size / 2, lo, hi))
    step = MAX_SPEED * size / fps
    out = np.empty(n)
    half = _DEAD * size / 2
    for i in range(n):
        c = float(centre[i])
        mid = pos + size / 2
        if c > mid + half:
            pos += min(step, c - (mid + half))
        elif c < mid - half:
            pos -= min(step, (mid - half) - c)
        pos = min(max(pos, lo), hi)
        out[i] = pos
    return out


def shot_crop(clip, source_in: int, source_out: int, fps, aspect):
    """The crop window of a shot that shows ``clip``'s source frames ``[source_in, source_out)``
    (source frame ``k`` at ``k / fps`` s) in an output of ``aspect`` (width / height).

    Returns
    -------
    ShotCrop or None
        None when the window is the whole frame (the aspects agree) or the clip has no region of
        interest track (a still, an old record).
    """
    from .types import ShotCrop

    out_aspect = float(Fraction(aspect)) if not isinstance(aspect, float) else aspect
    w, h, x_lo, x_hi, y_lo, y_hi = _window(clip, out_aspect)
    if (w >= 0.995 and h >= 0.995) or len(clip.roi_times) == 0 or clip.is_still:
        return None
    rate = float(fps)
    n = max(1, int(source_out) - int(source_in))
    times = (int(source_in) + np.arange(n)) / rate
    c = _roi_centres(clip, times)
    xs = _follow(c[:, 0], w, rate, x_lo, x_hi)
    ys = _follow(c[:, 1], h, rate, y_lo, y_hi)
    step = max(1, int(round(KEY_STEP * rate)))
    keys = list(range(0, n, step))
    if keys[-1] != n - 1:
        keys.append(n - 1)
    return ShotCrop(tuple(keys), tuple(xs[keys]), tuple(ys[keys]), w, h, out_aspect)


def centred_crop(clip, length: int, aspect):
    """The centred window of ``aspect`` held for ``length`` frames (what a plain centre crop
    shows), as a ShotCrop; None when no crop is needed."""
    from .types import ShotCrop

    out_aspect = float(Fraction(aspect)) if not isinstance(aspect, float) else aspect
    w, h, x_lo, x_hi, y_lo, y_hi = _window(clip, out_aspect)
    if w >= 0.995 and h >= 0.995:
        return None
    return ShotCrop((0, max(0, int(length) - 1)), ((x_lo + x_hi) / 2,) * 2, ((y_lo + y_hi) / 2,) * 2,
                    w, h, out_aspect)


def subject_fit(clip, aspect, start: float | None = None, end: float | None = None) -> float:
    """How well the subject of ``clip`` (between ``start`` and ``end`` seconds) fits a window of
    ``aspect``: the mean share of the region-of-interest box that a window centred on it holds.
    1 when the aspect needs no crop."""
    out_aspect = float(Fraction(aspect)) if not isinstance(aspect, float) else aspect
    w, h, *_ = _window(clip, out_aspect)
    if w >= 0.995 and h >= 0.995:
        return 1.0
    rt = np.asarray(clip.roi_times, dtype=np.float64)
    boxes = np.asarray(clip.roi, dtype=np.float64).reshape(-1, 4)
    if rt.size:
        m = np.ones(rt.size, dtype=bool)
        if start is not None:
            m &= rt >= start - 0.25
        if end is not None:
            m &= rt <= end + 0.25
        b = boxes[m] if m.any() else boxes
        held = np.minimum(1.0, w / np.maximum(b[:, 2], 1e-6)) * np.minimum(1.0, h / np.maximum(
            b[:, 3], 1e-6))
        fit = float(held.mean())
    else:
        fit = float(min(1.0, w / 0.5) * min(1.0, h / 0.5))   # unknown subject: the middle half
    return fit


def subject_inside(crop, boxes: np.ndarray, offsets: np.ndarray) -> float:
    """Share of frames whose subject centre lies inside ``crop``.

    ``boxes`` is ``(n, 4)`` subject boxes ``x, y, w, h`` as fractions of the displayed source,
    at record-frame ``offsets`` (n,) into the shot. A None crop (no cropping) holds every subject
    that is in the frame.
    """
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if b.shape[0] == 0:
        return 1.0
    cx = b[:, 0] + b[:, 2] / 2
    cy = b[:, 1] + b[:, 3] / 2
    if crop is None:
        return float(np.mean((cx >= 0) & (cx <= 1) & (cy >= 0) & (cy <= 1)))
    inside = []
    for off, x_, y_ in zip(offsets, cx, cy):
        x0, y0 = crop.at(float(off))
        inside.append(x0 <= x_ <= x0 + crop.w and y0 <= y_ <= y0 + crop.h)
    return float(np.mean(inside))
