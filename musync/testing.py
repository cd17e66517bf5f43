"""Synthetic media with known answers, for tests, benchmarks, docs and the example.

Public functions:

- :func:`click_track` -- clicks on a steady grid (accented downbeats), with a known pickup.
- :func:`make_song` -- a small multi-section song (drums, bass, chords, lead) with its ground truth:
  beats, downbeats, sections with repeat labels, and per-section energy. Options for metre,
  pickup, tempo drift, humanised timing.
- :func:`write_wav` -- save a float signal as 16-bit PCM WAV.
- :func:`synthetic_clip_infos` / :func:`make_clip_files` -- clip records and small clip files.
- Media with known content, for the scan's content flags, fingerprints, quality and framing:
  :func:`make_footage` (textured footage with a moving subject and its box per frame),
  :func:`make_test_pattern`, :func:`make_text_card` (titles, slates, rolling credits),
  :func:`make_flat_clip`, :func:`derive_clip` (re-encoded, greyscale, cropped, excerpted,
  letterboxed, upscaled or blocky copies) and :func:`write_video` (numpy frames to a file).

Everything is deterministic for a given ``seed``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["click_track", "make_song", "compound_song", "SyntheticSong", "write_wav", "SECTION_STYLES",
           "synthetic_clip_infos", "make_clip_files", "write_video", "make_test_pattern",
           "TEST_PATTERNS", "make_footage", "FootageTruth", "make_text_card", "text_lines",
           "make_title_over_footage", "make_bright_shapes", "make_flat_clip", "derive_clip",
           "DERIVATIONS"]


@dataclass(frozen=True)
class SyntheticSong:
    """A generated song and the truth about it (all times in seconds)."""

    y: np.ndarray
    sr: int
    beats: np.ndarray
    downbeats: np.ndarray
    beats_per_bar: int
    sections: tuple  # of (start, end, label, kind)
    section_energy: tuple  # nominal energy in [0, 1] per section
    climax: float
    params: dict = field(default_factory=dict)

    @property
    def duration(self) -> float:
        return self.y.size / float(self.sr)

    @property
    def tempo(self) -> float:
        return float(60.0 / np.median(np.diff(self.beats)))

    def write(self, path) -> Path:
        return write_wav(path, self.y, self.sr)


def write_wav(path, y: np.ndarray, sr: int) -> Path:
    """Write ``y`` (mono ``(n,)`` or ``(n, channels)``, float in [-1, 1]) as 16-bit PCM WAV."""
    import soundfile as sf

    p = Path(path)
    sf.write(str(p), np.clip(np.asarray(y, dtype=np.float32), -1.0, 1.0), int(sr), subtype="PCM_16")
    return p


def _add(out: np.ndarray, sig: np.ndarray, t: float, sr: int, gain: float = 1.0) -> None:
    i = int(round(t * sr))
    if i >= out.size or i + sig.size <= 0:
        return
    j0 = max(0, -i)
    n = min(sig.size - j0, out.size - i - j0)
    out[i + j0:i + j0 + n] += gain * sig[j0:j0 + n]


def click_track(*, bpm: float = 120.0, duration: float = 10.0, sr: int = 22050, beats_per_bar: int = 4,
                pickup: int = 0, accent: bool = True, start: float = 0.5):
    """A click on every beat from ``start`` to ``duration``; downbeats are higher and louder.

    The first ``pickup`` clicks are an upbeat: the first downbeat is click number ``pickup``.

    Returns
    -------
    y : ndarray (n,) float32
    beats : ndarray of click onset times (s)
    downbeats : ndarray of downbeat onset times (s)
    """
    n = int(round(duration * sr))
    y = np.zeros(n, dtype=np.float64)
    period = 60.0 / bpm
    beats = np.arange(start, duration - 0.05, period)
    tt = np.arange(int(0.03 * sr)) / sr
    env = np.exp(-tt / 0.006)
    hi = np.sin(2 * np.pi * 1760.0 * tt) * env
    lo = np.sin(2 * np.pi * 880.0 * tt) * env
    down = []
    for k, b in enumerate(beats):
        is_down = (k - pickup) % beats_per_bar == 0 and k >= pickup
        if is_down:
            down.append(b)
        _add(y, hi if (accent and is_down) else lo, b, sr, 0.9 if (accent and is_down) else 0.5)
    return y.astype(np.float32), beats, np.asarray(down)


# ---------------------------------------------------------------------------------------------
# The song synthesizer

#: How each section kind sounds: loudness, which parts play, and the chord progression (scale
#: degrees of a major key; 5 = relative minor vi).
SECTION_STYLES = {
    "intro": dict(level=0.35, kick=False, snare=False, hats=False, bass=False, lead=False,
                  prog=(0, 3, 0, 4), bright=0.2),
    "verse": dict(level=0.55, kick=True, snare=True, hats=False, bass=True, lead=False,
                  prog=(0, 4, 5, 3), bright=0.4),
    "chorus": dict(level=0.95, kick=True, snare=True, hats=True, bass=True, lead=True,
                   prog=(3, 0, 4, 5), bright=1.0),
    "bridge": dict(level=0.45, kick=True, snare=False, hats=False, bass=True, lead=False,
                   prog=(5, 1, 3, 4), bright=0.3),
    "outro": dict(level=0.3, kick=False, snare=False, hats=False, bass=False, lead=False,
                  prog=(0, 3, 4, 0), bright=0.2),
}

_MAJOR = (0, 2, 4, 5, 7, 9, 11)

_DEFAULT_FORM = (("intro", 4), ("verse", 8), ("chorus", 8), ("verse", 8), ("chorus", 8),
                 ("bridge", 4), ("chorus", 8), ("outro", 4))


def _hz(midi: float) -> float:
    return 440.0 * 2.0 ** ((midi - 69) / 12.0)


def _triad(degree: int, key: int) -> list[int]:
    return [key + 48 + _MAJOR[(degree + k) % 7] + 12 * ((degree + k) // 7) for k in (0, 2, 4)]


def make_song(*, bpm: float = 120.0, beats_per_bar: int = 4, form=None, pickup: int = 0,
              tempo_drift: float = 0.0, humanize: float = 0.0, key: int = 0, sr: int = 22050,
              seed: int = 0, tail: float = 1.0, hats: int | None = None, swing: float = 0.0,
              downbeat_gain: float = 1.0, acoustic: bool = False, peak_db: float | None = None) -> SyntheticSong:
    """Synthesize a song with known beats, downbeats, sections and energy.

    Parameters
    ----------
    bpm : starting tempo
    beats_per_bar : 3 or 4
    form : sequence of ``(kind, bars)``; kinds are keys of :data:`SECTION_STYLES`. The repeat label
        of a section is a letter per distinct kind in order of appearance (A, B, A, ...).
    pickup : beats of upbeat before the first downbeat (played by the snare and hats)
    tempo_drift : relative tempo change from start to end (0.04 = 4 % faster at the end)
    humanize : standard deviation (s) of random timing error of each played note
    key : transposition in semitones
    tail : seconds of release after the last bar
    hats : hi-hat strokes per beat in every section that has drums (2 = eighths, 4 = sixteenths,
        3 = triplets, 0 = none); None keeps each section's own hats (on the beat and the eighth)
    swing : delay of every other hat stroke, as a fraction of the stroke spacing (1/3 = triplet
        swing)
    downbeat_gain : gain of the kick on the first beat of each bar (< 1: a weak downbeat)
    acoustic : no drums, no lead: a plucked chord note on every beat (the bass note on the
        downbeat) over the sustained chords, like a finger-picked guitar
    peak_db : peak level of the result (dBFS); None is a peak of 0.9; a quiet recording is e.g. -30

    Returns
    -------
    SyntheticSong
    """
    rng = np.random.default_rng(seed)
    form = tuple(form or _DEFAULT_FORM)
    n_bars = sum(b for _, b in form)
    n_beats = pickup + n_bars * beats_per_bar
    # beat times with linear tempo drift: period goes from p0 to p0 / (1 + drift)
    p0 = 60.0 / bpm
    frac = np.arange(n_beats) / max(n_beats - 1, 1)
    periods = p0 / (1.0 + tempo_drift * frac)
    lead_in = 0.25
    beats = lead_in + np.concatenate([[0.0], np.cumsum(periods[:-1])])
    end_time = beats[-1] + periods[-1] + tail
    n = int(np.ceil(end_time * sr))
    y = np.zeros(n, dtype=np.float64)

    def jit() -> float:
        return float(rng.normal(0.0, humanize)) if humanize > 0 else 0.0

    # one-shot samples
    t = np.arange(int(0.35 * sr)) / sr
    kick = np.sin(2 * np.pi * (45 * t + 90 * 0.04 * (1 - np.exp(-t / 0.04)))) * np.exp(-t / 0.12)
    ts = t[: int(0.2 * sr)]
    snare_noise = rng.standard_normal(ts.size)
    snare = (0.6 * snare_noise * np.exp(-ts / 0.05) + 0.5 * np.sin(2 * np.pi * 190 * ts) * np.exp(-ts / 0.06))
    th = t[: int(0.06 * sr)]
    hat_noise = np.diff(rng.standard_normal(th.size + 1))  # crude high-pass
    hat = hat_noise * np.exp(-th / 0.012) * 0.5

    sections = []
    labels: dict[str, str] = {}
    bar = 0
    levels = []
    for kind, bars in form:
        style = SECTION_STYLES[kind]
        label = labels.setdefault(kind, chr(ord("A") + len(labels)))
        first_beat = pickup + bar * beats_per_bar
        last_beat = pickup + (bar + bars) * beats_per_bar
        s_start = 0.0 if bar == 0 else beats[first_beat]
        s_end = end_time if last_beat >= n_beats else beats[last_beat]
        sections.append((float(s_start), float(s_end), label, kind))
        levels.append(style["level"])
        lvl = style["level"]
        for b in range(bars):
            bi = first_beat + b * beats_per_bar
            bar_t = beats[bi]
            bar_end = beats[bi + beats_per_bar] if bi + beats_per_bar < n_beats else bar_t + beats_per_bar * periods[-1]
            degree = style["prog"][b % len(style["prog"])]
            notes = _triad(degree, key)
            # chords: sustained triad with soft attack, harmonics brighter in loud sections
            dur = bar_end - bar_t
            tc = np.arange(int(dur * sr)) / sr
            env = np.minimum(1.0, tc / 0.01) * np.exp(-tc / (1.5 * dur + 0.5))
            chord = np.zeros(tc.size)
            for m in notes:
                f = _hz(m + 12)
                chord += np.sin(2 * np.pi * f * tc) + style["bright"] * 0.5 * np.sin(4 * np.pi * f * tc)
            _add(y, chord * env, bar_t + jit(), sr, 0.10 * lvl)
            for k in range(beats_per_bar):
                bt = beats[bi + k]
                pt = periods[bi + k]
                if acoustic:
                    m = notes[0] - 12 if k == 0 else notes[(k - 1) % 3]
                    _add(y, _pluck(_hz(m), pt * 1.5, sr), bt + jit(), sr, (0.5 if k == 0 else 0.35) * (0.5 + lvl))
                    continue
                if style["kick"] and (k == 0 or (beats_per_bar == 4 and k == 2)):
                    _add(y, kick, bt + jit(), sr, 0.9 * lvl * (downbeat_gain if k == 0 else 1.0))
                if style["snare"] and (k % 2 == 1 if beats_per_bar == 4 else k > 0):
                    _add(y, snare, bt + jit(), sr, 0.5 * lvl)
                drums = style["kick"] or style["snare"]
                if hats is not None and drums and hats > 0:
                    for h in range(hats):
                        off = (h + (swing if h % 2 == 1 else 0.0)) * pt / hats
                        _add(y, hat, bt + off + jit(), sr, (0.5 if h == 0 else 0.3) * lvl)
                elif hats is None and style["hats"]:
                    _add(y, hat, bt + jit(), sr, 0.5 * lvl)
                    _add(y, hat, bt + pt / 2 + jit(), sr, 0.3 * lvl)
                if style["bass"]:
                    tb = np.arange(int(pt * 0.9 * sr)) / sr
                    f = _hz(notes[0] - 12)
                    benv = np.minimum(1.0, tb / 0.005) * np.exp(-tb / 0.25)
                    _add(y, np.sin(2 * np.pi * f * tb) * benv, bt + jit(), sr, 0.35 * lvl)
                if style["lead"] and not acoustic:
                    tl = np.arange(int(pt * 0.8 * sr)) / sr
                    m = notes[(k + b) % 3] + 24
                    lenv = np.minimum(1.0, tl / 0.01) * np.exp(-tl / 0.2)
                    tone = np.sign(np.sin(2 * np.pi * _hz(m) * tl)) * 0.3 + np.sin(2 * np.pi * _hz(m) * tl)
                    _add(y, tone * lenv, bt + jit(), sr, 0.06 * lvl)
        bar += bars
    # pickup: snare and hat on the upbeat beats
    for k in range(pickup):
        _add(y, snare, beats[k] + jit(), sr, 0.35)
        _add(y, hat, beats[k] + jit(), sr, 0.4)
    peak = np.max(np.abs(y)) or 1.0
    y = ((0.9 if peak_db is None else 10.0 ** (peak_db / 20.0)) / peak) * y
    lv = np.asarray(levels)
    energy = tuple(float(v) for v in (lv - lv.min()) / max(lv.max() - lv.min(), 1e-9))
    downbeats = beats[pickup::beats_per_bar]
    # climax: start of the last of the loudest sections
    top = max(range(len(levels)), key=lambda i: (levels[i], i))
    climax = sections[top][0]
    params = dict(bpm=bpm, beats_per_bar=beats_per_bar, pickup=pickup, tempo_drift=tempo_drift,
                  humanize=humanize, key=key, seed=seed, form=[list(f) for f in form], hats=hats,
                  swing=swing, downbeat_gain=downbeat_gain, acoustic=acoustic, peak_db=peak_db)
    return SyntheticSong(y=y.astype(np.float32), sr=sr, beats=beats, downbeats=downbeats,
                         beats_per_bar=beats_per_bar, sections=tuple(sections),
                         section_energy=energy, climax=float(climax), params=params)


#: The chords of :func:`compound_song`, strummed in turn (Hz of the four strings).
_STRUM_CHORDS = ((196.0, 246.9, 293.7, 392.0), (220.0, 261.6, 329.6, 440.0), (174.6, 220.0, 261.6, 349.2),
                 (196.0, 261.6, 329.6, 392.0))


def compound_song(*, bpm: float = 80.0, beats_per_bar: int = 2, duration: float = 30.0, sr: int = 22050,
                  seed: int = 0, humanize: float = 0.0, chord_beats: int | None = None) -> SyntheticSong:
    """A song in compound metre: a strummed chord on every eighth note (the first of each three
    louder), the kick on the odd dotted-quarter beats and the snare on the even ones.

    Parameters
    ----------
    bpm : dotted quarters per minute (the beat; the eighths run three times as fast)
    beats_per_bar : 2 for 6/8 (kick on 1, snare on the fourth eighth), 4 for a 12/8 shuffle (kick
        on 1 and 3, snare on 2 and 4), 3 for 9/8
    chord_beats : the chord changes every this many beats (default: once a bar); 0 keeps one chord
    humanize : standard deviation (s) of the timing error of each eighth

    Returns
    -------
    SyntheticSong (one section) whose ``beats`` are the dotted quarters.
    """
    rng = np.random.default_rng(seed)
    chord_beats = beats_per_bar if chord_beats is None else int(chord_beats)
    n = int(duration * sr)
    y = np.zeros(n)
    t = np.arange(int(0.25 * sr)) / sr
    kick = np.sin(2 * np.pi * (50 + 60 * np.exp(-t / 0.03)) * t) * np.exp(-t / 0.12)
    snare = rng.standard_normal(t.size) * np.exp(-t / 0.05) * 0.6
    strums = [sum(np.sin(2 * np.pi * f * k * t) / k for f in chord for k in (1, 2, 3)) * np.exp(-t / 0.08) * 0.075
              for chord in _STRUM_CHORDS]
    k, at = 0, 0.5
    beats = []
    while at < duration - 0.3:
        beat = k // 3
        on_beat = k % 3 == 0
        if on_beat:
            beats.append(at)
        chord = strums[(beat // chord_beats) % len(strums)] if chord_beats else strums[0]
        jitter = float(rng.normal(0.0, humanize)) if humanize > 0 else 0.0
        for sound, gain in ((chord, 1.0 if on_beat else 0.6), (kick, float(on_beat and beat % 2 == 0)),
                            (snare, float(on_beat and beat % 2 == 1))):
            if gain:
                _add(y, sound, at + jitter, sr, gain)
        k += 1
        at += 20.0 / bpm
    beats = np.asarray(beats)
    y = 0.5 * y / (np.max(np.abs(y)) or 1.0)
    params = dict(bpm=bpm, beats_per_bar=beats_per_bar, duration=duration, seed=seed, humanize=humanize,
                  chord_beats=chord_beats)
    return SyntheticSong(y=y.astype(np.float32), sr=sr, beats=beats, downbeats=beats[::beats_per_bar],
                         beats_per_bar=beats_per_bar, sections=((0.0, y.size / sr, "A", "verse"),),
                         section_energy=(1.0,), climax=float(beats[0]), params=params)


def _pluck(f: float, dur: float, sr: int) -> np.ndarray:
    """A plucked string: a fast attack, harmonics that die faster than the fundamental."""
    t = np.arange(int(max(dur, 0.05) * sr)) / sr
    out = np.zeros(t.size)
    for h in range(1, 6):
        out += np.sin(2 * np.pi * f * h * t) * np.exp(-t * (2.5 + 3.0 * h)) / h
    return out * np.minimum(1.0, t / 0.002)


# ---------------------------------------------------------------------------------------------
# Clips

def synthetic_clip_infos(n: int = 12, *, seed: int = 0, min_dur: float = 4.0, max_dur: float = 10.0,
                         fps=30, folder: str = "/clips") -> list:
    """``n`` :class:`~musync.types.ClipInfo` records with known features and no files behind
    them (for planner tests and benchmarks): brightness, palette and motion spread evenly and
    shuffled, one motion peak each, a usable window trimming up to 0.25 s at each end."""
    from fractions import Fraction

    from .types import ClipInfo

    rng = np.random.default_rng(seed)
    bright = rng.permutation(np.linspace(0.15, 0.85, n)) if n > 1 else np.array([0.5])
    motion = rng.permutation(np.linspace(0.05, 0.95, n)) if n > 1 else np.array([0.5])
    out = []
    for i in range(n):
        dur = float(np.round(rng.uniform(min_dur, max_dur), 3))
        t = np.arange(0.0, dur, 0.1)
        peak = float(np.round(rng.uniform(0.3 * dur, 0.7 * dur), 3))
        curve = np.clip(motion[i] + 0.3 * np.exp(-0.5 * ((t - peak) / 0.15) ** 2), 0, 1)
        hue = 2 * np.pi * rng.uniform()
        out.append(ClipInfo(
            path=f"{folder}/clip{i:04d}.mp4", duration=dur, frame_count=int(dur * 30), fps=Fraction(fps),
            vfr=False, size=(1920, 1080), rotation=0, pix_fmt="yuv420p", codec="h264",
            has_audio=False, start_time=0.0, is_still=False, usable_in=min(0.25, dur / 8), usable_out=dur - min(0.25, dur / 8),
            brightness=float(bright[i]), contrast=0.2, saturation=0.5,
            palette=(100 * float(bright[i]), 30 * np.cos(hue), 30 * np.sin(hue)),
            motion=float(motion[i]), motion_times=t, motion_curve=curve,
            peak_times=[peak], peak_strengths=[0.3]))
    return out


def make_clip_files(folder, n: int = 8, *, seconds: float = 4.0, size=(320, 180), fps: int = 30,
                    seed: int = 0) -> list:
    """Write ``n`` short H.264 clips of different colour, brightness and motion into ``folder``
    with the ffmpeg binary (a moving test pattern over a tinted background, one white flash as a
    motion peak). Returns their paths."""
    from pathlib import Path

    from .media import run_ffmpeg

    rng = np.random.default_rng(seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    w, h = size
    paths = []
    for i in range(n):
        hue = rng.uniform(0, 360)
        bright = 0.2 + 0.6 * i / max(n - 1, 1)
        speed = 20 + 300 * rng.uniform()
        flash = rng.uniform(0.8, seconds - 0.8)
        p = folder / f"shot_{i:02d}.mp4"
        c = _hsv_hex(hue, 0.6, bright)
        vf = (f"[0:v][1:v]overlay=x='mod(t*{speed:.1f},{w})-{w // 4}':y='{h // 4}+{h // 6}*sin(t*{1 + 3 * rng.uniform():.2f})',"
              f"drawbox=enable='between(t,{flash:.3f},{flash + 1.5 / fps:.3f})':color=white:t=fill,format=yuv420p")
        run_ffmpeg(["-y", "-f", "lavfi", "-i", f"color=c=0x{c}:s={w}x{h}:r={fps}:d={seconds}",
                    "-f", "lavfi", "-i", f"testsrc2=s={w // 2}x{h // 2}:r={fps}:d={seconds}",
                    "-filter_complex", vf, "-c:v", "libx264", "-preset", "ultrafast", "-crf", "23",
                    "-t", str(seconds), str(p)], what="making an example clip", capture=True)
        paths.append(p)
    return paths


def _hsv_hex(h: float, s: float, v: float) -> str:
    import colorsys

    r, g, b = colorsys.hsv_to_rgb(h / 360.0, s, v)
    return f"{int(r * 255):02x}{int(g * 255):02x}{int(b * 255):02x}"


# ---------------------------------------------------------------------------------------------
# Media with known content (what the scan should see in the picture)


@dataclass(frozen=True)
class FootageTruth:
    """What :func:`make_footage` put in the picture: the subject's box in every frame.

    ``boxes`` is ``(n, 4)``: ``x, y, w, h`` of the subject in pixels of the written frame, one row per
    frame (frame ``i`` shows at ``i / fps`` seconds).
    """

    path: Path
    size: tuple
    fps: int
    boxes: np.ndarray


def write_video(path, frames, *, size, fps=30, crf: int = 18, codec: str = "libx264",
                pix_fmt: str = "yuv420p", preset: str = "veryfast", extra=()) -> Path:
    """Encode ``frames`` (an iterable of ``(h, w, 3)`` uint8 RGB arrays of ``size = (w, h)``) with
    the ffmpeg binary into ``path``. The child process never outlives the call."""
    import subprocess

    from .media import ffmpeg_exe

    p = Path(path)
    w, h = int(size[0]), int(size[1])
    cmd = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo",
           "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", str(fps), "-i", "-", "-c:v", codec]
    if codec == "libx264":
        cmd += ["-preset", preset, "-crf", str(crf)]
    cmd += ["-pix_fmt", pix_fmt, *extra, str(p)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        for f in frames:
            f = np.ascontiguousarray(f, dtype=np.uint8)
            if f.shape != (h, w, 3):
                raise ValueError(f"frame of shape {f.shape}; expected {(h, w, 3)}")
            proc.stdin.write(f.tobytes())
        proc.stdin.close()
        err = proc.stderr.read()
        proc.wait()
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    if proc.returncode != 0:
        raise RuntimeError(f"ffmpeg failed writing {p}: {err.decode('utf-8', 'replace')[-300:]}")
    return p


#: lavfi sources :func:`make_test_pattern` knows.
TEST_PATTERNS = ("smptebars", "smptehdbars", "pal75bars", "pal100bars", "testsrc", "rgbtestsrc",
                 "colorchart", "yuvtestsrc")


def make_test_pattern(path, *, kind: str = "smptebars", seconds: float = 3.0, size=(640, 360),
                      fps: int = 30, scroll: float = 0.0, crf: int = 18) -> Path:
    """A test pattern from ffmpeg's lavfi sources (``kind`` in :data:`TEST_PATTERNS`), optionally
    scrolling sideways (``scroll`` = fraction of the width per frame, as some test clips do)."""
    from .media import run_ffmpeg

    if kind not in TEST_PATTERNS:
        raise ValueError(f"unknown test pattern {kind!r}; one of {', '.join(TEST_PATTERNS)}")
    w, h = size
    if kind == "colorchart":                      # fixed-size source: scaled to the size asked
        src = f"{kind}=r={fps}:d={seconds}"
        vf = f"scale={w}:{h}:flags=neighbor,"
    else:
        src = f"{kind}=s={w}x{h}:r={fps}:d={seconds}"
        vf = ""
    vf += f"scroll=h={scroll}," if scroll else ""
    run_ffmpeg(["-y", "-f", "lavfi", "-i", src, "-vf", vf + "format=yuv420p", "-c:v", "libx264",
                "-preset", "veryfast", "-crf", str(crf), str(path)], what="making a test pattern")
    return Path(path)


def _font(px: int, path=None):
    from PIL import ImageFont

    if path:
        return ImageFont.truetype(str(path), size=max(6, int(px)))
    return ImageFont.load_default(size=max(6, int(px)))


def _texture(h: int, w: int, rng, *, octaves: int = 5, colour: bool = True) -> np.ndarray:
    """A natural-looking random picture (1/f noise, coloured): float (h, w, 3) in [0, 1]."""
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    f = np.sqrt(fx * fx + fy * fy)
    f[0, 0] = 1.0
    amp = 1.0 / f ** 1.25
    amp[0, 0] = 0.0
    chans = []
    for _ in range(3 if colour else 1):
        spec = amp * np.exp(2j * np.pi * rng.uniform(size=amp.shape))
        img = np.fft.irfft2(spec, s=(h, w))
        img = (img - img.mean()) / (img.std() + 1e-9)
        chans.append(img)
    if not colour:
        chans = chans * 3
    base = np.stack(chans, axis=-1)
    tint = rng.uniform(0.25, 0.75, size=3)
    mix = 0.6 * base[..., :1] + 0.4 * base         # mostly shared luminance structure
    img = tint + 0.16 * mix
    # a horizon and a few hard-edged objects (buildings, trunks), as real scenes have
    yy, xx = np.mgrid[0:h, 0:w]
    horizon = h * rng.uniform(0.3, 0.6) + 0.05 * h * np.sin(xx / w * rng.uniform(2, 8))
    img[yy < horizon] = img[yy < horizon] * 0.6 + 0.4 * rng.uniform(0.4, 0.9, size=3)
    for _ in range(int(rng.integers(3, 8))):
        x0, y0 = rng.uniform(0, w), rng.uniform(0.2 * h, h)
        bw, bh = rng.uniform(0.02, 0.15) * w, rng.uniform(0.1, 0.5) * h
        m = (xx >= x0) & (xx < x0 + bw) & (yy >= y0 - bh) & (yy < y0)
        img[m] = img[m] * 0.5 + 0.5 * rng.uniform(0.05, 0.8, size=3)
    return np.clip(img, 0.0, 1.0)


def make_footage(path, *, seconds: float = 3.0, size=(640, 360), fps: int = 30, seed: int = 0,
                 subject_start=(0.8, 0.5), subject_end=(0.7, 0.45), subject_size: float = 0.18,
                 pan=(0.0, 0.0), grain: float = 0.01, subject: bool = True,
                 crf: int = 20) -> FootageTruth:
    """Footage-like video with a known subject: a textured landscape (1/f noise), a slow camera
    pan (``pan`` in frame widths/heights per second), sensor grain, and a moving, textured,
    bright subject (an ellipse) travelling from ``subject_start`` to ``subject_end`` (centre,
    as fractions of the frame) with a small wobble. Returns the subject's box per frame."""
    rng = np.random.default_rng(seed)
    w, h = int(size[0]), int(size[1])
    n = max(1, int(round(seconds * fps)))
    margin_x = int(abs(pan[0]) * w * seconds) + 8
    margin_y = int(abs(pan[1]) * h * seconds) + 8
    bg = _texture(h + 2 * margin_y, w + 2 * margin_x, rng)
    sub_tex = _texture(h, h, rng)
    sub_col = np.clip(1.15 - bg.mean(axis=(0, 1)) + rng.uniform(-0.1, 0.1, size=3), 0.3, 1.0)
    r = subject_size * h
    yy, xx = np.mgrid[0:h, 0:w]
    boxes = np.zeros((n, 4))

    def frames():
        for i in range(n):
            t = i / fps
            ox = margin_x + int(round(pan[0] * w * t))
            oy = margin_y + int(round(pan[1] * h * t))
            img = bg[oy:oy + h, ox:ox + w].copy()
            if subject:
                a = i / max(n - 1, 1)
                cx = w * (subject_start[0] + a * (subject_end[0] - subject_start[0]))
                cy = h * (subject_start[1] + a * (subject_end[1] - subject_start[1]))
                cx += 0.02 * w * np.sin(2 * np.pi * 1.3 * t)
                cy += 0.03 * h * np.sin(2 * np.pi * 2.1 * t + 1.0)
                rx, ry = 0.8 * r, r * (1.0 + 0.08 * np.sin(2 * np.pi * 3 * t))
                e = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2
                inside = e <= 1.0
                shade = sub_col * (0.8 + 0.6 * (sub_tex[(yy % h), (xx % h)][..., :1] - 0.5))
                img[inside] = np.clip(shade[inside], 0, 1)
                img[(e > 0.85) & inside] *= 0.35                  # a dark rim
                x0, x1 = max(0.0, cx - rx), min(float(w), cx + rx)
                y0, y1 = max(0.0, cy - ry), min(float(h), cy + ry)
                boxes[i] = (x0, y0, x1 - x0, y1 - y0)
            if grain:
                img = img + rng.normal(0.0, grain, size=img.shape)
            yield (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)

    p = write_video(path, frames(), size=(w, h), fps=fps, crf=crf)
    return FootageTruth(p, (w, h), int(fps), boxes)


