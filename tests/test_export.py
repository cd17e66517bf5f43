"""Export to editors and import back: every format at 30, 25, 23.976 and 29.97 fps.

Media are tiny clips made here with ffmpeg and a short synthetic song; plans are built directly
from the dataclasses, so each test knows every cut, source range and marker to the frame.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio
import pytest

import musync
from musync.errors import ExportError, OutputExistsError, ParameterError, PlanError
from musync.export import FORMATS, build_timeline, export, import_timeline, read_timeline
from musync.export.formats.edl import write_edl
from musync.export.formats.fcp7 import write_fcp7
from musync.export.formats.fcpxml import fcpx_time as _fcpx_time, write_fcpxml
from musync.export.formats.otio import write_otio
from musync.export.timeline import frames, path_from_url
from musync.media import file_sha256, run_ffmpeg
from musync.planfile import load_plan, save_plan, validate_plan
from musync.testing import make_song
from musync.types import AudioInfo, Plan, PlanClip, PlanSettings, Shot

RATES = [Fraction(30), Fraction(25), Fraction(24000, 1001), Fraction(30000, 1001)]
RATE_IDS = ["30", "25", "23.976", "29.97"]
ALL_RATES = [Fraction(24000, 1001), Fraction(24), Fraction(25), Fraction(30000, 1001), Fraction(30),
             Fraction(60)]
ALL_RATE_IDS = ["23.976", "24", "25", "29.97", "30", "60"]
SUFFIXES = [f.suffix for f in FORMATS.values()]
SONG_SECONDS = 6.0
X264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("export_media")
    m = {}
    for name, rate, extra in (("a", "30", []), ("b", "25", ["-f", "lavfi", "-i", "sine=f=440:duration=4",
                                                          "-c:a", "aac", "-shortest"]),
                              ("c", "24000/1001", []), ("spare", "30", [])):
        out = d / f"{name}.mp4"
        run_ffmpeg(["-y", "-f", "lavfi", "-i", f"testsrc2=size=160x120:rate={rate}:duration=4",
                    *extra, *X264, str(out)], what="making test media")
        m[name] = out
    m["song"] = make_song(bpm=120.0, form=[("intro", 1), ("chorus", 2)], tail=0.5).write(d / "song.wav")
    return m


# shot layout in seconds: (record start, source clip, source start); the song is 6 s long
LAYOUT = [(0.0, "a", 0.20), (0.57, "b", 1.00), (1.33, "a", 2.10), (1.37, "c", 0.00),
          (2.50, "b", 0.30), (3.90, "c", 1.00), (4.00, "a", 0.50)]


def make_plan(media, fps) -> Plan:
    """A valid plan at ``fps`` over the test media (cuts at LAYOUT, beats every half second)."""
    fps = Fraction(fps)
    n = int(round(SONG_SECONDS * fps))
    clips = tuple(sorted(
        (PlanClip(str(media[k]), 4.0, Fraction(r), (160, 120), usable_in=0.1 if k == "a" else 0.0,
                  usable_out=4.0, has_audio=(k == "b"))
         for k, r in (("a", 30), ("b", 25), ("c", Fraction(24000, 1001)))), key=lambda c: c.path))
    cuts = [int(round(Fraction(t).limit_denominator(1000) * fps)) for t, _, _ in LAYOUT] + [n]
    shots = []
    for i, ((_, src, s0), a, b) in enumerate(zip(LAYOUT, cuts, cuts[1:])):
        sin = int(round(Fraction(s0).limit_denominator(1000) * fps)) + (3 if src == "a" else 0)
        shots.append(Shot(i, str(media[src]), sin, sin + (b - a), a, b, reason=f"downbeat {i}",
                          section="A" if a < n // 2 else "B", energy=0.25 * (i % 4),
                          scores={"motion": 0.5, "continuity": 0.1 * i}))
    half = Fraction(1, 2) * fps
    beats = sorted({int(round(k * half)) for k in range(int(SONG_SECONDS * 2))})
    song = media["song"]
    plan = Plan(AudioInfo(str(song), file_sha256(song), SONG_SECONDS + 0.01, 22050, 1), fps, n, (1280, 720),
                "16:9", PlanSettings(fps=fps, size=(1280, 720)), tuple(shots),
                markers={"beats": beats, "downbeats": beats[::4],
                         "sections": [{"frame": 0, "end": n // 3, "label": "A", "kind": "intro"},
                                      {"frame": n // 3, "end": n, "label": "B", "kind": "chorus"}],
                         "climax": beats[8]},
                metrics={"on_beat": 1.0}, clips=clips)
    validate_plan(plan)
    return plan


def video_clips(tl, fps):
    """(record_in, record_out, source_in, path, [(marker name, marker frame)]) per clip of V1."""
    track = [t for t in tl.tracks if t.kind == otio.schema.TrackKind.Video][0]
    out = []
    for i, c in enumerate(track):
        if not isinstance(c, otio.schema.Clip):
            continue
        r = track.range_of_child_at_index(i)
        base = c.media_reference.available_range.start_time if c.media_reference.available_range else None
        s_in = frames(c.source_range.start_time, fps) - (frames(base, fps) if base is not None else 0)
        out.append((frames(r.start_time, fps), frames(r.end_time_exclusive(), fps), s_in,
                    path_from_url(c.media_reference.target_url),
                    [(m.name, frames(m.marked_range.start_time, fps)) for m in c.markers]))
    return out


def expected_stack_markers(plan):
    n_beats = len(set(plan.markers["beats"]))
    return n_beats + len(plan.markers["sections"]) + 1


@pytest.mark.parametrize("fps", ALL_RATES, ids=ALL_RATE_IDS)
@pytest.mark.parametrize("suffix", SUFFIXES)
def test_export_reads_back_exactly(media, tmp_path, fps, suffix):
    """Every format at 23.976, 24, 25, 29.97, 30 and 60 fps, with clips at 30, 25 and 23.976."""
    plan = make_plan(media, fps)
    out = export(plan, tmp_path / f"edit{suffix}")
    assert out.exists() and not list(tmp_path.glob(".*part*"))
    fmt = suffix[1:]
    tl = read_timeline(out, fmt, fps=fps)
    got = video_clips(tl, fps)
    assert [g[:3] for g in got] == [(s.record_in, s.record_out, s.source_in) for s in plan.shots]
    # media references resolve
    if fmt == "otioz":
        with zipfile.ZipFile(out) as z:
            names = set(z.namelist())
        assert all(f"media/{os.path.basename(g[3])}" in names for g in got)
        assert "media/song.wav" in names
    else:
        assert [os.path.abspath(g[3]) for g in got] == [s.source for s in plan.shots]
        assert all(os.path.isfile(g[3]) for g in got)
    # one marker per clip, at its cut
    for g, s in zip(got, plan.shots):
        assert len(g[4]) == 1, g
        name, frame = g[4][0]
        assert frame == s.source_in
        assert name.lower().startswith(f"shot {s.index}")
    # timeline markers where the format keeps them
    if fmt in ("otio", "otioz", "xml"):
        marks = tl.tracks.markers
        assert len(marks) == expected_stack_markers(plan)
        beat_frames = sorted(frames(m.marked_range.start_time, fps) for m in marks
                             if m.name == "beat" or m.name.startswith("bar "))
        assert beat_frames == sorted(set(plan.markers["beats"]))
        secs = [(m.name, frames(m.marked_range.start_time, fps), frames(m.marked_range.duration, fps))
                for m in marks if m.name in ("A intro", "B chorus")]
        assert secs == [("A intro", 0, plan.duration_frames // 3),
                        ("B chorus", plan.duration_frames // 3,
                         plan.duration_frames - plan.duration_frames // 3)]
        assert [frames(m.marked_range.start_time, fps) for m in marks if m.name == "climax"] \
            == [plan.markers["climax"]]
    # the song on A1 (not in an EDL)
    audio = [c for t in tl.tracks if t.kind == otio.schema.TrackKind.Audio for c in t.find_clips()]
    if fmt == "edl":
        assert audio == []
    else:
        assert [os.path.basename(path_from_url(c.media_reference.target_url)) for c in audio] \
            == ["song.wav"]
        assert frames(audio[0].source_range.duration, fps) == plan.duration_frames
    # and back into a plan: nothing changed, so nothing is locked; --lock all locks every clip
    back = import_timeline(out, plan)
    assert back.shots == plan.shots and "notes" not in back.markers
    validate_plan(back)
    assert import_timeline(out, plan, lock="all").shots == tuple(replace(s, locked=True) for s in plan.shots)


def test_otio_keeps_metadata_and_exact_rate(media, tmp_path):
    plan = make_plan(media, Fraction(30000, 1001))
    tl = read_timeline(export(plan, tmp_path / "e.otio"), "otio")
    assert tl.metadata["musync"]["fps"] == "30000/1001"
    clip = tl.video_tracks()[0][2]
    md = clip.metadata["musync"]
    assert md["shot"] == 2 and md["reason"] == "downbeat 2" and md["scores"]["motion"] == 0.5
    assert clip.source_range.start_time.rate == float(Fraction(30000, 1001))
    kinds = {m.metadata["musync"]["kind"] for m in tl.tracks.markers}
    assert kinds == {"beat", "downbeat", "section", "climax"}
    ref = clip.media_reference
    assert ref.target_url.startswith("file://") and os.path.isabs(path_from_url(ref.target_url))
    # a.mp4 is 30 fps, 4 s: its available range is in its own frames
    assert (ref.available_range.start_time.value, ref.available_range.duration.value,
            ref.available_range.duration.rate) == (0, 120, 30)


# ---------------------------------------------------------------------------------------------
# golden structure of the written files


@pytest.mark.parametrize("fps,timebase,ntsc", [(30, 30, "FALSE"), (25, 25, "FALSE"),
                                               (Fraction(24000, 1001), 24, "TRUE"),
                                               (Fraction(30000, 1001), 30, "TRUE")],
                         ids=RATE_IDS)
def test_fcp7_xml_structure(media, tmp_path, fps, timebase, ntsc):
    plan = make_plan(media, fps)
    root = ET.parse(export(plan, tmp_path / "e.xml")).getroot()
    assert root.tag == "xmeml"
    seq = root.find(".//sequence")
    assert seq.findtext("rate/timebase") == str(timebase) and seq.findtext("rate/ntsc") == ntsc
    assert seq.findtext("duration") == str(plan.duration_frames)
    sc = seq.find("media/video/format/samplecharacteristics")
    assert (sc.findtext("width"), sc.findtext("height")) == ("1280", "720")
    items = seq.findall("media/video/track/clipitem")
    assert len(items) == len(plan.shots)
    for it, s in zip(items, plan.shots):
        assert it.findtext("rate/timebase") == str(timebase) and it.findtext("rate/ntsc") == ntsc
        assert [int(it.findtext(k)) for k in ("start", "end", "in", "out")] == \
            [s.record_in, s.record_out, s.source_in, s.source_out]
    # file rates are the clips' own; a silent clip declares no audio stream
    files = {f.findtext("name"): f for f in root.iter("file") if f.find("pathurl") is not None}
    assert files["a.mp4"].findtext("rate/timebase") == "30" and files["a.mp4"].find("media/audio") is None
    assert files["b.mp4"].findtext("rate/timebase") == "25" and files["b.mp4"].find("media/audio") is not None
    assert (files["c.mp4"].findtext("rate/timebase"), files["c.mp4"].findtext("rate/ntsc")) == ("24", "TRUE")
    assert files["song.wav"].find("media/video") is None
    assert len(seq.findall("marker")) == expected_stack_markers(plan)


def shown_frame(j, fps, rate):
    """Oracle: the clip frame (own rate) on screen for plan source frame j -- the latest frame
    that starts before the middle of plan frame j -- by search, not by formula."""
    mid = (Fraction(j) + Fraction(1, 2)) / Fraction(fps)
    k = 0
    while Fraction(k + 1) / Fraction(rate) < mid:
        k += 1
    return k


def smpte(frame, rate):
    """Oracle: SMPTE timecode text, drop-frame (';') at 29.97 and 59.94."""
    rate = Fraction(rate)
    nominal = round(rate)
    if rate.denominator == 1001 and nominal % 30 == 0:
        drop = 2 * nominal // 30
        per10 = 600 * nominal // 1 - 9 * drop  # frames in ten DF minutes
        d, m = divmod(frame, per10)
        per_min = 60 * nominal - drop
        extra = 0 if m < drop else drop * ((m - drop) // per_min)
        frame = frame + 9 * drop * d + extra
        sep = ";"
    else:
        sep = ":"
    f = frame % nominal
    sec = frame // nominal
    return f"{sec // 3600:02d}:{sec // 60 % 60:02d}:{sec % 60:02d}{sep}{f:02d}"


CLIP_RATES = {"a": Fraction(30), "b": Fraction(25), "c": Fraction(24000, 1001), "spare": Fraction(30)}


@pytest.mark.parametrize("fps", ALL_RATES, ids=ALL_RATE_IDS)
def test_edl_structure_checked_by_pycmx(media, tmp_path, fps):
    """An independent CMX 3600 parser (pycmx) reads every event; record timecode is at the edit's
    rate (drop-frame at 29.97 and 59.94), source timecode at each clip's own rate."""
    import pycmx

    fps = Fraction(fps)
    plan = make_plan(media, fps)
    out = export(plan, tmp_path / "e.edl")
    text = out.read_text()
    lines = text.splitlines()
    assert lines[0].startswith("TITLE: musync - song") and "NO AUDIO" in lines[0]
    drop = fps.denominator == 1001 and round(fps) % 30 == 0
    assert lines[1] == ("FCM: DROP FRAME" if drop else "FCM: NON-DROP FRAME")
    assert "NOT IN THIS EDL: AUDIO TRACK A1 (song.wav)" in text
    with open(out) as f:
        edl = pycmx.parse_cmx3600(f)
    edits = [e for ev in edl.events for e in ev.edits]
    assert len(edits) == len(plan.shots)
    for e, s in zip(edits, plan.shots):
        rate = CLIP_RATES[Path(s.source).stem]
        assert e.clip_name == Path(s.source).name
        assert (e.record_in, e.record_out) == (smpte(s.record_in, fps), smpte(s.record_out, fps))
        assert (e.source_in, e.source_out) == (smpte(shown_frame(s.source_in, fps, rate), rate),
                                               smpte(shown_frame(s.source_out, fps, rate), rate)), s
    # no source timecode names a frame its clip's timecode cannot count
    for e, s in zip(edits, plan.shots):
        nominal = round(CLIP_RATES[Path(s.source).stem])
        assert int(e.source_in[-2:]) < nominal and int(e.source_out[-2:]) < nominal
    # and musync reads it back to the frame, with or without the plan
    for kw in ({"plan": plan}, {}):
        tl = read_timeline(out, "edl", fps=fps, **kw)
        assert [g[:3] for g in video_clips(tl, fps)] == \
            [(s.record_in, s.record_out, s.source_in) for s in plan.shots]


