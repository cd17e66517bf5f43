"""The monotony ("hypnosis") report: where an edit stops cutting like an editor.

Public: :func:`diagnose`, :func:`format_report`, :data:`TARGETS`.

Every check gives ``{"check", "ok", "value", "target", "shots", "reason"}``: ``shots`` are the
shot indices it points at, ``reason`` is one line a director reads ("shots 41-47 all last one
beat: a strobe"). The report is stored in ``plan.metrics["diagnostics"]`` and printed with every
plan.
"""

from __future__ import annotations

import numpy as np

from .metrics import ONE_BEAT, shot_beats

__all__ = ["diagnose", "format_report", "TARGETS"]

#: The checks and their targets.
TARGETS = {
    "equal-length run": 4,          # longest run of shots of one length (in beats), at most
    "variation per section": 0.25,  # coefficient of variation of shot lengths, at least
    "build into the climax": 1.5,   # cut rate, last 2 bars vs the first 4 of the 8 before
    "payoff": 2.0,                  # the held shot at the payoff vs its four predecessors
    "cuts on strong accents": 0.8,  # share of cuts on a downbeat or a strong onset
    "one-beat run": 8,              # longest run of one-beat shots, at most
}


def _tc(frame: int, fps: float) -> str:
    t = frame / fps
    return f"{int(t // 60)}:{t % 60:04.1f}"


def _span(shots, i: int, j: int, fps: float) -> str:
    """'shots 12-16 (0:31.2-0:36.0)'."""
    if i == j:
        return f"shot {i} ({_tc(shots[i].record_in, fps)})"
    return f"shots {i}-{j} ({_tc(shots[i].record_in, fps)}-{_tc(shots[j].record_out, fps)})"


def _beats_text(x: float) -> str:
    r = round(x * 2) / 2
    return f"{r:g} beat" + ("" if r == 1 else "s")


