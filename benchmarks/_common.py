"""Helpers shared by the benchmark scripts: where the shared data lives, and plain/markdown tables.

Public functions:

- :func:`repo_root` -- the repository checkout the benchmarks belong to.
- :func:`shared_data_dir` -- ``<repo>/../shared/data`` (may not exist).
- :func:`fmt` -- format a number for a table cell (``None``/NaN become ``n/a``).
- :func:`format_table` -- a list of rows as an aligned text table or a markdown table.
- :func:`code_version` -- the commit of the analysis code being measured.
"""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

__all__ = ["repo_root", "shared_data_dir", "fmt", "format_table", "code_version"]


def repo_root() -> Path:
    """The checkout that holds this ``benchmarks/`` folder."""
    return Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """``<repo>/../shared/data``, the real media kept beside (never inside) the repository."""
    return repo_root().parent / "shared" / "data"


def fmt(value, digits: int = 3) -> str:
    """Format ``value`` for a table cell.

    Parameters
    ----------
    value : float, int, bool, str or None
    digits : decimals for floats

    Returns
    -------
    str
        ``"n/a"`` for None and NaN, ``"yes"``/``"no"`` for booleans, otherwise the value.
    """
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    v = float(value)
    if math.isnan(v):
        return "n/a"
    return f"{v:.{digits}f}"


def format_table(headers, rows, *, title: str | None = None, markdown: bool = False) -> str:
    """Render ``rows`` (sequences of cell strings) under ``headers``.

    Parameters
    ----------
    headers : sequence of str
    rows : sequence of sequences of str; a row equal to ``None`` draws a separator line
        (ignored in markdown)
    title : printed above the table (as a bold line in markdown)
    markdown : GitHub-flavoured markdown instead of an aligned text table

    Returns
    -------
    str
    """
    headers = [str(h) for h in headers]
    body = [[str(c) for c in r] for r in rows if r is not None]
    out = []
    if markdown:
        if title:
            out.append(f"**{title}**")
            out.append("")
        out.append("| " + " | ".join(h.replace("|", "\\|") for h in headers) + " |")
        out.append("|" + "|".join("---" if i == 0 else "---:" for i in range(len(headers))) + "|")
        for r in body:
            out.append("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |")
        return "\n".join(out)
    widths = [len(h) for h in headers]
    for r in body:
        for i, c in enumerate(r):
            widths[i] = max(widths[i], len(c))

    def line(cells):
        return "  ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(cells))

    rule = "-" * (sum(widths) + 2 * (len(widths) - 1))
    if title:
        out.append(title)
    out.append(line(headers))
    out.append(rule)
    for r in rows:
        out.append(rule if r is None else line([str(c) for c in r]))
    return "\n".join(out)


def code_version(paths=("musync/analysis", "musync/media.py", "musync/testing.py")) -> str:
    """Short hash of the last commit touching ``paths`` (the code a benchmark measures), with
    ``+ local changes`` when the working tree differs from it; ``unknown`` outside git."""
    root = repo_root()
    try:
        head = subprocess.run(["git", "log", "-1", "--format=%h", "--", *paths], cwd=root,
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", *paths], cwd=root,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return (head or "unknown") + (" + local changes" if dirty else "")