def test_edl_record_rate_option(media, tmp_path):
    """edl_source_rate="record": every timecode at the edit's rate (tools that assume one rate)."""
    from musync.export import build_timeline as bt

    fps = Fraction(25)
    plan = make_plan(media, fps)
    write_edl(bt(plan), tmp_path / "r.edl", plan, edl_source_rate="record")
    first = [ln for ln in (tmp_path / "r.edl").read_text().splitlines() if re.match(r"^\d{3}  ", ln)][0]
    s = plan.shots[0]
    assert first.split()[-4:] == [smpte(v, fps) for v in (s.source_in, s.source_out, s.record_in, s.record_out)]
    with pytest.raises(ExportError, match="edl_source_rate"):
        write_edl(bt(plan), tmp_path / "x.edl", plan, edl_source_rate="clip")


def test_edl_29_97_long_timecode_is_drop_frame(media, tmp_path):
    """Past one minute, drop-frame timecode skips frame numbers: the frame still comes back."""
    fps = Fraction(30000, 1001)
    plan = make_plan(media, fps)
    long_n = 1900  # 63.4 s: crosses the first minute, where DF skips ;00 and ;01
    last = plan.shots[-1]
    shots = plan.shots[:-1] + (replace(last, record_out=long_n, source_out=last.source_in + long_n - last.record_in),)
    clips = tuple(replace(c, duration=120.0, usable_out=120.0) for c in plan.clips)
    plan = replace(plan, shots=shots, clips=clips, duration_frames=long_n)
    out = export(plan, tmp_path / "long.edl")
    assert "00:01:03;12" in out.read_text()  # 1900 frames in DF
    tl = read_timeline(out, "edl", fps=fps)
    assert video_clips(tl, fps)[-1][:3] == (last.record_in, long_n, last.source_in)


