"""Accuracy of musync's analysis, side by side with other beat trackers.

Usage::

    python benchmarks/accuracy.py [--quick] [--markdown] [--sets a,h,r,b,c] [--peers ...]

Data sets (each printed as its own table; absent sets are skipped with a message):

(a) synthetic -- songs from :func:`musync.testing.make_song` with known beats, downbeats and
    sections. The parameters come from a fixed rule (a tempo list, a metre cycle and a seeded
    random generator per song index), never from looking at results.
(h) held-out synthetic -- the same generator with another seed and tempi drawn from 60-180 BPM
    instead of the fixed list: songs nobody looked at while tuning.
(r) annotated -- ``<repo>/../shared/data/audio/annotated``: real recordings with human beat and
    downbeat annotations (``*.beats``: ``time<TAB>position in bar``, 1 = downbeat), with
    musync, madmom, librosa and essentia side by side (see ``peers.py``).
(b) cc_long -- ``<repo>/../shared/data/audio/cc_long`` with silver beat references
    (``silver/*.beats``; beats only, and their metrical level may differ from ours), same peers.
(c) cc -- ``<repo>/../shared/data/audio/cc`` without references: what musync reports.

Metrics (mir_eval, default 70 ms window, first 5 s *not* trimmed because edge beats matter for
cutting video): beat F-measure, CMLt and AMLt (``mir_eval.beat.continuity``), downbeat F
(``mir_eval.beat.f_measure`` on downbeats), mean signed and mean absolute offset (ms) of
estimated beats matched one-to-one to reference beats within 70 ms, tempo accuracy (within 4 %
of the tempo from the reference's median inter-beat interval; ``acc2`` also accepts x2, x3, x1/2
and x1/3, as in Gouyon et al. 2006), CPU seconds per minute of audio (``time.process_time``)
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
HELD_OUT_SEED = 4711

TARGETS = {
    "beat_f_synth": 0.95,
    "downbeat_f_synth": 0.90,
    "abs_offset_ms": 5.0,
    "beat_f_silver": 0.90,
    "hr3f_synth": 0.80,
    "real_f": 0.85,
    "real_cmlt": 0.80,
    "real_down_f": 0.75,
    "real_acc": 0.85,
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


def synthetic_specs(n: int = SYNTH_SONGS, *, seed: int = SYNTH_SEED, held_out: bool = False) -> list[dict]:
    """Keyword arguments of :func:`musync.testing.make_song` for ``n`` benchmark songs.

    Song ``i`` has tempo ``SYNTH_BPMS[i % 8]`` and is in 3/4 when ``i % 3 == 2`` (so the first
    24 songs cross every tempo with both metres); every odd song has a pickup of 1 to
    ``beats_per_bar - 1`` beats. Drift (none, or +-2-4 %), humanisation (0/5/10/15 ms), key and
    form come from a generator seeded with ``(seed, i)``. With ``held_out`` the tempo is drawn
    from that generator too (uniform in 60-180 BPM, one decimal) instead of the fixed list.
    """
    specs = []
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        bpm = float(SYNTH_BPMS[i % len(SYNTH_BPMS)])
        if held_out:
            bpm = round(float(np.random.default_rng([seed, i, 1]).uniform(60.0, 180.0)), 1)
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
            "acc2": float(any(ok(k * est_tempo) for k in (1.0, 2.0, 3.0, 0.5, 1.0 / 3.0)))}


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


def run_synthetic(quick: bool, *, held_out: bool = False) -> dict:
    """Evaluate musync and librosa on the synthetic set; returns per-song rows per method."""
    from musync.analysis import analyze_signal
    from musync.testing import make_song

    specs = synthetic_specs(SYNTH_SONGS_QUICK if quick else SYNTH_SONGS,
                            seed=HELD_OUT_SEED if held_out else SYNTH_SEED, held_out=held_out)
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


def _read_beats(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """Beat times and, where the file has a second column, the downbeats (position 1)."""
    times, pos = [], []
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            parts = line.split()
            times.append(float(parts[0]))
            pos.append(int(float(parts[1])) if len(parts) > 1 else 0)
    t, p = np.asarray(times, dtype=float), np.asarray(pos)
    return t, (t[p == 1] if np.any(p > 0) else None)


def _audio_for(ref_path: Path, folder: Path) -> Path | None:
    cands = [p for p in folder.glob(ref_path.stem + ".*") if p.suffix not in (".beats", ".txt")]
    return sorted(cands)[0] if cands else None


def _scores(ref, ref_down, tempo, beats, downs) -> dict:
    m = beat_scores(ref, beats)
    m.update(tempo_scores(ref, tempo))
    m["down_f"] = (beat_scores(ref_down, downs)["f"] if ref_down is not None and ref_down.size
                   and downs is not None else None)
    return m


def _warm_up_musync() -> None:
    """One untimed analysis, so that imports and kernel loading are not charged to the first file."""
    from musync.analysis import analyze_signal
    from musync.testing import click_track

    analyze_signal(click_track(duration=8.0)[0], 22050)


def run_real(folder: Path, refs: Path, peers: list[str], *, use_peer_cache: bool = True) -> dict:
    """musync and ``peers`` on every ``refs/*.beats`` (audio beside it in ``folder``).

    Returns ``{"names": [(file, seconds)], "<tracker>": [per-file metric dicts]}``; each metric dict
    also holds ``cpu_min`` (CPU seconds per minute of audio) and, for musync, ``bpb``,
    ``fallback`` and ``alt`` (the runner-up tempo).
    """
    import musync
    from peers import run_peer

    res = {"names": [], "musync": []}
    for p in peers:
        res[p] = []
    _warm_up_musync()
    for ref_path in sorted(refs.glob("*.beats")):
        audio = _audio_for(ref_path, folder)
        if audio is None:
            print(f"  no audio for {ref_path.name}; skipped", file=sys.stderr)
            continue
        ref, ref_down = _read_beats(ref_path)
        c0 = time.process_time()
        a = musync.analyze(audio, use_cache=False)
        cpu = time.process_time() - c0
        m = _scores(ref, ref_down, a.tempo, a.beats, a.downbeats)
        alts = getattr(a, "tempo_alternatives", ()) or ()
        m.update({"bpb": a.beats_per_bar, "metre": getattr(a, "metre", None), "fallback": a.fallback, "cpu": cpu,
                  "minutes": a.duration / 60.0,
                  "cpu_min": cpu / (a.duration / 60.0),
                  "alt": alts[0]["bpm"] if alts else None})
        res["musync"].append(m)
        line = [f"musync F {m['f']:.3f} DbF {fmt(m['down_f'], 3)} {a.tempo:.1f} BPM"]
        for p in peers:
            r = run_peer(p, audio, use_cache=use_peer_cache)
            pm = _scores(ref, ref_down, r["tempo"], r["beats"], r["downbeats"])
            pm.update({"bpb": None, "fallback": None, "cpu": r["cpu"], "minutes": a.duration / 60.0,
                       "cpu_min": r["cpu"] / (a.duration / 60.0),
                       "alt": None})
            res[p].append(pm)
            line.append(f"{p} {pm['f']:.3f}")
        res["names"].append((audio.name, a.duration))
        print(f"  {audio.name}: " + ", ".join(line), file=sys.stderr, flush=True)
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
                     "bpb": getattr(a, "metre", a.beats_per_bar), "fallback": a.fallback, "confidence": a.confidence,
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


def _mean_row(rows: list[dict], keys) -> dict:
    out = {}
    for k, _ in keys:
        out[k] = None if all(r.get(k) is None for r in rows) else _nanmean(rows, k)
    if rows and all("cpu" in r for r in rows):
        # CPU per minute over the whole set (total CPU / total minutes), not a mean of ratios
        out["cpu_min"] = sum(r["cpu"] for r in rows) / max(sum(r["minutes"] for r in rows), 1e-9)
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


_REAL_KEYS = [("f", 3), ("cmlt", 3), ("amlt", 3), ("down_f", 3), ("off", 1), ("abs_off", 1),
              ("tempo", 1), ("acc", 0), ("acc2", 0), ("cpu_min", 2)]
_REAL_HEAD = ["F", "CMLt", "AMLt", "DbF", "off ms", "|off| ms", "BPM", "acc1", "acc2", "CPU s/min"]


def real_table(res: dict, markdown: bool, title: str) -> str:
    trackers = [k for k in res if k != "names"]
    rows = []
    for i, (name, dur) in enumerate(res["names"]):
        for j, t in enumerate(trackers):
            m = res[t][i]
            extra = (m.get("metre") or f"{m['bpb']}/4") if m.get("bpb") else ""
            if m.get("fallback"):
                extra += " FALLBACK"
            rows.append([name if j == 0 else "", f"{dur:.0f}" if j == 0 else "",
                         f"{m['ref_tempo']:.1f}" if j == 0 else "", t, extra] + _metric_cells(m, _REAL_KEYS))
        rows.append(None)
    for t in trackers:
        mr = _mean_row(res[t], _REAL_KEYS)
        cells = _metric_cells(mr, _mean_keys(_REAL_KEYS))
        cells.insert(6, "")
        rows.append([f"mean ({len(res[t])} files)", "", "", t, ""] + cells)
    head = ["file", "s", "ref BPM", "tracker", "found"] + _REAL_HEAD
    return format_table(head, rows, markdown=markdown, title=title)


def unannotated_table(rows: list[dict], markdown: bool) -> str:
    body = [[r["name"], f"{r['duration']:.0f}", fmt(r["tempo"], 1), str(r["bpb"]), fmt(r["fallback"]),
             fmt(r["confidence"], 2), fmt(r["down_conf"], 2), str(r["n_sections"]),
             fmt(r["librosa_tempo"], 1)] for r in rows]
    head = ["song", "s", "BPM", "metre", "fallback", "confidence", "downbeat conf", "sections",
            "librosa BPM"]
    return format_table(head, body, markdown=markdown, title="(c) cc (no references): what musync reports")


# ---------------------------------------------------------------------------------------------
# Summary


def _compare(res: dict, keys, peer: str = "librosa") -> tuple[list[str], list[str]]:
    """Metrics where musync's mean is worse than ``peer``'s, and where they tie."""
    worse, ties = [], []
    for k, head, higher in _COMPARED:
        if k not in keys:
            continue
        mu, li = _nanmean(res["musync"], k), _nanmean(res[peer], k)
        if np.isnan(mu) or np.isnan(li):
            continue
        if abs(mu - li) < 1e-9:
            ties.append(f"{head} ({mu:.3g})")
        elif (mu < li) == higher:
            worse.append(f"{head} ({mu:.3g} vs {li:.3g})")
    return worse, ties


def summary(synth: dict | None, held: dict | None, real: dict | None,
            silver: dict | None) -> list[tuple[str, str, str]]:
    """(target, measured, PASS/MISS/n/a) rows."""
    out = []

    def add(label, value, ok, fmt_value):
        if value is None or np.isnan(value):
            out.append((label, "n/a (data set absent)", "n/a"))
        else:
            out.append((label, fmt_value(value), "PASS" if ok(value) else "MISS"))

    def mean(res, key):
        return _nanmean(res["musync"], key) if res and res["musync"] else None

    three = lambda v: f"{v:.3f}"  # noqa: E731
    T = TARGETS
    add(f"beat F >= {T['beat_f_synth']} (synthetic)", mean(synth, "f"), lambda v: v >= T["beat_f_synth"], three)
    add(f"downbeat F >= {T['downbeat_f_synth']} (synthetic)", mean(synth, "down_f"),
        lambda v: v >= T["downbeat_f_synth"], three)
    for label, res in (("synthetic", synth), ("held-out synthetic", held)):
        add(f"mean |beat offset| <= {T['abs_offset_ms']:g} ms ({label})", mean(res, "abs_off"),
            lambda v: v <= T["abs_offset_ms"], lambda v: f"{v:.1f} ms")
        add(f"section HR3F >= {T['hr3f_synth']} ({label})", mean(res, "hr3"),
            lambda v: v >= T["hr3f_synth"], three)
    add(f"beat F >= {T['beat_f_silver']} (vs silver)", mean(silver, "f"), lambda v: v >= T["beat_f_silver"],
        lambda v: f"{v:.3f} (AMLt {_nanmean(silver['musync'], 'amlt'):.3f})")
    for key, head in (("f", "beat F"), ("cmlt", "CMLt"), ("down_f", "downbeat F"), ("acc", "tempo acc1")):
        add(f"{head} >= {T['real_' + key]} (annotated)", mean(real, key), lambda v, k=key: v >= T["real_" + k],
            three)
    if real and "madmom" in real and real["musync"]:
        for key, head in (("f", "beat F"), ("down_f", "downbeat F")):
            mu, mm = _nanmean(real["musync"], key), _nanmean(real["madmom"], key)
            out.append((f"{head} >= madmom's (annotated)", f"{mu:.3f} vs {mm:.3f}", "PASS" if mu >= mm else "MISS"))
        mu, mm = (_mean_row(real[t], [])["cpu_min"] for t in ("musync", "madmom"))
        out.append(("CPU <= 1/20 of madmom's (annotated)", f"{mu:.2f} vs {mm:.2f} s/min ({mm / mu:.0f}x less)",
                    "PASS" if mu * 20 <= mm else "MISS"))
    for label, res in (("annotated", real), ("silver", silver)):
        if res and res["musync"]:
            fb = [n for (n, _), m in zip(res["names"], res["musync"]) if m["fallback"]]
            out.append((f"no fallback on a steady recording ({label})", ", ".join(fb) if fb else "none",
                        "MISS" if fb else "PASS"))
    sets = (("synthetic", synth, _SYNTH_KEYS), ("held-out", held, _SYNTH_KEYS), ("annotated", real, _REAL_KEYS),
            ("silver", silver, _REAL_KEYS))
    for label, res, keys in sets:
        for peer in ("librosa", "essentia"):
            if not res or not res["musync"] or peer not in res:
                continue
            worse, ties = _compare(res, [k for k, _ in keys], peer)
            text = ("worse on " + ", ".join(worse)) if worse else "better on every metric"
            if ties:
                text += "; tied on " + ", ".join(ties)
            out.append((f"ahead of {peer} on every metric, mean ({label})", text, "MISS" if worse else "PASS"))
    return out


def main(argv=None) -> int:
    from peers import PEERS, available

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help=f"{SYNTH_SONGS_QUICK} synthetic songs instead of {SYNTH_SONGS}")
    ap.add_argument("--markdown", action="store_true", help="print the tables as markdown")
    ap.add_argument("--sets", default="a,h,r,b,c",
                    help="which sets: a synthetic, h held-out, r annotated, b cc_long, c cc (default all)")
    ap.add_argument("--peers", default=",".join(PEERS), help="peer trackers on the real sets (default all)")
    ap.add_argument("--no-peer-cache", action="store_true", help="re-run the peers instead of using their cache")
    args = ap.parse_args(argv)
    md = args.markdown
    sets = set(args.sets.split(","))
    vers = available()
    peers = [p for p in args.peers.split(",") if p]
    for p in list(peers):
        if vers.get(p, "unavailable").startswith("unavailable"):
            print(f"peer {p} skipped: {vers.get(p)} (pip install -e '.[bench]')", file=sys.stderr)
            peers.remove(p)
    data = shared_data_dir()
    print(f"musync analysis code at {code_version()}; data: {data}")
    print("peers: " + ", ".join(f"{p} {vers[p]}" for p in peers))
    print()
    synth = held = real = silver = None
    if "a" in sets:
        print("synthetic set ...", file=sys.stderr, flush=True)
        synth = run_synthetic(args.quick)
        print(synthetic_table(synth, md))
        print()
        print(breakdown_table(synth, md))
        print()
    if "h" in sets:
        print("held-out synthetic set ...", file=sys.stderr, flush=True)
        held = run_synthetic(args.quick, held_out=True)
        print(synthetic_table(held, md).replace("(a) synthetic", "(h) held-out synthetic"))
        print()
        print(breakdown_table(held, md).replace("(a) synthetic", "(h) held-out synthetic"))
        print()
    ann_dir = data / "audio" / "annotated"
    if "r" in sets:
        if ann_dir.is_dir():
            print("annotated set ...", file=sys.stderr, flush=True)
            real = run_real(ann_dir, ann_dir, peers, use_peer_cache=not args.no_peer_cache)
            print(real_table(real, md, "(r) annotated: real recordings, human beats and downbeats"))
        else:
            print(f"(r) annotated skipped: {ann_dir} not found")
        print()
    long_dir = data / "audio" / "cc_long"
    if "b" in sets:
        if (long_dir / "silver").is_dir():
            print("cc_long set ...", file=sys.stderr, flush=True)
            silver = run_real(long_dir, long_dir / "silver", peers, use_peer_cache=not args.no_peer_cache)
            print(real_table(silver, md, "(b) cc_long vs silver beat references (beats only; "
                                         "metrical level may differ)"))
        else:
            print(f"(b) cc_long skipped: {long_dir / 'silver'} not found")
        print()
    cc_dir = data / "audio" / "cc"
    if "c" in sets:
        if cc_dir.is_dir():
            print("cc set ...", file=sys.stderr, flush=True)
            print(unannotated_table(run_unannotated(cc_dir), md))
        else:
            print(f"(c) cc skipped: {cc_dir} not found")
        print()

    rows = summary(synth, held, real, silver)
    print(format_table(["target", "measured (musync, mean)", "result"], [list(r) for r in rows],
                       markdown=md, title="Summary against the targets"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
