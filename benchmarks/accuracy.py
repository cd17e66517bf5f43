"""Accuracy of musync's analysis, side by side with librosa's default beat tracker.

Usage::

    python benchmarks/accuracy.py [--quick] [--markdown]

Data sets (each printed as its own table; absent sets are skipped with a message):

(a) synthetic -- songs from :func:`musync.testing.make_song` with known beats, downbeats and
    sections. The parameters come from a fixed rule (a tempo list, a metre cycle and a seeded
    random generator per song index), never from looking at results.
(b) cc_long -- ``<repo>/../shared/data/audio/cc_long`` with silver beat references
    (``silver/*.beats``; beats only, and their metrical level may differ from ours).
(c) cc -- ``<repo>/../shared/data/audio/cc`` without references: what musync reports.

Metrics (mir_eval, default 70 ms window, first 5 s *not* trimmed because edge beats matter for
cutting video): beat F-measure, CMLt and AMLt (``mir_eval.beat.continuity``), downbeat F
(``mir_eval.beat.f_measure`` on downbeats), mean signed and mean absolute offset (ms) of
estimated beats matched one-to-one to reference beats within 70 ms, tempo accuracy (within 4 %
of the tempo from the reference's median inter-beat interval; ``acc2`` also accepts x2 and x0.5)
and section boundary detection F at +-0.5 s and +-3 s (``mir_eval.segment.detection`` with the
song's start and end trimmed, so only interior boundaries count).

librosa's baseline is ``librosa.beat.beat_track(y=y, sr=sr, units="time")`` with defaults; its
tempo is the tempo it returns; its "downbeats" are every 4th beat from the first; it has no
sections (n/a).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from _common import code_version, fmt, format_table, shared_data_dir

#: Window (s) for matching beats when measuring offsets (the F-measure's window).
MATCH_WINDOW = 0.07
#: Relative tolerance of the tempo accuracy.
TEMPO_TOL = 0.04
#: Tempos of the synthetic set, cycled by song index.
SYNTH_BPMS = (60, 90, 120, 174, 75, 105, 140, 160)
SYNTH_SONGS = 24
SYNTH_SONGS_QUICK = 6
SYNTH_SEED = 2026

TARGETS = {
    "beat_f_synth": 0.95,
    "downbeat_f_synth": 0.90,
    "abs_offset_ms": 5.0,
    "beat_f_silver": 0.90,
    "hr3f_synth": 0.80,
}

#: Columns compared against librosa: (key, header, higher is better).
_COMPARED = [("f", "F", True), ("cmlt", "CMLt", True), ("amlt", "AMLt", True),
             ("down_f", "DbF", True), ("abs_off", "|off| ms", False),
             ("acc", "acc", True), ("acc2", "acc2", True)]


# ---------------------------------------------------------------------------------------------
# The synthetic set


def _random_form(rng: np.random.Generator, bpm: float, beats_per_bar: int) -> list[tuple[str, int]]:
    """A song form from ``rng``: optional intro, alternating verse/chorus (either first), an
    optional bridge before the last body section, optional outro. Section lengths scale with the
    bar length so that sections last roughly 6 to 22 seconds."""
    bar_s = 60.0 / bpm * beats_per_bar
    unit = 2 if bar_s >= 3.0 else 4 if bar_s >= 1.5 else 8
    lengths = {"verse": unit * int(rng.choice([1, 2])), "chorus": unit * int(rng.choice([1, 2]))}
    form = []
    if rng.random() < 0.7:
        form.append(("intro", unit))
    first, second = ("chorus", "verse") if rng.random() < 0.25 else ("verse", "chorus")
    body = [first, second] * int(rng.integers(2, 4))
    if rng.random() < 0.5:
        body.insert(len(body) - 1, "bridge")
    form += [(k, lengths.get(k, unit)) for k in body]
    if rng.random() < 0.6:
        form.append(("outro", unit))
    return form


def synthetic_specs(n: int = SYNTH_SONGS, *, seed: int = SYNTH_SEED) -> list[dict]:
    """Keyword arguments of :func:`musync.testing.make_song` for ``n`` benchmark songs.

    Song ``i`` has tempo ``SYNTH_BPMS[i % 8]`` and is in 3/4 when ``i % 3 == 2`` (so the first
    24 songs cross every tempo with both metres); every odd song has a pickup of 1 to
    ``beats_per_bar - 1`` beats. Drift (none, or +-2-4 %), humanisation (0/5/10/15 ms), key and
    form come from a generator seeded with ``(seed, i)``.
    """
    specs = []
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        bpm = float(SYNTH_BPMS[i % len(SYNTH_BPMS)])
        bpb = 3 if i % 3 == 2 else 4
        pickup = int(rng.integers(1, bpb)) if i % 2 == 1 else 0
        drift = 0.0 if rng.random() < 1.0 / 3.0 else float(rng.choice([-1.0, 1.0]) * rng.uniform(0.02, 0.04))
        humanize = float(rng.choice([0.0, 0.005, 0.010, 0.015]))
        key = int(rng.integers(0, 12))
        form = _random_form(rng, bpm, bpb)
        specs.append(dict(bpm=bpm, beats_per_bar=bpb, pickup=pickup, tempo_drift=round(drift, 4),
                          humanize=humanize, key=key, form=form, seed=i))
    return specs


def describe_spec(i: int, spec: dict) -> tuple[str, str]:
    """Short name and form string for a table row."""
    name = (f"s{i:02d} {spec['bpm']:g}bpm {spec['beats_per_bar']}/4 pu{spec['pickup']} "
            f"{spec['tempo_drift'] * 100:+.1f}% h{spec['humanize'] * 1000:.0f} k{spec['key']}")
    form = " ".join(f"{k[0]}{b}" for k, b in spec["form"])
    return name, form


# ---------------------------------------------------------------------------------------------
# Metrics


def beat_scores(ref: np.ndarray, est: np.ndarray) -> dict:
    """Beat F, CMLt, AMLt and matched offsets (ms) of ``est`` against ``ref`` (seconds)."""
    import mir_eval

    ref = np.asarray(ref, dtype=float)
    est = np.asarray(est, dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f = mir_eval.beat.f_measure(ref, est, f_measure_threshold=MATCH_WINDOW)
        _, cmlt, _, amlt = mir_eval.beat.continuity(ref, est)
    pairs = mir_eval.util.match_events(ref, est, MATCH_WINDOW) if ref.size and est.size else []
    if pairs:
        d = np.array([est[j] - ref[i] for i, j in pairs]) * 1000.0
        off, abs_off = float(d.mean()), float(np.abs(d).mean())
    else:
        off = abs_off = float("nan")
    return {"f": float(f), "cmlt": float(cmlt), "amlt": float(amlt), "off": off, "abs_off": abs_off}


def tempo_scores(ref_beats: np.ndarray, est_tempo: float) -> dict:
    """Tempo accuracy against the tempo of the reference's median inter-beat interval."""
    ref_tempo = 60.0 / float(np.median(np.diff(ref_beats)))
    ok = lambda t: bool(abs(t - ref_tempo) <= TEMPO_TOL * ref_tempo)  # noqa: E731
    est_tempo = float(est_tempo)
    return {"ref_tempo": ref_tempo, "tempo": est_tempo, "acc": float(ok(est_tempo)),
            "acc2": float(ok(est_tempo) or ok(2.0 * est_tempo) or ok(0.5 * est_tempo))}


