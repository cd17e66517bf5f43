"""``.otio`` (OpenTimelineIO JSON) and ``.otioz`` (the same, with the media inside).

Everything survives: both tracks, the beat/bar/section/climax markers on the timeline, one marker
per cut and each shot's reason and scores in ``metadata["musync"]``. The ``otio_json`` and
``otioz`` adapters ship with OpenTimelineIO itself; the only workaround is that ``otioz`` refuses
to replace an existing file (the temporary name is removed first) and bundles media by file name
(two sources with one name are refused with a message).
"""

from __future__ import annotations

import os
from pathlib import Path

import opentimelineio as otio

from ...errors import ExportError
from ..registry import TimelineFormat, register
from ..timeline import path_from_url

__all__ = ["write_otio", "write_otioz", "read_otio", "read_otioz", "OTIO", "OTIOZ"]

_EVERY_MARKER = frozenset({"beat", "downbeat", "section", "climax", "cut", "note"})


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


def read_otio(path, *, fps=None, plan=None):
    return otio.adapters.read_from_file(str(path), adapter_name="otio_json")


def read_otioz(path, *, fps=None, plan=None):
    return otio.adapters.read_from_file(str(path), adapter_name="otioz")


OTIO = register(TimelineFormat(
    name="otio", suffixes=(".otio",),
    summary="everything: V1, A1, timeline markers (beats, bars, sections, climax), cut markers, "
            "shot metadata",
    editors=("DaVinci Resolve 18.5+", "Premiere Pro 25.6+", "Kdenlive 25.04+",
             "any OpenTimelineIO tool"),
    audience="Resolve, Premiere, Kdenlive",
    write=write_otio, read=read_otio, markers=_EVERY_MARKER, audio=True, metadata=True,
    framing="metadata", aliases=("json",)))

OTIOZ = register(TimelineFormat(
    name="otioz", suffixes=(".otioz",),
    summary="like .otio, with the source clips and the song bundled inside",
    editors=OTIO.editors, audience="to send to someone",
    write=write_otioz, read=read_otioz, markers=_EVERY_MARKER, audio=True,
    metadata=True, framing="metadata",
    defects=("otioz refuses to replace an existing file: the temporary file is removed first",
             "otioz keeps media by file name: two sources with one name are refused")))
