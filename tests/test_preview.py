"""Preview: cards, a flash and a click on every cut, in sync, without opening any clip."""

from __future__ import annotations

import importlib
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from musync.errors import OutputExistsError, ParameterError
from musync.preview import preview
from musync.types import AudioInfo, Plan, PlanClip, PlanSettings, Shot

from test_render_media import decode_audio, decode_output, onsets, write_song

NTSC = Fraction(30000, 1001)


def _plan(song: Path, fps, lengths, size=(1280, 720), aspect="16:9", sections=None) -> Plan:
    """A plan over clips that do not exist: the preview must never look at them."""
    shots, rec = [], 0
    for i, n in enumerate(lengths):
        src = f"/nonexistent/clip_{i % 3}.mp4"
        sec = sections[i] if sections else "A verse"
        shots.append(Shot(i, src, 0, n, rec, rec + n, reason="downbeat" if i % 2 else "beat",
                          section=sec))
        rec += n
    clips = tuple(PlanClip(f"/nonexistent/clip_{k}.mp4", 100.0, Fraction(30), (1920, 1080),
                           usable_out=100.0) for k in range(3))
    return Plan(AudioInfo(str(song), "", rec / float(fps), 48000, 1), fps, rec, size, aspect,
                PlanSettings(fps=fps, size=size, aspect=aspect), tuple(shots), clips=clips)


def _flashes(lumas):
    return [i for i, y in enumerate(lumas) if y.mean() > 200]


@pytest.mark.parametrize("fps", [Fraction(30), NTSC], ids=["30", "29.97"])
def test_flash_and_click_on_every_cut(tmp_path, fps, monkeypatch):
    lengths = [17, 9, 30, 4, 22, 15, 11]
    total = sum(lengths)
    song = write_song(tmp_path / "song.wav", total / float(fps), channels=2)
    plan = _plan(song, fps, lengths)
    opened = []
    real_open = av.open
    monkeypatch.setattr(av, "open", lambda p, *a, **k: (opened.append(str(p)), real_open(p, *a, **k))[1])
    res = preview(plan, tmp_path / "p.mp4")
    monkeypatch.setattr(av, "open", real_open)
    assert not any("nonexistent" in p for p in opened)
    assert res.frames == total and res.settings.mode == "preview"
    lumas, times, info = decode_output(tmp_path / "p.mp4")
    assert len(lumas) == total and info["rate"] == fps
    assert times == [Fraction(i) / fps for i in range(total)]
    assert max(info["width"], info["height"]) == 480
    cuts = list(np.cumsum(lengths)[:-1])
    assert _flashes(lumas) == cuts
    clicks = onsets(decode_audio(tmp_path / "p.mp4"), 48000)
    assert len(clicks) == len(cuts)
    assert np.max(np.abs(clicks - np.array(cuts) / float(fps))) < 0.5 / float(fps)


def test_cards_differ_per_shot_and_follow_the_aspect(tmp_path):
    fps = Fraction(25)
    lengths = [10, 10, 10]
    song = write_song(tmp_path / "song.wav", 30 / 25)
    plan = _plan(song, fps, lengths, size=(1080, 1920), aspect="9:16",
                 sections=["A intro", "B chorus", "B chorus"])
    preview(plan, tmp_path / "p.mp4", flash_frames=0, clicks=False)
    lumas, _, info = decode_output(tmp_path / "p.mp4")
    assert (info["width"], info["height"]) == (270, 480)
    assert _flashes(lumas) == []
    # a card holds still within its shot and changes at the cut
    assert np.abs(lumas[3].astype(int) - lumas[7].astype(int)).mean() < 2
    assert np.abs(lumas[9].astype(int) - lumas[10].astype(int)).mean() > 2
    assert len(onsets(decode_audio(tmp_path / "p.mp4"), 48000)) == 0


def test_preview_of_a_song_cuts_on_its_downbeats(tmp_path):
    from musync import analyze
    from musync.testing import make_song

    s = make_song(bpm=120, form=[("intro", 2), ("verse", 4), ("chorus", 4)], seed=3)
    song = s.write(tmp_path / "song.wav")
    res = preview(song, tmp_path / "p.mp4")
    lumas, _, info = decode_output(tmp_path / "p.mp4")
    a = analyze(song)
    fps = Fraction(30)
    expect = sorted({int(round(float(t) * fps)) for t in a.downbeats} |
                    {int(round(sec.start * fps)) for sec in a.sections})
    expect = [f for f in expect if 0 < f < res.frames]
    assert _flashes(lumas) == expect
    assert abs(res.frames - s.duration * 30) <= 1


def test_preview_is_fast_and_safe(tmp_path):
    fps = Fraction(30)
    lengths = [45] * 40                        # one minute, 40 shots
    song = write_song(tmp_path / "song.wav", sum(lengths) / 30)
    plan = _plan(song, fps, lengths)
    out = tmp_path / "out" / "p.mp4"
    out.parent.mkdir()
    res = preview(plan, out)
    assert res.seconds < 30
    assert [p.name for p in out.parent.iterdir()] == ["p.mp4"]      # the click track is gone
    with pytest.raises(OutputExistsError):
        preview(plan, out)
    with pytest.raises(ParameterError):
        preview(tmp_path / "notes.txt", tmp_path / "x.mp4")


def test_preview_interrupted_leaves_nothing(tmp_path):
    fps = Fraction(30)
    song = write_song(tmp_path / "song.wav", 20)
    plan = _plan(song, fps, [60] * 10)
    out = tmp_path / "out" / "p.mp4"
    out.parent.mkdir()

    def stop(ev):
        if ev.done > 200:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        preview(plan, out, progress=stop)
    assert list(out.parent.iterdir()) == []


def test_preview_is_exported():
    import musync

    assert musync.preview is preview
    assert musync.render is importlib.import_module("musync.render").render
