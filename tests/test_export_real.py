"""A plan made by the planner on real media (../shared/data) exports to every format and reads
back to the frame; skipped where that folder is absent."""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import pytest

import musync
from musync.export import FORMATS, import_timeline, read_timeline
from musync.export.timeline import frames, path_from_url

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SONG = DATA / "audio" / "cc_long" / "beatgame_metronome_sogolumbo.ogg"
VIDEO = DATA / "video"

pytestmark = pytest.mark.skipif(not (SONG.is_file() and VIDEO.is_dir()),
                                reason=f"real media not found under {DATA}")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    os.environ["MUSYNC_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    try:
        analysis = musync.analyze(SONG, use_cache=False)
        clips = musync.scan_clips(VIDEO, use_cache=False)
    finally:
        del os.environ["MUSYNC_CACHE_DIR"]
    return analysis, clips


@pytest.mark.parametrize("fps", [Fraction(24000, 1001), Fraction(30000, 1001)], ids=["23.976", "29.97"])
def test_real_plan_exports_and_reads_back(inputs, tmp_path, fps):
    analysis, clips = inputs
    plan = musync.plan(analysis, clips, fps=fps, seed=1)
    for name, suffix in ((n, f.suffix) for n, f in FORMATS.items()):
        out = musync.export(plan, tmp_path / f"edit{suffix}")
        tl = read_timeline(out, name, fps=fps)
        v = [t for t in tl.tracks if t.kind == "Video"][0]
        got = []
        for i, c in enumerate(v):
            if c.schema_name() != "Clip":
                continue
            r = v.range_of_child_at_index(i)
            ar = c.media_reference.available_range
            got.append((frames(r.start_time, fps), frames(r.end_time_exclusive(), fps),
                        frames(c.source_range.start_time, fps) - (frames(ar.start_time, fps) if ar else 0),
                        os.path.basename(path_from_url(c.media_reference.target_url))))
        assert got == [(s.record_in, s.record_out, s.source_in, os.path.basename(s.source))
                       for s in plan.shots], name
        back = import_timeline(out, plan)
        assert back.shots == plan.shots, name
