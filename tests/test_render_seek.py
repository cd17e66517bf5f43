"""Verified seeking: after a seek the render compares the first frame at one of the scan's
per-second prints with the print; a file whose seeks disagree is decoded from the start, and
later renders go there directly.

No real clip whose seeks give wrong pictures could be generated here (FFmpeg's H.264 decoder
drops frames it cannot decode after a seek, even with a wrong keyframe index), so the mismatch
path is driven by a recorded print that disagrees with the file.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

import musync
from musync import cache
from musync.media import file_sha256, run_ffmpeg
from musync.mediacheck import stamp_clips
from musync.render import seekcheck
from musync.types import AudioInfo, Plan, PlanClip, PlanSettings, Shot

FPS = Fraction(30)


@pytest.fixture
def clip(tmp_path):
    """An 8 s clip with a keyframe every second, scanned (its record, with prints, cached)."""
    p = tmp_path / "gop.mp4"
    run_ffmpeg(["-y", "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=30:duration=8", "-c:v", "libx264",
                "-preset", "ultrafast", "-g", "30", "-pix_fmt", "yuv420p", str(p)], what="test clip", capture=True)
    info = musync.scan_clips([p], progress="none")[0]
    assert info.prints is not None and len(info.prints.times) >= 7
    return p, info


def _plan(tmp_path, info, cuts) -> Plan:
    import soundfile as sf

    song = tmp_path / "song.wav"
    n = sum(b - a for a, b in cuts)
    sf.write(str(song), np.zeros(int(n / FPS * 48000), np.float32), 48000)
    shots, rec = [], 0
    for i, (a, b) in enumerate(cuts):
        shots.append(Shot(i, info.path, a, b, rec, rec + b - a, reason="test"))
        rec += b - a
    pc = stamp_clips([PlanClip.from_clip(info)])
    return Plan(AudioInfo(str(song), file_sha256(song), n / FPS, 48000, 1), FPS, n, (160, 90), "16:9",
                PlanSettings(fps=FPS, size=(160, 90)), tuple(shots), clips=pc)


# far ahead (a seek), back (a seek), far ahead again
CUTS = [(150, 165), (40, 55), (200, 215)]


def _frames(path):
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="gray").astype(np.int16) for f in c.decode(video=0)]


def _counting(monkeypatch):
    calls = {"compare": 0, "seek": 0}
    real = seekcheck.thumbnail_of

    def counted(frame):
        calls["compare"] += 1
        return real(frame)

    monkeypatch.setattr(seekcheck, "thumbnail_of", counted)
    real_seek = av.container.InputContainer.seek

    def seek(self, *a, **kw):
        calls["seek"] += 1
        return real_seek(self, *a, **kw)

    monkeypatch.setattr(av.container.InputContainer, "seek", seek)
    return calls


def test_seeks_that_match_the_prints_are_used(clip, tmp_path, monkeypatch):
    path, info = clip
    calls = _counting(monkeypatch)
    res = musync.render(_plan(tmp_path, info, CUTS), tmp_path / "d.mp4", mode="final", progress="none")
    assert calls["seek"] >= 3 and calls["compare"] >= 3
    assert not any("decoded from the start" in w for w in res.warnings), res.warnings
    assert not seekcheck.seek_unsafe(path)


def test_a_seek_that_disagrees_with_the_print_falls_back_to_decoding_from_the_start(clip, tmp_path, monkeypatch):
    path, info = clip
    # the cached record says the picture at 5 s is another one (as a file whose seeks go wrong)
    from musync.clips.scan import _cache_key, _params

    key = _cache_key(path, _params(96, 30.0, 0.5, 0.0, 0.25))
    d = cache.get_json("clips", key)
    i = d["prints"]["times"].index(5.0)
    d["prints"]["thumbs"][i] = "ff" * 64 if d["prints"]["thumbs"][i] != "ff" * 64 else "00" * 64
    cache.put_json("clips", key, d)
    plan = _plan(tmp_path, info, CUTS)
    good = musync.render(plan, tmp_path / "ref.mp4", mode="final", progress="none")   # first shot at 5 s
    assert any("differs from the scan's" in w and "decoded from the start" in w for w in good.warnings), good.warnings
    assert seekcheck.seek_unsafe(path)
    # the output still shows the planned frames: the same as a render that never seeks
    calls = _counting(monkeypatch)
    again = musync.render(plan, tmp_path / "again.mp4", mode="final", progress="none")
    assert calls["seek"] == 0 and not any("differs" in w for w in again.warnings)
    a, b = _frames(tmp_path / "ref.mp4"), _frames(tmp_path / "again.mp4")
    assert len(a) == len(b) == plan.duration_frames
    assert max(float(np.abs(x - y).mean()) for x, y in zip(a, b)) < 1.0
    # and they are the planned source frames (decoded from the start), frame by frame
    src = _frames(path)
    want = [src[j] for a_, b_ in CUTS for j in range(a_, b_)]
    for k, (x, w) in enumerate(zip(b, want)):
        assert float(np.abs(x - w).mean()) < 4.0, k


def test_a_corrupt_frame_flag_after_a_seek_is_a_mismatch():
    class F:
        is_corrupt = True

    prints = musync.types.FramePrints([0, 30], [0.0, 1.0], ("00" * 64, "00" * 64))
    check = seekcheck.SeekCheck(prints, Fraction(0), Fraction(1, 2), Fraction(1, 60))
    with pytest.raises(seekcheck.SeekMismatch, match="corrupt"):
        check.see(Path("x.mp4"), F(), Fraction(1, 2))
