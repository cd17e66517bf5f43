"""The table of timeline formats: one row per format, filled by the modules in ``formats/``.

Public names:

- :class:`TimelineFormat` -- one format: name, suffixes, writer, reader, which markers and
  tracks it keeps, the editors that open it and the adapter defects its module works around.
- :func:`register` -- add a format (each module in :mod:`musync.export.formats` calls it once).
- :func:`get_format` -- a format by name or alias; :func:`format_for_path` -- by suffix.
- :data:`FORMATS` -- name -> :class:`TimelineFormat`, in registration order.
- :data:`MARKER_KINDS` -- the marker kinds musync writes.

A new format is one module in ``musync/export/formats/`` that defines its writer and reader and
calls :func:`register`, plus its name in that package's ``MODULES``; the CLI's ``--format``
choices, the suffix lookup and the docs table read this registry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..errors import ParameterError

__all__ = ["TimelineFormat", "register", "get_format", "format_for_path", "FORMATS",
           "MARKER_KINDS"]

#: Marker kinds musync writes: beats, bars (downbeats), sections, the climax, one per cut, and
#: the notes an import kept (the editor's own markers).
MARKER_KINDS = ("beat", "downbeat", "section", "climax", "cut", "note")


@dataclass(frozen=True)
class TimelineFormat:
    """One timeline format.

    Attributes
    ----------
    name : str                 short name (``--format`` value)
    suffixes : tuple of str    file suffixes, the first is the one written
    summary : str              one line: what the file keeps
    editors : tuple of str     editors that open it
    audience : str             the same in a few words, for help texts
    write : callable           ``write(timeline, path, plan, **options)``
    read : callable            ``read(path, *, fps, plan=None) -> opentimelineio.schema.Timeline``
                               (``plan``: the plan it came from, for formats that need it)
    markers : frozenset        marker kinds (:data:`MARKER_KINDS`) that arrive in the file
    audio : bool               the song is on the timeline
    metadata : bool            musync's shot metadata (reason, scores) survives
    framing : str              what becomes of a shot's crop (the framing that keeps the
                               subject): ``transform`` (a position per clip), ``metadata`` (kept
                               in musync's metadata only) or ``none`` (the editor centres it)
    aliases : tuple of str     other names accepted for ``name``
    defects : tuple of str     adapter defects the module works around (one line each)
    options : tuple of str     keyword options ``write`` accepts beyond the plan
    """

    name: str
    suffixes: tuple[str, ...]
    summary: str
    editors: tuple[str, ...]
    audience: str
    write: Callable
    read: Callable
    markers: frozenset = frozenset()
    audio: bool = True
    metadata: bool = False
    framing: str = "none"
    aliases: tuple[str, ...] = ()
    defects: tuple[str, ...] = ()
    options: tuple[str, ...] = field(default=())

    @property
    def suffix(self) -> str:
        return self.suffixes[0]


#: Every registered format, by name (registration order).
FORMATS: dict[str, TimelineFormat] = {}
_ALIASES: dict[str, str] = {}


def register(fmt: TimelineFormat) -> TimelineFormat:
    """Add ``fmt`` to :data:`FORMATS`; its name, aliases and suffixes must be new."""
    bad = set(fmt.markers) - set(MARKER_KINDS)
    if bad:
        raise ValueError(f"{fmt.name}: unknown marker kinds {sorted(bad)}")
    for key in (fmt.name, *fmt.aliases):
        if key in FORMATS or key in _ALIASES:
            raise ValueError(f"timeline format name {key!r} is registered twice")
    taken = {s for f in FORMATS.values() for s in f.suffixes}
    if taken & set(fmt.suffixes):
        raise ValueError(f"{fmt.name}: suffix {sorted(taken & set(fmt.suffixes))} is taken")
    FORMATS[fmt.name] = fmt
    for a in fmt.aliases:
        _ALIASES[a] = fmt.name
    return fmt


def get_format(name: str) -> TimelineFormat:
    """The format called ``name`` (or one of its aliases, or a suffix such as ``.xml``)."""
    f = str(name).lower().lstrip(".")
    f = _ALIASES.get(f, f)
    if f in FORMATS:
        return FORMATS[f]
    for fmt in FORMATS.values():
        if f"." + f in fmt.suffixes:
            return fmt
    raise ParameterError(f"unknown timeline format {name!r}; choose one of {', '.join(FORMATS)}")


def format_for_path(path, format: str | None = None) -> str:
    """The format name for ``path`` (by suffix) or for an explicit ``format``."""
    if format:
        return get_format(format).name
    suffix = Path(path).suffix.lower()
    for fmt in FORMATS.values():
        if suffix in fmt.suffixes:
            return fmt.name
    raise ParameterError(f"{path}: cannot tell the timeline format from the suffix {suffix!r}; use "
                         f"one of {', '.join(f.suffix for f in FORMATS.values())} or name the "
                         "format (--format)")
