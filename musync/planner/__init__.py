"""The planner: cut to the music, pace to the energy, choose the right shot.

Public functions:

- :func:`plan` -- an :class:`~musync.types.Analysis` and clips in, a :class:`~musync.types.Plan` out.
- :func:`replan` -- re-plan around the locked shots of an existing (possibly hand-edited) plan.
- :func:`make_settings` -- a :class:`~musync.types.PlanSettings` from a style preset plus overrides.
- :data:`STYLES` -- the presets (each only a bundle of settings).
- :func:`output_size` -- the output frame size for an aspect ratio.

Steps: :mod:`.grid` (candidates, pace, cut DP), :mod:`.assign` (units, beam search, in-points),
:mod:`.metrics`.
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import numpy as np

from ..errors import ParameterError, PlanError
from ..geometry import ASPECTS, parse_size
from ..types import Analysis, ClipInfo, Plan, PlanClip, PlanSettings, Shot
from .assign import assign_units, choose_in_point, source_units
from ..timebase import parse_fps, to_frames
from .grid import choose_cuts, cut_candidates, energy_at, target_lengths
from .metrics import plan_metrics

__all__ = ["plan", "replan", "make_settings", "STYLES", "ASPECTS", "output_size"]

#: Style presets: each only a bundle of PlanSettings values.
STYLES = {
    # pace follows the energy curve: two bars when calm, two beats when intense
    "energy": dict(calm_beats=8.0, intense_beats=2.0, cut_on="beats", half_beats=False),
    # cut only on bar lines: two bars when calm, one bar when intense
    "downbeats": dict(calm_beats=8.0, intense_beats=4.0, cut_on="downbeats", half_beats=False),
    # fast montage: two beats when calm, every beat when intense
    "every-beat": dict(calm_beats=2.0, intense_beats=1.0, cut_on="beats", half_beats=False),
    # calm music: four bars when calm, two bars when intense, cuts on bar lines
    "phrase": dict(calm_beats=16.0, intense_beats=8.0, cut_on="downbeats", max_shot=12.0,
                   half_beats=False),
}

_WEIGHTS = {"motion": 1.0, "continuity": 1.0, "peak": 0.3, "climax": 0.6}


def output_size(aspect: str, size=None) -> tuple[int, int]:
    """Frame size for ``aspect`` (or an explicit ``size``), rounded to even numbers."""
    if size is not None:
        w, h = parse_size(size)
        return w + (w % 2), h + (h % 2)
    if aspect not in ASPECTS:
        raise ParameterError(f"aspect must be one of {', '.join(ASPECTS)}, not {aspect!r}")
    return ASPECTS[aspect]


def make_settings(style: str = "energy", **overrides) -> PlanSettings:
    """PlanSettings from a style preset, then ``overrides`` (any PlanSettings field)."""
    if style not in STYLES:
        raise ParameterError(f"style must be one of {', '.join(STYLES)}, not {style!r}")
    known = {f.name for f in dataclasses.fields(PlanSettings)}
    bad = sorted(set(overrides) - known)
    if bad:
        raise ParameterError(f"unknown plan setting(s): {', '.join(bad)}")
    kw = dict(STYLES[style])
    kw.update({k: v for k, v in overrides.items() if v is not None})
    kw["style"] = style
    if "fps" in kw:
        kw["fps"] = parse_fps(kw["fps"])
    aspect = kw.get("aspect", "16:9")
    kw["size"] = output_size(aspect, kw.get("size"))
    w = dict(_WEIGHTS)
    w.update(kw.get("weights") or {})
    kw["weights"] = w
    s = PlanSettings(**kw)
    _check_settings(s)
    return s


def _check_settings(s: PlanSettings) -> None:
    if s.fps <= 0 or s.fps > 240:
        raise ParameterError(f"fps must be in (0, 240], not {s.fps}")
    if not (0 < s.min_shot <= s.max_shot):
        raise ParameterError(f"need 0 < min_shot <= max_shot, got {s.min_shot} and {s.max_shot}")
    if s.calm_beats <= 0 or s.intense_beats <= 0:
        raise ParameterError("calm_beats and intense_beats must be positive")
    if s.anticipation < 0 or s.anticipation > 12:
        raise ParameterError(f"anticipation must be 0..12 frames, not {s.anticipation}")
    if s.order not in ("auto", "source"):
        raise ParameterError(f"order must be 'auto' or 'source', not {s.order!r}")
    if s.cut_on not in ("beats", "downbeats"):
        raise ParameterError(f"cut_on must be 'beats' or 'downbeats', not {s.cut_on!r}")


def _ranks(v: np.ndarray) -> np.ndarray:
    if v.size <= 1:
        return np.full(v.size, 0.5)
    order = np.argsort(v, kind="mergesort")
    r = np.empty(v.size)
    r[order] = np.arange(v.size) / (v.size - 1)
    return r


def _split_long(cuts: list[int], max_len: int, beat_frames: np.ndarray) -> tuple[list[int], int]:
    """Insert cuts (on beats where possible) so no shot exceeds ``max_len`` frames."""
    out = [cuts[0]]
    added = 0
    for a, b in zip(cuts[:-1], cuts[1:]):
        while b - a > max_len:
            inside = beat_frames[(beat_frames > a) & (beat_frames <= a + max_len)]
            nxt = int(inside[-1]) if inside.size and inside[-1] - a >= max(1, max_len // 2) else a + max_len
            out.append(nxt)
            added += 1
            a = nxt
        out.append(b)
    return out, added


def plan(analysis: Analysis, clips, settings: PlanSettings | None = None, *, locked=(),
         skipped=(), style: str | None = None, **overrides) -> Plan:
    """Plan the edit.

    Parameters
    ----------
    analysis : Analysis of the song
    clips : sequence of ClipInfo (e.g. the result of :func:`musync.scan_clips`; its ``skipped``
        list is carried into the plan)
    settings : PlanSettings, or None for ``make_settings(style or "energy", **overrides)``
    locked : sequence of Shot kept exactly (their record and source ranges); used by re-plans
    skipped : extra SkippedClip records to list in the plan
    **overrides : PlanSettings fields (seed, fps, aspect, size, anticipation, ...)

    Returns
    -------
    Plan -- shots tile ``[0, duration_frames)``; every range inside its clip's usable window.

    Raises
    ------
    ParameterError  bad settings; PlanError  no usable clip, or locks that overlap / leave the song.
    """
    if settings is None:
        settings = make_settings(style or "energy", **overrides)
    elif overrides or style:
        d = settings.to_dict()
        d.update({k: v for k, v in overrides.items() if v is not None})
        settings = make_settings(style or settings.style,
                                 **{k: v for k, v in PlanSettings.from_dict(d).__dict__.items()
                                    if k != "style"})
    _check_settings(settings)
    clip_list = sorted((c for c in clips if isinstance(c, ClipInfo)), key=lambda c: c.path)
    skipped_all = list(getattr(clips, "skipped", [])) + list(skipped)
    if not clip_list:
        raise PlanError("no usable clips to plan with; add video clips or images to the clip folder")
    fps = Fraction(settings.fps)
    f = float(fps)
    duration_frames = max(1, int(to_frames([analysis.duration], fps)[0]))
    warnings: list[str] = []

    # -- locks -------------------------------------------------------------------------------
    locked = sorted(locked, key=lambda s: s.record_in)
    for a, b in zip(locked[:-1], locked[1:]):
        if b.record_in < a.record_out:
            raise PlanError(f"shot {b.index}: locked shot overlaps locked shot {a.index}")
    for s in locked:
        if s.record_in < 0 or s.record_out > duration_frames:
            raise PlanError(f"shot {s.index}: locked range [{s.record_in}, {s.record_out}) is outside "
                            f"the song (0 to {duration_frames})")

    # -- where to cut --------------------------------------------------------------------------
    eff = settings
    low_conf = analysis.fallback or analysis.confidence < 0.3
    if low_conf:
        warnings.append("the beat grid has low confidence: pacing by phrases and energy, cuts on bar lines")
        eff = dataclasses.replace(settings, cut_on="downbeats", calm_beats=max(settings.calm_beats, 8.0),
                                  intense_beats=max(settings.intense_beats, 4.0))
    cands = cut_candidates(analysis, eff, duration_frames, [(s.record_in, s.record_out) for s in locked])
    if low_conf:
        # where the energy moves is a better place to cut than an arbitrary grid line
        t = cands.frames / f
        de = np.abs(energy_at(analysis, t + 0.5) - energy_at(analysis, t - 0.5))
        cands = dataclasses.replace(cands, score=cands.score * 0.3 + 4.0 * de)
    target = target_lengths(analysis, eff, cands.frames)
    score = cands.score - np.median(cands.score[1:-1]) if cands.frames.size > 2 else cands.score
    cands_c = dataclasses.replace(cands, score=score)
    idx = choose_cuts(cands_c, target, eff)
    cut_frames = [int(cands.frames[i]) for i in idx]
    cut_kind = {int(cands.frames[i]): cands.kind[i] for i in idx}

    # anticipation: cut N frames early, but never move 0, the end or a lock boundary
    lock_edges = {s.record_in for s in locked} | {s.record_out for s in locked}
    if settings.anticipation:
        moved = [cut_frames[0]]
        for c in cut_frames[1:-1]:
            m = c if c in lock_edges else max(moved[-1] + 1, c - settings.anticipation)
            if m != c:
                cut_kind[m] = cut_kind.get(c, "")
            moved.append(m)
        moved.append(cut_frames[-1])
        cut_frames = moved

    # -- source units --------------------------------------------------------------------------
    units = source_units(clip_list, fps)
    if not units:
        raise PlanError("no clip has a usable window at this frame rate; check the clips with `musync scan`")
    max_unit = max(u.length for u in units)
    beat_frames = to_frames(analysis.beats, fps)
    cut_frames, added = _split_long(cut_frames, max_unit, beat_frames)
    if added:
        warnings.append(f"clips are short: the longest usable span is {max_unit / f:.2f} s, so "
                        f"{added} extra cut(s) were added to long shots")
    locked_at = {s.record_in: s for s in locked}
    spans = list(zip(cut_frames[:-1], cut_frames[1:]))
    S = len(spans)

    # -- what fills each shot ------------------------------------------------------------------
    w = settings.weights
    mid_t = np.array([(a + b) / 2.0 / f for a, b in spans])
    shot_e = np.array([float(np.mean(energy_at(analysis, np.linspace(a / f, b / f, 5)))) for a, b in spans])
    lengths = np.array([b - a for a, b in spans], dtype=np.int64)
    # the strongest accent in each shot: strongest beat (downbeats first), else the start
    strength = analysis.beat_strength if analysis.beat_strength.size == beat_frames.size else np.ones(beat_frames.size)
    down_set = set(to_frames(analysis.downbeats, fps).tolist())
    accents = np.zeros(S, dtype=np.int64)
    beat_val = strength + np.array([1.0 if int(b) in down_set else 0.0 for b in beat_frames])
    for k, (a, b) in enumerate(spans):
        i0, i1 = np.searchsorted(beat_frames, [a + 2, b - 1])
        if i1 > i0:
            accents[k] = int(beat_frames[i0 + int(np.argmax(beat_val[i0:i1]))]) - a
    motion = np.array([u.motion for u in units])
    mrank = _ranks(motion)
    climax_sec = analysis.section_at(analysis.climax) if analysis.climax > 0 else None
    in_climax = np.zeros(S, dtype=bool)
    before_climax = mid_t < (climax_sec.start if climax_sec else 0.0)
    if climax_sec is not None:
        in_climax = (mid_t >= climax_sec.start) & (mid_t < climax_sec.end)
    unit_cost = w.get("motion", 1.0) * np.abs(mrank[None, :] - shot_e[:, None])
    top = np.clip((mrank - 0.8) / 0.2, 0.0, 1.0)
    if settings.climax_build and climax_sec is not None:
        unit_cost += w.get("climax", 0.6) * (before_climax[:, None] * top[None, :])
        unit_cost -= w.get("climax", 0.6) * (in_climax[:, None] * top[None, :])
    # peak fit: can the unit's strongest peak land on the accent?
    peak_frame = np.array([u.peaks[0][0] if u.peaks else -10 ** 12 for u in units], dtype=np.int64)
    lo = np.array([u.lo for u in units], dtype=np.int64)
    hi = np.array([u.hi for u in units], dtype=np.int64)
    start = peak_frame[None, :] - accents[:, None]
    fits = (start >= lo[None, :]) & (start + lengths[:, None] <= hi[None, :])
    unit_cost += w.get("peak", 0.3) * (~fits)
    ok = (hi - lo)[None, :] >= lengths[:, None]
    # continuity matters less across a section change
    sec_of = [analysis.section_at(a / f) for a, _ in spans]
    cont_w = np.array([w.get("continuity", 1.0) * (0.3 if k and sec_of[k] is not sec_of[k - 1] else 1.0)
                       for k in range(S)])
    fixed = np.full(S, -1, dtype=np.int64)
    for k, (a, b) in enumerate(spans):
        s = locked_at.get(a)
        if s is not None:
            cand = [j for j, u in enumerate(units) if u.path == s.source]
            if not cand:
                raise PlanError(f"shot {s.index}: locked source {s.source!r} is not among the clips")
            best = max(cand, key=lambda j: (min(units[j].hi, s.source_out) - max(units[j].lo, s.source_in), -j))
            fixed[k] = best
            ok[k, best] = True
    if settings.order == "source":
        choice = _source_order(ok, units, fixed)
    else:
        choice = assign_units(unit_cost, ok, units, cont_w, fixed, seed=settings.seed)
    if np.any(choice < 0):
        k = int(np.flatnonzero(choice < 0)[0])
        raise PlanError(f"no clip can fill shot {k} ({lengths[k] / f:.2f} s); add longer clips")

    # -- in-points, reasons ----------------------------------------------------------------------
    used: dict[int, list[tuple[int, int]]] = {}
    cand_index = {int(fr): j for j, fr in enumerate(cands.frames)}
    shots = []
    peak_hits = []
    counts: dict[int, int] = {}
    for k, ((a, b), u_i) in enumerate(zip(spans, choice)):
        u = units[int(u_i)]
        L = b - a
        sec = sec_of[k]
        s_lock = locked_at.get(a)
        if s_lock is not None and s_lock.record_out == b:
            shots.append(dataclasses.replace(s_lock, index=k, locked=True))
            used.setdefault(int(u_i), []).append((s_lock.source_in, s_lock.source_out))
            peak_hits.append(False)
            counts[int(u_i)] = counts.get(int(u_i), 0) + 1
            continue
        src_in, hit = choose_in_point(u, L, int(accents[k]), used.get(int(u_i), []))
        used.setdefault(int(u_i), []).append((src_in, src_in + L))
        peak_hits.append(hit)
        n_use = counts.get(int(u_i), 0)
        counts[int(u_i)] = n_use + 1
        kind = cut_kind.get(a, "start" if a == 0 else "beat")
        why = [f"cut: {kind}"]
        if a in lock_edges and a != 0:
            why = ["cut: next to a locked shot"]
        why.append(f"energy {shot_e[k]:.2f}, clip motion {u.motion:.2f}")
        if hit:
            why.append("motion peak on the accent")
        if in_climax[k] and top[int(u_i)] > 0:
            why.append("held back for the climax")
        if n_use:
            why.append(f"reuse #{n_use + 1}")
        if clip_list[u.clip].is_still:
            src_in = u.lo
        tgt = target[cand_index[a]] if a in cand_index else L
        sc = {"motion_fit": 1.0 - abs(mrank[int(u_i)] - shot_e[k]),
              "target_fit": float(np.clip(1.0 - abs(np.log(L / max(tgt, 1.0))), 0.0, 1.0)),
              "peak_on_accent": 1.0 if hit else 0.0}
        shots.append(Shot(index=k, source=u.path, source_in=src_in, source_out=src_in + L,
                          record_in=a, record_out=b, locked=False, reason="; ".join(why),
                          section=(sec.label if sec else ""), energy=float(shot_e[k]), scores=sc))
    if S > len(clip_list):
        warnings.append(f"{S} shots but only {len(clip_list)} usable clips: clips are repeated "
                        "(different parts, least recently used first)")

    # -- markers and metrics -------------------------------------------------------------------
    sec_frames = [int(to_frames([s.start], fps)[0]) for s in analysis.sections]
    climax_frame = int(to_frames([analysis.climax], fps)[0]) if analysis.climax > 0 else None
    markers = {
        "beats": beat_frames.tolist(),
        "downbeats": to_frames(analysis.downbeats, fps).tolist(),
        "sections": [{"frame": fr, "end": int(to_frames([s.end], fps)[0]), "label": s.label,
                      "kind": s.kind} for fr, s in zip(sec_frames, analysis.sections)],
        "climax": climax_frame,
    }
    metrics = plan_metrics(shots, fps=fps, duration_frames=duration_frames, beat_frames=beat_frames,
                           downbeat_frames=to_frames(analysis.downbeats, fps),
                           sections=analysis.sections, section_frames=sec_frames,
                           anticipation=settings.anticipation,
                           brightness={c.path: c.brightness for c in clip_list},
                           climax_frame=climax_frame, peak_hits=peak_hits)
    plan_clips = tuple(PlanClip.from_clip(c) for c in clip_list)
    p = Plan(audio=analysis.audio, fps=fps, duration_frames=duration_frames, size=settings.size,
             aspect=settings.aspect, settings=settings, shots=tuple(shots), markers=markers,
             metrics=metrics, clips=plan_clips,
             skipped=tuple(sorted(skipped_all, key=lambda s: s.path)), warnings=tuple(warnings))
    from ..planfile import validate_plan

    validate_plan(p)
    return p


def _source_order(ok: np.ndarray, units, fixed: np.ndarray) -> np.ndarray:
    """Clips in file order, cycling; skip units too short for a shot and the previous file."""
    S, U = ok.shape
    out = np.full(S, -1, dtype=np.int64)
    nxt = 0
    for s in range(S):
        if fixed[s] >= 0:
            out[s] = fixed[s]
            continue
        prev_file = units[out[s - 1]].clip if s and out[s - 1] >= 0 else -1
        for step in range(U):
            u = (nxt + step) % U
            if ok[s, u] and (units[u].clip != prev_file or not any(
                    ok[s, v] and units[v].clip != prev_file for v in range(U))):
                out[s] = u
                nxt = u + 1
                break
    return out


def replan(old: Plan, analysis: Analysis, clips, *, settings: PlanSettings | None = None,
           **overrides) -> Plan:
    """Re-plan ``old`` keeping its locked shots exactly; everything else is planned anew.

    ``clips`` should include every locked shot's source (scan the plan's clips again, plus any
    new ones). The old plan's settings are kept unless ``settings``/``overrides`` say otherwise.
    """
    from ..planfile import validate_plan

    clip_list = [c for c in clips if isinstance(c, ClipInfo)]
    validate_plan(old, clips=clip_list, name="plan")
    if analysis.audio.sha256 and old.audio.sha256 and analysis.audio.sha256 != old.audio.sha256:
        raise PlanError("the song has changed since this plan was made (sha256 differs); "
                        "plan again from scratch")
    base = settings or old.settings
    if Fraction(base.fps) != Fraction(old.fps):
        raise PlanError("a re-plan must keep the plan's frame rate")
    locked = [s for s in old.shots if s.locked]
    kw = {k: v for k, v in overrides.items() if v is not None}
    if kw:
        d = base.to_dict()
        d.update(kw)
        base = PlanSettings.from_dict(d)
    return plan(analysis, clips, base, locked=locked, skipped=list(old.skipped))