# ---------------------------------------------------------------------------------------------
# files, errors


def test_refuses_overwrite_and_unknown_suffix(media, tmp_path):
    plan = make_plan(media, 30)
    out = export(plan, tmp_path / "e.otio")
    before = out.read_bytes()
    with pytest.raises(OutputExistsError, match="already exists"):
        export(plan, out)
    assert out.read_bytes() == before
    export(plan, out, overwrite=True)
    with pytest.raises(ParameterError, match="suffix"):
        export(plan, tmp_path / "e.mov")
    export(plan, tmp_path / "e.timeline", format="fcp7")
    assert (tmp_path / "e.timeline").read_text().lstrip().startswith("<?xml")


def test_failed_export_leaves_no_file(media, tmp_path):
    plan = make_plan(media, 30)
    odd = replace(plan, fps=Fraction(25, 2), shots=(), duration_frames=1)
    with pytest.raises(PlanError):
        export(odd, tmp_path / "e.otio")
    # FCPXML needs integer or NTSC rates: 12.5 fps is refused, nothing is left behind
    n = int(SONG_SECONDS * 12.5)
    s = Shot(0, plan.shots[0].source, 3, 3 + n, 0, n)
    plan125 = replace(plan, fps=Fraction(25, 2), duration_frames=n, shots=(s,),
                      markers={"beats": [0, 6]},
                      clips=tuple(replace(c, duration=20.0, usable_out=20.0) for c in plan.clips))
    with pytest.raises(ExportError, match="FCPXML"):
        export(plan125, tmp_path / "e.fcpxml")
    with pytest.raises(ExportError, match="timecode rate"):
        export(plan125, tmp_path / "e.xml")
    with pytest.raises(ExportError, match="timecode rate"):
        export(plan125, tmp_path / "e.edl")
    assert list(tmp_path.iterdir()) == []
    tl = read_timeline(export(plan125, tmp_path / "e.otio"), "otio")  # .otio takes any rate
    assert video_clips(tl, Fraction(25, 2))[0][:3] == (0, n, 3)


