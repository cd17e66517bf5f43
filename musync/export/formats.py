"""One writer and one reader per timeline format, each through an OpenTimelineIO adapter.

Public functions:

- :func:`write_otio`, :func:`write_otioz`, :func:`write_fcp7`, :func:`write_fcpxml`,
  :func:`write_edl` -- write a timeline built by :func:`musync.export.otio.build_timeline` to a
  path (the caller handles temporary names and overwriting).
- :func:`read_timeline` -- read a timeline file in any of these formats.

The adapters are named explicitly (two installed packages register ``.fcpxml``). Where an
adapter is wrong at some frame rates the workaround lives here, next to a note of the defect:

- ``fcpx_xml`` (otio-fcpx-xml-adapter 1.0) looks frame rates up in a table keyed by
  ``int(rate)`` and writes ``frameDuration=""`` (then crashes) at 23.976 and 29.97; it reads
  every time as ``int(seconds * int(rate))``, so NTSC rates come back as 23 or 29 fps and frames
  can be truncated by one. musync writes NTSC plans *conformed* to the integer rate (same frame
  numbers at 24/30/60 fps) and rescales every time in the file by 1001/1000 afterwards, so the
  file holds exact NTSC times (``frameDuration="1001/24000s"``). Reading does the reverse and
  adds half a frame to each time so the adapter's truncation rounds to the nearest frame. The
  writer also leaves ``name=""`` formats without a frame size, an empty project ``uid`` and one
  browser clip per timeline clip; musync gives the sequence its own format with the plan's size
  and drops the empty attributes and duplicates. The reader only knows FCPXML 1.8 asset
  ``src`` attributes, counts each clip in its asset's frames and ignores the project's start
  timecode; before reading, musync copies ``<media-rep src>`` to ``src``, gives every format
  the sequence's frame duration and moves the spine to start at 0.
- ``fcp_xml`` (otio-fcp-adapter 1.0) is exact at every rate tested (timebase + ``ntsc`` flag),
  but leaves the sequence ``<format>`` empty (no frame size) and declares an audio stream in
  every video file; musync adds the plan's frame size and removes the audio stream of silent
  clips.
- ``cmx_3600`` (otio-cmx3600-adapter 1.0) writes drop-frame timecode at 29.97/59.94 but cannot
  read its own drop-frame locators (``* LOC: 00:00:01;02``: the marker is silently lost) and
  rejects any comment before the first event; it keeps spaces in reel names, which its reader
  then cannot split. musync writes reel names of letters and digits only, adds an ``FCM:`` line and says in the title
  and the first event's comments what the EDL leaves out; reading rewrites drop-frame locator
  timecodes to the same frame in non-drop form and drops header comments first. The reader
  also starts the track at the first event whatever its record timecode; musync puts back the
  gap before it (counting from the hour, so 01:00:00:00 starts count as 0).
"""

from __future__ import annotations

import io
import os
import re
import xml.etree.ElementTree as ET
from contextlib import contextmanager, redirect_stdout
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio

from ..errors import ExportError
from .otio import NAMESPACE, path_from_url

__all__ = ["write_otio", "write_otioz", "write_fcp7", "write_fcpxml", "write_edl", "read_timeline",
           "FCPXML_ADAPTER", "FCP7_ADAPTER", "EDL_ADAPTER", "conform_factor", "retime"]

#: OTIO adapter names used for each format (named explicitly; never chosen by suffix).
FCPXML_ADAPTER = "fcpx_xml"
FCP7_ADAPTER = "fcp_xml"
EDL_ADAPTER = "cmx_3600"

_RT = otio.opentime.RationalTime
_TR = otio.opentime.TimeRange


def _adapter(name: str, what: str):
    try:
        return otio.adapters.from_name(name)
    except Exception as exc:  # not installed
        pkg = {FCPXML_ADAPTER: "otio-fcpx-xml-adapter", FCP7_ADAPTER: "otio-fcp-adapter",
               EDL_ADAPTER: "otio-cmx3600-adapter"}.get(name, name)
        raise ExportError(f"cannot {what}: the OpenTimelineIO adapter {name!r} is missing "
                          f"({exc}); install it with `pip install {pkg}`") from None


