"""--collect: the song and every clip the editor cannot read, converted frame for frame."""

from __future__ import annotations

import json
import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from musync.errors import OutputExistsError, ParameterError
from musync.export import export, import_timeline, media_warnings, read_timeline
from musync.export.collect import collect_media
from musync.media import file_sha256, probe_codecs, run_ffmpeg
from musync.planfile import save_plan, validate_plan
from musync.testing import make_song
from musync.types import AudioInfo, Plan, PlanClip, PlanSettings, Shot

from test_export import video_clips

FPS = Fraction(30)


@pytest.fixture(scope="module")
def webm_media(tmp_path_factory):
    """A variable-rate VP9 .webm around 25 fps (moving pattern; frames 40 ms apart, then 42 ms),
    an H.264 .mp4 at 30 fps, an Ogg Vorbis song."""
    d = tmp_path_factory.mktemp("collect_media")
    webm = d / "ai shot.webm"
    run_ffmpeg(["-y", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=2",
                "-vf", "settb=1/1000,setpts='(N*40+gt(N,20)*(N-20)*2)/1000/TB'", "-fps_mode", "passthrough",
                "-enc_time_base:v", "1:1000",
                "-c:v", "libvpx-vp9", "-b:v", "0", "-crf", "30", "-deadline", "realtime",
                "-cpu-used", "8", str(webm)])
    mp4 = d / "phone.mp4"
    run_ffmpeg(["-y", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=30:duration=2",
                "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(mp4)])
    wav = make_song(bpm=120.0, form=[("verse", 1)], tail=0.2).write(d / "song.wav")
    ogg = d / "song.ogg"
    run_ffmpeg(["-y", "-i", str(wav), "-c:a", "libvorbis", "-q:a", "4", str(ogg)])
    return {"webm": webm, "mp4": mp4, "ogg": ogg}


def make_plan(m) -> Plan:
    n = 90  # 3 s at 30 fps
    clips = tuple(sorted((PlanClip(str(m["webm"]), 2.0, Fraction(25), (160, 120), usable_out=2.0),
                          PlanClip(str(m["mp4"]), 2.0, Fraction(30), (160, 120), usable_out=2.0)),
                         key=lambda c: c.path))
    shots = (Shot(0, str(m["webm"]), 5, 35, 0, 30), Shot(1, str(m["mp4"]), 10, 40, 30, 60),
             Shot(2, str(m["webm"]), 20, 50, 60, 90))
    plan = Plan(AudioInfo(str(m["ogg"]), file_sha256(m["ogg"]), 3.0, 22050, 1), FPS, n, (1280, 720), "16:9",
                PlanSettings(fps=FPS, size=(1280, 720)), shots, markers={"beats": [0, 15, 30]},
                clips=clips)
    validate_plan(plan)
    return plan


def frames_of(path):
    """Decoded frames (grey, float) and their times after the first frame."""
    out, times = [], []
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        for f in c.decode(s):
            out.append(f.to_ndarray(format="gray").astype(np.float32))
            times.append(float(f.pts * s.time_base))
    t0 = times[0]
    return np.stack(out), np.round(np.array(times) - t0, 4)


def test_warnings_name_what_the_editor_cannot_open(webm_media):
    plan = make_plan(webm_media)
    for fmt in ("xml", "fcpxml", "edl"):
        w = media_warnings(plan, fmt)
        assert [line.split(": ")[0] for line in w] == [str(webm_media["ogg"]), str(webm_media["webm"])], fmt
        assert all("--collect" in line for line in w)
    assert "vp9" in media_warnings(plan, "xml")[1] or ".webm" in media_warnings(plan, "xml")[1]
    assert media_warnings(plan, "otio", editor="kdenlive") == []


@pytest.mark.parametrize("codec,vcodec", [("h264", "h264"), ("prores", "prores")])
def test_collect_converts_frame_for_frame(webm_media, tmp_path, codec, vcodec):
    plan = make_plan(webm_media)
    folder = tmp_path / "edit media"
    new, files = collect_media(plan, folder, "xml", codec=codec)
    by = {Path(f.original).name: f for f in files}
    assert by["song.ogg"].action == "converted" and by["ai shot.webm"].action == "converted"
    assert by["phone.mp4"].action in ("linked", "copied")
    assert os.path.samefile(by["phone.mp4"].collected, webm_media["mp4"]) or by["phone.mp4"].action == "copied"
    song = Path(by["song.ogg"].collected)
    assert song.suffix == ".wav" and probe_codecs(song).audio.startswith("pcm_")
    with av.open(str(song)) as c:
        a = c.streams.audio[0]
        assert (a.codec_context.sample_rate, a.codec_context.channels) == (22050, 1)
    clip = Path(by["ai shot.webm"].collected)
    assert probe_codecs(clip).video == vcodec
    # same frames: count, timestamps, and each frame is its own original (not a neighbour)
    orig, t_orig = frames_of(webm_media["webm"])
    got, t_got = frames_of(clip)
    assert got.shape == orig.shape and np.array_equal(t_got, t_orig)
    assert len(set(np.round(np.diff(t_orig), 3))) >= 2  # the source really is variable-rate
    err_same = np.abs(got - orig).mean(axis=(1, 2))
    err_next = np.abs(got[1:] - orig[:-1]).mean(axis=(1, 2))
    assert err_same.max() < 3.0 and np.all(err_same[1:] < err_next), (err_same.max(), err_next.min())
    # the plan now points into the folder, and nothing else changed
    assert [s.source for s in new.shots] == [str(folder / "ai shot.mp4" if codec == "h264" else folder / "ai shot.mov"),
                                           str(folder / "phone.mp4"), str(folder / ("ai shot" + clip.suffix))]
    assert [(s.source_in, s.record_in, s.record_out) for s in new.shots] == \
        [(s.source_in, s.record_in, s.record_out) for s in plan.shots]
    manifest = json.loads((folder / "musync-collect.json").read_text())
    assert manifest["files"][clip.name]["original"] == str(webm_media["webm"])
    assert media_warnings(new, "xml") == []  # everything opens now
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folder left


def test_export_with_collect_points_the_timeline_at_the_folder(webm_media, tmp_path):
    from musync.cli import main

    plan = make_plan(webm_media)
    save_plan(plan, tmp_path / "plan.json")
    out, folder = tmp_path / "edit.xml", tmp_path / "media"
    assert main(["export", str(tmp_path / "plan.json"), "-o", str(out), "--collect", str(folder)]) == 0
    tl = read_timeline(out, "xml")
    got = video_clips(tl, FPS)
    assert [g[:3] for g in got] == [(s.record_in, s.record_out, s.source_in) for s in plan.shots]
    assert all(Path(g[3]).parent == folder for g in got)
    audio = [c for t in tl.audio_tracks() for c in t.find_clips()]
    assert audio[0].media_reference.target_url.endswith("/media/song.wav")
    # an edit of the collected timeline comes back in terms of the original files
    back = import_timeline(out, plan)
    assert back.shots == plan.shots
    # the folder is not replaced without -y; the timeline neither
    assert main(["export", str(tmp_path / "plan.json"), "-o", str(tmp_path / "e2.xml"),
                 "--collect", str(folder)]) == 2
    with pytest.raises(OutputExistsError):
        export(plan, out, collect=tmp_path / "other")
    assert not (tmp_path / "other").exists()


def test_export_without_collect_warns_once_per_file(webm_media, tmp_path, capsys):
    from musync.cli import main

    save_plan(make_plan(webm_media), tmp_path / "plan.json")
    assert main(["export", str(tmp_path / "plan.json"), "-o", str(tmp_path / "e.fcpxml")]) == 0
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.startswith("warning:") and "fingerprints" not in ln]
    assert len(lines) == 2 and "song.ogg" in lines[0] and "Final Cut Pro" in lines[0]
    assert "ai shot.webm" in lines[1]
    with pytest.raises(ParameterError, match="unknown editor"):
        media_warnings(make_plan(webm_media), "xml", editor="vegas")


def test_codec_names_are_codecs_not_decoders(webm_media, tmp_path):
    """FFmpeg decodes MP3 with 'mp3float': that is still MP3, which every editor reads."""
    mp4 = tmp_path / "with mp3.mp4"
    run_ffmpeg(["-y", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=30:duration=1", "-f", "lavfi",
                "-i", "sine=f=440:duration=1", "-c:v", "libx264", "-preset", "ultrafast",
                "-pix_fmt", "yuv420p", "-c:a", "libmp3lame", "-shortest", str(mp4)])
    assert probe_codecs(mp4).audio == "mp3"
    plan = make_plan(webm_media)
    c = PlanClip(str(mp4), 1.0, Fraction(30), (64, 48), usable_out=1.0, has_audio=True)
    plan = Plan(plan.audio, FPS, 30, plan.size, plan.aspect, plan.settings,
                (Shot(0, str(mp4), 0, 30, 0, 30),), clips=(c,))
    assert [w.split(": ")[0] for w in media_warnings(plan, "fcpxml")] == [str(webm_media["ogg"])]