def section_scores(ref_intervals: np.ndarray, est_intervals: np.ndarray) -> dict:
    """Boundary detection F at +-0.5 s and +-3 s, interior boundaries only."""
    import mir_eval

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f05 = mir_eval.segment.detection(ref_intervals, est_intervals, window=0.5, trim=True)[2]
        f3 = mir_eval.segment.detection(ref_intervals, est_intervals, window=3.0, trim=True)[2]
    return {"hr05": float(f05), "hr3": float(f3)}


def librosa_beats(y: np.ndarray, sr: int) -> tuple[float, np.ndarray]:
    """librosa's default beat tracker: (tempo in BPM as returned, beat times in seconds)."""
    import librosa

    tempo, beats = librosa.beat.beat_track(y=y, sr=sr, units="time")
    return float(np.atleast_1d(tempo)[0]), np.asarray(beats, dtype=float)


def _nanmean(rows: list[dict], key: str) -> float:
    vals = [r[key] for r in rows if r.get(key) is not None and not np.isnan(r[key])]
    return float(np.mean(vals)) if vals else float("nan")


# ---------------------------------------------------------------------------------------------
# Data sets


def run_synthetic(quick: bool) -> dict:
    """Evaluate both methods on the synthetic set; returns per-song rows per method."""
    from musync.analysis import analyze_signal
    from musync.testing import make_song

    specs = synthetic_specs(SYNTH_SONGS_QUICK if quick else SYNTH_SONGS)
    res = {"musync": [], "librosa": [], "names": [], "specs": specs}
    for i, spec in enumerate(specs):
        song = make_song(**spec)
        name, form = describe_spec(i, spec)
        ref_iv = np.array([[s[0], s[1]] for s in song.sections])
        t0 = time.perf_counter()
        a = analyze_signal(song.y, song.sr)
        m = {"time": time.perf_counter() - t0, "bpb": a.beats_per_bar, "fallback": a.fallback}
        m.update(beat_scores(song.beats, a.beats))
        m["down_f"] = beat_scores(song.downbeats, a.downbeats)["f"]
        m.update(tempo_scores(song.beats, a.tempo))
        est_iv = np.array([[s.start, s.end] for s in a.sections])
        m.update(section_scores(ref_iv, est_iv))
        m["n_sections"] = len(a.sections)
        t0 = time.perf_counter()
        lt, lb = librosa_beats(song.y, song.sr)
        lib = {"time": time.perf_counter() - t0, "bpb": None, "fallback": None}
        lib.update(beat_scores(song.beats, lb))
        lib["down_f"] = beat_scores(song.downbeats, lb[::4])["f"]
        lib.update(tempo_scores(song.beats, lt))
        lib.update({"hr05": None, "hr3": None, "n_sections": None})
        res["musync"].append(m)
        res["librosa"].append(lib)
        res["names"].append((name, form, len(song.sections), song.duration))
        print(f"  [{i + 1}/{len(specs)}] {name}: F {m['f']:.3f} / {lib['f']:.3f}, "
              f"DbF {m['down_f']:.3f}, HR3F {m['hr3']:.2f}", file=sys.stderr, flush=True)
    return res