# ---------------------------------------------------------------------------------------------
# Rates


def _exact_rate(rate: float) -> Fraction:
    """The fraction a float OTIO rate stands for (23.976023976... -> 24000/1001)."""
    return Fraction(rate).limit_denominator(1001 * 1000)


def conform_factor(fps) -> Fraction:
    """How much an NTSC rate is sped up to reach its integer rate (1001/1000), else 1."""
    f = Fraction(fps)
    return Fraction(1001, 1000) if f.denominator == 1001 and (f * Fraction(1001, 1000)).denominator == 1 \
        else Fraction(1)


def _scale_rt(t, k: Fraction):
    return _RT(t.value, float(_exact_rate(t.rate) * k))


def _scale_tr(r, k: Fraction):
    return _TR(_scale_rt(r.start_time, k), _scale_rt(r.duration, k))


def retime(tl: otio.schema.Timeline, k: Fraction) -> otio.schema.Timeline:
    """A copy of ``tl`` with every rate multiplied by ``k`` and every frame value unchanged."""
    out = tl.deepcopy()
    if k == 1:
        return out
    if out.global_start_time is not None:
        out.global_start_time = _scale_rt(out.global_start_time, k)
    objs = [out.tracks, *out.tracks.find_children()]
    for o in objs:
        sr = getattr(o, "source_range", None)
        if sr is not None:
            o.source_range = _scale_tr(sr, k)
        for m in getattr(o, "markers", []):
            m.marked_range = _scale_tr(m.marked_range, k)
        if isinstance(o, otio.schema.Transition):
            o.in_offset = _scale_rt(o.in_offset, k)
            o.out_offset = _scale_rt(o.out_offset, k)
        ref = getattr(o, "media_reference", None)
        if ref is not None and ref.available_range is not None:
            ref.available_range = _scale_tr(ref.available_range, k)
    return out


def _plan_fps(tl: otio.schema.Timeline) -> Fraction:
    meta = tl.metadata.get(NAMESPACE, {})
    if "fps" in meta:
        return Fraction(str(meta["fps"]))
    return _exact_rate(tl.global_start_time.rate if tl.global_start_time is not None
                       else tl.duration().rate)


# ---------------------------------------------------------------------------------------------
# .otio / .otioz


def write_otio(tl: otio.schema.Timeline, path, plan=None) -> None:
    """Native OpenTimelineIO JSON: everything survives (markers, metadata, both tracks)."""
    otio.adapters.write_to_file(tl, str(path), adapter_name="otio_json")


def write_otioz(tl: otio.schema.Timeline, path, plan=None) -> None:
    """An ``.otioz`` bundle: the ``.otio`` plus every source clip and the song under ``media/``."""
    names: dict[str, str] = {}
    for c in tl.find_clips():
        url = getattr(c.media_reference, "target_url", "")
        p = path_from_url(url)
        b = os.path.basename(p)
        if b in names and names[b] != p:
            raise ExportError(f"cannot bundle {names[b]} and {p}: an .otioz holds media by file "
                              f"name and both are called {b!r}; rename one, or export .otio")
        if not os.path.isfile(p):
            raise ExportError(f"cannot bundle {p}: file not found; relink or export .otio")
        names[b] = p
    Path(path).unlink(missing_ok=True)  # the adapter refuses to replace a file
    otio.adapters.write_to_file(tl, str(path), adapter_name="otioz")


# ---------------------------------------------------------------------------------------------
# FCP7 XML (Premiere, Resolve)


def _xml_text(root: ET.Element, doctype: str) -> str:
    ET.indent(root, space="    ")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + f"<!DOCTYPE {doctype}>\n"
            + ET.tostring(root, encoding="unicode") + "\n")


