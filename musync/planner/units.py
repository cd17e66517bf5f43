"""What the clips offer the planner: source units in plan frames.

Public:

- :class:`Unit` -- a continuous usable span of one clip (a sub-shot inside the usable window),
  with the features the cost terms read.
- :func:`source_units` -- every unit of a clip list at the plan rate.
- :data:`STILL_FRAMES` -- the length given to a still image's unit (it fills any shot).

A new clip feature the planner should use (content flags, quality, a duplicate group, a region
of interest) becomes a field here and a cost term in :mod:`.costs`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ..timebase import to_frames, window_frames
from ..types import ClipInfo

__all__ = ["Unit", "source_units", "STILL_FRAMES"]

#: a still image fills any shot; its unit is this many frames long
STILL_FRAMES = 10 ** 9


@dataclass(frozen=True)
class Unit:
    """A continuous usable span of one clip, in frames at the plan rate.

    ``clip`` indexes the planner's (path-sorted) clip list; ``peaks`` are the motion peaks
    inside the span as ``(frame, strength)``, strongest first.
    """

    clip: int
    path: str
    lo: int                # first usable source frame
    hi: int                # one past the last usable source frame
    brightness: float
    lab: tuple
    motion: float          # absolute motion [0, 1]
    peaks: tuple
    is_still: bool = False

    @property
    def length(self) -> int:
        return self.hi - self.lo


def _frames_of_window(a: float, b: float, fps: Fraction) -> tuple[int, int]:
    if math.isfinite(b):
        return window_frames(a, b, fps)
    lo = window_frames(a, a + 1.0, fps)[0]
    return lo, lo + STILL_FRAMES


def source_units(clips: list[ClipInfo], fps: Fraction) -> list[Unit]:
    """Usable units of ``clips``: each sub-shot (or the usable window when there are none)."""
    fps = Fraction(fps)
    units = []
    for ci, c in enumerate(clips):
        spans = [(s.start, s.end, s.brightness, s.palette, s.motion) for s in c.subshots] or [
            (c.usable_in, c.usable_out, c.brightness, c.palette, c.motion)]
        for a, b, br, pal, mo in spans:
            a, b = max(a, c.usable_in), min(b, c.usable_out)
            lo, hi = _frames_of_window(a, b, fps)
            if hi - lo < 1:
                continue
            pt = np.asarray(c.peak_times, dtype=np.float64)
            keep = (pt >= a) & (pt < b)
            pk = sorted(zip(to_frames(pt[keep], fps).tolist(), np.asarray(c.peak_strengths)[keep].tolist()),
                        key=lambda x: (-x[1], x[0]))
            units.append(Unit(ci, c.path, lo, hi, float(br), tuple(float(v) for v in pal),
                              float(mo), tuple(pk), bool(c.is_still)))
    return units