def diagnose(shots, metrics: dict, *, fps, beat_frames, downbeat_frames=(), strong_beats=None,
             climax_frame=None, anticipation: int = 0) -> list[dict]:
    """The monotony checks of a plan (see :data:`TARGETS`), from its shots and metrics.

    ``strong_beats``: frames of the strong accents (to name the cuts that miss them).
    """
    f = float(fps)
    downs = np.asarray(downbeat_frames, dtype=np.int64)
    bar = float(np.median(np.diff(downs))) if downs.size >= 2 else 2.0 * f
    n = len(shots)
    out: list[dict] = []
    if n == 0:
        return out
    beats = shot_beats(shots, beat_frames, anticipation)

    # 1. equal lengths in a row
    run, at = int(metrics.get("equal_run_max", 1)), int(metrics.get("equal_run_at", 0))
    t = TARGETS["equal-length run"]
    ok = run <= t
    idx = list(range(at, at + run))
    reason = (f"{_span(shots, at, at + run - 1, f)}: {run} shots in a row of {_beats_text(beats[at])}"
              + (" -- reads as a metronome" if not ok else " -- lengths vary"))
    out.append({"check": "equal-length run", "ok": ok, "value": run, "target": f"<= {t}",
                "shots": idx, "reason": reason})

    # 2. variation per section (sections of 8 bars or more)
    t = TARGETS["variation per section"]
    secs = metrics.get("sections", [])
    long_secs = [s for s in secs if s.get("bars", 0) >= 8]
    if long_secs:
        worst = min(long_secs, key=lambda s: s["cv"])
        ok = worst["cv"] >= t
        first = next((k for k, s in enumerate(shots) if s.record_in >= worst["start_frame"]), 0)
        idx = list(range(first, first + int(worst["shots"])))
        flat = [s for s in long_secs if s["cv"] < t]
        reason = (f"section {worst['label']} ({worst['kind'] or 'section'}, {worst['bars']} bars) at "
                  f"{_tc(worst['start_frame'], f)}: shot lengths vary by {100 * worst['cv']:.0f} %"
                  + (f" -- one pace throughout ({len(flat)} flat section(s))" if not ok else
                     " (the least varied section)"))
        out.append({"check": "variation per section", "ok": ok, "value": worst["cv"],
                    "target": f">= {t}", "shots": idx, "reason": reason})

    # 3. build into the climax
    t = TARGETS["build into the climax"]
    ratio = metrics.get("build_ratio")
    if climax_frame is not None and ratio is not None:
        ok = ratio >= t
        n1, n2 = metrics.get("build_cuts") or (0, 0)
        idx = [k for k, s in enumerate(shots) if 0 < climax_frame - s.record_in <= 8 * bar + 1]
        reason = (f"into the climax at {_tc(climax_frame, f)}: {n1} cuts in bars -8 to -5, {n2} in the last 2 "
                  f"bars ({ratio:.1f}x the rate)" + (" -- no acceleration" if not ok else " -- it accelerates"))
        out.append({"check": "build into the climax", "ok": ok, "value": ratio, "target": f">= {t}",
                    "shots": idx, "reason": reason})

    # 4. the payoff
    t = TARGETS["payoff"]
    hold = metrics.get("payoff_hold")
    if climax_frame is not None and hold is not None:
        k = int(metrics.get("payoff_shot"))
        ok = hold >= t
        reason = (f"{_span(shots, k, k, f)} at the payoff lasts {shots[k].length / f:.2f} s, "
                  f"{hold:.1f}x the shots before it" + (" -- a held hero moment" if ok else
                                                        " -- the payoff does not stand out"))
        out.append({"check": "payoff", "ok": ok, "value": hold, "target": f">= {t}",
                    "shots": list(range(max(0, k - 4), k + 1)), "reason": reason})
    elif climax_frame is not None and metrics.get("payoff_opens"):
        out.append({"check": "payoff", "ok": True, "value": None, "target": f">= {t}", "shots": [0],
                    "reason": f"the climax at {_tc(climax_frame, f)} is on the first bar line: the song "
                              "opens on its payoff, with no shots before it to hold against"})
    elif climax_frame is not None:
        out.append({"check": "payoff", "ok": False, "value": None, "target": f">= {t}", "shots": [],
                    "reason": f"no shot starts within a bar of the climax at {_tc(climax_frame, f)}"})

    # 5. cuts on strong accents
    t = TARGETS["cuts on strong accents"]
    share = float(metrics.get("cuts_on_strong_accent", 1.0))
    weak = []
    if strong_beats is not None:
        sb = np.sort(np.asarray(strong_beats, dtype=np.int64))
        for k in range(1, n):
            c = shots[k].record_in + anticipation
            i = int(np.searchsorted(sb, c))
            d = min([abs(int(sb[j]) - c) for j in (i - 1, i) if 0 <= j < sb.size] or [10 ** 9])
            if d > 1:
                weak.append(k)
    out.append({"check": "cuts on strong accents", "ok": share >= t, "value": share,
                "target": f">= {t}", "shots": weak[:20],
                "reason": f"{100 * share:.0f} % of cuts fall on a downbeat or a strong hit"
                          + (" -- too many cuts on weak beats" if share < t else "")})

    # 6. one-beat runs
    t = TARGETS["one-beat run"]
    run, at = int(metrics.get("one_beat_run_max", 0)), int(metrics.get("one_beat_run_at", 0))
    ok = run <= t
    if run:
        reason = (f"{_span(shots, at, at + run - 1, f)}: " + (f"{run} one-beat shots in a row" if run > 1
                                                              else "one one-beat shot, never two in a row")
                  + (" -- a strobe with no phrasing" if not ok else ""))
    else:
        reason = f"no shot is {ONE_BEAT:g} beats or shorter"
    out.append({"check": "one-beat run", "ok": ok, "value": run, "target": f"<= {t}",
                "shots": list(range(at, at + run)), "reason": reason})
    return out


def format_report(diagnostics: list[dict]) -> list[str]:
    """The report as lines: ``ok  check: reason`` / ``!!  check: reason (target)``."""
    lines = []
    for d in diagnostics:
        mark = "ok" if d["ok"] else "!!"
        tail = "" if d["ok"] else f"  [target {d['target']}]"
        lines.append(f"{mark}  {d['check']}: {d['reason']}{tail}")
    return lines
