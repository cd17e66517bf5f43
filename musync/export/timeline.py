"""A plan as an OpenTimelineIO timeline: the data every format module writes from.

Public functions:

- :func:`build_timeline` -- the plan as an ``opentimelineio.schema.Timeline``: track ``V1`` holds
  the shots (one clip per shot, with an ``ExternalReference`` to the source and a marker at its
  cut), track ``A1`` the song; beats, bars, sections and the climax are markers on the timeline.
- :func:`timeline_markers` -- the plan's beats, bars, sections and climax as OTIO markers.
- :func:`frames`, :func:`rt`, :func:`url_from_path`, :func:`path_from_url` -- time and path
  conversions.

Times are integer frames at the plan's rate. OpenTimelineIO stores a rate as a double, so a plan
at 30000/1001 fps is written at ``float(Fraction(30000, 1001))`` (the rate OpenTimelineIO itself
uses for 29.97) and the exact fraction is kept in the timeline's ``metadata["musync"]["fps"]``.
Frame values are always whole numbers; reading converts with :func:`frames`, which rounds once.
"""

from __future__ import annotations

import math
import os
import re
from fractions import Fraction
from pathlib import Path
from urllib.parse import unquote, urlparse

import opentimelineio as otio

from .._version import __version__
from ..errors import PlanError
from ..timebase import to_frame, window_frames
from ..types import Plan, PlanClip, Shot

__all__ = ["build_timeline", "timeline_markers", "frames", "rt", "exact_rate",
           "path_from_url", "url_from_path", "NAMESPACE", "CUT_MARKER_COLOR"]

#: Metadata namespace for everything musync stores on OTIO objects.
NAMESPACE = "musync"

#: Marker colours (OTIO ``MarkerColor`` names) by marker kind.
MARKER_COLORS = {"beat": "CYAN", "downbeat": "RED", "section": "GREEN", "climax": "MAGENTA",
                 "cut": "BLUE", "note": "YELLOW"}
CUT_MARKER_COLOR = MARKER_COLORS["cut"]
_OTIO_COLORS = {"PINK", "RED", "ORANGE", "YELLOW", "GREEN", "CYAN", "BLUE", "PURPLE", "MAGENTA",
                "BLACK", "WHITE"}

_RT = otio.opentime.RationalTime
_TR = otio.opentime.TimeRange


def rt(frame: int, fps) -> otio.opentime.RationalTime:
    """``frame`` at the rate ``fps`` (a Fraction) as an OTIO RationalTime."""
    return _RT(int(frame), float(Fraction(fps)))


def exact_rate(rate: float) -> Fraction:
    """The fraction a float OTIO rate stands for (23.976023976... -> 24000/1001)."""
    return Fraction(rate).limit_denominator(1001 * 1000)


def frames(t: otio.opentime.RationalTime, fps) -> int:
    """An OTIO time as a whole number of frames at ``fps``: the nearest frame, by
    :func:`musync.timebase.to_frame` on the exact time ``value / rate``."""
    if not t.rate:
        return to_frame(Fraction(t.value), Fraction(1))
    return to_frame(Fraction(t.value) / exact_rate(t.rate), Fraction(fps))


def url_from_path(path) -> str:
    """Absolute, percent-encoded ``file://`` URL of a local path (spaces, ``#``, non-ASCII).

    ``opentimelineio.url_utils.url_from_filepath`` leaves spaces and ``#`` unencoded, which
    editors and its own reader then misread; :meth:`pathlib.Path.as_uri` encodes them.
    """
    return Path(os.path.abspath(os.fspath(path))).as_uri()


def path_from_url(url: str) -> str:
    """Local path of a ``file://`` URL (decoded once); other strings come back unchanged.

    Accepts ``file:///a/b``, ``file://localhost/a/b`` (Premiere) and ``file:///C:/a`` (Windows).
    """
    if not url or not url.lower().startswith("file:"):
        return url or ""
    parts = urlparse(url)
    path = unquote(parts.path)
    if parts.netloc and parts.netloc.lower() != "localhost":
        path = f"//{parts.netloc}{path}"  # a network share
    if re.match(r"^/[A-Za-z]:[/\\]", path):
        path = path[1:]
    return path


