"""Speed of musync's analysis in x realtime (song seconds per second of computing), and the
cold start of ``musync demo``.

Usage::

    python benchmarks/speed.py [--repeats N] [--markdown] [--demo] [--no-analysis]

Synthetic songs (:func:`musync.testing.make_song` at 120 BPM with a long form, about 3 and
10 minutes; the 60-minute "mix" is the 10-minute song six times over) are written as 44.1 kHz
stereo 16-bit WAV files to a temporary folder, so decoding, downmixing and resampling are part of
the work, as for a real file. Each is measured in fresh subprocesses:

- *cold, empty numba cache*: ``NUMBA_CACHE_DIR`` points at an empty folder, so every numba
  kernel (musync's and librosa's) is compiled; imports + first ``analyze`` call;
- *cold, numba cache on disk*: the usual first run of a new process: imports (including loading
  the cached kernels) + first ``analyze`` call;
- *warm*: later ``analyze`` calls in the same process (median of ``--repeats``);
- *decode only*: :func:`musync.media.load_audio` (median of ``--repeats``, warm process).

Wall-clock time is the measure; the CPU time of the process (all threads) is printed beside it,
since wall time on a shared machine also counts other people's work (the load average during
the run is printed too). ``peak RSS`` is the child's maximum resident memory
(``resource.getrusage``), imports included (about 0.2-0.3 GB of it is numpy, scipy, librosa and
numba themselves). The empty-numba-cache run is skipped for the 60-minute input.

All ``analyze`` calls use ``use_cache=False``. Targets: >= 100x realtime warm (CPU time), peak
RSS <= 1.5 GB at 60 minutes.

``--demo`` times ``musync demo`` (48 s song, 10 clips, plan, export and a draft render) as a new
user meets it, each run a fresh ``python -m musync demo`` in its own temporary folder:

- *cold*: an empty ``MUSYNC_CACHE_DIR`` and an empty ``NUMBA_CACHE_DIR`` (every numba kernel,
  musync's and librosa's, is compiled, as on the first run after ``pip install``);
- *warm kernels*: the kernels cached by the cold run, every other cache (analysis, scan,
  proxies) empty: the same work without the compiling;
- *warm*: a second run with all caches of the previous one (analysis and scan are cache hits).

The target is cold <= 2x *warm kernels*. Printed: wall and CPU seconds (children included) and
when the first line reached the terminal.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from _common import code_version, format_table

TARGET_WARM_X = 100.0
TARGET_RSS_GB_60 = 1.5
BPM = 120.0
SR = 44100

# Runs in the child process: argv = path, repeats. Prints one JSON line.
_CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import musync
from musync.media import load_audio
t_import = time.perf_counter() - t0
path, repeats = sys.argv[1], int(sys.argv[2])
t1 = time.perf_counter()
a = musync.analyze(path, use_cache=False)
t_first = time.perf_counter() - t1
cpu_first = time.process_time()
warm, warm_cpu = [], []
for _ in range(repeats):
    t, c = time.perf_counter(), time.process_time()
    musync.analyze(path, use_cache=False)
    warm.append(time.perf_counter() - t)
    warm_cpu.append(time.process_time() - c)
dec, dec_cpu = [], []
for _ in range(repeats):
    t, c = time.perf_counter(), time.process_time()
    load_audio(path, sr=22050)
    dec.append(time.perf_counter() - t)
    dec_cpu.append(time.process_time() - c)
import resource
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"duration": a.duration, "import": t_import, "first": t_first, "cold_cpu": cpu_first, "rss": rss,
                  "warm": warm, "warm_cpu": warm_cpu, "decode": dec, "decode_cpu": dec_cpu,
                  "beats": int(a.beats.size), "fallback": bool(a.fallback)}))
"""


def long_form(minutes: float, bpm: float = BPM, beats_per_bar: int = 4) -> list[tuple[str, int]]:
    """A form of about ``minutes`` long: intro, repeated verse/chorus/verse/chorus/bridge, chorus,
    outro (8-bar body sections)."""
    bar_s = 60.0 / bpm * beats_per_bar
    n_bars = int(round(minutes * 60.0 / bar_s))
    cycle = [("verse", 8), ("chorus", 8), ("verse", 8), ("chorus", 8), ("bridge", 8)]
    form = [("intro", 4)]
    used = 4
    k = 0
    while used + 8 + 4 <= n_bars:
        kind, bars = cycle[k % len(cycle)]
        form.append((kind, bars))
        used += bars
        k += 1
    if n_bars - 4 - used > 0:
        last = "chorus" if form[-1][0] != "chorus" else "bridge"
        form.append((last, n_bars - 4 - used))
    form.append(("outro", 4))
    return form


