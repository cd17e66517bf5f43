"""The plan file: versioned JSON, byte-identical for the same plan.

Public functions:

- :func:`save_plan` -- write a :class:`~musync.types.Plan` atomically (refuses to overwrite
  unless asked).
- :func:`load_plan` -- read and validate a plan file (hand edits included).
- :func:`validate_plan` -- check the invariants; raise :class:`~musync.errors.PlanError` naming
  the shot and the problem.
- :func:`plan_to_json` -- the exact text :func:`save_plan` writes.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path

from ._fs import write_text
from .errors import MediaError, PlanError
from .timebase import window_frames
from .types import Plan

__all__ = ["save_plan", "load_plan", "validate_plan", "plan_to_json"]


def plan_to_json(plan: Plan) -> str:
    """The plan's JSON text (stable key order, no timestamps, trailing newline)."""
    return json.dumps(plan.to_dict(), indent=1, ensure_ascii=False, allow_nan=False) + "\n"


def save_plan(plan: Plan, path, *, overwrite: bool = False) -> Path:
    """Validate ``plan`` and write it to ``path`` (temporary name, then rename)."""
    validate_plan(plan)
    return write_text(path, plan_to_json(plan), overwrite=overwrite)


def load_plan(path, *, validate: bool = True) -> Plan:
    """Read a plan file; with ``validate`` (default) check every invariant."""
    from ._fs import read_bytes

    p = Path(path)
    if not p.exists():
        raise MediaError(p, "plan file not found; create one with `musync plan SONG CLIPS -o plan.json`")
    raw = read_bytes(p, what="plan file")         # a regular file of sane size: never a pipe or device
    try:
        d = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise MediaError(p, f"cannot read the plan ({exc})") from None
    except ValueError as exc:
        raise PlanError(f"{p}: not valid JSON ({exc}); fix the hand edit or re-create the plan") from None
    if not isinstance(d, dict) or "shots" not in d:
        raise PlanError(f"{p}: not a musync plan (no 'shots'); create one with `musync plan`")
    try:
        plan = Plan.from_dict(d)
    except PlanError as exc:
        raise PlanError(f"{p}: {exc}") from None
    except (KeyError, TypeError, ValueError, ZeroDivisionError) as exc:
        where = ""
        for i, s in enumerate(d.get("shots", []) if isinstance(d.get("shots"), list) else []):
            try:
                from .types import Shot

                Shot.from_dict(s)
            except Exception:
                where = f" in shot {s.get('index', i) if isinstance(s, dict) else i}"
                break
        raise PlanError(f"{p}: malformed plan{where}: {type(exc).__name__} {exc}") from None
    if validate:
        validate_plan(plan, name=str(p))
    return plan


#: The longest song a plan may describe.
_MAX_HOURS = 24


def validate_plan(plan: Plan, *, name: str = "plan", clips=None) -> None:
    """Check the plan's invariants; raise PlanError naming the first broken shot.

    - shots are in record order and tile ``[0, duration_frames)`` with no gap or overlap;
    - every shot is at least one frame and ``source_out - source_in == record_out - record_in``;
    - every source is a known clip and its range lies in the clip's usable window;
    - the frame rate, the output size and the length are possible.

    ``clips`` (a sequence of PlanClip or ClipInfo) overrides ``plan.clips`` as the known clips.
    """
    from .errors import ParameterError
    from .geometry import parse_size
    from .timebase import MAX_FPS

    fps = Fraction(plan.fps)
    if fps <= 0 or fps > MAX_FPS:
        raise PlanError(f"{name}: fps must be in (0, {MAX_FPS}], not {plan.fps}")
    try:
        parse_size(plan.size)
    except ParameterError as exc:
        raise PlanError(f"{name}: {exc}; fix the plan's \"size\" or re-plan with --size") from None
    if plan.duration_frames <= 0:
        raise PlanError(f"{name}: duration_frames must be positive")
    if plan.duration_frames > _MAX_HOURS * 3600 * fps:
        raise PlanError(f"{name}: duration_frames {plan.duration_frames} is more than {_MAX_HOURS} hours")
    if not plan.shots:
        raise PlanError(f"{name}: the plan has no shots")
    known = {c.path: c for c in (clips if clips is not None else plan.clips)}
    expect = 0
    for k, s in enumerate(plan.shots):
        label = f"{name}: shot {s.index}"
        if s.record_in != expect:
            what = "gap" if s.record_in > expect else "overlap"
            raise PlanError(f"{label}: starts at frame {s.record_in} but the previous shot ends at "
                            f"{expect} ({what}); shots must tile the song without gaps or overlaps")
        if s.record_out <= s.record_in:
            raise PlanError(f"{label}: record_out {s.record_out} must be after record_in {s.record_in}")
        if s.source_out - s.source_in != s.record_out - s.record_in:
            raise PlanError(f"{label}: source range is {s.source_out - s.source_in} frames but the "
                            f"record range is {s.record_out - s.record_in}; they must be equal")
        if s.source_in < 0:
            raise PlanError(f"{label}: source_in {s.source_in} is negative")
        c = known.get(s.source)
        if c is None:
            raise PlanError(f"{label}: source {s.source!r} is not one of the plan's clips; "
                            "re-plan with that clip in the clip folder")
        # the frames wholly inside the usable window (one-microsecond tolerance for JSON floats)
        if c.is_still or not math.isfinite(c.usable_out):
            lo, hi = window_frames(c.usable_in, c.usable_in, fps)[0], None
        else:
            lo, hi = window_frames(c.usable_in, c.usable_out, fps)
        if s.source_in < lo or (hi is not None and s.source_out > hi):
            hi_txt = "end" if hi is None else str(hi)
            raise PlanError(f"{label}: source frames [{s.source_in}, {s.source_out}) leave the usable "
                            f"window of {Path(s.source).name} (frames {lo} to {hi_txt})")
        expect = s.record_out
    if expect != plan.duration_frames:
        raise PlanError(f"{name}: shots end at frame {expect} but the song is {plan.duration_frames} "
                        "frames long; the last shot must end at the song's end")
