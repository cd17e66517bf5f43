"""Plain-text views of a clip library (what ``musync scan`` prints).

Public functions: :func:`format_table`, :func:`format_skipped`.
"""

from __future__ import annotations

import math
from pathlib import Path

__all__ = ["format_table", "format_skipped"]

_COLUMNS = ("clip", "duration", "fps", "size", "vfr", "rot", "usable", "bright", "motion",
            "shots", "peaks")


def _fps(f) -> str:
    if f is None:
        return "-"
    v = float(f)
    return f"{v:.0f}" if abs(v - round(v)) < 1e-9 else f"{v:.3f}".rstrip("0")


def _t(x: float) -> str:
    return "inf" if math.isinf(x) else f"{x:.2f}"


def format_table(clips, *, name_width: int = 32) -> str:
    """One row per clip: duration, fps, display size, VFR, rotation, usable window, brightness,
    motion, sub-shots and motion peaks. Returns the text (no trailing newline)."""
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
