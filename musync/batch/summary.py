"""What a batch did: every job, its state, its time and its outputs (JSON and a table).

Public: :class:`JobResult`, :class:`BatchResult`, :class:`BatchInterrupted`, :func:`write_summary`,
:func:`format_summary`, :data:`SUMMARY`, :data:`STATES`.
"""

from __future__ import annotations

import dataclasses
import json
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import Interrupted

__all__ = ["JobResult", "BatchResult", "BatchInterrupted", "write_summary", "format_summary", "SUMMARY",
           "STATES"]

#: The summary file in the output folder (rewritten by every run of the batch).
SUMMARY = "summary.json"
#: Job states: made now, finished by an earlier run with the same inputs, failed, not finished
#: because the batch was interrupted.
STATES = ("done", "skipped", "failed", "cancelled")


@dataclass(frozen=True)
class JobResult:
    """One job's outcome.

    Attributes
    ----------
    name : str            the job (its output folder's name)
    line : int            its line in the job file
    state : str           one of :data:`STATES`
    seconds : float       time the job's own task took (its song's analysis and the clip scans
                          are shared and counted in ``times``); for a skipped job, the time
                          recorded when it was made
    outputs : tuple of str  files in the job's folder
    error : str or None   why it failed (or was cancelled)
    warnings : tuple of str
    worker : str          the worker that made it
    attempts : int        how often it was started (more than 1 after a worker died)
    times : dict          seconds per stage
    folder : str or None  the job's output folder
    key : str or None     the content key its folder was made for
    """

    name: str
    line: int
    state: str
    seconds: float | None = None
    outputs: tuple = ()
    error: str | None = None
    warnings: tuple = ()
    worker: str | None = None
    attempts: int = 0
    times: dict = field(default_factory=dict)
    folder: str | None = None
    key: str | None = None

    def replace(self, **kw) -> "JobResult":
        return dataclasses.replace(self, **kw)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["outputs"], d["warnings"] = list(self.outputs), list(self.warnings)
        if d["seconds"] is not None:
            d["seconds"] = round(d["seconds"], 3)
        return d


@dataclass(frozen=True)
class BatchResult:
    """A whole batch.

    Attributes
    ----------
    jobs : tuple of JobResult   in job-file order
    outdir : str
    seconds : float             wall time of the run
    cluster : dict              ``scheduler``, ``workers``, ``dashboard``, ``local`` (empty when
                                nothing had to run)
    interrupted : bool
    jobs_file : str or None
    summary : str or None       the summary JSON file
    """

    jobs: tuple
    outdir: str
    seconds: float
    cluster: dict = field(default_factory=dict)
    interrupted: bool = False
    jobs_file: str | None = None
    summary: str | None = None

    def count(self, state: str) -> int:
        return sum(1 for j in self.jobs if j.state == state)

    @property
    def ok(self) -> bool:
        """Every job done or skipped."""
        return all(j.state in ("done", "skipped") for j in self.jobs)

    def __getitem__(self, name: str) -> JobResult:
        for j in self.jobs:
            if j.name == name:
                return j
        raise KeyError(name)

    def to_dict(self) -> dict:
        from .._version import __version__

        return {"version": 1, "musync": __version__, "jobs_file": self.jobs_file, "outdir": self.outdir,
                "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "seconds": round(self.seconds, 3),
                "interrupted": self.interrupted, "cluster": self.cluster,
                "counts": {s: self.count(s) for s in STATES},
                "jobs": [j.to_dict() for j in self.jobs]}


class BatchInterrupted(Interrupted):
    """Ctrl-C (or SIGTERM) stopped the batch (a KeyboardInterrupt); ``result`` says what was
    finished, ``signum`` which signal it was."""

    def __init__(self, result: BatchResult, signum: int = signal.SIGINT):
        super().__init__(signum)
        self.result = result


def write_summary(result: BatchResult) -> BatchResult:
    """Write ``OUTDIR/summary.json`` (atomically); return the result with its path."""
    from .._fs import write_text

    path = Path(result.outdir) / SUMMARY
    write_text(path, json.dumps(result.to_dict(), indent=1) + "\n", overwrite=True)
    return dataclasses.replace(result, summary=str(path))


def format_summary(result: BatchResult, *, width: int = 60) -> str:
    """The summary as an aligned text table, one row per job, and a line of totals."""
    rows = []
    for j in result.jobs:
        t = f"{j.seconds:.1f} s" if j.seconds is not None else "-"
        note = j.error or ""
        if j.state == "done" and j.attempts > 1:
            note = f"retried: {j.attempts} attempts"
        outs = " ".join(j.outputs)
        if len(outs) > width:
            outs = outs[: width - 3] + "..."
        rows.append((j.name, j.state, t, outs, note))
    heads = ("job", "state", "time", "outputs", "note")
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(heads[:-1])]
    lines = ["  ".join(h.ljust(w) for h, w in zip(heads[:-1], widths)) + "  " + heads[-1]]
    for r in rows:
        lines.append(("  ".join(c.ljust(w) for c, w in zip(r[:-1], widths)) + "  " + r[-1]).rstrip())
    counts = ", ".join(f"{result.count(s)} {s}" for s in STATES if result.count(s))
    lines.append(f"{len(result.jobs)} job(s): {counts or 'none'} in {result.seconds:.1f} s"
                 + (f"; summary {result.summary}" if result.summary else ""))
    return "\n".join(lines)
