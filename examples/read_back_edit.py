"""Reading an edited timeline back: export, change the cut "in the editor", import, re-plan.

The editor's work is simulated with the OpenTimelineIO API on the exported FCP7 XML (what
Premiere and Resolve send back): one cut moved by four frames, one shot swapped for another
clip, one shot deleted, and a marker added. ``musync import`` keeps exactly those decisions as
locks, leaves the untouched shots as proposals, turns the marker into a note and the deleted
shot into a gap; ``replan`` fills the gap and may improve the proposals around the locks.

Usage::

    python examples/read_back_edit.py [SONG CLIPS_FOLDER] [OUT_FOLDER]
"""

from __future__ import annotations

import sys
from pathlib import Path

import opentimelineio as otio

import musync
from musync.export import read_timeline
from musync.export.formats.fcp7 import write_fcp7

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _media import example_inputs  # noqa: E402


def edit_like_an_editor(tl: otio.schema.Timeline, other_clip: str) -> None:
    v = tl.video_tracks()[0]
    rate = v[0].source_range.duration.rate
    four = otio.opentime.RationalTime(4, rate)
    a, b = v[0], v[1]  # roll the first cut four frames later
    a.source_range = otio.opentime.TimeRange(a.source_range.start_time, a.source_range.duration + four)
    b.source_range = otio.opentime.TimeRange(b.source_range.start_time + four, b.source_range.duration - four)
    v[2].media_reference = otio.schema.ExternalReference(  # swap shot 2's clip
        target_url=Path(other_clip).resolve().as_uri(),
        available_range=v[2].media_reference.available_range)
    v[2].name = Path(other_clip).name
    gap = otio.schema.Gap(source_range=otio.opentime.TimeRange(duration=v[3].source_range.duration))
    del v[3]  # delete shot 3: leave a gap
    v.insert(3, gap)
    tl.tracks.markers.append(otio.schema.Marker(
        name="check the colour here", marked_range=otio.opentime.TimeRange(
            otio.opentime.RationalTime(12, rate), otio.opentime.RationalTime(0, rate))))


def main(argv: list[str]) -> int:
    with example_inputs(argv, "read-back") as (song, clip_paths, out):
        out.mkdir(parents=True, exist_ok=True)
        analysis = musync.analyze(song, use_cache=False)
        clips = musync.scan_clips(clip_paths, use_cache=False)
        plan = musync.plan(analysis, clips, fps=25, seed=2)
        sent = musync.export(plan, out / "edit.xml", overwrite=True)

        tl = read_timeline(sent, "xml")  # the editor opens it ...
        unused = [c.path for c in clips if c.path != plan.shots[2].source]
        edit_like_an_editor(tl, unused[0])
        write_fcp7(tl, out / "edited.xml", plan)  # ... and exports FCP7 XML back

        back = musync.import_timeline(out / "edited.xml", plan)
        print(back.warnings[-1])
        for s in back.shots[:5]:
            print(f"  shot {s.index}: {'LOCKED' if s.locked else 'proposal':8s} frames "
                  f"{s.record_in}-{s.record_out}  {Path(s.source).name}  ({s.reason})")
        print("notes:", [(n["frame"], n["name"]) for n in back.markers.get("notes", [])])
        final = musync.replan(back, analysis, clips)
        kept = [s for s in final.shots if s.locked]
        print(f"re-planned: {len(final.shots)} shots, {len(kept)} locked kept exactly")
        musync.save_plan(final, out / "final-plan.json", overwrite=True)
        musync.export(final, out / "final.xml", overwrite=True)
        print(f"wrote {out / 'final-plan.json'} and {out / 'final.xml'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