def _read_beats(path: Path) -> np.ndarray:
    vals = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            vals.append(float(line.split()[0]))
    return np.asarray(vals, dtype=float)


def run_silver(folder: Path) -> dict:
    """Evaluate both methods on songs with silver beat references."""
    import musync
    from musync.media import load_audio

    res = {"musync": [], "librosa": [], "names": []}
    for ref_path in sorted((folder / "silver").glob("*.beats")):
        cands = [p for p in folder.glob(ref_path.stem + ".*") if p.suffix != ".beats"]
        if not cands:
            print(f"  no audio for {ref_path.name}; skipped", file=sys.stderr)
            continue
        audio = cands[0]
        ref = _read_beats(ref_path)
        a = musync.analyze(audio, use_cache=False)
        m = {"bpb": a.beats_per_bar, "fallback": a.fallback}
        m.update(beat_scores(ref, a.beats))
        m.update(tempo_scores(ref, a.tempo))
        y, _ = load_audio(audio, sr=22050)
        lt, lb = librosa_beats(y, 22050)
        lib = {"bpb": None, "fallback": None}
        lib.update(beat_scores(ref, lb))
        lib.update(tempo_scores(ref, lt))
        res["musync"].append(m)
        res["librosa"].append(lib)
        res["names"].append((audio.name, a.duration))
        print(f"  {audio.name}: F {m['f']:.3f} / {lib['f']:.3f}", file=sys.stderr, flush=True)
    return res


