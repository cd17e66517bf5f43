"""Source readers: the frames a shot needs, decoded once, in order, by the plan's rule.

Public names:

- :class:`ClipReader` -- one source file (or its proxy), opened once and shared by its shots;
  :meth:`ClipReader.shot_frames` yields the output planes of source frames ``[j0, j1)``.
- :class:`ReaderPool` -- keeps at most a few decoders open at a time.
- :func:`open_sources` -- one reader per source of a plan, every file checked before encoding.
- :func:`resolve_media` -- the file a plan's path names (relative paths: beside the plan file).
- :func:`decode_video`, :func:`stamp`, :func:`picture_shape` -- decoding as every reader does it
  (also used to make proxies, so a proxy holds exactly the frames a reader sees).

Source frame ``j`` is the latest decoded frame whose time after the clip's first decodable frame
is less than ``(j + 1/2) / fps`` (exact fractions). The reader decodes forward while the next
shot starts a little ahead, and otherwise seeks: :meth:`ClipReader._seek` is the only place a
decoder is repositioned.
"""

from __future__ import annotations

import contextlib
import math
from collections import OrderedDict
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..errors import MediaError
from ..media import check_input_file, frame_rotation_cw
from ..types import Plan, PlanClip
from .framing import Geometry, finish_planes, frame_planes, motion_offset, plan_offset, turn

__all__ = ["ClipReader", "ReaderPool", "Frame", "open_sources", "resolve_media", "shots_by_source",
           "needed_by", "decode_video", "stamp", "picture_shape", "MAX_OPEN", "STILL_SUFFIXES"]

#: Decoders kept open at once (each holds reference frames); readers beyond this are reopened.
MAX_OPEN = 4
# keep decoding forward instead of seeking when the next shot starts at most this far ahead
_FORWARD_SECONDS = Fraction(3, 2)
# frames of a shot looked at to place a motion-weighted crop
_MOTION_LOOKAHEAD = 12
STILL_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")


def decode_video(container, stream, on_damaged):
    """The decoded frames of ``stream``, in decoding order; a packet that does not decode is
    skipped and reported to ``on_damaged()``."""
    import av

    for packet in container.demux(stream):
        try:
            frames = packet.decode()
        except av.error.FFmpegError:
            on_damaged()
            continue
        yield from frames


def stamp(f, stream, n_synth: int) -> "Frame":
    """``f`` with its exact time (Fraction seconds). A frame without a timestamp is the
    ``n_synth``-th such frame, counted at the stream's nominal rate."""
    if f.pts is not None:
        return Frame(f, Fraction(f.pts) * stream.time_base, f.pts)
    rate = stream.average_rate or stream.guessed_rate or 30
    return Frame(f, Fraction(n_synth - 1) / Fraction(rate), ("n", n_synth))


def picture_shape(f, stream) -> tuple[tuple[int, int], int]:
    """``(display size, rotation)`` of a decoded frame: the upright size with square pixels
    (sample aspect ratio applied) and the degrees clockwise a player turns the picture."""
    rotation = frame_rotation_cw(f)
    w, h = f.width, f.height
    sar = getattr(stream.codec_context, "sample_aspect_ratio", None) or \
        getattr(stream, "sample_aspect_ratio", None)
    dw = int(round(w * float(sar))) if sar and float(sar) > 0 else w
    return ((h, dw) if rotation in (90, 270) else (dw, h)), rotation


class Frame:
    """A decoded frame and its time (Fraction seconds)."""

    __slots__ = ("frame", "t", "key")

    def __init__(self, frame, t: Fraction, key):
        self.frame = frame
        self.t = t
        self.key = key


