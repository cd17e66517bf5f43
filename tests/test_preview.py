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


def test_shots_show_their_pictures_from_proxies(tmp_path, monkeypatch):
    from musync.render import build_proxies
    from test_render_media import make_coded_clip, make_plan, read_code

    fps = Fraction(30)
    a = make_coded_clip(tmp_path / "a.mp4", clip_id=3, fps=25, n_frames=50)
    b = make_coded_clip(tmp_path / "b.mp4", clip_id=6, fps=30, size=(90, 160), rotation=90)
    c = make_coded_clip(tmp_path / "c.mp4", clip_id=9, fps=30, n_frames=40)
    cuts = [(a, 4, 20), (b, 10, 15), (c, 0, 12), (a, 20, 13)]
    total = sum(n for _, _, n in cuts)
    song = write_song(tmp_path / "song.wav", total / 30)
    plan = make_plan(song, [a, b, c], cuts, fps=fps, size=(1280, 720))
    build_proxies([a.path, b.path])                    # c has none: it stays a card
    opened = []
    real_open = av.open
    monkeypatch.setattr(av, "open", lambda p, *x, **k: (opened.append(Path(str(p))), real_open(p, *x, **k))[1])
    res = preview(plan, tmp_path / "p.mp4")
    monkeypatch.setattr(av, "open", real_open)
    assert res.proxies == 2
    assert not {p.name for p in opened} & {"a.mp4", "b.mp4", "c.mp4"}     # proxies only
    lumas, _, info = decode_output(tmp_path / "p.mp4")
    assert len(lumas) == total and (info["width"], info["height"]) == (480, 270)
    cut_frames = [20, 35, 47]
    assert _flashes(lumas) == cut_frames
    rec = 0
    for src, sin, n in cuts:
        for k in range(n):
            got = read_code(lumas[rec], src.size)
            if rec in cut_frames:
                pass                                   # the flash
            elif src is c:
                assert got is None or got[0] != c.clip_id      # a card, not the picture
            else:
                assert got == (src.clip_id, src.frame_for(sin + k, fps)), (rec, got)
            rec += 1
    # cards only, and all pictures (the missing proxy made first)
    preview(plan, tmp_path / "cards.mp4", pictures=False)
    cards, _, _ = decode_output(tmp_path / "cards.mp4")
    assert np.abs(cards[2].astype(int) - cards[15].astype(int)).mean() < 1          # still
    assert np.abs(lumas[2].astype(int) - lumas[15].astype(int)).mean() > 1          # moving
    res = preview(plan, tmp_path / "all.mp4", pictures=True, flash_frames=0)
    assert res.proxies == 3
    every, _, _ = decode_output(tmp_path / "all.mp4")
    assert read_code(every[40], c.size) == (9, c.frame_for(5, fps))


def test_song_cards_name_the_section_their_start_frame_opens(monkeypatch):
    # section B starts 0.4 of a frame after its downbeat (as an analysis' seconds may): the card
    # cut on that frame is B's, and the card before it A's
    import dataclasses

    import musync.analysis as analysis_mod
    from musync.preview import _cards_from_song

    from planner_util import grid_analysis

    a = grid_analysis(bars=8, sections=((0, "A", "verse", 0.3), (4, "B", "chorus", 0.8)))
    late = 0.4 / 30
    s0, s1 = a.sections
    a = dataclasses.replace(a, sections=(dataclasses.replace(s0, end=s0.end + late),
                                         dataclasses.replace(s1, start=s1.start + late)))
    monkeypatch.setattr(analysis_mod, "analyze", lambda song: a)
    cards, _, _ = _cards_from_song(Path("song.wav"), Fraction(30))
    b = int(round(float(a.downbeats[4]) * 30))
    by_start = {c.start: c for c in cards}
    assert by_start[b].section == "B chorus" and by_start[b].reason.startswith("section B")
    before = max(s for s in by_start if s < b)
    assert by_start[before].section == "A verse"