def _clip_rate(c: PlanClip | None, fps: Fraction) -> Fraction:
    """The rate a source's available range is written at: its own when constant, else the plan's."""
    if c is None or c.fps is None or c.vfr or c.is_still:
        return fps
    return Fraction(c.fps)


def _available_range(c: PlanClip | None, fps: Fraction, needed: int) -> otio.opentime.TimeRange:
    """The decodable range of a source, from 0 (its first decodable frame)."""
    rate = _clip_rate(c, fps)
    if c is None or c.is_still or not math.isfinite(c.duration):
        n_plan = needed
        n = int(math.ceil(Fraction(n_plan) * rate / fps))
    else:
        n = window_frames(0.0, c.duration, rate)[1]  # the whole frames inside the clip
        # never shorter than what the plan uses (a float window may end a hair past the count)
        n = max(n, int(math.ceil(Fraction(needed) * rate / fps)))
    return _TR(_RT(0, float(rate)), _RT(n, float(rate)))


def _marker(name: str, start: int, fps, *, duration: int = 0, kind: str, **meta) -> otio.schema.Marker:
    m = otio.schema.Marker(name=name, marked_range=_TR(rt(start, fps), rt(duration, fps)),
                           color=MARKER_COLORS[kind])
    m.metadata[NAMESPACE] = {"kind": kind, **meta}
    return m


def _cut_marker_name(s: Shot) -> str:
    why = " ".join(s.reason.split())
    return f"shot {s.index}" + (f": {why}" if why else "")


def timeline_markers(plan: Plan) -> list[otio.schema.Marker]:
    """Beats, bars (downbeats), sections and the climax as OTIO markers at the plan's rate.

    One marker per beat frame (named ``bar N`` on a downbeat, ``beat`` otherwise), one range
    marker per section (``"A chorus"``), one ``climax`` marker, and one per note an import kept
    (``markers["notes"]``: the editor's own markers, with their name and colour).
    """
    fps = plan.fps
    mk = plan.markers or {}
    n = plan.duration_frames
    out: list[otio.schema.Marker] = []
    downs = sorted({int(f) for f in mk.get("downbeats", []) if 0 <= int(f) < n})
    bar_of = {f: i + 1 for i, f in enumerate(downs)}
    beats = sorted({int(f) for f in mk.get("beats", []) if 0 <= int(f) < n} | set(downs))
    for f in beats:
        if f in bar_of:
            out.append(_marker(f"bar {bar_of[f]}", f, fps, kind="downbeat", bar=bar_of[f]))
        else:
            out.append(_marker("beat", f, fps, kind="beat"))
    for s in mk.get("sections", []) or []:
        start = int(s.get("frame", 0))
        end = int(s.get("end", n))
        start, end = max(0, start), min(n, end)
        if end <= start:
            continue
        label = str(s.get("label", ""))
        kind = str(s.get("kind", ""))
        name = " ".join(x for x in (label, kind) if x) or "section"
        out.append(_marker(name, start, fps, duration=end - start, kind="section", label=label,
                           section_kind=kind))
    climax = mk.get("climax")
    if climax is not None and 0 <= int(climax) < n:
        out.append(_marker("climax", int(climax), fps, kind="climax"))
    for note in mk.get("notes", []) or []:  # the editor's own markers, kept by an import
        f = int(note.get("frame", -1))
        if 0 <= f < n:
            m = _marker(str(note.get("name", "note")), f, fps, kind="note",
                        duration=max(0, min(int(note.get("duration", 0)), n - f)))
            color = str(note.get("color", "") or "")
            if color.upper() in _OTIO_COLORS:
                m.color = color.upper()
            out.append(m)
    out.sort(key=lambda m: (m.marked_range.start_time.value, m.name))
    return out


