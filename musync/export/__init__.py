"""Hand the edit to an editor, and read the editor's timeline back.

Public functions:

- :func:`export` -- write a plan as ``.otio``, ``.otioz``, ``.xml`` (FCP7 XML), ``.fcpxml`` or
  ``.edl`` (CMX 3600), chosen by suffix or ``format``.
- :func:`import_timeline` -- read an edited timeline (any of those formats) back into a plan:
  clips on the timeline become locked shots, gaps become unlocked shots to re-plan.
- :func:`build_timeline` -- the plan as an OpenTimelineIO timeline in memory (what every
  format is written from); :func:`timeline_to_plan` -- an edited timeline back into a plan.
- :func:`read_timeline` -- read a timeline file through its format's reader.
- :func:`media_warnings` -- one line per file the target editor will not open;
  :func:`collect_media` -- gather (and convert) the media into a folder the editor opens.
- :data:`FORMATS` -- the registry: name -> :class:`~musync.export.registry.TimelineFormat`
  (suffixes, editors, which markers and tracks it keeps, the adapter defects it works around);
  :func:`format_for_path`, :func:`get_format`.

Layout: :mod:`.timeline` builds the timeline, :mod:`.importer` reads one back, :mod:`.registry`
holds the table, and :mod:`.formats` has one module per format (writer, reader, workarounds).
"""

from __future__ import annotations

import io
from contextlib import redirect_stdout
from pathlib import Path

from .._fs import atomic_output
from ..errors import ExportError, MediaError, OutputExistsError, ParameterError
from ..types import Plan
from . import formats as _formats  # noqa: F401  (registers every format)
from .collect import collect_media
from .editors import EDITORS, media_warnings
from .importer import timeline_to_plan
from .registry import FORMATS, TimelineFormat, format_for_path, get_format
from .timeline import build_timeline

__all__ = ["export", "import_timeline", "build_timeline", "timeline_to_plan", "read_timeline",
           "FORMATS", "TimelineFormat", "format_for_path", "get_format", "media_warnings",
           "collect_media", "EDITORS"]


def export(plan: Plan, path, format: str | None = None, *, overwrite: bool = False,
           name: str | None = None, collect=None, editor: str | None = None,
           collect_codec: str = "h264", allow_changed_media: bool = False, base=None,
           check_media: bool = True, **options) -> Path:
    """Write ``plan`` as a timeline an editor opens.

    Parameters
    ----------
    plan : Plan
    path : str or Path
        Output file. The suffix picks the format unless ``format`` is given.
    format : {"otio", "otioz", "xml", "fcpxml", "edl"}, optional
        Any name in :data:`FORMATS` (or an alias such as ``"fcp7"``).
    overwrite : bool
        Replace an existing file (otherwise :class:`~musync.errors.ParameterError`).
    name : str, optional
        Timeline (sequence) name; default ``"musync - <song>"``.
    **options
        Format options (the format's ``options`` in :data:`FORMATS`): ``fcpxml_version``
        (``"1.8"``, ``"1.10"``, ``"1.11"``) for ``.fcpxml``, ``edl_source_rate`` (``"source"``,
        ``"record"``) for ``.edl``. Options of other formats are ignored, so one call can
        carry both.
    collect : str or Path, optional
        A folder to gather the song and every clip into, in forms the editor opens (see
        :func:`~musync.export.collect.collect_media`); the timeline then points there.
    editor : str, optional
        The one editor the file is for (``premiere``, ``resolve``, ``finalcut``, ``kdenlive``);
        default: every editor the format is for (:data:`~musync.export.editors.FORMAT_EDITORS`).
    collect_codec : {"h264", "prores"}
        The intermediate ``collect`` converts unreadable clips to.
    allow_changed_media : bool
        Export a plan whose song or clips changed since planning (replaced, truncated, edited:
        :mod:`musync.mediacheck`) with a warning instead of raising MediaChangedError.
    base : str or Path, optional
        The plan file's folder: relative media paths are looked for there, as render does
        (default: the current folder).
    check_media : bool
        Check the song and the clips against the plan's fingerprints (:func:`check_plan_media`);
        False for a caller that has just done so.

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
    MediaChangedError
        The song or a clip is not the file the plan was made from.
    ExportError
        The adapter cannot write this plan (the message says why and what to use instead).

    Examples
    --------
    >>> musync.export(plan, "edit.otio")                # doctest: +SKIP
    >>> musync.export(plan, "edit.xml", overwrite=True)  # doctest: +SKIP
    """
    from ..planfile import validate_plan

    fmt = FORMATS[format_for_path(path, format)]
    known = {o for f in FORMATS.values() for o in f.options}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ParameterError(f"unknown export option(s) {', '.join(unknown)}; the formats take "
                             f"{', '.join(sorted(known))}")
    kw = {k: v for k, v in options.items() if k in fmt.options and v is not None}
    validate_plan(plan)
    if check_media:
        check_plan_media(plan, allow_changed_media, base=None if base is None else Path(base))
    if collect is not None:
        from .collect import collect_media

        if not overwrite and Path(path).exists():  # refuse before the (slow) collect
            raise OutputExistsError(path)
        plan, _ = collect_media(plan, collect, fmt.name, editor=editor, codec=collect_codec,
                                overwrite=overwrite)
    tl = build_timeline(plan, name=name)
    with atomic_output(path, overwrite=overwrite, suffix=fmt.suffix, error=ExportError) as tmp:
        try:
            fmt.write(tl, tmp, plan, **kw)
        except (ExportError, MediaError):
            raise
        except Exception as exc:
            raise ExportError(f"{path}: writing {fmt.name} failed ({type(exc).__name__}: {exc})") from None
    return Path(path)


