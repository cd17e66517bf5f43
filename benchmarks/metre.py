"""Metre on synthetic songs with exact truth: 6/8 and 12/8 (:func:`musync.testing.compound_song`)
against 4/4, triplet swing and 3/4 (:func:`musync.testing.make_song`).

Usage::

    python benchmarks/metre.py [--markdown]

For every song: the metre it is written in, what musync reports (``Analysis.metre``), the tempo
against the beat's (dotted quarter for 6/8 and 12/8), beat F and downbeat F (mir_eval, 70 ms) and
the metre confidence. The song list is a fixed rule (tempi and chord rhythms chosen before any
result was seen), not tuned to what musync gets right; the rows marked "limit" are the cases the
README's known limits describe.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from _common import code_version, fmt, format_table

FORM = [("verse", 8), ("chorus", 8)]


def _songs():
    from musync.testing import compound_song, make_song

    for bpm in (50, 60, 72, 80, 100, 120):
        yield f"6/8 {bpm} BPM, chord a bar", "6/8", compound_song(bpm=bpm, humanize=0.005, seed=bpm), ""
    for bpm in (60, 80, 100):
        yield (f"6/8 {bpm} BPM, chord every 2 bars", "6/8",
               compound_song(bpm=bpm, chord_beats=4, humanize=0.005, seed=bpm), "limit")
        yield (f"6/8 {bpm} BPM, one chord", "6/8",
               compound_song(bpm=bpm, chord_beats=0, humanize=0.005, seed=bpm), "limit")
    for bpm in (60, 70, 90, 110):
        yield f"12/8 {bpm} BPM, chord a bar", "12/8", compound_song(bpm=bpm, beats_per_bar=4, humanize=0.005,
                                                                    seed=bpm), ""
    yield "12/8 90 BPM, one chord", "12/8", compound_song(bpm=90, beats_per_bar=4, chord_beats=0, seed=9), "limit"
    for bpm in (96, 140):
        yield f"4/4 swing {bpm} BPM", "12/8", make_song(bpm=bpm, hats=2, swing=0.33, form=FORM, humanize=0.01,
                                                        seed=1), ""
    for bpm, hats in ((90, 2), (60, 4), (120, None), (174, None)):
        yield f"4/4 {bpm} BPM", "4/4", make_song(bpm=bpm, hats=hats, form=FORM, humanize=0.01, seed=1), ""
    for bpm in (108, 150):
        yield f"3/4 {bpm} BPM", "3/4", make_song(bpm=bpm, beats_per_bar=3, downbeat_gain=0.3, pickup=1, form=FORM,
                                                 humanize=0.005, seed=2), ""


def main(argv=None) -> int:
    import mir_eval

    from musync.analysis import analyze_signal

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--markdown", action="store_true", help="print the table as markdown")
    args = ap.parse_args(argv)
    print(f"musync analysis code at {code_version()}")
    rows, right = [], []
    for name, truth, s, note in _songs():
        a = analyze_signal(s.y, s.sr)
        f = mir_eval.beat.f_measure(s.beats, a.beats)
        df = mir_eval.beat.f_measure(s.downbeats, a.downbeats)
        ok = a.metre == truth
        if not note:
            right.append(ok)
        rows.append([name, truth, a.metre, fmt(s.tempo, 1), fmt(a.tempo, 1), fmt(f), fmt(df),
                     fmt(a.confidences.get("metre", 0.0), 2), "yes" if ok else "NO", note])
        print(f"  {name}: {a.metre} {a.tempo:.1f} BPM, F {f:.3f} DbF {df:.3f}", file=sys.stderr)
    print(format_table(["song", "written", "musync", "ref BPM", "BPM", "F", "DbF", "metre conf", "right", ""],
                       rows, title="metre on synthetic songs", markdown=args.markdown))
    print(f"\nmetre right on {sum(right)} of {len(right)} songs (the 'limit' rows not counted); "
          f"mean downbeat F {np.mean([float(r[6]) for r in rows]):.3f} over all {len(rows)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
