"""What the planner does with what the scan sees: flagged ranges, duplicates, upscaling, framing
and brightness continuity, measured on plans.

Run from ``benchmarks/plan.py --only content`` (or alone: ``python benchmarks/plan_content.py``).

1. **Real songs and clips.** Every song of ``../shared/data/audio/cc_long`` planned (default
   style, seed 0) with the 13 clips of ``../shared/data/video`` (3 test patterns, 2 clips with
   text or rolling text, a letterboxed and a pillarboxed clip, 2 duplicate pairs: more than 5
   unflagged clips), at 16:9, 9:16 and 1:1. Per plan: shots (and seconds) from flagged ranges,
   pairs of shots within 3 of each other from one duplicate group (different files), shots
   upscaled more than 2x while a clip that needs at most 2x is free of flags and long enough,
   and the largest mean-luma jump between neighbouring shots inside a section (the shot's luma
   is its sub-shot's mean brightness), with the shots it sits between; for variety, how often a
   source comes back two shots after itself inside a section (A B A) and the most and fewest
   shots of one file.
2. **Framing on generated clips.** Eight footage clips with an off-centre moving subject
   (:func:`musync.testing.make_footage`, known subject box per frame) and a generated song,
   planned at 9:16 and 1:1: the share of output frames whose subject centre lies inside the
   shot's crop window (the plan's crop; a centred window where the plan stores none).
3. **A 9:16 draft** of the first real song is rendered and a contact sheet of its shots (the
   middle frame of each) is written to ``--out`` (look at it).

Targets (issue 11): 0 shots from flagged ranges when >= 5 unflagged clips exist; 0 duplicate
members within 3 shots; 0 shots upscaled > 2x when a sharper clip fits; subject inside the crop
>= 95 % of frames (9:16 and 1:1); largest mean-luma jump inside a section <= 0.20 (real clips).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks._common import format_table, shared_data_dir  # noqa: E402

ASPECTS = ("16:9", "9:16", "1:1")


def _clip_map(plan, clips):
    by = {c.path: c for c in clips}
    return {s.source: by.get(s.source) for s in plan.shots}


def _shot_luma(shot, clip, fps) -> float:
    t = (shot.source_in + shot.source_out) / 2 / float(fps)
    for ss in clip.subshots:
        if ss.start <= t < ss.end:
            return ss.brightness
    return clip.brightness


def measure(plan, clips, groups) -> dict:
    """The plan-level figures of this benchmark for one plan."""
    from musync.clips import upscale_factor

    fps = Fraction(plan.fps)
    by = {c.path: c for c in clips}
    group_of = {}
    for k, g in enumerate(groups):
        for p in g.paths:
            group_of[p] = k
    flagged_shots, flagged_s = 0, 0.0
    for s in plan.shots:
        c = by.get(s.source)
        if c is None:
            continue
        a, b = s.source_in / float(fps), s.source_out / float(fps)
        if c.flagged(a, b):
            flagged_shots += 1
            flagged_s += s.length / float(fps)
    shots = plan.shots
    dup_pairs = []
    for i in range(len(shots)):
        for j in range(i + 1, min(len(shots), i + 4)):
            a, b = shots[i].source, shots[j].source
            if a != b and a in group_of and group_of.get(b) == group_of[a]:
                dup_pairs.append((i, j))
    size = tuple(plan.size)
    ups = {p: upscale_factor(c, size) for p, c in by.items()}

    def clean_len(c) -> float:
        free = c.usable_duration
        for f in c.flags:
            if f.excludes:
                free -= max(0.0, min(f.end, c.usable_out) - max(f.start, c.usable_in))
        return free

    # the longest continuous unflagged span of each clip (a sub-shot without flags)
    from musync.planner.units import source_units

    longest = {}
    for u in source_units(sorted(by.values(), key=lambda c: c.path), fps):
        if not u.flagged:
            longest[u.path] = max(longest.get(u.path, 0), u.length)
    upscaled = 0
    for s in shots:
        if ups.get(s.source, 1.0) > 2.0:
            if any(ups[p] <= 2.0 and longest.get(p, 0) >= s.length for p in by):
                upscaled += 1
    jumps = []
    for i in range(1, len(shots)):
        a, b = shots[i - 1], shots[i]
        if a.section != b.section or a.source not in by or b.source not in by:
            continue
        la, lb = _shot_luma(a, by[a.source], fps), _shot_luma(b, by[b.source], fps)
        jumps.append((abs(la - lb), i - 1, i))
    jumps.sort(reverse=True)
    # variety: a source (a duplicate group counts as one) back two shots after itself inside a
    # section (A B A), and the most and fewest shots of one file among the files used
    ident = [group_of.get(s.source, s.source) for s in shots]
    returns = sum(1 for i in range(2, len(shots))
                  if ident[i] == ident[i - 2] and shots[i].section == shots[i - 2].section)
    uses = {}
    for s in shots:
        uses[s.source] = uses.get(s.source, 0) + 1
    return {"shots": len(shots), "flagged_shots": flagged_shots, "flagged_s": flagged_s,
            "returns": returns, "uses": (max(uses.values(), default=0), min(uses.values(), default=0),
                                         len(uses)),
            "dup_pairs": dup_pairs, "upscaled": upscaled,
            "max_jump": jumps[0][0] if jumps else 0.0, "jumps": jumps[:3],
            "unflagged_clips": sum(1 for c in clips if clean_len(c) > 0.5 * c.usable_duration)}


def subject_share(plan, truths: dict) -> float:
    """Share of output frames whose subject centre is inside the shot's crop (or the centred
    window where the plan stores no crop)."""
    from musync import framing

    inside = total = 0
    aspect = plan.size[0] / plan.size[1]
    for s in plan.shots:
        tr = truths.get(s.source)
        if tr is None:
            continue
        clip, truth = tr
        n = s.length
        src = (s.source_in + np.arange(n)) * truth.fps / float(plan.fps)
        idx = np.clip(np.round(src).astype(int), 0, len(truth.boxes) - 1)
        boxes = truth.boxes[idx] / np.array([*truth.size, *truth.size], dtype=np.float64)
        crop = s.crop if s.crop is not None else framing.centred_crop(clip, n, aspect)
        inside += framing.subject_inside(crop, boxes, np.arange(n)) * n
        total += n
    return inside / max(1, total)


def contact_sheet(video: Path, plan, out: Path, cols: int = 8) -> Path:
    """The middle frame of every shot of a rendered ``video``, in a grid with shot numbers."""
    import av
    from PIL import Image, ImageDraw

    mids = [(s.record_in + s.record_out) // 2 for s in plan.shots]
    want = set(mids)
    got = {}
    with av.open(str(video)) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i in want:
                got[i] = f.to_image()
            if i > max(mids):
                break
    tw = 120
    first = next(iter(got.values()))
    th = int(tw * first.height / first.width)
    rows = (len(mids) + cols - 1) // cols
    sheet = Image.new("RGB", (cols * tw, rows * (th + 14)), "white")
    d = ImageDraw.Draw(sheet)
    for k, m in enumerate(mids):
        if m not in got:
            continue
        x, y = (k % cols) * tw, (k // cols) * (th + 14)
        sheet.paste(got[m].resize((tw, th)), (x, y + 14))
        d.text((x + 2, y + 1), f"{k} {Path(plan.shots[k].source).stem[:14]}", fill="black")
    sheet.save(out)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", metavar="DIR", help="where the contact sheet and media go")
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--no-render", action="store_true", help="skip the 9:16 draft")
    args = ap.parse_args(argv)
    os.environ.setdefault("MUSYNC_CACHE_DIR", tempfile.mkdtemp(prefix="musync-bench-cache-"))
    import warnings

    warnings.simplefilter("ignore")
    import musync
    from musync import testing as T
    from musync.planner import make_settings

    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="musync-plan-content-"))
    out.mkdir(parents=True, exist_ok=True)
    md = args.markdown
    data = shared_data_dir()
    first_916 = None
    if (data / "video").is_dir() and (data / "audio" / "cc_long").is_dir():
        clips = musync.scan_clips(data / "video")
        groups = clips.groups
        rows = []
        for song in sorted((data / "audio" / "cc_long").glob("*.ogg")):
            a = musync.analyze(song)
            for aspect in ASPECTS:
                p = musync.plan(a, clips, make_settings(aspect=aspect))
                m = measure(p, clips, groups)
                if aspect == "9:16" and first_916 is None:
                    first_916 = p
                j = m["jumps"][0] if m["jumps"] else None
                where = (f"{j[1]}-{j[2]} ({Path(p.shots[j[1]].source).stem[:16]} / "
                         f"{Path(p.shots[j[2]].source).stem[:16]})") if j else "-"
                rows.append([song.stem[:24], aspect, str(m["shots"]),
                             f"{m['flagged_shots']} ({m['flagged_s']:.1f} s)",
                             str(len(m["dup_pairs"])), str(m["upscaled"]),
                             f"{m['max_jump']:.2f}", where, str(m["returns"]),
                             "{2}: {0}/{1}".format(*m["uses"])])
        print(format_table(["song", "aspect", "shots", "flagged shots", "dup pairs <= 3 apart",
                            "upscaled > 2x (sharper fits)", "max luma jump", "between shots",
                            "A B A returns", "files: most/fewest shots"],
                           rows, title=f"Real songs x the {len(clips)} real clips "
                                       f"({sum(1 for c in clips if not any(f.excludes for f in c.flags))}"
                                       f" without excluding flags, {len(groups)} duplicate "
                                       "group(s))", markdown=md))
        print()
    else:
        print(f"skipping the real songs: {data} not found\n")
    # framing on generated clips
    gen = out / "framing"
    gen.mkdir(exist_ok=True)
    rng = np.random.default_rng(11)
    truths = {}
    files = []
    for i in range(8):
        side = (0.12, 0.88)[i % 2]
        s0 = (side + rng.uniform(-0.05, 0.05), rng.uniform(0.3, 0.7))
        s1 = (side + rng.uniform(-0.08, 0.08), rng.uniform(0.3, 0.7))
        p = gen / f"subject_{i}.mp4"
        tr = T.make_footage(p, seconds=4.0, size=(640, 360), seed=900 + i, subject_start=s0,
                            subject_end=s1, pan=(float(rng.uniform(-0.01, 0.01)), 0.0))
        files.append(p)
        truths[str(p)] = tr
    gclips = musync.scan_clips(files)
    for c in gclips:
        truths[c.path] = (c, truths[c.path])
    song = T.make_song(bpm=120, seed=3, form=(("verse", 4), ("chorus", 4), ("verse", 4)))
    a = musync.analysis.analyze_signal(song.y, song.sr)
    rows = []
    for aspect in ("9:16", "1:1"):
        p = musync.plan(a, gclips, make_settings(aspect=aspect))
        share = subject_share(p, truths)
        framed = sum(1 for s in p.shots if s.crop is not None)
        rows.append([aspect, str(len(p.shots)), str(framed), f"{share * 100:.1f} %"])
    print(format_table(["aspect", "shots", "shots with a crop", "subject inside the crop"], rows,
                       title="Framing: 8 generated clips with an off-centre subject",
                       markdown=md))
    if first_916 is not None and not args.no_render:
        video = out / "draft_9x16.mp4"
        musync.render(first_916, video, overwrite=True)
        sheet = contact_sheet(video, first_916, out / "draft_9x16_sheet.png")
        print(f"\n9:16 draft: {video}\ncontact sheet: {sheet}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
