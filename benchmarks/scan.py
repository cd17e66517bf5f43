"""Clip-scanning speed: musync.scan_clips against the decode floor.

Two sets of clips:

- ``generated``: 20 clips of 8 s at 1080p30 (H.264, libx264 ultrafast, about 15 Mbit/s), made
  here with ffmpeg from lavfi's moving test pattern, each with another hue, saturation and
  brightness;
- ``real``: the clips in ``../shared/data/video`` (skipped when that folder is absent).

For each set it times, best of ``--repeat`` runs, all with the same worker processes and decoder
threads:

- ``scan``: ``scan_clips(files, use_cache=False)`` (probe, count frames, measure everything);
- ``floor (PyAV)``: PyAV decoding the same files and scaling every analysis frame to the same
  reduced size, measuring nothing (:func:`musync.clips.decode_floor`);
- ``floor (ffmpeg)``: the ffmpeg binary decoding the same files to the same reduced size
  (``-vf scale=...:flags=fast_bilinear -f rawvideo``), one process per worker.

and prints clips/s, x realtime (seconds of footage per second) and the ratio of the scan time to
the faster floor. Targets: within 1.5x of the floor, and at least 10x realtime on 2 cores.
Wall-clock figures depend on what else runs on the machine, so the CPU time of every process
involved (this one and its reaped children) is printed too, with the realtime factor it implies
when the cores are free (footage / (CPU time / workers)).

Usage::

    python benchmarks/scan.py [--repeat 3] [--keep DIR] [--only generated|real|content]

``--only content`` runs :mod:`benchmarks.scan_content`: what the scan sees (content-flag
precision and recall on a labelled set, duplicate pairs, quality, and the scan's cost against the
commit before those measurements); its own options follow ``--``.
"""

from __future__ import annotations

import argparse
import datetime
import multiprocessing
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from musync.clips import decode_floor, scan_clips  # noqa: E402
from musync.clips.scan import _analysis_size, _cpu_count, _pool_context  # noqa: E402
from musync.media import ffmpeg_exe  # noqa: E402

REAL = HERE.parent.parent / "shared" / "data" / "video"
SIZE, RATE = 96, 30.0          # scan_clips defaults: analysis long side and rate


def generate(folder: Path, n: int = 20, seconds: float = 8.0) -> list[Path]:
    """Make ``n`` 1080p30 clips (reusing ones already there)."""
    folder.mkdir(parents=True, exist_ok=True)

    def one(i: int) -> Path:
        out = folder / f"gen_{i:02d}.mp4"
        if out.exists() and out.stat().st_size > 0:
            return out
        vf = f"hue=h={i * 18}:s={0.6 + 0.1 * (i % 5)},eq=brightness={0.05 * (i % 4) - 0.1}"
        tmp = out.with_suffix(".part.mp4")
        subprocess.run([ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
                        "-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate=30:duration={seconds}",
                        "-vf", vf, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                        str(tmp)], check=True)
        tmp.replace(out)
        return out

    with ThreadPoolExecutor(max(1, _cpu_count())) as ex:
        return list(ex.map(one, range(n)))


