"""Render a plan to a video: every shot on its planned frames, the song untouched underneath.

Public functions:

- :func:`render` -- render a :class:`~musync.types.Plan` (or a plan file) to an H.264/AAC file.
- :func:`render_settings` -- the resolved output size, quality and framing a render would use.
- :func:`plan_clip` -- the plan as a moviepy ``VideoClip`` (exact frames), for composing titles
  or effects in moviepy; :func:`write_clip` writes any moviepy clip at an exact rational rate
  with the song muxed in.
- :func:`build_proxies` / :func:`proxy_for` -- small, fast-to-decode copies of the clips
  (:mod:`.proxies`), made once in the cache; drafts read them (making any that are missing),
  finals always read the originals.

The rooms: :mod:`.settings` (what a render writes), :mod:`.readers` (decoding sources by the
frame rule below), :mod:`.framing` (scale, turn, crop, letterbox), :mod:`.encoder` (the one
ffmpeg pipe, also used by :mod:`musync.preview`), :mod:`.proxies`, :mod:`.renderer`
(:func:`render`) and :mod:`.compose` (moviepy).

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
skips H.264's deblocking filter, invisible at draft size), turned upright (display matrix),
cropped or letterboxed in YUV 4:2:0, and piped raw to a single
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

from .compose import plan_clip, write_clip
from .encoder import VIDEO_SUFFIXES
from .proxies import PROXY_MAX_SIDE, Proxy, ProxyReport, build_proxies, proxy_for
from .renderer import render
from .settings import DRAFT_MAX_SIDE, RenderResult, RenderSettings, render_settings

__all__ = ["render", "render_settings", "RenderSettings", "RenderResult", "plan_clip",
           "write_clip", "build_proxies", "proxy_for", "Proxy", "ProxyReport", "DRAFT_MAX_SIDE",
           "PROXY_MAX_SIDE", "VIDEO_SUFFIXES"]
