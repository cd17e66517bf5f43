"""Plain-text views of a clip library (what ``musync scan`` prints).

Public functions: :func:`format_table`, :func:`format_skipped`, :func:`format_flags`,
:func:`format_groups`.
"""

from __future__ import annotations

import math
from pathlib import Path

__all__ = ["format_table", "format_skipped", "format_flags", "format_groups"]

_COLUMNS = ("clip", "duration", "fps", "size", "vfr", "rot", "usable", "bright", "motion",
            "shots", "peaks", "quality", "flags")


def _flag_summary(c) -> str:
    kinds = []
    for f in c.flags:
        if f.kind not in kinds:
            kinds.append(f.kind)
    return ",".join(kinds) if kinds else "-"


def _fps(f) -> str:
    if f is None:
        return "-"
    v = float(f)
    return f"{v:.0f}" if abs(v - round(v)) < 1e-9 else f"{v:.3f}".rstrip("0")


def _t(x: float) -> str:
    return "inf" if math.isinf(x) else f"{x:.2f}"


def format_table(clips, *, name_width: int = 32) -> str:
    """One row per clip: duration, fps, display size, VFR, rotation, usable window, brightness,
    motion, sub-shots, motion peaks, picture quality and the kinds of content flags. Returns the
    text (no trailing newline)."""
    rows = [list(_COLUMNS)]
    for c in clips:
        name = Path(c.path).name
        if len(name) > name_width:
            name = name[: name_width - 3] + "..."
        rows.append([
            name,
            "still" if c.is_still else f"{c.duration:.2f}s",
            _fps(c.fps),
            f"{c.size[0]}x{c.size[1]}",
            "vfr" if c.vfr else "-",
            str(c.rotation),
            f"{_t(c.usable_in)}-{_t(c.usable_out)}",
            f"{c.brightness:.2f}",
            f"{c.motion:.2f}",
            str(len(c.subshots)),
            str(len(c.peak_times)),
            "-" if c.quality is None else f"{c.quality.score:.2f}",
            _flag_summary(c),
        ])
    widths = [max(len(r[i]) for r in rows) for i in range(len(_COLUMNS))]
    lines = []
    for r in rows:
        cells = [r[0].ljust(widths[0])] + [v.rjust(w) for v, w in zip(r[1:], widths[1:])]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def format_skipped(skipped) -> str:
    """The skipped files with their reasons, one per line (empty string when none)."""
    if not skipped:
        return ""
    lines = [f"skipped {len(skipped)} file(s):"]
    lines += [f"  {Path(s.path).name}: {s.reason}" for s in skipped]
    return "\n".join(lines)


def _span(a: float, b: float) -> str:
    return f"{_t(a)}-{_t(b)} s"


def format_flags(clips) -> str:
    """Every content flag with its time range and reason, grouped by clip ("" when none)."""
    lines = []
    for c in clips:
        if not c.flags:
            continue
        lines.append(f"  {Path(c.path).name}:")
        for f in c.flags:
            lines.append(f"    {f.kind} {_span(f.start, f.end)}: {f.reason}")
        if any(f.kind == "letterbox" for f in c.flags):
            x, y, w, h = c.picture
            lines.append(f"    picture area: {w}x{h} at ({x}, {y})")
    return ("content flags:\n" + "\n".join(lines)) if lines else ""


def format_groups(groups) -> str:
    """Duplicate groups, one member per line ("" when none)."""
    if not groups:
        return ""
    lines = [f"duplicate groups ({len(groups)}): clips showing the same shot count as one source"]
    for k, g in enumerate(groups, 1):
        lines.append(f"  group {k}:")
        for m in g.members:
            lines.append(f"    {Path(m.path).name}: {m.relation}")
    return "\n".join(lines)