def test_otioz_refuses_clashing_names(media, tmp_path):
    plan = make_plan(media, 30)
    other = tmp_path / "sub"
    other.mkdir()
    dup = other / "a.mp4"
    dup.write_bytes(Path(media["a"]).read_bytes())
    clips = plan.clips + (replace(plan.clips[0], path=str(dup)),)
    s = plan.shots[1]
    plan = replace(plan, clips=tuple(sorted(clips, key=lambda c: c.path)),
                   shots=plan.shots[:1] + (replace(s, source=str(dup), source_in=10,
                                                   source_out=10 + s.length),) + plan.shots[2:])
    with pytest.raises(ExportError, match="a.mp4"):
        export(plan, tmp_path / "e.otioz")
    assert not (tmp_path / "e.otioz").exists()


def test_import_errors(media, tmp_path):
    plan = make_plan(media, 30)
    with pytest.raises(musync.MediaError):
        import_timeline(tmp_path / "missing.otio", plan)
    bad = tmp_path / "bad.xml"
    bad.write_text("<notxml")
    with pytest.raises(ExportError, match="cannot read"):
        import_timeline(bad, plan)
    # a clip whose file is gone and that is not in the library
    tl = build_timeline(plan)
    tl.video_tracks()[0][1].media_reference.target_url = "file:///nowhere/ghost.mp4"
    write_otio(tl, tmp_path / "ghost.otio")
    with pytest.raises(PlanError, match="ghost.mp4"):
        import_timeline(tmp_path / "ghost.otio", plan)


