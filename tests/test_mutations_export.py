"""Small bugs the export tests would let through: marker names and lengths, file URLs from
other editors, the framing's direction, FCPXML asset lengths, conform of late clip markers,
connected audio markers, what an import locks and reports, short-gap merging at its edges, and
``--collect`` with two files of one name or a file it cannot convert.

Oracles: the files are read with ElementTree (FCPXML, FCP7 XML), the media with PyAV, times are
counted in whole frames by hand; the plans come from ``test_export.make_plan``.
"""

from __future__ import annotations

import filecmp
import os
import shutil
import xml.etree.ElementTree as ET
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio
import pytest

from musync.errors import MusyncError
from musync.export import build_timeline, export, import_timeline, read_timeline
from musync.export.collect import collect_media
from musync.export.formats.fcpxml import parse_fcpx_time
from musync.export.formats.otio import write_otio
from musync.export.timeline import frames, path_from_url, timeline_markers
from musync.planfile import validate_plan
from musync.types import ShotCrop

from test_export import make_plan, media, video_clips  # noqa: F401  (media is a fixture)


def _t(s: str) -> Fraction:
    v = parse_fcpx_time(s)
    assert v is not None, s
    return v


# -- markers ---------------------------------------------------------------------------------------

def test_bars_are_numbered_from_one_and_every_downbeat_is_a_marker(media, tmp_path):
    plan = make_plan(media, 25)
    downs = [0, 50, 100, 140]             # 140 is not in the beat list: still a bar marker
    plan = replace(plan, markers=dict(plan.markers, downbeats=downs))
    root = ET.parse(export(plan, tmp_path / "e.xml")).getroot()
    seq = root.find(".//sequence")
    bars = sorted((int(m.findtext("in")), m.findtext("name")) for m in seq.findall("marker")
                  if m.findtext("name").startswith("bar "))
    assert bars == [(f, f"bar {k}") for k, f in enumerate(downs, start=1)]


def test_a_note_that_runs_past_the_end_stops_at_the_end(media):
    plan = make_plan(media, 30)
    n = plan.duration_frames
    plan = replace(plan, markers=dict(plan.markers, notes=[{"frame": n - 5, "name": "late", "duration": 100},
                                                           {"frame": n + 3, "name": "after"}]))
    notes = [m for m in timeline_markers(plan) if m.metadata["musync"]["kind"] == "note"]
    assert [(m.name, frames(m.marked_range.start_time, 30), frames(m.marked_range.duration, 30))
            for m in notes] == [("late", n - 5, 5)]


