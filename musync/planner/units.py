"""What the clips offer the planner: source units in plan frames.

Public:

- :class:`Unit` -- a continuous usable span of one clip (a sub-shot inside the usable window),
  with the features the cost terms read.
- :func:`source_units` -- every unit of a clip list at the plan rate.
- :data:`STILL_FRAMES` -- the length given to a still image's unit (it fills any shot).

A new clip feature the planner should use (content flags, quality, a duplicate group, a region
of interest) becomes a field here and a cost term in :mod:`.costs`. A sub-shot is cut where a
content flag (a title card, colour bars, black) starts or ends, so flagged pieces are units of
their own (``flagged``, with the reason); ``hero`` is the best hero range inside a unit.
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
    flagged: bool = False  # shows a flagged range (see musync.clips.content)
    flag_reason: str = ""
    hero: float = 0.0      # the scan's hero score of the range this unit is ([0, 1]; 0: none)

    @property
    def length(self) -> int:
        return self.hi - self.lo


def _frames_of_window(a: float, b: float, fps: Fraction) -> tuple[int, int]:
    if math.isfinite(b):
        return window_frames(a, b, fps)
    lo = window_frames(a, a + 1.0, fps)[0]
    return lo, lo + STILL_FRAMES


def _hero_spans(c: ClipInfo, fps: Fraction) -> list[tuple[int, int, float]]:
    out = []
    for h in getattr(c, "heroes", ()):
        lo, hi = window_frames(h.start, h.end, fps)
        if hi > lo:
            out.append((lo, hi, float(h.score)))
    return out


def source_units(clips: list[ClipInfo], fps: Fraction) -> list[Unit]:
    """Usable units of ``clips``: each sub-shot (or the usable window when there are none), cut
    at content flags."""
    from .seeing import flag_spans, split_at_flags

    fps = Fraction(fps)
    units = []
    # every clip's motion peaks on frames, in one call
    peak_t = [np.asarray(c.peak_times, dtype=np.float64) for c in clips]
    bounds = np.cumsum([0] + [t.size for t in peak_t])
    peak_f = to_frames(np.concatenate(peak_t), fps) if bounds[-1] else np.zeros(0, dtype=np.int64)
    for ci, c in enumerate(clips):
        spans = [(s.start, s.end, s.brightness, s.palette, s.motion) for s in c.subshots] or [
            (c.usable_in, c.usable_out, c.brightness, c.palette, c.motion)]
        flags = flag_spans(c, fps) if not c.is_still else []
        heroes = _hero_spans(c, fps) if not c.is_still else []
        top = max((h[2] for h in heroes), default=0.0)
        for a, b, br, pal, mo in spans:
            a, b = max(a, c.usable_in), min(b, c.usable_out)
            lo, hi = _frames_of_window(a, b, fps)
            if hi - lo < 1:
                continue
            pt = peak_t[ci]
            keep = (pt >= a) & (pt < b)
            pk = sorted(zip(peak_f[bounds[ci]:bounds[ci + 1]][keep].tolist(),
                            np.asarray(c.peak_strengths)[keep].tolist()),
                        key=lambda x: (-x[1], x[0]))
            still_flags = c.flagged(0.0, 1.0) if c.is_still else []
            pieces = [(lo, hi, bool(still_flags),
                       f"{still_flags[0].kind} ({still_flags[0].reason})" if still_flags else "")]
            if flags:
                pieces = split_at_flags(lo, hi, flags)
            for x, y, _covered, why in pieces:
                # the best hero range inside the piece (a piece keeps its full length: cutting
                # around heroes would leave no unit long enough for a long shot)
                hs = max((s for hx, hy, s in heroes if x <= hx and hy <= y), default=0.0)
                units.append(Unit(ci, c.path, x, y, float(br), tuple(float(v) for v in pal),
                                  float(mo), tuple(p for p in pk if x <= p[0] < y),
                                  bool(c.is_still), bool(why), why,
                                  hs / top if top > 0 else 0.0))
    return units
