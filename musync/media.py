"""The one place that talks to ffmpeg (the binary shipped by ``imageio-ffmpeg``) and PyAV.

Public functions:

- :func:`ffmpeg_exe` -- path of the ffmpeg binary.
- :func:`run_ffmpeg` -- run ffmpeg to completion; the child never outlives the call.
- :func:`probe_audio` -- sample rate, channels and duration of a file's first audio stream.
- :func:`load_audio` -- decode any audio (or the audio of a video) to mono float32 at a given rate.
- :func:`file_sha256` -- content hash of a file.
- :func:`frame_rotation_cw` -- how far a player turns a decoded PyAV frame (display matrix).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import MediaError, MusyncError

__all__ = ["ffmpeg_exe", "run_ffmpeg", "probe_audio", "load_audio", "file_sha256", "AudioStream",
           "check_input_file", "frame_rotation_cw", "probe_codecs", "Codecs"]

# Extensions libsndfile decodes natively; everything else goes through ffmpeg.
_SOUNDFILE_EXTS = {".wav", ".flac", ".ogg", ".oga", ".mp3", ".aiff", ".aif", ".aifc"}


def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary bundled with ``imageio-ffmpeg`` (or ``$IMAGEIO_FFMPEG_EXE``)."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def run_ffmpeg(args: list[str], *, what: str = "ffmpeg", path=None, capture: bool = True,
               timeout: float | None = None) -> bytes:
    """Run ``ffmpeg -nostdin -hide_banner <args>``; return stdout.

    The child is killed and reaped if this call is interrupted (KeyboardInterrupt, timeout, any
    exception). A non-zero exit raises :class:`MediaError` (when ``path`` is given) or
    :class:`MusyncError` with the last line of ffmpeg's error output.
    """
    cmd = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", *args]
    from ._proc import spawn, stop

    proc = spawn(cmd, stdout=subprocess.PIPE if capture else subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        out, err = proc.communicate(timeout=timeout)
    except BaseException:
        stop(proc, grace=1.0)
        raise
    if proc.returncode != 0:
        lines = [ln for ln in err.decode("utf-8", "replace").splitlines() if ln.strip()]
        detail = lines[-1].strip() if lines else f"exit code {proc.returncode}"
        if path is not None:
            raise MediaError(path, f"{what} failed: {detail}")
        raise MusyncError(f"{what} failed: {detail}")
    return out or b""


def check_input_file(path) -> Path:
    """Validate that ``path`` names a readable, non-empty regular file; return it as a Path."""
    from ._fs import check_input_file as _check

    return _check(path, what="media file")


def file_sha256(path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while True:
            b = fh.read(chunk)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def frame_rotation_cw(frame) -> int:
    """Degrees clockwise (0, 90, 180, 270) a player turns a decoded PyAV video frame, from its
    display matrix (PyAV reports the counter-clockwise angle)."""
    try:
        ccw = float(frame.rotation or 0.0)
    except Exception:
        return 0
    return int(round(-ccw / 90.0)) % 4 * 90


@dataclass(frozen=True)
class AudioStream:
    """Layout of a file's audio: native sample rate, channel count and duration in seconds."""

    sample_rate: int
    channels: int
    duration: float


def probe_audio(path) -> AudioStream:
    """Describe the first audio stream of ``path``.

    Raises :class:`MediaError` if the file is missing, not media, or has no audio stream.
    """
    p = check_input_file(path)
    if p.suffix.lower() in _SOUNDFILE_EXTS:
        try:
            import soundfile as sf

            info = sf.info(str(p))
            if info.frames > 0 and info.samplerate > 0:
                return AudioStream(int(info.samplerate), int(info.channels),
                                   info.frames / float(info.samplerate))
        except Exception:
            pass  # fall through to PyAV, which gives the better error message
    import av

    try:
        with av.open(str(p)) as container:
            streams = [s for s in container.streams if s.type == "audio"]
            if not streams:
                raise MediaError(p, "has no audio stream; pass a song or a video with sound")
            s = streams[0]
            if s.duration is not None and s.time_base is not None:
                dur = float(s.duration * s.time_base)
            elif container.duration is not None:
                dur = container.duration / 1e6
            else:
                dur = 0.0
            ch = s.codec_context.channels if hasattr(s.codec_context, "channels") else 0
            if not ch:
                ch = len(getattr(s.codec_context.layout, "channels", ())) or 1
            return AudioStream(int(s.codec_context.sample_rate or s.rate or 0), int(ch), dur)
    except MediaError:
        raise
    except Exception as exc:  # av.error.InvalidDataError and friends
        raise MediaError(p, f"not a readable audio or video file ({type(exc).__name__}); "
                         "convert it to WAV, FLAC, MP3 or M4A") from None


