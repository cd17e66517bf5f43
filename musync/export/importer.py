"""An edited timeline back as a plan: what the editor decided becomes locks, and only that.

Public functions:

- :func:`timeline_to_plan` -- read an edited timeline (any format reader's result) back into a
  plan. Shots the editor trimmed, moved, swapped or added become locked; untouched shots stay
  proposals (``lock="all"`` locks every clip); deleted shots become unlocked gaps for the planner;
  a gap shorter than the shortest shot is merged into a neighbour instead of becoming a flash
  frame; the editor's own markers come back as notes (``plan.markers["notes"]``).
- :data:`LOCK_POLICIES` -- the values ``lock`` takes.
"""

from __future__ import annotations

import math
import re
import os
from dataclasses import replace
from fractions import Fraction

import opentimelineio as otio

from ..errors import ExportError, ParameterError, PlanError
from ..timebase import to_frame, window_frames
from ..types import Plan, PlanClip, Shot
from .timeline import NAMESPACE, frames, path_from_url, rt, timeline_markers

__all__ = ["timeline_to_plan", "LOCK_POLICIES"]

#: ``changed``: lock what the editor changed (default); ``all``: lock every clip on the timeline.
LOCK_POLICIES = ("changed", "all")



def _video_track(tl: otio.schema.Timeline) -> tuple[otio.schema.Track, list[str]]:
    notes = []
    tracks = [t for t in tl.tracks if isinstance(t, otio.schema.Track)
              and t.kind == otio.schema.TrackKind.Video]
    tracks = [t for t in tracks if any(isinstance(c, otio.schema.Clip) for c in t)] or tracks
    if not tracks:
        raise ExportError("the timeline has no video track; musync reads the picture from the "
                          "first video track (V1)")
    named = [t for t in tracks if t.name == "V1"]
    track = named[0] if named else tracks[0]
    others = [t for t in tracks if t is not track and any(isinstance(c, otio.schema.Clip) for c in t)]
    if others:
        notes.append(f"{len(others)} more video track(s) ignored; musync plans one picture track "
                     "(move the shots you want onto V1)")
    return track, notes


def _song_offset(tl: otio.schema.Timeline, plan: Plan) -> tuple[int, list[str]]:
    """Song frame minus timeline frame, from where the song sits on the audio tracks."""
    from .collect import original_path

    fps = plan.fps
    song = os.path.basename(plan.audio.path)
    for t in tl.tracks:
        if not isinstance(t, otio.schema.Track) or t.kind != otio.schema.TrackKind.Audio:
            continue
        pieces = []
        for i, c in enumerate(t):
            if not isinstance(c, otio.schema.Clip):
                continue
            ref = c.media_reference
            url = getattr(ref, "target_url", "") or ""
            here = original_path(path_from_url(url)) if url else ""
            if os.path.basename(here) == song or c.name == song:
                rng = t.range_of_child_at_index(i)
                start = c.source_range.start_time if c.source_range else rt(0, fps)
                avail = getattr(ref, "available_range", None)
                base = frames(avail.start_time, fps) if avail is not None else 0
                pieces.append((frames(rng.start_time, fps), frames(start, fps) - base))
        if pieces:
            rec, src = pieces[0]
            notes = []
            if len(pieces) > 1:
                notes.append("the song is cut into pieces on the audio track; musync keeps the "
                             "song whole and places shots by the first piece")
            if src != rec:
                notes.append(f"the song starts at timeline frame {rec} (song frame {src}); shots "
                             "are placed relative to the song")
            return src - rec, notes
    return 0, []


def _clip_for_path(path: str, plan: Plan, extra: dict[str, PlanClip]) -> PlanClip | None:
    from .collect import original_path

    path = original_path(path) if path else path  # a file of a --collect folder: its original
    known = {c.path: c for c in plan.clips}
    known.update(extra)
    if path in known:
        return known[path]
    ap = os.path.abspath(path) if path else ""
    if ap in known:
        return known[ap]
    base = os.path.basename(path)
    same = [c for c in known.values() if os.path.basename(c.path) == base]
    if len(same) == 1:
        return same[0]
    return None


def _scan_new_clip(path: str) -> PlanClip:
    from ..clips import scan_clip
    from ..mediacheck import stamp_clips

    info = scan_clip(path)
    return stamp_clips([PlanClip.from_clip(info)])[0]


def _slice(shot: Shot, lo: int, hi: int, **changes) -> Shot:
    """The part of ``shot`` in record frames ``[lo, hi)``."""
    a, b = max(lo, shot.record_in), min(hi, shot.record_out)
    d = a - shot.record_in
    return replace(shot, source_in=shot.source_in + d, source_out=shot.source_in + d + (b - a),
                   record_in=a, record_out=b, **changes)


