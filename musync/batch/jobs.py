"""The job file of a batch: one job per line (CSV or JSON lines), checked before anything runs.

A job is a song, the clip folders (or files) it is cut from, the plan settings and the outputs
wanted. Paths are resolved against the job file's folder, so a job file travels with its media.

Public: :class:`Job`, :data:`OUTPUTS`, :func:`read_jobs`, :func:`parse_jobs`,
:func:`job_inputs`, :func:`job_key`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import MusyncError, ParameterError

__all__ = ["Job", "JobInputs", "OUTPUTS", "PLAN_OUTPUTS", "read_jobs", "parse_jobs", "job_inputs",
           "job_key"]

#: What a job can make, in the order they are made.
OUTPUTS = ("analysis", "plan", "preview", "draft", "export", "report")
#: The outputs that need a plan (and so the clips); each of them writes the plan file(s) too.
PLAN_OUTPUTS = frozenset({"plan", "preview", "draft", "export", "report"})
#: Outputs when a job names none.
DEFAULT_OUTPUTS = ("analysis", "plan")

# column -> the Job field it fills (a few spellings accepted)
_COLUMNS = {
    "name": "name", "job": "name",
    "song": "song",
    "clips": "clips", "clip_folders": "clips", "clip": "clips",
    "style": "style", "seed": "seed", "variants": "variants", "aspect": "aspect", "fps": "fps",
    "size": "size", "anticipation": "anticipation", "order": "order",
    "min_shot": "min_shot", "max_shot": "max_shot",
    "outputs": "outputs", "output": "outputs",
    "formats": "formats", "format": "formats",
}
_NAME_OK = re.compile(r"[^A-Za-z0-9._+-]+")
# bump when what a job writes for the same inputs changes (finished jobs then re-run)
_RECIPE = 2


@dataclass(frozen=True)
class Job:
    """One line of a job file.

    Attributes
    ----------
    name : str            the job's output folder (unique in the batch)
    line : int            where it came from (line of the file, or 1-based index)
    song : str            absolute path of the song
    clips : tuple of str  absolute paths of clip folders and files
    style, seed, variants, aspect, fps, size, anticipation, order, min_shot, max_shot
                          the plan settings (``None``: the planner's default), as ``musync plan``
                          takes them
    outputs : tuple of str  a subset of :data:`OUTPUTS`, in that order
    formats : tuple of str  timeline formats of the ``export`` output (``otio``, ``xml``, ...)
    error : str or None   what is wrong with the line; such a job fails without running
    """

    name: str
    line: int
    song: str = ""
    clips: tuple = ()
    style: str | None = None
    seed: int | None = None
    variants: int = 1
    aspect: str | None = None
    fps: str | None = None
    size: tuple | None = None
    anticipation: int | None = None
    order: str | None = None
    min_shot: float | None = None
    max_shot: float | None = None
    outputs: tuple = DEFAULT_OUTPUTS
    formats: tuple = ("otio",)
    error: str | None = None

    @property
    def needs_plan(self) -> bool:
        return bool(PLAN_OUTPUTS & set(self.outputs))

    def plan_options(self) -> dict:
        """The ``musync plan`` options this job sets (the others keep their defaults)."""
        keys = ("style", "seed", "aspect", "fps", "size", "anticipation", "order", "min_shot", "max_shot")
        return {k: getattr(self, k) for k in keys if getattr(self, k) is not None}

    def to_dict(self) -> dict:
        d = {"name": self.name, "line": self.line, "song": self.song, "clips": list(self.clips)}
        d.update(self.plan_options())
        if self.size is not None:
            d["size"] = list(self.size)
        d.update(variants=self.variants, outputs=list(self.outputs), formats=list(self.formats))
        if self.error:
            d["error"] = self.error
        return d


@dataclass(frozen=True)
class JobInputs:
    """The files a job reads, as found now: what its content key is made of.

    Attributes
    ----------
    song_sha256 : str
    clip_files : tuple of (path, size, mtime_ns) for every file the clip folders hold
    missing : tuple of (path, reason) for clip paths that do not exist
    """

    song_sha256: str
    clip_files: tuple = ()
    missing: tuple = field(default=())


# ------------------------------------------------------------------------------------------------
# reading


def read_jobs(path) -> list[Job]:
    """Read a job file: CSV with a header line, or JSON lines (one object per line; a JSON array
    also works). Lines starting with ``#`` and blank lines are ignored.

    Columns (keys): ``song`` (required), ``clips`` (folders or files; ``;`` between several in CSV,
    a list in JSON), ``name``, ``style``, ``seed``, ``variants``, ``aspect``, ``fps``, ``size``,
    ``anticipation``, ``order``, ``min_shot``, ``max_shot``, ``outputs`` (any of
    :data:`OUTPUTS`; default ``analysis plan``), ``formats`` (of ``export``; default ``otio``).
    Relative paths are taken from the job file's folder.

    A line with a bad value becomes a :class:`Job` with ``error`` set (it fails alone, the others
    run). A file that cannot be read, has no ``song`` column or an unknown column raises
    :class:`~musync.errors.ParameterError`.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ParameterError(f"{p}: job file not found; check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ParameterError(f"{p}: cannot read the job file ({exc})") from None
    rows = _rows(text, p)
    return parse_jobs(rows, base=p.resolve().parent, where=str(p))


def _rows(text: str, p: Path) -> list[tuple[int, dict]]:
    """(line number, raw mapping) for every job line of ``text``."""
    lines = text.splitlines()
    first = next((ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")), "")
    if p.suffix.lower() in (".jsonl", ".ndjson", ".json") or first.startswith(("{", "[")):
        return _json_rows(text, lines, p)
    return _csv_rows(lines, p)


def _json_rows(text: str, lines: list[str], p: Path) -> list[tuple[int, dict]]:
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            data = json.loads(stripped)
        except ValueError as exc:
            raise ParameterError(f"{p}: not valid JSON ({exc}); write one JSON object per line") from None
        rows = list(enumerate(data, start=1))
    else:
        rows = []
        for i, ln in enumerate(lines, start=1):
            s = ln.strip()
            if not s or s.startswith("#"):
                continue
            try:
                rows.append((i, json.loads(s)))
            except ValueError as exc:
                raise ParameterError(f"{p}:{i}: not a JSON object ({exc.msg}); write one object per "
                                     "line, e.g. {\"song\": \"a.wav\", \"clips\": [\"clips/\"]}") from None
    for i, r in rows:
        if not isinstance(r, dict):
            raise ParameterError(f"{p}:{i}: expected a JSON object with a \"song\" key")
    return rows


def _csv_rows(lines: list[str], p: Path) -> list[tuple[int, dict]]:
    numbered = [(i, ln) for i, ln in enumerate(lines, start=1)
                if ln.strip() and not ln.lstrip().startswith("#")]
    if not numbered:
        return []
    reader = csv.reader(io.StringIO("\n".join(ln for _, ln in numbered)), skipinitialspace=True)
    try:
        table = list(reader)
    except csv.Error as exc:
        raise ParameterError(f"{p}: not a readable CSV file ({exc})") from None
    header = [h.strip().lower() for h in table[0]]
    rows = []
    for (i, _), cells in zip(numbered[1:], table[1:]):
        if len(cells) > len(header):
            raise ParameterError(f"{p}:{i}: {len(cells)} values for {len(header)} columns; quote values "
                                 "that contain commas (\"a, b\") or use ';' between clip folders")
        rows.append((i, {h: c for h, c in zip(header, cells) if c.strip() != ""}))
    if "song" not in header:
        raise ParameterError(f"{p}: the first line must name the columns and include 'song' "
                             f"(found: {', '.join(header)})")
    return rows


def parse_jobs(rows, *, base=None, where: str = "jobs") -> list[Job]:
    """Jobs from mappings (``[{"song": ..., "clips": [...], ...}, ...]`` or ``(line, mapping)``
    pairs). Relative paths are taken from ``base`` (default: the current folder). See
    :func:`read_jobs` for the keys."""
    base = Path(base) if base is not None else Path.cwd()
    items = [r if isinstance(r, tuple) else (i, r) for i, r in enumerate(rows, start=1)]
    unknown = sorted({k.strip().lower() for _, r in items for k in r} - set(_COLUMNS))
    if unknown:
        raise ParameterError(f"{where}: unknown column(s) {', '.join(unknown)}; known: "
                             f"{', '.join(sorted(set(_COLUMNS)))}")
    jobs = [_parse_one(line, {_COLUMNS[k.strip().lower()]: v for k, v in r.items()}, base)
            for line, r in items]
    return _name_jobs(jobs, where)


def _parse_one(line: int, r: dict, base: Path) -> Job:
    name = str(r.get("name") or "").strip()
    try:
        song = r.get("song")
        if not song or not str(song).strip():
            raise ParameterError("no song given")
        kw = dict(song=_abspath(song, base), clips=tuple(_abspath(c, base) for c in _split(r.get("clips"), ";")))
        kw.update(_plan_fields(r))
        outputs = [o.lower() for o in _split(r.get("outputs"), r"[;,|\s]")] or list(DEFAULT_OUTPUTS)
        bad = sorted(set(outputs) - set(OUTPUTS))
        if bad:
            raise ParameterError(f"unknown output(s) {', '.join(bad)}; choose from {', '.join(OUTPUTS)}")
        kw["outputs"] = tuple(o for o in OUTPUTS if o in outputs)
        kw["formats"] = _formats(r.get("formats"))
        if kw["outputs"] and PLAN_OUTPUTS & set(kw["outputs"]) and not kw["clips"]:
            raise ParameterError(f"outputs {', '.join(sorted(PLAN_OUTPUTS & set(kw['outputs'])))} need "
                                 "clips; add a 'clips' folder")
        return Job(name=name, line=line, **kw)
    except (MusyncError, ValueError, TypeError) as exc:
        return Job(name=name, line=line, song=str(r.get("song") or ""), error=f"line {line}: {exc}")


def _plan_fields(r: dict) -> dict:
    from ..planner import make_settings
    from ..timebase import parse_fps

    kw: dict = {}
    if r.get("style") is not None:
        kw["style"] = str(r["style"]).strip()
    for k in ("seed", "anticipation"):
        if r.get(k) is not None:
            kw[k] = _int(r[k], k)
    if r.get("variants") is not None:
        kw["variants"] = _int(r["variants"], "variants")
        if not 1 <= kw["variants"] <= 20:
            raise ParameterError(f"variants must be 1..20, not {kw['variants']}")
    for k in ("aspect", "order"):
        if r.get(k) is not None:
            kw[k] = str(r[k]).strip()
    if r.get("fps") is not None:
        parse_fps(str(r["fps"]).strip())                       # checked here, passed as written
        kw["fps"] = str(r["fps"]).strip()
    if r.get("size") is not None:
        kw["size"] = _size(r["size"])
    for k in ("min_shot", "max_shot"):
        if r.get(k) is not None:
            try:
                kw[k] = float(r[k])
            except (TypeError, ValueError):
                raise ParameterError(f"{k} must be a number of seconds, not {r[k]!r}") from None
    # the planner checks the combination (style names, aspect, fps range, shot lengths)
    opts = {k: v for k, v in kw.items() if k != "variants"}
    style = opts.pop("style", "energy")
    if "fps" in opts:
        opts["fps"] = parse_fps(opts["fps"])
    make_settings(style, **opts)
    return kw


def _int(v, what: str) -> int:
    try:
        f = float(v)
        if f != int(f):
            raise ValueError
        return int(f)
    except (TypeError, ValueError):
        raise ParameterError(f"{what} must be a whole number, not {v!r}") from None


def _size(v) -> tuple[int, int]:
    if isinstance(v, (list, tuple)) and len(v) == 2:
        return int(v[0]), int(v[1])
    try:
        w, h = str(v).lower().split("x")
        return int(w), int(h)
    except ValueError:
        raise ParameterError(f"size must look like 1280x720, not {v!r}") from None


def _formats(v) -> tuple[str, ...]:
    from ..export import format_for_path

    names = [format_for_path("", f) for f in _split(v, r"[;,|\s]")] or ["otio"]
    return tuple(dict.fromkeys(names))


def _split(v, sep: str) -> list[str]:
    if v is None:
        return []
    if isinstance(v, (list, tuple)):
        return [str(x).strip() for x in v if str(x).strip()]
    return [s.strip() for s in re.split(sep, str(v)) if s.strip()]


def _abspath(v, base: Path) -> str:
    p = Path(os.path.expanduser(str(v).strip()))
    return os.path.abspath(p if p.is_absolute() else base / p)


def _name_jobs(jobs: list[Job], where: str) -> list[Job]:
    """Give every job a unique, safe folder name (named jobs keep theirs)."""
    from dataclasses import replace

    named = [j.name for j in jobs if j.name]
    dup = sorted({n for n in named if named.count(n) > 1})
    if dup:
        raise ParameterError(f"{where}: job name(s) used twice: {', '.join(dup)}; names are output folders")
    for n in named:
        if _NAME_OK.sub("-", n) != n or n.startswith("."):
            raise ParameterError(f"{where}: job name {n!r} is not a plain folder name (letters, digits, "
                                 "'.', '_', '+', '-'; not starting with '.')")
    taken = set(named)

    def unique(cands: list[str]) -> str:
        for c in cands:
            if c not in taken:
                return c
        i = 2
        while f"{cands[-1]}-{i}" in taken:
            i += 1
        return f"{cands[-1]}-{i}"

    stems: dict[str, int] = {}
    for j in jobs:
        if not j.name:
            stem = _NAME_OK.sub("-", Path(j.song).stem or "job").strip("-.") or "job"
            stems[stem] = stems.get(stem, 0) + 1
    out = []
    for j in jobs:
        if j.name:
            out.append(j)
            continue
        stem = _NAME_OK.sub("-", Path(j.song).stem or "job").strip("-.") or "job"
        cands = [stem] if stems[stem] == 1 else []
        detail = f"{stem}-{j.style or 'energy'}-s{j.seed or 0}-{(j.aspect or '16:9').replace(':', 'x')}"
        cands += [detail, f"{detail}-line{j.line}"]
        name = unique(cands)
        taken.add(name)
        out.append(replace(j, name=name))
    return out


# ------------------------------------------------------------------------------------------------
# content keys


def file_sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def job_inputs(job: Job, song_sha256: str) -> JobInputs:
    """The files ``job`` reads as they are now (the clip folders listed as a plan would)."""
    from ..clips import collect_files

    if not job.needs_plan:
        return JobInputs(song_sha256)
    files, missing = collect_files(list(job.clips))
    stats = []
    for f in files:
        try:
            st = f.stat()
            stats.append((str(f), int(st.st_size), int(st.st_mtime_ns)))
        except OSError:
            stats.append((str(f), -1, -1))
    return JobInputs(song_sha256, tuple(stats), tuple((s.path, s.reason) for s in missing))


def job_key(job: Job, inputs: JobInputs) -> str:
    """A hash of everything the job's outputs depend on: the song's content, the clip files
    (path, size, modification time, as the clip cache keys them), the settings, the outputs and
    musync's version. Equal keys mean a finished job need not run again."""
    from .._version import __version__

    d = job.to_dict()
    d.pop("line")
    blob = json.dumps({"job": d, "song": inputs.song_sha256, "clips": inputs.clip_files,
                       "missing": inputs.missing, "musync": __version__, "recipe": _RECIPE},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]
