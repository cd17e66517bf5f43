"""What the workers run: analyse a song, scan a clip, make one job's outputs.

Every task takes and returns small dicts of paths and numbers; the analysis and clip records
themselves are JSON files in the batch's shared folder (``OUTDIR/.batch/``), so nothing large
travels through the scheduler and every worker that can see the folder can use them. Each task
calls only musync's public functions, exactly as ``musync analyze``, ``scan`` and ``plan`` do,
so a plan made here is byte-identical to one made by ``musync plan`` with the same settings.

A task never raises for a bad input: it returns ``{"error": "..."}`` and the batch reports it.
A job's outputs are made in a hidden folder beside their final one and renamed into place at the
end, so a job folder is either complete or absent.

Public: :func:`analyze_song`, :func:`scan_clip_file`, :func:`run_job`, :func:`job_folder_state`,
:data:`EVENT_TOPIC`, :data:`MANIFEST`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import traceback
import uuid
import warnings
from pathlib import Path

__all__ = ["analyze_song", "scan_clip_file", "run_job", "job_folder_state", "EVENT_TOPIC",
           "MANIFEST", "SHARED", "PART", "OLD"]

#: Topic of the events a job task sends the client (start of every attempt).
EVENT_TOPIC = "musync-batch"
#: The file in every finished job folder that records what made it.
MANIFEST = "job.json"
#: The batch's shared folder inside OUTDIR (analyses and clip records by content key).
SHARED = ".batch"
#: Markers of a job folder being made, and of a replaced one being removed.
PART, OLD = ".part-", ".old-"


def _short(exc: BaseException) -> str:
    from ..errors import MusyncError

    if isinstance(exc, MusyncError):
        return str(exc)
    where = traceback.format_exc(limit=4).strip().splitlines()
    tail = f" ({where[-3].strip()})" if len(where) >= 3 else ""
    return f"unexpected {type(exc).__name__}: {exc}{tail}"


def _key(*parts) -> str:
    from .._version import __version__

    return hashlib.sha256(json.dumps([__version__, *parts], default=str).encode()).hexdigest()[:32]


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return f"pid {os.getpid()}"


# ------------------------------------------------------------------------------------------------
# shared inputs


def analyze_song(song: str, sha256: str, outdir: str) -> dict:
    """Analyse ``song`` once for the whole batch; the result is a JSON file in the shared folder
    (reused when it is already there). Returns ``{"path", "seconds", "reused", "error"}``."""
    from .. import analyze, load_analysis, save_analysis

    t0 = time.perf_counter()
    out = Path(outdir) / SHARED / "analysis" / f"{_key(song, sha256)}.json"
    try:
        if out.exists():
            try:
                a = load_analysis(out)
                if a.audio.sha256 == sha256 and a.audio.path == song:
                    return {"path": str(out), "seconds": time.perf_counter() - t0, "reused": True,
                            "error": None}
            except Exception:
                pass                                    # damaged: make it again
        out.parent.mkdir(parents=True, exist_ok=True)
        a = analyze(song)
        if a.audio.sha256 != sha256:
            return {"path": None, "seconds": time.perf_counter() - t0, "reused": False,
                    "error": f"{song}: the file changed while the batch ran; run the batch again"}
        save_analysis(a, out, overwrite=True)
        return {"path": str(out), "seconds": time.perf_counter() - t0, "reused": False, "error": None}
    except Exception as exc:
        return {"path": None, "seconds": time.perf_counter() - t0, "reused": False, "error": _short(exc)}


def scan_clip_file(path: str, stat: tuple, outdir: str) -> dict:
    """Scan one clip file once for the whole batch (the clip-library JSON of that one file, kept
    in the shared folder). A clip that cannot be used is recorded as skipped, with its reason.
    Returns ``{"path", "seconds", "reused", "error"}``."""
    from .. import load_clips, save_clips, scan_clips

    t0 = time.perf_counter()
    out = Path(outdir) / SHARED / "clips" / f"{_key(path, stat)}.json"
    try:
        if out.exists():
            try:
                load_clips(out)
                return {"path": str(out), "seconds": time.perf_counter() - t0, "reused": True, "error": None}
            except Exception:
                pass
        out.parent.mkdir(parents=True, exist_ok=True)
        result = scan_clips([path], workers=1, allow_empty=True)
        save_clips(result, out, overwrite=True)
        return {"path": str(out), "seconds": time.perf_counter() - t0, "reused": False, "error": None}
    except Exception as exc:
        return {"path": None, "seconds": time.perf_counter() - t0, "reused": False, "error": _short(exc)}


def _clip_library(scans: list[dict], clip_files: list, missing: list):
    """The ScanResult ``scan_clips(folders)`` would return, from the one-file records: usable
    clips in file order, then skipped files (missing paths first)."""
    from .. import ScanResult, load_clips
    from ..types import SkippedClip

    clips, skipped = [], [SkippedClip(p, r) for p, r in missing]
    for (path, *_), rec in zip(clip_files, scans):
        if rec.get("error"):
            skipped.append(SkippedClip(path, rec["error"]))
            continue
        one = load_clips(rec["path"])
        clips.extend(one)
        skipped.extend(one.skipped)
    return ScanResult(clips, skipped)


# ------------------------------------------------------------------------------------------------
# one job


def _plans(analysis, clips, job: dict) -> list:
    """The plans ``musync plan`` makes for these options (``--variants``: the chosen style
    first, then the other presets, each with its own seed)."""
    from .. import STYLES, make_settings, plan
    from ..timebase import parse_fps

    opts = dict(job["plan_options"])
    first = opts.pop("style", None) or "energy"
    if "fps" in opts:
        opts["fps"] = parse_fps(opts["fps"])
    if "size" in opts:
        opts["size"] = tuple(opts["size"])
    seed = opts.pop("seed", None)
    order = [first] + [s for s in STYLES if s != first]
    out = []
    for i in range(job["variants"]):
        out.append(plan(analysis, clips, make_settings(order[i % len(order)], seed=(seed or 0) + i, **opts)))
    return out


def _names(stem: str, suffix: str, n: int) -> list[str]:
    return [f"{stem}{suffix}"] if n == 1 else [f"{stem}-{i + 1}{suffix}" for i in range(n)]


def _report(plan_names: list[str], part: Path, final: Path, analysis, clips) -> list[str]:
    """The ``report`` output: ``musync report`` of the job's plan(s) (the variants side by side),
    one self-contained HTML file."""
    from .._fs import write_text
    from ..review import write_report

    out = part / "report.html"
    write_report(part / plan_names[0], out, compare=[part / n for n in plan_names[1:]],
                 analysis=analysis, clips=clips)
    # the page names the plan file it shows: the job folder it is about to be renamed to
    html = out.read_text(encoding="utf-8")
    if str(part) in html:
        write_text(out, html.replace(str(part), str(final)), overwrite=True)
    return ["report.html"]


def _make_outputs(job: dict, analysis, clips, part: Path, final: Path, times: dict, notes: list) -> list[str]:
    from .. import export, preview, render, save_analysis, save_plan

    outputs: list[str] = []
    wanted = set(job["outputs"])

    def timed(stage, fn):
        t = time.perf_counter()
        r = fn()
        times[stage] = round(times.get(stage, 0.0) + time.perf_counter() - t, 3)
        return r

    if "analysis" in wanted:
        timed("analysis", lambda: save_analysis(analysis, part / "analysis.json"))
        outputs.append("analysis.json")
    if clips is not None:
        plans = timed("plan", lambda: _plans(analysis, clips, job))
        n = len(plans)
        plan_names = _names("plan", ".json", n)
        for p, name in zip(plans, plan_names):
            timed("plan", lambda: save_plan(p, part / name))
            outputs.append(name)
        for w in plans[0].warnings:
            notes.append(w)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")            # kept in the results, noted below
            if "preview" in wanted:
                for p, name in zip(plans, _names("preview", ".mp4", n)):
                    res = timed("preview", lambda: preview(p, part / name))
                    notes.extend(f"{name}: {w}" for w in res.warnings)
                    outputs.append(name)
            if "draft" in wanted:
                for p, name in zip(plans, _names("draft", ".mp4", n)):
                    res = timed("draft", lambda: render(p, part / name, mode="draft"))
                    notes.extend(f"{name}: {w}" for w in res.warnings)
                    outputs.append(name)
        if "export" in wanted:
            from ..export import FORMATS

            for fmt in job["formats"]:
                for p, name in zip(plans, _names("edit", FORMATS[fmt].suffix, n)):
                    timed("export", lambda: export(p, part / name, fmt))
                    outputs.append(name)
        if "report" in wanted:
            outputs.extend(timed("report", lambda: _report(plan_names, part, final, analysis, clips)))
    return outputs


def run_job(job: dict, analysis: dict, scans: list, outdir: str) -> dict:
    """Make the outputs of one job in ``OUTDIR/<name>/``.

    ``job`` is :meth:`Job.to_dict` plus ``key``, ``plan_options``, ``clip_files`` and
    ``missing``; ``analysis`` and ``scans`` are what :func:`analyze_song` and
    :func:`scan_clip_file` returned. Returns ``{"name", "state", "seconds", "outputs",
    "warnings", "error", "worker", "times"}`` with state ``done`` or ``failed``.
    """
    from .. import load_analysis

    t0 = time.perf_counter()
    name = job["name"]
    worker = _worker_name()
    _send_event({"job": name, "batch": job.get("batch"), "event": "start", "worker": worker,
                 "pid": os.getpid()})
    result = {"name": name, "state": "failed", "seconds": 0.0, "outputs": [], "warnings": [],
              "error": None, "worker": worker, "times": {}}
    final = Path(outdir) / name
    part = Path(outdir) / f".{name}{PART}{uuid.uuid4().hex[:8]}"
    try:
        if analysis.get("error"):
            raise _JobFailed(analysis["error"])
        a = load_analysis(analysis["path"])
        result["times"]["song_analysis"] = round(analysis["seconds"], 3)
        notes = [f"{Path(job['song']).name}: {w}" for w in a.warnings]
        clips = None
        if job["clip_files"] is not None:
            clips = _clip_library(scans, job["clip_files"], job["missing"])
            result["times"]["clip_scans"] = round(sum(s["seconds"] for s in scans), 3)
            notes.extend(f"skipped {Path(s.path).name}: {s.reason}" for s in clips.skipped)
        part.mkdir(parents=True)
        outputs = _make_outputs(job, a, clips, part, final, result["times"], notes)
        manifest = {"version": 1, "name": name, "key": job["key"], "song": job["song"],
                    "clips": job["clips"], "job": {k: v for k, v in job.items()
                                                   if k not in ("clip_files", "missing", "key", "batch")},
                    "outputs": outputs, "warnings": notes, "times": result["times"], "worker": worker,
                    "seconds": round(time.perf_counter() - t0, 3)}
        from .._fs import write_text

        write_text(part / MANIFEST, json.dumps(manifest, indent=1) + "\n")
        _publish(part, final, job["key"])
        result.update(state="done", outputs=outputs, warnings=notes)
    except _JobFailed as exc:
        result["error"] = str(exc)
    except Exception as exc:
        result["error"] = _short(exc)
    finally:
        shutil.rmtree(part, ignore_errors=True)
        result["seconds"] = round(time.perf_counter() - t0, 3)
    return result


class _JobFailed(Exception):
    pass


def _send_event(msg: dict) -> None:
    try:
        from distributed import get_worker

        get_worker().log_event(EVENT_TOPIC, msg)
    except (ImportError, ValueError):
        pass                                             # not on a Dask worker


def _publish(part: Path, final: Path, key: str) -> None:
    """Rename the finished ``part`` folder to ``final``, replacing an out-of-date one. When
    another attempt of the same job got there first, keep its folder."""
    if final.exists():
        if job_folder_state(final, key) == "done":
            return
        old = final.with_name(f".{final.name}{OLD}{uuid.uuid4().hex[:8]}")
        os.rename(final, old)
        try:
            os.rename(part, final)
        finally:
            shutil.rmtree(old, ignore_errors=True)
        return
    try:
        os.rename(part, final)
    except OSError:
        if job_folder_state(final, key) != "done":
            raise


def job_folder_state(folder: Path, key: str | None = None) -> str:
    """``"missing"``, ``"foreign"`` (a folder musync batch did not write), ``"stale"`` (written
    for other inputs, or outputs missing) or ``"done"`` (finished for ``key``)."""
    folder = Path(folder)
    if not folder.exists():
        return "missing"
    try:
        m = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "foreign"
    if not isinstance(m, dict) or "key" not in m:
        return "foreign"
    if key is not None and m.get("key") != key:
        return "stale"
    if not all((folder / o).is_file() for o in m.get("outputs", [])):
        return "stale"
    return "done"
