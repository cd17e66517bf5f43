"""Hand-built inputs for the planner tests: analyses with a known grid, clips with known peaks."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from musync.types import Analysis, AudioInfo, ClipInfo, Section


def grid_analysis(*, bpm: float = 120.0, bars: int = 32, bpb: int = 4, start: float = 0.5,
                  sections=((0, "A", "verse", 0.5),), climax_bar: int | None = None,
                  strength=None, offbeat=None, fallback: bool = False, confidence: float = 0.95,
                  duration: float | None = None, loudness=None) -> Analysis:
    """An Analysis on an exact grid: ``bars`` bars of ``bpb`` beats from ``start`` seconds.

    ``sections``: ``(first bar, label, kind, energy)``; the energy curve is flat at each section's
    energy. ``strength``: per-beat onset strength (default: 1.0 on downbeats, 0.8 on the middle
    beat, 0.3 elsewhere). ``climax_bar``: the climax is that bar's downbeat. ``loudness``: the
    RMS level (dB) of every bar (default: no loudness curve).
    """
    period = 60.0 / bpm
    n = bars * bpb
    beats = start + period * np.arange(n)
    downs = beats[::bpb]
    dur = duration if duration is not None else float(beats[-1] + period)
    if strength is None:
        k = np.arange(n) % bpb
        strength = np.where(k == 0, 1.0, np.where((bpb == 4) & (k == 2), 0.8, 0.3))
    et = np.arange(0.0, dur, 0.1)
    energy = np.zeros(et.size)
    secs = []
    for i, (b0, label, kind, e) in enumerate(sections):
        t0 = 0.0 if i == 0 else float(downs[b0])
        t1 = dur if i == len(sections) - 1 else float(downs[sections[i + 1][0]])
        energy[(et >= t0) & (et < t1)] = e
        secs.append(Section(t0, t1, label, float(e), kind))
    climax = float(downs[climax_bar]) if climax_bar is not None else 0.0
    loud = np.zeros(0)
    if loudness is not None:
        levels = np.asarray(loudness, dtype=np.float64)
        bar_of = np.clip(np.searchsorted(downs, et, side="right") - 1, 0, levels.size - 1)
        loud = levels[bar_of]
    return Analysis(audio=AudioInfo("/song.wav", "s" * 64, dur, 44100, 2), duration=dur, tempo=bpm,
                    beats=beats, beat_strength=np.asarray(strength, dtype=np.float64), downbeats=downs,
                    beats_per_bar=bpb, sections=tuple(secs), energy_times=et, energy=energy,
                    climax=climax, confidence=0.0 if fallback else confidence, fallback=fallback,
                    offbeat_strength=np.zeros(0) if offbeat is None else np.asarray(offbeat, dtype=np.float64),
                    loudness=loud)


def clip(i: int, *, dur: float = 8.0, peak: float | None = None, motion: float = 0.3,
         bright: float = 0.5, fps: int = 30, usable_in: float = 0.0) -> ClipInfo:
    """A clip record with a known usable window ``[usable_in, dur)`` and one motion peak."""
    pk = [] if peak is None else [peak]
    return ClipInfo(path=f"/clips/c{i:03d}.mp4", duration=dur, frame_count=int(dur * fps), fps=Fraction(fps),
                    vfr=False, size=(1920, 1080), rotation=0, pix_fmt="yuv420p", codec="h264",
                    has_audio=False, start_time=0.0, is_still=False, usable_in=usable_in, usable_out=dur,
                    brightness=bright, contrast=0.2, saturation=0.5, palette=(100 * bright, 10.0 * i % 30, 0.0),
                    motion=motion, peak_times=pk, peak_strengths=[0.5] * len(pk))