def write_song(path: Path, minutes: float) -> float:
    """Write the benchmark song of about ``minutes`` to ``path`` (stereo WAV); returns its length (s).
    Past 10 minutes the 10-minute song is repeated (a long mix), written a repeat at a time."""
    import soundfile as sf

    from musync.testing import make_song, write_wav

    reps = max(1, int(round(minutes / 10.0))) if minutes > 10 else 1
    song = make_song(bpm=BPM, form=long_form(minutes / reps), sr=SR, seed=7, humanize=0.005, tail=1.0)
    stereo = np.stack([song.y, 0.9 * song.y], axis=1)
    if reps == 1:
        write_wav(path, stereo, SR)
        return song.duration
    with sf.SoundFile(str(path), "w", samplerate=SR, channels=2, subtype="PCM_16") as f:
        for _ in range(reps):
            f.write(np.clip(stereo, -1.0, 1.0))
    return reps * song.duration


def measure(path: Path, repeats: int, *, empty_numba_cache: bool) -> dict:
    """Run the child timing script on ``path`` in a fresh interpreter."""
    env = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="musync-numba-") as nc:
        if empty_numba_cache:
            env["NUMBA_CACHE_DIR"] = nc
        proc = subprocess.run([sys.executable, "-c", _CHILD, str(path), str(repeats)], env=env,
                              capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"timing child failed on {path}:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


TARGET_COLD_RATIO = 2.0


def demo_run(folder: Path, cache: Path, numba: Path) -> dict:
    """One ``python -m musync demo`` in ``folder`` with these cache folders: wall and CPU
    seconds (the process and its children) and the time of its first line on stderr/stdout."""
    import resource
    import selectors
    import time

    env = dict(os.environ, MUSYNC_CACHE_DIR=str(cache), NUMBA_CACHE_DIR=str(numba))
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "musync", "demo", str(folder / "demo")], env=env,
                            cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first, out = None, []
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    sel.register(proc.stderr, selectors.EVENT_READ)
    open_ = 2
    while open_:
        for key, _ in sel.select():
            line = key.fileobj.readline()
            if not line:
                sel.unregister(key.fileobj)
                open_ -= 1
                continue
            if first is None:
                first = time.perf_counter() - t0
            out.append(line.decode("utf-8", "replace").rstrip())
    rc = proc.wait()
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if rc != 0:
        raise RuntimeError("musync demo failed:\n" + "\n".join(out[-20:]))
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return {"wall": wall, "cpu": cpu, "first": first if first is not None else wall, "lines": out}


