"""Proxies: frame k of the proxy is frame k of the source; drafts use them, finals never; a
changed source is never shown from a stale proxy; building is safe.

The sources are the frame-coded clips of :mod:`test_render_media` (each frame shows its clip id
and frame number), so every decoded proxy frame says which source frame it is.
"""

from __future__ import annotations

import json
import os
import shutil
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

from musync import cache
from musync.errors import MediaError, MusyncError, ParameterError
from musync.media import run_ffmpeg
from musync.planfile import save_plan

from test_render_media import (decode_output, file_times, make_coded_clip, make_plan, make_still,
                               read_code, write_song)

R = importlib.import_module("musync.render")
P = importlib.import_module("musync.render.proxies")

NTSC = Fraction(30000, 1001)


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    d = tmp_path_factory.mktemp("proxy_media")
    return {
        "c30": make_coded_clip(d / "c30.mp4", clip_id=1, fps=30),
        "ntsc": make_coded_clip(d / "ntsc.mp4", clip_id=3, fps=NTSC),
        "vfr": make_coded_clip(d / "vfr.mp4", clip_id=4, fps=30, vfr=True),
        "rot90": make_coded_clip(d / "rot90.mp4", clip_id=5, fps=30, size=(90, 160), rotation=90),
        "rot270": make_coded_clip(d / "rot270.mp4", clip_id=6, fps=24, size=(90, 160),
                                  rotation=270),
        "odd": make_coded_clip(d / "odd.mp4", clip_id=7, fps=30, size=(161, 91)),
        "start": make_coded_clip(d / "start.mkv", clip_id=8, fps=24, start=0.4),
        "ffv1": make_coded_clip(d / "ffv1.mkv", clip_id=11, fps=25, size=(161, 91), codec="ffv1"),
        "big": make_coded_clip(d / "big.mp4", clip_id=12, fps=25, size=(960, 540), n_frames=30),
    }


def _proxy_lumas(proxy):
    with av.open(str(proxy.path)) as c:
        s = c.streams.video[0]
        out = []
        for f in c.decode(s):
            p = f.planes[0]
            out.append(np.frombuffer(p, np.uint8).reshape(p.height, p.line_size)[:, :p.width].copy())
        info = (s.codec_context.width, s.codec_context.height, s.codec_context.pix_fmt,
                s.codec_context.has_b_frames)
    return out, info


def test_frame_k_of_the_proxy_is_frame_k_of_the_source(clips):
    cache.clear("proxies")           # the same bytes may have been made into proxies elsewhere
    rep = R.build_proxies([c.path for c in clips.values()])
    assert not rep.failed and sorted(rep.built) == sorted(str(c.path) for c in clips.values())
    for name, src in clips.items():
        px = rep.proxies[str(src.path)]
        lumas, (w, h, pix, _) = _proxy_lumas(px)
        assert (w, h) == px.size and w % 2 == 0 and h % 2 == 0 and pix == "yuv420p"
        assert max(px.size) <= R.PROXY_MAX_SIDE
        assert px.display == src.size and px.rotation == src.rotation, name
        # upright, the source's aspect (within the even rounding)
        assert abs(w / h - src.size[0] / src.size[1]) < 0.03, name
        assert px.frames == len(src.times) == len(lumas)
        codes = [read_code(y, px.size) for y in lumas]
        assert codes == [(src.clip_id, k) for k in range(len(src.times))], name
        # every frame keeps its time after the first frame, exactly (VFR gaps, start offsets)
        t = file_times(px.path)
        assert [x - t[0] for x in t] == [x - src.times[0] for x in src.times], name
    assert rep.proxies[str(clips["big"].path)].size == (640, 360)
    # a short GOP: every 12th frame a keyframe, nothing else
    with av.open(str(rep.proxies[str(clips["c30"].path)].path)) as c:
        keys = [i for i, pk in enumerate(c.demux(video=0)) if pk.is_keyframe]
    assert keys == list(range(0, 60, P.PROXY_GOP))
    # made once: the second call finds them all
    again = R.build_proxies([c.path for c in clips.values()])
    assert again.built == [] and set(again.proxies) == set(rep.proxies)


def _cuts(clips, fps):
    order = ["c30", "vfr", "rot90", "odd", "start", "ntsc", "rot270", "ffv1", "big", "vfr"]
    out = []
    for i, name in enumerate(order):
        src = clips[name]
        n_avail = int(src.duration * float(fps)) - 1
        length = [7, 9, 13, 4, 9, 2, 11, 5, 8, 3][i]
        out.append((src, (i * 5) % max(1, n_avail - length), length))
    return out


@pytest.mark.parametrize("fps,size,framing", [(NTSC, (320, 180), "fill"), (Fraction(24), (180, 320), "fit")],
                         ids=["29.97-16:9-fill", "24-9:16-fit"])