def check_plan_media(plan: Plan, allow_changed_media: bool = False, *, note_unstamped: bool = False,
                     base: Path | None = None) -> list[str]:
    """The song and the used clips are the files ``plan`` was made from, else
    MediaChangedError; with ``allow_changed_media`` each change is a Python warning (also
    returned). ``note_unstamped``: also say when the plan records no fingerprints. ``base``: the
    plan file's folder, where relative media paths are looked for as render does."""
    import warnings

    from ..mediacheck import check_media
    from ..render.readers import resolve_media

    song = resolve_media(plan.audio.path, base)
    if not song.is_file():
        # clips may be offline (the editor relinks them), the song the edit is cut to may not
        problem = "is not a regular file" if song.exists() else "is missing"
        raise MediaError(song, f"the plan's song {problem}; put the song back or correct its path "
                               "in the plan file")
    notes = check_media(plan, allow_changed=allow_changed_media, note_unstamped=note_unstamped,
                        resolve=lambda p: resolve_media(p, base),
                        remedy="re-plan (`musync plan --replan PLAN`) and export again")
    for n in notes:
        warnings.warn(n, stacklevel=3)
    return notes


def read_timeline(path, format: str, *, fps=None, plan: Plan | None = None):
    """Read a timeline file with the reader registered for ``format``.

    Parameters
    ----------
    path : str or Path
    format : {"otio", "otioz", "xml", "fcpxml", "edl"}
    fps : Fraction, optional
        The edit's rate; required for EDLs (they carry none).
    plan : Plan, optional
        The plan the file came from; an EDL's source timecodes are then read at each clip's
        own rate.

    Returns
    -------
    opentimelineio.schema.Timeline
        The first timeline in the file, with times at the file's own rate (NTSC FCPXML comes
        back at the exact NTSC rate).
    """
    from ._common import first_timeline

    fmt = get_format(format)
    p = str(path)
    quiet = io.StringIO()
    try:
        with redirect_stdout(quiet):  # some adapters print progress
            res = fmt.read(p, fps=fps, plan=plan)
    except ExportError:
        raise
    except Exception as exc:
        raise ExportError(f"{p}: cannot read it as {fmt.name} ({type(exc).__name__}: {exc}); is it "
                          "the right file and format?") from None
    return first_timeline(res)


def import_timeline(path, plan: Plan, format: str | None = None, *, scan_new: bool = True,
                    lock: str = "changed") -> Plan:
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
    lock : {"changed", "all"}
        ``changed`` (default): only shots the editor trimmed, moved, swapped or added become
        locked; untouched shots stay as they were in ``plan``. ``all``: lock every clip.

    Returns
    -------
    Plan
        The editor's decisions as locked shots (saying in ``reason`` what changed), untouched
        shots as they were, deleted shots and other gaps as unlocked shots for
        ``musync plan --replan`` to fill (a gap shorter than the shortest shot is merged into a
        neighbour), and the editor's markers as ``markers["notes"]``. See
        :func:`~musync.export.importer.timeline_to_plan`. The result passes
        :func:`~musync.planfile.validate_plan`.
    """
    p = Path(path)
    if not p.exists():
        raise MediaError(p, "timeline file not found; check the path")
    fmt = format_for_path(p, format)
    tl = read_timeline(p, fmt, fps=plan.fps, plan=plan)
    return timeline_to_plan(tl, plan, source_name=p.name, scan_new=scan_new, lock=lock)
