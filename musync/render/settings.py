"""What a render writes: output size, quality and framing, resolved from a plan and options.

Public names: :func:`render_settings`, :class:`RenderSettings`, :class:`RenderResult`,
:data:`DRAFT_MAX_SIDE`, :data:`MODES`, :data:`FRAMINGS`, :data:`CROPS`, :data:`PRESETS`,
:data:`INTERPOLATIONS`, :data:`DEFAULTS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..errors import ParameterError, PlanError
from ..geometry import ASPECTS, aspect_ratio, even, parse_size

__all__ = ["render_settings", "RenderSettings", "RenderResult", "DRAFT_MAX_SIDE", "MODES",
           "FRAMINGS", "CROPS", "PRESETS", "INTERPOLATIONS", "DEFAULTS"]

#: Longest side of a ``draft`` render, in pixels.
DRAFT_MAX_SIDE = 640
#: Render modes.
MODES = ("draft", "final")
#: ``fill`` crops the picture to the output's aspect, ``fit`` letterboxes it.
FRAMINGS = ("fill", "fit")
#: Where a ``fill`` crop sits: the plan's framing per shot (where it stores one for the output's
#: aspect, else centred), centred, or toward the motion of each shot's first frames.
CROPS = ("plan", "center", "motion")
#: x264 presets, fastest first.
PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower",
           "veryslow", "placebo")
#: Scalers (libswscale) a render can use.
INTERPOLATIONS = ("area", "fast_bilinear", "bilinear", "bicubic", "lanczos")
#: Quality defaults per mode.
DEFAULTS = {"draft": {"crf": 28, "preset": "ultrafast", "audio_bitrate": "160k"},
            "final": {"crf": 20, "preset": "fast", "audio_bitrate": "256k"}}


@dataclass(frozen=True)
class RenderSettings:
    """What a render writes, resolved from the plan and the options (see :func:`render_settings`).

    Attributes
    ----------
    mode : str          ``draft`` or ``final`` (``preview`` for :func:`musync.preview`)
    width, height : int output size in pixels (even)
    fps : Fraction      output frame rate (the plan's)
    framing : str       ``fill`` (crop to the frame) or ``fit`` (letterbox)
    crop : str          ``plan``, ``center`` or ``motion`` (where a ``fill`` crop sits)
    crf : int           x264 constant rate factor
    preset : str        x264 preset
    audio_bitrate : str AAC bit rate, e.g. ``"192k"``
    """

    mode: str
    width: int
    height: int
    fps: Fraction
    framing: str = "fill"
    crop: str = "plan"
    crf: int = 23
    preset: str = "veryfast"
    audio_bitrate: str = "192k"

    @property
    def size(self) -> tuple[int, int]:
        return (self.width, self.height)


@dataclass(frozen=True)
class RenderResult:
    """What :func:`musync.render` wrote.

    Attributes
    ----------
    path : Path          the output file
    settings : RenderSettings
    frames : int         video frames written (``plan.duration_frames``)
    duration : float     picture duration, seconds
    seconds : float      wall time of the render (including any proxies built for it)
    warnings : tuple of str
    proxies : int        sources read from their proxies (0 for a final)
    """

    path: Path
    settings: RenderSettings
    frames: int
    duration: float
    seconds: float
    warnings: tuple = ()
    proxies: int = 0

    @property
    def realtime(self) -> float:
        """How many times faster than real time the render ran."""
        return self.duration / self.seconds if self.seconds > 0 else float("inf")


def render_settings(plan, *, mode: str = "draft", size=None, aspect=None,
                    framing: str = "fill", crop: str = "plan", crf: int | None = None,
                    preset: str | None = None, audio_bitrate: str | None = None) -> RenderSettings:
    """Resolve the output size, quality and framing of a render.

    Parameters
    ----------
    plan : Plan
        (Only its ``fps``, ``size`` and ``aspect`` are read.)
    mode : {"draft", "final"}
        ``draft``: the longest side at most :data:`DRAFT_MAX_SIDE` pixels, preset ``ultrafast``,
        CRF 28. ``final``: full size, preset ``fast``, CRF 20.
    size : (int, int) or "WxH", optional
        Output size (before the draft limit); default the plan's ``size``.
    aspect : str, optional
        ``"16:9"``, ``"9:16"``, ``"1:1"``, ``"4:5"``...; without ``size``, the output keeps the
        plan's longest side at this aspect. Default the plan's aspect.
    framing : {"fill", "fit"}
    crop : {"plan", "center", "motion"}
    crf : int, optional
        0-51 (lower is better); default by mode.
    preset : str, optional
        x264 preset; default by mode.
    audio_bitrate : str, optional
        e.g. ``"192k"``.

    Returns
    -------
    RenderSettings
    """
    if mode not in MODES:
        raise ParameterError(f"mode {mode!r} must be 'draft' or 'final'")
    if framing not in FRAMINGS:
        raise ParameterError(f"framing {framing!r} must be 'fill' (crop) or 'fit' (letterbox)")
    if crop not in CROPS:
        raise ParameterError(f"crop {crop!r} must be 'plan', 'center' or 'motion'")
    d = DEFAULTS[mode]
    crf = d["crf"] if crf is None else crf
    if not isinstance(crf, (int, np.integer)) or not 0 <= int(crf) <= 51:
        raise ParameterError(f"crf {crf!r} must be an integer from 0 to 51")
    preset = d["preset"] if preset is None else str(preset)
    if preset not in PRESETS:
        raise ParameterError(f"preset {preset!r} must be one of {', '.join(PRESETS)}")
    audio_bitrate = d["audio_bitrate"] if audio_bitrate is None else str(audio_bitrate)
    if size is not None:
        w, h = parse_size(size)
        if aspect is not None and abs(Fraction(w, h) - aspect_ratio(aspect)) > Fraction(1, 50):
            raise ParameterError(f"size {w}x{h} does not have aspect {aspect}; give one of them")
    else:
        pw, ph = parse_size(plan.size)
        if aspect is None and plan.aspect and plan.aspect in ASPECTS:
            if abs(Fraction(pw, ph) - aspect_ratio(plan.aspect)) > Fraction(1, 50):
                aspect = plan.aspect    # size and aspect disagree: the aspect wins
        if aspect is not None:
            ratio = aspect_ratio(aspect)
            long_side = max(pw, ph)
            if ratio >= 1:
                w, h = long_side, long_side / ratio
            else:
                w, h = long_side * ratio, long_side
        else:
            w, h = pw, ph
    if mode == "draft" and max(w, h) > DRAFT_MAX_SIDE:
        k = DRAFT_MAX_SIDE / max(w, h)
        w, h = w * k, h * k
    fps = Fraction(plan.fps)
    if fps <= 0:
        raise PlanError(f"plan fps must be positive, not {plan.fps}")
    return RenderSettings(mode, even(w, 16), even(h, 16), fps, framing, crop, int(crf), preset,
                          audio_bitrate)
