"""Batch speed on Dask: 20 generated songs (analysis + plan + preview) on 1 and on 2 workers.

Every song is made here (``musync.testing.make_song``, 30-45 s, tempo 84-140 BPM, different forms)
with one shared folder of 8 generated clips; each job asks for ``analysis``, ``plan`` and
``preview``. For each worker count the script starts a ``LocalCluster`` (processes, one thread
each), lets the workers import musync, and then times ``musync.batch`` on that client from an
empty output folder and an empty musync cache (the numba kernels are compiled once beforehand into
a ``NUMBA_CACHE_DIR`` all processes share, so no run pays for compiling). Runs alternate 1, 2, 1, 2 ... workers so both
see the same machine load; the median of ``--repeat`` runs is reported.

Printed:

- wall time of the batch, the speed-up of 2 workers over 1 (target >= 1.6x), the CPU time the
  workers and their encoders used and the cores that makes on average (CPU / wall: on a shared
  machine, below the worker count when other processes take the cores), the cluster start time
  (not part of the batch time);
- from Dask's task stream: the summed compute time of the tasks, how busy the workers were
  (compute / (workers x wall)), and the engine's overhead per job on 1 worker: wall time not
  spent computing, divided by the jobs (scheduler round trips, serialisation, waiting for events);
- a micro-benchmark of the engine alone: round trip of one job-shaped task (the same argument
  and result sizes, no work) submitted one at a time, and throughput of 200 at once;
- the machine's load average before and after, since the machine may be shared.

Usage::

    python benchmarks/batch.py [--songs 20] [--repeat 1] [--workers 1,2] [--markdown] [--keep DIR]
"""

from __future__ import annotations

import argparse
import datetime
import os
import pickle
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from _common import format_table  # noqa: E402

FORMS = (
    [("intro", 2), ("verse", 4), ("chorus", 4), ("outro", 2)],
    [("intro", 2), ("verse", 2), ("chorus", 4), ("bridge", 2), ("chorus", 2)],
    [("verse", 4), ("chorus", 4), ("verse", 2), ("chorus", 4)],
)


def make_media(folder: Path, n_songs: int) -> tuple[list[Path], Path]:
    """``n_songs`` songs and one clip folder (reused when already there)."""
    import musync.testing as mt

    folder.mkdir(parents=True, exist_ok=True)
    songs = []
    for i in range(n_songs):
        p = folder / f"song{i:02d}.wav"
        if not p.exists():
            bpm = 84 + (i * 37) % 57                     # 84..140 BPM, spread out
            form = FORMS[i % len(FORMS)]
            bars = sum(b for _, b in form)
            # stretch the form so every song is 30-45 s long
            scale = max(1, round((30 + 15 * (i % 4) / 3) / (bars * 4 * 60.0 / bpm)))
            mt.make_song(bpm=bpm, form=[(k, b * scale) for k, b in form], seed=100 + i).write(p)
        songs.append(p)
    clips = folder / "clips"
    if not clips.exists():
        mt.make_clip_files(clips, 8, seconds=3.0, size=(320, 180), seed=5)
    return songs, clips


def warm_kernels(song: Path, clips: Path, cache: Path) -> None:
    """Compile musync's kernels once into ``cache`` (then copied into every run's cache)."""
    import musync

    os.environ["MUSYNC_CACHE_DIR"] = str(cache)
    a = musync.analyze(song, use_cache=False)
    musync.plan(a, musync.scan_clips([clips], use_cache=False, workers=1))


def _cpu() -> float:
    """CPU seconds of this process and its reaped children (a worker and its encoders)."""
    import resource

    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _noop_job(job: dict, analysis: dict, scans: list, outdir: str) -> dict:
    """A job task that does nothing: the engine's own cost."""
    return {"name": job["name"], "state": "done", "seconds": 0.0, "outputs": ["plan.json"] * 3,
            "warnings": [], "error": None, "worker": "", "times": {}}


