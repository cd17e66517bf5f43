"""Which editor opens which media, and what to tell the user before the editor does.

Public names:

- :class:`Editor` -- one editor's media support: containers (by file suffix), video and audio
  codecs (by FFmpeg decoder name) and the vendor page the table follows.
- :data:`EDITORS` -- ``premiere``, ``resolve``, ``finalcut``, ``kdenlive``.
- :data:`FORMAT_EDITORS` -- the editors each timeline format is for (a file must open in all
  of them unless one ``editor`` is named).
- :func:`unsupported_media` -- every file of a plan the chosen editor(s) cannot open, and why.
- :func:`media_warnings` -- the same as one line per file.

Where the table comes from (the vendors' published format lists; codecs not listed there are
treated as unsupported, so musync errs towards converting):

- Premiere Pro: Adobe, "Supported file formats" (helpx.adobe.com/premiere-pro/using/
  supported-file-formats.html): containers 3GP, AVI, M2TS/MTS, MOV, MP4/M4V, MXF, MPEG, WAV,
  AIFF, MP3, AAC/M4A; codecs H.264, HEVC, ProRes, DNxHD/HR, MPEG-2, DV, Motion JPEG. WebM, Ogg,
  Matroska, VP8/VP9, Theora, Vorbis, Opus and FLAC are not on it.
- DaVinci Resolve: Blackmagic Design, "DaVinci Resolve Supported Codec List" (PDF on the
  Resolve support page) and the Resolve manual ("Mixed Frame Sizes and Mixed Codecs" points to
  it): QuickTime, MP4, MXF, AVI, Matroska; H.264, HEVC, ProRes, DNxHD/HR, MPEG-2, Motion JPEG;
  WAV, AIFF, MP3, AAC, FLAC. Note: the free edition on Linux decodes neither H.264/HEVC nor AAC;
  collect with ``codec="prores"`` for it. WebM/VP9 and Ogg Vorbis are treated as unsupported.
- Final Cut Pro: Apple, "Import formats compatible with Final Cut Pro" / "Supported media
  formats" (support.apple.com, Final Cut Pro User Guide): containers MOV, MP4/M4V, MTS/M2TS, MXF,
  3GP, AVI; codecs H.264, HEVC, ProRes, Apple Intermediate, DV, MPEG-2 (XDCAM, HDV), Motion
  JPEG; audio AAC, AIFF, BWF/WAV, CAF, MP3, MP4 audio. No WebM, Ogg, Matroska, VP8/VP9, Vorbis,
  Opus, FLAC.
- Kdenlive: decodes through MLT's FFmpeg (avformat) producer, so every file musync itself can
  read (musync decodes with FFmpeg too) opens in it.

The lists were read as published on the vendors' sites; editors add formats in new versions,
so a file flagged here may open in your version. A ``--collect`` folder always opens.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..errors import MediaError, ParameterError

__all__ = ["Editor", "EDITORS", "FORMAT_EDITORS", "unsupported_media", "media_warnings",
           "editors_for"]

_IMAGES = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".psd"})


@dataclass(frozen=True)
class Editor:
    """One editor's media support (``None`` in a field means "anything FFmpeg decodes")."""

    name: str
    label: str
    containers: frozenset | None
    video_codecs: frozenset | None
    audio_codecs: frozenset | None
    images: frozenset | None
    source: str

    def problem(self, suffix: str, video: str | None, audio: str | None, *, still: bool = False) -> str | None:
        """Why this editor cannot open a file with ``suffix`` and these codecs, or None."""
        suffix = suffix.lower()
        if still:
            if self.images is not None and suffix not in self.images:
                return f"{self.label} does not import {suffix or 'this'} images"
            return None
        if self.containers is not None and suffix not in self.containers:
            return f"{self.label} does not import {suffix or 'extension-less'} files"
        if video and self.video_codecs is not None and video not in self.video_codecs:
            return f"{self.label} does not decode {video} video"
        if audio and self.audio_codecs is not None and audio not in self.audio_codecs \
                and not audio.startswith("pcm_"):
            return f"{self.label} does not decode {audio} audio"
        return None


_AUDIO = frozenset({"aac", "mp3", "alac", "ac3", "eac3"})