def run_unannotated(folder: Path) -> list[dict]:
    """What musync reports on songs without references (and librosa's tempo for context)."""
    import musync
    from musync.media import load_audio

    rows = []
    exts = {".wav", ".flac", ".ogg", ".mp3", ".m4a", ".aac", ".mp4", ".webm", ".opus"}
    for audio in sorted(p for p in folder.iterdir() if p.suffix.lower() in exts):
        a = musync.analyze(audio, use_cache=False)
        y, _ = load_audio(audio, sr=22050)
        lt, _ = librosa_beats(y, 22050)
        rows.append({"name": audio.name, "duration": a.duration, "tempo": a.tempo,
                     "bpb": a.beats_per_bar, "fallback": a.fallback, "confidence": a.confidence,
                     "down_conf": a.confidences.get("downbeats"), "n_sections": len(a.sections),
                     "librosa_tempo": lt})
        print(f"  {audio.name}: {a.tempo:.1f} BPM", file=sys.stderr, flush=True)
    return rows


# ---------------------------------------------------------------------------------------------
# Tables


def _metric_cells(r: dict, keys) -> list[str]:
    out = []
    for k, digits in keys:
        v = r.get(k)
        out.append(fmt(v, digits))
    return out


_SYNTH_KEYS = [("f", 3), ("cmlt", 3), ("amlt", 3), ("down_f", 3), ("off", 1), ("abs_off", 1),
               ("tempo", 1), ("acc", 0), ("acc2", 0), ("hr05", 2), ("hr3", 2)]
_SYNTH_HEAD = ["F", "CMLt", "AMLt", "DbF", "off ms", "|off| ms", "BPM", "acc", "acc2", "HR.5F", "HR3F"]
_SILVER_KEYS = [("f", 3), ("cmlt", 3), ("amlt", 3), ("off", 1), ("abs_off", 1), ("tempo", 1),
                ("acc", 0), ("acc2", 0)]
_SILVER_HEAD = ["F", "CMLt", "AMLt", "off ms", "|off| ms", "BPM", "acc", "acc2"]


def _mean_row(rows: list[dict], keys) -> dict:
    out = {}
    for k, _ in keys:
        out[k] = None if all(r.get(k) is None for r in rows) else _nanmean(rows, k)
    return out


def _mean_keys(keys):
    # averaged 0/1 accuracies read better with two decimals; a mean tempo means nothing
    return [(k, 2 if k in ("acc", "acc2") else d) for k, d in keys if k != "tempo"]


def synthetic_table(res: dict, markdown: bool) -> str:
    rows = []
    for (name, form, nsec, dur), m, lib in zip(res["names"], res["musync"], res["librosa"]):
        rows.append([name, form, f"{dur:.0f}", "musync", str(m["bpb"]), f"{m['ref_tempo']:.1f}"]
                    + _metric_cells(m, _SYNTH_KEYS))
        rows.append(["", "", "", "librosa", "4*", ""] + _metric_cells(lib, _SYNTH_KEYS))
    rows.append(None)
    for meth in ("musync", "librosa"):
        mr = _mean_row(res[meth], _SYNTH_KEYS)
        cells = _metric_cells(mr, _mean_keys(_SYNTH_KEYS))
        cells.insert(6, "")  # no mean BPM
        rows.append([f"mean ({len(res[meth])} songs)", "", "", meth, "", ""] + cells)
    head = ["song", "form (kind, bars)", "s", "method", "bpb", "ref BPM"] + _SYNTH_HEAD
    return format_table(head, rows, markdown=markdown,
                        title="(a) synthetic songs (musync.testing.make_song), known beats/downbeats/sections")