def _fill(plan: Plan, lo: int, hi: int) -> list[Shot]:
    """Unlocked placeholder shots for record frames ``[lo, hi)``: the original plan's shots there.

    They validate by construction (sub-ranges of valid shots) and the planner replaces them.
    """
    out = []
    for s in plan.shots:
        if s.record_out <= lo or s.record_in >= hi:
            continue
        out.append(_slice(s, lo, hi, locked=False, reason="gap in the edited timeline: re-plan",
                          scores={}))
    return out


def _fit_window(c: PlanClip, s_in: int, s_out: int, fps: Fraction) -> tuple[PlanClip, bool]:
    """Widen ``c``'s usable window to hold source frames ``[s_in, s_out)``; False if impossible."""
    if s_in < 0:
        return c, False
    finite = not (c.is_still or not math.isfinite(c.duration))
    if finite and s_out > window_frames(0.0, c.duration, fps)[1]:
        return c, False
    lo, hi = (window_frames(c.usable_in, c.usable_out, fps) if math.isfinite(c.usable_out)
              else (window_frames(c.usable_in, c.usable_in, fps)[0], None))
    new_in, new_out = c.usable_in, c.usable_out
    if s_in < lo:
        new_in = float(Fraction(s_in) / fps)
    if hi is not None and s_out > hi:
        new_out = float(Fraction(s_out) / fps)
    if (new_in, new_out) == (c.usable_in, c.usable_out):
        return c, True
    return replace(c, usable_in=min(new_in, c.usable_in), usable_out=max(new_out, c.usable_out)), True


# ---------------------------------------------------------------------------------------------
# markers: musync's own come back as they were written; the editor's become notes

_CUT_NAME = re.compile(r"^shot \d+(:|$)", re.IGNORECASE)


def _own_marker_keys(plan: Plan) -> set[tuple[int, str]]:
    """(record frame, lower-case name) of every timeline marker musync writes for ``plan``."""
    fps = plan.fps
    return {(frames(m.marked_range.start_time, fps), m.name.lower()) for m in timeline_markers(plan)
            if (m.metadata.get(NAMESPACE) or {}).get("kind") != "note"}


def _marker_note(m, frame: int, fps: Fraction, on: str) -> dict:
    note = {"frame": int(frame), "name": " ".join(str(m.name or "").split()) or "marker",
            "duration": max(0, frames(m.marked_range.duration, fps)), "on": on}
    color = str(getattr(m, "color", "") or "")
    if color:
        note["color"] = color
    comment = (m.metadata.get("fcp_xml") or {}).get("comment") if hasattr(m, "metadata") else None
    if comment:
        note["comment"] = str(comment)
    return note


def _editor_markers(tl, offset: int, plan: Plan) -> tuple[list[dict], int]:
    """The editor's markers as notes in song frames, and how many musync markers were seen.

    Timeline (stack and track) markers are in timeline frames; clip markers in the clip's source
    frames and are moved to the record frame they sit on. musync's own markers (metadata kind,
    or the name and frame musync writes, or a ``shot N`` cut marker) are not notes.
    """
    fps = plan.fps
    own = _own_marker_keys(plan)
    notes, n_own = [], 0

    def is_own(m, frame):
        kind = (m.metadata.get(NAMESPACE) or {}).get("kind")
        if kind is not None and kind != "note":
            return True
        name = " ".join(str(m.name or "").split()).lower()
        return bool(_CUT_NAME.match(name)) or (frame, name) in own

    holders = [(tl.tracks, "timeline")] + [(t, t.name or "track") for t in tl.tracks
                                           if isinstance(t, otio.schema.Track)]
    for holder, on in holders:
        for m in holder.markers:
            f = frames(m.marked_range.start_time, fps) + offset
            if is_own(m, f):
                n_own += 1
            else:
                notes.append(_marker_note(m, f, fps, on))
    for t in tl.tracks:
        if not isinstance(t, otio.schema.Track):
            continue
        for i, c in enumerate(t):
            if not isinstance(c, otio.schema.Clip) or not c.markers:
                continue
            rng = t.range_of_child_at_index(i)
            r_in = frames(rng.start_time, fps) + offset
            src0 = frames((c.source_range or c.trimmed_range()).start_time, fps)
            for m in c.markers:
                f = r_in + frames(m.marked_range.start_time, fps) - src0
                if is_own(m, f):
                    n_own += 1
                else:
                    notes.append(_marker_note(m, f, fps, c.name or t.name or "clip"))
    notes = sorted({(n["frame"], n["name"], n["on"]): n for n in notes}.values(),
                   key=lambda n: (n["frame"], n["name"]))
    return notes, n_own


