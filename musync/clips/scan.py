"""Probe, validate and measure clips: files and folders in, :class:`~musync.types.ClipInfo` out.

Each file is opened once with PyAV: the container and stream headers give codec, pixel format,
audio, rotation (display matrix) and pixel aspect ratio; one decode with decoder threads on
counts the frames that really decode and hands frames scaled by swscale (at twice the analysis
size, then 2x2-averaged) to :mod:`musync.clips.features`. All frames are decoded (inter-coded
video needs them, and counting them is how a truncated file shows), but only frames at the
analysis rate are scaled and measured.

Public functions:

- :func:`scan_clips` -- scan files and folders in parallel, with cache and progress; a
  :class:`~musync.types.ScanResult` (a list of ClipInfo with ``.skipped``).
- :func:`scan_clip` -- probe and measure one file; raises :class:`MediaError` with the reason
  it cannot be used.
- :func:`collect_files` -- expand folders into the media files they hold.
- :func:`save_clips` / :func:`load_clips` -- the clip-library JSON file.
- :func:`decode_floor` -- the same decode with no measuring (the benchmarks' speed floor).
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import signal
import threading
import traceback
from fractions import Fraction
from pathlib import Path

import numpy as np

from .. import cache
from ..errors import MediaError, MusyncError, ParameterError
from ..media import frame_rotation_cw as _rotation_cw
from ..progress import make_progress
from ..types import (ClipInfo, ClipRegion, ContentFlag, Fingerprint, FramePrints, HeroRange,
                     ScanResult, SkippedClip, SubShot)
from .features import FrameAccumulator, measure
from .fingerprint import find_duplicates
from .picture import see
from .quality import plane_probe

__all__ = ["scan_clips", "scan_clip", "cached_clip", "collect_files", "save_clips", "load_clips", "decode_floor",
           "VIDEO_EXTENSIONS", "IMAGE_EXTENSIONS"]

#: File extensions a folder scan picks up as video (lower case, with the dot).
VIDEO_EXTENSIONS = frozenset({".mp4", ".m4v", ".mov", ".qt", ".mkv", ".webm", ".avi", ".mpg",
                              ".mpeg", ".mts", ".m2ts", ".ts", ".wmv", ".flv", ".3gp", ".ogv",
                              ".mxf", ".gif", ".dv", ".y4m"})
#: ... and as still images.
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"})

_ALGORITHM = 4            # bump when measurements change, to invalidate cached records
_MAX_DECODE_ERRORS = 50   # damaged packets tolerated before decoding stops
_PROBE_EVERY = 2          # full-resolution quality probe on every 2nd per-second print frame
_CONVERT_HINT = "convert it, e.g. `ffmpeg -i IN -c:v libx264 -pix_fmt yuv420p OUT.mp4`"


# --------------------------------------------------------------------------------------------
# files


def _as_list(paths) -> list:
    if isinstance(paths, (str, os.PathLike)):
        return [paths]
    return list(paths)


def _is_hidden(p: Path) -> bool:
    return p.name.startswith(".")


def collect_files(paths, *, recursive: bool = False) -> tuple[list[Path], list[SkippedClip]]:
    """Expand ``paths`` (files and folders) into the files to scan.

    Folders contribute their video and image files (see :data:`VIDEO_EXTENSIONS`,
    :data:`IMAGE_EXTENSIONS`) in sorted name order, sub-folders too when ``recursive``; hidden
    files and other extensions are ignored quietly. A file named explicitly is always scanned,
    whatever its extension. Duplicates are dropped (first occurrence wins).

    Returns
    -------
    files : list of Path (absolute)
    missing : list of SkippedClip for paths that do not exist
    """
    files: list[Path] = []
    missing: list[SkippedClip] = []
    seen: set[str] = set()

    def add(p: Path) -> None:
        key = os.path.normcase(str(p))
        if key not in seen:
            seen.add(key)
            files.append(p)

    for raw in _as_list(paths):
        p = Path(os.path.abspath(os.fspath(raw)))
        if p.is_dir():
            walker = sorted(p.rglob("*")) if recursive else sorted(p.iterdir())
            for f in walker:
                rel = f.relative_to(p)
                if any(part.startswith(".") for part in rel.parts):
                    continue
                if f.is_file() and f.suffix.lower() in VIDEO_EXTENSIONS | IMAGE_EXTENSIONS:
                    add(f)
        elif p.exists():
            add(p)
        else:
            missing.append(SkippedClip(str(p), "file not found; check the path"))
    return files, missing


def _precheck(p: Path) -> str | None:
    """A reason the file cannot even be opened (not cached), or None."""
    try:
        st = p.stat()
    except FileNotFoundError:
        return "file not found; check the path"
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if not p.is_file():
        return "is not a regular file"
    if not os.access(p, os.R_OK):
        return "cannot be read (permission denied); check its permissions"
    if st.st_size == 0:
        return "file is empty (0 bytes); re-export or re-download it"
    return None


# --------------------------------------------------------------------------------------------
# one clip


def _params(size: int, rate: float, edge: float, edge_trim: float, min_usable: float) -> dict:
    return {"size": int(size), "rate": float(rate), "edge": float(edge),
            "edge_trim": float(edge_trim), "min_usable": float(min_usable),
            "algorithm": _ALGORITHM}


def _check_params(size, rate, edge, edge_trim, min_usable) -> None:
    if not (16 <= int(size) <= 1024):
        raise ParameterError(f"size must be 16..1024 pixels (the analysis frames' long side); "
                             f"got {size}")
    if not (0 < float(rate) <= 240):
        raise ParameterError(f"rate must be in (0, 240] frames per second; got {rate}")
    for name, v in (("edge", edge), ("edge_trim", edge_trim), ("min_usable", min_usable)):
        if not (0 <= float(v) < 3600):
            raise ParameterError(f"{name} must be a non-negative number of seconds; got {v}")


def _analysis_size(w: int, h: int, size: int) -> tuple[int, int]:
    """(width, height) of the pooled analysis frames: long side ``size``, aspect kept."""
    if w >= h:
        aw, ah = size, max(4, int(round(size * h / max(w, 1))))
    else:
        aw, ah = max(4, int(round(size * w / max(h, 1)))), size
    return aw, ah


def _video_stream(container, p: Path):
    import av

    streams = [s for s in container.streams.video
               if not (s.disposition & av.stream.Disposition.attached_pic)]
    if not streams:
        if container.streams.audio:
            raise MediaError(p, "has no video stream (audio only); use it as the song, not as a clip")
        raise MediaError(p, "has no video stream; not a video or image file")
    s = streams[0]
    if s.codec_context is None:
        raise MediaError(p, f"uses a video codec this build cannot decode; {_CONVERT_HINT}")
    return s


def _open(p: Path):
    import av

    try:
        return av.open(str(p), mode="r", metadata_errors="ignore")
    except av.error.FFmpegError as exc:
        what = getattr(exc, "strerror", None) or type(exc).__name__
        raise MediaError(p, f"cannot be opened as video or image ({what}): not a media file, or "
                         "incomplete or damaged; re-export or re-download it") from None
    except OSError as exc:
        raise MediaError(p, f"cannot be read ({exc.strerror or exc})") from None


def _iter_frames(container, stream, state: dict):
    """Decoded frames of ``stream``; damaged packets are counted in ``state`` and skipped."""
    import av

    demux = container.demux(stream)
    while True:
        try:
            packet = next(demux)
        except StopIteration:
            return
        except av.error.FFmpegError as exc:
            state["errors"] += 1
            state["last_error"] = getattr(exc, "strerror", None) or type(exc).__name__
            break                                   # the container is unreadable from here
        try:
            yield from packet.decode()
        except av.error.FFmpegError as exc:
            state["errors"] += 1
            state["last_error"] = getattr(exc, "strerror", None) or type(exc).__name__
            if state["errors"] > _MAX_DECODE_ERRORS:
                return
    try:                                            # drain the decoder after a demux error
        yield from stream.codec_context.decode(None)
    except av.error.FFmpegError:
        pass


def _fps_of(stream, times: np.ndarray, vfr: bool):
    """Frame rate as a Fraction: the nominal rate for constant rate, the mean rate for VFR."""
    measured = None
    if times.size > 1 and times[-1] > times[0]:
        measured = (times.size - 1) / float(times[-1] - times[0])
    candidates = [r for r in (stream.guessed_rate, stream.average_rate) if r]
    if not vfr:
        for r in candidates:
            if measured is None or abs(float(r) - measured) <= 0.01 * measured:
                return Fraction(r)
    avg = stream.average_rate
    if vfr and avg and measured and abs(float(avg) - measured) <= 0.01 * measured:
        return Fraction(stream.average_rate)
    if measured:
        return Fraction(measured).limit_denominator(1001)
    return Fraction(candidates[0]) if candidates else None


def _claimed_duration(container, stream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1e6
    return None


def _luma_plane(frame) -> np.ndarray:
    """The decoded frame's luma plane at full resolution, 0-255 (a view where possible)."""
    fmt = frame.format
    name = fmt.name
    if name.startswith(("yuv", "nv1", "nv2", "gray", "p01")) and fmt.components:
        plane = frame.planes[0]
        bits = fmt.components[0].bits
        if bits <= 8:
            a = np.frombuffer(plane, dtype=np.uint8)
            return a.reshape(plane.height, plane.line_size)[:, :plane.width]
        a = np.frombuffer(plane, dtype="<u2" if name.endswith("le") or "le" not in name else ">u2")
        a = a.reshape(plane.height, plane.line_size // 2)[:, :plane.width]
        return a.astype(np.float32) * (255.0 / ((1 << bits) - 1))
    return frame.reformat(format="gray").to_ndarray()


def scan_clip(path, *, size: int = 96, rate: float = 30.0, threads: int = 0, edge: float = 0.5,
              edge_trim: float = 0.0, min_usable: float = 0.25) -> ClipInfo:
    """Probe and measure one video or image file.

    Parameters
    ----------
    path : str or Path
    size : int
        Long side of the analysis frames in pixels (the decoder scales to twice this and the
        frames are 2x2-averaged).
    rate : float
        Analysis frames per second at most; faster footage is measured at every k-th frame.
    threads : int
        Decoder threads (0: one per core).
    edge : float
        Seconds at each end searched for the unstable frames of generated clips.
    edge_trim : float
        Seconds always trimmed from both ends of the usable window.
    min_usable : float
        Shortest usable window, in seconds, for the clip to count.

    Returns
    -------
    ClipInfo

    Raises
    ------
    MediaError
        When the file cannot be used; ``problem`` says why and what to do.
    """
    _check_params(size, rate, edge, edge_trim, min_usable)
    p = Path(os.path.abspath(os.fspath(path)))
    reason = _precheck(p)
    if reason:
        raise MediaError(p, reason)
    return _scan(p, _params(size, rate, edge, edge_trim, min_usable), threads)


def _scan(p: Path, params: dict, threads: int) -> ClipInfo:
    from av.video.reformatter import Interpolation, VideoReformatter

    size, rate = params["size"], params["rate"]
    is_image_ext = p.suffix.lower() in IMAGE_EXTENSIONS
    file_size = p.stat().st_size
    warnings: list[str] = []
    with _open(p) as container:
        stream = _video_stream(container, p)
        has_audio = bool(container.streams.audio)
        cc = stream.codec_context
        cc.thread_type = "AUTO"
        cc.thread_count = int(threads)
        w, h = int(cc.width or 0), int(cc.height or 0)
        reformatter = VideoReformatter()
        acc = None
        probes: list[np.ndarray] = []
        print_frames: list[int] = []
        state = {"errors": 0, "last_error": ""}
        times: list[float] = []
        first = None
        last_dur = None
        kept_t = -math.inf
        step = 0.9 / rate
        tb = stream.time_base
        for frame in _iter_frames(container, stream, state):
            t = frame.time
            if t is None:
                t = (times[-1] + 1.0 / rate) if times else 0.0
            if times and t <= times[-1]:
                t = times[-1] + 1e-6                  # keep time strictly increasing
            times.append(t)
            if frame.duration and frame.time_base:
                last_dur = float(frame.duration * frame.time_base)
            if first is None:
                first = frame
                w, h = frame.width, frame.height
                aw, ah = _analysis_size(w, h, size)
                acc = FrameAccumulator(2 * ah, 2 * aw)
            if t - kept_t >= step:
                kept_t = t
                small = reformatter.reformat(frame, width=2 * aw, height=2 * ah, format="rgb24",
                                             interpolation=Interpolation.FAST_BILINEAR, threads=1)
                if acc.add(small.to_ndarray(), t) & 4:       # a per-second print frame
                    if len(print_frames) % _PROBE_EVERY == 0:
                        probes.append(np.append(plane_probe(_luma_plane(frame)), t))
                    print_frames.append(len(times) - 1)
        if first is None:
            extra = f" ({state['last_error']})" if state["last_error"] else ""
            raise MediaError(p, f"no video frame could be decoded{extra}: the file is damaged or "
                             "truncated; re-export or re-download it")
        if state["errors"]:
            warnings.append(f"{state['errors']} damaged packet(s) skipped while decoding "
                            f"({state['last_error']})")
        rotation = _rotation_cw(first)
        sar = stream.sample_aspect_ratio or cc.sample_aspect_ratio
        disp_w = int(round(w * float(sar))) if sar and float(sar) > 0 else w
        size_disp = (h, disp_w) if rotation in (90, 270) else (disp_w, h)
        pix_fmt = cc.pix_fmt or first.format.name
        codec = cc.name
        claimed = _claimed_duration(container, stream)
        t_all = np.asarray(times, dtype=np.float64)
        start_time = float(t_all[0])
        t_all -= start_time
        n = int(t_all.size)
        single = n == 1
        if single and not is_image_ext:
            raise MediaError(p, "has only 1 video frame; save it as an image (PNG or JPEG) to use "
                             "it as a still")
        # timing
        vfr = False
        if n > 2:
            dts = np.diff(t_all)
            med = float(np.median(dts))
            tick = float(tb) if tb else 0.0
            vfr = bool(dts.max() - dts.min() > max(0.1 * med, 2.5 * tick))
        fps = None if single else _fps_of(stream, t_all, vfr)
        if single:
            frame_dt = 1.0 / 30.0
        elif not vfr and fps:
            frame_dt = 1.0 / float(fps)
        else:
            frame_dt = last_dur or float(np.median(np.diff(t_all)))
        duration = float(t_all[-1] + frame_dt) if n else 0.0
        if claimed and not single and duration < claimed - max(2.5 * frame_dt, 0.05 * claimed):
            warnings.append(f"only {duration:.2f} s of the {claimed:.2f} s the file claims decode "
                            "(truncated or damaged?)")
    # measuring (the container is closed)
    sig = acc.finish(end=duration)
    sig.times -= start_time
    eff_rate = min(rate, float(fps)) if fps else rate
    m = measure(sig, rate=eff_rate, edge=params["edge"], edge_trim=params["edge_trim"])
    if m.black_throughout:
        raise MediaError(p, "is black throughout")
    warnings.extend(m.warnings)
    subs = m.subshots if not single else [(0.0, math.inf)]
    for q in probes:
        q[4] -= start_time                              # probe times from the first frame
    seen = see(sig, np.asarray(probes).reshape(-1, 5), print_frames, motion=m.motion_curve, rate=eff_rate,
               usable=(m.usable_in, m.usable_out) if not single else (0.0, math.inf),
               subshots=subs, display_size=size_disp, rotation=rotation, still=single)
    common = dict(path=str(p), frame_count=n, fps=fps, vfr=vfr, size=size_disp,
                  rotation=rotation, pix_fmt=str(pix_fmt), codec=str(codec), has_audio=has_audio,
                  start_time=start_time, brightness=m.brightness, contrast=m.contrast,
                  saturation=m.saturation, palette=m.palette, coded_size=(w, h),
                  file_size=file_size, params=dict(params),
                  flags=tuple(ContentFlag(*f) for f in seen.flags), picture=seen.picture,
                  quality=seen.quality, heroes=tuple(HeroRange(*h) for h in seen.heroes),
                  roi_times=seen.roi_times, roi=seen.roi, prints=FramePrints(*seen.prints),
                  fingerprint=Fingerprint(*seen.fingerprint))
    sq = seen.sub_quality
    if single:
        q, i = sq[0] if sq else (None, None)
        return ClipInfo(duration=math.inf, is_still=True, usable_in=0.0, usable_out=math.inf,
                        motion=0.0, warnings=tuple(warnings),
                        subshots=(SubShot(0.0, math.inf, m.brightness, 0.0, m.palette, q, i),),
                        **common)
    usable = m.usable_out - m.usable_in
    if usable < params["min_usable"] or usable <= 0:
        raise MediaError(p, f"has no usable footage after trimming black, fades and frozen or "
                         f"unstable frames ({max(usable, 0.0):.2f} s left of {duration:.2f} s)")
    if m.brightness < 0.06:
        warnings.append(f"very dark (mean luma {m.brightness:.2f})")
    return ClipInfo(
        duration=duration, is_still=False, usable_in=m.usable_in, usable_out=m.usable_out,
        motion=m.motion, motion_times=m.motion_times, motion_curve=m.motion_curve,
        peak_times=m.peak_times, peak_strengths=m.peak_strengths, cuts=m.cuts,
        subshots=tuple(SubShot(*s, *(sq[k] if k < len(sq) else (None, None)))
                       for k, s in enumerate(m.subshots)),
        regions=tuple(ClipRegion(*r) for r in m.regions), warnings=tuple(warnings), **common)


def decode_floor(path, *, size: int = 96, rate: float = 30.0, threads: int = 0) -> int:
    """Decode ``path`` and scale frames exactly as :func:`scan_clip` does, measuring nothing.

    The speed floor the scanner is benchmarked against. Returns the number of frames decoded.
    """
    from av.video.reformatter import Interpolation, VideoReformatter

    p = Path(path)
    with _open(p) as container:
        stream = _video_stream(container, p)
        stream.codec_context.thread_type = "AUTO"
        stream.codec_context.thread_count = int(threads)
        reformatter = VideoReformatter()
        n, kept_t, step = 0, -math.inf, 0.9 / rate
        aw = ah = 0
        for frame in container.decode(stream):
            if n == 0:
                aw, ah = _analysis_size(frame.width, frame.height, size)
            n += 1
            t = frame.time if frame.time is not None else n / rate
            if t - kept_t >= step:
                kept_t = t
                reformatter.reformat(frame, width=2 * aw, height=2 * ah, format="rgb24",
                                     interpolation=Interpolation.FAST_BILINEAR, threads=1).to_ndarray()
    return n


# --------------------------------------------------------------------------------------------
# many clips


def _cache_key(p: Path, params: dict) -> str | None:
    try:
        st = p.stat()
    except OSError:
        return None
    return cache.make_key("clips", f"{p}|{st.st_size}|{st.st_mtime_ns}", params)


def cached_clip(path) -> ClipInfo | None:
    """The cached record of ``path`` as :func:`scan_clips` made it with its default options
    (None when it is not in the cache, or the file changed since)."""
    import inspect

    d = {k: v.default for k, v in inspect.signature(scan_clips).parameters.items()}
    key = _cache_key(Path(path), _params(d["size"], d["rate"], d["edge"], d["edge_trim"], d["min_usable"]))
    hit = cache.get_json("clips", key) if key else None
    if not hit or "skipped" in hit:
        return None
    try:
        return ClipInfo.from_dict(hit)
    except (KeyError, TypeError, ValueError, MusyncError):
        return None


def _task(job):
    """Worker: scan one file. Returns (index, kind, payload) with kind ok / skip / error."""
    index, path, params, threads = job
    try:
        clip = _scan(Path(path), params, threads)
        return index, "ok", clip.to_dict()
    except MediaError as exc:
        return index, "skip", exc.problem
    except MusyncError as exc:
        return index, "skip", str(exc)
    except Exception as exc:  # a bug must not end the whole scan
        tb = traceback.format_exc(limit=3).strip().splitlines()[-1]
        return index, "error", f"unexpected {type(exc).__name__} while scanning ({tb}); please report it"


def _worker_init() -> None:
    from .._proc import die_with_parent

    signal.signal(signal.SIGINT, signal.SIG_IGN)     # the parent handles Ctrl-C and ends us
    signal.signal(signal.SIGTERM, signal.SIG_DFL)    # not the parent's handler: just end
    die_with_parent()                                # and end with the parent, even on SIGKILL


def _cpu_count() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _pool_context():
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def _stop_executor(ex, *, kill: bool) -> None:
    """Shut a process pool down; with ``kill``, end its workers now (Ctrl-C, errors)."""
    if not kill:
        ex.shutdown(wait=True)
        return
    terminate = getattr(ex, "terminate_workers", None)          # Python 3.14+
    if terminate is not None:
        terminate()
        return
    procs = list((getattr(ex, "_processes", None) or {}).values())
    ex.shutdown(wait=False, cancel_futures=True)
    for proc in procs:
        if proc.is_alive():
            proc.terminate()
    for proc in procs:
        proc.join(timeout=5)


def _run_parallel(task_args: list, n_workers: int, record) -> None:
    """Run :func:`_task` over ``task_args`` in worker processes, calling ``record`` per result.

    A worker that dies (a decoder crash on a hostile file) breaks the pool; the files not done
    yet are then rescanned one process each, so the culprit is found and skipped.
    """
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    from . import _kernels

    _kernels.warm()                  # compile (or load) once here, not in every forked worker
    pending = {a[0]: a for a in task_args}
    ctx = _pool_context()
    ex = ProcessPoolExecutor(n_workers, mp_context=ctx, initializer=_worker_init)
    kill = True
    try:
        futures = [ex.submit(_task, a) for a in task_args]
        try:
            for fut in as_completed(futures):
                res = fut.result()
                pending.pop(res[0], None)
                record(res)
        except BrokenProcessPool:
            pass
        kill = bool(pending)
    finally:
        _stop_executor(ex, kill=kill)
    for a in list(pending.values()):
        one = ProcessPoolExecutor(1, mp_context=ctx, initializer=_worker_init)
        kill = True
        try:
            try:
                res = one.submit(_task, a).result()
            except BrokenProcessPool:
                res = (a[0], "error", "crashed the decoder (the file is damaged or hostile); "
                       f"{_CONVERT_HINT}")
            kill = False
        finally:
            _stop_executor(one, kill=kill)
        record(res)


def scan_clips(paths, *, progress=None, use_cache: bool = True, workers: int | None = None,
               recursive: bool = False, size: int = 96, rate: float = 30.0, edge: float = 0.5,
               edge_trim: float = 0.0, min_usable: float = 0.25,
               allow_empty: bool = False) -> ScanResult:
    """Probe, validate and measure every clip in ``paths``.

    Parameters
    ----------
    paths : str, Path or iterable of them
        Files and folders (see :func:`collect_files`; folders are not descended unless
        ``recursive``).
    progress : None, str or callable
        Progress reporting (see :func:`musync.progress.make_progress`): ``None`` (silent),
        ``"auto"``, ``"bar"``, ``"plain"``, ``"json"``, ``"none"``, or a callable taking a
        :class:`~musync.progress.ProgressEvent` per file.
    use_cache : bool
        Reuse and store results keyed by (path, size, mtime, parameters).
    workers : int, optional
        Processes scanning in parallel (default: one per core). 1 scans in this process.
    recursive : bool
        Also scan sub-folders.
    size, rate, edge, edge_trim, min_usable
        Measurement options, see :func:`scan_clip`.
    allow_empty : bool
        Return an empty result instead of raising when no clip is usable.

    Returns
    -------
    ScanResult
        The usable clips as a ``list`` of :class:`~musync.types.ClipInfo`, in input order
        (folders sorted by name), with ``.skipped``: a list of
        :class:`~musync.types.SkippedClip` (path and reason) for every file that was not, and
        ``.groups``: the :class:`~musync.types.DuplicateGroup` of clips showing the same shot.

    Raises
    ------
    MediaError
        When no clip is usable (unless ``allow_empty``); its ``skipped`` attribute lists why.
    ParameterError
        For out-of-range options.

    Examples
    --------
    >>> import musync
    >>> clips = musync.scan_clips("clips/", progress="auto")            # doctest: +SKIP
    >>> [(c.name, c.usable_in, c.usable_out, c.motion) for c in clips]  # doctest: +SKIP
    >>> clips.skipped                                                   # doctest: +SKIP
    """
    _check_params(size, rate, edge, edge_trim, min_usable)
    if workers is not None and int(workers) < 1:
        raise ParameterError(f"workers must be at least 1; got {workers}")
    params = _params(size, rate, edge, edge_trim, min_usable)
    inputs = _as_list(paths)
    files, missing = collect_files(inputs, recursive=recursive)
    outcome: dict[int, ClipInfo | SkippedClip] = {}
    jobs = []
    keys: dict[int, str | None] = {}
    for i, f in enumerate(files):
        reason = _precheck(f)
        if reason:
            outcome[i] = SkippedClip(str(f), reason)
            continue
        key = _cache_key(f, params) if use_cache else None
        keys[i] = key
        hit = cache.get_json("clips", key) if key else None
        if hit is not None:
            try:
                outcome[i] = (SkippedClip(str(f), str(hit["skipped"])) if "skipped" in hit
                              else ClipInfo.from_dict(hit))
                continue
            except (KeyError, TypeError, ValueError, MusyncError):
                pass                                   # a stale or damaged entry is a miss
        jobs.append(i)

    n_workers = min(int(workers) if workers else _cpu_count(), max(1, len(jobs)))
    threads = 0 if n_workers <= 1 else max(1, _cpu_count() // n_workers)
    order = sorted(jobs, key=lambda i: -files[i].stat().st_size)   # biggest first: better balance
    task_args = [(i, str(files[i]), params, threads) for i in order]

    with make_progress(progress, "scan", len(files), unit="clips") as prog:
        for i in sorted(outcome):
            prog.advance(item=files[i].name, status="cached" if isinstance(outcome[i], ClipInfo)
                         else "skipped")

        def record(res) -> None:
            i, kind, payload = res
            f = files[i]
            if kind == "ok":
                outcome[i] = ClipInfo.from_dict(payload)
                status = "ok"
            else:
                outcome[i] = SkippedClip(str(f), payload)
                status = "skipped"
            if use_cache and keys.get(i) and kind != "error":
                cache.put_json("clips", keys[i], payload if kind == "ok" else {"skipped": payload})
            prog.advance(item=f.name, status=status)

        if n_workers <= 1 or len(task_args) <= 1:
            for args in task_args:
                record(_task(args))
        else:
            _run_parallel(task_args, n_workers, record)

    clips = [outcome[i] for i in range(len(files)) if isinstance(outcome.get(i), ClipInfo)]
    skipped = missing + [outcome[i] for i in range(len(files))
                         if isinstance(outcome.get(i), SkippedClip)]
    result = ScanResult(clips, skipped, find_duplicates(clips))
    if not clips and not allow_empty:
        where = os.fspath(inputs[0]) if len(inputs) == 1 else "clips"
        if not files and not missing:
            problem = ("no video or image files found (looked for "
                       f"{', '.join(sorted(e[1:] for e in VIDEO_EXTENSIONS | IMAGE_EXTENSIONS))}); "
                       "add clips or pass the files themselves")
        else:
            listed = "; ".join(f"{Path(s.path).name}: {s.reason}" for s in skipped[:5])
            more = f"; and {len(skipped) - 5} more" if len(skipped) > 5 else ""
            problem = (f"no usable clips ({len(skipped)} file(s) skipped: {listed}{more}); "
                       "add video or image files that play")
        err = MediaError(where, problem)
        err.skipped = skipped
        raise err
    return result


# --------------------------------------------------------------------------------------------
# files on disk


def save_clips(result, path, *, overwrite: bool = False) -> Path:
    """Write a :class:`~musync.types.ScanResult` (or a list of ClipInfo) as JSON; return the path."""
    from .._fs import write_text

    if not isinstance(result, ScanResult):
        result = ScanResult(result)
    return write_text(path, json.dumps(result.to_dict(), indent=1) + "\n", overwrite=overwrite)


def load_clips(path) -> ScanResult:
    """Read a clip-library JSON file written by :func:`save_clips` or ``musync scan --json``."""
    from .._fs import read_json

    p = Path(path)
    d = read_json(p, what="clip-library JSON file", how="re-run `musync scan --json`")
    if not isinstance(d, dict):
        raise MediaError(p, "is not a clip-library JSON file; re-run `musync scan --json`")
    return ScanResult.from_dict(d)