class ClipReader:
    """One source file, opened once and shared by every shot that uses it.

    Delivers the output frames of source frames ``[j0, j1)`` (see the module docstring for the
    rule), seeking only when the next request is behind or far ahead of the decoder.
    """

    def __init__(self, path: Path, clip: PlanClip | None, fps: Fraction, interpolation: str,
                 pool: "ReaderPool", draft_size: tuple[int, int] | None = None, proxy=None):
        self.path = path
        self.proxy = proxy              # a musync.render.proxies.Proxy: decode that instead
        self.file = proxy.path if proxy is not None else path
        self.draft_size = draft_size
        self.clip = clip
        self.fps = fps
        self.interpolation = interpolation
        self.pool = pool
        self.container = None
        self.stream = None
        self._it = None
        self._cur: Frame | None = None
        self._peek: Frame | None = None
        self._eof = False
        self._errors = 0
        self._cache_key = None
        self._cache_planes = None
        self._reformatter = None
        self.t0: Fraction | None = None
        self.rotation = 0               # of the decoded picture (0 for a proxy: upright)
        self.source_rotation = 0        # of the source file
        self.display = (0, 0)
        self.is_still = False
        self.still_frame = None
        self._n_synth = 0
        self.warnings: list[str] = []
        # verified seeking (musync.render.seekcheck): the scan's frame prints, whether seeking
        # may be used at all, and the check of the last seek
        self.prints = None
        self.seekable = True
        self._check = None

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
        self.display, self.rotation = picture_shape(first.frame, self.stream)
        self.source_rotation = self.rotation
        if self.proxy is not None:      # frame it as the original: same display size
            self.display, self.source_rotation = self.proxy.display, self.proxy.rotation
            self._errors += self.proxy.damaged      # found in the source when it was made
        nxt = self._next_frame()
        self.is_still = nxt is None and (self.clip is None or self.clip.is_still or
                                         self.path.suffix.lower() in STILL_SUFFIXES)
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
            self.container = av.open(str(self.file))
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
        self._check = None
        self.pool.closed(self)

    def close(self) -> None:
        self.release()
        self.still_frame = None
        if self._errors:
            self.warnings.append(f"{self.path.name}: {self._errors} damaged packet(s) skipped")
            self._errors = 0

    # decoding
    def _decode(self):
        def damaged():
            self._errors += 1

        return decode_video(self.container, self.stream, damaged)

    def _next_frame(self) -> Frame | None:
        if self._eof:
            return None
        try:
            f = next(self._it)
        except StopIteration:
            self._eof = True
            return None
        if f.pts is None:
            self._n_synth += 1
        return stamp(f, self.stream, self._n_synth)

    def _seek(self, bound: Fraction) -> None:
        """Position the decoder so that the frame before ``bound`` comes out first or soon.

        A file that is not safely seekable is decoded from the start instead (forward when the
        decoder stands before ``bound``). After a real seek the first frame at one of the scan's
        prints is checked (:mod:`musync.render.seekcheck`)."""
        self._check = None
        if not self.seekable:
            here = self._cur if self._cur is not None else self._peek
            if here is None or here.t >= bound:
                self._restart()
            return
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
                self._start_check()
                return
            if target <= self.t0:
                # seeking cannot reach the start: decode from the top of the file
                self._restart()
                return
            back = max(Fraction(1), back * 2)

    def _start_check(self) -> None:
        if self.prints is None or self.proxy is not None or not len(self.prints.times):
            return
        from .seekcheck import SeekCheck

        rate = Fraction(self.clip.fps) if self.clip is not None and self.clip.fps else Fraction(60)
        check = SeekCheck(self.prints, self.t0, self._peek.t, 1 / (2 * rate))
        self._check = None if check.done else check

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
                if self._check is not None:
                    self._check.see(self.path, self._cur.frame, self._cur.t)
                    if self._check.done:
                        self._check = None
            self._peek = self._next_frame()

    def _convert(self, fr: Frame, geom: Geometry):
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
        planes = turn(frame_planes(small), geom.turns)
        self._cache_key = (fr.key, geom)
        self._cache_planes = (planes, small)
        return self._cache_planes

    def shot_frames(self, j0: int, j1: int, geom: Geometry, crop_mode: str, label: str,
                    plan_crop=None):
        """Yield the output planes ``(Y, U, V)`` of source frames ``[j0, j1)``; with
        ``crop_mode="plan"``, a fill crop follows ``plan_crop`` (a ShotCrop) frame by frame."""
        fps = self.fps
        half = Fraction(1, 2)
        if self.is_still:
            planes, _ = self._convert(self.still_frame, geom)
            out = finish_planes(planes, geom, geom.offset)
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
            offset = motion_offset([p[0] for p in pending], geom.out, geom.offset)
        for planes in pending:
            yield finish_planes(planes, geom, offset)
        held = 0
        # a frame is "held" when the file ends long before the planned frame
        slack = 2 / fps + (1 / Fraction(self.clip.fps) if self.clip is not None and self.clip.fps
                           else 0)
        follow = crop_mode == "plan" and plan_crop is not None and geom.kind == "crop"
        for j in range(j0 + len(pending), j1):
            bound = self.t0 + (j + half) / fps
            self._advance_to(bound)
            fr = self._cur
            if fr is None:
                raise MediaError(self.path, f"{label}: source frame {j} cannot be decoded")
            if self._peek is None and self._eof and bound - fr.t > slack:
                held += 1
            planes, _keep = self._convert(fr, geom)
            if follow:
                offset = plan_offset(plan_crop, geom, j - j0)
            yield finish_planes(planes, geom, offset)
        if held:
            self.warnings.append(f"{label}: {self.path.name} ended early; its last frame was held "
                                 f"for {held} frame(s)")