# ---------------------------------------------------------------------------------------------
# gaps shorter than the shortest shot


def _min_frames(plan: Plan) -> int:
    return max(1, to_frame(float(plan.settings.min_shot), plan.fps))


def _extend(shot: Shot, lo: int, hi: int, clips: dict[str, PlanClip], fps: Fraction) -> Shot | None:
    """``shot`` grown to cover record frames ``[lo, hi)`` next to it, if its source has the frames."""
    if hi == shot.record_in:
        new = replace(shot, record_in=lo, source_in=shot.source_in - (hi - lo))
    elif lo == shot.record_out:
        new = replace(shot, record_out=hi, source_out=shot.source_out + (hi - lo))
    else:
        return None
    c = clips.get(shot.source)
    if c is None or new.source_in < 0:
        return None
    lo_f, hi_f = (window_frames(c.usable_in, c.usable_out, fps) if math.isfinite(c.usable_out)
                  else (window_frames(c.usable_in, c.usable_in, fps)[0], None))
    if new.source_in < lo_f or (hi_f is not None and new.source_out > hi_f):
        return None
    return new


def _merge_short_gaps(shots: list[Shot], gap_ranges: list[tuple[int, int]], clips, plan: Plan,
                      notes: list[str]) -> list[Shot]:
    """Merge every re-plan region shorter than the shortest shot into a neighbouring shot.

    A region is a run of unlocked shots between locked ones that contains a gap of the edited
    timeline. Left alone, the planner would have to fill it with a shot shorter than
    ``settings.min_shot`` (a flash frame). The previous shot is extended over it when its
    source has the frames, else the next shot; otherwise it stays and the warning says so.
    """
    fps = plan.fps
    n_min = _min_frames(plan)
    out = list(shots)
    k = 0
    while k < len(out):
        if out[k].locked:
            k += 1
            continue
        j = k
        while j < len(out) and not out[j].locked:
            j += 1
        lo, hi = out[k].record_in, out[j - 1].record_out
        has_gap = any(a < hi and b > lo for a, b in gap_ranges)
        if not has_gap or hi - lo >= n_min:
            k = j
            continue
        where = f"gap of {hi - lo} frame(s) at frame {lo} (shorter than the shortest shot, {n_min} frames)"
        prev = out[k - 1] if k > 0 else None
        nxt = out[j] if j < len(out) else None
        for nb, pos in ((prev, k - 1), (nxt, j)):
            if nb is None:
                continue
            grown = _extend(nb, lo, hi, clips, fps)
            if grown is not None:
                notes.append(f"{where} merged into the {'previous' if nb is prev else 'next'} shot "
                             f"({os.path.basename(nb.source)}), not filled with a flash frame")
                out[pos] = replace(grown, reason=(nb.reason + "; " if nb.reason else "")
                                   + f"extended over a {hi - lo}-frame gap")
                del out[k:j]
                k = max(0, k - 1)
                break
        else:
            notes.append(f"{where} left to re-plan: neither neighbour's clip has the frames to "
                         "cover it; close it in the editor or accept a short shot")
            k = j
    return out


# ---------------------------------------------------------------------------------------------


