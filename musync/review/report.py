"""``musync report``: the review page as one self-contained, read-only HTML file.

Public: :func:`write_report`, :func:`report_html`.

The file holds everything inline (the page's CSS and JavaScript, the plan and its variants, the
song's waveform and grid, a JPEG thumbnail per shot, the analysis plot as a PNG), so it opens
in any browser with no musync and no network: for sharing with someone who only watches.
"""

from __future__ import annotations

import base64
import json
import tempfile
from pathlib import Path

from ..errors import MusyncError
from .._fs import write_text
from .diff import diff_plans
from .server import STATIC, _clip_list, song_payload
from .session import ReviewSession

__all__ = ["write_report", "report_html"]

_THUMB_H = 72


def _thumbs(session: ReviewSession, plans) -> dict[str, str]:
    from .pictures import thumbnail

    ids = {p: i for i, p in enumerate(session.library)}
    out = {}
    for plan in plans:
        for s in plan.shots:
            frame = max(0, (s.source_in + s.source_out - 1) // 2)
            key = f"{ids.get(s.source)}:{frame}"
            if key in out or s.source not in ids:
                continue
            c = session.plan_clip(s.source)
            if c is None or not Path(c.path).is_file():
                continue
            try:
                data = thumbnail(c.path, frame / float(plan.fps), height=_THUMB_H, display=c.size,
                                 still=c.is_still)
            except MusyncError:
                continue
            out[key] = "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii")
    return out


def _plot(session: ReviewSession) -> str:
    if session.analysis is None or not Path(session.analysis.audio.path).is_file():
        return ""
    from ..report import plot_analysis

    with tempfile.TemporaryDirectory(prefix="musync-report-") as tmp:
        png = Path(tmp) / "analysis.png"
        plot_analysis(session.analysis, png, overwrite=True)
        return "data:image/png;base64," + base64.b64encode(png.read_bytes()).decode("ascii")


def report_html(session: ReviewSession) -> str:
    """The report page for ``session``'s current plan and its variants."""
    plan = session.plan
    variants = session.variant_list()
    data = {
        "plan": plan.to_dict(),
        "song": song_payload(session),
        "clips": _clip_list(session),
        "state": {"warnings": list(session.warnings), "media": {}, "path": str(session.path)},
        "variants": [{"name": n, "plan": p.to_dict()} for n, p in variants],
        "diffs": {f"variant-{i}": diff_plans(p, plan).to_dict() for i, (_, p) in enumerate(variants)},
        "thumbs": _thumbs(session, [plan] + [p for _, p in variants]),
        "plot": _plot(session),
    }
    blob = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":")).replace("</", "<\\/")
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    css = (STATIC / "app.css").read_text(encoding="utf-8")
    js = (STATIC / "app.js").read_text(encoding="utf-8").replace("</", "<\\/")
    page = page.replace('<link rel="stylesheet" href="static/app.css">', f"<style>\n{css}</style>")
    page = page.replace('<script src="static/app.js"></script>',
                        f"<script>window.MUSYNC_REPORT = {blob};</script>\n<script>\n{js}</script>")
    page = page.replace("<title>musync review</title>", f"<title>musync report · {Path(plan.audio.path).name}</title>")
    if "static/app." in page:
        raise MusyncError("the report template has changed: could not inline the page's files")
    return page


def write_report(plan, output, *, compare=(), extra_clips=(), overwrite: bool = False, use_cache: bool = True,
                 analysis=None, clips=None) -> Path:
    """Write the report of the plan file ``plan`` (with the plan files in ``compare`` beside it
    as variants) to ``output`` (HTML, written under a temporary name and renamed)."""
    from .._fs import check_output

    check_output(output, overwrite=overwrite)
    session = ReviewSession.open(plan, extra_clips, compare=compare, use_cache=use_cache, analysis=analysis,
                                 clips=clips)
    try:
        html = report_html(session)
    finally:
        session.close()
    return write_text(output, html, overwrite=overwrite)
