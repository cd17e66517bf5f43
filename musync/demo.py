"""``musync demo``: make an example song and clips, then run the whole pipeline on them.

Public: :func:`run_demo`, :func:`make_example`.

Everything the demo uses is generated here (the song by :func:`musync.testing.make_song`, the
clips by :func:`musync.testing.make_clip_files` through the ffmpeg binary), so a fresh install
needs nothing else.
"""

from __future__ import annotations

from pathlib import Path

from .errors import ParameterError

__all__ = ["run_demo", "make_example"]

_FORM_BARS = (("intro", 4), ("verse", 4), ("chorus", 4), ("bridge", 4), ("chorus", 4), ("outro", 4))


def make_example(folder, *, seconds: float = 48.0, n_clips: int = 10, overwrite: bool = False):
    """Write ``song.wav`` (about ``seconds`` long, 120 BPM, six sections) and ``clips/`` into
    ``folder``. Returns ``(song_path, clips_folder)``."""
    from .testing import make_clip_files, make_song

    if seconds < 12 or seconds > 600:
        raise ParameterError("--seconds must be between 12 and 600")
    folder = Path(folder)
    song = folder / "song.wav"
    clips = folder / "clips"
    if (song.exists() or clips.exists()) and not overwrite:
        return song, clips
    folder.mkdir(parents=True, exist_ok=True)
    bpm = 120.0
    total_bars = max(6, int(round(seconds / (4 * 60.0 / bpm))))
    # spread the bars over the six sections; the last chorus takes what does not divide evenly
    bars = [total_bars // 6] * 6
    bars[4] += total_bars - sum(bars)
    form = [(kind, b) for (kind, _), b in zip(_FORM_BARS, bars)]
    make_song(bpm=bpm, form=form, pickup=1, seed=7).write(song)
    make_clip_files(clips, n_clips, seconds=4.0, size=(480, 270), seed=7)
    return song, clips


def run_demo(folder="musync-demo", *, seconds: float = 48.0, overwrite: bool = False, echo=print,
             render: bool = True) -> dict:
    """Make the example in ``folder`` and run analyse -> scan -> plan -> export -> render.

    Returns a dict of the files written.
    """
    from . import analyze, plan, save_analysis, save_plan, scan_clips
    from .report import plot_analysis

    from ._fs import check_output

    folder = Path(folder)
    names = ["analysis.json", "analysis.png", "plan.json", "edit.otio"] + (["draft.mp4"] if render else [])
    if folder.is_dir():
        for name in names:                   # refuse before doing any work
            check_output(folder / name, overwrite=overwrite)
    song, clips_dir = make_example(folder, seconds=seconds, overwrite=overwrite)
    out = {"song": song, "clips": clips_dir}
    echo(f"example song and clips in {folder}/")
    a = analyze(song)
    out["analysis"] = save_analysis(a, folder / "analysis.json", overwrite=overwrite)
    out["plot"] = plot_analysis(a, folder / "analysis.png", overwrite=overwrite)
    echo(f"analysed: {a.tempo:.1f} BPM, {len(a.beats)} beats, {len(a.sections)} sections "
         f"({' '.join(s.label for s in a.sections)}), climax at {a.climax:.1f} s")
    clips = scan_clips([clips_dir], progress="none")
    echo(f"scanned: {len(clips)} clips")
    p = plan(a, clips)
    out["plan"] = save_plan(p, folder / "plan.json", overwrite=overwrite)
    m = p.metrics
    echo(f"planned: {m['shots']} shots, {100 * m['cuts_on_beat']:.0f}% of cuts on a beat, "
         f"{100 * m['section_boundaries_cut']:.0f}% of section starts cut, "
         f"pace/energy correlation {m['pace_energy_correlation']:.2f}")
    from .export import export

    out["otio"] = export(p, folder / "edit.otio", overwrite=overwrite)
    echo(f"exported: {out['otio']}")
    if render:
        from .render import render as _render

        res = _render(p, folder / "draft.mp4", overwrite=overwrite, progress="none")
        out["video"] = res.path
        echo(f"rendered: {res.path} ({res.duration:.1f} s of video in {res.seconds:.1f} s)")
    echo(f"done: open {folder / 'draft.mp4' if render else folder / 'plan.json'}")
    return out
