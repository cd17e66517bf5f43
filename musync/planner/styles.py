"""The planner's settings: style presets, cost weights, output sizes, validation.

Public: :data:`STYLES`, :data:`WEIGHTS`, :data:`ASPECTS`, :func:`make_settings`,
:func:`check_settings`, :func:`output_size`.
"""

from __future__ import annotations

import dataclasses

from ..errors import ParameterError
from ..geometry import ASPECTS, parse_size
from ..timebase import parse_fps
from ..types import PlanSettings

__all__ = ["STYLES", "WEIGHTS", "ASPECTS", "make_settings", "check_settings", "output_size"]

#: Style presets: each only a bundle of PlanSettings values. The pace goes from ``calm_beats``
#: (the song's calmest moments) to ``intense_beats`` (its most intense), shaped by phrases and
#: the arc; half-beat cuts happen only on strong off-beat accents (when the analysis measured
#: them).
STYLES = {
    # pace follows the energy: two bars when calm, two beats when intense
    "energy": dict(calm_beats=8.0, intense_beats=2.0, cut_on="beats", half_beats=True),
    # cut only on bar lines: three bars when calm, one bar when intense
    "downbeats": dict(calm_beats=12.0, intense_beats=4.0, cut_on="downbeats", half_beats=False),
    # fast montage: two beats when calm, every beat when intense
    "every-beat": dict(calm_beats=2.0, intense_beats=1.0, cut_on="beats", half_beats=True),
    # calm music: four bars when calm, two bars when intense, cuts on bar lines
    "phrase": dict(calm_beats=16.0, intense_beats=8.0, cut_on="downbeats", max_shot=12.0,
                   half_beats=False),
}

#: Default weights of the cost terms (musync.planner.costs.COST_TERMS) and of continuity.
#: ``continuity`` weighs brightness/colour agreement between neighbours (3: neighbouring shots
#: inside a section agree in brightness, see musync.planner.seeing); ``luma_jump`` weighs the
#: steep cost of a brightness jump above 0.16 between neighbours inside a section
#: (musync.planner.costs.jump_weights).
WEIGHTS = {"motion": 1.0, "continuity": 3.0, "peak": 0.3, "climax": 0.6, "hero": 0.5,
           "flagged": 5.0, "quality": 0.6, "fit": 1.0, "picture_hero": 0.8, "luma": 0.5,
           "luma_jump": 2.0}

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
    w = dict(WEIGHTS)
    w.update(kw.get("weights") or {})
    kw["weights"] = w
    s = PlanSettings(**kw)
    check_settings(s)
    return s


def check_settings(s: PlanSettings) -> None:
    """Raise ParameterError for settings the planner cannot honour."""
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
