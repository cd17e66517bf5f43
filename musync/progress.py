"""Progress reporting for long-running stages (scanning clips, rendering, ...).

A library function takes ``progress=`` and passes it to :func:`make_progress`, which accepts:

- ``None`` or ``"none"`` -- silent (the library default);
- ``"auto"`` -- a bar on stderr when stderr is a terminal, otherwise silent;
- ``"bar"`` -- a bar on stderr, redrawn in place (drawn by ``tqdm``);
- ``"plain"`` -- plain lines on stderr, at most about one every few seconds (good for logs);
- ``"json"`` -- one JSON object per event on stderr (good for wrappers and GUIs):
  ``{"event": "progress", "stage", "done", "total", "item", "status", "elapsed", "unit"}``; the
  CLI then writes its other messages as ``{"event": "info"|"warning"|"error", "message"}``;
- a callable -- called with a :class:`ProgressEvent` after every step.

Public: :class:`ProgressEvent`, :class:`Progress`, :func:`make_progress`, :data:`PROGRESS_MODES`.

Examples
--------
>>> from musync.progress import make_progress
>>> events = []
>>> with make_progress(events.append, "scan", total=2, unit="clips") as p:
...     p.advance(item="a.mp4")
...     p.advance(item="b.mp4", status="skipped")
>>> [(e.done, e.total, e.item) for e in events]
[(1, 2, 'a.mp4'), (2, 2, 'b.mp4')]
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass

from .errors import ParameterError

__all__ = ["ProgressEvent", "Progress", "make_progress", "PROGRESS_MODES"]

#: The output modes accepted by :func:`make_progress` (and the CLI's ``--progress``).
PROGRESS_MODES = ("auto", "bar", "plain", "json", "none")


@dataclass(frozen=True)
class ProgressEvent:
    """One step of a stage.

    Attributes
    ----------
    stage : str      what is running, e.g. ``"scan"``
    done : int       steps finished so far
    total : int      steps in all (0 when unknown)
    item : str       what the last step worked on (e.g. a file name)
    status : str     short outcome of that step (e.g. ``"ok"``, ``"skipped"``, ``"cached"``)
    elapsed : float  seconds since the stage started
    unit : str       what a step is, e.g. ``"clips"`` or ``"frames"``
    """

    stage: str
    done: int
    total: int
    item: str = ""
    status: str = ""
    elapsed: float = 0.0
    unit: str = ""

    @property
    def fraction(self) -> float:
        """Share done in [0, 1] (0 when the total is unknown)."""
        return min(1.0, self.done / self.total) if self.total > 0 else 0.0

    def to_dict(self) -> dict:
        return {"stage": self.stage, "done": self.done, "total": self.total, "item": self.item,
                "status": self.status, "elapsed": round(self.elapsed, 3), "unit": self.unit}


class Progress:
    """Counts the steps of one stage and reports them (see :func:`make_progress`).

    Use as a context manager, or call :meth:`close` at the end; closing finishes the bar's line.
    """

    def __init__(self, stage: str, total: int, *, mode: str = "none", callback=None, stream=None,
                 unit: str = "", plain_interval: float = 5.0):
        if mode not in PROGRESS_MODES:
            raise ParameterError(f"progress mode {mode!r} is not one of {', '.join(PROGRESS_MODES)}")
        self.stage = stage
        self.total = max(0, int(total))
        self.unit = unit
        self.done = 0
        self._callback = callback
        self._stream = stream if stream is not None else sys.stderr
        if mode == "auto":
            isatty = getattr(self._stream, "isatty", None)
            mode = "bar" if isatty is not None and isatty() else "none"
        self.mode = mode
        self._plain_interval = plain_interval
        self._t0 = time.perf_counter()
        self._last_plain = -1e9
        self._bar = None
        self._closed = False

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def advance(self, n: int = 1, *, item: str = "", status: str = "") -> None:
        """Record ``n`` more finished steps; ``item`` and ``status`` describe the last one."""
        self.done += int(n)
        ev = ProgressEvent(self.stage, self.done, self.total, str(item), str(status),
                           time.perf_counter() - self._t0, self.unit)
        if self._callback is not None:
            self._callback(ev)
        if self.mode == "bar":
            self._draw_bar(ev)
        elif self.mode == "plain":
            finished = self.total > 0 and self.done >= self.total
            if finished or ev.elapsed - self._last_plain >= self._plain_interval:
                self._last_plain = ev.elapsed
                self._write(self._plain_line(ev) + "\n")
        elif self.mode == "json":
            self._write(json.dumps({"event": "progress", **ev.to_dict()}) + "\n")

    def close(self) -> None:
        """Finish the output (ends the bar's line). Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        if self._bar is not None:
            try:
                self._bar.close()
            except (OSError, ValueError):
                pass

    # -- rendering -----------------------------------------------------------------------------

    def _write(self, text: str) -> None:
        try:
            self._stream.write(text)
            self._stream.flush()
        except (OSError, ValueError):
            pass  # a closed or broken stderr must not break the work

    def _rate_eta(self, ev: ProgressEvent) -> tuple[str, str]:
        if ev.done <= 0 or ev.elapsed <= 0:
            return "", ""
        rate = ev.done / ev.elapsed
        unit = f" {self.unit}/s" if self.unit else "/s"
        eta = ""
        if ev.total > ev.done:
            eta = f"eta {_fmt_seconds((ev.total - ev.done) / rate)}"
        return f"{rate:.1f}{unit}", eta

    def _plain_line(self, ev: ProgressEvent) -> str:
        rate, eta = self._rate_eta(ev)
        total = f"/{ev.total}" if ev.total else ""
        pct = f" ({100 * ev.fraction:.0f}%)" if ev.total else ""
        parts = [f"{ev.stage}: {ev.done}{total}{pct}", rate, eta]
        if ev.item:
            parts.append(ev.item + (f" [{ev.status}]" if ev.status else ""))
        return "  ".join(p for p in parts if p)

    def _draw_bar(self, ev: ProgressEvent) -> None:
        try:
            if self._bar is None:
                from tqdm import tqdm

                self._bar = tqdm(total=self.total or None, desc=self.stage, unit=f" {self.unit}" if self.unit
                                 else "it", file=self._stream, dynamic_ncols=True, leave=True,
                                 mininterval=0.2)
            self._bar.update(ev.done - self._bar.n)
            if ev.item:
                self._bar.set_postfix_str(ev.item + (f" [{ev.status}]" if ev.status else ""), refresh=False)
        except (OSError, ValueError):
            pass  # a closed or broken stderr must not break the work


def _fmt_seconds(s: float) -> str:
    s = int(round(s))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


def make_progress(progress, stage: str, total: int, *, unit: str = "", stream=None) -> Progress:
    """Build the :class:`Progress` a library call asked for.

    Parameters
    ----------
    progress : None, str or callable
        ``None`` (silent), one of :data:`PROGRESS_MODES`, or a callable taking a
        :class:`ProgressEvent` (then nothing is printed).
    stage : str
        Name shown in the output and passed in events, e.g. ``"scan"``.
    total : int
        Number of steps (0 when unknown).
    unit : str
        What one step is, e.g. ``"clips"``.
    stream : file, optional
        Where text goes (default ``sys.stderr``).
    """
    if progress is None:
        return Progress(stage, total, mode="none", unit=unit, stream=stream)
    if callable(progress):
        return Progress(stage, total, mode="none", callback=progress, unit=unit, stream=stream)
    if isinstance(progress, str):
        return Progress(stage, total, mode=progress.lower(), unit=unit, stream=stream)
    raise ParameterError(f"progress must be None, a callable or one of {', '.join(PROGRESS_MODES)}; "
                         f"got {progress!r}")