def engine_overhead(client, payload: dict, n: int = 200) -> dict:
    """Round trip of one job-shaped task at a time, and throughput of ``n`` at once."""
    fake_analysis = {"path": "/x/analysis.json", "seconds": 1.0, "reused": False, "error": None}
    scans = [dict(fake_analysis) for _ in range(8)]
    client.submit(_noop_job, payload, fake_analysis, scans, "/x", pure=False).result()   # warm
    t = time.perf_counter()
    for _ in range(50):
        client.submit(_noop_job, payload, fake_analysis, scans, "/x", pure=False).result()
    rtt = (time.perf_counter() - t) / 50
    t = time.perf_counter()
    futs = [client.submit(_noop_job, payload, fake_analysis, scans, "/x", pure=False) for _ in range(n)]
    client.gather(futs)
    bulk = (time.perf_counter() - t) / n
    return {"round_trip": rtt, "per_task_bulk": bulk,
            "payload_bytes": len(pickle.dumps((payload, fake_analysis, scans))),
            "result_bytes": len(pickle.dumps(_noop_job(payload, fake_analysis, scans, "/x")))}


def run_once(n_workers: int, jobs: list[dict], work: Path, warm_cache: Path, run_id: int):
    import distributed

    import musync

    cache = work / f"cache-{run_id}"              # empty: no analysis or clip record cached
    shutil.rmtree(cache, ignore_errors=True)
    os.environ["MUSYNC_CACHE_DIR"] = str(cache)
    out = work / f"out-{run_id}"
    shutil.rmtree(out, ignore_errors=True)
    t = time.perf_counter()
    cluster = distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                       dashboard_address=None, host="127.0.0.1")
    client = distributed.Client(cluster)
    try:
        client.run(lambda: __import__("musync").__version__)           # import on every worker
        start = time.perf_counter() - t
        cpu0 = sum(client.run(_cpu).values())
        with distributed.get_task_stream(client) as ts:
            t = time.perf_counter()
            res = musync.batch(jobs, out, scheduler=client)
            wall = time.perf_counter() - t
        cpu = sum(client.run(_cpu).values()) - cpu0
        assert res.ok, res.to_dict()
        compute = 0.0
        by_kind: dict[str, float] = {}
        by_worker: dict[str, float] = {}
        for task in ts.data:
            for ss in task["startstops"]:
                if ss["action"] == "compute":
                    d = ss["stop"] - ss["start"]
                    compute += d
                    by_worker[task["worker"]] = by_worker.get(task["worker"], 0.0) + d
                    kind = str(task["key"]).split("-")[0]
                    by_kind[kind] = by_kind.get(kind, 0.0) + d
        stages: dict[str, float] = {}
        for j in res.jobs:
            for k, v in j.times.items():
                if k not in ("song_analysis", "clip_scans"):
                    stages[k] = stages.get(k, 0.0) + v
        over = engine_overhead(client, _payload_like(res, out)) if run_id < 2 else None
        return {"workers": n_workers, "wall": wall, "start": start, "compute": compute, "cpu": cpu,
                "busiest": max(by_worker.values()),
                "busy": compute / (n_workers * wall), "by_kind": by_kind, "stages": stages,
                "overhead": over, "tasks": len(ts.data)}
    finally:
        client.close()
        cluster.close()
        shutil.rmtree(cache, ignore_errors=True)


