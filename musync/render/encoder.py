"""The one ffmpeg pipe: raw frames in, an H.264/AAC file out (used by render and preview).

Public names:

- :class:`Encoder` -- one ``ffmpeg`` child encoding raw ``yuv420p`` (or ``rgb24``) frames from
  its stdin at an exact rational frame rate, with an audio file muxed in as AAC.
- :func:`sigterm_as_interrupt` -- a context in which SIGTERM raises ``KeyboardInterrupt``, so
  that every ``finally`` (temporary files, child processes) runs (from :mod:`musync._proc`,
  which the batch engine uses too).
- :func:`check_video_suffix` -- the container an output name asks for (:data:`VIDEO_SUFFIXES`).

Picture frame ``n`` is stamped ``n / fps`` exactly (``-fps_mode passthrough`` on a raw input at
that rate) and the audio starts at 0, so picture and sound cannot drift.
"""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from .._proc import sigterm_as_interrupt, spawn
from ..errors import ParameterError, RenderError
from ..media import ffmpeg_exe

__all__ = ["Encoder", "sigterm_as_interrupt", "check_video_suffix", "VIDEO_SUFFIXES"]

#: Output file suffixes the encoder writes (all H.264 + AAC).
VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv")
_CONTAINERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska"}


class Encoder:
    """One ffmpeg process: raw frames on stdin + an audio file -> H.264 ``yuv420p`` / AAC.

    Parameters
    ----------
    out_path : Path
        Where ffmpeg writes (normally a temporary name; see :func:`musync._fs.atomic_output`).
    settings : RenderSettings
        Size, rate, preset, CRF and audio bit rate.
    audio : Path or None
        The soundtrack, encoded once as one AAC stream from its first sample.
    container_suffix : str
        One of :data:`VIDEO_SUFFIXES`.
    pix_fmt : {"yuv420p", "rgb24"}
        Layout of the frames given to :meth:`write`.
    audio_filter : (str, str), optional
        A ``-filter_complex`` graph and the label to map, for mixing ``extra_inputs`` in.
    extra_inputs : list of Path, optional
    x264_params : str, optional

    Always call :meth:`kill` in a ``finally`` (after :meth:`finish` on success): it ends and
    reaps the child whatever happened.
    """

    def __init__(self, out_path: Path, settings, audio: Path | None, *, container_suffix: str,
                 pix_fmt: str = "yuv420p", audio_filter: list | None = None,
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
        fmt = _CONTAINERS[container_suffix]
        if fmt in ("mp4", "mov"):
            cmd += ["-movflags", "+faststart"]
        cmd += ["-f", fmt, str(out_path)]
        self.cmd = cmd
        self._err = tempfile.TemporaryFile()      # unlinked at once: nothing is left behind
        # its own process group (a terminal's Ctrl-C reaches only us, and we end the child) and
        # ended by the kernel if this process dies without cleaning up
        self.proc = spawn(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._err)
        self.frames = 0
        self.fps = fps

    def _error(self) -> str:
        try:
            self._err.seek(0)
            text = self._err.read().decode("utf-8", "replace")
        except (OSError, ValueError):
            text = ""
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        return lines[-1] if lines else f"exit code {self.proc.returncode}"

    def write(self, planes) -> None:
        """Write one frame given as its planes (``(Y, U, V)`` or ``(rgb,)``), any strides."""
        stdin = self.proc.stdin
        try:
            for p in planes:
                if not p.flags.c_contiguous:
                    p = np.ascontiguousarray(p)
                stdin.write(memoryview(p).cast("B"))
        except (BrokenPipeError, ValueError, OSError):
            self.proc.wait()
            raise RenderError(f"the encoder stopped: {self._error()}") from None
        self.frames += 1

    def write_bytes(self, data) -> None:
        """Write one whole raw frame."""
        try:
            self.proc.stdin.write(data)
        except (BrokenPipeError, ValueError, OSError):
            self.proc.wait()
            raise RenderError(f"the encoder stopped: {self._error()}") from None
        self.frames += 1

    def finish(self, frames: int | None = None) -> None:
        """Close the input, wait for the file to be complete and check it (:meth:`check_written`:
        ``frames`` frames, default the frames written); raises RenderError if ffmpeg failed or
        wrote short."""
        try:
            self.proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        rc = self.proc.wait()
        if rc != 0:
            raise RenderError(f"encoding failed: {self._error()}")
        self.check_written(self.frames if frames is None else frames)

    def check_written(self, frames: int) -> None:
        """Check the finished file holds a video stream of ``frames`` frames (read from the
        container's index: no decoding); raises RenderError otherwise, so that a short or empty
        file is never renamed into place."""
        import av

        path = self.cmd[-1]
        try:
            with av.open(path) as c:
                if not c.streams.video:
                    raise RenderError(f"the encoder wrote no picture to {path}")
                n = int(c.streams.video[0].frames or 0)
                dur = float(c.duration or 0) / 1e6
        except av.error.FFmpegError as exc:
            raise RenderError(f"the encoder's output cannot be read back ({exc})") from None
        want = f"{frames} frames"
        if n and n != frames:
            raise RenderError(f"the encoder wrote {n} frames, expected {want}")
        if not n and frames / float(self.fps) - dur > 1.0:      # a container without a frame count
            raise RenderError(f"the encoder wrote {dur:.2f} s, expected {want}")

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


def check_video_suffix(output) -> str:
    """The lower-case suffix of ``output`` if the encoder can write it, else ParameterError."""
    suffix = Path(output).suffix.lower()
    if suffix not in VIDEO_SUFFIXES:
        raise ParameterError(f"{output}: output must end in {', '.join(VIDEO_SUFFIXES)}")
    return suffix
