"""Render a plan to a video: every shot on its planned frames, the song untouched underneath.

Public functions:

- :func:`render` -- render a :class:`~musync.types.Plan` (or a plan file) to an H.264/AAC file.
- :func:`render_settings` -- the resolved output size, quality and framing a render would use.
- :func:`plan_clip` -- the plan as a moviepy ``VideoClip`` (exact frames), for composing titles
  or effects in moviepy; :func:`write_clip` writes any moviepy clip at an exact rational rate
  with the song muxed in.

How the frames are made
-----------------------
Source frame ``j`` of a shot is the frame of its clip on screen ``j / plan.fps`` seconds after the
clip's first decodable frame, with the clip's timestamps rounded to the nearest plan frame: the
latest frame whose time after the first frame is less than ``(j + 1/2) / plan.fps`` (the rule of
ffmpeg's ``fps`` filter). It is computed from each decoded frame's exact timestamp as a fraction,
so clips at another rate, with variable frame rate or a non-zero start time come out right, and
a clip at the plan's rate maps one to one even when its container rounds timestamps.

Each source is decoded in this process with PyAV (FFmpeg's libraries), scaled by libswscale
straight to the size the output needs (a draft moves no full-size picture after decoding, and
skips H.264's deblocking filter, invisible at draft size), turned upright (display matrix), cropped or letterboxed in YUV 4:2:0, and piped raw to a single
``ffmpeg`` process that encodes H.264 ``yuv420p`` at the exact rational frame rate and muxes the
song, encoded once as one continuous AAC stream. Picture frame ``n`` is stamped ``n / fps``
exactly and the audio starts at 0, so picture and sound cannot drift.

Why not moviepy end to end: moviepy 2.2.1's ``VideoFileClip`` plays variable-frame-rate clips at
the wrong speed, ignores a non-zero start time when seeking and re-seeks by float time at every
cut; its ``write_videofile`` rounds the rate to two decimals (drift at 24000/1001), encodes MP3
audio by default, writes its temporary audio file into the working directory and writes the
final name directly. It also moves every frame as RGB, which costs two colour conversions per
frame. moviepy remains the composition layer for library users (:func:`plan_clip`,
:func:`write_clip`), fed by the same exact frame readers.

Safety: the output is written under a temporary name in its folder and renamed at the end; an
exception, Ctrl-C or SIGTERM removes it. Every source is opened once (one reader per file,
shared by its shots; at most a few decoders are kept open at a time), every reader is closed in
``finally``, and the one ffmpeg child is killed and reaped before the call returns.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import subprocess
import tempfile
import threading
import time
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from ._fs import atomic_output, check_output
from .errors import MediaError, MusyncError, ParameterError, PlanError
from .media import check_input_file, ffmpeg_exe, file_sha256
from .media import frame_rotation_cw as _rotation_cw
from .progress import make_progress
from .types import Plan, PlanClip

__all__ = ["render", "render_settings", "RenderSettings", "RenderResult", "plan_clip",
           "write_clip", "DRAFT_MAX_SIDE", "VIDEO_SUFFIXES"]

log = logging.getLogger(__name__)

#: Longest side of a ``draft`` render, in pixels.
DRAFT_MAX_SIDE = 640
#: Output file suffixes :func:`render` writes (all H.264 + AAC).
VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv")
_MODES = ("draft", "final")
_FRAMINGS = ("fill", "fit")
_CROPS = ("center", "motion")
_ASPECTS = {"16:9": Fraction(16, 9), "9:16": Fraction(9, 16), "1:1": Fraction(1),
            "4:5": Fraction(4, 5), "4:3": Fraction(4, 3), "3:4": Fraction(3, 4),
            "21:9": Fraction(21, 9)}
_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower",
            "veryslow", "placebo")
_DEFAULTS = {"draft": {"crf": 28, "preset": "ultrafast", "audio_bitrate": "160k"},
             "final": {"crf": 20, "preset": "fast", "audio_bitrate": "256k"}}
# decoders kept open at once (each holds reference frames); readers beyond this are reopened
_MAX_OPEN = 4
_INTERPOLATIONS = ("area", "fast_bilinear", "bilinear", "bicubic", "lanczos")
# keep decoding forward instead of seeking when the next shot starts at most this far ahead
_FORWARD_SECONDS = Fraction(3, 2)
# frames of a shot looked at to place a motion-weighted crop
_MOTION_LOOKAHEAD = 12


# -- settings ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class RenderSettings:
    """What a render writes, resolved from the plan and the options (see :func:`render_settings`).

    Attributes
    ----------
    mode : str          ``draft`` or ``final``
    width, height : int output size in pixels (even)
    fps : Fraction      output frame rate (the plan's)
    framing : str       ``fill`` (crop to the frame) or ``fit`` (letterbox)
    crop : str          ``center`` or ``motion`` (where a ``fill`` crop sits)
    crf : int           x264 constant rate factor
    preset : str        x264 preset
    audio_bitrate : str AAC bit rate, e.g. ``"192k"``
    """

    mode: str
    width: int
    height: int
    fps: Fraction
    framing: str = "fill"
    crop: str = "center"
    crf: int = 23
    preset: str = "veryfast"
    audio_bitrate: str = "192k"

    @property
    def size(self) -> tuple[int, int]:
        return (self.width, self.height)


@dataclass(frozen=True)
class RenderResult:
    """What :func:`render` wrote.

    Attributes
    ----------
    path : Path          the output file
    settings : RenderSettings
    frames : int         video frames written (``plan.duration_frames``)
    duration : float     picture duration, seconds
    seconds : float      wall time of the render
    warnings : tuple of str
    """

    path: Path
    settings: RenderSettings
    frames: int
    duration: float
    seconds: float
    warnings: tuple = ()

    @property
    def realtime(self) -> float:
        """How many times faster than real time the render ran."""
        return self.duration / self.seconds if self.seconds > 0 else float("inf")


def _even(x: float, lo: int = 2) -> int:
    return max(lo, int(round(x / 2.0)) * 2)


def _parse_size(size) -> tuple[int, int]:
    if isinstance(size, str):
        parts = size.lower().replace("×", "x").split("x")
        if len(parts) != 2:
            raise ParameterError(f"size {size!r} must look like 1280x720")
        try:
            size = (int(parts[0]), int(parts[1]))
        except ValueError:
            raise ParameterError(f"size {size!r} must look like 1280x720") from None
    try:
        w, h = (int(v) for v in size)
    except (TypeError, ValueError):
        raise ParameterError(f"size {size!r} must be (width, height)") from None
    if w < 16 or h < 16 or w > 8192 or h > 8192:
        raise ParameterError(f"size {w}x{h} is out of range (16 to 8192 pixels a side)")
    return w, h


def _parse_aspect(aspect) -> Fraction:
    if isinstance(aspect, str) and aspect in _ASPECTS:
        return _ASPECTS[aspect]
    try:
        if isinstance(aspect, str) and ":" in aspect:
            a, b = aspect.split(":")
            value = Fraction(int(a), int(b))
        else:
            value = Fraction(aspect)
    except (TypeError, ValueError, ZeroDivisionError):
        raise ParameterError(f"aspect {aspect!r} must look like 16:9, 9:16, 1:1 or 4:5") from None
    if not Fraction(1, 4) <= value <= 4:
        raise ParameterError(f"aspect {aspect!r} is out of range (1:4 to 4:1)")
    return value


def render_settings(plan: Plan, *, mode: str = "draft", size=None, aspect=None,
                    framing: str = "fill", crop: str = "center", crf: int | None = None,
                    preset: str | None = None, audio_bitrate: str | None = None) -> RenderSettings:
    """Resolve the output size, quality and framing of a render.

    Parameters
    ----------
    plan : Plan
    mode : {"draft", "final"}
        ``draft``: the longest side at most :data:`DRAFT_MAX_SIDE` pixels, preset ``ultrafast``,
        CRF 28. ``final``: full size, preset ``fast``, CRF 20.
    size : (int, int) or "WxH", optional
        Output size (before the draft limit); default the plan's ``size``.
    aspect : str, optional
        ``"16:9"``, ``"9:16"``, ``"1:1"``, ``"4:5"``...; without ``size``, the output keeps the
        plan's longest side at this aspect. Default the plan's aspect.
    framing : {"fill", "fit"}
    crop : {"center", "motion"}
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
    if mode not in _MODES:
        raise ParameterError(f"mode {mode!r} must be 'draft' or 'final'")
    if framing not in _FRAMINGS:
        raise ParameterError(f"framing {framing!r} must be 'fill' (crop) or 'fit' (letterbox)")
    if crop not in _CROPS:
        raise ParameterError(f"crop {crop!r} must be 'center' or 'motion'")
    d = _DEFAULTS[mode]
    crf = d["crf"] if crf is None else crf
    if not isinstance(crf, (int, np.integer)) or not 0 <= int(crf) <= 51:
        raise ParameterError(f"crf {crf!r} must be an integer from 0 to 51")
    preset = d["preset"] if preset is None else str(preset)
    if preset not in _PRESETS:
        raise ParameterError(f"preset {preset!r} must be one of {', '.join(_PRESETS)}")
    audio_bitrate = d["audio_bitrate"] if audio_bitrate is None else str(audio_bitrate)
    if size is not None:
        w, h = _parse_size(size)
        if aspect is not None and abs(Fraction(w, h) - _parse_aspect(aspect)) > Fraction(1, 50):
            raise ParameterError(f"size {w}x{h} does not have aspect {aspect}; give one of them")
    else:
        pw, ph = _parse_size(plan.size)
        if aspect is None and plan.aspect and plan.aspect in _ASPECTS:
            ratio = _ASPECTS[plan.aspect]
            if abs(Fraction(pw, ph) - ratio) > Fraction(1, 50):
                aspect = plan.aspect    # size and aspect disagree: the aspect wins
        if aspect is not None:
            ratio = _parse_aspect(aspect)
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
    return RenderSettings(mode, _even(w, 16), _even(h, 16), fps, framing, crop, int(crf), preset,
                          audio_bitrate)


# -- geometry ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Geometry:
    """How a source's decoded picture becomes an output frame.

    The decoder output (storage orientation) is scaled to ``scaled`` (width, height, even), turned
    by ``turns`` quarter turns counter-clockwise (numpy ``rot90``), then cropped at ``offset`` or
    pasted at ``offset`` into a black frame (``fit``).
    """

    out: tuple[int, int]
    scaled: tuple[int, int]        # storage orientation
    turns: int
    kind: str                      # "direct", "crop" or "pad"
    upright: tuple[int, int]       # size after turning (display orientation)
    offset: tuple[int, int]        # centred crop / pad offset, even


def _geometry(display: tuple[int, int], rotation: int, out: tuple[int, int], framing: str) -> _Geometry:
    dw, dh = display
    W, H = out
    if framing == "fill":
        s = max(W / dw, H / dh)
        uw, uh = max(W, _even(dw * s)), max(H, _even(dh * s))
        # within a pixel of the output on both axes: plain scaling
        if abs(uw - W) <= 2 and abs(uh - H) <= 2 and abs(dw * s - W) < 2 and abs(dh * s - H) < 2:
            uw, uh = W, H
    else:
        s = min(W / dw, H / dh)
        uw, uh = min(W, _even(dw * s)), min(H, _even(dh * s))
        if abs(uw - W) <= 2 and abs(uh - H) <= 2:
            uw, uh = W, H
    turns = (-(rotation // 90)) % 4
    scaled = (uh, uw) if turns % 2 else (uw, uh)
    if (uw, uh) == (W, H):
        kind, offset = "direct", (0, 0)
    elif framing == "fill":
        kind, offset = "crop", (((uw - W) // 2) & ~1, ((uh - H) // 2) & ~1)
    else:
        kind, offset = "pad", (((W - uw) // 2) & ~1, ((H - uh) // 2) & ~1)
    return _Geometry((W, H), scaled, turns, kind, (uw, uh), offset)


def _planes(frame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Views of the Y, U and V planes of a yuv420p PyAV frame (the frame must stay alive)."""
    out = []
    for p in frame.planes[:3]:
        a = np.frombuffer(p, np.uint8).reshape(p.height, p.line_size)[:, :p.width]
        out.append(a)
    return out[0], out[1], out[2]


def _turn(planes, turns: int):
    if not turns:
        return planes
    return tuple(np.rot90(p, k=turns) for p in planes)


def _crop(planes, x: int, y: int, w: int, h: int):
    Y, U, V = planes
    return (Y[y:y + h, x:x + w], U[y // 2:(y + h) // 2, x // 2:(x + w) // 2],
            V[y // 2:(y + h) // 2, x // 2:(x + w) // 2])


def _black(w: int, h: int):
    return (np.full((h, w), 16, np.uint8), np.full((h // 2, w // 2), 128, np.uint8),
            np.full((h // 2, w // 2), 128, np.uint8))


def _pad(planes, canvas, x: int, y: int):
    Yc, Uc, Vc = canvas
    Y, U, V = planes
    h, w = Y.shape
    Yc[y:y + h, x:x + w] = Y
    Uc[y // 2:y // 2 + U.shape[0], x // 2:x // 2 + U.shape[1]] = U
    Vc[y // 2:y // 2 + V.shape[0], x // 2:x // 2 + V.shape[1]] = V
    return canvas


def _motion_offset(lumas: list[np.ndarray], out: tuple[int, int], centred: tuple[int, int]):
    """Crop offset (even) that keeps the most frame-to-frame change inside the output window.

    ``lumas`` are upright, uncropped luma planes of the first frames of a shot. Falls back to the
    centred crop when there is too little motion to judge.
    """
    W, H = out
    h, w = lumas[0].shape
    if len(lumas) < 2:
        return centred
    acc = np.zeros((h, w), np.float32)
    for a, b in zip(lumas, lumas[1:]):
        acc += np.abs(a.astype(np.int16) - b.astype(np.int16))
    horizontal = w > W
    prof = acc.sum(axis=0) if horizontal else acc.sum(axis=1)
    span = W if horizontal else H
    total = float(prof.sum())
    if total < 2.0 * prof.size * (len(lumas) - 1):     # under ~2 grey levels of change a pixel
        return centred
    csum = np.concatenate([[0.0], np.cumsum(prof, dtype=np.float64)])
    win = csum[span:] - csum[:-span]
    centre_pos = centred[0] if horizontal else centred[1]
    best = int(np.argmax(win))
    # only move when clearly better than the centred crop
    if win[best] < 1.15 * win[centre_pos]:
        return centred
    pos = best & ~1
    return (pos, centred[1]) if horizontal else (centred[0], pos)


# -- reading sources ---------------------------------------------------------------------------

class _Frame:
    """A decoded frame and its time (Fraction seconds)."""

    __slots__ = ("frame", "t", "key")

    def __init__(self, frame, t: Fraction, key):
        self.frame = frame
        self.t = t
        self.key = key


class _ClipReader:
    """One source file, opened once and shared by every shot that uses it.

    Delivers the output frames of source frames ``[j0, j1)`` (see the module docstring for the
    rule), seeking only when the next request is behind or far ahead of the decoder.
    """

    def __init__(self, path: Path, clip: PlanClip | None, fps: Fraction, interpolation: str,
                 pool: "_ReaderPool", draft_size: tuple[int, int] | None = None):
        self.path = path
        self.draft_size = draft_size
        self.clip = clip
        self.fps = fps
        self.interpolation = interpolation
        self.pool = pool
        self.container = None
        self.stream = None
        self._it = None
        self._cur: _Frame | None = None
        self._peek: _Frame | None = None
        self._eof = False
        self._errors = 0
        self._cache_key = None
        self._cache_planes = None
        self._reformatter = None
        self.t0: Fraction | None = None
        self.rotation = 0
        self.display = (0, 0)
        self.is_still = False
        self.still_frame = None
        self._n_synth = 0
        self.warnings: list[str] = []

    # lifecycle
    def probe(self) -> None:
        """Open the file and decode its first frame (raises MediaError when unusable)."""
        check_input_file(self.path)
        self._open()
        first = self._next_frame()
        if first is None:
            raise MediaError(self.path, "no video frame can be decoded; the file is damaged or "
                             "not a video; restore it or re-plan without it")
        self.t0 = first.t
        f = first.frame
        self.rotation = _rotation_cw(f)
        w, h = f.width, f.height
        sar = getattr(self.stream.codec_context, "sample_aspect_ratio", None) or \
            getattr(self.stream, "sample_aspect_ratio", None)
        dw = int(round(w * float(sar))) if sar and float(sar) > 0 else w
        self.display = (h, dw) if self.rotation in (90, 270) else (dw, h)
        nxt = self._next_frame()
        self.is_still = nxt is None and (self.clip is None or self.clip.is_still or
                                         self.path.suffix.lower() in (".png", ".jpg", ".jpeg",
                                                                      ".webp", ".bmp", ".tif",
                                                                      ".tiff"))
        if self.is_still:
            self.still_frame = first
            self.release()
        else:
            self._cur, self._peek = first, nxt
            # the reader now stands at the start; keep it for a first shot from frame 0

    def _open(self) -> None:
        import av

        if self.container is not None:
            self.pool.touch(self)
            return
        try:
            self.container = av.open(str(self.path))
        except Exception as exc:
            raise MediaError(self.path, f"cannot be opened ({type(exc).__name__}: {exc}); "
                             "restore the file or re-plan without it") from None
        if not self.container.streams.video:
            self.container.close()
            self.container = None
            raise MediaError(self.path, "has no video stream")
        self.stream = self.container.streams.video[0]
        cc = self.stream.codec_context
        cc.thread_type = "AUTO"
        cc.thread_count = 0
        if (self.draft_size and cc.name in ("h264", "hevc") and cc.width and cc.height
                and max(cc.width, cc.height) >= 1.5 * max(self.draft_size)):
            # drafts from large sources: skip the in-loop deblocking filter (about a fifth of the
            # decoding time; its effect vanishes when the picture is scaled down)
            cc.options = {"skip_loop_filter": "all"}
        self._it = self._decode()
        self._eof = False
        self.pool.opened(self)

    def release(self) -> None:
        """Close the decoder (it is reopened on demand)."""
        if self.container is not None:
            with contextlib.suppress(Exception):
                self.container.close()
        self.container = None
        self.stream = None
        self._it = None
        self._cur = self._peek = None
        self._cache_key = self._cache_planes = None
        self.pool.closed(self)

    def close(self) -> None:
        self.release()
        self.still_frame = None
        if self._errors:
            self.warnings.append(f"{self.path.name}: {self._errors} damaged packet(s) skipped")
            self._errors = 0

    # decoding
    def _decode(self):
        import av

        for packet in self.container.demux(self.stream):
            try:
                frames = packet.decode()
            except av.error.FFmpegError:
                self._errors += 1
                continue
            yield from frames

    def _next_frame(self) -> _Frame | None:
        if self._eof:
            return None
        try:
            f = next(self._it)
        except StopIteration:
            self._eof = True
            return None
        if f.pts is not None:
            t = Fraction(f.pts) * self.stream.time_base
            key = f.pts
        else:   # no timestamps: count frames at the nominal rate
            rate = self.stream.average_rate or self.stream.guessed_rate or 30
            self._n_synth += 1
            t = Fraction(self._n_synth - 1) / Fraction(rate)
            key = ("n", self._n_synth)
        return _Frame(f, t, key)

    def _seek(self, bound: Fraction) -> None:
        """Position the decoder so that the frame before ``bound`` comes out first or soon."""
        tb = self.stream.time_base
        back = Fraction(0)
        while True:
            target = bound - back
            self._open()
            if target <= self.t0:
                pts = int(math.floor(self.t0 / tb))
            else:
                pts = int(math.ceil(target / tb)) - 1
            try:
                self.container.seek(pts, stream=self.stream, backward=True, any_frame=False)
            except Exception:
                self._restart()
                return
            self._it = self._decode()
            self._eof = False
            self._cur = None
            self._peek = self._next_frame()
            if self._peek is not None and self._peek.t < bound:
                return
            if target <= self.t0:
                # seeking cannot reach the start: decode from the top of the file
                self._restart()
                return
            back = max(Fraction(1), back * 2)

    def _restart(self) -> None:
        self.release()
        self._open()
        self._n_synth = 0
        self._cur = None
        self._peek = self._next_frame()

    def _advance_to(self, bound: Fraction) -> None:
        """Consume frames until ``_cur`` is the latest frame with time < ``bound``."""
        while self._peek is not None and self._peek.t < bound:
            if self._cur is None or self._peek.t >= self._cur.t:
                self._cur = self._peek
            self._peek = self._next_frame()

    def _convert(self, fr: _Frame, geom: _Geometry):
        """Scaled, upright, uncropped planes of ``fr`` (cached for repeated frames)."""
        if self._cache_key == (fr.key, geom) and self._cache_planes is not None:
            return self._cache_planes
        from av.video.reformatter import Interpolation, VideoReformatter

        interp = getattr(Interpolation, self.interpolation.upper())
        sw, sh = geom.scaled
        f = fr.frame
        if f.width == sw and f.height == sh and f.format.name == "yuv420p":
            small = f
        else:
            if self._reformatter is None:     # keeps its scaler between frames
                self._reformatter = VideoReformatter()
            small = self._reformatter.reformat(f, width=sw, height=sh, format="yuv420p",
                                               interpolation=interp, dst_color_range=1)
        planes = _turn(_planes(small), geom.turns)
        self._cache_key = (fr.key, geom)
        self._cache_planes = (planes, small)
        return self._cache_planes

    def shot_frames(self, j0: int, j1: int, geom: _Geometry, crop_mode: str, label: str):
        """Yield the output planes ``(Y, U, V)`` of source frames ``[j0, j1)``."""
        fps = self.fps
        half = Fraction(1, 2)
        if self.is_still:
            planes, _ = self._convert(self.still_frame, geom)
            out = self._finish_planes(planes, geom, geom.offset)
            for _ in range(j0, j1):
                yield out
            return
        bound0 = self.t0 + (j0 + half) / fps
        self._open()
        # keep decoding forward when the decoder stands a little before this shot; else seek
        here = self._cur if self._cur is not None else self._peek
        if here is None or here.t >= bound0 or bound0 - here.t > _FORWARD_SECONDS:
            self._seek(bound0)
        offset = geom.offset
        pending = []
        if crop_mode == "motion" and geom.kind == "crop":
            # look at the first frames, then place the crop for the whole shot
            n_look = min(j1 - j0, _MOTION_LOOKAHEAD)
            for j in range(j0, j0 + n_look):
                self._advance_to(self.t0 + (j + half) / fps)
                fr = self._cur
                if fr is None:
                    raise MediaError(self.path, f"{label}: no frame at source frame {j}")
                planes, _keep = self._convert(fr, geom)
                pending.append(tuple(np.array(p) for p in planes))
                self._cache_key = None    # the copies in ``pending`` are what we keep
            offset = _motion_offset([p[0] for p in pending], geom.out, geom.offset)
        for planes in pending:
            yield self._finish_planes(planes, geom, offset)
        held = 0
        # a frame is "held" when the file ends long before the planned frame
        slack = 2 / fps + (1 / Fraction(self.clip.fps) if self.clip is not None and self.clip.fps
                           else 0)
        for j in range(j0 + len(pending), j1):
            bound = self.t0 + (j + half) / fps
            self._advance_to(bound)
            fr = self._cur
            if fr is None:
                raise MediaError(self.path, f"{label}: source frame {j} cannot be decoded")
            if self._peek is None and self._eof and bound - fr.t > slack:
                held += 1
            planes, _keep = self._convert(fr, geom)
            yield self._finish_planes(planes, geom, offset)
        if held:
            self.warnings.append(f"{label}: {self.path.name} ended early; its last frame was held "
                                 f"for {held} frame(s)")

    @staticmethod
    def _finish_planes(planes, geom: _Geometry, offset):
        if geom.kind == "direct":
            return planes
        W, H = geom.out
        if geom.kind == "crop":
            return _crop(planes, offset[0], offset[1], W, H)
        return _pad(planes, _black(W, H), offset[0], offset[1])


class _ReaderPool:
    """Keeps at most ``limit`` decoders open; closes the least recently used one."""

    def __init__(self, limit: int = _MAX_OPEN):
        self.limit = limit
        self._open: OrderedDict[int, _ClipReader] = OrderedDict()

    def opened(self, r: _ClipReader) -> None:
        self._open[id(r)] = r
        self._open.move_to_end(id(r))
        while len(self._open) > self.limit:
            _, old = self._open.popitem(last=False)
            if old is not r:
                old.release()

    def touch(self, r: _ClipReader) -> None:
        if id(r) in self._open:
            self._open.move_to_end(id(r))

    def closed(self, r: _ClipReader) -> None:
        self._open.pop(id(r), None)


# -- the encoder -------------------------------------------------------------------------------

class _Encoder:
    """One ffmpeg process: raw yuv420p (or rgb24) frames on stdin + the song -> H.264/AAC."""

    def __init__(self, out_path: Path, settings: RenderSettings, audio: Path | None, *,
                 container_suffix: str, pix_fmt: str = "yuv420p", audio_filter: list | None = None,
                 extra_inputs: list | None = None, x264_params: str | None = None):
        W, H = settings.size
        fps = settings.fps
        cmd = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
               "-f", "rawvideo", "-pix_fmt", pix_fmt, "-s", f"{W}x{H}",
               "-framerate", f"{fps.numerator}/{fps.denominator}", "-i", "pipe:0"]
        if audio is not None:
            cmd += ["-i", str(audio)]
        for extra in extra_inputs or []:
            cmd += ["-i", str(extra)]
        cmd += ["-map", "0:v:0"]
        if audio is not None and audio_filter:
            cmd += ["-filter_complex", audio_filter[0], "-map", audio_filter[1]]
        elif audio is not None:
            cmd += ["-map", "1:a:0"]
        cmd += ["-c:v", "libx264", "-preset", settings.preset, "-crf", str(settings.crf),
                "-pix_fmt", "yuv420p", "-profile:v", "high", "-fps_mode", "passthrough"]
        if x264_params:
            cmd += ["-x264-params", x264_params]
        if audio is not None:
            cmd += ["-c:a", "aac", "-b:a", settings.audio_bitrate]
        cmd += ["-map_metadata", "-1", "-map_chapters", "-1"]
        fmt = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska"}[container_suffix]
        if fmt in ("mp4", "mov"):
            cmd += ["-movflags", "+faststart"]
        cmd += ["-f", fmt, str(out_path)]
        self.cmd = cmd
        self._err = tempfile.TemporaryFile()      # unlinked at once: nothing is left behind
        # its own process group: a terminal's Ctrl-C reaches only us, and we end the child
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                     stderr=self._err, process_group=0)
        self.frames = 0

    def _error(self) -> str:
        try:
            self._err.seek(0)
            text = self._err.read().decode("utf-8", "replace")
        except (OSError, ValueError):
            text = ""
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        return lines[-1] if lines else f"exit code {self.proc.returncode}"

    def write(self, planes) -> None:
        stdin = self.proc.stdin
        try:
            for p in planes:
                if not p.flags.c_contiguous:
                    p = np.ascontiguousarray(p)
                stdin.write(memoryview(p).cast("B"))
        except (BrokenPipeError, ValueError, OSError):
            self.proc.wait()
            raise MusyncError(f"the encoder stopped: {self._error()}") from None
        self.frames += 1

    def write_bytes(self, data) -> None:
        """Write one whole raw frame."""
        try:
            self.proc.stdin.write(data)
        except (BrokenPipeError, ValueError, OSError):
            self.proc.wait()
            raise MusyncError(f"the encoder stopped: {self._error()}") from None
        self.frames += 1

    def finish(self) -> None:
        try:
            self.proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        rc = self.proc.wait()
        if rc != 0:
            raise MusyncError(f"encoding failed: {self._error()}")

    def kill(self) -> None:
        """End the child (if still running) and reap it. Safe to call twice."""
        if self.proc.poll() is None:
            with contextlib.suppress(OSError):
                self.proc.kill()
        with contextlib.suppress(Exception):
            if self.proc.stdin:
                self.proc.stdin.close()
        with contextlib.suppress(Exception):
            self.proc.wait()
        with contextlib.suppress(Exception):
            self._err.close()


# -- helpers -----------------------------------------------------------------------------------

@contextlib.contextmanager
def _sigterm_as_interrupt():
    """Within the block, SIGTERM raises KeyboardInterrupt so that cleanup runs (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    fired = []

    def handler(signum, frame):
        if not fired:
            fired.append(signum)
            raise KeyboardInterrupt("terminated (SIGTERM)")

    try:
        old = signal.signal(signal.SIGTERM, handler)
    except (ValueError, OSError):      # not allowed here (embedded interpreter, ...)
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def _as_plan(plan) -> tuple[Plan, Path | None]:
    if isinstance(plan, Plan):
        return plan, None
    if isinstance(plan, (str, os.PathLike)):
        from .planfile import load_plan

        return load_plan(plan), Path(plan).resolve().parent
    raise ParameterError(f"plan must be a Plan or the path of a plan file, not {type(plan).__name__}")


def _resolve(path: str, base: Path | None) -> Path:
    p = Path(path)
    if not p.is_absolute() and base is not None and not p.exists() and (base / p).exists():
        return base / p
    return p


def _check_suffix(output) -> str:
    suffix = Path(output).suffix.lower()
    if suffix not in VIDEO_SUFFIXES:
        raise ParameterError(f"{output}: output must end in {', '.join(VIDEO_SUFFIXES)}")
    return suffix


def _check_song(plan: Plan, base: Path | None, warn) -> Path:
    from .media import probe_audio

    song = _resolve(plan.audio.path, base)
    try:
        stream = probe_audio(song)
    except MediaError as exc:
        raise MediaError(song, f"the plan's song cannot be used: {exc.problem}") from None
    picture = float(Fraction(plan.duration_frames) / Fraction(plan.fps))
    if stream.duration > 0 and abs(stream.duration - picture) > 1.0 / float(plan.fps):
        warn(f"{song.name} lasts {stream.duration:.2f} s but the plan covers {picture:.2f} s; the "
             "video keeps the whole song (re-plan if the song was edited)")
    if plan.audio.sha256:
        if file_sha256(song) != plan.audio.sha256:
            warn(f"{song.name} has changed since the plan was made (content hash differs); the "
                 "cuts may no longer sit on its beats: re-plan to be sure")
    return song


def _open_sources(plan: Plan, base: Path | None, fps: Fraction, interpolation: str,
                  pool: _ReaderPool, draft_size=None) -> dict[str, _ClipReader]:
    """One reader per source file; every file is checked before any encoding starts."""
    users: dict[str, list] = {}
    for s in plan.shots:
        users.setdefault(s.source, []).append(s)
    readers: dict[str, _ClipReader] = {}
    try:
        for src, shots in users.items():
            path = _resolve(src, base)
            r = _ClipReader(path, plan.clip(src), fps, interpolation, pool, draft_size)
            readers[src] = r
            try:
                r.probe()
            except MediaError as exc:
                idx = [str(s.index) for s in shots]
                which = (f"shot {idx[0]} (record frames {shots[0].record_in}-{shots[0].record_out})"
                         if len(idx) == 1 else
                         f"shots {', '.join(idx[:8])}{', ...' if len(idx) > 8 else ''}")
                raise MediaError(path, f"needed by {which}: {exc.problem}") from None
    except BaseException:
        for r in readers.values():
            r.close()
        raise
    return readers


def _label(shot) -> str:
    return f"shot {shot.index}"


def _plan_frames(plan: Plan, readers: dict, geoms: dict, crop: str):
    """``(label, planes)`` for every output frame of the plan, in order."""
    for shot in plan.shots:
        label = _label(shot)
        for planes in readers[shot.source].shot_frames(shot.source_in, shot.source_out,
                                                       geoms[shot.source], crop, label):
            yield label, planes


# -- the public functions ----------------------------------------------------------------------

def render(plan, output, *, mode: str = "draft", size=None, aspect=None, framing: str = "fill",
           crop: str = "center", crf: int | None = None, preset: str | None = None,
           audio_bitrate: str | None = None, overwrite: bool = False, progress=None,
           interpolation: str | None = None) -> RenderResult:
    """Render ``plan`` to ``output``: every shot on its planned frames, the song as soundtrack.

    Shot ``k`` fills output frames ``[record_in, record_out)`` with source frames
    ``[source_in, source_out)`` of its clip (rule in the module docstring); the song is laid once,
    from its first sample, as one AAC stream. The file is H.264 ``yuv420p`` at the plan's exact
    frame rate.

    Parameters
    ----------
    plan : Plan or path
        A plan, or a plan file (relative media paths are then also looked up beside it).
    output : path
        ``.mp4`` (also ``.m4v``, ``.mov``, ``.mkv``). Written under a temporary name in the same
        folder and renamed at the end; nothing is left behind on failure or interruption.
    mode : {"draft", "final"}
        ``draft`` (default): at most :data:`DRAFT_MAX_SIDE` pixels on the long side, sources
        scaled down as they are decoded, x264 ``ultrafast``. ``final``: full size, ``fast``, CRF 20.
    size, aspect, framing, crop, crf, preset, audio_bitrate
        See :func:`render_settings`. ``framing="fill"`` crops the picture to the output's aspect
        (centred; with ``crop="motion"`` placed once per shot where the first 12 frames of the shot
        change most); ``"fit"`` letterboxes it in black.
    overwrite : bool
        Replace an existing ``output`` (otherwise :class:`ParameterError`).
    progress : None, str or callable
        ``None``/``"none"``, ``"auto"``, ``"bar"``, ``"plain"``, ``"json"`` (stderr) or a callable
        receiving :class:`~musync.progress.ProgressEvent` (stage ``"render"``, unit ``frames``).
    interpolation : {"area", "fast_bilinear", "bilinear", "bicubic", "lanczos"}, optional
        Scaler; default ``area`` for drafts, ``bicubic`` for finals.

    Returns
    -------
    RenderResult

    Raises
    ------
    MediaError
        The song or a source is missing or unreadable (names the shot and the file; raised
        before anything is encoded).
    PlanError
        The plan breaks an invariant.
    ParameterError
        A bad option, or ``output`` exists and ``overwrite`` is False.

    Examples
    --------
    >>> import musync                                              # doctest: +SKIP
    >>> res = musync.render("plan.json", "draft.mp4")              # doctest: +SKIP
    >>> res.frames, round(res.realtime, 1)                         # doctest: +SKIP
    (5400, 9.3)
    """
    from .planfile import validate_plan

    t_start = time.perf_counter()
    plan, base = _as_plan(plan)
    validate_plan(plan)
    settings = render_settings(plan, mode=mode, size=size, aspect=aspect, framing=framing,
                               crop=crop, crf=crf, preset=preset, audio_bitrate=audio_bitrate)
    if interpolation is None:
        interpolation = "area" if mode == "draft" else "bicubic"
    if interpolation not in _INTERPOLATIONS:
        raise ParameterError(f"interpolation {interpolation!r} must be one of "
                             f"{', '.join(_INTERPOLATIONS)}")
    suffix = _check_suffix(output)
    check_output(output, overwrite=overwrite)
    notes: list[str] = []

    def warn(msg: str) -> None:
        notes.append(msg)
        warnings.warn(msg, stacklevel=3)

    song = _check_song(plan, base, warn)
    pool = _ReaderPool()
    readers: dict[str, _ClipReader] = {}
    geoms: dict[str, _Geometry] = {}
    with _sigterm_as_interrupt():
        try:
            readers = _open_sources(plan, base, settings.fps, interpolation, pool,
                                    draft_size=settings.size if settings.mode == "draft" else None)
            for src, r in readers.items():
                geoms[src] = _geometry(r.display, r.rotation, settings.size, settings.framing)
                if r.clip is not None and not r.is_still and r.clip.rotation != r.rotation:
                    warn(f"{r.path.name}: the plan says rotation {r.clip.rotation} but the file "
                         f"says {r.rotation}; using the file's")
            with atomic_output(output, overwrite=overwrite) as tmp, \
                    make_progress(progress, "render", plan.duration_frames, unit="frames") as prog:
                enc = _Encoder(tmp, settings, song, container_suffix=suffix)
                try:        # the encoder is reaped before the temporary file is removed
                    step = max(1, int(round(float(settings.fps) / 2)))
                    pending = 0
                    for label, planes in _plan_frames(plan, readers, geoms, settings.crop):
                        enc.write(planes)
                        pending += 1
                        if pending >= step:
                            prog.advance(pending, item=label)
                            pending = 0
                    if enc.frames != plan.duration_frames:  # pragma: no cover
                        raise MusyncError(f"wrote {enc.frames} frames, expected "
                                          f"{plan.duration_frames}")
                    enc.finish()
                    if pending:
                        prog.advance(pending, item="done")
                finally:
                    enc.kill()
        finally:
            for r in readers.values():
                r.close()
    for r in readers.values():
        for w in r.warnings:
            warn(w)
    return RenderResult(Path(output), settings, plan.duration_frames,
                        float(Fraction(plan.duration_frames) / settings.fps),
                        time.perf_counter() - t_start, tuple(notes))


# -- moviepy: the plan as a clip -----------------------------------------------------------------

def plan_clip(plan, *, mode: str = "final", size=None, aspect=None, framing: str = "fill",
              interpolation: str = "bicubic"):
    """The plan as a moviepy ``VideoClip`` with exact frames (RGB), for composing in moviepy.

    Frame ``n`` of the clip (``clip.get_frame(n / plan.fps)``) is output frame ``n`` of the plan.
    The song is attached as ``clip.audio`` (an ``AudioFileClip``). The clip holds open decoders:
    call ``clip.close()`` when done (or use it as a context manager). Write it with
    :func:`write_clip`, not ``write_videofile`` (which rounds the frame rate and leaves files
    behind on failure).

    Examples
    --------
    >>> from musync.render import plan_clip, write_clip                      # doctest: +SKIP
    >>> with plan_clip("plan.json", size=(1280, 720)) as clip:               # doctest: +SKIP
    ...     titled = clip.with_effects([...])                                 # your moviepy edit
    ...     write_clip(titled, "out.mp4", fps=clip.exact_fps, audio=clip.song_path)
    """
    import bisect

    from moviepy import AudioFileClip, VideoClip

    from .planfile import validate_plan

    plan, base = _as_plan(plan)
    validate_plan(plan)
    settings = render_settings(plan, mode=mode, size=size, aspect=aspect, framing=framing)
    song = _resolve(plan.audio.path, base)
    pool = _ReaderPool()
    readers = _open_sources(plan, base, settings.fps, interpolation, pool)
    geoms = {src: _geometry(r.display, r.rotation, settings.size, framing)
             for src, r in readers.items()}
    starts = [s.record_in for s in plan.shots]
    fps = settings.fps
    total = plan.duration_frames
    state = {"k": -1, "gen": None, "next": 0, "last": -1, "rgb": None}

    def frame_at(n: int) -> np.ndarray:
        n = min(max(n, 0), total - 1)
        if n == state["last"]:
            return state["rgb"]
        k = bisect.bisect_right(starts, n) - 1
        if k != state["k"] or n < state["next"]:
            shot = plan.shots[k]
            state["gen"] = readers[shot.source].shot_frames(
                shot.source_in + (n - shot.record_in), shot.source_out, geoms[shot.source],
                "center", _label(shot))
            state["k"], state["next"] = k, n
        planes = None
        while state["next"] <= n:
            planes = next(state["gen"])
            state["next"] += 1
        state["last"], state["rgb"] = n, _yuv420_to_rgb(planes)
        return state["rgb"]

    def frame_function(t):
        return frame_at(int(round(float(t) * float(fps))))

    clip = VideoClip(frame_function=frame_function,
                     duration=float(Fraction(plan.duration_frames) / fps))
    clip.fps = float(fps)
    clip.exact_fps = fps
    clip.song_path = song
    clip.audio = AudioFileClip(str(song))
    original_close = clip.close

    def close():
        for r in readers.values():
            r.close()
        with contextlib.suppress(Exception):
            if clip.audio is not None:
                clip.audio.close()
        original_close()

    clip.close = close
    return clip


def _yuv420_to_rgb(planes) -> np.ndarray:
    """4:2:0 planes (limited range) to an ``(h, w, 3)`` uint8 RGB array (libswscale)."""
    import av

    Y, U, V = planes
    h, w = Y.shape
    frame = av.VideoFrame(w, h, "yuv420p")
    for plane, data in zip(frame.planes, (Y, U, V)):
        rows, cols = data.shape
        dst = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
        dst[:rows, :cols] = data
    return frame.to_ndarray(format="rgb24")


def _rgb_to_yuv420(rgb: np.ndarray):
    """An ``(h, w, 3)`` uint8 RGB array (even h, w) to limited-range Y, U, V planes (libswscale)."""
    import av

    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb, dtype=np.uint8), format="rgb24")
    yuv = frame.reformat(format="yuv420p", dst_color_range=1)
    return tuple(np.array(p) for p in _planes(yuv))


def write_clip(clip, output, *, fps, audio=None, mode: str = "final", crf: int | None = None,
               preset: str | None = None, overwrite: bool = False, progress=None) -> Path:
    """Write a moviepy clip at an exact rational frame rate, with ``audio`` (a file) muxed in.

    Unlike ``write_videofile``: the rate is exact (``30000/1001`` stays that), the audio is the
    file itself encoded once as AAC (the clip's own audio is ignored), the output appears only
    when complete, and nothing is written to the working directory.

    Parameters
    ----------
    clip : moviepy VideoClip
        Its frames must all have the same even size.
    output : path
    fps : Fraction, int or str
        e.g. ``Fraction(30000, 1001)``; frame ``n`` is ``clip.get_frame(n / fps)``.
    audio : path, optional
    mode, crf, preset : see :func:`render_settings`
    overwrite : bool
    progress : see :func:`render`
    """
    fps = Fraction(fps)
    if fps <= 0:
        raise ParameterError("fps must be positive")
    suffix = _check_suffix(output)
    check_output(output, overwrite=overwrite)
    first = np.asarray(clip.get_frame(0))
    h, w = first.shape[:2]
    if w % 2 or h % 2:
        raise ParameterError(f"clip frames are {w}x{h}; make both sides even (e.g. resize)")
    n_frames = int(math.floor(Fraction(clip.duration).limit_denominator(10**6) * fps + Fraction(1, 2)))
    d = _DEFAULTS[mode]
    settings = RenderSettings(mode, w, h, fps, crf=d["crf"] if crf is None else int(crf),
                              preset=d["preset"] if preset is None else preset,
                              audio_bitrate=d["audio_bitrate"])
    audio_path = None
    if audio is not None:
        audio_path = check_input_file(audio)
    with _sigterm_as_interrupt():
        with atomic_output(output, overwrite=overwrite) as tmp, \
                make_progress(progress, "render", n_frames, unit="frames") as prog:
            enc = _Encoder(tmp, settings, audio_path, container_suffix=suffix, pix_fmt="rgb24")
            try:
                for n in range(n_frames):
                    frame = np.asarray(clip.get_frame(float(Fraction(n) / fps)))
                    if frame.dtype != np.uint8:
                        frame = np.clip(frame, 0, 255).astype(np.uint8)
                    if frame.shape[:2] != (h, w):
                        raise ParameterError(f"clip frame {n} is {frame.shape[1]}x{frame.shape[0]}"
                                             f", not {w}x{h}")
                    enc.write((frame[..., :3],))
                    if (n + 1) % 15 == 0 or n + 1 == n_frames:
                        prog.advance((n + 1) - prog.done)
                enc.finish()
            finally:
                enc.kill()
    return Path(output)
