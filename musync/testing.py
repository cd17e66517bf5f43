"""Synthetic media with known answers, for tests, benchmarks, docs and the example.

Public functions:

- :func:`click_track` -- clicks on a steady grid (accented downbeats), with a known pickup.
- :func:`make_song` -- a small multi-section song (drums, bass, chords, lead) with its ground truth:
  beats, downbeats, sections with repeat labels, and per-section energy. Options for metre,
  pickup, tempo drift, humanised timing.
- :func:`write_wav` -- save a float signal as 16-bit PCM WAV.

Everything is deterministic for a given ``seed``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["click_track", "make_song", "SyntheticSong", "write_wav", "SECTION_STYLES",
           "synthetic_clip_infos", "make_clip_files"]


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
              seed: int = 0, tail: float = 1.0) -> SyntheticSong:
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
                if style["kick"] and (k == 0 or (beats_per_bar == 4 and k == 2)):
                    _add(y, kick, bt + jit(), sr, 0.9 * lvl)
                if style["snare"] and (k % 2 == 1 if beats_per_bar == 4 else k > 0):
                    _add(y, snare, bt + jit(), sr, 0.5 * lvl)
                if style["hats"]:
                    _add(y, hat, bt + jit(), sr, 0.5 * lvl)
                    _add(y, hat, bt + pt / 2 + jit(), sr, 0.3 * lvl)
                if style["bass"]:
                    tb = np.arange(int(pt * 0.9 * sr)) / sr
                    f = _hz(notes[0] - 12)
                    benv = np.minimum(1.0, tb / 0.005) * np.exp(-tb / 0.25)
                    _add(y, np.sin(2 * np.pi * f * tb) * benv, bt + jit(), sr, 0.35 * lvl)
                if style["lead"]:
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
    y = (0.9 / peak) * y
    lv = np.asarray(levels)
    energy = tuple(float(v) for v in (lv - lv.min()) / max(lv.max() - lv.min(), 1e-9))
    downbeats = beats[pickup::beats_per_bar]
    # climax: start of the last of the loudest sections
    top = max(range(len(levels)), key=lambda i: (levels[i], i))
    climax = sections[top][0]
    params = dict(bpm=bpm, beats_per_bar=beats_per_bar, pickup=pickup, tempo_drift=tempo_drift,
                  humanize=humanize, key=key, seed=seed, form=[list(f) for f in form])
    return SyntheticSong(y=y.astype(np.float32), sr=sr, beats=beats, downbeats=downbeats,
                         beats_per_bar=beats_per_bar, sections=tuple(sections),
                         section_energy=energy, climax=float(climax), params=params)


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
