"""One review of one plan: the current plan, its undo history, the saved version, variants, and
the draft or preview being rendered. The web app is a thin layer over this class; scripts can
use it directly.

Public: :class:`ReviewSession` (``ReviewSession.open(path, ...)`` loads a plan, analyses its
song and scans its clips, both from musync's cache when they were seen before).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from pathlib import Path

from ..errors import MusyncError, ParameterError, PlanError
from ..planfile import load_plan, plan_to_json, save_plan
from ..types import Analysis, ClipInfo, Plan, PlanClip
from . import edit
from .diff import diff_plans
from .store import recovery_path, save_keeping_previous

__all__ = ["ReviewSession", "MEDIA_KINDS"]

#: What the page can play: a preview (cards and clicks, seconds to make) or a draft render.
MEDIA_KINDS = ("preview", "draft")

_UNDO_DEPTH = 200


def _digest(plan: Plan) -> str:
    return hashlib.sha256(plan_to_json(plan).encode()).hexdigest()[:16]


class _Job:
    """A render of one plan state in a child process (so Ctrl-C and shutdown can end it)."""

    def __init__(self, kind: str, plan: Plan, folder: Path, allow_changed_media: bool = False):
        self.kind = kind
        self.digest = _digest(plan)
        self.out = folder / f"{kind}-{self.digest}.mp4"
        src = folder / f"plan-{self.digest}.json"
        if not src.exists():
            save_plan(plan, src, overwrite=True)
        self.started = time.monotonic()
        self.error = ""
        if self.out.exists():
            self.proc = None
            return
        # "draft" is `musync render --draft` (from the proxies); "preview" is `musync preview`
        command = ["render", "--draft"] if kind == "draft" else [kind]
        cmd = [sys.executable, "-m", "musync", "-q", *command, str(src), "-o", str(self.out), "-y",
               "--progress", "none"] + (["--allow-changed-media"] if allow_changed_media and kind == "draft" else [])
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, start_new_session=True)

    @property
    def status(self) -> str:
        if self.proc is None:
            return "done" if self.out.exists() else "failed"
        rc = self.proc.poll()
        if rc is None:
            return "running"
        if rc == 0 and self.out.exists():
            return "done"
        if not self.error:
            err = (self.proc.stderr.read() if self.proc.stderr else b"").decode("utf-8", "replace")
            lines = [ln for ln in err.splitlines() if ln.strip()]
            self.error = lines[-1] if lines else f"exit code {rc}"
        return "failed"

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)   # render cleans up its temporary file
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None and self.proc.stderr:
            self.proc.stderr.close()


def _drop_renders(jobs: dict, folder: str) -> None:
    """Stop the renders still running (their children write into ``folder``), then remove it."""
    for job in list(jobs.values()):
        with contextlib.suppress(Exception):
            job.stop()
    jobs.clear()
    shutil.rmtree(folder, ignore_errors=True)


class ReviewSession:
    """The state of one review.

    Parameters
    ----------
    path : where the plan is saved (the file it was loaded from)
    plan : the plan as loaded
    analysis : the song's Analysis, or None (no waveform, energy or re-plan)
    clips : ClipInfo records of the clip library (the plan's clips and any others), or None
        (re-plans and swaps then use only what the plan carries)
    compare : ``(name, Plan)`` pairs to show beside the plan (other variants, other versions)
    video : an existing render of the loaded plan to play (a draft)

    Every method that changes the plan returns the new current plan; the previous one is on
    the undo stack. Methods are thread-safe.
    """

    def __init__(self, path, plan: Plan, *, analysis: Analysis | None = None, clips=None, compare=(),
                 video=None, warnings=(), allow_changed_media: bool = False):
        self.path = Path(path)
        #: re-plans accept a song or clip changed since planning (with a warning in the plan)
        self.allow_changed_media = bool(allow_changed_media)
        self.analysis = analysis
        self.clips = [c for c in clips if isinstance(c, ClipInfo)] if clips is not None else None
        self.warnings = list(warnings)
        self._lock = threading.RLock()
        self._states: list[tuple[Plan, str]] = [(plan, "opened")]
        self._pos = 0
        self.saved = plan
        self.saved_digest = _digest(plan)
        self.last_saved_to: str | None = None
        # (name, plan, generated here): given plans stay when new variants are made
        self.variants: list[tuple[str, Plan, bool]] = [(str(n), p, False) for n, p in compare]
        self._library = self._make_library(plan)
        self._tmp_dir: Path | None = None          # made by the first render, removed by close()
        self._jobs: dict[str, _Job] = {}
        self._video = Path(video).resolve() if video else None
        self._video_digest = _digest(plan) if video else None
        self.metrics_stale = False

    # -- opening -------------------------------------------------------------------------------
    @classmethod
    def open(cls, path, extra_clips=(), *, compare=(), video=None, use_cache: bool = True,
             progress=None, analysis: Analysis | None = None, clips=None,
             allow_changed_media: bool = False) -> "ReviewSession":
        """Load the plan at ``path``, analyse its song and scan its clips (plus ``extra_clips``:
        files or folders) so that re-plans and swaps work. A missing song or clip folder is a
        warning, not an error: the review then shows what the plan carries.
        ``compare`` is a list of other plan files to show beside it; ``allow_changed_media``
        lets re-plans and draft renders use a song or clip changed since planning."""
        from .. import analyze, scan_clips

        plan = load_plan(path)
        warnings = []
        if analysis is None:
            song = Path(plan.audio.path)
            if song.is_file():
                analysis = analyze(song, use_cache=use_cache)
            else:
                warnings.append(f"song not found at {song}: no waveform, and re-plans are off")
        if clips is None:
            paths = sorted({c.path for c in plan.clips} | {s.source for s in plan.shots}) + list(extra_clips)
            present = [p for p in paths if Path(p).exists()]
            missing = len(paths) - len(present)
            if missing:
                warnings.append(f"{missing} clip file(s) of the plan are missing: their thumbnails are blank")
            if present:
                try:
                    clips = scan_clips(present, progress=progress, use_cache=use_cache)
                except MusyncError as exc:
                    warnings.append(f"clips could not be scanned ({exc}): swaps use the plan's clips only")
                    clips = None
                else:
                    warnings += [f"skipped {s.path}: {s.reason}" for s in clips.skipped]
        others = [(Path(c).name, load_plan(c)) for c in compare]
        return cls(path, plan, analysis=analysis, clips=clips, compare=others, video=video, warnings=warnings,
                   allow_changed_media=allow_changed_media)

    def _make_library(self, plan: Plan) -> list[str]:
        paths = {c.path for c in plan.clips}
        if self.clips:
            paths |= {c.path for c in self.clips}
        for _, v, _ in self.variants:
            paths |= {c.path for c in v.clips}
        return sorted(paths)

    # -- reading -------------------------------------------------------------------------------
    @property
    def plan(self) -> Plan:
        return self._states[self._pos][0]

    @property
    def dirty(self) -> bool:
        return _digest(self.plan) != self.saved_digest

    @property
    def library(self) -> list[str]:
        """Every clip the review knows, by path (an index into this list names a clip)."""
        return self._library

    def clip_record(self, path: str) -> dict:
        """What the scan knows about a clip (its full record), else what the plan carries."""
        for c in self.clips or ():
            if c.path == path:
                return c.to_dict()
        for p in [self.plan] + [v for _, v, _ in self.variants]:
            c = p.clip(path)
            if c is not None:
                return c.to_dict()
        return {"path": path}

    def plan_clip(self, path: str) -> PlanClip | None:
        for p in [self.plan, self.saved] + [v for _, v, _ in self.variants]:
            c = p.clip(path)
            if c is not None:
                return c
        for c in self.clips or ():
            if c.path == path:
                return PlanClip.from_clip(c)
        return None

    def state(self) -> dict:
        """Undo/redo, dirty flag, what can be played, warnings: what the page shows in its bar."""
        with self._lock:
            digest = _digest(self.plan)
            media = {}
            if self._video is not None:
                media["draft"] = {"status": "done" if self._video.exists() else "failed",
                                  "stale": digest != self._video_digest, "error": ""}
            for kind, job in self._jobs.items():
                media[kind] = {"status": job.status, "stale": digest != job.digest, "error": job.error}
            return {"path": str(self.path), "dirty": self.dirty, "can_undo": self._pos > 0,
                    "can_redo": self._pos < len(self._states) - 1,
                    "undo": self._states[self._pos][1] if self._pos > 0 else "",
                    "redo": self._states[self._pos + 1][1] if self._pos < len(self._states) - 1 else "",
                    "can_replan": self.analysis is not None and self.clips is not None,
                    "metrics_stale": self.metrics_stale, "saved_to": self.last_saved_to,
                    "media": media, "warnings": list(self.warnings),
                    "variants": [n for n, _, _ in self.variants]}

    # -- changing ------------------------------------------------------------------------------
    def _push(self, plan: Plan, label: str, *, stale: bool = True) -> Plan:
        with self._lock:
            if _digest(plan) == _digest(self.plan):
                return self.plan
            del self._states[self._pos + 1:]
            self._states.append((plan, label))
            if len(self._states) > _UNDO_DEPTH:
                del self._states[0]
            self._pos = len(self._states) - 1
            self.metrics_stale = stale
            for c in plan.clips:
                if c.path not in self._library:
                    self._library = sorted(set(self._library) | {c.path})
            return plan

    def lock(self, shots, locked: bool = True) -> Plan:
        with self._lock:
            shots = list(shots)
            what = "lock" if locked else "unlock"
            label = f"{what} shot {shots[0]}" if len(shots) == 1 else f"{what} {len(shots)} shots"
            return self._push(edit.lock_shots(self.plan, shots, locked), label, stale=self.metrics_stale)

    def swap(self, shot: int, source: str, source_in: int | None = None) -> Plan:
        with self._lock:
            p = edit.swap_clip(self.plan, shot, source, source_in=source_in, clips=self.clips or ())
            return self._push(p, f"swap shot {shot} to {Path(source).name}")

    def set_in_point(self, shot: int, source_in: int) -> Plan:
        with self._lock:
            return self._push(edit.set_in_point(self.plan, shot, source_in), f"in-point of shot {shot}")

    def nudge(self, shot: int, beats: int) -> Plan:
        with self._lock:
            return self._push(edit.nudge_cut(self.plan, shot, beats),
                              f"move the cut before shot {shot} {'later' if beats > 0 else 'earlier'}")

    def _replan(self, plan: Plan, **overrides) -> Plan:
        from ..planner import replan

        if self.analysis is None:
            raise ParameterError("re-planning needs the song; it was not found where the plan says")
        clips = self.clips if self.clips is not None else None
        if clips is None:
            raise ParameterError("re-planning needs the clips; none of the plan's clip files were found")
        return replan(plan, self.analysis, clips, allow_changed_media=self.allow_changed_media, **overrides)

    def replan(self) -> Plan:
        """Re-plan everything that is not locked (the locked shots are kept exactly)."""
        with self._lock:
            p = self._replan(self.plan)
            n = sum(s.locked for s in p.shots)
            return self._push(p, f"re-plan around {n} locked shot{'s' if n != 1 else ''}", stale=False)

    def undo(self) -> Plan:
        with self._lock:
            if self._pos > 0:
                self._pos -= 1
            return self.plan

    def redo(self) -> Plan:
        with self._lock:
            if self._pos < len(self._states) - 1:
                self._pos += 1
            return self.plan

    def save(self, path=None) -> dict:
        """Write the current plan to ``path`` (default: the file it came from), keeping the
        version it replaces in the history folder. Returns ``{"path", "previous"}``."""
        with self._lock:
            target = Path(path) if path else self.path
            out, prev = save_keeping_previous(self.plan, target)
            if target == self.path:
                self.saved = self.plan
                self.saved_digest = _digest(self.plan)
            self.last_saved_to = str(out)
            rec = recovery_path(self.path)
            if target == self.path and rec.exists():
                rec.unlink()
            return {"path": str(out), "previous": str(prev) if prev else None}

    # -- variants and diffs --------------------------------------------------------------------
    def make_variants(self, n: int = 3) -> list[tuple[str, Plan]]:
        """``n`` re-plans of the current plan around its locks: the current style with the next
        seeds, then the other style presets. They replace earlier generated variants (plans
        given with ``compare`` stay)."""
        from ..planner import STYLES, make_settings

        if not 1 <= int(n) <= 12:
            raise ParameterError("variants: ask for 1 to 12")
        with self._lock:
            cur = self.plan.settings
            styles = [cur.style] + [s for s in STYLES if s != cur.style]
            keep = {k: v for k, v in cur.to_dict().items()
                    if k in ("fps", "aspect", "size", "anticipation", "order", "min_shot", "climax_build",
                             "weights")}
            out = []
            for i in range(int(n)):
                style = styles[i % len(styles)]
                seed = cur.seed + i + 1
                kw = dict(keep)
                kw["size"] = tuple(kw["size"])
                settings = make_settings(style, seed=seed, **kw)
                if style == cur.style:
                    settings = dataclasses.replace(cur, seed=seed)
                from ..planner import replan

                if self.analysis is None or self.clips is None:
                    raise ParameterError("variants need the song and the clips (re-plans are off)")
                out.append((f"{style} / seed {seed}", replan(self.plan, self.analysis, self.clips,
                                                            settings=settings)))
            self.variants = [v for v in self.variants if not v[2]] + [(nm, p, True) for nm, p in out]
            for _, p in out:
                self._library = sorted(set(self._library) | {c.path for c in p.clips})
            return [(nm, p) for nm, p, _ in self.variants]

    def variant(self, i: int) -> Plan:
        if not 0 <= int(i) < len(self.variants):
            raise ParameterError(f"variant {i} does not exist ({len(self.variants)} variants)")
        return self.variants[int(i)][1]

    def variant_list(self) -> list[tuple[str, Plan]]:
        """The plans shown beside the current one: ``(name, plan)``."""
        return [(n, p) for n, p, _ in self.variants]

    def adopt(self, i: int) -> Plan:
        """Make variant ``i`` the current plan (undo brings the previous one back)."""
        with self._lock:
            p = self.variant(i)
            name = self.variants[int(i)][0]
            if abs(p.duration_frames - self.plan.duration_frames) > 0 or p.fps != self.plan.fps:
                raise PlanError(f"variant {name} is of another song length or frame rate")
            return self._push(p, f"take variant {name}", stale=False)

    def diff(self, against: str = "saved") -> dict:
        """The diff from ``against`` (``saved``, ``opened`` or ``variant-<i>``) to the current plan."""
        with self._lock:
            if against == "saved":
                base = self.saved
            elif against == "opened":
                base = self._states[0][0]
            elif against.startswith("variant-") and against[len("variant-"):].lstrip("-").isdigit():
                base = self.variant(int(against[len("variant-"):]))
            else:
                raise ParameterError("diff against 'saved', 'opened' or 'variant-<i>'")
            return diff_plans(base, self.plan).to_dict()

    def alternatives(self, shot: int, limit: int | None = 24) -> list[dict]:
        return edit.alternatives(self.plan, shot, self.clips or (), limit=limit)

    # -- media ---------------------------------------------------------------------------------
    def render(self, kind: str) -> dict:
        """Start rendering the current plan as a ``preview`` or ``draft`` (in a child process)."""
        if kind not in MEDIA_KINDS:
            raise ParameterError(f"render kind must be one of {', '.join(MEDIA_KINDS)}")
        with self._lock:
            old = self._jobs.get(kind)
            if old is not None and old.digest == _digest(self.plan) and old.status in ("running", "done"):
                return self.state()
            if old is not None:
                old.stop()
            self._jobs[kind] = _Job(kind, self.plan, self._render_dir(), self.allow_changed_media)
            return self.state()

    def _render_dir(self) -> Path:
        """The session's folder for renders, made on first use; removed by :meth:`close`, or
        when the session is garbage-collected or the interpreter exits without a close."""
        if self._tmp_dir is None:
            self._tmp_dir = Path(tempfile.mkdtemp(prefix="musync-review-"))
            self._tmp_finalizer = weakref.finalize(self, _drop_renders, self._jobs, str(self._tmp_dir))
        return self._tmp_dir

    def media_file(self, kind: str) -> Path | None:
        """The newest finished render of ``kind`` (a draft given at start counts), or None."""
        with self._lock:
            job = self._jobs.get(kind)
            if job is not None and job.status == "done":
                return job.out
            if kind == "draft" and self._video is not None and self._video.exists():
                return self._video
            return None

    # -- closing -------------------------------------------------------------------------------
    def close(self) -> Path | None:
        """Stop renders, remove temporary files; unsaved changes are written to
        :func:`~musync.review.store.recovery_path` (returned), never dropped."""
        with self._lock:
            if self._tmp_dir is not None:     # (no render without it: nothing else to stop)
                self._tmp_finalizer()         # _drop_renders: the renders stopped, their folder gone
                self._tmp_dir = None
            if self.dirty:
                rec = recovery_path(self.path)
                save_plan(self.plan, rec, overwrite=True)
                return rec
            return None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