# ---------------------------------------------------------------------------------------------
# round trip: edit the timeline with the OTIO API, import it back


def edit(tl, plan, media, fps):
    """Move the cut between shots 0 and 1 by +3 frames, swap shot 3's clip, delete shot 4."""
    three = otio.opentime.RationalTime(3, float(fps))
    v = tl.video_tracks()[0]
    a, b = v[0], v[1]
    a.source_range = otio.opentime.TimeRange(a.source_range.start_time, a.source_range.duration + three)
    b.source_range = otio.opentime.TimeRange(b.source_range.start_time + three,
                                             b.source_range.duration - three)
    swap = v[3]
    swap.media_reference.target_url = otio.url_utils.url_from_filepath(str(media["b"]))
    swap.name = "b.mp4"
    swap.metadata["musync"] = {}
    for m in swap.markers:
        m.name = "swapped"
    dur = v[4].source_range.duration
    del v[4]
    v.insert(4, otio.schema.Gap(source_range=otio.opentime.TimeRange(duration=dur)))
    return tl


def check_edited(new, plan):
    s = plan.shots
    validate_plan(new)
    shots = new.shots
    assert len(shots) == len(s)
    # the cut moved by 3 frames: shot 0 longer, shot 1 starts 3 frames later in song and source
    assert (shots[0].record_in, shots[0].record_out, shots[0].source_in) == \
        (s[0].record_in, s[0].record_out + 3, s[0].source_in)
    assert (shots[1].record_in, shots[1].source_in, shots[1].source_out) == \
        (s[1].record_in + 3, s[1].source_in + 3, s[1].source_out)
    assert shots[0].locked and shots[1].locked and "trimmed" in shots[1].reason
    # untouched shots are kept as they were: proposals, not locks
    assert shots[2] == s[2] and not shots[2].locked
    # swapped clip: same place and range, other file, locked
    assert shots[3].source.endswith("b.mp4") and new.clip(shots[3].source) is not None
    assert (shots[3].record_in, shots[3].source_in) == (s[3].record_in, s[3].source_in)
    assert shots[3].locked and "swapped" in shots[3].reason
    # the deleted shot is a gap: unlocked, same record range, to be re-planned
    assert not shots[4].locked and (shots[4].record_in, shots[4].record_out) == (s[4].record_in, s[4].record_out)
    assert "re-plan" in shots[4].reason
    assert shots[5:] == s[5:]
    assert [x.index for x in shots] == list(range(len(shots)))
    assert [x.index for x in shots if x.locked] == [0, 1, 3]  # the editor's decisions only
    assert new.metrics == {} and "imported from" in new.warnings[-1]
    assert "1 swapped" in new.warnings[-1] and "1 gap" in new.warnings[-1]
    assert "2 trimmed" in new.warnings[-1] and "3 kept" in new.warnings[-1]


@pytest.mark.parametrize("fps", [Fraction(30), Fraction(24000, 1001)], ids=["30", "23.976"])
@pytest.mark.parametrize("writer,suffix", [(write_otio, ".otio"), (write_fcp7, ".xml"),
                                           (write_fcpxml, ".fcpxml"), (write_edl, ".edl")],
                         ids=["otio", "xml", "fcpxml", "edl"])
def test_round_trip_edits(media, tmp_path, fps, writer, suffix):
    plan = make_plan(media, fps)
    tl = read_timeline(export(plan, tmp_path / "plan.otio"), "otio")
    edited = tmp_path / f"edited{suffix}"
    writer(edit(tl, plan, media, fps), edited, plan)
    new = import_timeline(edited, plan)
    check_edited(new, plan)
    # the new plan saves and loads
    save_plan(new, tmp_path / "new.json")
    assert load_plan(tmp_path / "new.json") == new


def test_import_shorter_timeline_and_new_clip(media, tmp_path):
    """Delete the last shot (timeline ends early) and drop in a clip the plan never saw."""
    fps = Fraction(25)
    plan = make_plan(media, fps)
    tl = build_timeline(plan)
    v = tl.video_tracks()[0]
    del v[len(v) - 1]
    v[0].media_reference.target_url = otio.url_utils.url_from_filepath(str(media["spare"]))
    v[0].metadata["musync"] = {}
    write_otio(tl, tmp_path / "short.otio")
    new = import_timeline(tmp_path / "short.otio", plan)
    assert new.shots[0].source == str(media["spare"]) and new.shots[0].locked
    assert new.clip(str(media["spare"])) is not None  # probed and added to the library
    assert "swapped" in new.shots[0].reason
    assert new.shots[-1].record_out == plan.duration_frames and not new.shots[-1].locked
    with pytest.raises(PlanError, match="not in the plan"):
        import_timeline(tmp_path / "short.otio", plan, scan_new=False)


