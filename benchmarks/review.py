"""How fast and how stable the review loop is.

Usage::

    python benchmarks/review.py [--markdown] [--repeats N] [--no-browser] [--no-real] [--trials N]

1. **Re-plan latency through the API** (target <= 300 ms): a 3-minute song
   (:func:`musync.testing.make_song`, 120 BPM, 90 bars, analysed from its audio once) with 50
   clips (:func:`musync.testing.synthetic_clip_infos`), planned with the default style; 5 shots
   locked; then ``POST /api/replan`` ``--repeats`` times over real HTTP to the uvicorn server on
   127.0.0.1 (the first call is reported apart: it may compile numba kernels). Also the same
   call through Starlette's in-process test client, and ``POST /api/lock``.
2. **Page load with 100 shots** (target <= 2 s in headless Chromium, thumbnails cached after the
   first load): the same song planned on 20 generated clip files (``make_clip_files``, 320x180)
   with the ``max_shot`` (1.8 to 3.5 s) whose plan comes closest to 100 shots; Debian's Chromium under Selenium loads
   the page three times: cold (empty thumbnail cache), then twice warm. Measured in the page:
   ``performance.now()`` when the page has drawn the plan (``body[data-ready]``) and when every
   filmstrip thumbnail has arrived. Skipped when no browser is installed.
3. **Stability** (target <= 3 on average, once re-plans are stable): on the real songs of
   ``<repo>/../shared/data/audio`` (cc_long and the three full rhythm-game songs in annotated)
   with the real clips of ``shared/data/video``: ``--trials`` times per song and per k in
   (1, 3, 5), lock k random shots (seeded), re-plan, and count the other shots that changed
   (:func:`musync.review.diff_plans`: any shot of the new plan not identical to a shot of the
   old one). Reported: changed shots per locked shot, and the share of the plan that changed.

The machine is shared (2 cores, several other jobs): timings are noisy; medians are given.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from _common import fmt, format_table, shared_data_dir  # noqa: E402

import musync  # noqa: E402
from musync.review import ReviewSession, diff_plans, lock_shots  # noqa: E402
from musync.testing import make_clip_files, make_song, synthetic_clip_infos  # noqa: E402

FORM = [("intro", 8), ("verse", 16), ("chorus", 16), ("verse", 16), ("chorus", 16), ("bridge", 8),
        ("chorus", 8), ("outro", 2)]          # 90 bars at 120 BPM: 180 s


def three_minute_song(folder: Path):
    song = folder / "song3min.wav"
    if not song.exists():
        make_song(bpm=120, form=FORM, seed=11).write(song)
    return song, musync.analyze(song)


def _session(folder: Path, analysis, clips, plan, name: str) -> ReviewSession:
    path = folder / name
    musync.save_plan(plan, path, overwrite=True)
    return ReviewSession(path, plan, analysis=analysis, clips=clips)


def bench_replan(folder: Path, repeats: int) -> list[list[str]]:
    import httpx2
    from starlette.testclient import TestClient

    from review_browser import live_server

    song, a = three_minute_song(folder)
    clips = synthetic_clip_infos(50, seed=5)
    plan = musync.plan(a, clips)
    locked = lock_shots(plan, [3, 20, 41, 60, len(plan.shots) - 3])
    rows = []
    s = _session(folder, a, clips, locked, "replan.json")
    with live_server(s, token="bench") as url:
        base = url.split("/?")[0]
        h = {"X-Musync-Token": "bench"}
        with httpx2.Client(headers=h) as c:
            t0 = time.perf_counter()
            r = c.post(f"{base}/api/replan")
            first = time.perf_counter() - t0
            assert r.status_code == 200, r.text
            times = []
            for _ in range(repeats):
                c.post(f"{base}/api/undo")
                t0 = time.perf_counter()
                r = c.post(f"{base}/api/replan")
                times.append(time.perf_counter() - t0)
                assert r.status_code == 200
            lock_t = []
            for i in range(repeats):
                t0 = time.perf_counter()
                c.post(f"{base}/api/lock", json={"shots": [i % len(plan.shots)], "locked": True})
                lock_t.append(time.perf_counter() - t0)
    n = len(plan.shots)
    rows.append([f"POST /api/replan over HTTP ({n} shots, 50 clips, 5 locked)", fmt(1000 * statistics.median(times), 1),
                 fmt(1000 * float(np.percentile(times, 90)), 1), fmt(1000 * max(times), 1), fmt(1000 * first, 1),
                 "<= 300"])
    rows.append(["POST /api/lock over HTTP", fmt(1000 * statistics.median(lock_t), 1),
                 fmt(1000 * float(np.percentile(lock_t, 90)), 1), fmt(1000 * max(lock_t), 1), "", ""])
    s.close()
    s = _session(folder, a, clips, locked, "replan2.json")
    with TestClient(__import__("musync.review", fromlist=["make_app"]).make_app(s, "b"),
                    base_url="http://127.0.0.1") as c:
        c.headers["X-Musync-Token"] = "b"
        c.post("/api/replan")
        tc = []
        for _ in range(repeats):
            c.post("/api/undo")
            t0 = time.perf_counter()
            c.post("/api/replan")
            tc.append(time.perf_counter() - t0)
    s.close()
    t_plan = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        musync.replan(locked, a, clips)
        t_plan.append(time.perf_counter() - t0)
    rows.append(["POST /api/replan, in-process test client", fmt(1000 * statistics.median(tc), 1),
                 fmt(1000 * float(np.percentile(tc, 90)), 1), fmt(1000 * max(tc), 1), "", ""])
    rows.append(["musync.replan alone (no HTTP, no JSON)", fmt(1000 * statistics.median(t_plan), 1),
                 fmt(1000 * float(np.percentile(t_plan, 90)), 1), fmt(1000 * max(t_plan), 1), "", ""])
    return rows


def bench_page(folder: Path) -> list[list[str]]:
    from review_browser import browser_missing, chromium, console_errors, live_server, wait_ready

    why = browser_missing()
    if why:
        print(f"page load: skipped ({why})")
        return []
    song, a = three_minute_song(folder)
    files = make_clip_files(folder / "clips20", 20, seconds=4.0, size=(320, 180), seed=4) \
        if not (folder / "clips20").is_dir() else sorted((folder / "clips20").glob("*.mp4"))
    clips = musync.scan_clips([str(f) for f in files], progress="none")
    # the settings whose plan comes closest to 100 shots
    plan = min((musync.plan(a, clips, max_shot=m, min_shot=0.9) for m in (1.8, 2.2, 2.6, 3.0, 3.5)),
               key=lambda p: abs(len(p.shots) - 100))
    os.environ["MUSYNC_CACHE_DIR"] = str(folder / "cache-page")
    import shutil

    shutil.rmtree(folder / "cache-page" / "thumbs", ignore_errors=True)
    s = _session(folder, a, clips, plan, "page.json")
    rows = []
    with live_server(s, token="bench") as url, chromium(1600, 1000) as d:
        for label in ("cold (thumbnails decoded)", "warm (thumbnails cached)", "warm again"):
            d.get("about:blank")
            d.get(url)
            wait_ready(d, timeout=120)
            ready = d.execute_script("return performance.now()")
            d.execute_script("document.querySelectorAll('#strip img').forEach(i => i.loading = 'eager')")
            t_imgs = d.execute_async_script("""
                const done = arguments[0];
                const imgs = [...document.querySelectorAll('#strip img')];
                Promise.all(imgs.map(i => i.complete ? null : new Promise(r => { i.onload = i.onerror = r; })))
                  .then(() => done([performance.now(), imgs.length,
                                    imgs.filter(i => !i.naturalWidth).length]));""")
            errors = console_errors(d)
            rows.append([label, str(len(plan.shots)), fmt(ready / 1000, 2), fmt(t_imgs[0] / 1000, 2),
                         f"{t_imgs[1]} ({t_imgs[2]} broken)", str(len(errors)), "<= 2"])
    s.close()
    return rows


def _real_songs() -> list[Path]:
    root = shared_data_dir() / "audio"
    songs = sorted((root / "cc_long").glob("*.ogg"))
    songs += [root / "annotated" / n for n in ("osu_triangles.mp3", "osu_circle_the_halls.mp3", "fof_tutorial.ogg")]
    return [s for s in songs if s.exists()]


def bench_stability(trials: int) -> tuple[list[list[str]], list[float]]:
    video = shared_data_dir() / "video"
    if not video.is_dir():
        print(f"stability: skipped ({video} not found)")
        return [], []
    clips = musync.scan_clips([str(video)], progress="none")
    rng = np.random.default_rng(12)
    rows, per_lock_all = [], []
    for song in _real_songs():
        a = musync.analyze(song)
        plan = musync.plan(a, clips)
        n = len(plan.shots)
        cells = []
        for k in (1, 3, 5):
            per_lock, share = [], []
            for _ in range(trials):
                idx = sorted(rng.choice(n, size=min(k, n), replace=False).tolist())
                new = musync.replan(lock_shots(plan, idx), a, clips)
                d = diff_plans(plan, new)
                changed = [b for b in d.changed_b if not new.shots[b].locked]
                per_lock.append(len(changed) / k)
                share.append(len(changed) / len(new.shots))
            per_lock_all += per_lock
            cells.append(f"{statistics.mean(per_lock):.1f} ({100 * statistics.mean(share):.0f} %)")
        rows.append([song.name, str(n)] + cells)
    return rows, per_lock_all


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--trials", type=int, default=5)
    ap.add_argument("--no-browser", action="store_true")
    ap.add_argument("--no-real", action="store_true")
    args = ap.parse_args(argv)
    md = args.markdown
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{time.strftime('%Y-%m-%d')} (shared machine: timings are noisy)")
    with tempfile.TemporaryDirectory(prefix="musync-bench-review-") as tmp:
        folder = Path(tmp)
        rows = bench_replan(folder, args.repeats)
        print(format_table(["call", "median ms", "p90 ms", "max ms", "first ms", "target ms"], rows,
                           title="Re-plan latency (3-minute song, 50 clips)", markdown=md))
        print()
        if not args.no_browser:
            rows = bench_page(folder)
            if rows:
                print(format_table(["load", "shots", "drawn (s)", "all thumbnails (s)", "thumbnails",
                                    "console errors", "target (s)"], rows,
                                   title="Page load in headless Chromium", markdown=md))
                print()
    if not args.no_real:
        rows, all_ = bench_stability(args.trials)
        if rows:
            print(format_table(["song", "shots", "k=1", "k=3", "k=5"], rows,
                               title=f"Other shots changed per locked shot after a re-plan (share of the plan), "
                                     f"{args.trials} random lock sets per k", markdown=md))
            print(f"mean over all: {statistics.mean(all_):.2f} changed shots per locked shot (target <= 3)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
