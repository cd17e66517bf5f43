"""moviepy as the composition layer: the plan as a moviepy clip, and an exact writer for any clip.

Public functions:

- :func:`plan_clip` -- the plan as a moviepy ``VideoClip`` whose frame ``n`` is output frame ``n``
  (the same readers and framing as :func:`musync.render`), the song attached.
- :func:`write_clip` -- write any moviepy clip at an exact rational rate with a song muxed in,
  through the same encoder (temporary name, no files in the working directory).
"""

from __future__ import annotations

import contextlib
from fractions import Fraction
from pathlib import Path

import numpy as np

from .._fs import atomic_output, check_output
from .._proc import signals_deferred
from ..errors import ParameterError
from ..media import check_input_file
from ..progress import make_progress
from ..timebase import to_frame
from .encoder import Encoder, check_video_suffix, sigterm_as_interrupt
from .framing import geometry, yuv420_to_rgb
from .readers import ReaderPool, open_sources, resolve_media
from .renderer import as_plan, source_proxies, use_proxies
from .settings import DEFAULTS, RenderSettings, render_settings

__all__ = ["plan_clip", "write_clip"]


def plan_clip(plan, *, mode: str = "final", size=None, aspect=None, framing: str = "fill",
              interpolation: str = "bicubic", proxies: bool | None = None):
    """The plan as a moviepy ``VideoClip`` with exact frames (RGB), for composing in moviepy.

    Frame ``n`` of the clip (``clip.get_frame(n / plan.fps)``) is output frame ``n`` of the plan.
    The song is attached as ``clip.audio`` (an ``AudioFileClip``). The clip holds open decoders:
    call ``clip.close()`` when done (or use it as a context manager). Write it with
    :func:`write_clip`, not ``write_videofile`` (which rounds the frame rate and leaves files
    behind on failure). ``mode="draft"`` reads the sources' proxies (``proxies`` as for
    :func:`musync.render`).

    Examples
    --------
    >>> from musync.render import plan_clip, write_clip                      # doctest: +SKIP
    >>> with plan_clip("plan.json", size=(1280, 720)) as clip:               # doctest: +SKIP
    ...     titled = clip.with_effects([...])                                 # your moviepy edit
    ...     write_clip(titled, "out.mp4", fps=clip.exact_fps, audio=clip.song_path)
    """
    import bisect

    from moviepy import AudioFileClip, VideoClip

    from ..planfile import validate_plan

    plan, base = as_plan(plan)
    validate_plan(plan)
    settings = render_settings(plan, mode=mode, size=size, aspect=aspect, framing=framing)
    song = resolve_media(plan.audio.path, base)
    pool = ReaderPool()
    found = source_proxies(plan, base) if use_proxies(mode, proxies) else {}
    readers = open_sources(plan, base, settings.fps, interpolation, pool, proxies=found,
                           verify=False)  # no restart from the start here: see render()
    geoms = {src: geometry(r.display, r.rotation, settings.size, framing)
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
                "center", f"shot {shot.index}")
            state["k"], state["next"] = k, n
        planes = None
        while state["next"] <= n:
            planes = next(state["gen"])
            state["next"] += 1
        state["last"], state["rgb"] = n, yuv420_to_rgb(planes)
        return state["rgb"]

    def frame_function(t):
        return frame_at(to_frame(float(t), fps))

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
    suffix = check_video_suffix(output)
    check_output(output, overwrite=overwrite)
    first = np.asarray(clip.get_frame(0))
    h, w = first.shape[:2]
    if w % 2 or h % 2:
        raise ParameterError(f"clip frames are {w}x{h}; make both sides even (e.g. resize)")
    n_frames = to_frame(float(clip.duration), fps)
    d = DEFAULTS[mode]
    settings = RenderSettings(mode, w, h, fps, crf=d["crf"] if crf is None else int(crf),
                              preset=d["preset"] if preset is None else preset,
                              audio_bitrate=d["audio_bitrate"])
    audio_path = None
    if audio is not None:
        audio_path = check_input_file(audio)
    with sigterm_as_interrupt():
        with atomic_output(output, overwrite=overwrite) as tmp, \
                make_progress(progress, "render", n_frames, unit="frames") as prog:
            enc = None
            try:
                with signals_deferred():             # no interrupt between its start and `enc`
                    enc = Encoder(tmp, settings, audio_path, container_suffix=suffix, pix_fmt="rgb24")
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
                if enc is not None:
                    enc.kill()
    return Path(output)
