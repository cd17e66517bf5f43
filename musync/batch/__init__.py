"""Batches that outgrow one machine: the same pipeline as a Dask task graph.

A job file lists jobs (a song, clip folders, plan settings, the outputs wanted); every song is
analysed once and every clip scanned once for all the jobs that use it, then each job plans,
renders and exports into its own folder. With no scheduler a local cluster of worker processes
runs it (one per core); with a scheduler address (or a ``distributed.Client``) the same tasks go
to that cluster. Data travels as paths: songs, clips and the output folder must be visible to
every worker at the same paths.

Public functions and types:

- :func:`batch` -- run a job file (or a list of job mappings) into an output folder.
- :func:`read_jobs` / :func:`parse_jobs` -- the job file, checked; :class:`Job`, :data:`OUTPUTS`.
- :class:`BatchResult`, :class:`JobResult`, :class:`BatchInterrupted`, :class:`BatchEvent`,
  :func:`format_summary` -- what a batch reports.
"""

from __future__ import annotations

import os
from pathlib import Path

from .engine import BatchEvent, format_event, run_batch
from .jobs import OUTPUTS, Job, parse_jobs, read_jobs
from .summary import SUMMARY, BatchInterrupted, BatchResult, JobResult, format_summary

__all__ = ["batch", "read_jobs", "parse_jobs", "Job", "OUTPUTS", "BatchResult", "JobResult",
           "BatchInterrupted", "BatchEvent", "format_summary", "format_event", "SUMMARY"]


def batch(jobs, outdir=None, *, scheduler=None, workers: int | None = None, force: bool = False,
          overwrite: bool = False, progress=None) -> BatchResult:
    """Run a batch of jobs on Dask.

    Parameters
    ----------
    jobs : path, or sequence of mappings or :class:`Job`
        A job file (CSV or JSON lines, see :func:`read_jobs`), or the jobs themselves, e.g.
        ``[{"song": "a.wav", "clips": ["clips/"], "outputs": ["plan", "preview"]}]`` (relative
        paths then start from the current folder).
    outdir : path, optional
        Where every job gets its folder ``OUTDIR/<name>/`` (default: ``<job file stem>-out`` in the
        current folder, or ``batch-out``). ``OUTDIR/summary.json`` lists every job.
    scheduler : str or distributed.Client, optional
        A Dask scheduler address (``tcp://host:8786``), a scheduler file (``.json``) or a client.
        None starts a local cluster of ``workers`` processes and closes it at the end.
    workers : int, optional
        Worker processes of the local cluster (default: one per core).
    force : bool
        Run finished jobs again too (otherwise a job whose inputs, settings and musync version are
        unchanged since it finished is skipped).
    overwrite : bool
        Replace job folders that musync batch did not write.
    progress : None, "plain", "json" or callable
        Lines on stderr, JSON lines on stderr, or a callable receiving :class:`BatchEvent`.

    Returns
    -------
    BatchResult
        Every job with its state (``done``, ``skipped``, ``failed``), time and outputs. A failing
        job does not stop the others; a job whose worker dies is run again on another worker.

    Raises
    ------
    BatchInterrupted
        (a KeyboardInterrupt) on Ctrl-C or SIGTERM, after the workers of a local cluster are ended,
        unfinished job folders removed and the summary written; ``.result`` has it.
    ParameterError
        A job file that cannot be read, or options that do not fit.
    MusyncError
        The scheduler cannot be reached, or its workers run another musync version.

    Examples
    --------
    >>> import musync                                                  # doctest: +SKIP
    >>> res = musync.batch("jobs.csv", "out/", progress="plain")       # doctest: +SKIP
    >>> [(j.name, j.state, j.outputs) for j in res.jobs]               # doctest: +SKIP
    """
    jobs_file = None
    if isinstance(jobs, (str, os.PathLike)):
        jobs_file = str(Path(jobs).resolve())
        job_list = read_jobs(jobs)
        default_out = f"{Path(jobs).stem}-out"
    else:
        items = list(jobs)
        job_list = items if items and all(isinstance(j, Job) for j in items) else parse_jobs(items)
        default_out = "batch-out"
    return run_batch(job_list, outdir if outdir is not None else default_out, scheduler=scheduler,
                     workers=workers, force=force, overwrite=overwrite, progress=progress,
                     jobs_file=jobs_file)
