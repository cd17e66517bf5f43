"""Hand the edit to an editor, and read the editor's timeline back.

Public functions:

- :func:`export` -- write a plan as ``.otio``, ``.otioz``, ``.xml`` (FCP7 XML), ``.fcpxml`` or
  ``.edl`` (CMX 3600), chosen by suffix or ``format``.
- :func:`import_timeline` -- read an edited timeline (any of those formats) back into a plan:
  clips on the timeline become locked shots, gaps become unlocked shots to re-plan.
- :func:`build_timeline` / :func:`timeline_to_plan` -- the same, as OpenTimelineIO objects.
- :func:`read_timeline` -- read a timeline file through the right adapter.
- :data:`FORMATS` -- what each format carries.

What survives where (measured with opentimelineio 0.18.1 and the adapters named in
:mod:`musync.export.formats`):

========  ===========================================================================
.otio     everything: both tracks, beat/bar/section/climax markers on the timeline, one
          marker per cut, each shot's reason and scores in ``metadata["musync"]``
.otioz    the same, plus the source clips and the song inside one zip (``media/``)
.xml      FCP7 XML: V1 and A1, sequence markers (beats, bars, sections, climax) and clip
          markers; no musync metadata. Exact at 30, 25, 23.976 and 29.97
.fcpxml   FCPXML 1.8: V1 (primary storyline) and the song (connected below the first shot),
          clip markers only; exact at NTSC rates through a conform workaround
.edl      CMX 3600: V1 only (no audio), clip markers as ``* LOC`` comments (source
          timecode, upper case), drop-frame timecode at 29.97; the title and the first
          event's comments say what is missing
========  ===========================================================================
"""

from __future__ import annotations

from pathlib import Path

from .._fs import atomic_output
from ..errors import ExportError, MediaError, ParameterError
from ..types import Plan
from .formats import (read_timeline, write_edl, write_fcp7, write_fcpxml, write_otio,
                      write_otioz)
from .otio import build_timeline, timeline_to_plan

__all__ = ["export", "import_timeline", "build_timeline", "timeline_to_plan", "read_timeline",
           "FORMATS", "format_for_path"]

#: Format name -> (suffix, what the file keeps).
FORMATS = {
    "otio": (".otio", "everything: V1, A1, timeline markers (beats, bars, sections, climax), "
                      "cut markers, shot metadata"),
    "otioz": (".otioz", "like .otio, with the source clips and the song bundled inside"),
    "xml": (".xml", "FCP7 XML (Premiere, Resolve): V1, A1, sequence and clip markers"),
    "fcpxml": (".fcpxml", "FCPXML 1.8 (Final Cut Pro): V1, the song, clip markers only"),
    "edl": (".edl", "CMX 3600 (any editor): V1 only, clip markers as LOC comments"),
}

_WRITERS = {"otio": write_otio, "otioz": write_otioz, "xml": write_fcp7, "fcpxml": write_fcpxml,
            "edl": write_edl}
_ALIASES = {"fcp7": "xml", "fcp": "xml", "premiere": "xml", "fcpx": "fcpxml", "cmx3600": "edl",
            "cmx": "edl", "json": "otio"}


def format_for_path(path, format: str | None = None) -> str:
    """The format name for ``path`` (by suffix) or for an explicit ``format``."""
    if format:
        f = str(format).lower().lstrip(".")
        f = _ALIASES.get(f, f)
        if f not in FORMATS:
            raise ParameterError(f"unknown timeline format {format!r}; choose one of "
                                 f"{', '.join(FORMATS)}")
        return f
    suffix = Path(path).suffix.lower()
    for name, (sfx, _) in FORMATS.items():
        if suffix == sfx:
            return name
    raise ParameterError(f"{path}: cannot tell the timeline format from the suffix {suffix!r}; use "
                         f"one of {', '.join(s for s, _ in FORMATS.values())} or name the format (--format)")


def export(plan: Plan, path, format: str | None = None, *, overwrite: bool = False,
           name: str | None = None) -> Path:
    """Write ``plan`` as a timeline an editor opens.

    Parameters
    ----------
    plan : Plan
    path : str or Path
        Output file. The suffix picks the format unless ``format`` is given.
    format : {"otio", "otioz", "xml", "fcpxml", "edl"}, optional
    overwrite : bool
        Replace an existing file (otherwise :class:`~musync.errors.ParameterError`).
    name : str, optional
        Timeline (sequence) name; default ``"musync - <song>"``.

    Returns
    -------
    Path
        The file written. It is written under a temporary name and renamed at the end, so a
        failed export never leaves a partial file.

    Raises
    ------
    ParameterError
        Unknown format, or the file exists and ``overwrite`` is False.
    PlanError
        The plan breaks an invariant.
    ExportError
        The adapter cannot write this plan (the message says why and what to use instead).

    Examples
    --------
    >>> musync.export(plan, "edit.otio")                # doctest: +SKIP
    >>> musync.export(plan, "edit.xml", overwrite=True)  # doctest: +SKIP
    """
    from ..planfile import validate_plan

    fmt = format_for_path(path, format)
    validate_plan(plan)
    tl = build_timeline(plan, name=name)
    writer = _WRITERS[fmt]
    with atomic_output(path, overwrite=overwrite, suffix=FORMATS[fmt][0]) as tmp:
        try:
            writer(tl, tmp, plan)
        except (ExportError, MediaError):
            raise
        except Exception as exc:
            raise ExportError(f"{path}: writing {fmt} failed ({type(exc).__name__}: {exc})") from None
    return Path(path)


def import_timeline(path, plan: Plan, format: str | None = None, *, scan_new: bool = True) -> Plan:
    """Read a timeline edited in an editor back into a plan.

    Parameters
    ----------
    path : str or Path
        The edited ``.otio``, ``.otioz``, ``.xml``, ``.fcpxml`` or ``.edl``.
    plan : Plan
        The plan the timeline was exported from (song, rate, clip library, markers). An EDL
        carries no rate: it is read at ``plan.fps``.
    format : str, optional
        Override the suffix.
    scan_new : bool
        Probe clips the editor added that are not in the plan's library, and add them.

    Returns
    -------
    Plan
        Clips on the picture track become locked shots (moved, trimmed, swapped and added clips
        come back as they are in the timeline, and say so in ``reason``); deleted shots and
        other gaps become unlocked shots for ``musync plan --replan`` to fill. The result passes
        :func:`~musync.planfile.validate_plan`.
    """
    p = Path(path)
    if not p.exists():
        raise MediaError(p, "timeline file not found; check the path")
    fmt = format_for_path(p, format)
    tl = read_timeline(p, fmt, fps=plan.fps)
    return timeline_to_plan(tl, plan, source_name=p.name, scan_new=scan_new)
