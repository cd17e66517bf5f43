"""The one place where seconds become frames and frames become seconds.

Analysis works in float seconds; plans, renders and exports work in integer frames at a rational
frame rate (:class:`fractions.Fraction`, e.g. ``Fraction(30000, 1001)``). Every layer that
quantises calls these functions, so a time lands on the same frame everywhere.

The tie rule: a time goes to the **nearest** frame, and a time exactly half-way between two frames
goes to the later one (``floor(t * fps + 1/2)``), computed exactly (the float ``t`` is taken at
its exact binary value and multiplied by the exact rational rate).

Public functions:

- :func:`parse_fps` -- a frame rate from a number or a string, NTSC spellings snapped to n/1001.
- :func:`to_frame` / :func:`to_frames` -- seconds to the nearest frame (one value / an array).
- :func:`to_seconds` -- frames to float seconds; :func:`frame_time` -- a frame's exact time.
- :func:`window_frames` -- the frames wholly inside a window of seconds; :func:`first_frame` --
  the first frame starting at or after a time (a still's usable start).
- :func:`timecode_rate` -- the integer rate a timecode counts at (30 for 29.97).

>>> from fractions import Fraction
>>> parse_fps("29.97")
Fraction(30000, 1001)
>>> to_frame(1.0, Fraction(30000, 1001))
30
>>> to_seconds(30, Fraction(30000, 1001))
1.001
"""

from __future__ import annotations

import math
from fractions import Fraction
from numbers import Rational

import numpy as np

from .errors import ParameterError

__all__ = ["parse_fps", "to_frame", "to_frames", "to_seconds", "frame_time", "window_frames",
           "first_frame", "timecode_rate", "NTSC_RATES", "MAX_FPS"]

#: The NTSC rates (n/1001) that decimal spellings such as 29.97 or 23.976 are snapped to.
NTSC_RATES = tuple(Fraction(n, 1001) for n in (24000, 30000, 48000, 60000, 120000))

#: The highest frame rate musync plans at.
MAX_FPS = 240

# a decimal spelling within this distance of an NTSC rate means that rate (29.97 -> 30000/1001)
_NTSC_SNAP = 0.0006
# fractional parts this close to one half are re-checked with exact arithmetic
_TIE_GUARD = 1e-6
_MICROSECOND = Fraction(1, 10**6)
_FLOAT_MICRO = float(_MICROSECOND)
#: :func:`window_frames` and :func:`first_frame` take the float product where it lies farther
#: than this (relative) from a whole frame -- a million times the float error -- and the exact
#: fraction where it is nearer.
_FAST_GUARD = 1e-9


def parse_fps(value) -> Fraction:
    """A frame rate as an exact fraction.

    Parameters
    ----------
    value : int, float, str or Fraction
        ``30``, ``"25"``, ``"30000/1001"``, ``29.97`` or ``"23.976"``. Decimal spellings of the
        NTSC rates (within 0.0006 of n/1001) are snapped to the exact rate.

    Returns
    -------
    Fraction, in ``(0, MAX_FPS]``

    Raises
    ------
    ParameterError
        For anything that is not a positive rate up to :data:`MAX_FPS`.
    """
    if isinstance(value, Fraction):
        f = value
    else:
        try:
            if isinstance(value, Rational):
                f = Fraction(value)
            elif isinstance(value, float):
                if not math.isfinite(value):
                    raise ValueError
                f = Fraction(repr(value))
            else:
                f = Fraction(str(value).strip())
        except (ValueError, ZeroDivisionError, TypeError):
            raise ParameterError(
                f"fps must be a number or a fraction like 30000/1001, not {value!r}") from None
    if f <= 0 or f > MAX_FPS:
        raise ParameterError(f"fps must be in (0, {MAX_FPS}], not {value!r}")
    for exact in NTSC_RATES:
        if f != exact and abs(float(f) - float(exact)) < _NTSC_SNAP:
            return exact
    return f


def _exact_frame(t: float, fps: Fraction) -> int:
    return math.floor(Fraction(t) * fps + Fraction(1, 2))


