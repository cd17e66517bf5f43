"""What fills each shot: source units, their costs, the beam search, and in-points.

Public functions:

- :func:`source_units` -- split clips into usable units (a clip's sub-shots inside its usable
  window), in integer frames at the plan rate.
- :func:`assign_units` -- choose a unit for every shot (numba beam search).
- :func:`choose_in_point` -- pick the source range: land the unit's strongest motion peak on the
  shot's strongest accent, and use a fresh part of a clip that was used before.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ..types import ClipInfo
from ._kernels import _assign_beam

__all__ = ["Unit", "source_units", "assign_units", "choose_in_point"]

#: a still image fills any shot; its unit is this many frames long
STILL_FRAMES = 10 ** 9


@dataclass(frozen=True)
class Unit:
    """A continuous usable span of one clip, in frames at the plan rate."""

    clip: int              # index into the clip list
    path: str
    lo: int                # first usable source frame
    hi: int                # one past the last usable source frame
    brightness: float
    lab: tuple
    motion: float          # absolute motion [0, 1]
    peaks: tuple           # ((frame, strength), ...) sorted by strength, strongest first

    @property
    def length(self) -> int:
        return self.hi - self.lo


def _window_frames(a: float, b: float, fps: Fraction) -> tuple[int, int]:
    """Frames k with k/fps inside [a, b]: [ceil(a*fps), floor(b*fps))."""
    f = float(fps)
    lo = math.ceil(a * f - 1e-6)
    hi = math.floor(b * f + 1e-6) if math.isfinite(b) else lo + STILL_FRAMES
    return lo, hi


def source_units(clips: list[ClipInfo], fps: Fraction) -> list[Unit]:
    """Usable units of ``clips``: each sub-shot (or the usable window when there are none)."""
    units = []
    for ci, c in enumerate(clips):
        spans = [(s.start, s.end, s.brightness, s.palette, s.motion) for s in c.subshots] or [
            (c.usable_in, c.usable_out, c.brightness, c.palette, c.motion)]
        for a, b, br, pal, mo in spans:
            a, b = max(a, c.usable_in), min(b, c.usable_out)
            lo, hi = _window_frames(a, b, fps)
            if hi - lo < 1:
                continue
            pk = []
            for t, st in zip(c.peak_times, c.peak_strengths):
                if a <= t < b:
                    pk.append((int(round(t * float(fps))), float(st)))
            pk.sort(key=lambda x: (-x[1], x[0]))
            units.append(Unit(ci, c.path, lo, hi, float(br), tuple(float(v) for v in pal),
                              float(mo), tuple(pk)))
    return units


def assign_units(unit_cost: np.ndarray, ok: np.ndarray, units: list[Unit], cont_w: np.ndarray,
                 fixed: np.ndarray, *, width: int = 8, noise: float = 0.05, seed: int = 0) -> np.ndarray:
    """Choose the unit of every shot (see :func:`musync.planner._kernels._assign_beam`)."""
    S, U = unit_cost.shape
    bright = np.array([u.brightness for u in units], dtype=np.float64)
    lab = np.array([u.lab for u in units], dtype=np.float64).reshape(U, 3)
    # file identity by clip index
    file_id = np.array([u.clip for u in units], dtype=np.int64)
    return _assign_beam(np.ascontiguousarray(unit_cost, dtype=np.float64),
                        np.ascontiguousarray(ok, dtype=np.bool_), bright, lab,
                        np.ascontiguousarray(cont_w, dtype=np.float64), file_id,
                        np.ascontiguousarray(fixed, dtype=np.int64), int(width), float(noise),
                        int(seed))


def choose_in_point(unit: Unit, length: int, accent: int, used: list[tuple[int, int]]) -> tuple[int, bool]:
    """First source frame for a shot of ``length`` frames whose strongest accent is ``accent``
    frames after its start.

    Tries the unit's motion peaks, strongest first, placing each on the accent; takes the first
    placement that fits the unit and does not overlap a range of this unit already used. Without
    such a peak, takes the placement that overlaps used ranges least (centred in the unit when
    unused). Returns ``(source_in, peak_on_accent)``.
    """
    lo, hi = unit.lo, unit.hi
    latest = hi - length
    if latest < lo:
        raise ValueError("unit shorter than shot")

    def overlap(a: int) -> int:
        return sum(max(0, min(a + length, b) - max(a, x)) for x, b in used)

    for pf, _st in unit.peaks:
        a = pf - accent
        if lo <= a <= latest and overlap(a) == 0:
            return a, True
    if unit.hi - unit.lo >= STILL_FRAMES // 2:  # a still: any part is the same picture
        return lo, False
    if not used:
        return lo + (latest - lo) // 2, False
    # least overlap, then farthest from the previous uses, on a grid of positions
    steps = min(64, latest - lo + 1)
    cands = np.unique(np.linspace(lo, latest, steps).round().astype(np.int64))
    best = min(cands.tolist(), key=lambda a: (overlap(a), -min(abs(a - x) for x, _ in used), a))
    return int(best), False
