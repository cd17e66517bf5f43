"""FCPXML, for Final Cut Pro.

Written and read through ``otio-fcpx-xml-adapter`` (adapter ``fcpx_xml``). Its defects, worked
around here:

- it looks frame rates up in a table keyed by ``int(rate)`` and writes ``frameDuration=""``
  (then crashes) at 23.976 and 29.97; it reads every time as ``int(seconds * int(rate))``, so
  NTSC rates come back as 23 or 29 fps and frames can be truncated by one. musync writes NTSC
  plans *conformed* to the integer rate (same frame numbers at 24/30/60 fps) and rescales every
  time in the file by 1001/1000 afterwards, so the file holds exact NTSC times
  (``frameDuration="1001/24000s"``). Reading does the reverse and adds half a frame to each time
  so the adapter's truncation rounds to the nearest frame.
- it leaves ``name=""`` formats without a frame size, an empty project ``uid`` and one browser
  clip per timeline clip; musync gives the sequence its own format with the plan's size and
  drops the empty attributes and duplicates.
- its reader only knows FCPXML 1.8 asset ``src`` attributes, counts each clip in its asset's
  frames and ignores the project's start timecode; before reading, musync copies
  ``<media-rep src>`` to ``src``, gives every format the sequence's frame duration and moves the
  spine to start at 0.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio

from ...errors import ExportError
from .._common import adapter, conform_factor, exact_rate, first_timeline, plan_fps, retime, xml_text
from ..registry import TimelineFormat, register

__all__ = ["write_fcpxml", "read_fcpxml", "FCPXML", "FCPXML_ADAPTER", "FCPX_TIME_ATTRS",
           "fcpx_time", "parse_fcpx_time"]

#: The OTIO adapter this module writes and reads with.
FCPXML_ADAPTER = "fcpx_xml"

#: FCPXML attributes that hold times (rational seconds such as ``1001/24000s``).
FCPX_TIME_ATTRS = ("offset", "duration", "start", "tcStart", "frameDuration", "audioStart",
                   "audioDuration")
_FCPX_TIME = re.compile(r"^(-?\d+)(?:/(\d+))?s$")


def parse_fcpx_time(s: str) -> Fraction | None:
    m = _FCPX_TIME.match(s.strip())
    if not m:
        return None
    return Fraction(int(m.group(1)), int(m.group(2) or 1))


def fcpx_time(t: Fraction) -> str:
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
            t = parse_fcpx_time(v)
            if t is None:
                continue
            t = t * k
            if nudge and t > 0 and a in ("offset", "duration", "start", "audioStart", "audioDuration"):
                t += nudge
            el.set(a, fcpx_time(t))


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
    return xml_text(root, "fcpxml")


def write_fcpxml(tl: otio.schema.Timeline, path, plan=None) -> None:
    """FCPXML 1.8 for Final Cut Pro, through ``otio-fcpx-xml-adapter`` with the NTSC workaround."""
    ad = adapter(FCPXML_ADAPTER, "write FCPXML")
    fps = plan_fps(tl)
    k = conform_factor(fps)
    tl2 = retime(tl, k)
    rates = {float(exact_rate(c.source_range.start_time.rate))
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
    fd = parse_fcpx_time(fmt.get("frameDuration"))
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
    fd = fcpx_time(1 / fps)
    for fmt in root.iter("format"):
        fmt.set("frameDuration", fd)
    tc0 = parse_fcpx_time(seq.get("tcStart", "0s")) or Fraction(0)
    if tc0:
        for el in seq.findall("spine/*"):
            t = parse_fcpx_time(el.get("offset", "0s"))
            if t is not None:
                el.set("offset", fcpx_time(t - tc0))
        seq.set("tcStart", "0s")
    k = conform_factor(fps)
    _scale_fcpx_times(root, 1 / k, nudge=1 / (2 * fps * k))
    return k


def read_fcpxml(path, *, fps=None, plan=None) -> otio.schema.Timeline:
    ad = adapter(FCPXML_ADAPTER, "read FCPXML")
    root = ET.fromstring(Path(path).read_bytes())
    try:
        k = _normalize_fcpxml_for_adapter(root)
    except ExportError as exc:
        raise ExportError(f"{path}: {exc}") from None
    result = ad.read_from_string(ET.tostring(root, encoding="unicode"))
    return first_timeline(result, k)


FCPXML = register(TimelineFormat(
    name="fcpxml", suffixes=(".fcpxml",),
    summary="FCPXML 1.8 (Final Cut Pro): V1, the song, clip markers only",
    editors=("Final Cut Pro",), audience="Final Cut",
    write=write_fcpxml, read=read_fcpxml,
    markers=frozenset({"cut"}), audio=True, metadata=False, aliases=("fcpx",),
    defects=("fcpx_xml writes NTSC rates as empty frame durations: written conformed to the "
             "integer rate and rescaled by 1001/1000",
             "fcpx_xml reads times truncated at the integer rate: half a frame is added and NTSC "
             "times are conformed first",
             "fcpx_xml reads only FCPXML 1.8 asset src attributes: <media-rep src> is copied",
             "fcpx_xml counts a clip in its asset's frames and ignores tcStart: every format gets "
             "the sequence rate and the spine starts at 0 before reading")))
