"""What the planner knows about the pictures: content flags, duplicate groups, quality at the
output size, hero ranges and subject fit, per source unit (the scan's records read in plan
frames). The cost terms and rules that use them live with the other terms (:mod:`.costs`).

Public:

- :func:`flag_spans` -- a clip's excluding flags as source-frame ranges at the plan rate.
- :func:`split_at_flags` -- a unit's span cut into clean and flagged pieces.
- :class:`UnitSight` / :func:`unit_sight` -- per unit: flagged, why, quality at the output size,
  upscale factor, duplicate group, best hero range, subject fit for the plan's aspect.
- :func:`group_ids` -- one id per duplicate group (a file alone is its own group).
- :func:`section_luma_targets` -- a brightness to aim for in each section (from its energy and
  the clips on offer), for emotional consistency inside sections.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ..timebase import window_frames

__all__ = ["flag_spans", "split_at_flags", "UnitSight", "unit_sight", "group_ids",
           "section_luma_targets", "UPSCALE_LIMIT"]

#: A source blown up more than this much fills a shot only where nothing sharper fits.
UPSCALE_LIMIT = 2.0


def flag_spans(clip, fps) -> list[tuple[int, int, str]]:
    """``(lo, hi, reason)`` source-frame ranges of ``clip``'s excluding flags at ``fps``."""
    out = []
    fps = Fraction(fps)
    for f in clip.flags:
        if not f.excludes:
            continue
        end = f.end if np.isfinite(f.end) else clip.usable_out
        if not np.isfinite(end):
            end = f.start + 1e6
        lo, hi = window_frames(max(0.0, f.start), max(f.start, end), fps)
        if hi > lo:
            out.append((lo, hi, f"{f.kind} ({f.reason})"))
    return out


def split_at_flags(lo: int, hi: int, spans, *, min_len: int = 1):
    """Pieces ``(lo, hi, flagged, reason)`` of ``[lo, hi)``: flagged where a span of ``spans``
    covers it, clean elsewhere; pieces shorter than ``min_len`` frames are dropped."""
    cuts = {lo, hi}
    for a, b, _ in spans:
        if a < hi and lo < b:
            cuts.update((max(a, lo), min(b, hi)))
    edges = sorted(cuts)
    out = []
    for a, b in zip(edges[:-1], edges[1:]):
        if b - a < min_len:
            continue
        why = [r for x, y, r in spans if x < b and a < y]
        out.append((a, b, bool(why), why[0] if why else ""))
    return out


def group_ids(clips, groups) -> np.ndarray:
    """(len(clips),) int: clips of one duplicate group share an id; others have their own."""
    where = {}
    for k, g in enumerate(groups):
        for p in g.paths:
            where[p] = k
    ids = np.empty(len(clips), dtype=np.int64)
    base = len(groups)
    for i, c in enumerate(clips):
        ids[i] = where.get(c.path, base + i)
    return ids


@dataclass(frozen=True, eq=False)
class UnitSight:
    """Per unit (arrays of shape ``(U,)``)."""

    flagged: np.ndarray      # bool: the unit shows a flagged range (text, test pattern, ...)
    reason: tuple            # why, per unit ("" when clean)
    quality: np.ndarray      # picture quality at the output size, [0, 1]
    upscale: np.ndarray      # how far the picture is blown up to fill the output
    group: np.ndarray        # duplicate-group id (members share it)
    hero: np.ndarray         # best hero-range score inside the unit, [0, 1] (0: none)
    hero_frame: np.ndarray   # first source frame of that hero range (-1: none)
    fit: np.ndarray          # how well the subject fits the output's aspect, [0, 1]


def unit_sight(units, clips, groups, *, fps, size, aspect) -> UnitSight:
    """Read the scan's records for every unit (``units`` have ``clip``, ``lo``, ``hi`` and
    optionally ``flagged``/``flag_reason``; ``clips`` is the planner's clip list)."""
    from .. import framing
    from ..clips.quality import quality_at, upscale_factor

    fps = Fraction(fps)
    f = float(fps)
    U = len(units)
    ids = group_ids(clips, groups)
    q_clip = [quality_at(c, size) for c in clips]
    up_clip = [upscale_factor(c, size) for c in clips]
    flagged = np.zeros(U, dtype=bool)
    reason = []
    quality = np.zeros(U)
    upscale = np.ones(U)
    group = np.zeros(U, dtype=np.int64)
    hero = np.zeros(U)
    hero_frame = np.full(U, -1, dtype=np.int64)
    fit = np.ones(U)
    out_aspect = float(aspect)
    for k, u in enumerate(units):
        c = clips[u.clip]
        flagged[k] = bool(getattr(u, "flagged", False))
        reason.append(str(getattr(u, "flag_reason", "")))
        a, b = u.lo / f, u.hi / f
        sub = [s.quality for s in c.subshots if s.quality is not None and s.start < b and a < s.end]
        base_q = c.quality.score if c.quality is not None else 0.5
        rel = (float(np.mean(sub)) / base_q) if sub and base_q > 0 else 1.0
        quality[k] = min(1.0, q_clip[u.clip] * rel)
        upscale[k] = up_clip[u.clip]
        group[k] = ids[u.clip]
        for h in c.heroes:
            if h.start >= a - 1e-6 and h.end <= b + 1e-6 and h.score > hero[k]:
                hero[k] = h.score
                hero_frame[k] = int(round(h.start * f))
        fit[k] = framing.subject_fit(c, out_aspect, a, b) if not c.is_still else 1.0
    if hero.max() > 0:
        hero = hero / hero.max()
    return UnitSight(flagged, tuple(reason), quality, upscale, group, hero, hero_frame, fit)


def section_luma_targets(section_energy: np.ndarray, unit_luma: np.ndarray) -> np.ndarray:
    """A mean luma to aim for in each section: the unit brightness at the section's energy rank
    among the clips on offer (a calm section sits darker, a loud one brighter), pulled halfway to
    the median so neighbouring sections stay in one film."""
    e = np.asarray(section_energy, dtype=np.float64)
    lum = np.sort(np.asarray(unit_luma, dtype=np.float64))
    if lum.size == 0 or e.size == 0:
        return np.full(e.size, 0.5)
    rank = (np.argsort(np.argsort(e)) + 0.5) / e.size if e.size > 1 else np.array([0.5])
    at = np.quantile(lum, np.clip(0.2 + 0.6 * rank, 0, 1))
    return 0.5 * at + 0.5 * float(np.median(lum))
