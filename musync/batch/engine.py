"""Running a batch on Dask: the cluster, the task graph, progress, interruption, the summary.

The graph: one :func:`~musync.batch.tasks.analyze_song` task per song, one
:func:`~musync.batch.tasks.scan_clip_file` task per clip file (shared by every job that uses the
clip), then one :func:`~musync.batch.tasks.run_job` task per job depending on its song and its
clips. With no scheduler address a :class:`distributed.LocalCluster` of worker processes (one per
core) is started and closed again; with one, the batch connects to that cluster and submits the
same tasks.

Public: :func:`run_batch`, :class:`BatchEvent`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import shutil
import signal
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from .._proc import sigterm_as_interrupt
from ..errors import MusyncError, ParameterError
from .jobs import Job, file_sha256, job_inputs, job_key
from .summary import BatchInterrupted, BatchResult, JobResult, write_summary
from .tasks import EVENT_TOPIC, MANIFEST, OLD, PART, SHARED, job_folder_state

__all__ = ["run_batch", "BatchEvent"]

_INSTALL_HINT = "musync batch needs Dask distributed: pip install 'musync[batch]'"
_POLL = 0.2                  # seconds between looks at the futures
_WORKER_WAIT = 60.0          # seconds to wait for a first worker on an external cluster


@dataclass(frozen=True)
class BatchEvent:
    """Something the batch reports while it runs.

    Attributes
    ----------
    kind : str       ``"info"`` (a message), ``"start"``, ``"retry"`` (a job began on a worker,
                     again after its worker died), ``"done"``, ``"failed"``, ``"skipped"``
    job : str        the job's name ("" for info)
    message : str    a line for a person
    done, failed, skipped, running, total : int   counts after this event
    elapsed : float  seconds since the batch started
    """

    kind: str
    job: str
    message: str
    done: int
    failed: int
    skipped: int
    running: int
    total: int
    elapsed: float

    def to_dict(self) -> dict:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


class _Reporter:
    def __init__(self, progress, total: int):
        self.cb = _progress_callback(progress)
        self.total = total
        self.t0 = time.perf_counter()
        self.counts = {"done": 0, "failed": 0, "skipped": 0}
        self.running: set[str] = set()

    def __call__(self, kind: str, job: str = "", message: str = "") -> None:
        if kind in self.counts:
            self.counts[kind] += 1
            self.running.discard(job)
        elif kind in ("start", "retry"):
            self.running.add(job)
        if self.cb is not None:
            self.cb(BatchEvent(kind, job, message, self.counts["done"], self.counts["failed"],
                               self.counts["skipped"], len(self.running), self.total,
                               time.perf_counter() - self.t0))


def _progress_callback(progress):
    import sys

    if progress is None or progress == "none":
        return None
    if callable(progress):
        return progress
    if progress in ("plain", "json"):
        def write(ev: BatchEvent) -> None:
            line = json.dumps(ev.to_dict()) if progress == "json" else format_event(ev)
            with contextlib.suppress(OSError, ValueError):
                sys.stderr.write(line + "\n")
                sys.stderr.flush()
        return write
    raise ParameterError(f"progress must be None, 'plain', 'json', 'none' or a callable; got {progress!r}")


def format_event(ev: BatchEvent) -> str:
    """One line of plain progress."""
    if ev.kind == "info":
        return f"batch: {ev.message}"
    finished = ev.done + ev.failed + ev.skipped
    head = (f"[{finished}/{ev.total}] {ev.done} done, {ev.running} running, {ev.failed} failed"
            + (f", {ev.skipped} skipped" if ev.skipped else ""))
    return f"{head}  {ev.job}: {ev.message}"


# ------------------------------------------------------------------------------------------------
# the cluster


def _cpu_count() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


class _Cluster:
    """A client on a local cluster we own, or on the user's scheduler."""

    def __init__(self, scheduler, workers: int | None, report):
        try:
            import distributed
        except ImportError:
            raise MusyncError(_INSTALL_HINT) from None
        if scheduler is not None and workers is not None:
            raise ParameterError("--workers is for the local cluster; an existing cluster keeps its own workers")
        self.own = None
        self.client = None
        self._scratch = None             # our local cluster's worker folder (removed by close)
        self.external_client = isinstance(scheduler, distributed.Client)
        self._before = _child_pids()
        try:
            if self.external_client:
                self.client = scheduler
            elif scheduler:
                self.client = self._connect(distributed, str(scheduler))
            else:
                self.own = self._local(distributed, workers)
                self.client = distributed.Client(self.own)
            self.address = self.client.scheduler.address
            self._check_workers(report)
            self.dashboard = self._dashboard()
        except BaseException:
            self.close()
            raise

    def _local(self, distributed, workers):
        import importlib.util
        import tempfile

        n = int(workers) if workers else _cpu_count()
        if n < 1:
            raise ParameterError(f"workers must be at least 1; got {workers}")
        has_dashboard = importlib.util.find_spec("bokeh") is not None
        # the workers' scratch space in a folder of our own, not Dask's shared one in the temp
        # dir (which Dask leaves there, with a lock of every worker that did not end cleanly)
        self._scratch = tempfile.mkdtemp(prefix="musync-dask-")
        return distributed.LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address="127.0.0.1:0" if has_dashboard else None,
            silence_logs=logging.ERROR, local_directory=self._scratch,
            scheduler_kwargs={"local_directory": self._scratch})

    @staticmethod
    def _connect(distributed, where: str):
        kw = {"scheduler_file": where} if where.endswith(".json") and os.path.isfile(where) else {"address": where}
        try:
            return distributed.Client(timeout="10s", **kw)
        except (OSError, TimeoutError, ValueError) as exc:
            raise MusyncError(f"cannot reach the Dask scheduler at {where} ({exc}); start one with "
                              "`dask scheduler` and workers with `dask worker ADDRESS`, or leave out "
                              "--scheduler to use this machine") from None

    def _check_workers(self, report) -> None:
        from .._version import __version__

        info = self.client.scheduler_info()
        if not info.get("workers"):
            report("info", message=f"waiting for workers to join {self.address}")
            try:
                self.client.wait_for_workers(1, timeout=_WORKER_WAIT)
            except TimeoutError:
                raise MusyncError(f"no worker joined the Dask scheduler at {self.address} in "
                                  f"{_WORKER_WAIT:.0f} s; start some with `dask worker {self.address}`") from None
        import importlib.metadata

        versions = self.client.run(importlib.metadata.version, "musync", on_error="return")
        wrong = {w: v for w, v in versions.items() if v != __version__}
        if wrong:
            w, v = next(iter(wrong.items()))
            v = v if isinstance(v, str) else "(not installed)"
            raise MusyncError(f"worker {w} has musync {v}, this is {__version__}; install the same "
                              "musync on every worker (plans must be made by the same code)")

    def _dashboard(self) -> str | None:
        services = self.client.scheduler_info().get("services", {})
        if "dashboard" not in services:
            return None
        try:
            return self.client.dashboard_link
        except Exception:
            return None

    @property
    def n_workers(self) -> int:
        return len(self.client.scheduler_info().get("workers", {}))

    def close(self) -> None:
        """Close the client and, for our own cluster, end every process it started."""
        import psutil

        procs = []
        if self.own is not None:
            # the cluster's worker processes are our children, started after ``__init__`` began
            for p in _spawned_children(self._before):
                with contextlib.suppress(psutil.Error):
                    procs += [p] + p.children(recursive=True)
        if not self.external_client and self.client is not None:
            with contextlib.suppress(Exception):
                self.client.close(timeout=5)
        if self.own is not None:
            with contextlib.suppress(Exception):
                self.own.close(timeout=10)
        # whatever outlived the cluster's own shutdown (a render's encoder, a stuck worker)
        _, alive = psutil.wait_procs(procs, timeout=5)
        for p in alive:
            with contextlib.suppress(psutil.Error):
                p.kill()
        psutil.wait_procs(alive, timeout=5)
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None


