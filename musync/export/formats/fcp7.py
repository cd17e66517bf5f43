"""FCP7 XML (``xmeml`` version 4), for Premiere Pro and DaVinci Resolve.

Written and read through ``otio-fcp-adapter`` (adapter ``fcp_xml``), which is exact at every rate
tested (timebase + ``ntsc`` flag). Its defects, worked around here: it leaves the sequence
``<format>`` empty (no frame size) and declares an audio stream in every video file; musync adds
the plan's frame size and removes the audio stream of silent clips.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path

import opentimelineio as otio

from .._common import adapter, check_timecode_rate, first_timeline, xml_text
from ..registry import TimelineFormat, register
from ..timeline import path_from_url

__all__ = ["write_fcp7", "read_fcp7", "FCP7", "FCP7_ADAPTER"]

#: The OTIO adapter this module writes and reads with.
FCP7_ADAPTER = "fcp_xml"


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
    return xml_text(root, "xmeml")


def write_fcp7(tl: otio.schema.Timeline, path, plan=None) -> None:
    """FCP7 XML (``xmeml`` version 4) for Premiere Pro and DaVinci Resolve."""
    ad = adapter(FCP7_ADAPTER, "write FCP7 XML")
    check_timecode_rate(tl, "FCP7 XML")
    text = ad.write_to_string(tl)
    Path(path).write_text(_fcp7_fixups(text, plan), encoding="utf-8")


def read_fcp7(path, *, fps=None, plan=None) -> otio.schema.Timeline:
    return first_timeline(adapter(FCP7_ADAPTER, "read FCP7 XML").read_from_file(str(path)))


FCP7 = register(TimelineFormat(
    name="xml", suffixes=(".xml",),
    summary="FCP7 XML (Premiere, Resolve): V1, A1, sequence and clip markers",
    editors=("Premiere Pro", "DaVinci Resolve"),
    audience="Premiere, Resolve",
    write=write_fcp7, read=read_fcp7,
    markers=frozenset({"beat", "downbeat", "section", "climax", "cut", "note"}), audio=True,
    metadata=False, aliases=("fcp7", "fcp", "premiere", "xmeml"),
    defects=("fcp_xml leaves the sequence <format> without a frame size: the plan's is added",
             "fcp_xml declares an audio stream in every video file: removed for silent clips")))