def _fcp7_fixups(text: str, plan) -> str:
    root = ET.fromstring(text)
    if plan is not None:
        w, h = plan.size
        for fmt in root.iterfind(".//sequence/media/video/format"):
            if fmt.find("samplecharacteristics") is None:
                sc = ET.SubElement(fmt, "samplecharacteristics")
                seq_rate = root.find(".//sequence/rate")
                if seq_rate is not None:
                    sc.append(ET.fromstring(ET.tostring(seq_rate)))
                ET.SubElement(sc, "width").text = str(int(w))
                ET.SubElement(sc, "height").text = str(int(h))
                ET.SubElement(sc, "pixelaspectratio").text = "square"
                ET.SubElement(sc, "fielddominance").text = "none"
        silent = {os.path.abspath(c.path) for c in plan.clips if not c.has_audio}
        for f in root.iter("file"):
            url = f.findtext("pathurl")
            media = f.find("media")
            if not url or media is None:
                continue
            p = os.path.abspath(path_from_url(url))
            a = media.find("audio")
            if p in silent and a is not None and media.find("video") is not None:
                media.remove(a)
    return _xml_text(root, "xmeml")


def _check_timecode_rate(tl: otio.schema.Timeline, what: str) -> None:
    fps = _plan_fps(tl)
    if not otio.opentime.RationalTime.is_valid_timecode_rate(float(fps)):
        raise ExportError(f"{what} needs a SMPTE timecode rate (23.976, 24, 25, 29.97, 30, 50, "
                          f"59.94, 60 ...); this plan runs at {fps} fps. Re-plan with --fps 25 "
                          "(or another timecode rate), or export .otio")


