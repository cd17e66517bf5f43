"""The planner: cut to the music like an editor, and choose the right shot for every cut.

Public functions:

- :func:`plan` -- an :class:`~musync.types.Analysis` and clips in, a :class:`~musync.types.Plan` out.
- :func:`replan` -- re-plan around the locked shots of an existing (possibly hand-edited) plan,
  changing only the phrases that must change (``scope="phrase"``) or everything unlocked
  (``scope="all"``).
- :func:`make_settings` -- a :class:`~musync.types.PlanSettings` from a style preset plus overrides.
- :func:`grid_settings` -- the settings a plan works with on an analysis' grid (an uncertain grid
  is paced by phrases and loudness).
- :data:`STYLES` -- the presets (each only a bundle of settings).
- :func:`output_size` -- the output frame size for an aspect ratio.

The stages, one module each, with one typed value between them::

    Analysis --music_grid--> MusicGrid --cut_candidates--> Candidates --target_lengths + make_cuts-->
    Cuts --make_slots--> Slots --make_costs--> Costs --assign--> Assignment --make_shots--> shots
    --plan_metrics + diagnose--> Plan

:mod:`.music` (beats, accents, phrases, payoffs), :mod:`.candidates`, :mod:`.pace` (target
lengths: energy, phrase patterns, the arc), :mod:`.cuts` (the cut DP, anticipation),
:mod:`.slots`, :mod:`.units` (what the clips offer), :mod:`.costs` (the named cost terms),
:mod:`.assign` (beam search, in-points), :mod:`.shots` (reasons), :mod:`.metrics`,
:mod:`.diagnostics` (the monotony report), :mod:`.stable` (stable re-plans).
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import numpy as np

from ..errors import PlanError
from ..timebase import to_frame, to_frames
from ..types import Analysis, ClipInfo, Plan, PlanClip, PlanSettings, Shot
from .assign import assign
from .candidates import cut_candidates
from .costs import make_costs
from .cuts import make_cuts, min_max_frames
from .diagnostics import diagnose
from .metrics import plan_metrics
from .music import _ranks, music_grid
from .pace import cut_rate, target_lengths
from .shots import make_shots
from .slots import make_slots
from .styles import ASPECTS, STYLES, WEIGHTS, check_settings, make_settings, output_size
from .units import source_units

__all__ = ["plan", "replan", "make_settings", "grid_settings", "STYLES", "ASPECTS", "WEIGHTS",
           "output_size",
           "SCOPES"]

#: What a re-plan may change: "phrase" (the phrases touching a change) or "all".
SCOPES = ("phrase", "all")
#: The fastest pace (beats) on a low-confidence grid when the style cuts on beats: cuts on bar
#: lines, and on the strong beats of the song's loud passages
#: (:data:`musync.planner.candidates.LOUD_BEATS`).
LOW_CONF_INTENSE = 2.0
#: The shortest shot (beats, a little under two for a wavering tempo) where such a grid cuts
#: inside the bar.
LOW_CONF_SHORTEST = 1.9


def _resolve_settings(settings, style, overrides) -> PlanSettings:
    if settings is None:
        return make_settings(style or "energy", **overrides)
    if overrides or style:
        d = settings.to_dict()
        d.update({k: v for k, v in overrides.items() if v is not None})
        return make_settings(style or settings.style,
                             **{k: v for k, v in PlanSettings.from_dict(d).__dict__.items()
                                if k != "style"})
    check_settings(settings)
    return settings


def _check_fixed(fixed, duration_frames: int) -> list[Shot]:
    fixed = sorted(fixed, key=lambda s: s.record_in)
    for a, b in zip(fixed[:-1], fixed[1:]):
        if b.record_in < a.record_out:
            raise PlanError(f"shot {b.index}: locked shot overlaps locked shot {a.index}")
    for s in fixed:
        if s.record_in < 0 or s.record_out > duration_frames:
            raise PlanError(f"shot {s.index}: locked range [{s.record_in}, {s.record_out}) is outside "
                            f"the song (0 to {duration_frames})")
    return fixed


def grid_settings(analysis: Analysis, settings: PlanSettings) -> tuple[PlanSettings, bool, bool]:
    """The settings the planner works with on this analysis' grid: ``(settings, low_confidence,
    loud_beats)``.

    A grid of low confidence (or a fallback grid) is paced by phrases and loudness: cuts on bar
    lines, a bar at the fastest (:data:`LOW_CONF_INTENSE` beats where its loud passages may cut
    on their strong beats, ``loud_beats``; a fallback grid in an even metre, which has no strong
    beats, on the middle of its bars), 16 beats at the calmest, and no shot shorter than
    :data:`LOW_CONF_SHORTEST` beats (no one-beat flashes on a grid that may be wrong). A
    confident grid keeps ``settings`` as they are."""
    low_conf = analysis.fallback or analysis.confidence < 0.3
    # a fallback grid cuts inside the bar on its middle beat, which an odd metre does not have
    loud_beats = low_conf and settings.cut_on == "beats" and (
        not analysis.fallback or analysis.beats_per_bar % 2 == 0)
    if not low_conf:
        return settings, False, False
    # cut_on stays "beats" with loud_beats (the candidates keep to bar lines elsewhere; the
    # builds may end on strong beats)
    eff = dataclasses.replace(settings, cut_on=settings.cut_on if loud_beats else "downbeats",
                              calm_beats=max(settings.calm_beats, 16.0),
                              intense_beats=max(settings.intense_beats, LOW_CONF_INTENSE
                                                if loud_beats else 4.0))
    if loud_beats and analysis.tempo > 0:
        shortest = LOW_CONF_SHORTEST * 60.0 / analysis.tempo
        eff = dataclasses.replace(eff, min_shot=min(max(eff.min_shot, shortest), eff.max_shot))
    return eff, True, loud_beats


def plan(analysis: Analysis, clips, settings: PlanSettings | None = None, *, locked=(),
         skipped=(), style: str | None = None, keep=(), prefer=(), warnings=(), **overrides) -> Plan:
    """Plan the edit.

    Parameters
    ----------
    analysis : Analysis of the song
    clips : sequence of ClipInfo (e.g. the result of :func:`musync.scan_clips`; its ``skipped``
        list is carried into the plan)
    settings : PlanSettings, or None for ``make_settings(style or "energy", **overrides)``
    locked : sequence of Shot kept exactly (their record and source ranges) and marked locked
    skipped : extra SkippedClip records to list in the plan
    keep : sequence of Shot kept exactly but left unlocked (a stable re-plan's untouched phrases)
    prefer : sequence of Shot the planner keeps where it can (a stable re-plan's touched phrases)
    warnings : lines to add to the plan's warnings
    **overrides : PlanSettings fields (seed, fps, aspect, size, anticipation, ...)

    Returns
    -------
    Plan -- shots tile ``[0, duration_frames)``; every range inside its clip's usable window.

    Raises
    ------
    ParameterError  bad settings; PlanError  no usable clip, or locks that overlap / leave the song.
    """
    settings = _resolve_settings(settings, style, overrides)
    clip_list = sorted((c for c in clips if isinstance(c, ClipInfo)), key=lambda c: c.path)
    skipped_all = list(getattr(clips, "skipped", [])) + list(skipped)
    if not clip_list:
        raise PlanError("no usable clips to plan with; add video clips or images to the clip folder")
    fps = Fraction(settings.fps)
    f = float(fps)
    duration_frames = max(1, to_frame(analysis.duration, fps))
    warn: list[str] = list(warnings)
    locked = [dataclasses.replace(s, locked=True) for s in locked]
    keep = [dataclasses.replace(s, locked=False) for s in keep]
    fixed = _check_fixed(list(locked) + list(keep), duration_frames)

    # -- stage 0: the music ----------------------------------------------------------------
    eff, low_conf, loud_beats = grid_settings(analysis, settings)
    if low_conf:
        warn.append("the beat grid has low confidence: pacing by phrases and loudness, cuts on bar lines"
                    + (" (and on the strong beats of loud passages, two beats apart at least)"
                       if loud_beats else ""))
    grid = music_grid(analysis, fps, duration_frames, half_beats=eff.half_beats)

    # -- stage 1-2: where to cut -----------------------------------------------------------
    spans = [(s.record_in, s.record_out) for s in fixed]
    cands = cut_candidates(grid, analysis, eff, spans, low_confidence=low_conf,
                           loud_beats=loud_beats)
    if prefer:
        bonus = {e for s in prefer for e in (s.record_in, s.record_out)}
        score = cands.score.copy()
        for j, fr in enumerate(cands.frames):
            if int(fr) in bonus:
                score[j] += 2.0
        cands = dataclasses.replace(cands, score=score)
    target = target_lengths(grid, analysis, eff, cands.frames)
    units = source_units(clip_list, fps)
    if not units:
        raise PlanError("no clip has a usable window at this frame rate; check the clips with `musync scan`")
    lock_edges = {e for s in fixed for e in (s.record_in, s.record_out)}
    max_unit = max(u.length for u in units)
    split = split_length(units, eff)
    cuts, added = make_cuts(cands, target, eff, lock_edges=lock_edges, longest_unit=split,
                            beat_frames=grid.beat_frames, rate=cut_rate(grid, analysis, eff, cands.frames, cands.fixed_prev),
                            window=2.0 * grid.bar_seconds * f, heroes=_heroes(grid, cands, eff),
                            bars=grid.downbeat_frames, sections=grid.section_frames,
                            builds=[(p.build_start, p.frame) for p in grid.payoffs] if eff.climax_build else ())
    if added:
        two = f" ({split / f:.2f} s that two clips can fill)" if split < max_unit else ""
        warn.append(f"clips are short: the longest usable span is {max_unit / f:.2f} s{two}, so "
                    f"{added} extra cut(s) were added to long shots")

    # -- stage 3-5: what fills each shot ---------------------------------------------------
    slots = make_slots(cuts, grid, analysis, locked=fixed, keep=prefer,
                       anticipation=settings.anticipation)
    sight = _sight(units, clip_list, getattr(clips, "groups", None), settings)
    costs = make_costs(slots, units, settings, sight=sight)
    warn.extend(costs.notes)
    assignment = assign(costs, slots, units, order=settings.order, seed=settings.seed, fps=f)
    shots = make_shots(slots, assignment, units, costs, lock_edges=lock_edges,
                       motion_rank=_ranks(np.array([u.motion for u in units])), sight=sight)
    shots = _framed(shots, clip_list, settings)
    warn.extend(_content_warnings(shots, assignment, units, sight, slots))
    warn.extend(_unused_clip_warnings(shots, units, sight, settings.size))
    if len(shots) > len(clip_list):
        n_used = len({s.source for s in shots})
        of = f" of the {len(clip_list)} usable" if n_used < len(clip_list) else ""
        warn.append(f"{len(shots)} shots from {n_used}{of} clips: clips are repeated "
                    "(different parts, least recently used first)")
    min_len, _ = min_max_frames(settings)
    flashes = [s.index for s in shots if s.length < min_len and not s.locked]
    if flashes:
        warn.append(f"{len(flashes)} shot(s) shorter than the shortest shot ({settings.min_shot:.2f} s) "
                    f"where locked shots or section starts leave no room: shot(s) "
                    + ", ".join(str(i) for i in flashes[:10]))

    # -- stage 6: markers, metrics, diagnostics --------------------------------------------
    return _assemble(analysis, settings, grid, shots, clip_list, skipped_all, warn, assignment)


def split_length(units, settings: PlanSettings) -> int:
    """The longest shot (frames) the plan keeps whole: a longer one (a stretch with no cut
    point, e.g. a long silence the tracker found no beat in) is cut into pieces.

    The longest usable span of any clip, but no longer than the longest two clips can fill (the
    second clip's longest span) while that is at least the style's longest shot -- so the pieces
    can take turns and no file follows itself."""
    best: dict[int, int] = {}
    for u in units:
        best[u.clip] = max(best.get(u.clip, 0), u.length)
    spans = sorted(best.values(), reverse=True)
    longest = spans[0]
    if len(spans) < 2:
        return longest
    _, max_len = min_max_frames(settings)
    return min(longest, max(spans[1], max_len))


def _heroes(grid, cands, settings) -> list[int]:
    """The candidates a payoff's hero shot starts on (none without the arc)."""
    if not settings.climax_build:
        return []
    pay = {p.frame for p in grid.payoffs if p.kind == "climax"}
    return [j for j, fr in enumerate(cands.frames) if int(fr) in pay]


def _sight(units, clip_list, groups, settings):
    """What the scan saw in each unit (None when the clip records predate it)."""
    from ..clips.fingerprint import find_duplicates
    from .seeing import unit_sight

    if not any(c.quality is not None or c.flags or c.fingerprint is not None for c in clip_list):
        return None
    if groups is None:
        groups = find_duplicates(clip_list)
    return unit_sight(units, clip_list, groups, fps=settings.fps, size=settings.size,
                      aspect=Fraction(settings.size[0], settings.size[1]))


def _framed(shots, clip_list, settings):
    """Every unlocked shot gets the crop window that keeps its subject at the plan's aspect
    (locked shots keep theirs)."""
    from ..framing import shot_crop

    by = {c.path: c for c in clip_list}
    aspect = settings.size[0] / settings.size[1]
    out = []
    for s in shots:
        c = by.get(s.source)
        if s.locked or c is None:
            out.append(s)
            continue
        crop = shot_crop(c, s.source_in, s.source_out, settings.fps, aspect)
        out.append(dataclasses.replace(s, crop=crop) if crop is not None else s)
    return out


def _content_warnings(shots, assignment, units, sight, slots) -> list[str]:
    """Say where the plan had to use a flagged range or a source blown up more than 2x."""
    from .seeing import UPSCALE_LIMIT

    if sight is None:
        return []
    flagged, soft = [], []
    for k, s in enumerate(shots):
        if s.locked or slots.fixed[k] is not None:
            continue
        u = int(assignment.unit[k])
        if sight.flagged[u]:
            flagged.append(f"{s.index} ({units[u].flag_reason.split(' (')[0]} from "
                           f"{units[u].path.rsplit('/', 1)[-1]})")
        elif sight.upscale[u] > UPSCALE_LIMIT:
            soft.append(str(s.index))
    out = []
    if flagged:
        out.append(f"{len(flagged)} shot(s) show a flagged range because nothing else fits: shot(s) "
                   + ", ".join(flagged[:8]))
    if soft:
        out.append(f"{len(soft)} shot(s) blow their source up more than {UPSCALE_LIMIT:g}x because "
                   "nothing sharper fits: shot(s) " + ", ".join(soft[:10]))
    return out


def _unused_clip_warnings(shots, units, sight, size) -> list[str]:
    """Name the clips the plan left out entirely because of what the scan saw (only flagged
    material, or a picture blown up more than 2x at the plan's size), so that "clips used: 5" of
    13 has its reason."""
    from .seeing import UPSCALE_LIMIT

    if sight is None:
        return []
    used = {s.source for s in shots}
    by_path: dict[str, list[int]] = {}
    for k, u in enumerate(units):
        by_path.setdefault(u.path, []).append(k)
    soft, flagged = [], []
    for path, ks in sorted(by_path.items()):
        if path in used:
            continue
        ks = np.asarray(ks)
        name = path.rsplit("/", 1)[-1]
        if sight.flagged[ks].all():
            flagged.append(f"{name} ({sight.reason[int(ks[0])].split(' (')[0]})")
        elif (sight.upscale[ks] > UPSCALE_LIMIT).all():
            soft.append(f"{name} ({float(sight.upscale[ks].min()):.1f}x)")
    out = []
    if soft:
        out.append(f"{len(soft)} clip(s) left out: they would be blown up more than {UPSCALE_LIMIT:g}x at "
                   f"{size[0]}x{size[1]} and sharper clips fill every shot: " + ", ".join(soft[:8])
                   + (" ..." if len(soft) > 8 else "") + "; a smaller --size lets them in")
    if flagged:
        out.append(f"{len(flagged)} clip(s) left out: they show only flagged material: "
                   + ", ".join(flagged[:8]) + (" ..." if len(flagged) > 8 else ""))
    return out


def _assemble(analysis, settings, grid, shots, clip_list, skipped_all, warn, assignment=None) -> Plan:
    from ..planfile import validate_plan

    fps = Fraction(settings.fps)
    sec_frames = [int(x) for x in grid.section_frames]
    markers = {
        "beats": grid.beat_frames.tolist(),
        "downbeats": to_frames(analysis.downbeats, fps).tolist(),
        "sections": [{"frame": fr, "end": to_frame(s.end, fps), "label": s.label, "kind": s.kind}
                     for fr, s in zip(sec_frames, analysis.sections)],
        "climax": grid.climax_frame,
    }
    peak_hits = [bool(s.scores.get("peak_on_accent", 0.0) >= 1.0) for s in shots]
    strong = grid.beat_frames[grid.is_down | (grid.onset_rank >= 0.5)]
    metrics = plan_metrics(shots, fps=fps, duration_frames=grid.duration_frames,
                           beat_frames=grid.beat_frames, downbeat_frames=grid.downbeat_frames,
                           sections=analysis.sections, section_frames=sec_frames,
                           anticipation=settings.anticipation,
                           brightness={c.path: c.brightness for c in clip_list},
                           climax_frame=grid.climax_frame, peak_hits=peak_hits,
                           strong_beats=strong,
                           energy=(grid.energy_times, np.asarray(analysis.energy)),
                           loudness=(grid.energy_times, np.asarray(analysis.loudness))
                           if analysis.loudness.size == grid.energy_times.size else None)
    metrics["diagnostics"] = diagnose(shots, metrics, fps=fps, beat_frames=grid.beat_frames,
                                      downbeat_frames=grid.downbeat_frames, strong_beats=strong,
                                      climax_frame=grid.climax_frame,
                                      anticipation=settings.anticipation)
    from ..mediacheck import stamp_clips

    plan_clips = stamp_clips(PlanClip.from_clip(c) for c in clip_list)
    p = Plan(audio=analysis.audio, fps=fps, duration_frames=grid.duration_frames, size=settings.size,
             aspect=settings.aspect, settings=settings, shots=tuple(shots), markers=markers,
             metrics=metrics, clips=plan_clips,
             skipped=tuple(sorted(skipped_all, key=lambda s: s.path)),
             warnings=tuple(dict.fromkeys(warn)))
    validate_plan(p)
    return p


def replan(old: Plan, analysis: Analysis, clips, *, settings: PlanSettings | None = None,
           scope: str = "phrase", allow_changed_media: bool = False, **overrides) -> Plan:
    """Re-plan ``old`` keeping its locked shots exactly.

    ``scope="phrase"`` (default) changes only what must change: the phrases holding a gap, a
    shot whose clip is gone, a shot that now repeats its neighbour's file, or a flash shorter
    than the shortest shot; every other shot stays as it is. ``scope="all"`` re-plans every
    unlocked shot. ``clips`` should include every locked shot's source (scan the plan's clips
    again, plus any new ones). The old plan's settings are kept unless ``settings``/
    ``overrides`` say otherwise; any change of the settings (a new seed or style asks for a new
    proposal) re-plans with ``scope="all"``.

    The song and the clips of ``old``'s shots must be the files the plan was made from (see
    :mod:`musync.mediacheck`): a changed one raises :class:`~musync.errors.MediaChangedError`
    unless ``allow_changed_media`` (then the plan's warnings name it). The editor's notes
    (``markers["notes"]``) are kept.
    """
    from .stable import replan as _replan

    return _replan(old, analysis, clips, settings=settings, scope=scope,
                   allow_changed_media=allow_changed_media, **overrides)
