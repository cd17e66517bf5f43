"""How good a plan is, in numbers a director can read.

Public: :func:`plan_metrics`, :func:`shot_beats`, :func:`equal_runs`, :func:`spearman`.

All shares are in [0, 1]; correlations in [-1, 1] (NaN-free: 0 when undefined). Lengths "in
beats" are measured on the plan's own beat grid (the analysis the plan was made from).
"""

from __future__ import annotations

import numpy as np

from .music import beat_position

__all__ = ["plan_metrics", "shot_beats", "equal_runs", "spearman", "EQUAL_BEATS", "ONE_BEAT"]

#: Two shots whose lengths differ by less than this many beats are "of equal length".
EQUAL_BEATS = 0.25
#: A shot of at most this many beats is a "one-beat shot".
ONE_BEAT = 1.25


def _near(frames: np.ndarray, grid: np.ndarray, tol: int = 1) -> np.ndarray:
    frames = np.asarray(frames, dtype=np.int64)
    if grid.size == 0 or frames.size == 0:
        return np.zeros(frames.size, dtype=bool)
    g = np.sort(np.asarray(grid, dtype=np.int64))
    i = np.clip(np.searchsorted(g, frames), 0, g.size - 1)
    d = np.minimum(np.abs(g[i] - frames), np.abs(g[np.maximum(i - 1, 0)] - frames))
    return d <= tol


