"""Rendering a variant: the same song and clips in another style and seed, as a draft video.

``musync plan --variants N`` writes several plans; from Python a variant is just another
``plan`` call. This script makes the default plan and a faster variant (``every-beat``, another
seed), prints how they differ, and renders the variant as a small draft with the song.

Usage::

    python examples/render_variant.py [SONG CLIPS_FOLDER] [OUT.mp4]
"""

from __future__ import annotations

import sys
from pathlib import Path

import musync

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _media import example_inputs  # noqa: E402


def main(argv: list[str]) -> int:
    with example_inputs(argv, "variant.mp4") as (song, clip_paths, out):
        analysis = musync.analyze(song, use_cache=False)
        clips = musync.scan_clips(clip_paths, use_cache=False)
        base = musync.plan(analysis, clips, style="energy", seed=0, fps=30)
        variant = musync.plan(analysis, clips, style="every-beat", seed=1, fps=30)
        same = sum(1 for a, b in zip(base.shots, variant.shots)
                   if (a.record_in, a.source) == (b.record_in, b.source))
        print(f"base: {len(base.shots)} shots, variant: {len(variant.shots)} shots, "
              f"{same} start at the same frame with the same clip")
        res = musync.render(variant, out, size=(320, 180), overwrite=True, progress="none")
        print(f"wrote {res.path}: {res.frames} frames at {variant.fps} fps in {res.seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