class ReaderPool:
    """Keeps at most ``limit`` decoders open; closes the least recently used one."""

    def __init__(self, limit: int = MAX_OPEN):
        self.limit = limit
        self._open: OrderedDict[int, ClipReader] = OrderedDict()

    def opened(self, r: ClipReader) -> None:
        self._open[id(r)] = r
        self._open.move_to_end(id(r))
        while len(self._open) > self.limit:
            _, old = self._open.popitem(last=False)
            if old is not r:
                old.release()

    def touch(self, r: ClipReader) -> None:
        if id(r) in self._open:
            self._open.move_to_end(id(r))

    def closed(self, r: ClipReader) -> None:
        self._open.pop(id(r), None)



def resolve_media(path: str, base: Path | None) -> Path:
    """The file a plan's ``path`` names: as given, or relative to ``base`` (the plan's folder)
    when it is relative and only exists there."""
    p = Path(path)
    if not p.is_absolute() and base is not None and not p.exists() and (base / p).exists():
        return base / p
    return p


def shots_by_source(plan: Plan) -> dict[str, list]:
    """The shots of ``plan`` grouped by source, in order of first use."""
    users: dict[str, list] = {}
    for s in plan.shots:
        users.setdefault(s.source, []).append(s)
    return users


def needed_by(shots) -> str:
    """``shot 3 (record frames 120-180)`` or ``shots 3, 7, 9``: for error messages."""
    idx = [str(s.index) for s in shots]
    if len(idx) == 1:
        return f"shot {idx[0]} (record frames {shots[0].record_in}-{shots[0].record_out})"
    return f"shots {', '.join(idx[:8])}{', ...' if len(idx) > 8 else ''}"


def open_sources(plan: Plan, base: Path | None, fps: Fraction, interpolation: str,
                 pool: ReaderPool, draft_size=None, proxies=None,
                 only=None, verify: bool = True) -> dict[str, ClipReader]:
    """One reader per source file (of the sources in ``only``, if given); every file is checked
    before any encoding starts.

    ``proxies`` maps a plan's source path to the :class:`~musync.render.proxies.Proxy` to
    decode instead of the file (the file itself must still exist). With ``verify`` the readers
    of original files check their seeks against the scan's frame prints and raise
    :class:`~musync.render.seekcheck.SeekMismatch`; only a caller that can start such a file
    again from its beginning (the renderer) should ask for it.
    """
    readers: dict[str, ClipReader] = {}
    proxies = proxies or {}
    try:
        for src, shots in shots_by_source(plan).items():
            if only is not None and src not in only:
                continue
            path = resolve_media(src, base)
            r = ClipReader(path, plan.clip(src), fps, interpolation, pool, draft_size,
                           proxy=proxies.get(src))
            readers[src] = r
            if r.proxy is None:
                from .seekcheck import prints_for, seek_unsafe

                r.seekable = not seek_unsafe(path)
                r.prints = prints_for(path) if (r.seekable and verify) else None
            try:
                r.probe()
            except MediaError as exc:
                raise MediaError(path, f"needed by {needed_by(shots)}: {exc.problem}") from None
    except BaseException:
        for r in readers.values():
            r.close()
        raise
    return readers
