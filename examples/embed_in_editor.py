"""Inside another tool: analyse -> plan -> timeline, all in memory; the only file is the result.

A host application (an editor plug-in, a web service, a batch job) usually has the song as
samples or bytes and wants a timeline object back, not files on disk. This script:

1. decodes nothing itself: the song goes to ``musync.analyze`` as a file-like object (an upload),
2. scans the clips and plans the cut,
3. builds the OpenTimelineIO timeline in memory (``build_timeline``) and reads it like a host
   would (shots, cut markers, the beat grid),
4. serialises it once, to the one output file (or hands the string to the host).

Usage::

    python examples/embed_in_editor.py [SONG CLIPS_FOLDER] [OUT.otio]
"""

from __future__ import annotations

import io
import sys
from dataclasses import replace
from pathlib import Path

import opentimelineio as otio

import musync
from musync.export import build_timeline

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _media import example_inputs  # noqa: E402


def main(argv: list[str]) -> int:
    with example_inputs(argv, "edit.otio") as (song, clip_paths, out):
        upload = io.BytesIO(Path(song).read_bytes())  # what a host receives
        analysis = musync.analyze(upload, use_cache=False)
        clips = musync.scan_clips(clip_paths, use_cache=False)
        plan = musync.plan(analysis, clips, style="energy", fps="24000/1001", seed=7)
        # the upload has no path: tell the timeline where the host keeps the song
        plan = replace(plan, audio=replace(plan.audio, path=str(Path(song).resolve())))

        timeline = build_timeline(plan, name="my song - take 1")
        video = timeline.video_tracks()[0]
        beats = [m for m in timeline.tracks.markers if m.metadata["musync"]["kind"] in ("beat", "downbeat")]
        print(f"{analysis.tempo:.1f} BPM, {len(video)} shots on {video.name}, {len(beats)} beat markers")
        for clip in list(video)[:3]:
            rng = clip.range_in_parent()
            print(f"  {clip.name}: timeline {rng.start_time.to_timecode()} for "
                  f"{rng.duration.value:.0f} frames ({clip.metadata['musync']['reason']})")
        text = otio.adapters.write_to_string(timeline, "otio_json")
        out.write_text(text, encoding="utf-8")
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
