"""What changed between two plans: the one diff shared by the review page, ``musync diff`` and
the report.

Public: :func:`diff_plans` (two :class:`~musync.types.Plan` in, a :class:`PlanDiff` out),
:func:`format_diff` (the text ``musync diff`` prints), :class:`ShotChange`, :class:`PlanDiff`.

Shots are matched in this order (each shot of either plan is used at most once):

1. **unchanged**: same record range, source and source range (a change of ``locked`` alone is
   reported as ``locked``/``unlocked``);
2. **moved**: the same clip and source range somewhere else on the timeline;
3. **trimmed**: the same clip in sync (``source_in - record_in`` equal) with overlapping record
   ranges, i.e. a cut moved;
4. same record range, other picture: **re-sourced** (another clip) or **slipped** (the same clip,
   another in-point);
5. what is left is **removed** (only in A) or **added** (only in B).

Metric changes compare every number and flag in ``metrics`` (nested dictionaries flattened to
dotted keys, e.g. ``hypnosis.longest_equal_run``; lists are left out).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from ..types import Plan, Shot

__all__ = ["diff_plans", "format_diff", "PlanDiff", "ShotChange", "CHANGE_KINDS"]

#: Every kind of shot change, in the order they are reported.
CHANGE_KINDS = ("re-sourced", "slipped", "trimmed", "moved", "removed", "added", "locked", "unlocked")


@dataclass(frozen=True)
class ShotChange:
    """One shot's change: ``a``/``b`` are the shot indices in plan A / plan B (None where the shot
    does not exist on that side); ``detail`` says what changed in words."""

    kind: str
    a: int | None
    b: int | None
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "a": self.a, "b": self.b, "detail": self.detail}


@dataclass(frozen=True)
class PlanDiff:
    """The difference between plan A and plan B.

    Attributes
    ----------
    changes : tuple of ShotChange       in B's order (removed shots at their A position)
    unchanged : int                     shots identical in both (lock state aside)
    shots_a, shots_b : int
    metrics : dict                      ``key -> (value in A, value in B)`` for changed metrics
    settings : dict                     the same for the plan settings
    """

    changes: tuple[ShotChange, ...]
    unchanged: int
    shots_a: int
    shots_b: int
    metrics: dict = field(default_factory=dict)
    settings: dict = field(default_factory=dict)

    def count(self, kind: str) -> int:
        return sum(1 for c in self.changes if c.kind == kind)

    @property
    def changed_b(self) -> tuple[int, ...]:
        """Indices of B's shots that differ from A (lock changes aside)."""
        return tuple(sorted({c.b for c in self.changes
                             if c.b is not None and c.kind not in ("locked", "unlocked")}))

    @property
    def same(self) -> bool:
        return not self.changes and not self.metrics and not self.settings

    def summary(self) -> dict[str, int]:
        return {k: self.count(k) for k in CHANGE_KINDS if self.count(k)}

    def to_dict(self) -> dict[str, Any]:
        return {"shots_a": self.shots_a, "shots_b": self.shots_b, "unchanged": self.unchanged,
                "summary": self.summary(), "changed_b": list(self.changed_b),
                "changes": [c.to_dict() for c in self.changes],
                "metrics": {k: [a, b] for k, (a, b) in self.metrics.items()},
                "settings": {k: [a, b] for k, (a, b) in self.settings.items()}}


def _flat(d: dict, prefix: str = "") -> dict[str, Any]:
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flat(v, key + "."))
        elif isinstance(v, (bool, int, float, str)) or v is None:
            out[key] = v
    return out


def _changed(a: dict, b: dict) -> dict[str, tuple]:
    fa, fb = _flat(a), _flat(b)
    out = {}
    for k in list(fa) + [k for k in fb if k not in fa]:
        va, vb = fa.get(k), fb.get(k)
        if isinstance(va, float) and isinstance(vb, float) and abs(va - vb) < 1e-9:
            continue
        if va != vb:
            out[k] = (va, vb)
    return out


def _t(frame: int, fps) -> str:
    s = float(Fraction(int(frame)) / Fraction(fps))
    return f"{int(s // 60)}:{s % 60:05.2f}"


def _name(path: str) -> str:
    return Path(path).name