def timeline_to_plan(tl, plan: Plan, *, source_name: str = "timeline", scan_new: bool = True,
                     lock: str = "changed") -> Plan:
    """Read an edited timeline back into a plan.

    Parameters
    ----------
    tl : opentimelineio.schema.Timeline
        The edited timeline (any adapter's result; a collection's first timeline is used).
    plan : Plan
        The plan the timeline was exported from: its song, rate, clip library and markers.
    source_name : str
        Name used in messages (usually the file name).
    scan_new : bool
        Probe clips that are not in the plan's library (added in the editor) and add them;
        otherwise such clips raise :class:`~musync.errors.PlanError`.
    lock : {"changed", "all"}
        ``changed`` (default): shots the editor trimmed, moved, swapped or added become
        **locked**; untouched shots come back exactly as they were in ``plan`` (proposals stay
        proposals, earlier locks stay locks). ``all``: every clip on the timeline is locked.

    Returns
    -------
    Plan
        The timeline's shots with their source and record ranges (unchanged shots keep their
        reason and scores; changed ones say what changed in ``reason``). Gaps (deleted shots,
        the end of the song when the timeline is shorter) become **unlocked** shots taken from
        the original plan, for ``musync plan --replan`` to fill; a gap that would leave less than
        ``settings.min_shot`` to re-plan is merged into a neighbour instead. The editor's own
        markers (not the beat, bar, section, climax and cut markers musync wrote) are kept as
        ``markers["notes"]``: ``{"frame", "name", "duration", "on", "color"?}`` in song frames.
        The result passes :func:`~musync.planfile.validate_plan`; ``metrics`` is emptied (they
        describe the old edit) and ``warnings`` gets one line summarizing the import.
    """
    from ..planfile import validate_plan

    if lock not in LOCK_POLICIES:
        raise ParameterError(f"lock must be one of {', '.join(LOCK_POLICIES)}, not {lock!r}")
    if isinstance(tl, otio.schema.SerializableCollection):
        tls = list(tl.find_children(descended_from_type=otio.schema.Timeline, shallow_search=True)) \
            or [c for c in tl if isinstance(c, otio.schema.Timeline)]
        if not tls:
            raise ExportError(f"{source_name}: no timeline (sequence/project) in the file")
        tl = tls[0]
    if not isinstance(tl, otio.schema.Timeline):
        raise ExportError(f"{source_name}: not a timeline ({type(tl).__name__})")
    fps = Fraction(plan.fps)
    n = int(plan.duration_frames)
    track, notes = _video_track(tl)
    offset, song_notes = _song_offset(tl, plan)
    notes += song_notes

    by_index = {s.index: s for s in plan.shots}
    extra: dict[str, PlanClip] = {}
    clips_out: dict[str, PlanClip] = {c.path: c for c in plan.clips}
    placed: list[tuple[int, int, str, int, dict, str]] = []  # rec_in, rec_out, path, src_in, meta, name
    n_transitions = 0
    for i, item in enumerate(track):
        if isinstance(item, otio.schema.Transition):
            n_transitions += 1
            continue
        rng = track.range_of_child_at_index(i)
        r_in = frames(rng.start_time, fps) + offset
        r_out = frames(rng.end_time_exclusive(), fps) + offset
        if not isinstance(item, otio.schema.Clip) or r_out <= r_in:
            continue  # gaps and anything else are holes to fill
        if not item.enabled:
            notes.append(f"disabled clip {item.name!r} treated as a gap")
            continue
        ref = item.media_reference
        url = getattr(ref, "target_url", None)
        if url:
            path = path_from_url(url)
        else:  # EDLs from editors often name the file only ("* FROM CLIP NAME: a.mp4")
            c = _clip_for_path(item.name or "", plan, {})
            if c is None:
                raise PlanError(f"{source_name}: clip {item.name!r} at timeline frame {r_in} has no "
                                "media file (generator, title, offline clip, or a name that is not "
                                "one of the plan's clips); replace it with a video clip or delete "
                                "it, then import again")
            path = c.path
        sr = item.source_range or item.trimmed_range()
        avail = getattr(ref, "available_range", None)
        base = frames(avail.start_time, fps) if avail is not None else 0
        s_in = frames(sr.start_time, fps) - base
        meta = dict(item.metadata.get(NAMESPACE, {}) or {})
        placed.append((r_in, r_out, path, s_in, meta, item.name or os.path.basename(path)))
    if n_transitions:
        notes.append(f"{n_transitions} transition(s) ignored; musync plans hard cuts")

    shots: list[Shot] = []
    gaps: list[tuple[int, int]] = []
    counts = {"kept": 0, "trimmed": 0, "moved": 0, "swapped": 0, "added": 0, "gap": 0, "cut off": 0}
    cursor = 0
    for r_in, r_out, path, s_in, meta, name in placed:
        if r_out <= 0 or r_in >= n:
            counts["cut off"] += 1
            continue
        if r_in < cursor:  # overlaps cannot happen on one track; guard against rounding
            s_in += cursor - r_in
            r_in = cursor
        if r_out > n:
            counts["cut off"] += 1
            r_out = n
        if r_out <= r_in:
            continue
        if r_in > cursor:
            shots += _fill(plan, cursor, r_in)
            gaps.append((cursor, r_in))
            counts["gap"] += 1
        c = _clip_for_path(path, plan, extra)
        if c is None:
            if not scan_new or not os.path.exists(path):
                raise PlanError(f"{source_name}: clip {name!r} ({path}) is not in the plan's clip "
                                "library and cannot be found; relink it to a file on disk or "
                                "re-plan with it in the clip folder")
            c = _scan_new_clip(path)
            extra[c.path] = c
            clips_out[c.path] = c
        s_out = s_in + (r_out - r_in)
        c2, ok = _fit_window(clips_out.get(c.path, c), s_in, s_out, fps)
        if not ok:
            notes.append(f"{name} at frame {r_in}: source frames [{s_in}, {s_out}) lie outside the "
                         "file; left unlocked for the planner")
            shots += _fill(plan, r_in, r_out)
            gaps.append((r_in, r_out))
            counts["gap"] += 1
            cursor = r_out
            continue
        if c2 is not clips_out.get(c.path, c):
            notes.append(f"{os.path.basename(c.path)}: usable window widened to hold the edit")
        clips_out[c.path] = c2
        orig = by_index.get(meta.get("shot")) if "shot" in meta else None
        kind, orig = _classify(plan, orig, c.path, s_in, s_out, r_in, r_out)
        counts[kind] += 1
        if kind == "kept":
            shot = replace(orig, locked=True) if lock == "all" else orig
        else:
            was = f" (was shot {orig.index})" if orig is not None else ""
            shot = Shot(0, c.path, s_in, s_out, r_in, r_out, locked=True,
                        reason=f"{kind} in the editor{was}",
                        section=orig.section if orig is not None else _section_at(plan, r_in),
                        energy=orig.energy if orig is not None else 0.0)
        shots.append(shot)
        cursor = r_out
    if cursor < n:
        shots += _fill(plan, cursor, n)
        gaps.append((cursor, n))
        counts["gap"] += 1
    shots = _merge_short_gaps(shots, gaps, clips_out, plan, notes)
    shots = [replace(s, index=k) for k, s in enumerate(shots)]

    marker_notes, _ = _editor_markers(tl, offset, plan)
    inside = [m for m in marker_notes if 0 <= m["frame"] < n]
    if len(inside) < len(marker_notes):
        dropped = [m for m in marker_notes if not 0 <= m["frame"] < n]
        notes.append(f"{len(dropped)} editor marker(s) outside the song dropped: "
                     + ", ".join(f"{m['name']!r} at frame {m['frame']}" for m in dropped[:5]))
    markers = dict(plan.markers or {})
    if inside:
        markers["notes"] = inside
        notes.append(f"{len(inside)} editor marker(s) kept as notes (plan markers 'notes')")
    else:
        markers.pop("notes", None)

    summary = ", ".join(f"{v} {k}" for k, v in counts.items() if v)
    n_locked = sum(s.locked for s in shots)
    msg = (f"imported from {source_name}: {summary}; {n_locked} locked shot(s), "
           f"{len(shots) - n_locked} unlocked to re-plan")
    if notes:
        msg += "; " + "; ".join(dict.fromkeys(notes))
    warnings = tuple(w for w in plan.warnings if not w.startswith("imported from ")) + (msg,)
    clips = tuple(sorted(clips_out.values(), key=lambda c: c.path))
    new = replace(plan, shots=tuple(shots), clips=clips, markers=markers, metrics={},
                  warnings=warnings)
    validate_plan(new, name=source_name)
    return new


