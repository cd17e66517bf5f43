"""How good a plan is, in numbers a director can read.

Public: :func:`plan_metrics`.

All shares are in [0, 1]; correlations in [-1, 1] (NaN-free: 0 when undefined).
"""

from __future__ import annotations

import numpy as np

__all__ = ["plan_metrics"]


def _near(frames: np.ndarray, grid: np.ndarray, tol: int = 1) -> np.ndarray:
    if grid.size == 0 or frames.size == 0:
        return np.zeros(frames.size, dtype=bool)
    g = np.sort(grid)
    i = np.clip(np.searchsorted(g, frames), 1, g.size - 1) if g.size > 1 else np.zeros(frames.size, int)
    d = np.minimum(np.abs(g[i] - frames), np.abs(g[np.maximum(i - 1, 0)] - frames))
    return d <= tol


def _spearman(x, y) -> float:
    x, y = np.asarray(x, float), np.asarray(y, float)
    if x.size < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return 0.0

    def rank(a):
        order = np.argsort(a, kind="mergesort")
        r = np.empty(a.size)
        r[order] = np.arange(a.size)
        # average ranks of ties
        for v in np.unique(a):
            m = a == v
            if m.sum() > 1:
                r[m] = r[m].mean()
        return r

    rx, ry = rank(x), rank(y)
    c = np.corrcoef(rx, ry)[0, 1]
    return float(c) if np.isfinite(c) else 0.0


def plan_metrics(shots, *, fps, duration_frames: int, beat_frames, downbeat_frames, sections,
                 section_frames, anticipation: int = 0, brightness: dict, climax_frame: int | None,
                 peak_hits=None) -> dict:
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
    # per-section pace
    per_section = []
    rates, energies = [], []
    ends = list(section_frames[1:]) + [duration_frames]
    for sec, a, b in zip(sections, section_frames, ends):
        inside = [s for s in shots if a <= s.record_in < b]
        lens = np.array([s.length / f for s in inside]) if inside else np.zeros(0)
        ncuts = int(np.sum((cut_all > a) & (cut_all < b))) + 1
        dur = max((b - a) / f, 1e-9)
        rate = ncuts / dur
        rates.append(rate)
        energies.append(sec.energy)
        per_section.append({
            "label": sec.label, "kind": sec.kind, "start_frame": int(a), "energy": round(sec.energy, 4),
            "shots": int(len(inside)), "cuts_per_min": round(60.0 * rate, 3),
            "mean_shot": round(float(lens.mean()), 4) if lens.size else 0.0,
            "min_shot": round(float(lens.min()), 4) if lens.size else 0.0,
            "max_shot": round(float(lens.max()), 4) if lens.size else 0.0,
        })
    corr = _spearman(rates, energies)
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
    return {
        "shots": int(len(shots)),
        "cuts_on_beat": round(on_beat, 4),
        "cuts_on_downbeat": round(on_down, 4),
        "section_boundaries_cut": round(sec_hit, 4),
        "pace_energy_correlation": round(corr, 4),
        "climax_fastest": climax_fastest,
        "mean_brightness_jump": round(jump, 4),
        "clips_used": int(len(seen)),
        "repeats": int(repeats),
        "adjacent_repeats": int(adjacent),
        "peaks_on_accent": round(float(np.mean(peak_hits)), 4) if peak_hits is not None and len(peak_hits) else 0.0,
        "mean_shot": round(float(lens.mean()), 4) if lens.size else 0.0,
        "min_shot": round(float(lens.min()), 4) if lens.size else 0.0,
        "max_shot": round(float(lens.max()), 4) if lens.size else 0.0,
        "sections": per_section,
    }
