"""Media with known answers for the render tests, made with the ffmpeg binary.

Every frame of a *coded* clip shows its clip id and its own frame number as a 4x4 grid of black
and white blocks in the middle of the picture (the part that survives any crop to 9:16 or 16:9),
so a decoded output frame says which clip and which source frame it came from. The file's real
frame timestamps are read back with PyAV, so the expected picture at any time is computed from
the file itself, independently of the renderer.

This module holds helpers only (no tests).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from musync.media import ffmpeg_exe, file_sha256, run_ffmpeg
from musync.types import AudioInfo, Plan, PlanClip, PlanSettings, Shot

GRID = 4                 # 4x4 cells: 4 bits clip id, 10 bits frame number, a 1 marker, a parity bit
WHITE, BLACK = 235, 16


def _bits(clip_id: int, n: int) -> list[int]:
    assert 0 <= clip_id < 16 and 0 <= n < 1024
    b = [(clip_id >> i) & 1 for i in range(4)] + [(n >> i) & 1 for i in range(10)] + [1]
    return b + [sum(b) % 2]


def _code_square(w: int, h: int) -> tuple[int, int, int]:
    """Left, top and cell size of the code grid in a ``w`` x ``h`` picture."""
    cell = max(2, int(0.3 * min(w, h)) // GRID)
    side = cell * GRID
    return (w - side) // 2, (h - side) // 2, cell


def code_frame(w: int, h: int, clip_id: int, n: int, bg=(90, 110, 130)) -> np.ndarray:
    """An upright ``(h, w, 3)`` RGB picture showing ``clip_id`` and frame number ``n``."""
    img = np.empty((h, w, 3), np.uint8)
    img[:] = bg
    x0, y0, cell = _code_square(w, h)
    for i, bit in enumerate(_bits(clip_id, n)):
        r, c = divmod(i, GRID)
        img[y0 + r * cell:y0 + (r + 1) * cell, x0 + c * cell:x0 + (c + 1) * cell] = WHITE if bit else BLACK
    return img


@dataclass
class Source:
    """A generated clip and the truth about it."""

    path: Path
    clip_id: int
    size: tuple[int, int]          # display size
    rotation: int                  # degrees clockwise a player turns it
    times: list                    # presentation time (Fraction, s) of every frame, in order
    fps: Fraction                  # nominal rate
    vfr: bool = False
    is_still: bool = False
    colour: tuple | None = None

    @property
    def start(self) -> Fraction:
        return self.times[0]

    @property
    def duration(self) -> float:
        return float(self.times[-1] - self.times[0] + 1 / self.fps)

    def frame_for(self, j: int, fps) -> int:
        """Number of the frame that source frame ``j`` at ``fps`` is: the latest frame whose
        time after the first frame is less than ``(j + 1/2) / fps`` (timestamps rounded to the
        nearest output frame)."""
        bound = self.start + (Fraction(j) + Fraction(1, 2)) / Fraction(fps)
        k = 0
        for i, ti in enumerate(self.times):
            if ti < bound:
                k = i
            else:
                break
        return k

    def plan_clip(self) -> PlanClip:
        if self.is_still:
            return PlanClip(str(self.path), float("inf"), None, self.size, 0, False, 0.0, 0.0,
                            float("inf"), is_still=True)
        return PlanClip(str(self.path), self.duration, self.fps, self.size, self.rotation, self.vfr,
                        float(self.start), 0.0, self.duration)


def file_times(path) -> list:
    """Presentation times (Fraction seconds) of every video frame of ``path``, in order."""
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        tb = s.time_base
        times = [Fraction(f.pts) * tb for f in c.decode(s)]
    return times


def make_coded_clip(path, *, clip_id: int, size=(160, 90), fps=Fraction(30), n_frames: int = 60,
                    rotation: int = 0, vfr: bool = False, start: float = 0.0, audio: bool = False,
                    codec: str = "h264") -> Source:
    """Write a clip whose frame ``k`` shows ``(clip_id, k)``; return its truth.

    ``size`` is the display size; with ``rotation`` the file stores the picture turned the other
    way and carries a display matrix. ``vfr`` makes irregular frame times (and a dropped-frame gap);
    ``start`` shifts every timestamp.
    """
    path = Path(path)
    fps = Fraction(fps)
    w, h = size
    sw, sh = (h, w) if rotation in (90, 270) else (w, h)
    frames = []
    for k in range(n_frames):
        img = code_frame(w, h, clip_id, k)
        frames.append(np.ascontiguousarray(np.rot90(img, k=rotation // 90)))
    if vfr:
        pts = f"(N+0.45*sin(1.7*N)+9*gte(N,{n_frames // 2}))/({fps.numerator}/{fps.denominator})"
    else:
        pts = f"N/({fps.numerator}/{fps.denominator})"
    vf = f"settb=1/90000,setpts='({pts}+{start})/TB'"
    if codec == "h264":
        pix = "yuv444p" if (sw % 2 or sh % 2) else "yuv420p"
        enc = ["-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-pix_fmt", pix]
    else:
        enc = ["-c:v", codec, "-pix_fmt", "yuv420p"]
    tmp = path.with_name(path.stem + ".norot" + path.suffix) if rotation else path
    cmd = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
           "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{sw}x{sh}",
           "-framerate", f"{fps.numerator}/{fps.denominator}", "-i", "pipe:0"]
    if audio:
        cmd += ["-f", "lavfi", "-i", f"sine=f=330:duration={n_frames / float(fps) + start}"]
    cmd += ["-vf", vf, "-fps_mode", "passthrough", "-enc_time_base", "1/90000", *enc]
    if path.suffix in (".mp4", ".mov"):
        cmd += ["-video_track_timescale", "90000"]
    if audio:
        cmd += ["-c:a", "aac", "-shortest"]
    cmd += [str(tmp)]
    proc = subprocess.run(cmd, input=b"".join(f.tobytes() for f in frames), capture_output=True)
    assert proc.returncode == 0, proc.stderr.decode()
    if rotation:
        # ffmpeg's -display_rotation is counter-clockwise
        run_ffmpeg(["-y", "-display_rotation", str(-rotation), "-i", str(tmp), "-c", "copy", str(path)])
        tmp.unlink()
    times = file_times(path)
    assert len(times) == n_frames
    return Source(path, clip_id, (w, h), rotation, times, fps, vfr)


def make_still(path, rgb, size=(160, 90), clip_id: int = 15) -> Source:
    """A one-frame PNG of a flat colour."""
    w, h = size
    run_ffmpeg(["-y", "-f", "lavfi", "-i", f"color=c=0x{bytes(rgb).hex()}:size={w}x{h}",
                "-frames:v", "1", str(path)])
    return Source(Path(path), clip_id, (w, h), 0, [Fraction(0)], Fraction(30), is_still=True,
                  colour=tuple(rgb))


def make_colour_clip(path, rgb, *, size=(160, 90), fps=Fraction(30), seconds: float = 2.0,
                     clip_id: int = 14) -> Source:
    """A flat-colour H.264 clip."""
    w, h = size
    fps = Fraction(fps)
    run_ffmpeg(["-y", "-f", "lavfi", "-i",
                f"color=c=0x{bytes(rgb).hex()}:size={w}x{h}:rate={fps.numerator}/{fps.denominator}"
                f":duration={seconds}", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt",
                "yuv420p", str(path)])
    times = file_times(path)
    return Source(Path(path), clip_id, (w, h), 0, times, fps, colour=tuple(rgb))


def make_plan(song, sources, cuts, *, fps, size=(320, 180), aspect="16:9") -> Plan:
    """A plan from ``cuts``: a list of ``(source, source_in, length)`` laid end to end.

    ``song`` is a path; the plan's duration is the sum of the lengths.
    """
    fps = Fraction(fps)
    shots, rec = [], 0
    for i, (src, sin, n) in enumerate(cuts):
        shots.append(Shot(i, str(src.path), sin, sin + n, rec, rec + n, reason=f"cut {i}"))
        rec += n
    clips = {}
    for s in sources:
        clips[str(s.path)] = s.plan_clip()
    song = Path(song)
    import soundfile as sf

    info = sf.info(str(song))
    audio = AudioInfo(str(song), file_sha256(song), info.frames / info.samplerate, info.samplerate,
                      info.channels)
    settings = PlanSettings(fps=fps, size=size, aspect=aspect)
    return Plan(audio=audio, fps=fps, duration_frames=rec, size=size, aspect=aspect,
                settings=settings, shots=tuple(shots),
                clips=tuple(sorted(clips.values(), key=lambda c: c.path)))


def write_song(path, seconds: float, *, sr: int = 48000, clicks=(), channels: int = 1) -> Path:
    """A quiet tone bed with loud 4 ms clicks at ``clicks`` (seconds); 16-bit WAV."""
    import soundfile as sf

    n = int(round(seconds * sr))
    m = int(round(sr / 110))
    period = np.sin(2 * np.pi * np.arange(m) / m).astype(np.float32)
    y = 0.01 * np.resize(period, n)       # a quiet ~110 Hz bed (one period, tiled)
    burst = 0.8 * np.sin(2 * np.pi * 2000 * np.arange(int(0.004 * sr)) / sr)
    for c in clicks:
        i = int(round(c * sr))
        y[i:i + burst.size] += burst[: max(0, n - i)]
    y = np.clip(y, -1, 1)
    if channels > 1:
        y = np.stack([y] * channels, axis=1)
    sf.write(str(path), y, sr, subtype="PCM_16")
    return Path(path)


# -- reading the output ------------------------------------------------------------------------

def decode_output(path):
    """Luma planes (list of (h, w) uint8 arrays), frame times (Fractions) and stream info."""
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        tb = v.time_base
        info = {"width": v.codec_context.width, "height": v.codec_context.height,
                "pix_fmt": v.codec_context.pix_fmt, "codec": v.codec_context.name,
                "rate": v.average_rate, "audio_streams": len(c.streams.audio),
                "video_streams": len(c.streams.video)}
        if c.streams.audio:
            a = c.streams.audio[0]
            info["audio_codec"] = a.codec_context.name
        lumas, times = [], []
        for f in c.decode(v):
            p = f.planes[0]
            y = np.frombuffer(p, np.uint8).reshape(p.height, p.line_size)[:, :p.width].copy()
            lumas.append(y)
            times.append(Fraction(f.pts) * tb)
    return lumas, times, info


def read_code(luma: np.ndarray, src_size, framing: str = "fill"):
    """Read ``(clip_id, frame)`` from an output luma frame rendered from a source of display
    size ``src_size`` (centred crop or letterbox). Returns None when the code does not check."""
    H, W = luma.shape
    sw, sh = src_size
    s = max(W / sw, H / sh) if framing == "fill" else min(W / sw, H / sh)
    x0, y0, cell = _code_square(sw, sh)
    bits = []
    for i in range(GRID * GRID):
        r, c = divmod(i, GRID)
        cx = (x0 + (c + 0.5) * cell - sw / 2) * s + W / 2
        cy = (y0 + (r + 0.5) * cell - sh / 2) * s + H / 2
        rad = max(0, int(cell * s * 0.2))
        xi, yi = int(cx), int(cy)
        patch = luma[max(0, yi - rad):yi + rad + 1, max(0, xi - rad):xi + rad + 1]
        bits.append(1 if patch.mean() > 125 else 0)
    if bits[14] != 1 or sum(bits[:15]) % 2 != bits[15]:
        return None
    cid = sum(b << i for i, b in enumerate(bits[:4]))
    n = sum(b << i for i, b in enumerate(bits[4:14]))
    return cid, n


def decode_audio(path, sr: int = 48000) -> np.ndarray:
    """The output's first audio stream as mono float32 at ``sr``."""
    raw = run_ffmpeg(["-i", str(path), "-map", "0:a:0", "-ac", "1", "-ar", str(sr), "-f", "f32le",
                      "pipe:1"])
    return np.frombuffer(raw, "<f4")


def onsets(y: np.ndarray, sr: int, thresh: float = 0.3) -> np.ndarray:
    """Times (s) where ``|y|`` first rises above ``thresh`` after at least 50 ms below it."""
    above = np.flatnonzero(np.abs(y) > thresh)
    if above.size == 0:
        return np.zeros(0)
    keep = np.concatenate([[True], np.diff(above) > int(0.05 * sr)])
    return above[keep] / sr