EDITORS: dict[str, Editor] = {
    "premiere": Editor(
        "premiere", "Premiere Pro",
        frozenset({".mp4", ".m4v", ".mov", ".mxf", ".avi", ".mts", ".m2ts", ".mpg", ".mpeg",
                   ".3gp", ".wav", ".aif", ".aiff", ".mp3", ".m4a", ".aac"}),
        frozenset({"h264", "hevc", "prores", "dnxhd", "mpeg2video", "dvvideo", "mjpeg", "mpeg4"}),
        _AUDIO, _IMAGES,
        "Adobe, Premiere Pro 'Supported file formats' (helpx.adobe.com)"),
    "resolve": Editor(
        "resolve", "DaVinci Resolve",
        frozenset({".mp4", ".m4v", ".mov", ".mxf", ".avi", ".mkv", ".mts", ".m2ts", ".wav",
                   ".aif", ".aiff", ".mp3", ".m4a", ".aac", ".flac"}),
        frozenset({"h264", "hevc", "prores", "dnxhd", "mpeg2video", "mjpeg", "dvvideo"}),
        _AUDIO | {"flac"}, _IMAGES,
        "Blackmagic Design, 'DaVinci Resolve Supported Codec List'"),
    "finalcut": Editor(
        "finalcut", "Final Cut Pro",
        frozenset({".mp4", ".m4v", ".mov", ".mxf", ".mts", ".m2ts", ".3gp", ".avi", ".wav",
                   ".aif", ".aiff", ".caf", ".mp3", ".m4a", ".aac"}),
        frozenset({"h264", "hevc", "prores", "mpeg2video", "dvvideo", "mjpeg"}),
        _AUDIO, _IMAGES | {".heic"},
        "Apple, Final Cut Pro User Guide 'Import formats compatible with Final Cut Pro'"),
    "kdenlive": Editor("kdenlive", "Kdenlive", None, None, None, None,
                       "MLT's avformat producer (every format FFmpeg decodes)"),
}

#: The editors each timeline format is for.
FORMAT_EDITORS: dict[str, tuple[str, ...]] = {
    "otio": ("resolve", "premiere", "kdenlive"),
    "otioz": ("resolve", "premiere", "kdenlive"),
    "xml": ("premiere", "resolve"),
    "fcpxml": ("finalcut",),
    "edl": ("premiere", "resolve"),
}


def editors_for(format: str, editor: str | None = None) -> list[Editor]:
    """The editors a ``format`` export must open in: ``editor`` alone when given."""
    if editor:
        key = str(editor).lower().replace(" ", "").replace("-", "")
        key = {"finalcutpro": "finalcut", "fcp": "finalcut", "fcpx": "finalcut",
               "davinci": "resolve", "davinciresolve": "resolve", "premierepro": "premiere"}.get(key, key)
        if key not in EDITORS:
            raise ParameterError(f"unknown editor {editor!r}; choose one of {', '.join(EDITORS)}")
        return [EDITORS[key]]
    return [EDITORS[e] for e in FORMAT_EDITORS.get(format, ("kdenlive",))]


def _file_problem(path: str, eds: list[Editor], *, still: bool) -> str | None:
    from ..media import probe_codecs

    suffix = os.path.splitext(path)[1]
    try:
        codecs = probe_codecs(path)
    except MediaError as exc:
        return exc.problem
    whys = [p for e in eds if (p := e.problem(suffix, codecs.video, codecs.audio, still=still))]
    return "; ".join(whys) or None


def unsupported_media(plan, format: str, editor: str | None = None) -> list[tuple[str, str]]:
    """``(path, reason)`` for the song and every clip used by ``plan`` that the editors of
    ``format`` (or ``editor``) cannot open, in the order they appear (song first)."""
    eds = editors_for(format, editor)
    if all(e.containers is None for e in eds):
        return []
    used = list(dict.fromkeys(s.source for s in plan.shots))
    stills = {c.path for c in plan.clips if c.is_still}
    out = []
    for path, still in [(plan.audio.path, False)] + [(p, p in stills) for p in used]:
        if not os.path.isfile(path):
            out.append((path, "file not found"))
            continue
        why = _file_problem(path, eds, still=still)
        if why:
            out.append((path, why))
    return out


def media_warnings(plan, format: str, editor: str | None = None) -> list[str]:
    """One line per file the editor will not open, saying what to do; and a line when the plan
    frames shots (crop windows that keep the subject) and the format cannot carry them."""
    from .registry import get_format

    out = [f"{path}: {why}; the timeline will show it offline. Export with --collect FOLDER "
           "to convert it" for path, why in unsupported_media(plan, format, editor)]
    framed = sum(1 for s in plan.shots if getattr(s, "crop", None) is not None)
    fmt = get_format(format)
    if framed and fmt.framing == "none":
        out.append(f"{framed} shot(s) are framed to keep the subject at {plan.aspect}; "
                   f"{fmt.name} cannot carry a position per clip, so the editor will centre "
                   "them: export .fcpxml (a position per clip) or .otio (kept in musync's "
                   "metadata), or render the draft")
    elif framed and fmt.framing == "metadata":
        out.append(f"{framed} shot(s) are framed to keep the subject at {plan.aspect}; {fmt.name} "
                   "keeps the crop in musync's metadata only: the editor will centre them")
    return out
