"""Rendering: frame-exact cuts, A/V sync, framing, draft/final, safety, progress.

Every source is generated here with ffmpeg (tiny: 160x90, 2 s) and shows its own clip id and
frame number as black and white blocks, so each decoded output frame says where it came from.
The expected source frame is computed from the file's own timestamps (read back with PyAV).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

import importlib

R = importlib.import_module("musync.render")
from musync.errors import MediaError, OutputExistsError, ParameterError, PlanError
from musync.planfile import save_plan

from test_render_media import (decode_audio, decode_output, make_coded_clip, make_colour_clip,
                               make_plan, make_still, onsets, read_code, write_song)

NTSC = Fraction(30000, 1001)
FILM = Fraction(24000, 1001)


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    d = tmp_path_factory.mktemp("render_media")
    m = {}
    m["c30"] = make_coded_clip(d / "c30.mp4", clip_id=1, fps=30)
    m["c25"] = make_coded_clip(d / "c25.mp4", clip_id=2, fps=25)
    m["ntsc"] = make_coded_clip(d / "ntsc.mp4", clip_id=3, fps=NTSC)
    m["vfr"] = make_coded_clip(d / "vfr.mp4", clip_id=4, fps=30, vfr=True)
    m["rot90"] = make_coded_clip(d / "rot90.mp4", clip_id=5, fps=30, size=(90, 160), rotation=90)
    m["rot270"] = make_coded_clip(d / "rot270.mp4", clip_id=6, fps=24, size=(90, 160), rotation=270)
    m["odd"] = make_coded_clip(d / "odd.mp4", clip_id=7, fps=30, size=(161, 91))
    m["start"] = make_coded_clip(d / "start.mkv", clip_id=8, fps=24, start=0.4)
    m["c60"] = make_coded_clip(d / "c60.mp4", clip_id=9, fps=60, n_frames=120, audio=True)
    m["rot180"] = make_coded_clip(d / "rot180.mp4", clip_id=10, fps=30, rotation=180)
    m["ffv1"] = make_coded_clip(d / "ffv1.mkv", clip_id=11, fps=25, size=(161, 91), codec="ffv1")
    m["black"] = make_still(d / "black.png", (0, 0, 0))
    m["white"] = make_still(d / "white.png", (255, 255, 255))
    m["red"] = make_colour_clip(d / "red.mp4", (220, 20, 20), clip_id=13)
    m["blue"] = make_colour_clip(d / "blue.mp4", (20, 20, 220), clip_id=12, fps=25)
    m["dir"] = d
    return m


def coded(media):
    return [v for k, v in media.items() if k not in ("dir", "black", "white", "red", "blue")]


def cut_list(media, fps):
    """Shots from every coded source, with lengths 1..13 and varied in-points."""
    order = ["c30", "vfr", "rot90", "odd", "c25", "start", "ntsc", "c60", "rot270", "rot180",
             "ffv1", "c30", "vfr", "rot90", "start"]
    cuts = []
    for i, name in enumerate(order):
        src = media[name]
        n_avail = int(src.duration * float(fps)) - 1
        length = [7, 1, 13, 4, 9, 2, 11, 5, 8, 3, 6, 10, 12, 2, 5][i]
        sin = (i * 7) % max(1, n_avail - length)
        cuts.append((src, sin, length))
    return cuts


def check_frames(out, cuts, fps, framing="fill"):
    """Assert every output frame shows the planned clip and source frame; return stream info."""
    lumas, times, info = decode_output(out)
    total = sum(c[2] for c in cuts)
    assert len(lumas) == total
    assert times == [Fraction(i) / fps for i in range(total)], "frames not on the exact grid"
    rec = 0
    errors = []
    for k, (src, sin, n) in enumerate(cuts):
        for j in range(n):
            want = (src.clip_id, src.frame_for(sin + j, fps))
            got = read_code(lumas[rec], src.size, framing)
            if got != want:
                errors.append((k, rec, src.path.name, want, got))
            rec += 1
    assert not errors, f"{len(errors)} wrong frames, first: {errors[:5]}"
    return info


@pytest.mark.parametrize("proxies", [False, True], ids=["originals", "proxies"])
@pytest.mark.parametrize("fps", [Fraction(30), Fraction(25), NTSC], ids=["30", "25", "29.97"])
@pytest.mark.parametrize("size,framing", [((320, 180), "fill"), ((180, 320), "fill"),
                                          ((320, 180), "fit"), ((180, 320), "fit")],
                         ids=["16:9-fill", "9:16-fill", "16:9-fit", "9:16-fit"])
def test_every_frame_comes_from_the_planned_source_frame(media, tmp_path, fps, size, framing,
                                                         proxies):
    cuts = cut_list(media, fps)
    total = sum(c[2] for c in cuts)
    song = write_song(tmp_path / "song.wav", total / float(fps))
    aspect = "16:9" if size[0] > size[1] else "9:16"
    plan = make_plan(song, coded(media), cuts, fps=fps, size=size, aspect=aspect)
    out = tmp_path / "out.mp4"
    res = R.render(plan, out, framing=framing, proxies=proxies)
    assert res.frames == total and res.settings.size == size
    assert res.proxies == (len(coded(media)) if proxies else 0)
    info = check_frames(out, cuts, fps, framing)
    assert (info["width"], info["height"]) == size
    assert info["pix_fmt"] == "yuv420p" and info["codec"] == "h264"
    assert info["rate"] == fps
    assert info["video_streams"] == 1 and info["audio_streams"] == 1
    assert info["audio_codec"] == "aac"


def test_clip_audio_is_ignored_and_the_song_is_the_only_sound(media, tmp_path):
    src = media["c60"]                            # has a 330 Hz tone
    song = write_song(tmp_path / "song.wav", 2.0, clicks=[0.5, 1.5])
    plan = make_plan(song, [src], [(src, 0, 60)], fps=30)
    out = tmp_path / "out.mp4"
    R.render(plan, out)
    y = decode_audio(out)
    assert np.allclose(onsets(y, 48000), [0.5, 1.5], atol=0.003)
    spec = np.abs(np.fft.rfft(y[:48000]))
    f = np.fft.rfftfreq(48000, 1 / 48000)
    assert spec[np.argmin(np.abs(f - 330))] < 0.05 * spec.max()


def _flash_plan(media, tmp_path, fps, seconds, flashes, sr=48000):
    """Black stills with one-frame white flashes at ``flashes`` (frames); clicks at the same
    instants in the song."""
    total = int(round(seconds * fps))
    song = write_song(tmp_path / "song.wav", float(Fraction(total) / fps),
                      clicks=[float(Fraction(f) / fps) for f in flashes], sr=sr)
    cuts, rec = [], 0
    for f in sorted(flashes):
        if f > rec:
            cuts.append((media["black"], 0, f - rec))
        cuts.append((media["white"], 0, 1))
        rec = f + 1
    if rec < total:
        cuts.append((media["black"], 0, total - rec))
    return make_plan(song, [media["black"], media["white"]], cuts, fps=fps, size=(64, 36)), song


def _flash_times(out, fps, frames=None):
    with av.open(str(out)) as c:
        v = c.streams.video[0]
        found = []
        for f in c.decode(v):
            y = f.to_ndarray(format="gray")
            if y.mean() > 128:
                found.append(Fraction(f.pts) * v.time_base)
    return found


@pytest.mark.parametrize("fps", [NTSC, FILM, Fraction(25)], ids=["29.97", "23.976", "25"])
def test_flash_and_click_stay_within_half_a_frame(media, tmp_path, fps):
    seconds = 20
    total = int(round(seconds * fps))
    flashes = [3, 40, total - 30, total - 4]
    plan, song = _flash_plan(media, tmp_path, fps, seconds, flashes)
    out = tmp_path / "out.mp4"
    R.render(plan, out)
    vt = _flash_times(out, fps)
    assert vt == [Fraction(f) / fps for f in flashes]
    at = onsets(decode_audio(out), 48000)
    assert len(at) == len(flashes)
    assert np.max(np.abs(at - np.array([float(t) for t in vt]))) < 0.5 / float(fps)
    # the output lasts as long as the song, to within one frame
    with av.open(str(out)) as c:
        a = c.streams.audio[0]
        v = c.streams.video[0]
        a_end = float(a.duration * a.time_base) + float(a.start_time * a.time_base)
        v_end = float(v.duration * v.time_base)
    assert abs(v_end - seconds) <= 1 / float(fps) and abs(a_end - seconds) <= 1 / float(fps)


def test_ten_minute_song_does_not_drift_at_23_976(media, tmp_path):
    fps = FILM
    seconds = 600
    total = int(round(seconds * fps))
    flashes = [5, total // 2, total - 6]
    plan, song = _flash_plan(media, tmp_path, fps, seconds, flashes, sr=16000)
    out = tmp_path / "out.mp4"
    R.render(plan, out)
    vt = _flash_times(out, fps)
    assert vt == [Fraction(f) / fps for f in flashes]
    at = onsets(decode_audio(out, 16000), 16000)
    assert np.max(np.abs(at - np.array([float(t) for t in vt]))) < 0.5 / float(fps)


def test_colour_clips_keep_their_colour(media, tmp_path):
    red, blue = media["red"], media["blue"]
    song = write_song(tmp_path / "song.wav", 1.0)
    plan = make_plan(song, [red, blue], [(red, 0, 15), (blue, 3, 15)], fps=30)
    out = tmp_path / "out.mp4"
    R.render(plan, out)
    with av.open(str(out)) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    assert len(frames) == 30
    for i, f in enumerate(frames):
        mean = f.reshape(-1, 3).mean(axis=0)
        want = red.colour if i < 15 else blue.colour
        assert np.abs(mean - want).max() < 25, (i, mean, want)


# -- framing and settings ----------------------------------------------------------------------

def _plan(media, tmp_path, size=(1920, 1080), aspect="16:9", fps=30):
    src = media["c30"]
    song = write_song(tmp_path / "song.wav", 1.0)
    return make_plan(song, [src], [(src, 0, 30)], fps=fps, size=size, aspect=aspect)


def test_settings_draft_final_size_aspect(media, tmp_path):
    plan = _plan(media, tmp_path)
    s = R.render_settings(plan)
    assert (s.width, s.height, s.preset, s.mode) == (640, 360, "ultrafast", "draft")
    f = R.render_settings(plan, mode="final")
    assert (f.width, f.height) == (1920, 1080) and f.preset != "ultrafast"
    assert R.render_settings(plan, mode="final", crf=18, preset="slow").crf == 18
    assert R.render_settings(plan, aspect="9:16").size == (360, 640)
    assert R.render_settings(plan, mode="final", aspect="9:16").size == (1080, 1920)
    assert R.render_settings(plan, mode="final", aspect="1:1").size == (1920, 1920)
    odd = R.render_settings(plan, mode="final", size="1281x721").size
    assert all(v % 2 == 0 for v in odd) and abs(odd[0] - 1281) == 1 and abs(odd[1] - 721) == 1
    assert R.render_settings(plan, size=(1280, 720)).size == (640, 360)
    v = R.render_settings(_plan(media, tmp_path, size=(1080, 1920), aspect="9:16"))
    assert v.size == (360, 640) and v.width <= 640
    for bad in (dict(mode="preview"), dict(framing="stretch"), dict(crop="left"),
                dict(crf=60), dict(preset="warp"), dict(size="big"), dict(aspect="wide"),
                dict(size=(1280, 720), aspect="9:16")):
        with pytest.raises(ParameterError):
            R.render_settings(plan, **bad)


def test_final_renders_full_size_and_draft_shrinks(media, tmp_path):
    plan = _plan(media, tmp_path, size=(320, 180))
    R.render(plan, tmp_path / "final.mp4", mode="final", crf=30, preset="ultrafast")
    lumas, _, info = decode_output(tmp_path / "final.mp4")
    assert (info["width"], info["height"]) == (320, 180)
    big = _plan(media, tmp_path, size=(1280, 720))
    R.render(big, tmp_path / "draft.mp4")
    _, _, info = decode_output(tmp_path / "draft.mp4")
    assert (info["width"], info["height"]) == (640, 360)


def test_letterbox_is_black_and_fill_has_no_bars(media, tmp_path):
    src = media["rot90"]                          # portrait source into a 16:9 frame
    song = write_song(tmp_path / "song.wav", 1.0)
    plan = make_plan(song, [src], [(src, 0, 30)], fps=30, size=(320, 180))
    R.render(plan, tmp_path / "fit.mp4", framing="fit")
    R.render(plan, tmp_path / "fill.mp4", framing="fill")
    fit, _, _ = decode_output(tmp_path / "fit.mp4")
    fill, _, _ = decode_output(tmp_path / "fill.mp4")
    # 90x160 scaled into 320x180 is about 102 px wide: bars of ~109 px at each side
    assert fit[0][:, :100].mean() < 20 and fit[0][:, -100:].mean() < 20
    assert fill[0][:, :20].mean() > 60 and fill[0][:, -20:].mean() > 60


def _motion_clip(path, side: str):
    """16:9 clip, static grey texture, a white square moving up and down on one side."""
    w, h, n = 320, 180, 30
    rng = np.random.default_rng(0)
    base = (rng.integers(60, 100, (h, w, 1)) * np.ones((1, 1, 3))).astype(np.uint8)
    frames = []
    for k in range(n):
        img = base.copy()
        x = 250 if side == "right" else 20
        y = 10 + (k * 11) % 140
        img[y:y + 30, x:x + 40] = 255
        frames.append(img.tobytes())
    from musync.media import ffmpeg_exe

    subprocess.run([ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-y", "-f", "rawvideo",
                    "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-framerate", "30", "-i", "pipe:0",
                    "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-pix_fmt", "yuv420p",
                    str(path)], input=b"".join(frames), check=True)


def test_motion_weighted_crop_follows_the_motion(tmp_path):
    from test_render_media import Source, file_times

    p = tmp_path / "moving.mp4"
    _motion_clip(p, "right")
    times = file_times(p)
    src = Source(p, 0, (320, 180), 0, times, Fraction(30))
    song = write_song(tmp_path / "song.wav", 1.0)
    plan = make_plan(song, [src], [(src, 0, 30)], fps=30, size=(90, 160), aspect="9:16")
    R.render(plan, tmp_path / "centre.mp4", crop="center")
    R.render(plan, tmp_path / "motion.mp4", crop="motion")
    centre, _, _ = decode_output(tmp_path / "centre.mp4")
    moving, _, _ = decode_output(tmp_path / "motion.mp4")

    def change(frames):
        return float(np.mean([np.abs(a.astype(int) - b.astype(int)).mean()
                              for a, b in zip(frames, frames[1:])]))

    assert change(moving) > 5 * max(change(centre), 0.5)


# -- sources -----------------------------------------------------------------------------------

def test_each_source_is_opened_once(media, tmp_path, monkeypatch):
    fps = Fraction(30)
    cuts = [(media["c30"], 0, 5), (media["vfr"], 10, 5), (media["c30"], 30, 5),
            (media["vfr"], 2, 5), (media["c30"], 6, 5), (media["odd"], 0, 5)]
    song = write_song(tmp_path / "song.wav", 1.0)
    plan = make_plan(song, [media["c30"], media["vfr"], media["odd"]], cuts, fps=fps)
    opened = []
    real_open = av.open

    def counting_open(path, *a, **kw):
        if ".musync-" not in Path(path).name:        # not the render's own output, read back
            opened.append(Path(path).name)
        return real_open(path, *a, **kw)

    monkeypatch.setattr(av, "open", counting_open)
    R.render(plan, tmp_path / "out.mp4", proxies=False)
    monkeypatch.setattr(av, "open", real_open)
    assert sorted(opened) == ["c30.mp4", "odd.mp4", "vfr.mp4"]
    check_frames(tmp_path / "out.mp4", cuts, fps)
    # a draft from proxies (made first where missing) opens each proxy once, and once they
    # exist, no source at all
    R.render(plan, tmp_path / "p1.mp4")
    opened.clear()
    monkeypatch.setattr(av, "open", counting_open)
    res = R.render(plan, tmp_path / "p2.mp4")
    monkeypatch.setattr(av, "open", real_open)
    assert res.proxies == 3 and len(opened) == 3 and len(set(opened)) == 3
    assert not {"c30.mp4", "odd.mp4", "vfr.mp4"} & set(opened)
    check_frames(tmp_path / "p2.mp4", cuts, fps)


def test_missing_source_fails_before_encoding_naming_shot_and_file(media, tmp_path):
    import shutil

    gone = tmp_path / "gone.mp4"
    shutil.copy(media["c25"].path, gone)
    src = media["c25"]
    from test_render_media import Source

    g = Source(gone, src.clip_id, src.size, 0, src.times, src.fps)
    song = write_song(tmp_path / "song.wav", 1.0)
    plan = make_plan(song, [media["c30"], g], [(media["c30"], 0, 10), (g, 0, 20)], fps=30)
    gone.unlink()
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with pytest.raises(MediaError) as ei:
        R.render(plan, out_dir / "out.mp4")
    msg = str(ei.value)
    assert "gone.mp4" in msg and "shot 1" in msg
    assert list(out_dir.iterdir()) == []
    # a damaged file: same, before encoding
    gone.write_bytes(b"not a video at all" * 100)
    with pytest.raises(MediaError) as ei:
        R.render(plan, out_dir / "out.mp4")
    assert "gone.mp4" in str(ei.value) and "shot 1" in str(ei.value)
    assert list(out_dir.iterdir()) == []


def test_missing_song_is_a_media_error(media, tmp_path):
    plan = _plan(media, tmp_path, size=(320, 180))
    Path(plan.audio.path).unlink()
    with pytest.raises(MediaError, match="song"):
        R.render(plan, tmp_path / "out.mp4")


def test_changed_song_is_refused_unless_allowed(media, tmp_path):
    from musync.errors import MediaChangedError

    plan = _plan(media, tmp_path, size=(320, 180))
    write_song(plan.audio.path, 1.0, clicks=[0.2])
    with pytest.raises(MediaChangedError, match="song has changed"):
        R.render(plan, tmp_path / "out.mp4")
    assert not (tmp_path / "out.mp4").exists()
    with pytest.warns(UserWarning, match="changed"):
        res = R.render(plan, tmp_path / "out.mp4", allow_changed_media=True)
    assert any("changed" in w for w in res.warnings)


def test_invalid_plan_is_rejected(media, tmp_path):
    import dataclasses

    plan = _plan(media, tmp_path, size=(320, 180))
    broken = dataclasses.replace(plan, duration_frames=plan.duration_frames + 5)
    with pytest.raises(PlanError):
        R.render(broken, tmp_path / "out.mp4")


def test_plan_file_with_relative_paths(media, tmp_path):
    import shutil

    d = tmp_path / "project"
    d.mkdir()
    shutil.copy(media["c30"].path, d / "clip.mp4")
    write_song(d / "song.wav", 1.0)
    src = media["c30"]
    from test_render_media import Source

    local = Source(d / "clip.mp4", src.clip_id, src.size, 0, src.times, src.fps)
    plan = make_plan(d / "song.wav", [local], [(local, 0, 30)], fps=30, size=(320, 180))
    import dataclasses


    rel = dataclasses.replace(
        plan, audio=dataclasses.replace(plan.audio, path="song.wav"),
        shots=tuple(dataclasses.replace(s, source="clip.mp4") for s in plan.shots),
        clips=tuple(dataclasses.replace(c, path="clip.mp4") for c in plan.clips))
    save_plan(rel, d / "plan.json")
    res = R.render(d / "plan.json", tmp_path / "out.mp4")
    assert res.frames == 30


# -- safety ------------------------------------------------------------------------------------

def test_existing_output_is_not_overwritten(media, tmp_path):
    plan = _plan(media, tmp_path, size=(320, 180))
    out = tmp_path / "out.mp4"
    out.write_bytes(b"precious")
    with pytest.raises(OutputExistsError, match="overwrite"):
        R.render(plan, out)
    assert out.read_bytes() == b"precious"
    R.render(plan, out, overwrite=True)
    assert out.stat().st_size > 1000


def test_bad_output_suffix(media, tmp_path):
    with pytest.raises(ParameterError):
        R.render(_plan(media, tmp_path, size=(320, 180)), tmp_path / "out.gif")


def _children() -> list[int]:
    me = os.getpid()
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == me:
                out.append(int(d))
    return out


def _ffmpeg_writing(folder: Path) -> list[int]:
    """Live processes whose command line mentions ``folder``."""
    pids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/cmdline", "rb") as fh:
                    cmd = fh.read()
            except OSError:
                continue
            if str(folder).encode() in cmd and b"ffmpeg" in cmd:
                pids.append(int(d))
    return pids


def test_exception_midway_leaves_nothing(media, tmp_path, monkeypatch):
    fps = Fraction(30)
    cuts = cut_list(media, fps)
    song = write_song(tmp_path / "song.wav", sum(c[2] for c in cuts) / 30)
    plan = make_plan(song, coded(media), cuts, fps=fps, size=(320, 180))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    before = set(_children())

    def boom(ev):
        if ev.stage == "render" and ev.done >= 40:
            raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        R.render(plan, out_dir / "out.mp4", progress=boom)
    assert list(out_dir.iterdir()) == []
    assert list(cwd.iterdir()) == []
    assert set(_children()) <= before
    assert _ffmpeg_writing(out_dir) == []


_RENDER_SCRIPT = """
import sys, json
from musync.render import render
render(sys.argv[1], sys.argv[2], progress="json")
"""


_RENDER_CLI = """
import signal, sys
from musync.cli import main
if sys.argv[3] == "nohup":
    signal.signal(signal.SIGHUP, signal.SIG_IGN)        # what nohup does before it starts musync
