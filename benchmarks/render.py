"""Render speed: musync.render against two ffmpeg references on the same cuts.

Media (made here with ffmpeg, reused with ``--keep DIR``): twenty clips of 20 s, ten at 1920x1080
and ten at 1280x720, 30 fps, H.264 (libx264 ``veryfast``, CRF 21 capped at 16 / 8 Mbit/s, a
keyframe every second, as phones record; test pattern with moving film grain, so decoding costs
what camera footage costs), and a synthetic song (:func:`musync.testing.make_song`). The plan: ``--cuts`` shots (default 90) of random
lengths tiling ``--seconds`` (default 180) at 30 fps, each from a random clip and in-point
(seeded).

Rows, each timed in a fresh process: wall time, x realtime, CPU seconds (user + system of the
whole process tree: the fair comparison when other work shares the machine) and peak resident
memory of the process tree (sampled every 20 ms):

- ``musync preview``: ``preview(plan)`` -- cards, flashes and clicks, no clip decoded;

- ``musync draft``: ``render(plan, mode="draft")`` -- 640x360, ``ultrafast``, CRF 28;
- ``musync 720p``: ``render(plan, mode="final", size=(1280, 720), preset=..., crf=...)``;
- ``filter graph``: one ffmpeg process, one ``-ss/-t`` input per shot, a ``fps, scale, crop,
  trim`` chain per shot and ``concat``, the song as AAC -- same size, preset and CRF;
- ``floor``: one ffmpeg process encoding one continuous file of the same length (a 1080p clip
  looped), same size, preset and CRF: decoding, scaling and encoding with no cuts at all;
- ``1000 cuts``: the draft render of a 1,000-shot plan over the same song (memory must stay
  flat);
- ``moviepy (naive)`` with ``--moviepy``: ``VideoFileClip`` per source, ``subclipped``,
  ``resized``, ``concatenate_videoclips``, ``write_videofile`` -- for comparison only.

Proxies (a second table, same run, a fresh cache folder): ``proxy build`` --
``build_proxies(sources of the plan)`` as ``musync scan --proxies`` does it, timed per minute of
footage; ``draft from proxies`` -- ``render(plan)`` once the proxies exist (the second and later
drafts, ``--repeat`` times); ``preview`` -- ``preview(plan)`` once the proxies exist (each shot
its picture); ``first draft`` -- ``render(plan)`` with no proxies yet (it makes them, then
renders); ``1000 cuts`` from proxies. Each is compared with the draft from the
originals (``render(plan, proxies=False)``: the draft as it was before proxies) and the floor of
the same run. Every row also records the 1-minute load average when it started.

Targets: musync within 1.5x of the filter-graph reference at the same settings; a draft of a
3-minute song in at most 25 s on 2 cores; memory flat from 90 to 1,000 cuts; a draft from
proxies at most 0.35x the draft from the originals and 0.5x the floor.

Usage::

    python benchmarks/render.py [--keep DIR] [--seconds 180] [--cuts 90] [--moviepy] [--markdown]
                                [--only all|draft|final|proxies] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks._common import fmt, format_table  # noqa: E402
from musync.media import ffmpeg_exe  # noqa: E402

FPS = 30
FINAL_PRESET, FINAL_CRF = "veryfast", 23


# -- media -------------------------------------------------------------------------------------

def generate(folder: Path, n: int = 20, seconds: float = 20.0) -> list[Path]:
    """``n`` clips, half 1080p and half 720p (reusing ones already there)."""
    folder.mkdir(parents=True, exist_ok=True)

    def one(i: int) -> Path:
        w, h = (1920, 1080) if i % 2 == 0 else (1280, 720)
        out = folder / f"clip_{i:02d}_{h}p.mp4"
        if out.exists() and out.stat().st_size > 0:
            return out
        tmp = out.with_suffix(".part.mp4")
        rate = "16M" if h == 1080 else "8M"        # about what phones record at
        subprocess.run([ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
                        "-f", "lavfi", "-i",
                        f"testsrc2=size={w}x{h}:rate={FPS}:duration={seconds},hue=h={i * 18},"
                        "noise=alls=5:allf=t",
                        "-c:v", "libx264", "-preset", "veryfast", "-crf", "21", "-maxrate", rate,
                        "-bufsize", rate, "-g", str(FPS), "-pix_fmt", "yuv420p", str(tmp)],
                       check=True)
        os.replace(tmp, out)
        return out

    with ThreadPoolExecutor(2) as ex:
        return list(ex.map(one, range(n)))


def song_for(folder: Path, seconds: float) -> Path:
    """A synthetic song (:func:`musync.testing.make_song`, 120 BPM) cut to exactly ``seconds``."""
    from musync.testing import make_song

    out = folder / f"song_{int(seconds)}s.wav"
    if out.exists():
        return out
    bars = int(seconds // 2) + 4
    form = [("intro", 4)]
    kinds = ["verse", "chorus", "verse", "chorus", "bridge", "chorus"]
    k = 0
    while sum(b for _, b in form) < bars:
        form.append((kinds[k % len(kinds)], 8))
        k += 1
    song = make_song(bpm=120.0, form=form, seed=1)
    full = folder / "song_full.wav"
    song.write(full)
    subprocess.run([ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
                    "-i", str(full), "-t", str(seconds), "-c:a", "pcm_s16le", str(out)], check=True)
    full.unlink()
    return out


def build_plan(song: Path, clips: list[Path], *, seconds: float, cuts: int, seed: int = 0,
               clip_seconds: float = 20.0):
    """A plan of ``cuts`` shots of random lengths tiling the song."""
    from musync.media import file_sha256
    from musync.types import AudioInfo, Plan, PlanClip, PlanSettings, Shot

    rng = random.Random(seed)
    total = int(round(seconds * FPS))
    weights = [rng.uniform(0.5, 1.5) for _ in range(cuts)]
    scale = total / sum(weights)
    lengths = [max(1, int(w * scale)) for w in weights]
    lengths[-1] += total - sum(lengths)
    while lengths[-1] < 1:                      # (only for absurd cut counts)
        i = max(range(cuts), key=lambda k: lengths[k])
        lengths[i] -= 1
        lengths[-1] += 1
    clip_frames = int(clip_seconds * FPS)
    shots, rec = [], 0
    for i, n in enumerate(lengths):
        c = clips[rng.randrange(len(clips))]
        sin = rng.randrange(0, clip_frames - n - 1)
        shots.append(Shot(i, str(c), sin, sin + n, rec, rec + n, reason="benchmark"))
        rec += n
    pclips = []
    for c in clips:
        w, h = (1920, 1080) if "1080p" in c.name else (1280, 720)
        pclips.append(PlanClip(str(c), clip_seconds, Fraction(FPS), (w, h), usable_out=clip_seconds))
    audio = AudioInfo(str(song), file_sha256(song), seconds, 22050, 1)
    return Plan(audio=audio, fps=Fraction(FPS), duration_frames=total, size=(1920, 1080),
                aspect="16:9", settings=PlanSettings(fps=FPS, size=(1920, 1080)),
                shots=tuple(shots), clips=tuple(sorted(pclips, key=lambda p: p.path)))


# -- measuring ---------------------------------------------------------------------------------

def _tree_rss(root: int) -> int:
    """Resident memory (bytes) of ``root`` and all its descendants."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as fh:
                parts = fh.read().rsplit(")", 1)[1].split()
            ppid = int(parts[1])
            rss[int(d)] = int(parts[21]) * os.sysconf("SC_PAGE_SIZE")
            children.setdefault(ppid, []).append(int(d))
        except (OSError, IndexError, ValueError):
            continue
    total, stack = 0, [root]
    while stack:
        p = stack.pop()
        total += rss.get(p, 0)
        stack.extend(children.get(p, []))
    return total