def _threads(n_workers: int) -> int:
    return 0 if n_workers <= 1 else max(1, _cpu_count() // n_workers)


def _floor_task(args):
    path, threads = args
    return decode_floor(path, size=SIZE, rate=RATE, threads=threads)


def _probe_wh(path: Path) -> tuple[int, int]:
    import av

    with av.open(str(path)) as c:
        s = c.streams.video[0]
        return s.codec_context.width, s.codec_context.height


def _ffmpeg_task(args):
    path, threads, w, h = args
    aw, ah = _analysis_size(w, h, SIZE)
    cmd = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-threads", str(threads),
           "-i", path, "-vf", f"scale={2 * aw}:{2 * ah}:flags=fast_bilinear", "-fps_mode", "passthrough",
           "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    out = subprocess.run(cmd, stdout=subprocess.PIPE, check=True).stdout
    return len(out) // (4 * aw * ah * 3)


def _pool_run(fn, jobs, n_workers):
    if n_workers <= 1:
        return [fn(j) for j in jobs]
    with _pool_context().Pool(n_workers) as pool:
        return pool.map(fn, jobs, chunksize=1)


def _cpu_now() -> float:
    """CPU seconds of this process plus its reaped children (and theirs)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + ch.ru_utime + ch.ru_stime


def _timed(fn) -> tuple[float, float, object]:
    c, t = _cpu_now(), time.perf_counter()
    out = fn()
    return time.perf_counter() - t, _cpu_now() - c, out


def bench(name: str, files: list[Path], repeat: int) -> dict:
    n_workers = min(_cpu_count(), len(files))
    threads = _threads(n_workers)
    order = sorted(files, key=lambda p: -p.stat().st_size)
    sizes = {p: _probe_wh(p) for p in files}
    runs = {
        "scan": lambda: scan_clips(files, use_cache=False),
        "floor_pyav": lambda: _pool_run(_floor_task, [(str(p), threads) for p in order], n_workers),
        "floor_ffmpeg": lambda: _pool_run(_ffmpeg_task, [(str(p), max(threads, 1), *sizes[p])
                                                         for p in order], n_workers),
    }
    wall = {k: float("inf") for k in runs}
    cpu = {k: float("inf") for k in runs}
    result = None
    for _ in range(repeat):                       # interleaved, so load changes hit all three
        for key, fn in runs.items():
            w, c, out = _timed(fn)
            wall[key], cpu[key] = min(wall[key], w), min(cpu[key], c)
            if key == "scan":
                result = out
    footage = sum(c.duration for c in result if not c.is_still)
    floor_key = min(("floor_pyav", "floor_ffmpeg"), key=lambda k: wall[k])
    cpu_floor_key = min(("floor_pyav", "floor_ffmpeg"), key=lambda k: cpu[k])
    return {"set": name, "clips": len(files), "usable": len(result), "footage": footage,
            "frames": sum(c.frame_count for c in result),
            "scan": wall["scan"], "floor_pyav": wall["floor_pyav"],
            "floor_ffmpeg": wall["floor_ffmpeg"], "cpu": cpu,
            "clips_per_s": len(files) / wall["scan"], "x_realtime": footage / wall["scan"],
            "ratio": wall["scan"] / wall[floor_key],
            "cpu_ratio": cpu["scan"] / cpu[cpu_floor_key],
            "x_realtime_cpu": footage / (cpu["scan"] / max(1, n_workers)),
            "workers": n_workers, "threads": threads}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement (best is kept)")
    ap.add_argument("--keep", metavar="DIR", help="generate the clips here and keep them")
    ap.add_argument("--only", choices=["generated", "real", "content"], help="run one set only")
    args, rest = ap.parse_known_args(argv)
    if args.only == "content":
        from benchmarks import scan_content

        return scan_content.main([a for a in rest if a != "--"])
    if rest:
        ap.error(f"unrecognized arguments: {' '.join(rest)}")
    os.environ.setdefault("MUSYNC_CACHE_DIR", tempfile.mkdtemp(prefix="musync-bench-cache-"))

    rows = []
    tmp = None
    try:
        if args.only in (None, "generated"):
            folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="musync-bench-"))
            tmp = None if args.keep else folder
            t = time.perf_counter()
            files = generate(folder)
            print(f"generated 20 clips in {time.perf_counter() - t:.1f} s ({folder})", file=sys.stderr)
            rows.append(bench("generated 20 x 8 s 1080p30", files, args.repeat))
        if args.only in (None, "real"):
            if REAL.is_dir():
                files = sorted(p for p in REAL.iterdir() if p.is_file() and not p.name.startswith("."))
                rows.append(bench(f"real ({REAL.name}/)", files, args.repeat))
            else:
                print(f"skipping the real clips: {REAL} not found", file=sys.stderr)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)

    cores = _cpu_count()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {cores} cores, {platform.machine()}, Python {platform.python_version()}; "
          f"{datetime.date.today().isoformat()}; load average at the end {load:.1f}")
    print("\nWall clock (best of the runs):\n")
    print("| set | clips | footage | scan | clips/s | x realtime | floor PyAV | floor ffmpeg "
          "| scan / floor |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['set']} | {r['clips']} | {r['footage']:.1f} s | {r['scan']:.2f} s "
              f"| {r['clips_per_s']:.1f} | {r['x_realtime']:.1f}x | {r['floor_pyav']:.2f} s "
              f"| {r['floor_ffmpeg']:.2f} s | {r['ratio']:.2f}x |")
    print("\nCPU time (all processes; does not depend on other jobs on the machine):\n")
    print("| set | scan | floor PyAV | floor ffmpeg | scan / floor | x realtime if the cores "
          "were free |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        c = r["cpu"]
        print(f"| {r['set']} | {c['scan']:.2f} s | {c['floor_pyav']:.2f} s "
              f"| {c['floor_ffmpeg']:.2f} s | {r['cpu_ratio']:.2f}x | {r['x_realtime_cpu']:.1f}x |")
    print(f"\n(workers: {rows[0]['workers'] if rows else '-'} processes, decoder threads each: "
          f"{rows[0]['threads'] if rows else '-'}; targets: scan / floor <= 1.5, >= 10x realtime)")
    return 0


if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(main())
