"""Stable re-plans: change only what must change around the director's decisions.

Public: :func:`replan`, :func:`dirty_shots`, :func:`close_short_gaps`, :func:`is_gap`.

With ``scope="phrase"`` a re-plan keeps every unlocked shot that is still fine and re-plans only
the phrases holding something that must change:

- a *gap* (an unlocked placeholder whose ``reason`` starts with ``"gap"``, as
  :func:`musync.import_timeline` writes for deleted shots);
- a shot whose source is no longer among the clips, or whose range left the clip's usable
  window;
- an unlocked shot that now shows the same file as its neighbour;
- an unlocked shot shorter than the shortest shot.

Inside those phrases the planner still prefers the previous cuts and clips (a bonus), so a swap
of one shot's clip typically changes its neighbours only. A stretch of unlocked frames between
fixed shots that is shorter than the shortest shot is never filled with a flash: it is merged
into a neighbouring shot and the plan's warnings say so. The editor's markers of an imported
timeline (``markers["notes"]``) are kept.
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction

from ..errors import ParameterError, PlanError
from ..timebase import to_frame
from ..types import Analysis, ClipInfo, Plan, PlanSettings, Shot
from .cuts import min_max_frames
from .music import find_phrases
from .units import source_units

__all__ = ["replan", "dirty_shots", "close_short_gaps", "is_gap"]


def is_gap(shot: Shot) -> bool:
    """An unlocked placeholder for a hole in the edit (deleted shots)."""
    return not shot.locked and shot.reason.lower().startswith("gap")


def _unit_holding(units_by_path, shot: Shot):
    for u in units_by_path.get(shot.source, ()):
        if u.lo <= shot.source_in and shot.source_out <= u.hi:
            return u
    return None


def dirty_shots(shots, units_by_path, min_len: int) -> set[int]:
    """Indices of the unlocked shots a re-plan must change (see the module docstring)."""
    dirty = set()
    n = len(shots)
    for k, s in enumerate(shots):
        if s.locked:
            continue
        if is_gap(s) or _unit_holding(units_by_path, s) is None or s.length < min_len:
            dirty.add(k)
            continue
        for j in (k - 1, k + 1):
            if 0 <= j < n and shots[j].source == s.source:
                dirty.add(k)
    return dirty


def close_short_gaps(fixed: list[Shot], duration_frames: int, min_len: int, units_by_path,
                     fps) -> tuple[list[Shot], list[str]]:
    """Merge every stretch of free frames shorter than ``min_len`` between ``fixed`` shots
    (sorted, non-overlapping) into a neighbour: an unlocked neighbour first, the one before
    first; a shot grows only within its clip's usable unit. Returns the new fixed shots and one
    warning per merge (or per gap that could not be merged)."""
    f = float(fps)
    out = [dataclasses.replace(s) for s in sorted(fixed, key=lambda s: s.record_in)]
    warnings = []
    edges = [0] + [x for s in out for x in (s.record_in, s.record_out)] + [duration_frames]
    gaps = [(edges[2 * i], edges[2 * i + 1], i) for i in range(len(out) + 1)]
    for a, b, i in gaps:
        g = b - a
        if g <= 0 or g >= min_len:
            continue
        prev = out[i - 1] if i >= 1 else None
        nxt = out[i] if i < len(out) else None
        options = [x for x in (prev, nxt) if x is not None]
        options.sort(key=lambda s: (s.locked, 0 if s is prev else 1))
        done = False
        for s in options:
            u = _unit_holding(units_by_path, s)
            if u is None:
                continue
            if s is prev and s.source_out + g <= u.hi:
                j = out.index(s)
                out[j] = dataclasses.replace(s, record_out=s.record_out + g, source_out=s.source_out + g)
                where = "its out-point"
            elif s is nxt and s.source_in - g >= u.lo:
                j = out.index(s)
                out[j] = dataclasses.replace(s, record_in=s.record_in - g, source_in=s.source_in - g)
                where = "its in-point"
            else:
                continue
            warnings.append(f"a gap of {g} frame(s) ({g / f:.2f} s, shorter than the shortest shot) at "
                            f"frame {a} was merged into shot {s.index} ({where} moved by {g} frame(s))")
            done = True
            break
        if not done:
            warnings.append(f"a gap of {g} frame(s) ({g / f:.2f} s) at frame {a} is shorter than the "
                            "shortest shot and no neighbouring clip can grow into it: filled with a short shot")
    return out, warnings


def _same_settings(a: PlanSettings, b: PlanSettings) -> bool:
    return a.to_dict() == b.to_dict()


def replan(old: Plan, analysis: Analysis, clips, *, settings: PlanSettings | None = None,
           scope: str = "phrase", allow_changed_media: bool = False, **overrides) -> Plan:
    """Re-plan ``old`` around its locked shots; see :func:`musync.planner.replan`."""
    from ..errors import MediaChangedError
    from ..mediacheck import check_media
    from ..planfile import validate_plan
    from . import SCOPES, plan, _resolve_settings

    if scope not in SCOPES:
        raise ParameterError(f"scope must be one of {', '.join(SCOPES)}, not {scope!r}")
    clip_list = [c for c in clips if isinstance(c, ClipInfo)]
    remedy = "plan again from scratch (`musync plan SONG CLIPS`)"
    media_notes = check_media(old, allow_changed=allow_changed_media, song=False, remedy=remedy)
    if analysis.audio.sha256 and old.audio.sha256 and analysis.audio.sha256 != old.audio.sha256:
        what = "the song has changed since the plan was made (its sha256 differs)"
        if not allow_changed_media:
            raise MediaChangedError(analysis.audio.path, f"{what}; put the original back, {remedy}, "
                                    "or pass --allow-changed-media to re-plan anyway")
        media_notes.append(f"{analysis.audio.path}: {what}; re-planned anyway (--allow-changed-media)")
        scope = "all"
    # a changed clip that is allowed is judged by the new scan: its shots become dirty
    validate_plan(old, clips=None if allow_changed_media else clip_list, name="plan")
    base = settings or old.settings
    if Fraction(base.fps) != Fraction(old.fps):
        raise PlanError("a re-plan must keep the plan's frame rate")
    kw = {k: v for k, v in overrides.items() if v is not None}
    style = kw.pop("style", None)
    if style is not None:
        # a new style: its preset, with the plan's other settings (seed, rate, size, ...)
        from .styles import STYLES, make_settings

        preset_keys = {k for v in STYLES.values() for k in v}
        d = {k: v for k, v in base.__dict__.items() if k not in preset_keys and k != "style"}
        d.update(kw)
        base = make_settings(style, **d)
    elif kw:
        d = base.to_dict()
        d.update(kw)
        base = PlanSettings.from_dict(d)
    base = _resolve_settings(base, None, {})
    fps = Fraction(base.fps)
    duration_frames = max(1, to_frame(analysis.duration, fps))
    min_len, _ = min_max_frames(base)
    units = source_units(sorted(clip_list, key=lambda c: c.path), fps)
    by_path: dict = {}
    for u in units:
        by_path.setdefault(u.path, []).append(u)
    locked = [s for s in old.shots if s.locked]
    notes: list[str] = []
    if scope == "phrase" and not _same_settings(base, old.settings):
        # a new seed or style asks for a new proposal
        scope = "all"
        notes.append("the settings changed: every unlocked shot was re-planned (scope all)")
    keep: list[Shot] = []
    prefer: list[Shot] = []
    if scope == "phrase" and old.duration_frames == duration_frames:
        shots = list(old.shots)
        dirty = dirty_shots(shots, by_path, min_len)
        phrases = find_phrases(analysis, fps, duration_frames)
        region = [False] * len(shots)
        touched = {i for i, p in enumerate(phrases)
                   for k in dirty if shots[k].record_in < p.end and p.start < shots[k].record_out}
        for k, s in enumerate(shots):
            if s.locked:
                continue
            region[k] = any(s.record_in < phrases[i].end and phrases[i].start < s.record_out for i in touched)
        keep = [s for k, s in enumerate(shots) if not s.locked and not region[k]]
        prefer = [s for k, s in enumerate(shots) if not s.locked and region[k] and k not in dirty]
        if not dirty:
            notes.append("nothing had to change: every unlocked shot was kept "
                         "(re-plan with scope 'all' for new proposals)")
        else:
            notes.append(f"re-planned {len(touched)} phrase(s) around {len(dirty)} shot(s) that had to "
                         f"change; {len(keep)} unlocked shot(s) kept as they were")
    fixed, gap_notes = close_short_gaps(locked + keep, duration_frames, min_len, by_path, fps)
    locked = [s for s in fixed if s.locked]
    keep = [s for s in fixed if not s.locked]
    new = plan(analysis, clips, base, locked=locked, keep=keep, prefer=prefer,
               skipped=list(old.skipped), warnings=media_notes + notes + gap_notes)
    return _keep_notes(new, old)


def _keep_notes(new: Plan, old: Plan) -> Plan:
    """Carry the editor's markers (``markers["notes"]``, from an imported timeline) into the
    re-planned plan; notes past the song's end are dropped, and the warnings say so."""
    notes = list((old.markers or {}).get("notes") or [])
    if not notes:
        return new
    inside = [n for n in notes if isinstance(n, dict) and 0 <= int(n.get("frame", -1)) < new.duration_frames]
    warn = list(new.warnings)
    if len(inside) < len(notes):
        warn.append(f"{len(notes) - len(inside)} editor note(s) past the song's end were dropped")
    markers = dict(new.markers)
    markers["notes"] = inside
    return dataclasses.replace(new, markers=markers, warnings=tuple(dict.fromkeys(warn)))