def _text_frame(w: int, h: int, lines, *, background, colour, font_px: int, offset: float,
                align: str = "center", line_gap: float = 1.5, font=None) -> np.ndarray:
    from PIL import Image, ImageDraw

    if isinstance(background, np.ndarray):
        img = Image.fromarray(background)
    elif background == "gradient":
        g = np.linspace(0.15, 0.45, h)[:, None, None] * np.array([0.6, 0.7, 1.0])[None, None, :]
        img = Image.fromarray((np.broadcast_to(g, (h, w, 3)) * 255).astype(np.uint8))
    else:
        img = Image.new("RGB", (w, h), background)
    d = ImageDraw.Draw(img)
    font = _font(font_px, font)
    step = int(font_px * line_gap)
    total = step * len(lines)
    y = (h - total) / 2 - offset
    for line in lines:
        tw = d.textlength(line, font=font)
        x = (w - tw) / 2 if align == "center" else 0.08 * w
        if -step < y < h:
            d.text((x, y), line, fill=colour, font=font)
        y += step
    return np.asarray(img)


_WORDS = ("the", "with", "our", "lives", "night", "river", "presents", "a", "film", "by", "music",
          "director", "produced", "camera", "story", "light", "summer", "edit", "sound", "of", "and",
          "city", "starring", "written", "coming", "soon", "only", "in", "theatres", "to")