def _payload_like(res, out: Path) -> dict:
    """A job payload of the real size (the manifest of a finished job holds it)."""
    import json

    j = res.jobs[0]
    m = json.loads((out / j.name / "job.json").read_text())
    payload = dict(m["job"])
    payload.update(key=m["key"], clip_files=[[f"/clips/shot_{i:02d}.mp4", 123456, 1700000000000000000]
                                             for i in range(8)], missing=[])
    return payload


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--songs", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=1, help="runs per worker count (median reported)")
    ap.add_argument("--workers", default="1,2", help="worker counts, e.g. 1,2")
    ap.add_argument("--keep", type=Path, default=None, help="keep the generated media here (reused)")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args(argv)
    counts = [int(x) for x in args.workers.split(",")]

    work = Path(tempfile.mkdtemp(prefix="musync-batch-bench-"))
    media = args.keep or work / "media"
    # one kernel cache for this process and every worker, kept apart from the per-run caches
    os.environ.setdefault("NUMBA_CACHE_DIR", str(work / "numba"))
    load0 = os.getloadavg()
    t0 = time.perf_counter()
    songs, clips = make_media(media, args.songs)
    warm = work / "warm-cache"
    warm_kernels(songs[0], clips, warm)
    jobs = [{"song": str(s), "clips": [str(clips)], "outputs": ["analysis", "plan", "preview"]} for s in songs]
    runs: dict[int, list[dict]] = {n: [] for n in counts}
    run_id = 0
    try:
        for _ in range(args.repeat):
            for n in counts:
                r = run_once(n, jobs, work, warm, run_id)
                run_id += 1
                runs[n].append(r)
                print(f"  {n} worker(s): {r['wall']:.1f} s (cluster start {r['start']:.1f} s, "
                      f"load {os.getloadavg()[0]:.1f})", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load1 = os.getloadavg()

    def med(n, key):
        return statistics.median(r[key] for r in runs[n])

    base = counts[0]
    rows = []
    for n in counts:
        rows.append([str(n), f"{med(n, 'wall'):.1f}", f"{med(base, 'wall') / med(n, 'wall'):.2f}x",
                     f"{med(n, 'compute'):.1f}", f"{100 * med(n, 'busy'):.0f}%", f"{med(n, 'cpu'):.1f}",
                     f"{med(n, 'cpu') / med(n, 'wall'):.2f}", f"{med(n, 'start'):.1f}", str(runs[n][0]["tasks"])])
    md = args.markdown
    if base == 1 and len(counts) > 1:
        n2 = counts[-1]
        proj = med(base, "compute") / med(n2, "busiest")
        print(f"projection for free cores: the busiest of {n2} workers computed {med(n2, 'busiest'):.1f} s "
              f"against {med(base, 'compute'):.1f} s on 1 worker: {proj:.2f}x (compute times stretch "
              f"under load too, so this is a guide, not a measurement)")
        print()
    print(format_table(["workers", "batch wall (s)", "speed-up", "task compute (s)", "workers busy",
                        "worker CPU (s)", "cores used", "cluster start (s)", "tasks"], rows,
                       title=f"{args.songs} songs x (analysis + plan + preview), median of {args.repeat}",
                       markdown=md))
    print()
    one = runs[base][0]
    per_job = (one["wall"] - one["compute"]) / args.songs if base == 1 else float("nan")
    stage_rows = [[k, f"{v:.1f}"] for k, v in sorted(one["by_kind"].items())]
    stage_rows += [[f"  job: {k}", f"{v:.1f}"] for k, v in sorted(one["stages"].items())]
    print(format_table(["task kind (1st run)", "compute (s)"], stage_rows, markdown=md))
    print()
    ov = next((r["overhead"] for n in counts for r in runs[n] if r["overhead"]), None)
    orow = [["wall not computing, per job (1 worker)", f"{1000 * per_job:.0f} ms"]]
    if ov:
        orow += [["job-shaped no-op task, round trip", f"{1000 * ov['round_trip']:.1f} ms"],
                 ["200 no-op tasks at once, per task", f"{1000 * ov['per_task_bulk']:.1f} ms"],
                 ["job task arguments (pickled)", f"{ov['payload_bytes']} bytes"],
                 ["job task result (pickled)", f"{ov['result_bytes']} bytes"]]
    print(format_table(["engine overhead", "value"], orow, markdown=md))
    print()
    import distributed

    import musync

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"musync {musync.__version__}, distributed {distributed.__version__}; "
          f"load average {load0[0]:.1f} before, {load1[0]:.1f} after; "
          f"{datetime.date.today().isoformat()}; total {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
