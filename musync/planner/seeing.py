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
- :func:`neighbour_rule` -- inside a section, a unit only between neighbours that can match its
  brightness (the round robin skips a source that cannot sit smoothly there).
- :func:`content_rules` -- the hard rules (flagged ranges and blown-up sources only where
  nothing else fits); the cost terms :func:`term_flagged`, :func:`term_quality`,
  :func:`term_fit`, :func:`term_picture_hero`, :func:`term_luma` (:data:`SEEING_TERMS`, default
  weights :data:`SEEING_WEIGHTS`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

__all__ = ["flag_spans", "split_at_flags", "UnitSight", "unit_sight", "group_ids",
           "section_luma_targets", "content_rules", "neighbour_rule", "important_slots",
           "term_flagged",
           "term_quality", "term_fit", "term_picture_hero", "term_luma", "luma_schedule",
           "UPSCALE_LIMIT",
           "MIN_CLEAN_SOURCES", "SEEING_TERMS", "SEEING_WEIGHTS"]

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
        # every frame the flag touches, and one more each side (detail frames come 5 a second)
        lo = max(0, math.floor(Fraction(max(0.0, f.start)) * fps) - 1)
        hi = math.ceil(Fraction(max(f.start, end)) * fps) + 1
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
        hero[k] = float(getattr(u, "hero", 0.0))
        if hero[k] > 0:
            hero_frame[k] = int(u.lo)
        fit[k] = framing.subject_fit(c, out_aspect, a, b) if not c.is_still else 1.0
    return UnitSight(flagged, tuple(reason), quality, upscale, group, hero, hero_frame, fit)


# -- rules and cost terms (registered in musync.planner.costs) ---------------------------------

#: Flagged ranges are kept out wherever something else fits, once this many sources (files or
#: duplicate groups) have unflagged material.
MIN_CLEAN_SOURCES = 3


def content_rules(ok: np.ndarray, sight: UnitSight) -> tuple[np.ndarray, list[str]]:
    """The hard rules: a flagged unit (text card, test pattern, black, flat) fills a slot only
    where no unflagged unit fits (and only when fewer than :data:`MIN_CLEAN_SOURCES` sources have
    unflagged material at all is that allowed everywhere); a unit blown up more than
    :data:`UPSCALE_LIMIT` fills a slot only where no sharper unflagged unit fits.

    Returns the new ``ok`` and notes for the plan's warnings.
    """
    ok = ok.copy()
    notes = []
    flagged = sight.flagged
    clean_sources = np.unique(sight.group[~flagged]).size
    if flagged.any():
        clean_fit = (ok & ~flagged[None, :]).any(axis=1)
        if clean_sources >= MIN_CLEAN_SOURCES:
            ok[np.ix_(clean_fit, flagged)] = False
        else:
            notes.append(f"only {clean_sources} source(s) have material without content flags: "
                         "flagged ranges (text, test patterns, black) may fill shots")
    soft = sight.upscale > UPSCALE_LIMIT
    if soft.any():
        sharp_fit = (ok & ~soft[None, :] & ~flagged[None, :]).any(axis=1)
        ok[np.ix_(sharp_fit, soft)] = False
    return ok, notes


def _slot_weight(ctx) -> np.ndarray:
    """How much a slot shows: its length rank and its energy, about 0.5 to 1.5."""
    L = ctx.slots.length.astype(np.float64)
    rank = (np.argsort(np.argsort(L)) + 0.5) / max(1, L.size)
    return 0.5 + 0.5 * rank + 0.5 * ctx.slots.energy_rel


def term_flagged(ctx) -> np.ndarray:
    """A flagged unit, where the rules still let it in: a last resort."""
    if ctx.sight is None:
        return np.zeros((len(ctx.slots), len(ctx.units)))
    return np.broadcast_to(ctx.sight.flagged.astype(np.float64)[None, :],
                           (len(ctx.slots), len(ctx.units))).copy()


def term_quality(ctx) -> np.ndarray:
    """Screen time follows quality: a poorer picture (sharpness, blocks, shake, upscaling) costs
    more in the long shots and the strong moments."""
    if ctx.sight is None:
        return np.zeros((len(ctx.slots), len(ctx.units)))
    q = np.asarray(ctx.sight.quality)
    up = np.clip(np.asarray(ctx.sight.upscale) - 1.0, 0.0, 3.0) / 3.0
    return _slot_weight(ctx)[:, None] * ((1.0 - q) + 0.5 * up)[None, :]


def term_fit(ctx) -> np.ndarray:
    """For an output of another aspect (9:16, 1:1): a subject that does not fit the crop."""
    if ctx.sight is None:
        return np.zeros((len(ctx.slots), len(ctx.units)))
    return np.broadcast_to((1.0 - np.asarray(ctx.sight.fit))[None, :],
                           (len(ctx.slots), len(ctx.units))).copy()


def important_slots(slots) -> np.ndarray:
    """(S,) bool: the climax's first shot, the payoff's hero shot and the first shot of each
    phrase in the loudest sections."""
    S = len(slots)
    out = np.array([r == "hero" for r in slots.role], dtype=bool)
    climax = np.flatnonzero(slots.in_climax)
    if climax.size:
        out[climax[0]] = True
    phrase_start = np.r_[True, slots.phrase[1:] != slots.phrase[:-1]] if S else np.zeros(0, bool)
    out |= phrase_start & (slots.energy_rel >= 0.75)
    return out


def term_picture_hero(ctx) -> np.ndarray:
    """The scan's hero ranges (quality x interest x motion) go to the climax, the payoff and the
    phrase starts of the loudest sections, and are held back elsewhere."""
    if ctx.sight is None:
        return np.zeros((len(ctx.slots), len(ctx.units)))
    imp = important_slots(ctx.slots).astype(np.float64)
    h = np.asarray(ctx.sight.hero)
    return (0.5 * (1.0 - imp) - imp)[:, None] * h[None, :]


def luma_schedule(slots, bright: np.ndarray, ident: np.ndarray) -> np.ndarray:
    """(S,) brightness to aim for in every slot: inside each section a slow sweep between the
    darker and the brighter material on offer and back (one sweep per round of the sources,
    so the round robin walks through its sources in brightness order instead of jumping from
    the darkest to the brightest), starting dark in calmer sections and bright in louder ones."""
    S = len(slots)
    out = np.full(S, float(np.median(bright)) if bright.size else 0.5)
    if S == 0 or bright.size == 0:
        return out
    # one brightness per source (its units' median), the sweep runs through their range
    per = np.array([np.median(bright[ident == g]) for g in np.unique(ident)])
    lo, hi = np.quantile(per, 0.05), np.quantile(per, 0.95)
    n = max(2, per.size)
    sec = np.asarray(slots.section)
    e_all = float(np.median(slots.energy_rel)) if S else 0.5
    k = 0
    while k < S:
        j = k
        while j < S and sec[j] == sec[k]:
            j += 1
        up = float(slots.energy_rel[k:j].mean()) < e_all      # calm: start dark, go up
        pos = np.arange(j - k) % (2 * (n - 1)) / (n - 1)      # 0 .. 2
        tri = np.where(pos <= 1.0, pos, 2.0 - pos)
        out[k:j] = lo + (hi - lo) * (tri if up else 1.0 - tri)
        k = j
    return out


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


#: Half-width of a section's brightness band (widened where fewer than
#: :data:`SECTION_SOURCES` sources would be left in it).
SECTION_BAND = 0.16
SECTION_SOURCES = 5
#: ... and, in a long section, at least one source per this many of its shots.
SECTION_SHOTS_PER_SOURCE = 4


def section_rule(ok: np.ndarray, slots, units, sight) -> np.ndarray:
    """Emotional consistency as a rule: inside a section only material within
    :data:`SECTION_BAND` of the section's brightness (:func:`section_luma_targets`, from its
    energy) fills its shots, the band widened until :data:`SECTION_SOURCES` sources (or all there
    are) remain; so a dark clip plays in the darker sections and never sits beside the brightest
    one. Locked slots are left alone."""
    bright = np.array([u.brightness for u in units], dtype=np.float64)
    sec = np.asarray(slots.section)
    if sec.size == 0 or sec.max() < 0:
        return ok
    n_sec = int(sec.max()) + 1
    energy = np.array([slots.energy_rel[sec == k].mean() if (sec == k).any() else 0.5
                       for k in range(n_sec)])
    clean = ~np.asarray(sight.flagged)
    target = section_luma_targets(energy, bright[clean] if clean.any() else bright)
    out = ok.copy()
    for k in range(n_sec):
        rows = np.flatnonzero((sec == k) & np.array([f is None for f in slots.fixed]))
        if rows.size == 0:
            continue
        avail = ok[rows].any(axis=0)
        have = np.unique(sight.group[avail]).size
        # a long section has room for more of the material: one more source per few shots
        need = min(max(SECTION_SOURCES, -(-rows.size // SECTION_SHOTS_PER_SOURCE)), have)
        band = SECTION_BAND
        while True:
            inside = avail & (np.abs(bright - target[k]) <= band)
            if np.unique(sight.group[inside]).size >= need or band > 1.0:
                break
            band += 0.02
        cand = out[rows] & inside[None, :]
        # a slot that would be left empty keeps what it had
        empty = ~cand.any(axis=1)
        cand[empty] = out[rows][empty]
        out[rows] = cand
    return out


#: Neighbours inside a section differ in mean luma by at most this much where the material
#: allows it (:func:`neighbour_rule`).
NEIGHBOUR_JUMP = 0.2
#: A slot keeps at least this many sources whatever the neighbour rule says.
NEIGHBOUR_MIN_SOURCES = 2


def neighbour_rule(ok: np.ndarray, slots, units, fixed: np.ndarray, ident: np.ndarray, *,
                   frozen: np.ndarray | None = None) -> np.ndarray:
    """Emotional consistency as a rule about neighbours: inside a section a unit fills a shot
    only where the shots on either side can be filled by other material within
    :data:`NEIGHBOUR_JUMP` of its brightness (a dark clip whose only match is one mid-dark
    clip sits between two shots of that one, or opens or closes a section next to it; a clip
    with no match at all stays out of the section). Repeated until it
    holds for every unit that is left, but a slot keeps at least
    :data:`NEIGHBOUR_MIN_SOURCES` sources (or its units as they are), and locked or kept slots
    (``fixed``, ``frozen``) are never pruned. So the round robin skips a source that cannot sit
    smoothly in a section and reuses fitting ones instead."""
    from ._kernels import _neighbour_support

    S, U = ok.shape
    if S < 2 or U < 2:
        return ok
    bright = np.array([u.brightness for u in units], dtype=np.float64)
    base = ok.copy()
    fz = np.zeros(S, dtype=bool) if frozen is None else np.asarray(frozen, dtype=bool).copy()
    for k in np.flatnonzero(np.asarray(fixed) >= 0):
        base[k] = False
        base[k, fixed[k]] = True
        fz[k] = True
    _, ids = np.unique(np.asarray(ident, dtype=np.int64), return_inverse=True)
    out = _neighbour_support(np.ascontiguousarray(base), bright, ids.astype(np.int64),
                             np.ascontiguousarray(slots.section, dtype=np.int64), fz,
                             float(NEIGHBOUR_JUMP) + 1e-9, int(NEIGHBOUR_MIN_SOURCES))
    out[fz] = ok[fz]
    return out


def term_luma(ctx) -> np.ndarray:
    """Emotional consistency: neighbours inside a section agree in brightness. Every slot has a
    brightness to aim for (:func:`luma_schedule`); a unit costs its distance from it (1 per 0.2
    of luma)."""
    if ctx.sight is None:
        return np.zeros((len(ctx.slots), len(ctx.units)))
    bright = np.array([u.brightness for u in ctx.units], dtype=np.float64)
    clean = ~np.asarray(ctx.sight.flagged)
    b, g = (bright[clean], ctx.sight.group[clean]) if clean.any() else (bright, ctx.sight.group)
    target = luma_schedule(ctx.slots, b, g)
    return np.abs(bright[None, :] - target[:, None]) / 0.2


#: The cost terms of this module, ``(name, function)``, as :mod:`.costs` registers them.
SEEING_TERMS = (("flagged", term_flagged), ("quality", term_quality), ("fit", term_fit),
                ("picture_hero", term_picture_hero), ("luma", term_luma))
#: Their default weights.
SEEING_WEIGHTS = {"flagged": 5.0, "quality": 0.6, "fit": 1.0, "picture_hero": 0.8, "luma": 0.5}
