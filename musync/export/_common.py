"""Helpers every format module shares: adapter loading, exact rates, retiming, XML text.

Public functions (for the format modules, not for library users):

- :func:`adapter` -- an OpenTimelineIO adapter by name, or an :class:`ExportError` naming the
  package to install.
- :func:`exact_rate` -- the fraction a float OTIO rate stands for (23.976023976... -> 24000/1001).
- :func:`plan_fps` -- the plan's exact rate, from a timeline built by :func:`build_timeline`.
- :func:`conform_factor`, :func:`retime` -- the NTSC <-> integer-rate conform of FCPXML.
- :func:`xml_text` -- an ElementTree root as indented XML text with a doctype.
- :func:`check_timecode_rate` -- refuse rates a SMPTE timecode cannot count.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from fractions import Fraction

import opentimelineio as otio

from ..errors import ExportError
from .timeline import NAMESPACE, exact_rate

__all__ = ["adapter", "exact_rate", "plan_fps", "conform_factor", "retime", "xml_text",
           "check_timecode_rate", "ADAPTER_PACKAGES"]

_RT = otio.opentime.RationalTime
_TR = otio.opentime.TimeRange

#: OTIO adapter name -> the pip package that provides it.
ADAPTER_PACKAGES = {"fcpx_xml": "otio-fcpx-xml-adapter", "fcp_xml": "otio-fcp-adapter",
                    "cmx_3600": "otio-cmx3600-adapter"}


def adapter(name: str, what: str):
    """The OTIO adapter ``name`` (named explicitly, never chosen by suffix)."""
    try:
        return otio.adapters.from_name(name)
    except Exception as exc:  # not installed
        pkg = ADAPTER_PACKAGES.get(name, name)
        raise ExportError(f"cannot {what}: the OpenTimelineIO adapter {name!r} is missing "
                          f"({exc}); install it with `pip install {pkg}`") from None


def conform_factor(fps) -> Fraction:
    """How much an NTSC rate is sped up to reach its integer rate (1001/1000), else 1."""
    f = Fraction(fps)
    return Fraction(1001, 1000) if f.denominator == 1001 and (f * Fraction(1001, 1000)).denominator == 1 \
        else Fraction(1)


def _scale_rt(t, k: Fraction):
    return _RT(t.value, float(exact_rate(t.rate) * k))


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


def plan_fps(tl: otio.schema.Timeline) -> Fraction:
    """The plan's exact rate (kept in the timeline's metadata), else the timeline's own."""
    meta = tl.metadata.get(NAMESPACE, {})
    if "fps" in meta:
        return Fraction(str(meta["fps"]))
    return exact_rate(tl.global_start_time.rate if tl.global_start_time is not None
                      else tl.duration().rate)


def xml_text(root: ET.Element, doctype: str) -> str:
    """``root`` as indented UTF-8 XML text with an XML declaration and ``<!DOCTYPE doctype>``."""
    ET.indent(root, space="    ")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + f"<!DOCTYPE {doctype}>\n"
            + ET.tostring(root, encoding="unicode") + "\n")


def check_timecode_rate(tl: otio.schema.Timeline, what: str) -> None:
    """Raise :class:`ExportError` unless the plan's rate is one a SMPTE timecode counts."""
    fps = plan_fps(tl)
    if not otio.opentime.RationalTime.is_valid_timecode_rate(float(fps)):
        raise ExportError(f"{what} needs a SMPTE timecode rate (23.976, 24, 25, 29.97, 30, 50, "
                          f"59.94, 60 ...); this plan runs at {fps} fps. Re-plan with --fps 25 "
                          "(or another timecode rate), or export .otio")


def first_timeline(result, k: Fraction = Fraction(1)) -> otio.schema.Timeline:
    """The first timeline of an adapter's result (a collection or a timeline), retimed by 1/k."""
    if isinstance(result, otio.schema.SerializableCollection):
        tls = [t for t in result.find_children(descended_from_type=otio.schema.Timeline)]
        if not tls:
            raise ExportError("no timeline (project/sequence) in the file")
        result = tls[0]
    return retime(result, 1 / k) if k != 1 else result