def write_fcp7(tl: otio.schema.Timeline, path, plan=None) -> None:
    """FCP7 XML (``xmeml`` version 4) for Premiere Pro and DaVinci Resolve."""
    ad = _adapter(FCP7_ADAPTER, "write FCP7 XML")
    _check_timecode_rate(tl, "FCP7 XML")
    text = ad.write_to_string(tl)
    Path(path).write_text(_fcp7_fixups(text, plan), encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# FCPXML (Final Cut Pro)

#: FCPXML attributes that hold times (rational seconds such as ``1001/24000s``).
FCPX_TIME_ATTRS = ("offset", "duration", "start", "tcStart", "frameDuration", "audioStart",
                   "audioDuration")
_FCPX_TIME = re.compile(r"^(-?\d+)(?:/(\d+))?s$")


def _parse_fcpx_time(s: str) -> Fraction | None:
    m = _FCPX_TIME.match(s.strip())
    if not m:
        return None
    return Fraction(int(m.group(1)), int(m.group(2) or 1))


def _fcpx_time(t: Fraction) -> str:
    if t.denominator == 1:
        return f"{t.numerator}s"
    return f"{t.numerator}/{t.denominator}s"


def _scale_fcpx_times(root: ET.Element, k: Fraction, *, nudge: Fraction = Fraction(0)) -> None:
    """Multiply every time attribute by ``k`` (and add ``nudge`` to offsets and durations)."""
    for el in root.iter():
        for a in FCPX_TIME_ATTRS:
            v = el.get(a)
            if v is None:
                continue
            t = _parse_fcpx_time(v)
            if t is None:
                continue
            t = t * k
            if nudge and t > 0 and a in ("offset", "duration", "start", "audioStart", "audioDuration"):
                t += nudge
            el.set(a, _fcpx_time(t))


@contextmanager
def _fcpx_rate_table(rates):
    """Let otio-fcpx-xml-adapter write integer rates missing from its table (15, 48, 120 ...)."""
    # the plugin system loads its own copy of the adapter module: patch that one
    table = otio.adapters.from_name(FCPXML_ADAPTER).module().FRAMERATE_FRAMEDURATION
    added = []
    for r in rates:
        r = int(r)
        if r not in table:
            table[r] = f"1/{r}s"
            added.append(r)
    try:
        yield
    finally:
        for r in added:
            table.pop(r, None)


def _fcpx_fixups(text: str, k: Fraction, plan) -> str:
    root = ET.fromstring(text)
    _scale_fcpx_times(root, k)  # also writes every time as a reduced fraction
    for el in root.iter():
        for a in ("uid", "name"):
            if el.get(a) == "" and el.tag in ("project", "format"):
                del el.attrib[a]
    # one browser clip per asset (the adapter adds one per timeline clip)
    seen = set()
    for el in list(root.findall("asset-clip")):
        if el.get("ref") in seen:
            root.remove(el)
        seen.add(el.get("ref"))
    res = root.find("resources")
    if res is not None and plan is not None:
        ids = {e.get("id") for e in res}
        n = 1
        while f"r{n}" in ids:
            n += 1
        for seq in root.iter("sequence"):
            old = res.find(f"format[@id='{seq.get('format')}']")
            if old is None:
                continue
            fmt = ET.Element("format", {"id": f"r{n}", "frameDuration": old.get("frameDuration", ""),
                                        "width": str(plan.size[0]), "height": str(plan.size[1])})
            res.insert(0, fmt)
            seq.set("format", f"r{n}")
            seq.set("tcStart", "0s")
            seq.set("tcFormat", "NDF")
            n += 1
    return _xml_text(root, "fcpxml")


def write_fcpxml(tl: otio.schema.Timeline, path, plan=None) -> None:
    """FCPXML 1.8 for Final Cut Pro, through ``otio-fcpx-xml-adapter`` with the NTSC workaround."""
    ad = _adapter(FCPXML_ADAPTER, "write FCPXML")
    fps = _plan_fps(tl)
    k = conform_factor(fps)
    tl2 = retime(tl, k)
    rates = {float(_exact_rate(c.source_range.start_time.rate))
             for c in tl2.find_children(descended_from_type=otio.core.Item) if c.source_range}
    rates.add(float(fps * k))
    bad = [r for r in rates if Fraction(r).denominator != 1]
    if bad:
        raise ExportError(f"FCPXML export supports integer and NTSC (x/1001) frame rates; this plan "
                          f"runs at {fps} fps. Re-plan at 24, 25, 30 or an NTSC rate, or export .xml")
    try:
        with _fcpx_rate_table(rates):
            text = ad.write_to_string(tl2)
    except ExportError:
        raise
    except Exception as exc:
        raise ExportError(f"the FCPXML adapter failed: {type(exc).__name__}: {exc}") from None
    # the adapter wrote conformed times (frames at the integer rate): scale them to real time
    Path(path).write_text(_fcpx_fixups(text, k, plan), encoding="utf-8")


def _fcpxml_sequence_rate(root: ET.Element) -> Fraction | None:
    seq = root.find(".//sequence")
    if seq is None:
        return None
    fmt = root.find(f"./resources/format[@id='{seq.get('format')}']")
    if fmt is None or not fmt.get("frameDuration"):
        return None
    fd = _parse_fcpx_time(fmt.get("frameDuration"))
    return 1 / fd if fd else None


def _normalize_fcpxml_for_adapter(root: ET.Element) -> Fraction:
    """Make an FCPXML safe for ``fcpx_xml``'s reader; return the conform factor used.

    - assets written as FCPXML 1.9+ (``<media-rep src=...>``) get the 1.8 ``src`` it reads;
    - every ``format`` gets the sequence's frame duration, so every time is read in sequence
      frames (the reader would otherwise count a 30 fps asset's clip in 30 fps frames);
    - the sequence's spine is moved to start at 0 (``tcStart`` is ignored by the reader);
    - NTSC times are conformed to the integer rate (the reader truncates the rate to an int);
    - offsets, durations and starts get half a frame added, so the reader's truncation rounds.
    """
    fps = _fcpxml_sequence_rate(root)
    if fps is None:
        raise ExportError("no sequence with a frame rate in this FCPXML")
    seq = root.find(".//sequence")
    for asset in root.iter("asset"):  # FCPXML 1.9+ keeps the file in <media-rep src>
        rep = asset.find("media-rep")
        if not asset.get("src") and rep is not None and rep.get("src"):
            asset.set("src", rep.get("src"))
    fd = _fcpx_time(1 / fps)
    for fmt in root.iter("format"):
        fmt.set("frameDuration", fd)
    tc0 = _parse_fcpx_time(seq.get("tcStart", "0s")) or Fraction(0)
    if tc0:
        for el in seq.findall("spine/*"):
            t = _parse_fcpx_time(el.get("offset", "0s"))
            if t is not None:
                el.set("offset", _fcpx_time(t - tc0))
        seq.set("tcStart", "0s")
    k = conform_factor(fps)
    _scale_fcpx_times(root, 1 / k, nudge=1 / (2 * fps * k))
    return k


def _read_fcpxml(path) -> otio.schema.Timeline:
    ad = _adapter(FCPXML_ADAPTER, "read FCPXML")
    root = ET.fromstring(Path(path).read_bytes())
    try:
        k = _normalize_fcpxml_for_adapter(root)
    except ExportError as exc:
        raise ExportError(f"{path}: {exc}") from None
    result = ad.read_from_string(ET.tostring(root, encoding="unicode"))
    return _first_timeline(result, k)


def _first_timeline(result, k: Fraction = Fraction(1)):
    if isinstance(result, otio.schema.SerializableCollection):
        tls = [t for t in result.find_children(descended_from_type=otio.schema.Timeline)]
        if not tls:
            raise ExportError("no timeline (project/sequence) in the file")
        result = tls[0]
    return retime(result, 1 / k) if k != 1 else result


# ---------------------------------------------------------------------------------------------
# CMX 3600 EDL


def _edl_title(tl: otio.schema.Timeline) -> str:
    base = re.sub(r"[^ -~]", "_", tl.name or "musync")
    return (base[:40] + " (V1 ONLY, NO AUDIO)")[:70]


def write_edl(tl: otio.schema.Timeline, path, plan=None) -> None:
    """CMX 3600 EDL of track V1, rate-correct timecode, with what it drops said in the file."""
    ad = _adapter(EDL_ADAPTER, "write an EDL")
    _check_timecode_rate(tl, "An EDL")
    fps = _plan_fps(tl)
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


def _read_edl(path, fps) -> otio.schema.Timeline:
    ad = _adapter(EDL_ADAPTER, "read an EDL")
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


# ---------------------------------------------------------------------------------------------
# Reading


def read_timeline(path, format: str, *, fps=None) -> otio.schema.Timeline:
    """Read a timeline file with the adapter for ``format``.

    Parameters
    ----------
    path : str or Path
    format : {"otio", "otioz", "xml", "fcpxml", "edl"}
    fps : Fraction, optional
        The edit's rate; required for EDLs (they carry none).

    Returns
    -------
    opentimelineio.schema.Timeline
        The first timeline in the file, with times at the file's own rate (NTSC FCPXML comes
        back at the exact NTSC rate).
    """
    p = str(path)
    quiet = io.StringIO()
    try:
        with redirect_stdout(quiet):  # some adapters print progress
            if format == "otio":
                res = otio.adapters.read_from_file(p, adapter_name="otio_json")
            elif format == "otioz":
                res = otio.adapters.read_from_file(p, adapter_name="otioz")
            elif format == "xml":
                res = _adapter(FCP7_ADAPTER, "read FCP7 XML").read_from_file(p)
            elif format == "fcpxml":
                return _read_fcpxml(p)
            elif format == "edl":
                return _read_edl(p, fps)
            else:
                raise ExportError(f"unknown timeline format {format!r}")
    except ExportError:
        raise
    except Exception as exc:
        raise ExportError(f"{p}: cannot read it as {format} ({type(exc).__name__}: {exc}); is it "
                          "the right file and format?") from None
    return _first_timeline(res)
