"""CMX 3600 EDL, the lowest common denominator: V1 only.

Written and read through ``otio-cmx3600-adapter`` (adapter ``cmx_3600``). Its defects, worked
around here: it writes drop-frame timecode at 29.97/59.94 but cannot read its own drop-frame
locators (``* LOC: 00:00:01;02``: the marker is silently lost) and rejects any comment before the
first event; it keeps spaces in reel names, which its reader then cannot split. musync writes
reel names of letters and digits only, adds an ``FCM:`` line and says in the title and the first
event's comments what the EDL leaves out; reading rewrites drop-frame locator timecodes to the
same frame in non-drop form and drops header comments first. The reader also starts the track at
the first event whatever its record timecode; musync puts back the gap before it (counting from
the hour, so 01:00:00:00 starts count as 0).
"""

from __future__ import annotations

import os
import re
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio

from ...errors import ExportError
from .._common import adapter, check_timecode_rate, plan_fps
from ..registry import TimelineFormat, register
from ..timeline import path_from_url

__all__ = ["write_edl", "read_edl", "EDL", "EDL_ADAPTER"]

#: The OTIO adapter this module writes and reads with.
EDL_ADAPTER = "cmx_3600"

_RT = otio.opentime.RationalTime
_TR = otio.opentime.TimeRange


def _edl_title(tl: otio.schema.Timeline) -> str:
    base = re.sub(r"[^ -~]", "_", tl.name or "musync")
    return (base[:40] + " (V1 ONLY, NO AUDIO)")[:70]


def write_edl(tl: otio.schema.Timeline, path, plan=None) -> None:
    """CMX 3600 EDL of track V1, rate-correct timecode, with what it drops said in the file."""
    ad = adapter(EDL_ADAPTER, "write an EDL")
    check_timecode_rate(tl, "An EDL")
    fps = plan_fps(tl)
    rate = float(fps)
    drop = fps.denominator == 1001 and fps.numerator % 30000 == 0  # 29.97, 59.94: DF timecode
    tl2 = tl.deepcopy()  # the adapter writes the first video track only
    tl2.name = _edl_title(tl)
    song = [c for t in tl2.audio_tracks() for c in t.find_clips()]
    song_name = song[0].name if song else "the song"
    fps_txt = f"{float(fps):.3f}".rstrip("0").rstrip(".")
    notes = [
        f"MUSYNC EDIT AT {fps_txt} FPS ({fps.numerator}/{fps.denominator}), "
        f"{'DROP' if drop else 'NON-DROP'} FRAME TIMECODE",
        f"NOT IN THIS EDL: AUDIO TRACK A1 ({song_name}) AND THE BEAT, BAR, SECTION AND CLIMAX MARKERS",
        "USE THE .OTIO OR .XML EXPORT TO KEEP THEM, OR PUT THE SONG AT 00:00:00:00 ON A1",
    ]
    for c in tl2.find_clips():
        # the adapter keeps spaces in reel names, and its reader then splits the event line
        stem = os.path.splitext(os.path.basename(path_from_url(getattr(c.media_reference, "target_url", "")
                                                                or c.name or "")))[0]
        md = dict(c.metadata.get("cmx_3600", {}) or {})
        md["reel"] = re.sub(r"[^A-Za-z0-9]", "", stem)[:8].upper() or "AX"
        c.metadata["cmx_3600"] = md
    first = next(iter(tl2.video_tracks()[0].find_clips()), None) if tl2.video_tracks() else None
    if first is not None:
        md = dict(first.metadata.get("cmx_3600", {}) or {})
        md["comments"] = list(md.get("comments", [])) + notes
        first.metadata["cmx_3600"] = md
    try:
        text = ad.write_to_string(tl2, rate=rate, style="avid")
    except Exception as exc:
        raise ExportError(f"the EDL adapter failed: {type(exc).__name__}: {exc}") from None
    fcm = "FCM: DROP FRAME" if drop else "FCM: NON-DROP FRAME"
    lines = text.splitlines()
    if lines and lines[0].startswith("TITLE:"):
        lines.insert(1, fcm)
    else:
        lines.insert(0, fcm)
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


_LOC = re.compile(r"^(\*\s*LOC:\s*)(\d\d:\d\d:\d\d[;:.,]\d\d)(.*)$")


def _edl_for_adapter(text: str, rate: float) -> str:
    """Drop header comments; rewrite drop-frame locators as the same frame in non-drop form."""
    out = []
    seen_event = False
    for line in text.splitlines():
        s = line.strip()
        if not s:
            out.append(line)
            continue
        if s[0].isdigit():
            seen_event = True
        elif not seen_event and not (s.startswith("TITLE:") or s.startswith("FCM")):
            continue  # comments before the first event: the adapter rejects them
        m = _LOC.match(s)
        if m and (";" in m.group(2) or "," in m.group(2)):
            f = otio.opentime.from_timecode(m.group(2).replace(",", ";"), rate)
            tc = otio.opentime.to_timecode(f, rate, drop_frame=False)
            line = f"{m.group(1)}{tc}{m.group(3)}"
        out.append(line)
    return "\n".join(out) + "\n"


_EVENT_TC = re.compile(r"(\d\d:\d\d:\d\d[:;.,]\d\d)")


def _edl_record_start(text: str, rate: float) -> int | None:
    """Record-in frame of the first event, counted from its hour (01:00:00:00 starts count 0)."""
    for line in text.splitlines():
        s = line.strip()
        if s[:1].isdigit():
            tcs = _EVENT_TC.findall(s)
            if len(tcs) >= 4:
                f = int(otio.opentime.from_timecode(tcs[2].replace(",", ";"), rate).value)
                hour = int(round(3600 * rate))
                return f % hour
    return None


def read_edl(path, *, fps=None) -> otio.schema.Timeline:
    ad = adapter(EDL_ADAPTER, "read an EDL")
    if fps is None:
        raise ExportError(f"{path}: an EDL has no frame rate; read it with the plan it came from")
    rate = float(Fraction(fps))
    raw = Path(path).read_text(encoding="utf-8", errors="replace")
    text = _edl_for_adapter(raw, rate)
    try:
        tl = ad.read_from_string(text, rate=rate)
    except Exception:
        tl = ad.read_from_string(text, rate=rate, ignore_timecode_mismatch=True)
    # the adapter starts the track at the first event: put back a gap before it
    first = _edl_record_start(raw, rate)
    if first and tl.video_tracks():
        gap = otio.schema.Gap(source_range=_TR(_RT(0, rate), _RT(first, rate)))
        tl.video_tracks()[0].insert(0, gap)
    return tl


EDL = register(TimelineFormat(
    name="edl", suffixes=(".edl",),
    summary="CMX 3600 (any editor): V1 only, clip markers as LOC comments",
    editors=("Premiere Pro", "DaVinci Resolve", "Avid Media Composer"),
    audience="any editor, picture only",
    write=write_edl, read=read_edl, markers=frozenset({"cut"}), audio=False, metadata=False,
    aliases=("cmx3600", "cmx"),
    defects=("cmx_3600 cannot read its own drop-frame locators: rewritten as non-drop before reading",
             "cmx_3600 rejects comments before the first event: dropped before reading",
             "cmx_3600 splits reel names with spaces: reels are written as letters and digits",
             "cmx_3600 starts the track at the first event: the gap before it is put back")))
