"""A director's edits to a plan: lock, swap, slip the in-point, move a cut to a beat.

Every function takes a :class:`~musync.types.Plan` and returns a new, valid one (the input is
never changed); an edit that cannot be made raises :class:`~musync.errors.PlanError` or
:class:`~musync.errors.ParameterError` saying why. A shot the director changed becomes
**locked**, so the next re-plan keeps it; its ``reason`` says what was done by hand. The plan's
metrics describe the plan as the planner made it: they are brought up to date by the next
re-plan.

Public functions:

- :func:`lock_shots` -- lock or unlock shots by index.
- :func:`swap_clip` -- fill a shot with another clip (in-point chosen, or given).
- :func:`set_in_point` -- slip a shot: same clip, same length, another first source frame.
- :func:`nudge_cut` -- move the cut at the start of a shot to the previous / next beat (a roll
  edit: the neighbour grows as the shot shrinks).
- :func:`alternatives` -- the clips that could fill a shot, best first, with their scores.
- :func:`usable_frames` -- a clip's usable window in plan frames.
"""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..errors import ParameterError, PlanError
from ..planfile import validate_plan
from ..timebase import first_frame, to_frame, to_seconds, window_frames
from ..types import ClipInfo, Plan, PlanClip, Shot

__all__ = ["lock_shots", "swap_clip", "set_in_point", "nudge_cut", "alternatives", "usable_frames"]


def _shot(plan: Plan, index: int) -> Shot:
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(plan.shots):
        raise ParameterError(f"shot {index!r} does not exist (the plan has shots 0 to {len(plan.shots) - 1})")
    return plan.shots[index]


def _replace_shots(plan: Plan, new: dict[int, Shot], clips=None) -> Plan:
    shots = tuple(new.get(i, s) for i, s in enumerate(plan.shots))
    p = dataclasses.replace(plan, shots=shots, clips=tuple(clips) if clips is not None else plan.clips)
    validate_plan(p)
    return p


def _by_hand(shot: Shot, what: str) -> str:
    old = shot.reason
    if old.startswith("by hand: "):
        old = old.split("; was: ", 1)[1] if "; was: " in old else ""
    return f"by hand: {what}" + (f"; was: {old}" if old else "")


def usable_frames(clip: PlanClip | ClipInfo, fps) -> tuple[int, int | None]:
    """``(lo, hi)``: the source frames of ``clip``'s usable window at ``fps`` (``hi`` excluded;
    None for a still, which fills any length)."""
    fps = Fraction(fps)
    if clip.is_still or not math.isfinite(clip.usable_out):
        return first_frame(clip.usable_in, fps), None
    return window_frames(clip.usable_in, clip.usable_out, fps)


def lock_shots(plan: Plan, shots, locked: bool = True) -> Plan:
    """``plan`` with the shots at the indices in ``shots`` locked (or unlocked)."""
    idx = list(shots)
    for i in idx:
        _shot(plan, i)
    new = {i: dataclasses.replace(plan.shots[i], locked=bool(locked)) for i in idx}
    return _replace_shots(plan, new)


def _accent(plan: Plan, shot: Shot) -> int:
    """Frames from the shot's start to its strongest beat (a downbeat first), 0 if none."""
    beats = [b for b in plan.markers.get("beats", []) if shot.record_in + 2 <= b < shot.record_out - 1]
    if not beats:
        return 0
    down = set(plan.markers.get("downbeats", []))
    strongest = next((b for b in beats if b in down), beats[0])
    return int(strongest) - shot.record_in


def _peak_frames(info: ClipInfo | None, fps) -> list[int]:
    if info is None:
        return []
    order = np.argsort(-np.asarray(info.peak_strengths), kind="mergesort")
    return [to_frame(float(info.peak_times[i]), fps) for i in order]


def _choose_in(plan: Plan, shot: Shot, clip: PlanClip, info: ClipInfo | None, exclude: int) -> int:
    """An in-point for ``clip`` in ``shot``: its strongest motion peak on the shot's accent when
    that fits, else the middle of the window; away from ranges of the clip other shots use."""
    L = shot.length
    lo, hi = usable_frames(clip, plan.fps)
    if hi is None:
        return lo
    latest = hi - L
    if latest < lo:
        raise PlanError(f"{Path(clip.path).name} has {hi - lo} usable frames; shot {shot.index} needs {L}")
    used = [(s.source_in, s.source_out) for s in plan.shots if s.source == clip.path and s.index != exclude]

    def overlap(a):
        return sum(max(0, min(a + L, y) - max(a, x)) for x, y in used)

    acc = _accent(plan, shot)
    for pf in _peak_frames(info, plan.fps):
        a = pf - acc
        if lo <= a <= latest and overlap(a) == 0:
            return a
    cands = np.unique(np.linspace(lo, latest, min(65, latest - lo + 1)).round().astype(np.int64)).tolist()
    mid = lo + (latest - lo) // 2
    return int(min(cands, key=lambda a: (overlap(a), abs(a - mid))))