def _child_pids() -> set[int]:
    import psutil

    return {p.pid for p in psutil.Process().children()}


def _spawned_children(before: set[int]) -> list:
    """Our child processes started by multiprocessing (the local cluster's workers) since."""
    import psutil

    out = []
    for p in psutil.Process().children():
        if p.pid in before:
            continue
        with contextlib.suppress(psutil.Error):
            if any("spawn_main" in part for part in p.cmdline()):
                out.append(p)
    return out


# ------------------------------------------------------------------------------------------------
# the batch


@contextlib.contextmanager
def _outdir_lock(outdir: Path):
    import fcntl

    lock_path = outdir / SHARED / "lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(lock_path, "w")
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise ParameterError(f"{outdir}: another musync batch is writing to this folder; wait for "
                                 "it or choose another -o") from None
        yield
    finally:
        fh.close()


def _remove_leftovers(outdir: Path, keep: set[str] = frozenset()) -> None:
    """Remove job folders being made and replaced ones that a dead run left behind."""
    for p in outdir.iterdir():
        if p.name.startswith(".") and (PART in p.name or OLD in p.name) and p.is_dir():
            if p.name.split(PART)[0].split(OLD)[0][1:] in keep:
                continue
            shutil.rmtree(p, ignore_errors=True)
    for sub in ("analysis", "clips"):
        d = outdir / SHARED / sub
        if d.is_dir():
            for p in d.iterdir():
                if p.name.startswith(".") and ".part" in p.name:
                    with contextlib.suppress(OSError):
                        p.unlink()