def breakdown_table(res: dict, markdown: bool) -> str:
    """Synthetic means grouped by humanisation (offsets) and by the shortest section (boundaries)."""
    rows = []
    specs = res["specs"]
    for h in sorted({s["humanize"] for s in specs}):
        idx = [i for i, s in enumerate(specs) if s["humanize"] == h]
        mu = [res["musync"][i] for i in idx]
        li = [res["librosa"][i] for i in idx]
        rows.append([f"humanize {h * 1000:.0f} ms", str(len(idx)), fmt(_nanmean(mu, "off"), 1),
                     fmt(_nanmean(mu, "abs_off"), 1), fmt(_nanmean(li, "abs_off"), 1), "", ""])
    rows.append(None)
    shortest = [min(b for _, b in s["form"]) for s in specs]
    for b in sorted(set(shortest)):
        idx = [i for i, v in enumerate(shortest) if v == b]
        mu = [res["musync"][i] for i in idx]
        rows.append([f"shortest section {b} bars", str(len(idx)), "", "", "",
                     fmt(_nanmean(mu, "hr05"), 2), fmt(_nanmean(mu, "hr3"), 2)])
    head = ["group", "songs", "musync off ms", "musync |off| ms", "librosa |off| ms", "musync HR.5F",
            "musync HR3F"]
    return format_table(head, rows, markdown=markdown, title="(a) synthetic, grouped")


def silver_table(res: dict, markdown: bool) -> str:
    rows = []
    for (name, dur), m, lib in zip(res["names"], res["musync"], res["librosa"]):
        rows.append([name, f"{dur:.0f}", "musync", f"{m['ref_tempo']:.1f}"] + _metric_cells(m, _SILVER_KEYS))
        rows.append(["", "", "librosa", ""] + _metric_cells(lib, _SILVER_KEYS))
    rows.append(None)
    for meth in ("musync", "librosa"):
        mr = _mean_row(res[meth], _SILVER_KEYS)
        cells = _metric_cells(mr, _mean_keys(_SILVER_KEYS))
        cells.insert(5, "")
        rows.append([f"mean ({len(res[meth])} songs)", "", meth, ""] + cells)
    head = ["song", "s", "method", "ref BPM"] + _SILVER_HEAD
    return format_table(head, rows, markdown=markdown,
                        title="(b) cc_long vs silver beat references (beats only; metrical level may differ)")


def unannotated_table(rows: list[dict], markdown: bool) -> str:
    body = [[r["name"], f"{r['duration']:.0f}", fmt(r["tempo"], 1), str(r["bpb"]), fmt(r["fallback"]),
             fmt(r["confidence"], 2), fmt(r["down_conf"], 2), str(r["n_sections"]),
             fmt(r["librosa_tempo"], 1)] for r in rows]
    head = ["song", "s", "BPM", "bpb", "fallback", "confidence", "downbeat conf", "sections",
            "librosa BPM"]
    return format_table(head, body, markdown=markdown, title="(c) cc (no references): what musync reports")


# ---------------------------------------------------------------------------------------------
# Summary


def _compare(res: dict, keys) -> tuple[list[str], list[str]]:
    """Metrics where musync's mean is worse than librosa's, and where they tie."""
    worse, ties = [], []
    for k, head, higher in _COMPARED:
        if k not in keys:
            continue
        mu, li = _nanmean(res["musync"], k), _nanmean(res["librosa"], k)
        if np.isnan(mu) or np.isnan(li):
            continue
        if abs(mu - li) < 1e-9:
            ties.append(f"{head} ({mu:.3g})")
        elif (mu < li) == higher:
            worse.append(f"{head} ({mu:.3g} vs {li:.3g})")
    return worse, ties