def swap_clip(plan: Plan, shot: int, source: str, *, source_in: int | None = None, clips=()) -> Plan:
    """``plan`` with shot ``shot`` filled by ``source`` (a path among the plan's clips or among
    ``clips``, ClipInfo records of a wider library), from ``source_in`` or a chosen in-point.
    The shot keeps its place and length and becomes locked."""
    s = _shot(plan, shot)
    library = {c.path: c for c in plan.clips}
    infos = {c.path: c for c in clips if isinstance(c, ClipInfo)}
    plan_clips = list(plan.clips)
    if source not in library:
        if source not in infos:
            raise ParameterError(f"{source}: not one of the plan's clips; add it to the review's clip list")
        from ..mediacheck import stamp_clips

        library[source] = stamp_clips([PlanClip.from_clip(infos[source])])[0]
        plan_clips = sorted(plan_clips + [library[source]], key=lambda c: c.path)
    clip = library[source]
    a = _choose_in(plan, s, clip, infos.get(source), shot) if source_in is None else int(source_in)
    _check_range(plan, clip, a, s.length, shot)
    what = f"swapped to {Path(source).name}" if source != s.source else "in-point changed"
    new = dataclasses.replace(s, source=source, source_in=a, source_out=a + s.length, locked=True,
                              reason=_by_hand(s, what))
    return _replace_shots(plan, {shot: new}, plan_clips)


def _check_range(plan: Plan, clip: PlanClip, a: int, length: int, shot: int) -> None:
    lo, hi = usable_frames(clip, plan.fps)
    if a < lo or (hi is not None and a + length > hi):
        span = f"{lo} to {hi - length}" if hi is not None and hi - length >= lo else "none: the clip is too short"
        raise PlanError(f"shot {shot}: in-point {a} leaves the usable window of {Path(clip.path).name} "
                        f"(possible in-points: {span})")


def set_in_point(plan: Plan, shot: int, source_in: int) -> Plan:
    """``plan`` with shot ``shot`` showing its clip from source frame ``source_in`` (a slip:
    same clip, same length, same place); the shot becomes locked."""
    s = _shot(plan, shot)
    return swap_clip(plan, shot, s.source, source_in=int(source_in))


def _fit(clip: PlanClip, fps, a: int, length: int) -> int | None:
    """``a`` moved as little as possible so ``length`` frames from it fit the window, or None."""
    lo, hi = usable_frames(clip, fps)
    if hi is not None and hi - lo < length:
        return None
    a = max(a, lo)
    if hi is not None:
        a = min(a, hi - length)
    return a


def nudge_cut(plan: Plan, shot: int, beats: int = 1) -> Plan:
    """Move the cut at the start of shot ``shot`` by ``beats`` beats (negative: earlier) on the
    plan's beat grid, as a roll edit: the shot before ends where this one now starts, both keep
    their picture in sync where their clips allow (else the in-point slips as little as
    possible). The shot after the moved cut becomes locked, so a re-plan keeps the cut."""
    s = _shot(plan, shot)
    if shot == 0:
        raise ParameterError("shot 0 starts with the song; its start cannot move")
    if not beats:
        return plan
    prev = plan.shots[shot - 1]
    grid = sorted(set(int(b) for b in plan.markers.get("beats", [])))
    b0 = s.record_in
    if beats > 0:
        later = [b for b in grid if b > b0]
        target = later[beats - 1] if len(later) >= beats else None
    else:
        earlier = [b for b in grid if b < b0]
        target = earlier[beats] if len(earlier) >= -beats else None
    if target is None or not prev.record_in < target < s.record_out:
        raise PlanError(f"cut before shot {shot}: no beat {abs(beats)} {'later' if beats > 0 else 'earlier'} "
                        f"between the shots around it (from frame {prev.record_in + 1} to {s.record_out - 1})")
    d = target - b0
    clips = {c.path: c for c in plan.clips}
    lp, ls = prev.length + d, s.length - d
    ap = _fit(clips[prev.source], plan.fps, prev.source_in, lp)
    a_s = _fit(clips[s.source], plan.fps, s.source_in + d, ls)
    if ap is None:
        raise PlanError(f"shot {shot - 1}: {Path(prev.source).name} is too short to run to the new cut")
    if a_s is None:
        raise PlanError(f"shot {shot}: {Path(s.source).name} is too short for the new start")
    where = "later" if d > 0 else "earlier"
    n = abs(beats)
    what = f"cut moved {n} beat{'s' if n > 1 else ''} {where}"
    new_prev = dataclasses.replace(prev, record_out=target, source_in=ap, source_out=ap + lp,
                                   reason=_by_hand(prev, f"end: {what}") if prev.locked else prev.reason)
    new_s = dataclasses.replace(s, record_in=target, source_in=a_s, source_out=a_s + ls, locked=True,
                                reason=_by_hand(s, what))
    return _replace_shots(plan, {shot - 1: new_prev, shot: new_s})