def test_every_fcpxml_marker_lasts_at_least_a_frame(media, tmp_path):
    fps = Fraction(24000, 1001)
    plan = make_plan(media, fps)
    root = ET.parse(export(plan, tmp_path / "e.fcpxml")).getroot()
    marks = list(root.iter("marker"))
    assert marks and all(_t(m.get("duration")) >= 1 / fps for m in marks)
    secs = {m.get("value"): _t(m.get("duration")) * fps for m in marks if m.get("value") in ("A intro", "B chorus")}
    n = plan.duration_frames
    assert secs == {"A intro": n // 3, "B chorus": n - n // 3}


def test_editor_markers_outside_the_song_are_dropped_and_said(media, tmp_path):
    plan = make_plan(media, 30)
    tl = build_timeline(plan)
    for f, name in ((40, "keep"), (plan.duration_frames + 10, "past the end")):
        tl.tracks.markers.append(otio.schema.Marker(name=name, marked_range=otio.opentime.TimeRange(
            otio.opentime.RationalTime(f, 30), otio.opentime.RationalTime(0, 30))))
    write_otio(tl, tmp_path / "m.otio")
    new = import_timeline(tmp_path / "m.otio", plan)
    assert [(m["frame"], m["name"]) for m in new.markers["notes"]] == [(40, "keep")]
    assert "1 editor marker(s) outside the song dropped: 'past the end'" in new.warnings[-1]


# -- file URLs as other editors write them --------------------------------------------------------------

@pytest.mark.parametrize("url, path", [
    ("file://localhost/Users/me/My%20Clips/a%23.mov", "/Users/me/My Clips/a#.mov"),      # Premiere
    ("file:///tmp/%C3%A9t%C3%A9.mp4", "/tmp/été.mp4"),
    ("file://server/share/x.mp4", "//server/share/x.mp4"),                               # a network share
    ("file:///C:/Media/x.mp4", "C:/Media/x.mp4"),
    ("relative/name.mp4", "relative/name.mp4"),
])
def test_paths_from_file_urls(url, path):
    assert path_from_url(url) == path


# -- FCPXML ----------------------------------------------------------------------------------------------

def _framed(plan, shot, *, x, y, w, h):
    s = plan.shots[shot]
    crop = ShotCrop((0,), (x,), (y,), w, h, plan.size[0] / plan.size[1])
    return replace(plan, shots=plan.shots[:shot] + (replace(s, crop=crop),) + plan.shots[shot + 1:])


@pytest.mark.parametrize("size, x, y, w, h, edge", [
    ((1280, 720), 0.0, 0.0, 1.0, 0.75, "top"),        # 4:3 clip in 16:9, the window at the top
    ((1280, 720), 0.0, 0.25, 1.0, 0.75, "bottom"),    # ... at the bottom
    ((720, 1280), 0.0, 0.0, 0.421875, 1.0, "left"),    # in 9:16, the window at the left edge
])
def test_fcpxml_framing_puts_the_crop_window_exactly_in_the_frame(media, tmp_path, size, x, y, w, h, edge):
    """The 160x120 clip fills the frame (scaled by max(W/160, H/120)); after the position the
    transform gives (percent of the frame height, y up), the window's edge is the frame's edge."""
    plan = replace(make_plan(media, 30), size=size)
    plan = _framed(plan, 3, x=x, y=y, w=w, h=h)
    root = ET.parse(export(plan, tmp_path / "e.fcpxml")).getroot()
    ac = root.findall("library/event/project/sequence/spine/asset-clip")[3]
    assert ac.find("adjust-conform").get("type") == "fill"
    dx, dy = (float(v) * size[1] / 100 for v in ac.find("adjust-transform").get("position").split())
    W, H = size
    s = max(W / 160, H / 120)
    pw, ph = 160 * s, 120 * s                     # the scaled picture, centred, then moved by (dx, dy)
    top_of_window = ph / 2 - y * ph + dy          # y up, relative to the frame's centre
    left_of_window = -pw / 2 + x * pw + dx
    if edge in ("top", "bottom"):
        assert top_of_window == pytest.approx(H / 2, abs=0.5) and dx == pytest.approx(0, abs=0.01)
    else:
        assert left_of_window == pytest.approx(-W / 2, abs=0.5) and dy == pytest.approx(0, abs=0.01)


def test_fcpxml_asset_lengths_are_the_files_own(media, tmp_path):
    import av

    plan = make_plan(media, 30)
    root = ET.parse(export(plan, tmp_path / "e.fcpxml")).getroot()
    formats = {f.get("id"): f for f in root.iter("format")}
    for a in root.iter("asset"):
        if a.get("hasVideo") != "1":
            continue
        path = path_from_url(a.get("src") or a.find("media-rep").get("src"))
        with av.open(path) as c:
            st = c.streams.video[0]
            n_file = st.frames
        fd = _t(formats[a.get("format")].get("frameDuration"))
        n = _t(a.get("duration")) / fd            # whole frames of the clip's own rate
        # the plan says 4.0 s; a 23.976 fps file of 4 s has 96 frames, the last one ending at 4.004 s
        assert n.denominator == 1 and n_file - 1 <= n <= n_file, (Path(path).name, a.get("duration"), n_file)
        # the silent clips play only their picture; b.mp4 has sound
        for ac in root.iter("asset-clip"):
            if ac.get("ref") == a.get("id"):
                assert (ac.get("srcEnable") == "video") == (a.get("hasAudio") != "1")


def test_fcpxml_at_29_97_brings_late_clip_markers_back_to_their_frame(media, tmp_path):
    """Reading conforms 29.97 to 30 and back; a cut marker 100 s into a clip must come back too."""
    fps = Fraction(30000, 1001)
    plan = make_plan(media, fps)
    clips = tuple(replace(c, duration=200.0, usable_out=200.0) for c in plan.clips)
    last = plan.shots[-1]
    late = replace(last, source_in=3000, source_out=3000 + last.length)
    plan = replace(plan, clips=clips, shots=plan.shots[:-1] + (late,))
    validate_plan(plan)
    tl = read_timeline(export(plan, tmp_path / "e.fcpxml"), "fcpxml")
    got = video_clips(tl, fps)
    assert [g[:3] for g in got] == [(s.record_in, s.record_out, s.source_in) for s in plan.shots]
    assert [g[4][0][1] for g in got] == [s.source_in for s in plan.shots]


def test_fcpxml_markers_of_a_connected_song_that_starts_later_in_its_file(media, tmp_path):
    """Final Cut may connect the song from 10 s into its file: its markers keep their place."""
    fps = Fraction(25)
    plan = make_plan(media, fps)
    f = tmp_path / "e.fcpxml"
    export(plan, f)
    tree = ET.parse(f)
    song = next(ac for ac in tree.getroot().iter("asset-clip") if ac.get("lane") == "-1")
    before = [(m.get("value"), _t(m.get("start"))) for m in song.findall("marker")]
    song.set("start", "10s")
    for m in song.findall("marker"):
        m.set("start", f"{_t(m.get('start')) + 10}s" if _t(m.get("start")).denominator == 1
              else f"{(_t(m.get('start')) + 10).numerator}/{(_t(m.get('start')) + 10).denominator}s")
    tree.write(f, encoding="unicode")
    tl = read_timeline(f, "fcpxml")
    (clip,) = [c for t in tl.audio_tracks() for c in t.find_clips()]
    start = frames(clip.source_range.start_time, fps)
    got = [(m.name, frames(m.marked_range.start_time, fps) - start) for m in clip.markers]
    assert start == 250 and sorted(got) == sorted((v, int(t * fps)) for v, t in before)


# -- import: what is locked and what is said --------------------------------------------------------------

def test_reordered_shots_come_back_as_moved(media, tmp_path):
    plan = make_plan(media, 30)
    tl = build_timeline(plan)
    v = tl.video_tracks()[0]
    first = v[0].deepcopy()
    del v[0]
    v.insert(1, first)                      # shots 1 and 0 change places
    write_otio(tl, tmp_path / "r.otio")
    new = import_timeline(tmp_path / "r.otio", plan)
    s = plan.shots
    assert [(x.source, x.source_in, x.record_in, x.locked) for x in new.shots[:2]] == [
        (s[1].source, s[1].source_in, 0, True), (s[0].source, s[0].source_in, s[1].length, True)]
    assert [x.reason for x in new.shots[:2]] == ["moved in the editor (was shot 1)", "moved in the editor (was shot 0)"]
    assert "2 moved" in new.warnings[-1] and new.shots[2:] == s[2:]


def test_a_disabled_clip_is_a_gap_and_a_deleted_locked_shot_is_unlocked(media, tmp_path):
    plan = make_plan(media, 30)
    plan = replace(plan, shots=tuple(replace(s, locked=s.index == 5) for s in plan.shots))
    tl = build_timeline(plan)
    v = tl.video_tracks()[0]
    v[3].enabled = False
    v[5] = otio.schema.Gap(source_range=otio.opentime.TimeRange(duration=v[5].source_range.duration))
    write_otio(tl, tmp_path / "d.otio")
    new = import_timeline(tmp_path / "d.otio", plan)
    validate_plan(new)
    s3 = [x for x in new.shots if x.record_in < plan.shots[3].record_out and x.record_out > plan.shots[3].record_in]
    assert s3 and not any(x.locked for x in s3) and all(x.reason.startswith("gap") for x in s3)
    assert "disabled clip 'c.mp4' treated as a gap" in new.warnings[-1]
    s5 = [x for x in new.shots if x.record_in < plan.shots[5].record_out and x.record_out > plan.shots[5].record_in]
    assert not any(x.locked for x in s5), s5      # the editor deleted it: the planner fills it


def test_a_clip_slipped_to_the_files_last_frame_is_kept(media, tmp_path):
    """a.mp4 is 4 s at 30 fps: frames 0..119. Ending on frame 119 is inside the file; 120 is not."""
    plan = make_plan(media, 30)
    last = plan.shots[6]
    assert Path(last.source).name == "a.mp4" and last.length == 60
    for src_in, inside in ((60, True), (61, False)):
        tl = build_timeline(plan)
        c = tl.video_tracks()[0][6]
        c.source_range = otio.opentime.TimeRange(otio.opentime.RationalTime(src_in, 30), c.source_range.duration)
        write_otio(tl, tmp_path / f"s{src_in}.otio")
        new = import_timeline(tmp_path / f"s{src_in}.otio", plan)
        s = new.shots[-1]
        if inside:
            assert (s.source_in, s.source_out, s.locked) == (60, 120, True) and "trimmed" in s.reason
        else:
            assert not s.locked and "lie outside the file" in new.warnings[-1]


def _n_min(plan):
    return max(1, round(plan.settings.min_shot * float(plan.fps)))


def _trim_gap_swap(plan, media, trim, *, slip_to=None):
    """Trim ``trim`` frames off shot 4's end (a gap where they were), swap shot 5 to b.mp4."""
    tl = build_timeline(plan)
    v = tl.video_tracks()[0]
    c = v[4]
    start = c.source_range.start_time if slip_to is None else otio.opentime.RationalTime(slip_to, 30)
    c.source_range = otio.opentime.TimeRange(start, c.source_range.duration - otio.opentime.RationalTime(trim, 30))
    v.insert(5, otio.schema.Gap(source_range=otio.opentime.TimeRange(duration=otio.opentime.RationalTime(trim, 30))))
    swap = v[6]
    swap.media_reference.target_url = otio.url_utils.url_from_filepath(str(media["b"]))
    swap.metadata["musync"] = {}
    return tl


def test_a_gap_of_exactly_the_shortest_shot_is_left_to_the_planner(media, tmp_path):
    plan = make_plan(media, 30)
    n_min = _n_min(plan)
    write_otio(_trim_gap_swap(plan, media, n_min), tmp_path / "g.otio")
    new = import_timeline(tmp_path / "g.otio", plan)
    s4, gap, s5 = new.shots[4:7]
    assert s4.locked and s4.record_out == plan.shots[4].record_out - n_min
    assert not gap.locked and (gap.record_in, gap.length) == (s4.record_out, n_min)
    assert s5.locked and "merged" not in new.warnings[-1]


def test_a_short_gap_goes_to_the_next_shot_when_the_previous_clip_has_no_frames_left(media, tmp_path):
    """Shot 4 (b.mp4, usable frames 0..119 at 30 fps) is slipped to end at 118, then trimmed by 3:
    growing it over the 3-frame gap would need frame 120. The swapped shot 5 grows back instead."""
    plan = make_plan(media, 30)
    s4, s5 = plan.shots[4], plan.shots[5]
    length = s4.length - 3
    write_otio(_trim_gap_swap(plan, media, 3, slip_to=118 - length), tmp_path / "n.otio")
    new = import_timeline(tmp_path / "n.otio", plan)
    validate_plan(new)
    a, b = new.shots[4], new.shots[5]
    assert (a.record_in, a.record_out, a.source_in, a.source_out) == (s4.record_in, s4.record_out - 3, 118 - length, 118)
    assert (b.record_in, b.record_out, b.source_in, b.source_out) == (s5.record_in - 3, s5.record_out,
                                                                      s5.source_in - 3, s5.source_out)
    assert b.source == str(media["b"]) and b.locked and "extended over a 3-frame gap" in b.reason
    assert "merged into the next shot" in new.warnings[-1]


# -- collect ---------------------------------------------------------------------------------------------

def test_collect_keeps_two_clips_of_one_name_apart(media, tmp_path):
    plan = make_plan(media, 30)
    other = tmp_path / "second card" / "a.mp4"
    other.parent.mkdir()
    shutil.copyfile(media["spare"], other)
    s1 = plan.shots[1]
    clips = tuple(sorted(plan.clips + (replace(plan.clips[0], path=str(other)),), key=lambda c: c.path))
    plan = replace(plan, clips=clips, shots=plan.shots[:1] + (replace(s1, source=str(other)),) + plan.shots[2:])
    new, files = collect_media(plan, tmp_path / "media", "otio", editor="kdenlive")
    by = {f.original: f.collected for f in files}
    assert by[str(media["a"])] != by[str(other)]
    for orig, coll in by.items():
        assert filecmp.cmp(orig, coll, shallow=False), (orig, coll)
    assert [os.path.basename(s.source) for s in new.shots[:2]] == [os.path.basename(by[str(media["a"])]),
                                                                   os.path.basename(by[str(other)])]


def test_a_collect_that_fails_leaves_no_temporary_folder(media, tmp_path):
    plan = make_plan(media, 30)
    bad = tmp_path / "in" / "song.ogg"
    bad.parent.mkdir()
    bad.write_bytes(b"OggS" + os.urandom(2000))       # not a song: the conversion fails
    plan = replace(plan, audio=replace(plan.audio, path=str(bad)))
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(MusyncError):
        collect_media(plan, out / "media", "xml")
    assert list(out.iterdir()) == []


# -- EDLs from editors whose timeline starts at 01:00:00:00 ----------------------------------------------

def _ndf(frame: int, rate) -> str:
    """Oracle: non-drop timecode text, counting the nominal (integer) rate."""
    nominal = round(Fraction(rate))
    s, f = divmod(frame, nominal)
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}:{f:02d}"