def _section_at(plan: Plan, frame: int) -> str:
    for s in (plan.markers or {}).get("sections", []) or []:
        if int(s.get("frame", 0)) <= frame < int(s.get("end", plan.duration_frames)):
            return str(s.get("label", ""))
    return ""


def _classify(plan: Plan, orig: Shot | None, path: str, s_in: int, s_out: int, r_in: int,
              r_out: int) -> tuple[str, Shot | None]:
    """How a timeline clip relates to the plan: kept, trimmed, moved, swapped or added.

    ``orig`` is the shot the clip was exported as, when the format kept musync's metadata
    (.otio). Otherwise the clip is compared with the shot that filled the same place in the song
    (the one it overlaps most), or with an identical shot elsewhere.
    """
    if orig is None:
        exact = [s for s in plan.shots if s.source == path
                 and (s.source_in, s.source_out, s.record_in) == (s_in, s_out, r_in)]
        if exact:
            return "kept", exact[0]

        def overlap(s):
            return min(s.record_out, r_out) - max(s.record_in, r_in)

        here = sorted((s for s in plan.shots if overlap(s) > 0), key=lambda s: -overlap(s))
        if not here:
            return "added", None
        orig = here[0]
    if orig.source != path:
        return "swapped", orig
    if (orig.source_in, orig.source_out, orig.record_in, orig.record_out) == (s_in, s_out, r_in, r_out):
        return "kept", orig
    if (s_in, s_out) == (orig.source_in, orig.source_out):
        return "moved", orig  # same picture, another place in the song
    return "trimmed", orig  # cut moved, slipped or shortened
