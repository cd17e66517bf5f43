"""Verified seeking: after a seek, the first decoded frame at one of the scan's per-second
frame prints must show that picture, else the file is not safely seekable.

Some files decode cleanly from the start but not after a seek (a broken keyframe index, a
decoder that conceals missing references with green or grey blocks). A reader that seeks looks
at the first frame it decodes at the time of a print (:class:`~musync.types.FramePrints`, made
by the scan from a decode from the start) and at the decoder's corrupt flag; on a mismatch
:class:`SeekMismatch` is raised, the render starts again decoding that file from the start
only, and the file is recorded as not safely seekable (cache kind ``seek``, keyed by the real
path, size, modification time and PyAV's version) so that later renders go there directly. A file without prints in the
cache (never scanned with caching on) is not checked.

Public: :class:`SeekCheck`, :class:`SeekMismatch`, :func:`prints_for`, :func:`seek_unsafe`,
:func:`mark_seek_unsafe`.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

from .. import cache

__all__ = ["SeekCheck", "SeekMismatch", "prints_for", "seek_unsafe", "mark_seek_unsafe"]

#: Largest thumbnail distance (0-1) for "the same picture"; see musync.clips.fingerprint.
TOLERANCE = 0.06
#: Thumbnails are made from the frame scaled to this width (the definition allows any size).
_THUMB_WIDTH = 64


class SeekMismatch(Exception):
    """A seek in ``path`` gave a frame that is not the scan's picture for that time."""

    def __init__(self, path, why: str):
        self.path = Path(path)
        self.why = why
        super().__init__(f"{self.path}: {why}")


def _key(path) -> str | None:
    """The file as it is now (its real path, size and time) and the decoder that read it."""
    import av

    try:
        real = Path(path).resolve()
        st = real.stat()
    except OSError:
        return None
    return cache.make_key("seek", f"{real}|{st.st_size}|{st.st_mtime_ns}", {"av": av.__version__})


def seek_unsafe(path) -> bool:
    """Whether ``path`` (as it is now) was found not to be safely seekable."""
    k = _key(path)
    hit = cache.get_json("seek", k) if k else None
    return bool(hit and hit.get("unsafe"))


def mark_seek_unsafe(path, why: str) -> None:
    """Record that ``path`` (as it is now) must be decoded from the start."""
    k = _key(path)
    if k:
        cache.put_json("seek", k, {"unsafe": True, "why": why})


def prints_for(path):
    """The scan's per-second frame prints of ``path`` (None when not cached)."""
    from ..clips.scan import cached_clip

    c = cached_clip(path)
    return None if c is None else c.prints


def thumbnail_of(frame) -> np.ndarray:
    """The 8x8 luma thumbnail of a decoded PyAV frame (stored orientation, bars included)."""
    from av.video.reformatter import Interpolation

    from ..clips.features import frame_thumbnail

    w = max(8, min(_THUMB_WIDTH, frame.width))
    h = max(8, int(round(frame.height * w / max(frame.width, 1))))
    small = frame.reformat(width=w, height=h, format="rgb24", interpolation=Interpolation.AREA)
    return frame_thumbnail(small.to_ndarray())


class SeekCheck:
    """The check of one seek: the first print at or after the first decoded frame."""

    def __init__(self, prints, t0: Fraction, first: Fraction, half_frame: Fraction):
        self.prints = prints
        self.t0 = t0
        self.half = half_frame
        rel = float(first - t0)
        i = int(np.searchsorted(prints.times, rel - float(half_frame), side="left"))
        self.index = i if i < len(prints.times) else None

    @property
    def done(self) -> bool:
        return self.index is None

    def see(self, path, frame, t: Fraction) -> None:
        """Look at a decoded frame (in order); raises SeekMismatch when it is the frame of the
        print and shows another picture, or the decoder flags it as corrupt."""
        if self.index is None:
            return
        from ..clips.fingerprint import thumb_distance

        if getattr(frame, "is_corrupt", False):
            self.index = None
            raise SeekMismatch(path, f"the decoder flags the frame at {float(t - self.t0):.2f} s "
                                     "after a seek as corrupt")
        target = float(self.prints.times[self.index])
        rel = float(t - self.t0)
        if rel < target - float(self.half):
            return
        i, self.index = self.index, None
        if abs(rel - target) > float(self.half):
            return                                   # no frame at the print's time: nothing to compare
        d = thumb_distance(thumbnail_of(frame), self.prints.thumb(i))
        if d > TOLERANCE:
            raise SeekMismatch(path, f"after a seek the frame at {target:.2f} s differs from the "
                                     f"scan's (thumbnail distance {d:.2f})")