def test_proxy_draft_is_frame_exact_and_final_reads_the_originals(clips, tmp_path, monkeypatch,
                                                                  fps, size, framing):
    cuts = _cuts(clips, fps)
    total = sum(c[2] for c in cuts)
    song = write_song(tmp_path / "song.wav", total / float(fps))
    aspect = "16:9" if size[0] > size[1] else "9:16"
    plan = make_plan(song, list(clips.values()), cuts, fps=fps, size=size, aspect=aspect)
    opened = []
    real_open = av.open
    monkeypatch.setattr(av, "open", lambda p, *a, **k: (opened.append(Path(str(p))), real_open(p, *a, **k))[1])
    draft = R.render(plan, tmp_path / "draft.mp4", framing=framing)
    assert draft.proxies == len(clips)
    opened.clear()
    final = R.render(plan, tmp_path / "final.mp4", mode="final", framing=framing, crf=12,
                     preset="ultrafast")
    monkeypatch.setattr(av, "open", real_open)
    assert final.proxies == 0
    # every original, and nothing else but the render's own output, read back
    assert {p.name for p in opened if ".musync-" not in p.name} == {c.path.name for c in clips.values()}
    for out in (tmp_path / "draft.mp4", tmp_path / "final.mp4"):
        lumas, times, info = decode_output(out)
        assert len(lumas) == total and times == [Fraction(i) / fps for i in range(total)]
        rec, wrong = 0, []
        for src, sin, n in cuts:
            for j in range(n):
                want = (src.clip_id, src.frame_for(sin + j, fps))
                got = read_code(lumas[rec], src.size, framing)
                if got != want:
                    wrong.append((out.name, rec, src.path.name, want, got))
                rec += 1
        assert not wrong, wrong[:5]
    with pytest.raises(ParameterError, match="final"):
        R.render(plan, tmp_path / "x.mp4", mode="final", proxies=True)