def timed(cmd: list[str], out: list | None = None) -> tuple[float, float, int]:
    """Run ``cmd``; return wall seconds, CPU seconds and the peak RSS of its process tree
    (``out``, if given, receives the command's stdout)."""
    import resource

    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE if out is not None else subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    peak = [0]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], _tree_rss(proc.pid))
            done.wait(0.02)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    stdout, err = proc.communicate()
    wall = time.perf_counter() - t0
    if out is not None:
        out.append(stdout.decode())
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    done.set()
    th.join()
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[:3]}... failed: {err.decode(errors='replace')[-2000:]}")
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return wall, cpu, peak[0]


def _musync_cmd(plan_path: Path, out: Path, **opts) -> list[str]:
    code = ("import json,sys; from musync.render import render; "
            "render(sys.argv[1], sys.argv[2], overwrite=True, **json.loads(sys.argv[3]))")
    return [sys.executable, "-c", code, str(plan_path), str(out), json.dumps(opts)]


def _proxy_build_cmd(clips: list[Path]) -> list[str]:
    code = ("import json, sys; from musync.render import build_proxies; "
            "rep = build_proxies(sys.argv[1:]); assert not rep.failed, rep.failed; "
            "print(json.dumps({'built': len(rep.built), 'frames': rep.frames_built}))")
    return [sys.executable, "-c", code, *map(str, clips)]