def diff_plans(a: Plan, b: Plan) -> PlanDiff:
    """Compare plan ``a`` (e.g. the saved one) with plan ``b`` (e.g. the current one).

    Both plans should be of the same song at the same frame rate; record ranges are compared as
    frames, so plans at different rates show every shot as changed.
    """
    fps = b.fps
    left = {s.index: s for s in a.shots}
    right = {s.index: s for s in b.shots}
    pairs: list[tuple[str, Shot, Shot, str]] = []

    def take(match, kind_of):
        for j, sb in list(right.items()):
            for i, sa in list(left.items()):
                if match(sa, sb):
                    kind, detail = kind_of(sa, sb)
                    pairs.append((kind, sa, sb, detail))
                    del left[i], right[j]
                    break

    # 1. identical (exact record range, source, source range): index by key for speed
    by_key = {}
    for i, sa in left.items():
        by_key.setdefault((sa.record_in, sa.record_out, sa.source, sa.source_in), []).append(i)
    for j, sb in list(right.items()):
        cand = by_key.get((sb.record_in, sb.record_out, sb.source, sb.source_in))
        if cand:
            i = cand.pop(0)
            sa = left.pop(i)
            del right[j]
            kind = "" if sa.locked == sb.locked else ("locked" if sb.locked else "unlocked")
            pairs.append((kind, sa, sb, ""))

    # 2. the same material elsewhere
    take(lambda sa, sb: (sa.source, sa.source_in, sa.source_out) == (sb.source, sb.source_in, sb.source_out),
         lambda sa, sb: ("moved", f"{_t(sa.record_in, fps)} -> {_t(sb.record_in, fps)}"))

    # 3. the same clip in sync with overlapping record ranges: a cut moved
    def trimmed(sa, sb):
        parts = []
        if sa.record_in != sb.record_in:
            parts.append(f"start {_t(sa.record_in, fps)} -> {_t(sb.record_in, fps)}")
        if sa.record_out != sb.record_out:
            parts.append(f"end {_t(sa.record_out, fps)} -> {_t(sb.record_out, fps)}")
        return "trimmed", ", ".join(parts)

    take(lambda sa, sb: (sa.source == sb.source and sa.source_in - sa.record_in == sb.source_in - sb.record_in
                         and sa.record_in < sb.record_out and sb.record_in < sa.record_out), trimmed)

    # 4. same record range, other picture
    def resourced(sa, sb):
        if sa.source != sb.source:
            return "re-sourced", f"{_name(sa.source)} -> {_name(sb.source)}"
        return "slipped", f"in-point {sa.source_in} -> {sb.source_in} ({_name(sb.source)})"

    take(lambda sa, sb: (sa.record_in, sa.record_out) == (sb.record_in, sb.record_out), resourced)

    changes = []
    unchanged = 0
    for kind, sa, sb, detail in pairs:
        if kind in ("", "locked", "unlocked"):
            unchanged += 1
        if kind:
            changes.append((sb.record_in, 1, ShotChange(kind, sa.index, sb.index, detail)))
    for sa in left.values():
        changes.append((sa.record_in, 0, ShotChange(
            "removed", sa.index, None, f"{_name(sa.source)} at {_t(sa.record_in, fps)}")))
    for sb in right.values():
        changes.append((sb.record_in, 1, ShotChange(
            "added", None, sb.index, f"{_name(sb.source)} at {_t(sb.record_in, fps)}")))
    changes.sort(key=lambda x: (x[0], x[1], x[2].b if x[2].b is not None else -1))
    return PlanDiff(changes=tuple(c for _, _, c in changes), unchanged=unchanged,
                    shots_a=len(a.shots), shots_b=len(b.shots),
                    metrics=_changed(a.metrics, b.metrics),
                    settings=_changed(a.settings.to_dict(), b.settings.to_dict()))


def _v(x) -> str:
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float):
        return f"{x:.3f}"
    return "-" if x is None else str(x)


def format_diff(d: PlanDiff, name_a: str = "A", name_b: str = "B") -> str:
    """The diff as lines of text (what ``musync diff`` prints)."""
    lines = [f"{name_a}: {d.shots_a} shots, {name_b}: {d.shots_b} shots, {d.unchanged} unchanged"]
    if d.same:
        lines.append("the plans are the same")
        return "\n".join(lines)
    summ = d.summary()
    if summ:
        lines.append("changes: " + ", ".join(f"{n} {k}" for k, n in summ.items()))
    for c in d.changes:
        where = (f"shot {c.a} -> {c.b}" if c.a is not None and c.b is not None and c.a != c.b
                 else f"shot {c.b if c.b is not None else c.a}")
        lines.append(f"  {c.kind:10s} {where}: {c.detail}".rstrip(": "))
    if d.settings:
        lines.append("settings:")
        lines += [f"  {k}: {_v(a)} -> {_v(b)}" for k, (a, b) in d.settings.items()]
    if d.metrics:
        lines.append("metrics:")
        lines += [f"  {k}: {_v(a)} -> {_v(b)}" for k, (a, b) in d.metrics.items()]
    return "\n".join(lines)