def _ranks(v: np.ndarray) -> np.ndarray:
    if v.size <= 1:
        return np.full(v.size, 0.5)
    r = np.empty(v.size)
    r[np.argsort(v, kind="mergesort")] = np.arange(v.size) / (v.size - 1)
    return r


def _flags_over(info: ClipInfo | None, fps, source_in: int, length: int) -> list[str]:
    """Kinds of the clip's content flags (test pattern, text card, black ...) that overlap the
    source frames ``[source_in, source_in + length)`` (letterboxing, which still shows a
    picture, does not count); empty when the scan records none."""
    if info is None:
        return []
    t0 = to_seconds(int(source_in), Fraction(fps))
    t1 = to_seconds(int(source_in + length), Fraction(fps))
    out = []
    for f in getattr(info, "flags", ()) or ():
        start, end = float(getattr(f, "start", 0.0)), float(getattr(f, "end", math.inf))
        kind = str(getattr(f, "kind", "flag"))
        if kind == "letterbox":   # bars around a real picture: informational only
            continue
        if start < t1 and t0 < end and kind not in out:
            out.append(kind)
    return out


def alternatives(plan: Plan, shot: int, clips=(), *, limit: int | None = None) -> list[dict]:
    """The clips that could fill shot ``shot``, best first.

    Candidates are the plan's clips plus ``clips`` (ClipInfo of a wider library). A clip fits
    when its usable window holds the shot's length. The score (in [0, 1]) weighs the terms the
    planner weighs, from what the plan and the clip records carry:

    - ``motion_fit``: ``1 - |motion rank - shot energy|`` (the planner's own motion fit),
    - ``continuity``: ``1 - mean |brightness - neighbour's brightness|`` over both neighbours,
    - ``freshness``: ``1 / (1 + times the clip is used elsewhere in the plan)``,

    as ``0.5 motion_fit + 0.3 continuity + 0.2 freshness``; a clip that would repeat a
    neighbour's file is kept but marked ``adjacent_repeat`` and scored 0.2 lower, and one whose
    scan flags (test pattern, text card, black ...) overlap the range a swap would show is
    marked with them (``flags``) and scored 0.3 lower.

    Returns a list of dicts: ``path``, ``name``, ``score``, ``scores`` (the three terms),
    ``fits``, ``current``, ``adjacent_repeat``, ``flags``, ``uses``, ``source_in`` (the in-point a swap would
    take), ``usable`` (``[lo, hi]`` frames; ``hi`` None for a still).
    """
    s = _shot(plan, shot)
    infos = {c.path: c for c in clips if isinstance(c, ClipInfo)}
    library = {c.path: c for c in plan.clips}
    for p, c in infos.items():
        library.setdefault(p, PlanClip.from_clip(c))
    paths = sorted(library)
    motion = np.array([library[p].motion for p in paths])
    mrank = dict(zip(paths, _ranks(motion)))
    neighbours = [plan.shots[i] for i in (shot - 1, shot + 1) if 0 <= i < len(plan.shots)]
    nb_bright = [library[n.source].brightness for n in neighbours if n.source in library]
    uses: dict[str, int] = {}
    for o in plan.shots:
        if o.index != shot:
            uses[o.source] = uses.get(o.source, 0) + 1
    out = []
    for p in paths:
        c = library[p]
        lo, hi = usable_frames(c, plan.fps)
        fits = hi is None or hi - lo >= s.length
        mf = 1.0 - abs(float(mrank[p]) - s.energy)
        cont = 1.0 - (float(np.mean([abs(c.brightness - b) for b in nb_bright])) if nb_bright else 0.0)
        fresh = 1.0 / (1 + uses.get(p, 0))
        adj = any(n.source == p for n in neighbours)
        score = 0.5 * mf + 0.3 * cont + 0.2 * fresh - (0.2 if adj else 0.0)
        a = None
        if fits:
            a = s.source_in if p == s.source else _choose_in(plan, s, c, infos.get(p), shot)
        flags = _flags_over(infos.get(p), plan.fps, a, s.length) if a is not None else []
        if flags:
            score -= 0.3
        out.append({"path": p, "name": Path(p).name, "score": round(max(0.0, score), 4),
                    "scores": {"motion_fit": round(mf, 4), "continuity": round(cont, 4),
                               "freshness": round(fresh, 4)},
                    "fits": bool(fits), "current": p == s.source, "adjacent_repeat": bool(adj),
                    "flags": flags, "uses": uses.get(p, 0), "source_in": a, "usable": [lo, hi]})
    out.sort(key=lambda d: (not d["fits"], -d["score"], d["path"]))
    return out[:limit] if limit else out
