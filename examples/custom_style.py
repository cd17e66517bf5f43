"""Custom weights and styles: start from a preset, change what matters, compare the metrics.

A style is only a bundle of :class:`musync.PlanSettings` values (``musync.STYLES``), so a house
style is a dict of overrides: slower or faster pace (target shot length in beats at calm and
intense energy), bar lines only, the shortest shot, and the weights of the shot-filling search
(``motion`` vs the music's energy, ``continuity`` of brightness/colour, ``peak`` on accents,
``climax`` hold-back). The script plans the same song three ways and prints the metrics side by
side, then writes the chosen plan.

Usage::

    python examples/custom_style.py [SONG CLIPS_FOLDER] [OUT_PLAN.json]
"""

from __future__ import annotations

import sys
from pathlib import Path

import musync

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _media import example_inputs  # noqa: E402

#: A slow, smooth house style: long shots, bar lines only, colour continuity over motion.
SLOW_AND_SMOOTH = dict(calm_beats=16.0, intense_beats=4.0, cut_on="downbeats", min_shot=1.0,
                       weights={"continuity": 2.5, "motion": 0.5})


def main(argv: list[str]) -> int:
    with example_inputs(argv, "plan.json") as (song, clip_paths, out):
        analysis = musync.analyze(song, use_cache=False)
        clips = musync.scan_clips(clip_paths, use_cache=False)
        plans = {
            "energy (preset)": musync.plan(analysis, clips, musync.make_settings("energy", seed=3)),
            "every-beat, motion x3": musync.plan(analysis, clips, musync.make_settings(
                "every-beat", seed=3, weights={"motion": 3.0})),
            "slow and smooth": musync.plan(analysis, clips, musync.make_settings(
                "phrase", seed=3, **SLOW_AND_SMOOTH)),
        }
        print(f"{'metric':26s}" + "".join(f"{name:>24s}" for name in plans))
        for key in ("shots", "mean_shot", "cuts_on_beat", "cuts_on_downbeat", "mean_brightness_jump"):
            vals = [p.metrics.get(key) for p in plans.values()]
            print(f"{key:26s}" + "".join(f"{v:>24.3f}" if isinstance(v, float) else f"{v!s:>24s}"
                                         for v in vals))
        chosen = plans["slow and smooth"]
        musync.save_plan(chosen, out, overwrite=True)
        print(f"wrote {out} ({chosen.settings.style}, weights {chosen.settings.weights})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