def to_frame(seconds: float, fps) -> int:
    """The frame nearest to ``seconds`` at ``fps`` (ties go to the later frame).

    Parameters
    ----------
    seconds : float, int or Fraction
        A finite time in seconds; an int or Fraction is used exactly.
    fps : Fraction (or anything :func:`parse_fps` takes)
    """
    fps = fps if isinstance(fps, Fraction) else parse_fps(fps)
    if isinstance(seconds, Rational):  # an exact time (e.g. from a timeline file): no float step
        return math.floor(Fraction(seconds) * fps + Fraction(1, 2))
    t = float(seconds)
    if not math.isfinite(t):
        raise ParameterError(f"cannot put a non-finite time ({seconds!r}) on a frame")
    return _exact_frame(t, fps)


def to_frames(seconds, fps) -> np.ndarray:
    """:func:`to_frame` of every element: an int64 array of the same shape as ``seconds``."""
    fps = fps if isinstance(fps, Fraction) else parse_fps(fps)
    t = np.asarray(seconds, dtype=np.float64)
    if t.size and not np.all(np.isfinite(t)):
        raise ParameterError("cannot put a non-finite time on a frame")
    x = t * float(fps) + 0.5
    out = np.floor(x).astype(np.int64)
    # the float product can land on the wrong side of a half-frame: settle those exactly
    near = np.abs(x - np.round(x)) < _TIE_GUARD * np.maximum(1.0, np.abs(x))
    if np.any(near):
        flat_t = t.reshape(-1)
        flat_out = out.reshape(-1)
        for i in np.flatnonzero(near.reshape(-1)):
            flat_out[i] = _exact_frame(float(flat_t[i]), fps)
        out = flat_out.reshape(t.shape)
    return out


def frame_time(frame: int, fps) -> Fraction:
    """The exact start time (s) of ``frame`` at ``fps``."""
    fps = fps if isinstance(fps, Fraction) else parse_fps(fps)
    return Fraction(int(frame)) / fps


def to_seconds(frames, fps):
    """Frames to float seconds: a float for an int, a float64 array for an array."""
    fps = fps if isinstance(fps, Fraction) else parse_fps(fps)
    if np.ndim(frames) == 0:
        return float(frame_time(int(frames), fps))
    f = np.asarray(frames, dtype=np.int64)
    return f.astype(np.float64) * (fps.denominator / fps.numerator)


def window_frames(start: float, end: float, fps) -> tuple[int, int]:
    """The frames wholly inside a window of seconds, as ``(lo, hi)`` (``hi`` excluded).

    Frame ``k`` covers ``[k / fps, (k + 1) / fps)``; it is inside ``[start, end]`` when
    ``start <= k / fps`` and ``(k + 1) / fps <= end``. Times within one microsecond of a frame
    boundary count as on it (JSON files keep times to the microsecond). ``hi - lo`` may be 0.
    An infinite ``end`` (a still image) raises: the caller decides how long a still may be.
    """
    fps = fps if isinstance(fps, Fraction) else parse_fps(fps)
    if not (math.isfinite(start) and math.isfinite(end)):
        raise ParameterError("window_frames needs a finite window")
    lo = first_frame(start, fps)
    hi = _edge(end, fps, 1, math.floor)
    return lo, max(lo, hi)


def first_frame(start: float, fps) -> int:
    """The first frame ``k`` with ``start <= k / fps`` (a time within one microsecond of a frame
    boundary counts as on it, as in :func:`window_frames`)."""
    fps = fps if isinstance(fps, Fraction) else parse_fps(fps)
    if not math.isfinite(start):
        raise ParameterError("first_frame needs a finite time")
    return _edge(start, fps, -1, math.ceil)


def _edge(t: float, fps: Fraction, sign: int, rnd) -> int:
    """``rnd(t * fps + sign * fps * 1 us)``: from the float product where it lies far from a
    whole frame (it is exact enough there), from exact fractions where it is near one."""
    y = float(t) * (fps.numerator / fps.denominator) + sign * _FLOAT_MICRO * float(fps)
    if abs(y - round(y)) > _FAST_GUARD * max(1.0, abs(y)):
        return rnd(y)
    return rnd(Fraction(float(t)) * fps + sign * fps * _MICROSECOND)


def timecode_rate(fps) -> int:
    """The integer rate a timecode counts at: 30 for 30000/1001, 24 for 24000/1001, 25 for 25."""
    fps = fps if isinstance(fps, Fraction) else parse_fps(fps)
    return int(round(float(fps)))
