"""Pictures of what musync heard and planned (matplotlib, Agg backend).

Public: :func:`plot_analysis`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ._fs import atomic_output
from .types import Analysis

__all__ = ["plot_analysis"]

_KIND_COLOURS = {"intro": "#9ecae1", "verse": "#a1d99b", "chorus": "#fc9272", "bridge": "#dadaeb",
                 "outro": "#bdbdbd", "": "#eeeeee"}


def plot_analysis(analysis: Analysis, path, *, y: np.ndarray | None = None, sr: int | None = None,
                  overwrite: bool = False) -> Path:
    """One PNG: waveform envelope, beats, downbeats, section spans and labels, energy curve,
    climax, all on one time axis. ``y``/``sr`` default to decoding ``analysis.audio.path``."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    if y is None:
        from .media import load_audio

        sr = 8000
        try:
            y, _ = load_audio(analysis.audio.path, sr=sr)
        except Exception:
            y = np.zeros(int(analysis.duration * sr), dtype=np.float32)
    dur = analysis.duration
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(14, 5.5), sharex=True,
                                   gridspec_kw={"height_ratios": [2, 1]})
    try:
        # waveform as a min/max envelope (fast for long songs)
        n = y.size
        bins = max(1, min(4000, n))
        edges = np.linspace(0, n, bins + 1).astype(int)
        ymax = np.maximum.reduceat(y, edges[:-1]) if n else np.zeros(1)
        ymin = np.minimum.reduceat(y, edges[:-1]) if n else np.zeros(1)
        t = edges[:-1] / float(sr)
        for s in analysis.sections:
            c = _KIND_COLOURS.get(s.kind, "#eeeeee")
            for ax in (ax1, ax2):
                ax.axvspan(s.start, s.end, color=c, alpha=0.45, lw=0)
            ax1.text(s.start + 0.2, 1.02, f"{s.label} {s.kind}", fontsize=8, va="bottom",
                     transform=ax1.get_xaxis_transform())
        ax1.fill_between(t, ymin, ymax, color="#333333", lw=0)
        ax1.vlines(analysis.beats, -1, 1, color="#3182bd", lw=0.5, alpha=0.6, label="beats")
        ax1.vlines(analysis.downbeats, -1, 1, color="#de2d26", lw=1.2, alpha=0.9, label="downbeats")
        ax1.axvline(analysis.climax, color="#e6550d", lw=2.5, ls="--", label="climax")
        ax1.set_ylim(-1, 1)
        ax1.set_ylabel("waveform")
        title = (f"{Path(analysis.audio.path).name}: {analysis.tempo:.1f} BPM, "
                 f"{analysis.metre}, confidence {analysis.confidence:.2f}")
        if analysis.fallback:
            title += " (FALLBACK GRID)"
        ax1.set_title(title, fontsize=10, pad=16)
        ax1.legend(loc="lower right", fontsize=7, ncol=3)
        ax2.plot(analysis.energy_times, analysis.energy, color="#e6550d", lw=1.5)
        for s in analysis.sections:
            ax2.hlines(s.energy, s.start, s.end, color="#636363", lw=1.0, ls=":")
        ax2.axvline(analysis.climax, color="#e6550d", lw=2.5, ls="--")
        ax2.set_ylim(0, 1.05)
        ax2.set_ylabel("energy")
        ax2.set_xlabel("time (s)")
        ax2.set_xlim(0, dur)
        fig.tight_layout()
        with atomic_output(path, overwrite=overwrite, suffix=".png") as tmp:
            fig.savefig(tmp, dpi=110, format="png")
    finally:
        plt.close(fig)
    return Path(path)