def measure_demo() -> tuple[list, list]:
    """Rows of the cold-start table and its verdict (see the module docstring)."""
    with tempfile.TemporaryDirectory(prefix="musync-demo-bench-") as tmp:
        tmp = Path(tmp)
        numba, c_cold, c_warm = tmp / "numba", tmp / "cache-cold", tmp / "cache-warm"
        runs = []
        for name, cache in (("cold: empty caches, every kernel compiled", c_cold),
                            ("warm kernels: kernels cached, other caches empty", c_warm),
                            ("warm: second run, all caches", c_warm)):
            folder = Path(tempfile.mkdtemp(dir=tmp))
            print(f"musync demo, {name.split(':')[0]} ...", file=sys.stderr, flush=True)
            runs.append((name, demo_run(folder, cache, numba)))
    base = runs[1][1]["wall"]
    rows = [[name, f"{r['wall']:.1f}", f"{r['cpu']:.1f}", f"{r['wall'] / base:.2f}x", f"{r['first']:.2f}"]
            for name, r in runs]
    ratio = runs[0][1]["wall"] / base
    cpu_ratio = runs[0][1]["cpu"] / runs[1][1]["cpu"]
    verdict = [[f"cold demo <= {TARGET_COLD_RATIO:g}x warm kernels (wall)",
                f"{ratio:.2f}x (CPU {cpu_ratio:.2f}x)", "PASS" if ratio <= TARGET_COLD_RATIO else "MISS"]]
    return rows, verdict


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3, help="warm calls and decodes per song (median)")
    ap.add_argument("--markdown", action="store_true", help="print the table as markdown")
    ap.add_argument("--minutes", type=int, nargs="+", default=[3, 10, 60], help="song lengths (default 3 10 60)")
    ap.add_argument("--demo", action="store_true", help="also time `musync demo` cold against warm")
    ap.add_argument("--no-analysis", action="store_true", help="skip the analysis songs (with --demo)")
    args = ap.parse_args(argv)
    if args.no_analysis:
        args.minutes = []
    rows, verdicts = [], []
    load0 = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    with tempfile.TemporaryDirectory(prefix="musync-speed-") as tmp:
        for minutes in args.minutes:
            path = Path(tmp) / f"song_{minutes}min.wav"
            dur = write_song(path, minutes)
            print(f"{path.name}: {dur:.0f} s ...", file=sys.stderr, flush=True)
            long = minutes > 10
            if not long:
                measure(path, 1, empty_numba_cache=False)  # make sure the on-disk numba cache exists
            compiled = None if long else measure(path, 1, empty_numba_cache=True)
            cached = measure(path, 1 if long else args.repeats, empty_numba_cache=False)
            warm = float(np.median(cached["warm"]))
            dec = float(np.median(cached["decode"]))
            warm_cpu = float(np.median(cached["warm_cpu"]))
            dec_cpu = float(np.median(cached["decode_cpu"]))
            label = f"{minutes} min ({dur:.0f} s)"
            cold = cached["import"] + cached["first"]
            nrep = len(cached["warm"])
            modes = [(f"decode only (median of {nrep})", dec, dec_cpu)]
            if compiled is not None:
                modes.append(("cold, empty numba cache: imports + JIT + 1st call",
                              compiled["import"] + compiled["first"], compiled["cold_cpu"]))
            modes += [(f"cold, numba cache on disk: imports + 1st call (imports {cached['import']:.2f} s)", cold,
                       cached["cold_cpu"]),
                      (f"warm: later calls in the same process (median of {nrep})", warm, warm_cpu)]
            rss = cached["rss"] / 1e9
            for mode, sec, cpu_s in modes:
                rows.append([label, mode, f"{sec:.2f}", f"{dur / sec:.0f}x", f"{cpu_s:.2f}",
                             f"{dur / cpu_s:.0f}x", f"{rss:.2f}" if mode.startswith("warm") else ""])
                label = ""
            rows.append(None)
            verdicts.append([f"{minutes} min warm >= {TARGET_WARM_X:g}x realtime (CPU time)",
                             f"{dur / warm_cpu:.0f}x (wall {dur / warm:.0f}x)",
                             "PASS" if dur / warm_cpu >= TARGET_WARM_X else "MISS"])
            if minutes >= 60:
                verdicts.append([f"{minutes} min peak RSS <= {TARGET_RSS_GB_60:g} GB", f"{rss:.2f} GB",
                                 "PASS" if rss <= TARGET_RSS_GB_60 else "MISS"])
    cpu = _cpu_name()
    print(f"musync analysis code at {code_version()}")
    print()
    load = "n/a"
    if hasattr(os, "getloadavg"):
        load = f"{load0:.1f} at start, {os.getloadavg()[0]:.1f} at end"
    print(f"load average (1 min): {load}")
    print()
    if rows:
        print(format_table(["song", "mode", "wall s", "x realtime", "CPU s", "x realtime (CPU)", "peak RSS GB"],
                           rows[:-1], markdown=args.markdown,
                           title=f"analysis speed ({os.cpu_count()} cores, {cpu}; 44.1 kHz stereo WAV)"))
        print()
    if args.demo:
        demo_rows, demo_verdict = measure_demo()
        print(format_table(["musync demo", "wall s", "CPU s", "wall vs warm kernels", "first line after s"],
                           demo_rows, markdown=args.markdown,
                           title=f"cold start ({os.cpu_count()} cores, {cpu})"))
        print()
        verdicts += demo_verdict
        if hasattr(os, "getloadavg"):
            print(f"load average (1 min) after the demo runs: {os.getloadavg()[0]:.1f}")
            print()
    print(format_table(["target", "measured", "result"], verdicts, markdown=args.markdown))
    return 0


def _cpu_name() -> str:
    import platform

    name = platform.processor()
    if not name:
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
        except OSError:
            pass
    return name or "unknown CPU"


if __name__ == "__main__":
    sys.exit(main())