sys.exit(main(["render", sys.argv[1], "-o", sys.argv[2], "--progress", "json"]))
"""


def _long_render_plan(media, tmp_path, seconds: int = 240):
    """A plan of ``seconds`` of stills (long enough to still be rendering when a signal comes),
    an empty output folder and an empty working folder: ``(plan path, out_dir, cwd)``."""
    black, white = media["black"], media["white"]
    cuts = [(black if k % 2 else white, 0, 30) for k in range(seconds)]
    song = write_song(tmp_path / "song.wav", seconds)
    save_plan(make_plan(song, [black, white], cuts, fps=Fraction(30), size=(1280, 720)), tmp_path / "plan.json")
    out_dir, cwd = tmp_path / "out", tmp_path / "cwd"
    out_dir.mkdir()
    cwd.mkdir()
    return tmp_path / "plan.json", out_dir, cwd


def _start_long_render(media, tmp_path, script, *extra, seconds: int = 240):
    """A render of ``seconds`` of stills in a child process, returned once frames flow:
    ``(proc, out_dir, cwd)``."""
    plan_path, out_dir, cwd = _long_render_plan(media, tmp_path, seconds)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]), TMPDIR=str(cwd))

    def child_signals():
        # the child hears SIGINT even when the tests run in the background (a shell starts
        # background jobs with SIGINT ignored, and Python then keeps it ignored); SIGHUP as
        # a terminal would deliver it
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGHUP, signal.SIG_DFL)

    proc = subprocess.Popen([sys.executable, "-c", script, str(plan_path),
                             str(out_dir / "out.mp4"), *extra], cwd=cwd, env=env,
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, preexec_fn=child_signals)
    t0 = time.time()
    while time.time() - t0 < 60:
        line = proc.stderr.readline()
        if not line:
            break
        if line.startswith(b"{") and json.loads(line).get("done", 0) > 60:
            break
    else:
        line = b""
    assert line, "the render never started"
    assert any(p.name.endswith(".part.mp4") for p in out_dir.iterdir())
    return proc, out_dir, cwd


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP], ids=["SIGTERM", "SIGINT", "SIGHUP"])
def test_killed_render_leaves_no_file_no_temp_no_child(media, tmp_path, sig):
    proc, out_dir, cwd = _start_long_render(media, tmp_path, _RENDER_SCRIPT)
    proc.send_signal(sig)
    proc.stderr.read()
    rc = proc.wait(timeout=30)
    assert rc != 0
    time.sleep(0.2)
    assert list(out_dir.iterdir()) == []
    assert list(cwd.iterdir()) == []
    assert _ffmpeg_writing(out_dir) == []


def test_render_command_hung_up_cleans_up_unless_under_nohup(media, tmp_path):
    """A closed terminal (SIGHUP) stops `musync render` as SIGTERM does: exit 129, one line, no
    output, no temporary file, no encoder left. Under nohup (SIGHUP ignored) it goes on."""
    (tmp_path / "a").mkdir()
    proc, out_dir, cwd = _start_long_render(media, tmp_path / "a", _RENDER_CLI, "terminal")
    proc.send_signal(signal.SIGHUP)
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=30) == 129
    assert json.loads(err.strip().splitlines()[-1])["message"] == "terminated by SIGHUP"
    time.sleep(0.2)
    assert list(out_dir.iterdir()) == [] and list(cwd.iterdir()) == []
    assert _ffmpeg_writing(out_dir) == []

    (tmp_path / "b").mkdir()
    proc, out_dir, cwd = _start_long_render(media, tmp_path / "b", _RENDER_CLI, "nohup", seconds=20)
    proc.send_signal(signal.SIGHUP)
    try:
        proc.stderr.read()
        assert proc.wait(timeout=240) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert [p.name for p in out_dir.iterdir()] == ["out.mp4"]


def test_render_command_on_a_terminal_that_closes_cleans_up(media, tmp_path):
    """The real hang-up: `musync render` on a terminal (a pty as its controlling terminal) that
    goes away mid-render. The kernel sends SIGHUP, and every write to the terminal fails from
    then on; musync still cleans up and exits 129."""
    import fcntl
    import termios

    plan_path, out_dir, cwd = _long_render_plan(media, tmp_path)
    master, slave = os.openpty()

    def on_the_terminal():
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)        # the pty becomes the controlling terminal
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]), TMPDIR=str(cwd))
    proc = subprocess.Popen([sys.executable, "-m", "musync", "render", str(plan_path),
                             "-o", str(out_dir / "out.mp4"), "--progress", "json"],
                            stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
                            preexec_fn=on_the_terminal, cwd=cwd, env=env)
    os.close(slave)
    try:
        seen, t0 = b"", time.time()
        while time.time() - t0 < 60 and not any(p.name.endswith(".part.mp4") for p in out_dir.iterdir()):
            try:
                seen += os.read(master, 65536)
            except OSError:
                break
        assert any(p.name.endswith(".part.mp4") for p in out_dir.iterdir()), seen[-500:]
        time.sleep(0.5)
        os.close(master)                                 # the terminal goes away
        rc = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert rc == 129
    time.sleep(0.2)
    assert list(out_dir.iterdir()) == [] and list(cwd.iterdir()) == []
    assert _ffmpeg_writing(out_dir) == []


# -- progress ----------------------------------------------------------------------------------

def test_progress_callback_and_json(media, tmp_path, capsys):
    plan = _plan(media, tmp_path, size=(320, 180))
    events = []
    R.render(plan, tmp_path / "a.mp4", progress=events.append)
    assert events and events[-1].done == events[-1].total == plan.duration_frames
    assert all(e.stage in ("proxies", "render") and e.unit == "frames" for e in events)
    events = [e for e in events if e.stage == "render"]
    assert [e.done for e in events] == sorted(e.done for e in events)
    R.render(plan, tmp_path / "b.mp4", progress="json")
    err = capsys.readouterr().err
    lines = [json.loads(x) for x in err.splitlines() if x.startswith("{")]
    assert lines[-1]["done"] == plan.duration_frames
    R.render(plan, tmp_path / "c.mp4", progress="none")
    assert capsys.readouterr().err == ""


# -- moviepy composition -----------------------------------------------------------------------

def test_plan_clip_and_write_clip_are_frame_exact(media, tmp_path):
    fps = NTSC
    cuts = [(media["vfr"], 3, 8), (media["rot90"], 10, 6), (media["c25"], 0, 7), (media["odd"], 5, 9)]
    total = sum(c[2] for c in cuts)
    song = write_song(tmp_path / "song.wav", total / float(fps), clicks=[0.3])
    plan = make_plan(song, coded(media), cuts, fps=fps, size=(320, 180))
    clip = R.plan_clip(plan)
    try:
        assert clip.size == (320, 180) or tuple(clip.size) == (320, 180)
        out = R.write_clip(clip, tmp_path / "mp.mp4", fps=clip.exact_fps, audio=clip.song_path,
                           preset="ultrafast", crf=18)
    finally:
        clip.close()
    check_frames(out, cuts, fps)
    assert len(onsets(decode_audio(out), 48000)) == 1


def test_write_clip_fails_when_the_encoder_writes_short(media, tmp_path, monkeypatch):
    """An encoder that drops frames (a filter keeping the first 5) is caught by compose's
    finish, and nothing is left at the output path."""
    from musync.errors import RenderError

    fps = Fraction(30)
    cuts = [(media["c25"], 0, 12)]
    song = write_song(tmp_path / "song.wav", 12 / 30.0, clicks=[0.1])
    plan = make_plan(song, coded(media), cuts, fps=fps, size=(160, 90))
    orig_spawn = R.encoder.spawn

    def spawn(cmd, **kw):
        i = cmd.index("-c:v")
        return orig_spawn(cmd[:i] + ["-vf", "select=lt(n\\,5)"] + cmd[i:], **kw)

    monkeypatch.setattr(R.encoder, "spawn", spawn)
    clip = R.plan_clip(plan)
    try:
        with pytest.raises(RenderError, match="the encoder wrote 5 frames, expected 12 frames"):
            R.write_clip(clip, tmp_path / "short.mp4", fps=fps, audio=clip.song_path, preset="ultrafast")
    finally:
        clip.close()
    assert not (tmp_path / "short.mp4").exists()


# -- real footage ------------------------------------------------------------------------------

def test_real_clips_render(shared_data, tmp_path):
    """A phone clip with variable frame rate, a VP8 WebM at 24 fps and a 1080p 25 fps clip."""
    from musync.clips import scan_clip
    from musync.types import PlanClip

    names = ["moviepy_fire2.mp4", "moviepy_big_buck_bunny_0_30.webm", "moviepy_smpte-2997.mp4"]
    paths = [shared_data / "video" / n for n in names]
    if not all(p.exists() for p in paths):
        pytest.skip("real clips missing")
    infos = [scan_clip(p) for p in paths]
    fps = NTSC
    song = write_song(tmp_path / "song.wav", 4.0)
    from musync.media import file_sha256
    from musync.types import AudioInfo, Plan, PlanSettings, Shot

    shots, rec = [], 0
    for i, (c, n) in enumerate(zip(infos * 2, [20, 30, 15, 25, 10, 20])):
        lo = int(np.ceil(c.usable_in * float(fps)))
        shots.append(Shot(i, c.path, lo + 3 * i, lo + 3 * i + n, rec, rec + n))
        rec += n
    plan = Plan(AudioInfo(str(song), file_sha256(song), 4.0, 48000, 1), fps, rec, (640, 360),
                "16:9", PlanSettings(fps=fps, size=(640, 360)), tuple(shots),
                clips=tuple(sorted((PlanClip.from_clip(c) for c in infos), key=lambda p: p.path)))
    res = R.render(plan, tmp_path / "real.mp4")
    lumas, times, info = decode_output(tmp_path / "real.mp4")
    assert len(lumas) == rec and times[-1] == Fraction(rec - 1) / fps
    assert (info["width"], info["height"]) == (640, 360)
    # cuts are where the plan puts them: the picture changes between the last frame of a shot
    # and the first of the next far more than within a shot
    for s in plan.shots[1:]:
        k = s.record_in
        across = np.abs(lumas[k].astype(int) - lumas[k - 1].astype(int)).mean()
        assert across > 8, (s.index, across)
    assert res.warnings == ()


def test_stills_fill_and_fit(media, tmp_path):
    white = media["white"]
    song = write_song(tmp_path / "song.wav", 0.5)
    plan = make_plan(song, [white], [(white, 0, 15)], fps=30, size=(90, 160), aspect="9:16")
    R.render(plan, tmp_path / "fit.mp4", framing="fit")
    R.render(plan, tmp_path / "fill.mp4", framing="fill")
    fit, _, info = decode_output(tmp_path / "fit.mp4")
    fill, _, _ = decode_output(tmp_path / "fill.mp4")
    assert len(fit) == 15 and (info["width"], info["height"]) == (90, 160)
    assert fit[0][80, 45] > 200 and fit[0][5, 45] < 30 and fit[0][-5, 45] < 30
    assert fill[-1].min() > 200


def test_source_shorter_than_planned_holds_its_last_frame_and_warns(media, tmp_path):
    import dataclasses

    src = media["c30"]                               # 60 frames
    song = write_song(tmp_path / "song.wav", 1.0)
    plan = make_plan(song, [src], [(src, 0, 10), (src, 40, 20)], fps=30)
    longer = tuple(dataclasses.replace(c, duration=4.0, usable_out=4.0) for c in plan.clips)
    plan = dataclasses.replace(plan, clips=longer,
                               shots=(plan.shots[0], dataclasses.replace(plan.shots[1], source_in=50,
                                                                         source_out=70)))
    with pytest.warns(UserWarning, match="ended early"):
        res = R.render(plan, tmp_path / "out.mp4")
    lumas, _, _ = decode_output(tmp_path / "out.mp4")
    assert len(lumas) == 30
    assert [read_code(y, src.size)[1] for y in lumas[10:]] == list(range(50, 60)) + [59] * 10
    assert any("ended early" in w for w in res.warnings)
