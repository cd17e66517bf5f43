"""FCPXML, for Final Cut Pro: written by musync, read through ``otio-fcpx-xml-adapter``.

Writing: :func:`write_fcpxml` builds the document itself (ElementTree) from the timeline,
because the adapter (``fcpx_xml``, otio-fcpx-xml-adapter 1.0) cannot write what Final Cut needs
to conform the media correctly: it gives every asset one made-up format (also the audio-only
song), writes ``frameDuration=""`` and crashes at 23.976 and 29.97, and knows only FCPXML 1.8.
musync writes, for ``version`` 1.8, 1.10 or 1.11 (validated against Apple's DTD of each):

- one ``<format>`` for the sequence (the plan's rate and size) and one per distinct clip rate and
  size (a still gets a format with its size and no frame duration); none for the song;
- one ``<asset>`` per file: ``src`` as an attribute (1.8) or in ``<media-rep>`` (1.9 and later),
  ``hasVideo``/``hasAudio`` as the clip has them, its duration in its own frames;
- a library/event/project/sequence whose spine holds one ``asset-clip`` per shot (record
  position and length in sequence frames, ``start`` the exact plan time of its first source
  frame) with a marker at its cut;
- the song connected below the first shot (lane -1) for the whole edit, carrying the beat, bar,
  section, climax and note markers (Final Cut keeps markers on clips, not on the timeline).

Reading (:func:`read_fcpxml`) goes through the adapter, whose defects are worked around here:
it reads every time as ``int(seconds * int(rate))`` (NTSC rates come back as 23 or 29 fps and
frames can be truncated by one), it only knows FCPXML 1.8 asset ``src`` attributes yet takes an
asset element without children for a missing one (so a 1.8 audio-only asset lands on a video
track), counts each clip in its asset's frames and ignores the project's start timecode. Before
reading, musync copies ``<media-rep src>`` to ``src`` (and adds a ``<media-rep>`` child to assets
that have none), gives every format the sequence's frame duration, moves the spine
to start at 0, conforms NTSC times to the integer rate and adds half a frame to each time so the
adapter's truncation rounds to the nearest frame.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio

from ...errors import ExportError
from .._common import adapter, conform_factor, first_timeline, plan_fps, xml_text
from ..registry import TimelineFormat, register
from ..timeline import NAMESPACE, exact_rate, frames, path_from_url

__all__ = ["write_fcpxml", "read_fcpxml", "FCPXML", "FCPXML_ADAPTER", "FCPXML_VERSIONS",
           "FCPX_TIME_ATTRS", "fcpx_time", "parse_fcpx_time"]

#: The OTIO adapter this module reads with.
FCPXML_ADAPTER = "fcpx_xml"

#: FCPXML versions the writer produces (``fcpxml_version``); the first is the default.
FCPXML_VERSIONS = ("1.8", "1.10", "1.11")

#: FCPXML attributes that hold times (rational seconds such as ``1001/24000s``).
FCPX_TIME_ATTRS = ("offset", "duration", "start", "tcStart", "frameDuration", "audioStart",
                   "audioDuration")
_FCPX_TIME = re.compile(r"^(-?\d+)(?:/(\d+))?s$")


def parse_fcpx_time(s: str) -> Fraction | None:
    """``"1001/30000s"`` -> ``Fraction(1001, 30000)``; None for anything else."""
    m = _FCPX_TIME.match(s.strip())
    if not m:
        return None
    return Fraction(int(m.group(1)), int(m.group(2) or 1))


def fcpx_time(t: Fraction) -> str:
    """An exact time in seconds as FCPXML writes it (``"3s"``, ``"1001/30000s"``)."""
    t = Fraction(t)
    if t.denominator == 1:
        return f"{t.numerator}s"
    return f"{t.numerator}/{t.denominator}s"


# ---------------------------------------------------------------------------------------------
# writing


def _check_rate(fps: Fraction) -> None:
    if fps.denominator != 1 and not (fps.denominator == 1001 and fps.numerator % 1000 == 0):
        raise ExportError(f"FCPXML export supports integer and NTSC (x/1001) frame rates; this plan "
                          f"runs at {fps} fps. Re-plan at 24, 25, 30 or an NTSC rate, or export .xml")


def _drop(fps: Fraction) -> bool:
    return fps.denominator == 1001 and fps.numerator % 30000 == 0


class _Ids:
    def __init__(self):
        self.n = 0

    def __call__(self) -> str:
        self.n += 1
        return f"r{self.n}"


def _src(el: ET.Element, version: str, url: str) -> None:
    if version == "1.8":
        el.set("src", url)
    else:
        ET.SubElement(el, "media-rep", {"kind": "original-media", "src": url})


def _marker_el(parent: ET.Element, start: Fraction, duration: Fraction, value: str) -> None:
    ET.SubElement(parent, "marker", {"start": fcpx_time(start), "duration": fcpx_time(duration),
                                     "value": value})


def _song_info(plan):
    a = plan.audio if plan is not None else None
    rate = int(a.sample_rate) if a is not None and a.sample_rate else 48000
    channels = int(a.channels) if a is not None and a.channels else 2
    return rate, channels


def write_fcpxml(tl: otio.schema.Timeline, path, plan=None, *, fcpxml_version: str = "1.8") -> None:
    """FCPXML ``fcpxml_version`` (1.8, 1.10 or 1.11) for Final Cut Pro.

    Parameters
    ----------
    tl : opentimelineio.schema.Timeline
        From :func:`musync.export.build_timeline` (V1 shots, A1 the song, timeline markers).
    path : str or Path
    plan : Plan, optional
        Clip rates, sizes and audio flags, the song's sample rate and channels, the frame size.
    fcpxml_version : {"1.8", "1.10", "1.11"}
    """
    version = str(fcpxml_version)
    if version not in FCPXML_VERSIONS:
        raise ExportError(f"FCPXML version must be one of {', '.join(FCPXML_VERSIONS)}, not "
                          f"{fcpxml_version!r}")
    fps = plan_fps(tl)
    _check_rate(fps)
    fd = 1 / fps
    meta = tl.metadata.get(NAMESPACE, {})
    size = tuple(plan.size) if plan is not None else tuple(meta.get("size", (1920, 1080)))
    clips_by_path = {c.path: c for c in plan.clips} if plan is not None else {}

    root = ET.Element("fcpxml", {"version": version})
    res = ET.SubElement(root, "resources")
    ids = _Ids()
    seq_fmt = ids()
    ET.SubElement(res, "format", {"id": seq_fmt, "frameDuration": fcpx_time(fd),
                                  "width": str(int(size[0])), "height": str(int(size[1]))})

    video = tl.video_tracks()[0]
    shots = [c for c in video if isinstance(c, otio.schema.Clip)]
    formats: dict[tuple, str] = {}
    assets: dict[str, str] = {}
    asset_els: list[ET.Element] = []
    for c in shots:
        url = c.media_reference.target_url
        p = path_from_url(url)
        if url in assets:
            continue
        pc = clips_by_path.get(p)
        avail = c.media_reference.available_range
        rate = exact_rate(avail.duration.rate) if avail is not None else fps
        still = pc is not None and pc.is_still
        w, h = (pc.size if pc is not None else size)
        key = (None if still else rate, int(w), int(h))
        if key not in formats:
            formats[key] = ids()
            attrs = {"id": formats[key], "width": str(int(w)), "height": str(int(h))}
            if not still:
                attrs["frameDuration"] = fcpx_time(1 / rate)
            ET.SubElement(res, "format", attrs)
        n = int(avail.duration.value) if avail is not None else 0
        a = ET.Element("asset", {"id": ids(), "name": Path(p).stem, "start": "0s",
                                 "duration": fcpx_time(Fraction(n) / rate) if not still else "0s",
                                 "hasVideo": "1", "format": formats[key]})
        if version != "1.8":
            a.set("videoSources", "1")
        if pc is not None and pc.has_audio:
            a.set("hasAudio", "1")
            a.set("audioSources", "1")
        _src(a, version, url)
        asset_els.append(a)
        assets[url] = a.get("id")

    song_clip = next((c for t in tl.audio_tracks() for c in t.find_clips()), None)
    song_id = None
    if song_clip is not None:
        sr, ch = _song_info(plan)
        avail = song_clip.media_reference.available_range
        song_id = ids()
        a = ET.Element("asset", {"id": song_id, "name": Path(path_from_url(
            song_clip.media_reference.target_url)).stem, "start": "0s",
            "duration": fcpx_time(Fraction(int(avail.duration.value)) / fps), "hasVideo": "0",
            "hasAudio": "1",
            "audioSources": "1", "audioChannels": str(ch), "audioRate": str(sr)})
        _src(a, version, song_clip.media_reference.target_url)
        asset_els.append(a)
    res.extend(asset_els)  # formats first, then the assets that refer to them

    lib = ET.SubElement(root, "library")
    event = ET.SubElement(lib, "event", {"name": "musync"})
    project = ET.SubElement(event, "project", {"name": tl.name or "musync"})
    n_total = int(meta.get("duration_frames", frames(tl.duration(), fps)))
    seq = ET.SubElement(project, "sequence", {
        "format": seq_fmt, "duration": fcpx_time(n_total * fd), "tcStart": "0s",
        "tcFormat": "DF" if _drop(fps) else "NDF", "audioLayout": "stereo", "audioRate": "48k"})
    spine = ET.SubElement(seq, "spine")
    for i, item in enumerate(video):
        rng = video.range_of_child_at_index(i)
        off, dur = frames(rng.start_time, fps), frames(rng.duration, fps)
        if not isinstance(item, otio.schema.Clip):
            ET.SubElement(spine, "gap", {"name": "Gap", "offset": fcpx_time(off * fd),
                                         "duration": fcpx_time(dur * fd), "start": "0s"})
            continue
        src_in = frames(item.source_range.start_time, fps)
        url = item.media_reference.target_url
        pc = clips_by_path.get(path_from_url(url))
        attrs = {"ref": assets[url], "offset": fcpx_time(off * fd), "name": item.name,
                 "start": fcpx_time(src_in * fd), "duration": fcpx_time(dur * fd),
                 "tcFormat": "NDF"}
        if pc is None or not pc.has_audio:
            attrs["srcEnable"] = "video"  # a silent clip: only its picture
        ac = ET.SubElement(spine, "asset-clip", attrs)
        crop = item.metadata.get(NAMESPACE, {}).get("crop")
        if crop and pc is not None:               # before anchored clips and markers (DTD order)
            _framing_els(ac, crop, pc.size, size)
        if i == 0 and song_id is not None:  # the song, connected below the first shot
            song = ET.SubElement(ac, "asset-clip", {
                "ref": song_id, "lane": "-1", "offset": fcpx_time(src_in * fd),
                "name": song_clip.name, "start": "0s", "duration": fcpx_time(n_total * fd),
                "audioRole": "music"})
            for m in tl.tracks.markers:
                f = frames(m.marked_range.start_time, fps)
                d = max(1, frames(m.marked_range.duration, fps))
                _marker_el(song, f * fd, d * fd, m.name)
        for m in item.markers:
            f = frames(m.marked_range.start_time, fps)
            _marker_el(ac, f * fd, fd, m.name)
    Path(path).write_text(xml_text(root, "fcpxml"), encoding="utf-8")


def _framing_els(ac: ET.Element, crop: dict, clip_size, seq_size) -> None:
    """The shot's crop as Final Cut's framing: the clip fills the frame (``adjust-conform``) and
    is moved (``adjust-transform position``, percent of the frame height, y up) so the window's
    centre, at the middle of the shot, is the frame's centre. Final Cut keeps one position per
    clip here: a crop that pans within the shot arrives as its middle position."""
    dw, dh = clip_size
    W, H = seq_size
    if not (dw and dh and W and H):
        return
    k = len(crop["frames"]) // 2
    cx = float(crop["x"][k]) + float(crop["w"]) / 2
    cy = float(crop["y"][k]) + float(crop["h"]) / 2
    s = max(W / dw, H / dh)                       # fill: the scaled source covers the frame
    dx = (0.5 - cx) * dw * s                      # pixels the picture moves right
    dy = (cy - 0.5) * dh * s                      # ... and up
    ET.SubElement(ac, "adjust-conform", {"type": "fill"})
    ET.SubElement(ac, "adjust-transform",
                  {"position": f"{100.0 * dx / H:.4g} {100.0 * dy / H:.4g}"})


# ---------------------------------------------------------------------------------------------
# reading


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
        if rep is None and asset.get("src"):
            # the reader tests `if asset and ...`: an element without children is falsy, so a
            # 1.8 asset (src attribute, no child) is never seen as audio-only
            ET.SubElement(asset, "media-rep", {"kind": "original-media", "src": asset.get("src")})
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


def _take_connected_audio_markers(root: ET.Element) -> list[tuple[str, Fraction, Fraction, str]]:
    """Remove the markers of connected audio-only clips (the song); return them.

    The adapter hands a connected clip's markers to the clip it is connected to, in the wrong
    clip's time. They are put back on the audio clip after reading.
    """
    audio_only = {a.get("id") for a in root.iter("asset") if a.get("hasVideo", "0") == "0"}
    out = []
    for parent in root.iter():
        for ac in list(parent):
            if ac.tag != "asset-clip" or ac.get("lane") in (None, "0") or ac.get("ref") not in audio_only:
                continue
            start = parse_fcpx_time(ac.get("start", "0s")) or Fraction(0)
            for m in list(ac):
                if m.tag not in ("marker", "chapter-marker"):
                    continue
                t = parse_fcpx_time(m.get("start", "0s")) or Fraction(0)
                d = parse_fcpx_time(m.get("duration", "0s")) or Fraction(0)
                out.append((ac.get("name", ""), t - start, d, m.get("value", "")))
                ac.remove(m)
    return out


def _put_back_markers(tl: otio.schema.Timeline, marks, fps: Fraction) -> None:
    from ...timebase import to_frame

    for t in tl.tracks:
        if t.kind != otio.schema.TrackKind.Audio:
            continue
        for c in t.find_clips():
            mine = [m for m in marks if m[0] == c.name]
            if not mine:
                continue
            rate = c.source_range.start_time.rate
            base = c.source_range.start_time.value
            for _, t0, d, value in mine:
                c.markers.append(otio.schema.Marker(name=value, marked_range=otio.opentime.TimeRange(
                    otio.opentime.RationalTime(base + to_frame(t0, fps), rate),
                    otio.opentime.RationalTime(to_frame(d, fps), rate))))
            return


def read_fcpxml(path, *, fps=None, plan=None) -> otio.schema.Timeline:
    """Read an FCPXML (1.8 to 1.11, ours or Final Cut's) through the adapter, with fixes."""
    ad = adapter(FCPXML_ADAPTER, "read FCPXML")
    root = ET.fromstring(Path(path).read_bytes())
    marks = _take_connected_audio_markers(root)
    try:
        seq_fps = _fcpxml_sequence_rate(root)
        k = _normalize_fcpxml_for_adapter(root)
    except ExportError as exc:
        raise ExportError(f"{path}: {exc}") from None
    result = ad.read_from_string(ET.tostring(root, encoding="unicode"))
    tl = first_timeline(result, k)
    _put_back_markers(tl, marks, seq_fps)
    return tl


FCPXML = register(TimelineFormat(
    name="fcpxml", suffixes=(".fcpxml",),
    summary="FCPXML 1.8, 1.10 or 1.11 (Final Cut Pro): V1, the song with the beat, bar, section "
            "and climax markers, cut markers",
    editors=("Final Cut Pro",), audience="Final Cut", write=write_fcpxml, read=read_fcpxml,
    markers=frozenset({"beat", "downbeat", "section", "climax", "cut", "note"}), audio=True,
    metadata=False, framing="transform", aliases=("fcpx",), options=("fcpxml_version",),
    defects=("fcpx_xml writes one made-up format for every asset, empty frame durations at NTSC "
             "rates and only FCPXML 1.8: musync writes FCPXML itself",
             "fcpx_xml reads times truncated at the integer rate: half a frame is added and NTSC "
             "times are conformed first",
             "fcpx_xml reads only FCPXML 1.8 asset src attributes: <media-rep src> is copied",
             "fcpx_xml sees an asset without child elements as missing (Element truthiness), so "
             "an audio-only 1.8 asset lands on a video track: a <media-rep> child is added",
             "fcpx_xml counts a clip in its asset's frames and ignores tcStart: every format gets "
             "the sequence rate and the spine starts at 0 before reading")))