def spearman(x, y) -> float:
    """Spearman rank correlation (average ranks for ties); 0 when undefined."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if x.size < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return 0.0

    def rank(a):
        order = np.argsort(a, kind="mergesort")
        r = np.empty(a.size)
        r[order] = np.arange(a.size)
        for v in np.unique(a):
            m = a == v
            if m.sum() > 1:
                r[m] = r[m].mean()
        return r

    c = np.corrcoef(rank(x), rank(y))[0, 1]
    return float(c) if np.isfinite(c) else 0.0


def shot_beats(shots, beat_frames, anticipation: int = 0) -> np.ndarray:
    """Length of every shot in beats of ``beat_frames`` (cuts moved back by ``anticipation``)."""
    if not len(shots):
        return np.zeros(0)
    a = np.array([s.record_in for s in shots], dtype=np.float64)
    b = np.array([s.record_out for s in shots], dtype=np.float64)
    end = b[-1]
    a_t = np.where(a > 0, a + anticipation, a)
    b_t = np.where(b < end, b + anticipation, b)
    return beat_position(b_t, beat_frames) - beat_position(a_t, beat_frames)


def equal_runs(values, pred) -> tuple[int, int]:
    """Longest run of consecutive items where ``pred(prev, cur)`` holds (a single item is a run
    of 1): ``(length, first index)``."""
    best, best_at, run, at = (1, 0, 1, 0) if len(values) else (0, 0, 0, 0)
    for k in range(1, len(values)):
        if pred(values[k - 1], values[k]):
            run += 1
        else:
            run, at = 1, k
        if run > best:
            best, best_at = run, at
    return best, best_at


def _bars(downbeat_frames: np.ndarray, duration_frames: int) -> np.ndarray:
    d = np.asarray(downbeat_frames, dtype=np.int64)
    return d[(d >= 0) & (d <= duration_frames)]


def _build_and_payoff(shots, cuts: np.ndarray, downs: np.ndarray, climax_frame) -> dict:
    """Cut rate into the climax (last 2 bars vs the first 4 of the 8 before it) and the held
    shot at the payoff (within one bar, against the median of its four predecessors; none, and
    ``payoff_opens``, where the climax is on the first bar line)."""
    out = {"build_ratio": None, "build_cuts": None, "payoff_hold": None, "payoff_shot": None,
           "payoff_opens": False}
    if climax_frame is None or downs.size < 2:
        return out
    ci = int(np.argmin(np.abs(downs - climax_frame)))
    bar = float(np.median(np.diff(downs)))
    c = int(climax_frame)
    if ci >= 8:
        w0, w4, w6 = int(downs[ci - 8]), int(downs[ci - 4]), int(downs[ci - 2])
        n_first = int(np.sum((cuts >= w0) & (cuts < w4)))
        n_last = int(np.sum((cuts >= w6) & (cuts < c)))
        rate_first = n_first / max(w4 - w0, 1)
        rate_last = n_last / max(c - w6, 1)
        out["build_cuts"] = [n_first, n_last]
        out["build_ratio"] = round(rate_last / rate_first, 4) if n_first else (99.0 if n_last else 0.0)
    if ci == 0:
        # a climax on the song's first bar line: the song opens on its payoff, and there are
        # no shots before it to hold the payoff shot against
        out["payoff_opens"] = True
        return out
    lens = np.array([s.length for s in shots], dtype=np.float64)
    best, best_k = 0.0, None
    for k, s in enumerate(shots):
        if k == 0 or abs(s.record_in - c) > bar:
            continue
        prev = lens[max(0, k - 4):k]
        r = float(lens[k] / max(np.median(prev), 1.0))
        if r > best:
            best, best_k = r, k
    if best_k is not None:
        out["payoff_hold"] = round(best, 4)
        out["payoff_shot"] = int(best_k)
    return out


def _per_two_bars(curve, bar_lines, cuts, f: float, *, samples: bool) -> float:
    """Rank correlation, over windows of two bars, of the number of cuts with the curve's mean
    (``samples``: the mean of the curve's samples inside the window, else of 9 points across
    it); 0 without a curve or with fewer than 7 bar lines."""
    if curve is None or bar_lines.size < 7:
        return 0.0
    ct, cv = (np.asarray(v, dtype=np.float64) for v in curve)
    if ct.size == 0:
        return 0.0
    edges = np.asarray(bar_lines[::2], dtype=np.float64)
    counts = np.diff(np.searchsorted(np.sort(np.asarray(cuts)), edges))
    means = np.interp(np.linspace(edges[:-1] / f, edges[1:] / f, 9, axis=1), ct, cv).mean(axis=1)
    if samples:  # the mean of the samples inside each window, where it has any
        at = np.searchsorted(ct, edges / f)
        for w, (i, j) in enumerate(zip(at[:-1], at[1:])):
            if j > i:
                means[w] = float(np.mean(cv[i:j]))
    return spearman(counts, means)


def plan_metrics(shots, *, fps, duration_frames: int, beat_frames, downbeat_frames, sections,
                 section_frames, anticipation: int = 0, brightness: dict, climax_frame: int | None,
                 peak_hits=None, strong_beats=None, energy=None, loudness=None) -> dict:
    """Metrics of a list of shots.

    Parameters
    ----------
    shots : sequence of Shot
    fps : Fraction
    beat_frames, downbeat_frames : int arrays (true grid; ``anticipation`` is subtracted before
        comparing cuts with them)
    sections : sequence of Section; ``section_frames`` their start frames
    brightness : {source path: brightness}
    climax_frame : frame of the climax, or None
    peak_hits : per-shot booleans (motion peak landed on the shot's accent), or None
    strong_beats : frames of the strong accents (downbeats and beats whose onset is in the
        song's top half), or None for the downbeats only
    energy : ``(times, values)`` of the energy curve, or None
    loudness : ``(times, dB)`` of the loudness curve, or None

    Returns
    -------
    dict -- the README's metrics plus the monotony measures: ``equal_run_max`` (+ ``_at``, the
    first shot of the run), ``one_beat_run_max`` (+ ``_at``), ``cv_min`` over the sections of 8
    bars or more (each section's ``cv`` is in ``sections``), ``build_ratio``, ``payoff_hold``
    (``payoff_opens`` where the climax is on the first bar line), ``cuts_on_strong_accent``,
    ``pace_energy_2bar`` (rank correlation of cuts per 2 bars with the mean energy there),
    ``pace_loudness_2bar`` (the same with the mean loudness in dB; None without a loudness
    curve).
    """
    f = float(fps)
    cuts = np.array([s.record_in for s in shots[1:]], dtype=np.int64)
    beats = np.asarray(beat_frames, dtype=np.int64) - anticipation
    downs = np.asarray(downbeat_frames, dtype=np.int64) - anticipation
    on_beat = float(_near(cuts, beats).mean()) if cuts.size else 1.0
    on_down = float(_near(cuts, downs).mean()) if cuts.size else 1.0
    bounds = np.asarray(section_frames[1:], dtype=np.int64) - anticipation
    cut_all = np.array([s.record_in for s in shots], dtype=np.int64)
    sec_hit = float(_near(bounds, cut_all).mean()) if bounds.size else 1.0
    strong = downs if strong_beats is None else np.asarray(strong_beats, dtype=np.int64) - anticipation
    on_strong = float(_near(cuts, strong).mean()) if cuts.size else 1.0
    true_cuts = cuts + anticipation
    bar_lines = _bars(np.asarray(downbeat_frames, dtype=np.int64), duration_frames)
    beats_len = shot_beats(shots, beat_frames, anticipation)
    # per-section pace
    per_section = []
    rates, energies, cvs = [], [], []
    ends = list(section_frames[1:]) + [duration_frames]
    rin_true = cut_all + np.where(cut_all > 0, anticipation, 0)
    all_lens = np.array([s.length / f for s in shots])
    for sec, a, b in zip(sections, section_frames, ends):
        m = (rin_true >= a) & (rin_true < b)
        lens = all_lens[m]
        ncuts = int(np.sum((cut_all > a) & (cut_all < b))) + 1
        rate = ncuts / max((b - a) / f, 1e-9)
        rates.append(rate)
        energies.append(sec.energy)
        n_bars = int(np.sum((bar_lines >= a) & (bar_lines < b)))
        cv = float(lens.std() / lens.mean()) if lens.size and lens.mean() > 0 else 0.0
        if n_bars >= 8:
            cvs.append(cv)
        per_section.append({
            "label": sec.label, "kind": sec.kind, "start_frame": int(a), "energy": round(sec.energy, 4),
            "bars": n_bars, "shots": int(lens.size), "cuts_per_min": round(60.0 * rate, 3),
            "mean_shot": round(float(lens.mean()), 4) if lens.size else 0.0,
            "min_shot": round(float(lens.min()), 4) if lens.size else 0.0,
            "max_shot": round(float(lens.max()), 4) if lens.size else 0.0,
            "cv": round(cv, 4),
        })
    corr = spearman(rates, energies)
    climax_fastest = False
    if climax_frame is not None and len(sections):
        ci = max(i for i, a in enumerate(section_frames) if a <= climax_frame)
        climax_fastest = bool(rates[ci] >= max(rates) - 1e-9)
    b = np.array([brightness.get(s.source, 0.0) for s in shots])
    jump = float(np.mean(np.abs(np.diff(b)))) if b.size > 1 else 0.0
    seen, repeats, adjacent = set(), 0, 0
    for k, s in enumerate(shots):
        if s.source in seen:
            repeats += 1
        seen.add(s.source)
        if k and shots[k - 1].source == s.source:
            adjacent += 1
    lens = np.array([s.length / f for s in shots])
    eq_run, eq_at = equal_runs(list(beats_len), lambda p, q: abs(p - q) < EQUAL_BEATS)
    short = [x <= ONE_BEAT for x in beats_len]
    one_run, one_at = 0, 0
    run = 0
    for k, x in enumerate(short):
        run = run + 1 if x else 0
        if run > one_run:
            one_run, one_at = run, k - run + 1
    # pace against energy and loudness, per two bars
    pace2 = _per_two_bars(energy, bar_lines, true_cuts, f, samples=False)
    loud2 = _per_two_bars(loudness, bar_lines, true_cuts, f, samples=True) \
        if loudness is not None and np.size(loudness[1]) else None
    arc = _build_and_payoff(shots, true_cuts, bar_lines, climax_frame)
    return {
        "shots": int(len(shots)),
        "cuts_on_beat": round(on_beat, 4),
        "cuts_on_downbeat": round(on_down, 4),
        "cuts_on_strong_accent": round(on_strong, 4),
        "section_boundaries_cut": round(sec_hit, 4),
        "pace_energy_correlation": round(corr, 4),
        "pace_energy_2bar": round(pace2, 4),
        "pace_loudness_2bar": None if loud2 is None else round(loud2, 4),
        "climax_fastest": climax_fastest,
        "mean_brightness_jump": round(jump, 4),
        "clips_used": int(len(seen)),
        "repeats": int(repeats),
        "adjacent_repeats": int(adjacent),
        "peaks_on_accent": round(float(np.mean(peak_hits)), 4) if peak_hits is not None and len(peak_hits) else 0.0,
        "mean_shot": round(float(lens.mean()), 4) if lens.size else 0.0,
        "min_shot": round(float(lens.min()), 4) if lens.size else 0.0,
        "max_shot": round(float(lens.max()), 4) if lens.size else 0.0,
        "equal_run_max": int(eq_run),
        "equal_run_at": int(eq_at),
        "one_beat_run_max": int(one_run),
        "one_beat_run_at": int(one_at),
        "cv_min": round(min(cvs), 4) if cvs else None,
        "build_ratio": arc["build_ratio"],
        "build_cuts": arc["build_cuts"],
        "payoff_hold": arc["payoff_hold"],
        "payoff_shot": arc["payoff_shot"],
        "payoff_opens": arc["payoff_opens"],
        "sections": per_section,
    }
