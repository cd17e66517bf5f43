"""Proxies: small, fast-to-decode copies of the source clips, made once, for drafts and review.

A proxy is an H.264 MP4 in the cache (``<cache>/proxies``) keyed by the sha256 of its source's
bytes: at most :data:`PROXY_MAX_SIDE` pixels on the long side, upright (the display matrix
applied), square pixels, ``yuv420p``, a keyframe every :data:`PROXY_GOP` frames and no B-frames
(x264 ``veryfast``, ``fastdecode``, CRF 20), no audio. Drafts decode it several times faster than a
1080p original.

What "frame k" means
--------------------
Proxy frame ``k`` is frame ``k`` of the source as the renderer's readers see it (decoded from
the start of the file), stamped with the same time after the first frame, exactly (the same
time base), so the frame rule of :mod:`musync.render` picks the same picture from the proxy as
from the original for a plan at any rate:

- variable frame rate: every frame keeps its own time, gaps included;
- a start-time offset drops out: times count from the first decodable frame, in the proxy as in
  the renderer;
- rotated or anamorphic sources become upright square pixels; the proxy records the source's
  display size and rotation, so a draft frames it exactly as the final frames the original;
- odd sizes become even (the encoder needs 4:2:0);
- a frame the renderer would never show (its timestamp goes backwards, or repeats that of the
  next frame) is left out, as the reader leaves it out.

Every proxy is checked after it is written: its frame count and every packet's time must equal
the source's, or it is discarded and the draft reads the original. A proxy is found again only
for the same bytes (the hash is remembered per file and recomputed whenever the file's size,
times or inode, or its first and last 64 KiB, change), so an edited source is never shown from
a stale proxy. Writing is safe: a temporary name in the cache folder, renamed when complete and
checked; an exception, Ctrl-C or SIGTERM removes it, and nothing runs outside this process.

Public names:

- :func:`build_proxies` -- find or make the proxies of some files (in parallel, with progress).
- :func:`proxy_for` -- the proxy of a file's current content, if it has been made.
- :class:`Proxy`, :class:`ProxyReport`, :data:`PROXY_MAX_SIDE`, :data:`PROXY_GOP`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from .. import cache
from .._fs import atomic_output
from ..errors import MediaError, MusyncError, ParameterError, RenderError
from ..geometry import even
from ..media import check_input_file, file_sha256
from ..progress import make_progress
from .encoder import sigterm_as_interrupt
from .framing import frame_planes, turn
from .readers import STILL_SUFFIXES, decode_video, picture_shape, stamp

__all__ = ["build_proxies", "proxy_for", "Proxy", "ProxyReport", "PROXY_MAX_SIDE", "PROXY_GOP"]

#: Longest side of a proxy, in pixels.
PROXY_MAX_SIDE = 640
#: Frames from one keyframe to the next in a proxy (a seek decodes at most this many).
PROXY_GOP = 12
_CRF = 20
_PRESET = "veryfast"       # with fastdecode: as fast to decode as ultrafast, half the size
_KIND = "proxies"
_SOURCES = "proxy-sources"
_ALGORITHM = 1           # bump when the proxy format changes: every proxy is rebuilt
_PROBE_BYTES = 1 << 16


@dataclass(frozen=True)
class Proxy:
    """A proxy file and what it stands for.

    Attributes
    ----------
    path : Path             the proxy (an MP4 in the cache)
    source : Path           the source it was made from
    sha256 : str            content hash of the source
    size : (int, int)       the proxy's picture size (upright)
    display : (int, int)    the source's display size (upright, square pixels)
    rotation : int          degrees clockwise the source is turned for display (done in the proxy)
    frames : int            frames in the proxy (the source's, as the renderer reads them)
    damaged : int           packets of the source that did not decode (skipped, as in a render)
    dropped : int           source frames no render shows (timestamps backwards or repeated)
    """

    path: Path
    source: Path
    sha256: str
    size: tuple[int, int]
    display: tuple[int, int]
    rotation: int
    frames: int
    damaged: int = 0
    dropped: int = 0

    def to_dict(self) -> dict:
        return {"file": self.path.name, "sha256": self.sha256, "size": list(self.size),
                "display": list(self.display), "rotation": self.rotation, "frames": self.frames,
                "damaged": self.damaged, "dropped": self.dropped,
                "bytes": self.path.stat().st_size}


@dataclass
class ProxyReport:
    """What :func:`build_proxies` found or made.

    Attributes
    ----------
    proxies : dict        source path (str, as given) -> :class:`Proxy`
    built : list          the sources whose proxy was made by this call
    failed : dict         source path -> the :class:`~musync.errors.MusyncError` that stopped it
    skipped : list        stills (no proxy is needed: a still is decoded once)
    seconds : float       wall time of the call
    frames_built : int    frames written to new proxies
    """

    proxies: dict = field(default_factory=dict)
    built: list = field(default_factory=list)
    failed: dict = field(default_factory=dict)
    skipped: list = field(default_factory=list)
    seconds: float = 0.0
    frames_built: int = 0


# -- finding -----------------------------------------------------------------------------------

def _params() -> dict:
    return {"side": PROXY_MAX_SIDE, "gop": PROXY_GOP, "crf": _CRF, "preset": _PRESET,
            "algorithm": _ALGORITHM}


def _stat_key(p: Path) -> str:
    """A key that changes whenever the file may have changed: its identity, size, times, and
    its first and last 64 KiB."""
    st = p.stat()
    h = hashlib.sha256()
    with open(p, "rb") as fh:
        h.update(fh.read(_PROBE_BYTES))
        if st.st_size > _PROBE_BYTES:
            fh.seek(max(_PROBE_BYTES, st.st_size - _PROBE_BYTES))
            h.update(fh.read(_PROBE_BYTES))
    ident = (f"{p.resolve()}|{st.st_dev}|{st.st_ino}|{st.st_size}|{st.st_mtime_ns}|"
             f"{st.st_ctime_ns}|{h.hexdigest()}")
    return cache.make_key(_SOURCES, ident, {})


def source_hash(path, *, compute: bool = True) -> str | None:
    """sha256 of the file's bytes, remembered per file state (None if unknown and not
    ``compute``)."""
    p = check_input_file(path)
    key = _stat_key(p)
    memo = cache.get_json(_SOURCES, key)
    if memo and isinstance(memo.get("sha256"), str):
        return memo["sha256"]
    if not compute:
        return None
    sha = file_sha256(p)
    cache.put_json(_SOURCES, key, {"sha256": sha})
    return sha


def _proxy_key(sha: str) -> str:
    return cache.make_key(_KIND, sha, _params())


def _load(source: Path, sha: str) -> Proxy | None:
    key = _proxy_key(sha)
    meta = cache.get_json(_KIND, key)
    if not meta:
        return None
    p = cache.entry_path(_KIND, key, ".mp4")
    try:
        ok = (meta.get("sha256") == sha and p.is_file() and p.stat().st_size == meta["bytes"]
              and meta["frames"] > 0)
        if not ok:
            return None
        return Proxy(p, source, sha, tuple(meta["size"]), tuple(meta["display"]),
                     int(meta["rotation"]), int(meta["frames"]), int(meta.get("damaged", 0)),
                     int(meta.get("dropped", 0)))
    except (OSError, KeyError, TypeError, ValueError):
        return None


def proxy_for(path, *, compute_hash: bool = True) -> Proxy | None:
    """The proxy of ``path``'s current content, if one has been made (else None).

    Parameters
    ----------
    path : path
        A source clip.
    compute_hash : bool
        With False, a file whose hash is not remembered for its current state is not read
        through (None is returned at once): for callers that must stay fast.

    Raises
    ------
    MediaError
        ``path`` is missing or unreadable.
    """
    p = Path(path)
    sha = source_hash(p, compute=compute_hash)
    return None if sha is None else _load(p, sha)


# -- making ------------------------------------------------------------------------------------

class _Stopped(Exception):
    """Raised inside a build when the call is being abandoned."""


def proxy_size(display: tuple[int, int]) -> tuple[int, int]:
    """The proxy picture size for a source of ``display`` size (even, long side at most
    :data:`PROXY_MAX_SIDE`)."""
    dw, dh = display
    k = min(1.0, PROXY_MAX_SIDE / max(dw, dh))
    if dw >= dh:        # the long side first, then the short side from the aspect
        w = even(dw * k)
        return w, even(w * dh / dw)
    h = even(dh * k)
    return even(h * dw / dh), h


def _estimate_frames(p: Path) -> int:
    """Frames the source claims to have (from its header; 0 when unknown)."""
    import av

    try:
        with av.open(str(p)) as c:
            s = c.streams.video[0]
            if s.frames:
                return int(s.frames)
            dur = (float(s.duration * s.time_base) if s.duration is not None and s.time_base
                   else (c.duration or 0) / 1e6)
            rate = float(s.average_rate or s.guessed_rate or 30)
            return max(0, int(dur * rate))
    except Exception:
        return 0


class _Writer:
    """The proxy being written: an MP4 with one H.264 stream in the source's time base."""

    def __init__(self, path: Path, size: tuple[int, int], rate, time_base: Fraction):
        import av

        self.size = size
        self.time_base = time_base
        self.container = av.open(str(path), "w", format="mp4")
        s = self.container.add_stream("libx264", rate=rate)
        s.width, s.height = size
        s.pix_fmt = "yuv420p"
        s.codec_context.time_base = time_base
        s.time_base = time_base
        s.options = {"preset": _PRESET, "tune": "fastdecode", "crf": str(_CRF),
                     "x264-params": f"keyint={PROXY_GOP}:min-keyint={PROXY_GOP}:scenecut=0:"
                                    "bframes=0"}
        self.stream = s
        self.pts: list[int] = []

    def write(self, frame, pts: int) -> None:
        frame.pts = pts
        frame.time_base = self.time_base
        for packet in self.stream.encode(frame):
            self.container.mux(packet)
        self.pts.append(pts)

    def finish(self) -> None:
        for packet in self.stream.encode(None):
            self.container.mux(packet)
        self.container.close()
        self.container = None

    def close(self) -> None:
        if self.container is not None:
            with contextlib.suppress(Exception):
                self.container.close()
            self.container = None