def text_lines(n: int, *, seed: int = 0, words=(2, 5), upper: bool = False) -> list[str]:
    """``n`` lines of random words (deterministic for ``seed``)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        k = int(rng.integers(words[0], words[1] + 1))
        s = " ".join(str(rng.choice(_WORDS)) for _ in range(k))
        out.append(s.upper() if upper else s.capitalize())
    return out


def make_text_card(path, lines=("THE END",), *, seconds: float = 3.0, size=(640, 360),
                   fps: int = 30, background="black", colour="white", font_size: float = 0.1,
                   scroll: float = 0.0, fade: float = 0.0, footage_seed: int | None = None,
                   align: str = "center", font=None, crf: int = 18) -> Path:
    """A title/text card: ``lines`` of text on a ``background`` (a colour name or RGB tuple,
    ``"gradient"``, or ``"footage"``: a still textured picture from ``footage_seed``), the font
    ``font_size`` times the frame height. ``scroll`` > 0 rolls the text upwards like end credits
    (fraction of the frame height per second); ``fade`` seconds of fade in and out; ``font`` a
    TrueType file (default: Pillow's built-in font). Lines too wide for the frame get a smaller
    font."""
    w, h = int(size[0]), int(size[1])
    n = max(1, int(round(seconds * fps)))
    bg = background
    if background == "footage":
        tex = _texture(h, w, np.random.default_rng(footage_seed or 0))
        bg = (0.8 * tex * 255).astype(np.uint8)
    font_px = int(round(font_size * h))
    from PIL import Image, ImageDraw

    probe = ImageDraw.Draw(Image.new("RGB", (8, 8)))
    while font_px > 6 and max(probe.textlength(ln, font=_font(font_px, font))
                              for ln in lines) > 0.92 * w:
        font_px -= 1

    def frames():
        base = None
        for i in range(n):
            t = i / fps
            # rolling credits start with the first line at 60 % of the height
            start = 0.1 * h + len(lines) * int(font_px * 1.5) / 2.0
            off = scroll * h * t - start if scroll else 0.0
            if base is None or scroll:
                base = _text_frame(w, h, lines, background=bg, colour=colour, font_px=font_px,
                                   offset=off, align=align, font=font)
            img = base
            if fade:
                a = min(1.0, t / fade, (seconds - t) / fade)
                img = (base.astype(np.float32) * max(a, 0.0)).astype(np.uint8)
            yield img

    return write_video(path, frames(), size=(w, h), fps=fps, crf=crf)


def _busy_texture(h: int, w: int, rng, leaves: float) -> np.ndarray:
    """:func:`_texture` sprinkled over ``leaves`` of its area with small sharp specks of random
    colour (2-4 pixels: a busy picture like foliage, with sharp steps in every row)."""
    bg = _texture(h, w, rng)
    k = int(leaves * h * w / 9.0)
    for y0, x0, s, c in zip(rng.integers(0, h - 4, k), rng.integers(0, w - 4, k),
                            rng.integers(2, 5, k), rng.uniform(0.05, 0.95, (k, 3))):
        bg[y0:y0 + s, x0:x0 + s] = c
    return bg


def make_title_over_footage(path, lines=("BIG TITLE", "LETTERS"), *, seconds: float = 2.0,
                            size=(640, 360), fps: int = 30, seed: int = 0,
                            font_size: float = 0.2, bold: float = 0.04, colour=(250, 250, 250),
                            pan=(0.03, 0.01), leaves: float = 0.04, fade: float = 0.0, font=None,
                            crf: int = 20) -> Path:
    """A title logo over footage: ``lines`` of large lettering (the font ``font_size`` times the
    frame height, thickened by ``bold`` times the font size) in one flat ``colour``, centred
    over a textured picture that pans (``pan`` in frame widths/heights per second) with grain;
    ``leaves`` sprinkles that share of the picture with small sharp specks of random colour (a
    busy picture like foliage, sharp steps in every row); ``fade`` seconds of fade in and out
    of the lettering (it blends into the picture)."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    w, h = int(size[0]), int(size[1])
    n = max(1, int(round(seconds * fps)))
    mx, my = int(abs(pan[0]) * w * seconds) + 8, int(abs(pan[1]) * h * seconds) + 8
    bg = _busy_texture(h + 2 * my, w + 2 * mx, rng, leaves)
    font_px = int(round(font_size * h))
    f = _font(font_px, font)
    sw = max(1, int(round(bold * font_px)))
    probe = ImageDraw.Draw(Image.new("L", (8, 8)))
    while font_px > 6 and max((probe.textlength(ln, font=f) + 2 * sw for ln in lines),
                              default=0) > 0.9 * w:
        font_px -= 1
        f = _font(font_px, font)
        sw = max(1, int(round(bold * font_px)))
    mask = Image.new("L", (w, h), 0)
    d = ImageDraw.Draw(mask)
    boxes = [d.textbbox((0, 0), ln, font=f, stroke_width=sw) for ln in lines]
    gap = int(0.1 * font_px)
    total = sum(b[3] - b[1] for b in boxes) + gap * max(0, len(lines) - 1)
    y = (h - total) / 2
    for ln, b in zip(lines, boxes):
        d.text(((w - (b[2] - b[0])) / 2 - b[0], y - b[1]), ln, font=f, fill=255,
               stroke_width=sw, stroke_fill=255)
        y += b[3] - b[1] + gap
    alpha = (np.asarray(mask, dtype=np.float32) / 255.0)[..., None]
    paint = np.asarray(colour, dtype=np.float32) / 255.0

    def frames():
        for i in range(n):
            t = i / fps
            ox, oy = mx + int(round(pan[0] * w * t)), my + int(round(pan[1] * h * t))
            img = bg[oy:oy + h, ox:ox + w] + rng.normal(0.0, 0.01, size=(h, w, 3))
            a = alpha * (min(1.0, t / fade, (seconds - t) / fade) if fade else 1.0)
            yield (np.clip(img * (1.0 - a) + paint * a, 0, 1) * 255 + 0.5).astype(np.uint8)

    return write_video(path, frames(), size=(w, h), fps=fps, crf=crf)


def make_bright_shapes(path, *, seconds: float = 2.0, size=(640, 360), fps: int = 30,
                       seed: int = 0, count: int = 3, shape_size: float = 0.22,
                       colour=(250, 250, 250), sky: bool = False, railing: bool = False,
                       books: bool = False, leaves: float = 0.04, crf: int = 20) -> Path:
    """Bright, high-contrast pictures that are not lettering: ``count`` big flat ``colour``
    blobs (ellipses ``shape_size`` times the frame height, hard-edged) drifting over a textured
    picture (``leaves`` as in :func:`make_title_over_footage`); ``sky`` adds an over-exposed
    white sky over the top half, with soft clouds; ``railing`` a band of thin dark bars (a
    railing, a fence, blinds) in front of a white wall across the middle third; ``books`` a
    shelf of flat-coloured books of random widths, heights and colours across the middle."""
    rng = np.random.default_rng(seed)
    w, h = int(size[0]), int(size[1])
    n = max(1, int(round(seconds * fps)))
    bg = _busy_texture(h, w + 64, rng, leaves)
    yy, xx = np.mgrid[0:h, 0:w]
    centres = np.column_stack([rng.uniform(0.2, 0.8, count) * w, rng.uniform(0.3, 0.7, count) * h])
    radii = shape_size * h * rng.uniform(0.8, 1.2, size=(count, 2)) * np.array([1.3, 1.0])
    paint = np.asarray(colour, dtype=np.float32) / 255.0
    clouds = _texture(h, w + 64, rng, colour=False)[..., 0]
    shelf = np.zeros((h, w, 3))
    on_shelf = np.zeros((h, w), dtype=bool)
    x = 0
    while books and x < w:
        bw_, top = int(rng.integers(4, 14)), int(h * rng.uniform(0.3, 0.45))
        shelf[top:int(0.7 * h), x:x + bw_] = rng.uniform(0.05, 0.95, 3)
        on_shelf[top:int(0.7 * h), x:x + bw_] = True
        x += bw_ + int(rng.integers(0, 3))

    def frames():
        for i in range(n):
            t = i / fps
            ox = int(round(20 * t))
            img = bg[:, ox:ox + w].copy()
            if sky:
                c = clouds[:, ox:ox + w]
                top = np.clip(1.2 - 0.4 * yy / h, 0.0, 1.0)[..., None]
                sky_px = np.clip(0.92 + 0.1 * (c - c.mean())[..., None], 0, 1) * np.ones(3)
                img = np.where((yy < 0.5 * h)[..., None], sky_px * top + img * (1 - top), img)
            if railing:
                band = (yy >= h // 3) & (yy < 2 * h // 3)
                bars = ((xx + ox // 2) % 12) < 3
                img[band] = np.where(bars[band][:, None], 0.12, 0.92)
            if books:
                img[on_shelf] = shelf[on_shelf]
            for (cx, cy), (rx, ry) in zip(centres, radii):
                cx = cx + 0.05 * w * np.sin(2 * np.pi * 0.5 * t)
                img[((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1.0] = paint
            img = img + rng.normal(0.0, 0.01, size=img.shape)
            yield (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)

    return write_video(path, frames(), size=(w, h), fps=fps, crf=crf)


def make_flat_clip(path, *, colour=(0, 0, 0), noise: float = 0.0, seconds: float = 2.0,
                   size=(640, 360), fps: int = 30, seed: int = 0, crf: int = 18) -> Path:
    """A flat frame of one ``colour`` (RGB 0-255), with optional Gaussian noise (0-1 units)."""
    w, h = int(size[0]), int(size[1])
    rng = np.random.default_rng(seed)
    n = max(1, int(round(seconds * fps)))
    base = np.broadcast_to(np.asarray(colour, dtype=np.float32) / 255.0, (h, w, 3))

    def frames():
        for _ in range(n):
            img = base + (rng.normal(0, noise, size=(h, w, 3)) if noise else 0.0)
            yield (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)

    return write_video(path, frames(), size=(w, h), fps=fps, crf=crf)


#: What :func:`derive_clip` can make from a source clip.
DERIVATIONS = ("reencode", "grey", "crop", "excerpt", "letterbox", "pillarbox", "upscale", "blocky")


def derive_clip(src, dst, kind: str, *, start: float = 0.0, duration: float | None = None,
                crop: float = 0.8, size=None, low=(176, 144), crf: int = 28) -> Path:
    """Make a related copy of ``src`` with the ffmpeg binary.

    ``kind``: ``reencode`` (another codec setting and size), ``grey`` (greyscale copy), ``crop``
    (the centre ``crop`` share of each side), ``excerpt`` (``duration`` seconds from ``start``),
    ``letterbox`` / ``pillarbox`` (the picture fitted into ``size`` with black bars: 2.39:1 bars
    top and bottom, or a 4:3 picture between bars at the sides), ``upscale`` (shrunk to ``low``,
    then blown back up to ``size``), ``blocky`` (very low bit rate). ``start``/``duration`` trim
    any kind."""
    from .media import run_ffmpeg

    if kind not in DERIVATIONS:
        raise ValueError(f"unknown derivation {kind!r}; one of {', '.join(DERIVATIONS)}")
    args = ["-y"]
    if start:
        args += ["-ss", f"{start:.3f}"]
    args += ["-i", str(src)]
    if duration is not None:
        args += ["-t", f"{duration:.3f}"]
    w, h = size if size else (None, None)
    vf = []
    enc = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "18"]
    if kind == "reencode":
        vf.append(f"scale={w or 'trunc(iw*0.75/2)*2'}:{h or 'trunc(ih*0.75/2)*2'}")
        enc = ["-c:v", "mpeg4", "-q:v", "5"]
    elif kind == "grey":
        vf.append("hue=s=0")
    elif kind == "crop":
        vf.append(f"crop=trunc(iw*{crop}/2)*2:trunc(ih*{crop}/2)*2")
    elif kind in ("letterbox", "pillarbox"):
        w, h = size or (640, 360)
        if kind == "letterbox":
            ph = int(round(w / 2.39 / 2)) * 2
            vf += [f"scale={w}:{ph}", f"pad={w}:{h}:0:(oh-ih)/2:black"]
        else:
            pw = int(round(h * 4 / 3 / 2)) * 2
            vf += [f"scale={pw}:{h}", f"pad={w}:{h}:(ow-iw)/2:0:black"]
    elif kind == "upscale":
        w, h = size or (640, 360)
        vf += [f"scale={low[0]}:{low[1]}:flags=area", f"scale={w}:{h}:flags=bicubic"]
    elif kind == "blocky":
        enc = ["-c:v", "libx264", "-preset", "veryfast", "-crf", str(max(crf, 40)),
               "-x264-params", "deblock=-6,-6"]
    vf.append("format=yuv420p")
    args += ["-vf", ",".join(vf), *enc, "-an", str(dst)]
    run_ffmpeg(args, what=f"making a {kind} copy")
    return Path(dst)