def test_import_follows_the_song_and_ignores_transitions(media, tmp_path):
    """A timeline that starts at 01:00:00:00 with the song there too maps back to song frames."""
    fps = Fraction(30)
    plan = make_plan(media, fps)
    tl = build_timeline(plan)
    hour = otio.opentime.RationalTime(3600 * 30, 30)
    for t in tl.tracks:
        t.insert(0, otio.schema.Gap(source_range=otio.opentime.TimeRange(duration=hour)))
    v = tl.video_tracks()[0]
    v.insert(3, otio.schema.Transition(in_offset=otio.opentime.RationalTime(2, 30),
                                       out_offset=otio.opentime.RationalTime(2, 30)))
    write_otio(tl, tmp_path / "hour.otio")
    new = import_timeline(tmp_path / "hour.otio", plan)
    assert new.shots == plan.shots
    assert "transition" in new.warnings[-1]


# ---------------------------------------------------------------------------------------------
# command line


def test_cli_export_and_import(media, tmp_path, capsys):
    from musync.cli import main

    plan = make_plan(media, Fraction(30000, 1001))
    save_plan(plan, tmp_path / "plan.json")
    assert main(["export", str(tmp_path / "plan.json"), "-o", str(tmp_path / "e.xml")]) == 0
    assert main(["export", str(tmp_path / "plan.json"), "-o", str(tmp_path / "e.xml")]) == 4
    assert main(["export", str(tmp_path / "plan.json"), "-o", str(tmp_path / "e.xml"), "-y",
                 "--format", "edl"]) == 0
    assert (tmp_path / "e.xml").read_text().startswith("TITLE:")
    assert main(["export", str(tmp_path / "plan.json"), "-o", str(tmp_path / "e.otio")]) == 0
    assert main(["import", str(tmp_path / "e.otio"), "--plan", str(tmp_path / "plan.json"),
                 "-o", str(tmp_path / "new.json")]) == 0
    new = load_plan(tmp_path / "new.json")
    assert new.shots == plan.shots  # nothing changed in the editor: nothing locked
    assert main(["import", str(tmp_path / "e.otio"), "--plan", str(tmp_path / "plan.json"),
                 "-o", str(tmp_path / "all.json"), "--lock", "all"]) == 0
    assert all(s.locked for s in load_plan(tmp_path / "all.json").shots)
    err = capsys.readouterr().err
    assert "locked" in err
    assert main(["import", str(tmp_path / "e.otio"), "--plan", str(tmp_path / "plan.json"),
                 "-o", str(tmp_path / "new.json")]) == 4  # exists


# ---------------------------------------------------------------------------------------------
# files as editors write them (not as musync wrote them)


def fcp_style_fcpxml(plan, media) -> str:
    """An FCPXML shaped like Final Cut's own export: library/event/project, asset-clips in the
    spine, project starting at 01:00:00:00, the song connected below the first clip, a gap where
    shot 4 was deleted, assets in their own 30/25 fps formats."""
    fps = plan.fps

    def t(frames_):
        return _fcpx_time(Fraction(frames_) / fps)

    hour = Fraction(3600)
    ids = {"a": "r2", "b": "r3", "c": "r4"}
    fmt = {"a": "r5", "b": "r6", "c": "r1"}
    spine = []
    for s in plan.shots:
        key = Path(s.source).stem
        off = _fcpx_time(hour + Fraction(s.record_in) / fps)
        if s.index == 4:
            spine.append(f'<gap name="Gap" offset="{off}" duration="{t(s.length)}" start="3600s"/>')
            continue
        song = ""
        if s.index == 0:
            song = (f'<asset-clip ref="r7" lane="-1" offset="{t(s.source_in)}" name="song" '
                    f'duration="{t(plan.duration_frames)}" audioRole="music.music-1"/>')
        spine.append(f'<asset-clip ref="{ids[key]}" offset="{off}" name="{key}" start="{t(s.source_in)}" '
                     f'duration="{t(s.length)}" format="{fmt[key]}" tcFormat="NDF">{song}'
                     f'<marker start="{t(s.source_in)}" duration="{t(1)}" value="cut {s.index}"/>'
                     f'</asset-clip>')
    fd = _fcpx_time(1 / Fraction(fps))
    url = {k: otio.url_utils.url_from_filepath(str(media[k])) for k in ("a", "b", "c", "song")}
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE fcpxml>
<fcpxml version="1.10">
  <resources>
    <format id="r1" name="FFVideoFormat720p2398" frameDuration="{fd}" width="1280" height="720"/>
    <format id="r5" name="FFVideoFormatRateUndefined" frameDuration="1/30s" width="160" height="120"/>
    <format id="r6" name="FFVideoFormatRateUndefined" frameDuration="1/25s" width="160" height="120"/>
    <asset id="r2" name="a" start="0s" duration="4s" hasVideo="1" format="r5"><media-rep kind="original-media" src="{url['a']}"/></asset>
    <asset id="r3" name="b" start="0s" duration="4s" hasVideo="1" hasAudio="1" format="r6"><media-rep kind="original-media" src="{url['b']}"/></asset>
    <asset id="r4" name="c" start="0s" duration="4s" hasVideo="1" format="r1"><media-rep kind="original-media" src="{url['c']}"/></asset>
    <asset id="r7" name="song" start="0s" duration="6s" hasAudio="1" audioSources="1" audioChannels="1" audioRate="22050"><media-rep kind="original-media" src="{url['song']}"/></asset>
  </resources>
  <library>
    <event name="musync">
      <project name="musync - song">
        <sequence format="r1" duration="{t(plan.duration_frames)}" tcStart="3600s" tcFormat="NDF" audioLayout="stereo" audioRate="48k">
          <spine>{''.join(spine)}</spine>
        </sequence>
      </project>
    </event>
  </library>
