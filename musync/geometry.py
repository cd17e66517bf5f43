"""Frame sizes and aspect ratios: the one table and the one parser the planner and the renderer
share (importing this module imports neither of them).

Public names:

- :data:`ASPECTS` -- the named aspect ratios and the full-size frame each one plans at.
- :func:`aspect_ratio` -- ``"16:9"`` (or ``"21:9"``, ``1.5``, ``Fraction(4, 5)``) as an exact ratio.
- :func:`parse_size` -- ``"1280x720"`` or ``(1280, 720)`` as ``(width, height)``, range-checked.
- :func:`even` -- the nearest even number of pixels (encoders need even 4:2:0 sizes).

>>> parse_size("1280x720")
(1280, 720)
>>> aspect_ratio("9:16")
Fraction(9, 16)
>>> ASPECTS["4:5"]
(1080, 1350)
"""

from __future__ import annotations

from fractions import Fraction

from .errors import ParameterError

__all__ = ["ASPECTS", "aspect_ratio", "parse_size", "even", "MIN_SIDE", "MAX_SIDE"]

#: Named aspect ratios and the full-size frame (width, height) of each; the ratio of every size
#: is exactly its name.
ASPECTS = {"16:9": (1920, 1080), "9:16": (1080, 1920), "1:1": (1080, 1080), "4:5": (1080, 1350),
           "4:3": (1440, 1080), "3:4": (1080, 1440), "21:9": (2520, 1080)}

#: Smallest and largest frame side, in pixels.
MIN_SIDE, MAX_SIDE = 16, 8192

_SIZE_HINT = "must look like 1280x720"


def even(x: float, lo: int = 2) -> int:
    """``x`` rounded to the nearest even integer, at least ``lo``."""
    return max(lo, int(round(x / 2.0)) * 2)


def parse_size(size) -> tuple[int, int]:
    """A frame size as ``(width, height)`` integers.

    Parameters
    ----------
    size : str or (int, int)
        ``"1280x720"`` (also ``"1280X720"``, ``"1280×720"``) or a pair of integers.

    Raises
    ------
    ParameterError
        Not a size, or a side outside :data:`MIN_SIDE`..:data:`MAX_SIDE` pixels.
    """
    if isinstance(size, str):
        parts = size.strip().lower().replace("×", "x").split("x")
        if len(parts) != 2:
            raise ParameterError(f"size {size!r} {_SIZE_HINT}")
        try:
            size = (int(parts[0]), int(parts[1]))
        except ValueError:
            raise ParameterError(f"size {size!r} {_SIZE_HINT}") from None
    try:
        w, h = (int(v) for v in size)
    except (TypeError, ValueError):
        raise ParameterError(f"size {size!r} must be (width, height) or {_SIZE_HINT[5:]}") from None
    if not (MIN_SIDE <= w <= MAX_SIDE and MIN_SIDE <= h <= MAX_SIDE):
        raise ParameterError(f"size {w}x{h} is out of range ({MIN_SIDE} to {MAX_SIDE} pixels a side)")
    return w, h


def aspect_ratio(aspect) -> Fraction:
    """An aspect ratio (width / height) as an exact fraction.

    Parameters
    ----------
    aspect : str, number or Fraction
        A name from :data:`ASPECTS`, any ``"W:H"``, or a number; between 1:4 and 4:1.
    """
    if isinstance(aspect, str) and aspect in ASPECTS:
        w, h = ASPECTS[aspect]
        return Fraction(w, h)
    try:
        if isinstance(aspect, str) and ":" in aspect:
            a, b = aspect.split(":")
            value = Fraction(int(a), int(b))
        else:
            value = Fraction(aspect)
    except (TypeError, ValueError, ZeroDivisionError):
        raise ParameterError(f"aspect {aspect!r} must look like "
                             f"{', '.join(list(ASPECTS)[:-1])} or {list(ASPECTS)[-1]}") from None
    if not Fraction(1, 4) <= value <= 4:
        raise ParameterError(f"aspect {aspect!r} is out of range (1:4 to 4:1)")
    return value