def test_a_changed_source_is_never_shown_from_its_old_proxy(tmp_path):
    d = tmp_path / "clips"
    d.mkdir()
    old = make_coded_clip(d / "a.mp4", clip_id=2, fps=30)
    song = write_song(tmp_path / "song.wav", 1.0)
    plan = make_plan(song, [old], [(old, 0, 30)], fps=30)
    R.render(plan, tmp_path / "one.mp4")
    first = R.proxy_for(old.path)
    assert first is not None
    st = old.path.stat()
    # other pictures under the same name and modification time
    new = make_coded_clip(tmp_path / "b.mp4", clip_id=9, fps=30)
    shutil.copyfile(new.path, old.path)
    os.utime(old.path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert R.proxy_for(old.path, compute_hash=False) is None
    res = R.render(plan, tmp_path / "two.mp4")
    assert res.proxies == 1
    lumas, _, _ = decode_output(tmp_path / "two.mp4")
    assert {read_code(y, old.size)[0] for y in lumas} == {9}
    second = R.proxy_for(old.path)
    assert second.sha256 != first.sha256 and second.path != first.path
    # the same bytes under another name find the same proxy without making one
    copy = tmp_path / "copy.mp4"
    shutil.copyfile(old.path, copy)
    again = R.build_proxies([copy])
    assert again.built == [] and again.proxies[str(copy)].path == second.path
    # bytes changed in the middle, size and modification time kept: not served from the proxy
    st = copy.stat()
    with open(copy, "r+b") as fh:
        fh.seek(st.st_size // 2)
        b = fh.read(16)
        fh.seek(st.st_size // 2)
        fh.write(bytes(x ^ 0xFF for x in b))
    os.utime(copy, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert copy.stat().st_size == st.st_size
    assert R.proxy_for(copy, compute_hash=False) is None and R.proxy_for(copy) is None


def test_a_proxy_that_cannot_be_made_falls_back_to_the_original(clips, tmp_path, monkeypatch):
    src = clips["vfr"]
    song = write_song(tmp_path / "song.wav", 1.0)
    plan = make_plan(song, [src], [(src, 3, 30)], fps=30)
    cache.clear("proxies")

    def broken(src_path, tmp, info):
        raise MusyncError(f"{src_path.name}: the proxy does not match its source")

    monkeypatch.setattr(P, "_verify", broken)
    with pytest.warns(UserWarning, match="reads the original"):
        res = R.render(plan, tmp_path / "out.mp4")
    assert res.proxies == 0
    lumas, _, _ = decode_output(tmp_path / "out.mp4")
    assert [read_code(y, src.size) for y in lumas] == [(4, src.frame_for(3 + j, 30)) for j in range(30)]
    left = [p.name for p in (cache.cache_dir() / "proxies").iterdir()]
    assert not any(n.endswith(".mp4") for n in left), left        # nothing half-made is kept


def test_stills_need_no_proxy_and_bad_sources_are_named(clips, tmp_path):
    still = make_still(tmp_path / "white.png", (255, 255, 255))
    rep = R.build_proxies([still.path, tmp_path / "missing.mp4", clips["c30"].path])
    assert rep.skipped == [str(still.path)]
    assert isinstance(rep.failed[str(tmp_path / "missing.mp4")], MediaError)
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video" * 500)
    with pytest.raises(MediaError, match="junk.mp4"):
        R.build_proxies([junk], errors="raise")


def _leftovers():
    folder = cache.cache_dir() / "proxies"
    if not folder.is_dir():
        return []
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]


def test_interrupted_build_leaves_no_temporary_file(tmp_path):
    src = make_coded_clip(tmp_path / "long.mp4", clip_id=3, fps=30, n_frames=400, size=(320, 180))

    def stop(ev):
        if ev.done >= 100:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        R.build_proxies([src.path], progress=stop)
    assert _leftovers() == [] and R.proxy_for(src.path) is None


_BUILD_SCRIPT = """
import sys
from musync.render import build_proxies
build_proxies(sys.argv[1:], progress="json", workers=2)
"""


@pytest.fixture(scope="module")
def long_clips(tmp_path_factory):
    """Two 30 s test patterns: still being made into proxies when the signal comes."""
    d = tmp_path_factory.mktemp("long_clips")
    out = []
    for i in (1, 2):
        out.append(d / f"long{i}.mp4")
        run_ffmpeg(["-y", "-f", "lavfi", "-i",
                    f"testsrc2=size=480x270:rate=30:duration=30,hue=h={i * 40}",
                    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(out[-1])])
    return out


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_killed_build_leaves_no_file_no_temp_no_child(tmp_path, long_clips, sig):
    srcs = long_clips
    cache_dir = tmp_path / "cache"
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]),
               MUSYNC_CACHE_DIR=str(cache_dir))
    # SIG_DFL: heard even when the tests run as a background job (started with SIGINT ignored)
    proc = subprocess.Popen([sys.executable, "-c", _BUILD_SCRIPT, *[str(s) for s in srcs]],
                            env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    t0 = time.time()
    started = False
    while time.time() - t0 < 60:
        line = proc.stderr.readline()
        if not line:
            break
        if line.startswith(b"{") and json.loads(line).get("done", 0) > 5:
            started = True
            break
    assert started, "the build never started"
    assert any(p.name.startswith(".") for p in (cache_dir / "proxies").iterdir())
    proc.send_signal(sig)
    proc.stderr.read()
    assert proc.wait(timeout=30) != 0
    left = sorted(p.name for p in (cache_dir / "proxies").iterdir())
    assert left == [], left
    from test_render import _ffmpeg_writing

    assert _ffmpeg_writing(cache_dir) == []


def test_scan_proxies_makes_them_and_the_next_draft_uses_them(tmp_path, capsys):
    from musync.cli import main

    d = tmp_path / "clips"
    d.mkdir()
    a = make_coded_clip(d / "a.mp4", clip_id=13, fps=30, n_frames=45)
    b = make_coded_clip(d / "b.mov", clip_id=14, fps=25, rotation=90, size=(90, 160))
    assert main(["scan", str(d), "--proxies", "--progress", "none"]) == 0
    err = capsys.readouterr().err
    assert "proxies: 2 made" in err
    assert R.proxy_for(a.path) is not None and R.proxy_for(b.path).rotation == 90
    assert main(["scan", str(d), "--proxies", "--progress", "none"]) == 0
    assert "proxies: 0 made, 2 up to date" in capsys.readouterr().err
    song = write_song(tmp_path / "song.wav", 1.0)
    plan = make_plan(song, [a, b], [(a, 0, 12), (b, 4, 18)], fps=30)
    save_plan(plan, tmp_path / "plan.json")
    out = tmp_path / "d.mp4"
    assert main(["render", str(tmp_path / "plan.json"), "-o", str(out), "--progress", "none"]) == 0
    assert "2 sources from proxies" in capsys.readouterr().err
    assert main(["render", str(tmp_path / "plan.json"), "-o", str(out), "-y", "--no-proxies",
                 "--progress", "none"]) == 0
    assert "from proxies" not in capsys.readouterr().err


def test_copies_in_one_call_are_made_once(tmp_path):
    a = make_coded_clip(tmp_path / "a.mp4", clip_id=10, fps=30, n_frames=20)
    b = tmp_path / "b.mp4"
    shutil.copyfile(a.path, b)
    rep = R.build_proxies([a.path, b])
    assert rep.built == [str(a.path)] and rep.frames_built == 20
    assert rep.proxies[str(b)].path == rep.proxies[str(a.path)].path
    assert rep.proxies[str(b)].source == b