@pytest.mark.parametrize("fps", [Fraction(24000, 1001), Fraction(30000, 1001), Fraction(25)],
                         ids=["23.976", "29.97-ndf", "25"])
def test_import_non_drop_edl_from_the_hour(media, tmp_path, fps):
    """An hour of non-drop timecode is 3600 x the nominal rate frames (86400 at 23.976), not an
    hour of real time (86314): an EDL starting at 01:00:00:00 lands at frame 0 at every rate."""
    from test_export import CLIP_RATES, shown_frame

    plan = make_plan(media, fps)
    hour = 3600 * round(fps)
    lines = ["TITLE: Sequence 01", "FCM: NON-DROP FRAME", ""]
    for k, s in enumerate(plan.shots[1:], start=1):       # shot 0 deleted: a gap before the first event
        rate = CLIP_RATES[Path(s.source).stem]
        tc = [_ndf(shown_frame(v, fps, rate), rate) for v in (s.source_in, s.source_out)] + \
             [_ndf(hour + v, fps) for v in (s.record_in, s.record_out)]
        lines += [f"{k:03d}  AX       V     C        {' '.join(tc)}", f"* FROM CLIP NAME: {Path(s.source).name}"]
    f = tmp_path / "sequence.edl"
    f.write_text("\n".join(lines) + "\n")
    new = import_timeline(f, plan)
    assert [(x.record_in, x.record_out, x.source) for x in new.shots] == \
        [(x.record_in, x.record_out, x.source) for x in plan.shots]
    for x, s in zip(new.shots[1:], plan.shots[1:]):   # the same picture (source timecode at the clip's rate)
        rate = CLIP_RATES[Path(s.source).stem]
        assert shown_frame(x.source_in, fps, rate) == shown_frame(s.source_in, fps, rate)
    assert not new.shots[0].locked and "cut off" not in new.warnings[-1]