def _preview_cmd(plan_path: Path, out: Path) -> list[str]:
    code = ("import sys; from musync.preview import preview; "
            "preview(sys.argv[1], sys.argv[2], overwrite=True)")
    return [sys.executable, "-c", code, str(plan_path), str(out)]


def filter_graph_cmd(plan, out: Path, size, preset: str, crf: int, flags: str) -> list[str]:
    """One ffmpeg process: a trimmed input per shot, concatenated."""
    W, H = size
    cmd = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
    chains = []
    for k, s in enumerate(plan.shots):
        t0 = s.source_in / FPS
        dur = (s.source_out - s.source_in) / FPS
        cmd += ["-ss", f"{t0:.6f}", "-t", f"{dur + 0.5:.6f}", "-i", s.source]
        chains.append(f"[{k}:v]fps={FPS},scale={W}:{H}:force_original_aspect_ratio=increase:"
                      f"flags={flags},crop={W}:{H},setsar=1,trim=end_frame={s.length},"
                      f"setpts=PTS-STARTPTS[v{k}]")
    n = len(plan.shots)
    graph = ";".join(chains) + ";" + "".join(f"[v{k}]" for k in range(n)) + \
        f"concat=n={n}:v=1:a=0[v]"
    script = out.with_suffix(".filter.txt")
    script.write_text(graph)
    cmd += ["-i", plan.audio.path, "-/filter_complex", str(script), "-map", "[v]",
            "-map", f"{n}:a:0", "-c:v", "libx264", "-preset", preset, "-crf", str(crf),
            "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "192k", str(out)]
    return cmd


def floor_cmd(clip: Path, seconds: float, out: Path, song: Path, size, preset: str,
              crf: int, flags: str) -> list[str]:
    W, H = size
    return [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
            "-stream_loop", "-1", "-i", str(clip), "-i", str(song), "-t", f"{seconds}",
            "-map", "0:v:0", "-map", "1:a:0", "-vf", f"scale={W}:{H}:flags={flags}",
            "-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-b:a", "192k", str(out)]


def moviepy_cmd(plan_path: Path, out: Path, size) -> list[str]:
    code = f"""
import sys
from moviepy import VideoFileClip, AudioFileClip, concatenate_videoclips
from musync.planfile import load_plan
plan = load_plan(sys.argv[1])
fps = float(plan.fps)
srcs = {{}}
parts = []
for s in plan.shots:
    if s.source not in srcs:
        srcs[s.source] = VideoFileClip(s.source, audio=False, target_resolution=({size[0]}, {size[1]}))
    parts.append(srcs[s.source].subclipped(s.source_in / fps, s.source_out / fps))
clip = concatenate_videoclips(parts).with_audio(AudioFileClip(plan.audio.path))
clip.write_videofile(sys.argv[2], fps=fps, codec="libx264", audio_codec="aac", preset="ultrafast",
                     ffmpeg_params=["-crf", "28"], logger=None)
for v in srcs.values():
    v.close()
"""
    return [sys.executable, "-c", code, str(plan_path), str(out)]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--keep", metavar="DIR", help="Make/reuse the media in DIR (default: a temp dir).")
    ap.add_argument("--seconds", type=float, default=180.0)
    ap.add_argument("--cuts", type=int, default=90)
    ap.add_argument("--many", type=int, default=1000, help="Cuts of the memory-flatness row.")
    ap.add_argument("--moviepy", action="store_true", help="Also time a naive moviepy render.")
    ap.add_argument("--skip-reference", action="store_true")
    ap.add_argument("--only", choices=["all", "draft", "final", "proxies"], default="all")
    ap.add_argument("--repeat", type=int, default=3, help="Drafts from proxies timed.")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args(argv)

    from musync.planfile import save_plan

    with tempfile.TemporaryDirectory(prefix="musync-render-bench-") as tmpd:
        media = Path(args.keep) if args.keep else Path(tmpd) / "media"
        work = Path(tmpd)
        # proxies (and every other cache entry) in a fresh folder of this run
        os.environ["MUSYNC_CACHE_DIR"] = str(work / "cache")
        t = time.perf_counter()
        clips = generate(media)
        song = song_for(media, args.seconds)
        print(f"media ready in {time.perf_counter() - t:.1f} s ({len(clips)} clips in {media})",
              file=sys.stderr)
        plan = build_plan(song, clips, seconds=args.seconds, cuts=args.cuts)
        plan_path = work / "plan.json"
        save_plan(plan, plan_path, overwrite=True)
        many_path = work / "plan_many.json"
        if args.many:
            many = build_plan(song, clips, seconds=args.seconds, cuts=args.many, seed=1)
            save_plan(many, many_path, overwrite=True)
        rows = []
        loads = []

        def row(name, settings, cmd, ref=None, table=rows, out=None):
            print(f"running {name} ...", file=sys.stderr)
            loads.append(os.getloadavg()[0])
            wall, cpu, peak = timed(cmd, out)
            table.append([name, settings, fmt(wall, 1), fmt(args.seconds / wall, 1), fmt(cpu, 1),
                          fmt(peak / 2**20, 0), fmt(wall / ref[0], 2) if ref else "-",
                          fmt(cpu / ref[1], 2) if ref else "-", fmt(loads[-1], 1)])
            return wall, cpu, peak

        out = work / "out.mp4"
        ref_d = ref_f = None
        do_draft, do_final = args.only in ("all", "draft"), args.only in ("all", "final")
        do_proxies = args.only in ("all", "proxies")
        draft_size = "640x360 ultrafast crf28"
        if not args.skip_reference and (do_draft or do_proxies):
            ref_d = row("filter graph", draft_size,
                        filter_graph_cmd(plan, out, (640, 360), "ultrafast", 28, "area"))
            floor = row("floor", draft_size,
                        floor_cmd(clips[0], args.seconds, out, song, (640, 360), "ultrafast", 28,
                                  "area"))
        if do_draft or do_proxies:
            if do_draft:
                row("musync preview", "480x270 ultrafast crf30", _preview_cmd(plan_path, out))
            originals = row("musync draft (originals)", draft_size,
                            _musync_cmd(plan_path, out, proxies=False), ref_d)
            if args.many and do_draft:
                row(f"musync draft, {args.many} cuts (originals)", draft_size,
                    _musync_cmd(many_path, out, proxies=False), ref_d)
            if args.moviepy:
                row("moviepy (naive)", "640x360 ultrafast crf28",
                    moviepy_cmd(plan_path, out, (640, 360)), ref_d)
            rows.append(None)
        if do_final and not args.skip_reference:
            ref_f = row("filter graph", f"1280x720 {FINAL_PRESET} crf{FINAL_CRF}",
                        filter_graph_cmd(plan, out, (1280, 720), FINAL_PRESET, FINAL_CRF,
                                         "bilinear"))
            row("floor", f"1280x720 {FINAL_PRESET} crf{FINAL_CRF}",
                floor_cmd(clips[0], args.seconds, out, song, (1280, 720), FINAL_PRESET, FINAL_CRF,
                          "bilinear"))
        if do_final:
            row("musync 720p", f"1280x720 {FINAL_PRESET} crf{FINAL_CRF}",
                _musync_cmd(plan_path, out, mode="final", size=[1280, 720], preset=FINAL_PRESET,
                            crf=FINAL_CRF, interpolation="bilinear"), ref_f)
        prows = []
        if do_proxies:
            prows = _proxy_rows(args, clips, plan_path, many_path, out, originals,
                                None if args.skip_reference else floor)

    title = (f"render: {args.seconds:.0f} s song, {args.cuts} cuts from {len(clips)} clips "
             f"(1080p/720p H.264), {os.cpu_count()} cores, {platform.python_version()}, "
             f"load {min(loads):.1f}-{max(loads):.1f}")
    print(format_table(["run", "output", "wall s", "x realtime", "CPU s", "peak MB",
                        "wall vs graph", "CPU vs graph", "load"],
                       rows, title=title, markdown=args.markdown))
    if prows:
        print()
        print(format_table(["run", "wall s", "CPU s", "peak MB", "wall vs draft", "CPU vs draft",
                            "wall vs floor", "CPU vs floor", "load"], prows,
                           title="proxies: the same plan, the draft from the originals and the "
                                 "floor of the same run as references", markdown=args.markdown))
    return 0


def _proxy_rows(args, clips, plan_path, many_path, out, originals, floor) -> list:
    """The proxy table: build time per minute of footage, later drafts, the first draft."""
    import shutil

    from musync import cache

    rows = []

    def row(name, cmd, capture=None):
        print(f"running {name} ...", file=sys.stderr)
        load = os.getloadavg()[0]
        wall, cpu, peak = timed(cmd, capture)

        def vs(ref, i, v):
            return fmt(v / ref[i], 2) if ref else "-"

        rows.append([name, fmt(wall, 1), fmt(cpu, 1), fmt(peak / 2**20, 0),
                     vs(originals, 0, wall), vs(originals, 1, cpu), vs(floor, 0, wall),
                     vs(floor, 1, cpu), fmt(load, 1)])
        return wall, cpu

    shutil.rmtree(cache.cache_dir(), ignore_errors=True)
    got: list = []
    wall, cpu = row("proxy build (scan --proxies)", _proxy_build_cmd(clips), got)
    built = json.loads(got[0].strip().splitlines()[-1])
    minutes = built["frames"] / FPS / 60
    rows.append([f"  per minute of footage ({built['built']} clips, {minutes:.1f} min)",
                 fmt(wall / minutes, 1), fmt(cpu / minutes, 1)] + ["-"] * 6)
    for i in range(args.repeat):
        row(f"draft from proxies #{i + 2}", _musync_cmd(plan_path, out))
    row("preview with pictures from proxies", _preview_cmd(plan_path, out))
    if args.many:
        row(f"draft from proxies, {args.many} cuts", _musync_cmd(many_path, out))
    shutil.rmtree(cache.cache_dir(), ignore_errors=True)
    row("first draft (makes the proxies)", _musync_cmd(plan_path, out))
    return rows


if __name__ == "__main__":
    sys.exit(main())