def _picture(fr, scaled, turns, size, reformatter):
    """The proxy picture of a decoded frame: scaled (storage orientation), then turned upright."""
    import av
    from av.video.reformatter import Interpolation

    f = fr.frame
    sw, sh = scaled
    if f.width == sw and f.height == sh and f.format.name == "yuv420p":
        small = f
    else:
        small = reformatter.reformat(f, width=sw, height=sh, format="yuv420p",
                                     interpolation=Interpolation.AREA, dst_color_range=1)
    if not turns:
        return small
    out = av.VideoFrame(size[0], size[1], "yuv420p")
    for dst_plane, src in zip(out.planes, turn(frame_planes(small), turns)):
        rows, cols = src.shape
        dst = np.frombuffer(dst_plane, np.uint8).reshape(dst_plane.height, dst_plane.line_size)
        dst[:rows, :cols] = src
    return out


def _transcode(src: Path, tmp: Path, stop: threading.Event, tick) -> dict:
    """Write the proxy of ``src`` to ``tmp``; return what it records."""
    import av
    from av.video.reformatter import VideoReformatter

    try:
        container = av.open(str(src))
    except Exception as exc:
        raise MediaError(src, f"cannot be opened ({type(exc).__name__}: {exc}); restore the "
                         "file or re-plan without it") from None
    writer = None
    try:
        if not container.streams.video:
            raise MediaError(src, "has no video stream")
        stream = container.streams.video[0]
        cc = stream.codec_context
        cc.thread_type = "AUTO"
        if cc.name in ("h264", "hevc") and max(cc.width or 0, cc.height or 0) >= 1.5 * PROXY_MAX_SIDE:
            # as in drafts: skipping the deblocking filter saves about a fifth of the decoding
            # and cannot be seen once the picture is scaled down this far
            cc.options = {"skip_loop_filter": "all"}
        damaged = [0]
        frames = decode_video(container, stream, lambda: damaged.__setitem__(0, damaged[0] + 1))
        reformatter = VideoReformatter()
        first = pending = None
        n_synth = dropped = 0
        geometry = None

        def emit(fr):
            rel = (fr.t - first.t) / writer.time_base
            if rel.denominator != 1:
                raise RenderError(f"{src.name}: frame times do not fit its time base")
            writer.write(_picture(fr, *geometry, reformatter), int(rel))
            tick()

        for f in frames:
            if stop.is_set():
                raise _Stopped
            if f.pts is None:
                n_synth += 1
            fr = stamp(f, stream, n_synth)
            if first is None:
                first = fr
                display, rotation = picture_shape(f, stream)
                size = proxy_size(display)
                turns = (-(rotation // 90)) % 4
                scaled = (size[1], size[0]) if turns % 2 else size
                geometry = (scaled, turns, size)
                rate = stream.average_rate or stream.guessed_rate or Fraction(30)
                tb = Fraction(stream.time_base) if f.pts is not None else 1 / Fraction(rate)
                writer = _Writer(tmp, size, rate, tb)
            elif fr.t > pending.t:
                emit(pending)
            else:                   # earlier (never shown) or the same time (the later wins)
                dropped += 1
                if fr.t < pending.t:
                    continue
            pending = fr
        if first is None:
            raise MediaError(src, "no video frame can be decoded; the file is damaged or not a "
                             "video; restore it or re-plan without it")
        emit(pending)
        writer.finish()
        return {"size": list(size), "display": list(display), "rotation": rotation,
                "frames": len(writer.pts), "damaged": damaged[0], "dropped": dropped,
                "time_base": f"{tb.numerator}/{tb.denominator}", "pts": writer.pts,
                "rate": str(rate)}
    finally:
        if writer is not None:
            writer.close()
        container.close()


def _verify(src: Path, tmp: Path, info: dict) -> None:
    """The written proxy has exactly the frames and times it should (packets only, no decode)."""
    import av

    tb = Fraction(info["time_base"])
    want = [Fraction(p) * tb for p in info["pts"]]
    with av.open(str(tmp)) as c:
        s = c.streams.video[0]
        got = sorted(Fraction(pk.pts) * pk.time_base for pk in c.demux(s) if pk.pts is not None)
        w, h = s.codec_context.width, s.codec_context.height
    if got != want or [w, h] != info["size"]:
        bad = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
        raise RenderError(f"{src.name}: the proxy does not match its source (frame {bad} of "
                          f"{len(want)})")


def _build_one(src: Path, sha: str, stop: threading.Event, tick) -> Proxy:
    key = _proxy_key(sha)
    target = cache.entry_path(_KIND, key, ".mp4")
    with atomic_output(target, overwrite=True) as tmp:
        info = _transcode(src, tmp, stop, tick)
        _verify(src, tmp, info)
    proxy = Proxy(target, src, sha, tuple(info["size"]), tuple(info["display"]),
                  int(info["rotation"]), int(info["frames"]), int(info["damaged"]),
                  int(info["dropped"]))
    meta = proxy.to_dict()
    meta.update(time_base=info["time_base"], rate=info["rate"], source=str(src))
    cache.put_json(_KIND, key, meta)
    return proxy


def _workers(n_jobs: int, workers: int | None) -> int:
    if workers is None:
        workers = 2 if (os.cpu_count() or 1) > 1 else 1
    return max(1, min(int(workers), n_jobs))


def build_proxies(paths, *, progress=None, workers: int | None = None,
                  errors: str = "collect") -> ProxyReport:
    """Find or make the proxy of every file in ``paths``.

    Parameters
    ----------
    paths : iterable of path
        Source clips. Stills are skipped (they need none); a file whose proxy exists for its
        current content is not read again beyond its first and last 64 KiB.
    progress : None, str or callable
        As for :func:`musync.render` (stage ``"proxies"``, unit ``frames``; the total is what
        the files' headers claim).
    workers : int, optional
        Proxies made at once (default 2 on a machine with more than one core; each also
        decodes and encodes on several threads).
    errors : {"collect", "raise"}
        ``collect``: a file that cannot be made into a proxy is listed in ``failed``.
        ``raise``: the first :class:`~musync.errors.MediaError` stops the call (the proxies in
        progress are abandoned and removed) and is raised; other failures are still collected.

    Returns
    -------
    ProxyReport

    Examples
    --------
    >>> from musync.render import build_proxies                       # doctest: +SKIP
    >>> rep = build_proxies(["clips/a.mp4", "clips/b.mov"], progress="bar")  # doctest: +SKIP
    >>> rep.proxies["clips/a.mp4"].size                                # doctest: +SKIP
    (640, 360)
    """
    if errors not in ("collect", "raise"):
        raise ParameterError(f"errors must be 'collect' or 'raise', not {errors!r}")
    with sigterm_as_interrupt():
        return _find_or_build(paths, progress, workers, errors)


def _find_or_build(paths, progress, workers, errors) -> ProxyReport:
    t0 = time.perf_counter()
    report = ProxyReport()
    jobs: list[tuple[str, Path, str]] = []
    copies: dict[str, list[tuple[str, Path]]] = {}       # the same bytes under other names
    seen: set[str] = set()
    for item in paths:
        name = str(item)
        if name in seen:
            continue
        seen.add(name)
        p = Path(item)
        if p.suffix.lower() in STILL_SUFFIXES:
            report.skipped.append(name)
            continue
        try:
            sha = source_hash(p)
        except MediaError as exc:
            if errors == "raise":
                raise
            report.failed[name] = exc
            continue
        found = _load(p, sha)
        if found is not None:
            report.proxies[name] = found
        elif sha in copies:
            copies[sha].append((name, p))
        else:
            copies[sha] = []
            jobs.append((name, p, sha))
    if jobs:
        _run(jobs, report, progress, _workers(len(jobs), workers), errors)
    for (name, _, sha) in jobs:
        for other, p in copies[sha]:
            if name in report.proxies:
                report.proxies[other] = dataclasses.replace(report.proxies[name], source=p)
            elif name in report.failed:
                report.failed[other] = report.failed[name]
    report.seconds = time.perf_counter() - t0
    return report


def _run(jobs, report: ProxyReport, progress, n_workers: int, errors: str) -> None:
    """Build ``jobs`` on ``n_workers`` threads; progress and errors are handled on this thread."""
    estimates = {name: _estimate_frames(p) for name, p, _ in jobs}
    stop = threading.Event()
    ticks: queue.SimpleQueue = queue.SimpleQueue()
    with make_progress(progress, "proxies", sum(estimates.values()), unit="frames") as prog:
        ex = ThreadPoolExecutor(n_workers, thread_name_prefix="musync-proxy")
        futures = {}
        try:
            for name, p, sha in jobs:
                futures[ex.submit(_build_one, p, sha, stop, lambda n=name: ticks.put(n))] = (name, p)
            pending = set(futures)
            counted = dict.fromkeys(estimates, 0)
            while pending:
                time.sleep(0.05)
                _drain(ticks, counted, prog)
                for fut in [f for f in pending if f.done()]:
                    pending.discard(fut)
                    name, p = futures[fut]
                    exc = fut.exception()
                    if exc is None:
                        proxy = fut.result()
                        report.proxies[name] = proxy
                        report.built.append(name)
                        report.frames_built += proxy.frames
                    elif isinstance(exc, MediaError) and errors == "raise":
                        raise exc
                    elif isinstance(exc, MusyncError):
                        report.failed[name] = exc
                    elif isinstance(exc, Exception):
                        report.failed[name] = RenderError(
                            f"{p.name}: no proxy could be made ({type(exc).__name__}: {exc})")
                    else:
                        raise exc
                    _drain(ticks, counted, prog)
                    rest = estimates[name] - counted[name]
                    if rest > 0:            # the header claimed more frames than there were
                        counted[name] += rest
                        prog.advance(rest, item=Path(name).name, status="done")
        finally:
            stop.set()          # abandons the builds still running (their files are removed)
            ex.shutdown(wait=True, cancel_futures=True)


def _drain(ticks, counted: dict, prog) -> None:
    """Report the frames the builders finished since the last call."""
    n = 0
    name = None
    while True:
        try:
            name = ticks.get_nowait()
        except queue.Empty:
            break
        counted[name] = counted.get(name, 0) + 1
        n += 1
    if n:
        prog.advance(n, item=Path(name).name)
