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

import math
import os
import re
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio

from ...errors import ExportError
from ...timebase import parse_fps
from .._common import adapter, check_timecode_rate, plan_fps
from ..registry import TimelineFormat, register
from ..timeline import path_from_url

__all__ = ["write_edl", "read_edl", "own_frame", "plan_frame", "EDL", "EDL_ADAPTER",
           "SOURCE_RATE_CHOICES"]

#: The OTIO adapter this module writes and reads with.
EDL_ADAPTER = "cmx_3600"

_RT = otio.opentime.RationalTime
_TR = otio.opentime.TimeRange


def _edl_title(tl: otio.schema.Timeline) -> str:
    base = re.sub(r"[^ -~]", "_", tl.name or "musync")
    return (base[:40] + " (V1 ONLY, NO AUDIO)")[:70]


def write_edl(tl: otio.schema.Timeline, path, plan=None, *, edl_source_rate: str = "source") -> None:
    """CMX 3600 EDL of track V1, rate-correct timecode, with what it drops said in the file.

    ``edl_source_rate="source"`` (default) writes each event's source timecode at its clip's own
    rate (a 25 fps clip counts 00..24 frames), as Premiere Pro, Resolve and Media Composer match
    it against the clip's timecode; ``"record"`` writes every timecode at the edit's rate.
    """
    if edl_source_rate not in SOURCE_RATE_CHOICES:
        raise ExportError(f"edl_source_rate must be one of {', '.join(SOURCE_RATE_CHOICES)}, "
                          f"not {edl_source_rate!r}")
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
    if edl_source_rate == "source" and plan is not None:
        text = _sources_at_own_rate(text, plan)
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

#: Values of the writer's ``edl_source_rate`` option.
SOURCE_RATE_CHOICES = ("source", "record")

_EVENT_LINE = re.compile(r"^\s*\d{3,6}\s")
_MUSYNC_SRC = re.compile(r"^\*\s*MUSYNC SOURCE FRAME (\d+) AT (\d+)/(\d+), SOURCE TIMECODE AT ([\d.]+) FPS")


def _is_drop(rate: Fraction) -> bool:
    return rate.denominator == 1001 and rate.numerator % 30000 == 0


def _tc(frame: int, rate: Fraction) -> str:
    return otio.opentime.to_timecode(_RT(int(frame), float(rate)), float(rate), drop_frame=_is_drop(rate))


def _tc_frame(tc: str, rate: Fraction) -> int:
    return int(otio.opentime.from_timecode(tc.replace(",", ";").replace(".", ":"), float(rate)).value)


def own_frame(j: int, fps: Fraction, rate: Fraction) -> int:
    """The clip frame (at its own ``rate``) on screen for plan source frame ``j`` at ``fps``:
    the latest one that starts before ``(j + 1/2) / fps`` (the render's rule)."""
    return math.ceil((Fraction(j) + Fraction(1, 2)) * rate / fps) - 1


def plan_frame(k: int, fps: Fraction, rate: Fraction) -> int:
    """The first plan source frame at ``fps`` that shows clip frame ``k`` (or the next one)."""
    return math.floor(Fraction(k) * fps / rate - Fraction(1, 2)) + 1


def _source_rate(c, fps: Fraction) -> Fraction:
    if c is None or c.fps is None or c.vfr or c.is_still:
        return fps
    r = Fraction(c.fps)
    return r if otio.opentime.RationalTime.is_valid_timecode_rate(float(r)) else fps


def _blocks(lines: list[str]):
    """(event line index, end index) of every event block."""
    starts = [i for i, ln in enumerate(lines) if _EVENT_LINE.match(ln)]
    return [(i, starts[n + 1] if n + 1 < len(starts) else len(lines)) for n, i in enumerate(starts)]


def _block_clip(lines: list[str]) -> str:
    for ln in lines:
        t = ln.strip()
        if t.upper().startswith("* FROM CLIP:"):
            return path_from_url(t.split(":", 1)[1].strip())
    for ln in lines:
        t = ln.strip()
        if t.upper().startswith("* FROM CLIP NAME:"):
            return t.split(":", 1)[1].strip()
    return ""


def _with_source(line: str, tcs: list[str], src_in: str, src_out: str) -> str:
    """An event line with its source in/out timecodes (the first two of ``tcs``) replaced."""
    head, rest = line.split(tcs[0], 1)
    return f"{head}{src_in} {src_out}{rest.split(tcs[1], 1)[1]}"