def _downmix(y: np.ndarray) -> np.ndarray:
    if y.ndim == 2:
        y = y.mean(axis=1)
    return np.ascontiguousarray(y, dtype=np.float32)


#: Frames per block when decoding with soundfile: a long file is never held at its native rate.
_DECODE_BLOCK = 1 << 18


def _read_soundfile(p: Path, sr: int):
    """Decode, downmix and resample ``p`` a block at a time (soxr's streaming resampler, the
    same filter as ``librosa.resample(res_type="soxr_hq")``); returns ``(y, stream)`` or
    ``(None, None)`` for an empty file."""
    import soundfile as sf

    with sf.SoundFile(str(p)) as f:
        native_sr, channels, frames = int(f.samplerate), int(f.channels), int(f.frames)
        if frames <= 0:
            return None, None
        stream = AudioStream(native_sr, channels, frames / native_sr)
        if native_sr == sr:
            out = np.empty(frames, dtype=np.float32)
            pos = 0
            for block in f.blocks(blocksize=_DECODE_BLOCK, dtype="float32", always_2d=True):
                m = _downmix(block)
                out[pos:pos + m.size] = m
                pos += m.size
            return out[:pos], stream
        import soxr

        rs = soxr.ResampleStream(native_sr, sr, 1, dtype="float32", quality="HQ")
        parts = []
        for block in f.blocks(blocksize=_DECODE_BLOCK, dtype="float32", always_2d=True):
            parts.append(rs.resample_chunk(_downmix(block)))
        parts.append(rs.resample_chunk(np.zeros(0, dtype=np.float32), last=True))
    y = np.concatenate(parts) if parts else np.zeros(0, np.float32)
    return np.ascontiguousarray(y, dtype=np.float32), stream


def load_audio(path, *, sr: int = 22050) -> tuple[np.ndarray, AudioStream]:
    """Decode ``path`` to a mono float32 signal at ``sr`` Hz.

    wav/flac/ogg/mp3/aiff go through soundfile (libsndfile); everything else (m4a/aac, mp4, mov,
    webm, ...) through the ffmpeg binary, piped as float32. Any channel layout is downmixed.

    Returns
    -------
    y : ndarray (n,) float32
    stream : AudioStream of the source (its native rate and channels)
    """
    p = check_input_file(path)
    y = None
    stream = None
    if p.suffix.lower() in _SOUNDFILE_EXTS:
        try:
            import soundfile as sf

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                y, stream = _read_soundfile(p, sr)
        except Exception:
            y = None
    if y is None:
        stream = probe_audio(p)
        raw = run_ffmpeg(["-i", str(p), "-map", "0:a:0", "-vn", "-ac", "1", "-ar", str(sr),
                          "-f", "f32le", "pipe:1"], what="decoding audio", path=p)
        y = np.frombuffer(raw, dtype="<f4").astype(np.float32)
        if stream.duration <= 0 and y.size:
            stream = AudioStream(stream.sample_rate, stream.channels, y.size / float(sr))
    if y.size == 0:
        raise MediaError(p, "contains no audio samples (header only?); re-export the file")
    return y, stream


@dataclass(frozen=True)
class Codecs:
    """What a file holds, by FFmpeg's codec names (``h264``, ``vp9``, ``aac``, ``mp3``...)."""

    video: str | None
    audio: str | None
    pix_fmt: str | None = None


def _codec_name(stream) -> str | None:
    """The codec's own name (``mp3``), not the decoder's (``mp3float``)."""
    if stream is None:
        return None
    codec = stream.codec_context.codec
    return getattr(codec, "canonical_name", None) or stream.codec_context.name


def probe_codecs(path) -> Codecs:
    """The codecs of the first video and first audio stream of ``path`` (None when absent)."""
    import av

    p = check_input_file(path)
    try:
        with av.open(str(p)) as container:
            v = next((s for s in container.streams if s.type == "video"), None)
            a = next((s for s in container.streams if s.type == "audio"), None)
            return Codecs(_codec_name(v), _codec_name(a),
                          (v.codec_context.pix_fmt if v is not None else None))
    except Exception as exc:
        raise MediaError(p, f"cannot read its streams ({type(exc).__name__}); is it a media file?") from None