def test_fcpxml_times_whose_float_product_falls_short_still_read_back(media, tmp_path):
    """The adapter reads a time as int(a / b * rate) in floats: at 25 fps, 29/25 s gives 28.999...
    Cuts and in-points on such frames (found here by that very product) must come back exact."""
    fps = Fraction(25)

    def short(k):
        t = Fraction(k) / fps
        return int(float(t.numerator) / float(t.denominator) * float(fps)) != k

    assert all(short(k) for k in (29, 57, 58, 113))
    plan = make_plan(media, fps)
    a, b, c = (str(media[k]) for k in ("a", "b", "c"))
    from musync.types import Shot

    layout = [(a, 29, 0, 29), (b, 57, 29, 57), (c, 29, 57, 58), (b, 29, 58, 113), (c, 57, 113, 150)]
    shots = tuple(Shot(i, src, s, s + (r1 - r0), r0, r1, reason=f"shot {i}") for i, (src, s, r0, r1) in enumerate(layout))
    plan = replace(plan, shots=shots, duration_frames=150)
    validate_plan(plan)
    out = export(plan, tmp_path / "e.fcpxml")
    got = video_clips(read_timeline(out, "fcpxml"), fps)
    assert [g[:3] for g in got] == [(s.record_in, s.record_out, s.source_in) for s in shots]
    assert [g[4][0][1] for g in got] == [s.source_in for s in shots]
    assert import_timeline(out, plan).shots == shots