def _sources_at_own_rate(text: str, plan) -> str:
    """Rewrite each event's source timecodes (and its locators) at its clip's own rate.

    The adapter wrote them at the plan's rate. Where a clip's rate differs, the source in/out
    become the clip frames on screen at the shot's first frame and just after its last, and one
    comment keeps the exact plan frame so musync reads its own EDL back to the frame.
    """
    fps = Fraction(plan.fps)
    by_path = {os.path.abspath(c.path): c for c in plan.clips}
    lines = text.splitlines()
    out = list(lines)
    inserts = []
    for i, end in _blocks(lines):
        path = _block_clip(lines[i + 1:end])
        c = by_path.get(os.path.abspath(path)) if path else None
        rate = _source_rate(c, fps)
        if rate == fps:
            continue
        tcs = _EVENT_TC.findall(lines[i])
        if len(tcs) != 4:
            continue
        j_in, j_out = _tc_frame(tcs[0], fps), _tc_frame(tcs[1], fps)
        out[i] = _with_source(lines[i], tcs, _tc(own_frame(j_in, fps, rate), rate),
                              _tc(own_frame(j_out, fps, rate), rate))
        for k in range(i + 1, end):
            m = _LOC.match(lines[k].strip())
            if m:
                out[k] = f"{m.group(1)}{_tc(own_frame(_tc_frame(m.group(2), fps), fps, rate), rate)}{m.group(3)}"
        rate_txt = f"{float(rate):.3f}".rstrip("0").rstrip(".")
        inserts.append((end, f"* MUSYNC SOURCE FRAME {j_in} AT {fps.numerator}/{fps.denominator}, "
                             f"SOURCE TIMECODE AT {rate_txt} FPS"))
    for at, line in sorted(inserts, reverse=True):
        out.insert(at, line)
    return "\n".join(out) + ("\n" if text.endswith("\n") else "")


def _sources_at_plan_rate(text: str, fps: Fraction, clip_rates: dict[str, Fraction]) -> str:
    """The reverse, before the adapter reads: every source timecode at the plan's rate.

    A clip's rate comes from ``clip_rates`` (file name -> rate). The source-in becomes the plan
    frame that shows that clip frame (the exact one from musync's comment when it still matches)
    and the source-out follows from the record duration, so the adapter sees no mismatch.
    """
    lines = text.splitlines()
    out = list(lines)
    for i, end in _blocks(lines):
        block = lines[i + 1:end]
        name = os.path.basename(_block_clip(block))
        rate = clip_rates.get(name)
        ours = [m for m in (_MUSYNC_SRC.match(ln.strip()) for ln in block) if m]
        if rate is None and ours:  # musync's own EDL read without the plan
            rate = parse_fps(ours[0].group(4))
        if rate is None or Fraction(rate) == fps:
            continue
        rate = Fraction(rate)
        tcs = _EVENT_TC.findall(lines[i])
        if len(tcs) != 4:
            continue
        k_in = _tc_frame(tcs[0], rate)
        j_in = plan_frame(k_in, fps, rate)
        for m in ours:
            if Fraction(int(m.group(2)), int(m.group(3))) == fps \
                    and own_frame(int(m.group(1)), fps, rate) == k_in:
                j_in = int(m.group(1))  # unchanged in the editor: the exact frame
        dur = _tc_frame(tcs[3], fps) - _tc_frame(tcs[2], fps)
        out[i] = _with_source(lines[i], tcs, _tc(j_in, fps), _tc(j_in + dur, fps))
        for k in range(i + 1, end):
            m = _LOC.match(lines[k].strip())
            if m:
                loc = j_in + plan_frame(_tc_frame(m.group(2), rate), fps, rate) - plan_frame(k_in, fps, rate)
                out[k] = f"{m.group(1)}{_tc(loc, fps)}{m.group(3)}"
    return "\n".join(out) + "\n"


def _edl_record_start(text: str, rate: float) -> int | None:
    """Record-in frame of the first event, counted from its hour (01:00:00:00 starts count 0)."""
    for line in text.splitlines():
        s = line.strip()
        if s[:1].isdigit():
            tcs = _EVENT_TC.findall(s)
            if len(tcs) >= 4:
                # the hour field dropped: an hour of timecode is 3600 x the nominal rate frames
                # in non-drop (86400 at 23.976, not 3600 s of frames) and 107892 in drop-frame
                tc = "00" + tcs[2].replace(",", ";")[2:]
                return int(otio.opentime.from_timecode(tc, rate).value)
    return None


def read_edl(path, *, fps=None, plan=None) -> otio.schema.Timeline:
    """Read an EDL at ``fps`` (an EDL carries no rate). With ``plan``, source timecodes are read
    at each clip's own rate (the clips are matched by file name)."""
    ad = adapter(EDL_ADAPTER, "read an EDL")
    if fps is None:
        raise ExportError(f"{path}: an EDL has no frame rate; read it with the plan it came from")
    fps = Fraction(fps)
    rate = float(fps)
    raw = Path(path).read_text(encoding="utf-8", errors="replace")
    rates = {os.path.basename(c.path): _source_rate(c, fps) for c in plan.clips} if plan else {}
    raw = _sources_at_plan_rate(raw, fps, rates)
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
    aliases=("cmx3600", "cmx"), options=("edl_source_rate",),
    defects=("cmx_3600 cannot read its own drop-frame locators: rewritten as non-drop before reading",
             "cmx_3600 rejects comments before the first event: dropped before reading",
             "cmx_3600 splits reel names with spaces: reels are written as letters and digits",
             "cmx_3600 starts the track at the first event: the gap before it is put back",
             "cmx_3600 writes and reads every timecode at one rate: source timecodes are "
             "rewritten at each clip's own rate after writing and back before reading")))
