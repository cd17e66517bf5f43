"""The planner uses what the scan sees: flagged ranges stay out, duplicate groups are one source,
blown-up sources only where nothing sharper fits, hero ranges named, framing stored per shot,
re-plans never repeat a neighbour. Clip records are made here (no files)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from musync import testing as T
from musync.analysis import analyze_signal
from musync.planner import make_settings, plan, replan
from musync.types import (ContentFlag, DuplicateGroup, DuplicateMember, HeroRange, Quality,
                          ScanResult)


@pytest.fixture(scope="module")
def analysis():
    song = T.make_song(bpm=120, seed=2, form=(("verse", 4), ("chorus", 4), ("verse", 4),
                                              ("chorus", 4)))
    return analyze_signal(song.y, song.sr)


def clips_with(n=10, *, seed=0, flagged=(), soft=(), roi_right=True):
    """Synthetic clip records with a quality, a region of interest on the right, and flags or a
    low resolution where asked."""
    out = []
    for i, c in enumerate(T.synthetic_clip_infos(n, seed=seed, min_dur=6.0, max_dur=10.0)):
        t = np.arange(0.0, c.duration, 0.5)
        roi = np.tile([0.7 if roi_right else 0.4, 0.3, 0.2, 0.4], (t.size, 1))
        kw = dict(quality=Quality(0.8, 0.7), roi_times=t, roi=roi,
                  heroes=(HeroRange(c.usable_in + 1.0, c.usable_in + 3.0, 0.3 + 0.05 * i, "test"),))
        if i in flagged:
            kw["flags"] = (ContentFlag(0.0, c.duration, "text", "3 lines of text on a flat background"),)
        if i in soft:
            kw["size"], kw["picture"] = (480, 270), ()
        out.append(dataclasses.replace(c, **kw))
    return out


def _flagged_shots(p, clips):
    by = {c.path: c for c in clips}
    f = float(p.fps)
    return [s for s in p.shots if by[s.source].flagged(s.source_in / f, s.source_out / f)]


def test_flagged_ranges_stay_out_while_other_material_exists(analysis):
    clips = clips_with(10, flagged=(0, 3, 5))
    p = plan(analysis, clips, make_settings())
    assert _flagged_shots(p, clips) == []
    assert not any("flagged range" in w for w in p.warnings)
    left = [w for w in p.warnings if "only flagged material" in w]
    assert len(left) == 1 and left[0].startswith("3 clip(s) left out") and "(text)" in left[0]


def test_flagged_ranges_fill_in_when_they_must_and_the_plan_says_so(analysis):
    clips = clips_with(4, flagged=(0, 1, 2))
    p = plan(analysis, clips, make_settings())
    used = _flagged_shots(p, clips)
    assert used                                      # one clean clip cannot fill every shot
    assert any("flagged" in w for w in p.warnings)
    assert all("flagged:" in s.reason for s in used)


def test_a_duplicate_group_is_one_source(analysis):
    clips = clips_with(8)
    group = DuplicateGroup((DuplicateMember(clips[0].path, "the longest copy"),
                            DuplicateMember(clips[1].path, "a greyscale copy"),
                            DuplicateMember(clips[2].path, "an excerpt")))
    p = plan(analysis, ScanResult(clips, groups=[group]), make_settings())
    members = set(group.paths)
    idx = [k for k, s in enumerate(p.shots) if s.source in members]
    assert idx
    assert all(b - a > 3 for a, b in zip(idx, idx[1:]))          # never within 3 shots
    # one source for reuse: the group is used about as often as any single clip
    per_file = {}
    for s in p.shots:
        per_file[s.source] = per_file.get(s.source, 0) + 1
    others = [v for k, v in per_file.items() if k not in members]
    assert len(idx) <= max(others) + 1


def test_blown_up_sources_only_where_nothing_sharper_fits(analysis):
    clips = clips_with(8, soft=(1, 4))
    p = plan(analysis, clips, make_settings())
    soft = {clips[1].path, clips[4].path}
    assert not any(s.source in soft for s in p.shots)
    # the plan says which clips it left out and why (4.0x: 480x270 filling 1920x1080)
    left = [w for w in p.warnings if "left out" in w and "blown up" in w]
    assert len(left) == 1 and left[0].startswith("2 clip(s) left out") and "(4.0x)" in left[0]
    assert all(c.path.rsplit("/", 1)[-1] in left[0] for c in (clips[1], clips[4]))
    only_soft = clips_with(3, soft=(0, 1, 2))
    p2 = plan(analysis, only_soft, make_settings())
    assert any("blown up" in s.reason for s in p2.shots)
    assert any("more than 2x" in w for w in p2.warnings)


def test_vertical_plans_store_a_crop_that_keeps_the_subject(analysis):
    clips = clips_with(6, roi_right=True)
    p = plan(analysis, clips, make_settings(aspect="9:16"))
    assert all(s.crop is not None for s in p.shots)
    for s in p.shots:
        x0, _ = s.crop.at(0)
        assert x0 <= 0.8 <= x0 + s.crop.w                         # the subject's centre
    assert all(s.crop is None for s in plan(analysis, clips, make_settings()).shots)


def test_hero_ranges_are_named_on_the_strong_moments(analysis):
    clips = clips_with(8)
    p = plan(analysis, clips, make_settings())
    named = [s for s in p.shots if "hero range" in s.reason]
    assert named
    assert all(s.energy >= 0.5 for s in named)


def test_replan_next_to_a_lock_repeats_neither_the_file_nor_the_group(analysis):
    clips = clips_with(8)
    group = DuplicateGroup((DuplicateMember(clips[0].path, "the longest copy"),
                            DuplicateMember(clips[1].path, "a re-encode or copy")))
    lib = ScanResult(clips, groups=[group])
    p = plan(analysis, lib, make_settings())
    k = len(p.shots) // 2
    lock = dataclasses.replace(p.shots[k], source=clips[0].path, locked=True,
                               source_in=p.shots[k].source_in % 30,
                               source_out=p.shots[k].source_in % 30 + p.shots[k].length)
    old = dataclasses.replace(p, shots=p.shots[:k] + (lock,) + p.shots[k + 1:])
    new = replan(old, analysis, lib, scope="all")
    j = next(i for i, s in enumerate(new.shots) if s.locked)
    near = [new.shots[i].source for i in range(max(0, j - 3), min(len(new.shots), j + 4)) if i != j]
    assert clips[0].path not in near and clips[1].path not in near