</fcpxml>
"""


@pytest.mark.parametrize("fps", [Fraction(24000, 1001), Fraction(25)], ids=["23.976", "25"])
def test_import_final_cut_style_fcpxml(media, tmp_path, fps):
    plan = make_plan(media, fps)
    f = tmp_path / "fromfcp.fcpxml"
    f.write_text(fcp_style_fcpxml(plan, media))
    new = import_timeline(f, plan)
    s = plan.shots
    assert [(x.record_in, x.record_out, x.source_in, x.source, x.locked) for x in new.shots] == \
        [(x.record_in, x.record_out, x.source_in, x.source, False) for x in s]
    assert new.shots[:4] == s[:4] and "1 gap" in new.warnings[-1]
    assert new.shots[4].reason.startswith("gap")
    # the editor's own marker names ("cut N") are not musync's: they come back as notes
    assert [(m["frame"], m["name"]) for m in new.markers["notes"]] == \
        [(x.record_in, f"cut {x.index}") for x in s if x.index != 4]


def test_import_premiere_style_edl(media, tmp_path):
    """Record timecode from 01:00:00:00, clips named only, the first shot deleted (a gap)."""
    fps = Fraction(25)
    plan = make_plan(media, fps)
    lines = ["TITLE: Sequence 01", "FCM: NON-DROP FRAME", ""]
    hour = 3600 * 25
    for k, s in enumerate(plan.shots[1:], start=1):  # source timecode at each clip's own rate
        rate = CLIP_RATES[Path(s.source).stem]
        tc = [smpte(shown_frame(v, fps, rate), rate) for v in (s.source_in, s.source_out)] + \
             [smpte(hour + v, fps) for v in (s.record_in, s.record_out)]
        lines += [f"{k:03d}  AX       V     C        {' '.join(tc)}",
                  f"* FROM CLIP NAME: {Path(s.source).name}"]
    f = tmp_path / "premiere.edl"
    f.write_text("\n".join(lines) + "\n")
    new = import_timeline(f, plan)
    assert not new.shots[0].locked and new.shots[0].record_out == plan.shots[1].record_in
    assert new.shots[1:] == plan.shots[1:]


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_paths_with_spaces_hash_and_accents(media, tmp_path, suffix):
    odd = tmp_path / "my clips #2" / "été 100%.mp4"
    odd.parent.mkdir()
    odd.write_bytes(Path(media["a"]).read_bytes())
    plan = make_plan(media, 25)
    clips = tuple(sorted(plan.clips + (replace(plan.clips[0], path=str(odd)),), key=lambda c: c.path))
    s1 = plan.shots[1]
    plan = replace(plan, clips=clips, shots=plan.shots[:1] + (replace(s1, source=str(odd)),) + plan.shots[2:])
    out = export(plan, tmp_path / f"e{suffix}")
    text = out.read_bytes()
    if suffix != ".otioz":
        assert b"my%20clips%20%232/%C3%A9t%C3%A9%20100%25.mp4" in text
    back = import_timeline(out, plan)
    assert back.shots[1].source == str(odd)
    assert back.shots == plan.shots


# ---------------------------------------------------------------------------------------------
# import keeps the editor's decisions as locks, and only those


def test_import_locks_only_what_the_editor_changed_from_fcp7(media, tmp_path):
    """FCP7 XML keeps no musync metadata: changes are found by comparing with the plan."""
    fps = Fraction(25)
    plan = make_plan(media, fps)
    tl = build_timeline(plan)
    v = tl.video_tracks()[0]
    two = otio.opentime.RationalTime(2, 25)
    c = v[5]  # slip shot 5 by two frames: same place, other picture
    c.source_range = otio.opentime.TimeRange(c.source_range.start_time + two, c.source_range.duration)
    write_fcp7(tl, tmp_path / "slip.xml", plan)
    new = import_timeline(tmp_path / "slip.xml", plan)
    assert [s.index for s in new.shots if s.locked] == [5]
    assert new.shots[5].source_in == plan.shots[5].source_in + 2 and "trimmed" in new.shots[5].reason
    assert [s for s in new.shots if not s.locked] == [s for s in plan.shots if s.index != 5]
    # an earlier lock stays a lock when the shot is untouched
    locked = replace(plan, shots=tuple(replace(s, locked=s.index == 2) for s in plan.shots))
    again = import_timeline(tmp_path / "slip.xml", locked)
    assert [s.index for s in again.shots if s.locked] == [2, 5]


def _trim_out(clip, n, rate):
    d = otio.opentime.RationalTime(n, rate)
    clip.source_range = otio.opentime.TimeRange(clip.source_range.start_time, clip.source_range.duration - d)


@pytest.mark.parametrize("fps", [Fraction(30), Fraction(30000, 1001)], ids=["30", "29.97"])
def test_short_gap_between_locked_shots_is_merged_not_a_flash(media, tmp_path, fps):
    plan = make_plan(media, fps)
    n_min = max(1, round(plan.settings.min_shot * float(fps)))
    tl = build_timeline(plan)
    v = tl.video_tracks()[0]
    rate = float(fps)
    # trim 3 frames off shot 4's end without closing the gap, and swap shot 5's clip
    _trim_out(v[4], 3, rate)
    v.insert(5, otio.schema.Gap(source_range=otio.opentime.TimeRange(duration=otio.opentime.RationalTime(3, rate))))
    swap = v[6]
    swap.media_reference.target_url = otio.url_utils.url_from_filepath(str(media["b"]))
    swap.metadata["musync"] = {}
    assert 3 < n_min
    write_otio(tl, tmp_path / "gap.otio")
    new = import_timeline(tmp_path / "gap.otio", plan)
    validate_plan(new)
    # no shot shorter than the shortest shot; shot 4 covers the 3 frames again
    assert len(new.shots) == len(plan.shots)
    assert min(s.length for s in new.shots) == min(s.length for s in plan.shots)
    s4 = new.shots[4]
    assert (s4.record_in, s4.record_out, s4.source_in) == \
        (plan.shots[4].record_in, plan.shots[4].record_out, plan.shots[4].source_in)
    assert s4.locked and "extended over a 3-frame gap" in s4.reason
    assert "gap of 3 frame(s)" in new.warnings[-1] and "merged into the previous shot" in new.warnings[-1]
    assert "not filled with a flash frame" in new.warnings[-1]


def test_short_gap_next_to_a_proposal_is_left_to_the_planner(media, tmp_path):
    """A gap beside an untouched (unlocked) shot is re-planned together with it: no merge."""
    fps = Fraction(30)
    plan = make_plan(media, fps)
    tl = build_timeline(plan)
    v = tl.video_tracks()[0]
    _trim_out(v[4], 3, 30.0)
    v.insert(5, otio.schema.Gap(source_range=otio.opentime.TimeRange(duration=otio.opentime.RationalTime(3, 30))))
    write_otio(tl, tmp_path / "gap.otio")
    new = import_timeline(tmp_path / "gap.otio", plan)
    assert new.shots[4].locked and new.shots[4].record_out == plan.shots[4].record_out - 3
    assert not new.shots[5].locked and new.shots[5].length == 3 and not new.shots[6].locked
    assert "merged" not in new.warnings[-1]


def test_editor_markers_come_back_as_notes_and_go_out_again(media, tmp_path):
    fps = Fraction(24000, 1001)
    plan = make_plan(media, fps)
    tl = build_timeline(plan)
    rate = float(fps)
    tl.tracks.markers.append(otio.schema.Marker(
        name="fix colour here", color="RED",
        marked_range=otio.opentime.TimeRange(otio.opentime.RationalTime(40, rate), otio.opentime.RationalTime(0, rate))))
    clip = tl.video_tracks()[0][3]
    clip.markers.append(otio.schema.Marker(
        name="too dark", marked_range=otio.opentime.TimeRange(
            clip.source_range.start_time + otio.opentime.RationalTime(5, rate), otio.opentime.RationalTime(0, rate))))
    for writer, suffix in ((write_otio, ".otio"), (write_fcp7, ".xml")):
        f = tmp_path / f"notes{suffix}"
        writer(tl, f, plan)
        new = import_timeline(f, plan)
        notes = [(n["frame"], n["name"]) for n in new.markers["notes"]]
        assert notes == sorted([(40, "fix colour here"), (plan.shots[3].record_in + 5, "too dark")]), suffix
        assert "2 editor marker(s) kept as notes" in new.warnings[-1]
        assert new.shots == plan.shots  # markers are not edits
        # the notes go back out as markers and survive the next round trip, once each
        out = export(new, tmp_path / f"again{suffix}")
        again = import_timeline(out, new)
        assert [(n["frame"], n["name"]) for n in again.markers["notes"]] == notes
        save_plan(again, tmp_path / f"again{suffix}.json")
        assert load_plan(tmp_path / f"again{suffix}.json").markers["notes"] == again.markers["notes"]


def test_import_rejects_unknown_lock_policy(media, tmp_path):
    plan = make_plan(media, 30)
    out = export(plan, tmp_path / "e.otio")
    with pytest.raises(ParameterError, match="lock must be"):
        import_timeline(out, plan, lock="some")