def summary(synth: dict | None, silver: dict | None) -> list[tuple[str, str, str]]:
    """(target, measured, PASS/MISS/n/a) rows."""
    out = []

    def add(label, value, ok, fmt_value):
        if value is None or np.isnan(value):
            out.append((label, "n/a (data set absent)", "n/a"))
        else:
            out.append((label, fmt_value(value), "PASS" if ok(value) else "MISS"))

    sy = synth["musync"] if synth else None
    add(f"beat F >= {TARGETS['beat_f_synth']} (synthetic)", _nanmean(sy, "f") if sy else None,
        lambda v: v >= TARGETS["beat_f_synth"], lambda v: f"{v:.3f}")
    add(f"downbeat F >= {TARGETS['downbeat_f_synth']} (synthetic)", _nanmean(sy, "down_f") if sy else None,
        lambda v: v >= TARGETS["downbeat_f_synth"], lambda v: f"{v:.3f}")
    add(f"mean |beat offset| <= {TARGETS['abs_offset_ms']:g} ms (synthetic)",
        _nanmean(sy, "abs_off") if sy else None, lambda v: v <= TARGETS["abs_offset_ms"],
        lambda v: f"{v:.1f} ms" + (f" (silver: {_nanmean(silver['musync'], 'abs_off'):.1f} ms)"
                                   if silver and silver["musync"] else ""))
    sv = silver["musync"] if silver and silver["musync"] else None
    add(f"beat F >= {TARGETS['beat_f_silver']} (vs silver)", _nanmean(sv, "f") if sv else None,
        lambda v: v >= TARGETS["beat_f_silver"],
        lambda v: f"{v:.3f} (AMLt {_nanmean(sv, 'amlt'):.3f})")
    add(f"section HR3F >= {TARGETS['hr3f_synth']} (synthetic)", _nanmean(sy, "hr3") if sy else None,
        lambda v: v >= TARGETS["hr3f_synth"], lambda v: f"{v:.3f} (HR.5F {_nanmean(sy, 'hr05'):.3f})")
    for label, res, keys in (("synthetic", synth, [k for k, _ in _SYNTH_KEYS]),
                             ("silver", silver, [k for k, _ in _SILVER_KEYS])):
        if not res or not res["musync"]:
            out.append((f"better than librosa on every metric ({label})", "n/a (data set absent)", "n/a"))
            continue
        worse, ties = _compare(res, keys)
        text = ("worse on " + ", ".join(worse)) if worse else "better on every metric"
        if ties:
            text += "; tied on " + ", ".join(ties)
        out.append((f"better than librosa on every metric, mean ({label})", text,
                    "MISS" if worse else "PASS"))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help=f"{SYNTH_SONGS_QUICK} synthetic songs instead of {SYNTH_SONGS}")
    ap.add_argument("--markdown", action="store_true", help="print the tables as markdown")
    args = ap.parse_args(argv)
    md = args.markdown
    data = shared_data_dir()
    print(f"musync analysis code at {code_version()}; data: {data}")
    print()
    print("synthetic set ...", file=sys.stderr, flush=True)
    synth = run_synthetic(args.quick)
    print(synthetic_table(synth, md))
    print()
    print(breakdown_table(synth, md))
    print()

    silver = None
    long_dir = data / "audio" / "cc_long"
    if (long_dir / "silver").is_dir():
        print("cc_long set ...", file=sys.stderr, flush=True)
        silver = run_silver(long_dir)
        print(silver_table(silver, md))
    else:
        print(f"(b) cc_long skipped: {long_dir / 'silver'} not found")
    print()

    cc_dir = data / "audio" / "cc"
    if cc_dir.is_dir():
        print("cc set ...", file=sys.stderr, flush=True)
        print(unannotated_table(run_unannotated(cc_dir), md))
    else:
        print(f"(c) cc skipped: {cc_dir} not found")
    print()

    rows = summary(synth, silver)
    print(format_table(["target", "measured (musync, mean)", "result"], [list(r) for r in rows],
                       markdown=md, title="Summary against the targets"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