def build_timeline(plan: Plan, *, name: str | None = None) -> otio.schema.Timeline:
    """The plan as an OpenTimelineIO timeline.

    Parameters
    ----------
    plan : Plan
    name : str, optional
        Timeline name (default: ``"musync - <song file stem>"``).

    Returns
    -------
    opentimelineio.schema.Timeline
        Tracks ``V1`` (video: one clip per shot, named after its file, with an
        ``ExternalReference`` holding the absolute ``file://`` URL and the decodable range from
        frame 0, ``source_range`` at the plan's rate, one marker at the cut and the shot's
        ``reason``, ``section``, ``energy`` and ``scores`` in ``metadata["musync"]``) and ``A1``
        (audio: the song from frame 0 to ``duration_frames``). Beat, bar, section and climax
        markers sit on the timeline's stack (``timeline.tracks.markers``), in timeline frames.

    Examples
    --------
    >>> tl = build_timeline(plan)                                     # doctest: +SKIP
    >>> [c.source_range.duration.value for c in tl.video_tracks()[0]]  # doctest: +SKIP
    [48, 24, 96]
    """
    fps = Fraction(plan.fps)
    if fps <= 0:
        raise PlanError(f"plan fps must be positive, not {plan.fps}")
    if not plan.shots:
        raise PlanError("the plan has no shots; nothing to export")
    song = Path(plan.audio.path)
    tl = otio.schema.Timeline(name=name or f"musync - {song.stem}", global_start_time=rt(0, fps))
    tl.metadata[NAMESPACE] = {
        "fps": f"{fps.numerator}/{fps.denominator}",
        "duration_frames": int(plan.duration_frames),
        "size": list(plan.size),
        "aspect": plan.aspect,
        "audio": {"path": plan.audio.path, "sha256": plan.audio.sha256},
        "plan_version": int(plan.version),
        "musync_version": __version__,
    }
    video = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    audio = otio.schema.Track(name="A1", kind=otio.schema.TrackKind.Audio)
    tl.tracks.append(video)
    tl.tracks.append(audio)

    used: dict[str, int] = {}
    for s in plan.shots:
        used[s.source] = max(used.get(s.source, 0), s.source_out)
    cursor = 0
    for s in plan.shots:
        if s.record_in > cursor:  # a plan that does not tile (not validated): keep positions
            video.append(otio.schema.Gap(source_range=_TR(rt(0, fps), rt(s.record_in - cursor, fps))))
        c = plan.clip(s.source)
        ref = otio.schema.ExternalReference(target_url=url_from_path(s.source),
                                            available_range=_available_range(c, fps, used[s.source]))
        ref.name = os.path.basename(s.source)
        clip = otio.schema.Clip(name=os.path.basename(s.source), media_reference=ref,
                                source_range=_TR(rt(s.source_in, fps), rt(s.length, fps)))
        clip.metadata[NAMESPACE] = {
            "shot": s.index, "source": s.source, "source_in": s.source_in,
            "source_out": s.source_out, "record_in": s.record_in, "record_out": s.record_out,
            "locked": bool(s.locked), "reason": s.reason, "section": s.section,
            "energy": s.energy, "scores": dict(s.scores),
            **({"crop": s.crop.to_dict()} if s.crop is not None else {}),
        }
        clip.markers.append(_marker(_cut_marker_name(s), s.source_in, fps, kind="cut",
                                    shot=s.index, record_frame=s.record_in))
        video.append(clip)
        cursor = s.record_out

    n_song = int(plan.duration_frames)
    song_avail = n_song
    if plan.audio.duration and plan.audio.duration > 0:
        song_avail = max(n_song, window_frames(0.0, plan.audio.duration, fps)[1])
    sref = otio.schema.ExternalReference(target_url=url_from_path(song),
                                         available_range=_TR(rt(0, fps), rt(song_avail, fps)))
    sref.name = song.name
    sclip = otio.schema.Clip(name=song.name, media_reference=sref,
                             source_range=_TR(rt(0, fps), rt(n_song, fps)))
    sclip.metadata[NAMESPACE] = {"song": True, "sha256": plan.audio.sha256}
    audio.append(sclip)

    tl.tracks.markers.extend(timeline_markers(plan))
    return tl