class _SongHashes:
    """sha256 of each song, remembered by (path, size, mtime) in the shared folder."""

    def __init__(self, outdir: Path):
        self.path = outdir / SHARED / "songs.json"
        try:
            self.memo = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.memo = {}
        self.changed = False

    def __call__(self, song: str) -> str:
        st = os.stat(song)
        k = f"{song}|{st.st_size}|{st.st_mtime_ns}"
        if k not in self.memo:
            self.memo[k] = file_sha256(song)
            self.changed = True
        return self.memo[k]

    def save(self) -> None:
        if self.changed:
            from .._fs import write_text

            with contextlib.suppress(OSError, MusyncError):
                write_text(self.path, json.dumps(self.memo, indent=0, sort_keys=True), overwrite=True)


@contextlib.contextmanager
def _quiet_engine():
    """Dask's own INFO and WARNING lines (workers starting, a worker restarted) are replaced by
    the batch's progress; its errors still show. Restored afterwards."""
    with contextlib.suppress(ImportError):
        import distributed  # noqa: F401  (it sets its loggers up when first imported)
    lg = logging.getLogger("distributed")
    old = lg.level
    if lg.getEffectiveLevel() < logging.ERROR:
        lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        lg.setLevel(old)


@contextlib.contextmanager
def _no_interrupts():
    """Hold Ctrl-C and SIGTERM while the batch cleans up (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        for s in old:
            signal.signal(s, signal.SIG_IGN)
    except (ValueError, OSError):
        pass
    try:
        yield
    finally:
        for s, h in old.items():
            with contextlib.suppress(ValueError, OSError, TypeError):
                signal.signal(s, h)


def _plan_jobs(jobs: list[Job], outdir: Path, force: bool, overwrite: bool, report):
    """Split the jobs into those to run (with their key and inputs) and those settled now."""
    hashes = _SongHashes(outdir)
    to_run, settled = [], {}
    for j in jobs:
        if j.error:
            settled[j.name] = JobResult(j.name, j.line, "failed", error=j.error)
            continue
        try:
            if not os.path.isfile(j.song):
                raise MusyncError(f"{j.song}: file not found; check the path")
            inputs = job_inputs(j, hashes(j.song))
        except OSError as exc:
            settled[j.name] = JobResult(j.name, j.line, "failed", error=f"{j.song}: cannot be read ({exc})")
            continue
        except MusyncError as exc:
            settled[j.name] = JobResult(j.name, j.line, "failed", error=str(exc))
            continue
        key = job_key(j, inputs)
        state = job_folder_state(outdir / j.name, key)
        if state == "done" and not force:
            settled[j.name] = _finished_now(j, outdir, key).replace(state="skipped", attempts=0, worker=None)
            continue
        if state == "foreign" and not overwrite:
            settled[j.name] = JobResult(j.name, j.line, "failed", error=(
                f"{outdir / j.name} exists and was not written by musync batch; move it away or pass "
                "-y/--overwrite"))
            continue
        to_run.append((j, key, inputs))
    hashes.save()
    for name, r in settled.items():
        if r.state == "skipped":
            report("skipped", name, "finished earlier (inputs unchanged)")
        else:
            report("failed", name, r.error or "")
    return to_run, settled


def _submit(client, to_run, outdir: Path, batch_id: str):
    """The task graph: analyses and scans shared by key, one job task each."""
    from .tasks import analyze_song, run_job, scan_clip_file

    songs, scans, futures = {}, {}, {}
    od = str(outdir)
    for j, key, inputs in to_run:
        sk = j.song
        if sk not in songs:
            songs[sk] = client.submit(analyze_song, j.song, inputs.song_sha256, od, pure=False,
                                      key=f"analyze-{Path(j.song).name}-{key[:8]}")
        clip_futs = []
        if j.needs_plan:
            for f in inputs.clip_files:
                if f not in scans:
                    scans[f] = client.submit(scan_clip_file, f[0], f, od, pure=False,
                                             key=f"scan-{Path(f[0]).name}-{key[:8]}")
                clip_futs.append(scans[f])
        payload = j.to_dict()
        payload.update(key=key, batch=batch_id, plan_options=j.plan_options(),
                       clip_files=[list(f) for f in inputs.clip_files] if j.needs_plan else None,
                       missing=[list(m) for m in inputs.missing])
        if "size" in payload["plan_options"]:
            payload["plan_options"]["size"] = list(payload["plan_options"]["size"])
        futures[j.name] = client.submit(run_job, payload, songs[sk], clip_futs, od, pure=False,
                                        key=f"job-{j.name}-{key[:8]}", retries=0)
    return futures, len(songs), len(scans)


@contextlib.contextmanager
def _job_events(client):
    """A queue of the (time, message) events job tasks send while the block runs."""
    events: queue.Queue = queue.Queue()
    try:
        client.subscribe_topic(EVENT_TOPIC, lambda ev: events.put(ev))
        subscribed = True
    except Exception:                       # an old scheduler: no starts reported, results still are
        subscribed = False
    try:
        yield events
    finally:
        if subscribed:
            with contextlib.suppress(Exception):
                client.unsubscribe_topic(EVENT_TOPIC)


def _watch(futures: dict, events, batch_id: str, lines: dict, outdir: Path, report, results: dict) -> None:
    """Wait for the job futures, reporting starts (and restarts) and ends, and put each job's
    result into ``results`` as it comes (so an interruption keeps what had finished)."""
    attempts: dict[str, int] = {}
    pending = dict(futures)
    while pending:
        for name, fut in list(pending.items()):
            if not fut.done():
                continue
            del pending[name]
            results[name] = _result_of(name, lines[name], fut, attempts.get(name, 0), outdir)
            r = results[name]
            if r.state == "done":
                report("done", name, f"done in {r.seconds:.1f} s" + (f" (attempt {r.attempts})"
                                                                     if r.attempts > 1 else ""))
            else:
                report("failed", name, f"failed: {r.error}")
        _drain(events, attempts, pending, report, batch_id)
        if pending:
            time.sleep(_POLL)
    _drain(events, attempts, pending, report, batch_id)
    for name in futures:                 # a start event can arrive after its job's result
        r = results.get(name)
        if r is not None and r.state == "done" and attempts.get(name, 0) > r.attempts:
            results[name] = r.replace(attempts=attempts[name])


def _drain(events, attempts, pending, report, batch_id: str) -> None:
    while True:
        try:
            _, msg = events.get_nowait()
        except queue.Empty:
            return
        if not isinstance(msg, dict) or msg.get("event") != "start" or msg.get("batch") != batch_id:
            continue
        name = msg.get("job", "")
        attempts[name] = attempts.get(name, 0) + 1
        if name not in pending:
            continue
        if attempts[name] == 1:
            report("start", name, f"running on {msg.get('worker', '?')}")
        else:
            report("retry", name, f"its worker died; running again on {msg.get('worker', '?')} "
                                  f"(attempt {attempts[name]})")


def _result_of(name: str, line: int, fut, attempts: int, outdir: Path) -> JobResult:
    if fut.status == "finished":
        d = fut.result()
        return JobResult(name, line, d["state"], seconds=d["seconds"], outputs=tuple(d["outputs"]),
                         error=d["error"], warnings=tuple(d["warnings"]), worker=d["worker"],
                         attempts=max(1, attempts), times=d.get("times") or {},
                         folder=str(outdir / name) if d["state"] == "done" else None)
    if fut.status == "cancelled":
        return JobResult(name, line, "cancelled", attempts=attempts)
    exc = fut.exception()
    msg = f"{type(exc).__name__}: {exc}"
    if type(exc).__name__ == "KilledWorker":
        msg = (f"every worker that ran it died ({attempts} attempt(s)); it may need more memory than a "
               "worker has, or crash the decoder")
    return JobResult(name, line, "failed", error=msg, attempts=attempts)


def _finished_now(j: Job, outdir: Path, key: str | None) -> JobResult | None:
    """The result of a job whose folder is complete for ``key`` although no result came back."""
    folder = outdir / j.name
    if key is None or job_folder_state(folder, key) != "done":
        return None
    m = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    return JobResult(j.name, j.line, "done", seconds=m.get("seconds"), outputs=tuple(m.get("outputs", ())),
                     warnings=tuple(m.get("warnings", ())), worker=m.get("worker"), attempts=1,
                     times=m.get("times") or {}, folder=str(folder), key=key)


def run_batch(jobs: list[Job], outdir, *, scheduler=None, workers: int | None = None, force: bool = False,
              overwrite: bool = False, progress=None, jobs_file: str | None = None) -> BatchResult:
    """Run ``jobs`` into ``outdir`` (see :func:`musync.batch`)."""
    t0 = time.perf_counter()
    outdir = Path(outdir).resolve()
    if outdir.exists() and not outdir.is_dir():
        raise ParameterError(f"{outdir}: is a file; give a folder for the batch outputs")
    if not outdir.parent.is_dir():
        raise ParameterError(f"{outdir}: folder {outdir.parent} does not exist; create it first")
    outdir.mkdir(exist_ok=True)
    lines = {j.name: j.line for j in jobs}
    report = _Reporter(progress, len(jobs))
    cluster_info: dict = {}
    with _outdir_lock(outdir), _quiet_engine():
        _remove_leftovers(outdir)
        to_run, results = _plan_jobs(jobs, outdir, force, overwrite, report)
        interrupted = 0
        cluster = None
        futures: dict = {}
        try:
            with sigterm_as_interrupt(only_if_unhandled=True):
                if to_run:
                    cluster = _Cluster(scheduler, workers, report)
                    cluster_info = {"scheduler": cluster.address, "workers": cluster.n_workers,
                                    "dashboard": cluster.dashboard, "local": cluster.own is not None}
                    where = "a local cluster" if cluster.own is not None else cluster.address
                    report("info", message=f"{len(to_run)} job(s) to run on {where} "
                                           f"({cluster.n_workers} worker(s))"
                                           + (f"; dashboard {cluster.dashboard}" if cluster.dashboard else ""))
                    with _job_events(cluster.client) as events:
                        batch_id = uuid.uuid4().hex
                        futures, n_songs, n_clips = _submit(cluster.client, to_run, outdir, batch_id)
                        report("info", message=f"{n_songs} song(s) to analyse, {n_clips} clip file(s) to scan")
                        _watch(futures, events, batch_id, lines, outdir, report, results)
        except KeyboardInterrupt as exc:
            interrupted = getattr(exc, "signum", signal.SIGINT)
        finally:
            with _no_interrupts():
                running = set(report.running)
                if cluster is not None:
                    if interrupted:
                        with contextlib.suppress(Exception):
                            cluster.client.cancel(list(futures.values()), force=True)
                    cluster.close()
                # jobs still running on someone else's cluster finish there; their folders stay
                keep = running if (interrupted and cluster is not None and cluster.own is None) else set()
                _remove_leftovers(outdir, keep)
                keys = {j.name: key for j, key, _ in to_run}
                for j in jobs:
                    if j.name in results:
                        continue
                    done = _finished_now(j, outdir, keys.get(j.name))
                    if done is not None:                 # it finished as the batch stopped
                        results[j.name] = done
                        continue
                    note = ("still running on the cluster when the batch stopped; its folder appears "
                            "when it finishes" if j.name in keep else "the batch was interrupted")
                    results[j.name] = JobResult(j.name, j.line, "cancelled", error=note)
                res = BatchResult(tuple(results[j.name] for j in jobs), outdir=str(outdir),
                                  seconds=time.perf_counter() - t0, cluster=cluster_info,
                                  interrupted=bool(interrupted), jobs_file=jobs_file)
                res = write_summary(res)
    if interrupted:
        raise BatchInterrupted(res, interrupted)
    return res
