"""Stable re-plans: only what must change changes; gaps are filled, never with a flash."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import musync
from musync.errors import ParameterError
from musync.planner.stable import close_short_gaps, dirty_shots
from musync.planner.units import source_units
from musync.testing import synthetic_clip_infos
from musync.timebase import window_frames
from musync.types import Shot

from planner_util import grid_analysis

SECS = ((0, "A", "intro", 0.2), (4, "B", "verse", 0.5), (12, "C", "chorus", 0.9), (20, "B", "verse", 0.5),
        (28, "C", "chorus", 1.0), (36, "D", "outro", 0.2))


@pytest.fixture(scope="module")
def setup():
    a = grid_analysis(bpm=120.0, bars=40, sections=SECS, climax_bar=28)
    clips = synthetic_clip_infos(12, seed=5, min_dur=6.0, max_dur=12.0)
    return a, clips, musync.plan(a, clips, fps=30)


def key(s):
    return (s.record_in, s.record_out, s.source, s.source_in)


def changed(before, after):
    old = {key(s) for s in before.shots}
    return [s for s in after.shots if not s.locked and key(s) not in old]


def lock(p, ks, **changes):
    shots = list(p.shots)
    for k in ks:
        shots[k] = dataclasses.replace(shots[k], locked=True, **changes)
    return dataclasses.replace(p, shots=tuple(shots))


def test_locking_alone_changes_nothing(setup):
    a, clips, p = setup
    e = lock(p, [5, 17, 30])
    r = musync.replan(e, a, clips)
    assert [key(s) for s in r.shots] == [key(s) for s in e.shots]
    assert any("nothing had to change" in w for w in r.warnings)
    # scope "all" proposes anew around the locks
    r_all = musync.replan(e, a, clips, scope="all", seed=9)
    assert len(changed(e, r_all)) > 3


def test_a_swap_changes_only_the_phrase_around_it(setup):
    a, clips, p = setup
    k = 12
    # swap shot 12's clip for the file of its neighbour: the neighbour must change
    nb = p.shots[k + 1]
    L = p.shots[k].length
    # from the neighbour's in-point, or earlier where the clip's usable window ends first
    pc = next(c for c in p.clips if c.path == nb.source)
    lo, hi = window_frames(pc.usable_in, pc.usable_out, p.fps)
    start = min(nb.source_in, hi - L)
    assert start >= lo
    e = lock(p, [k], source=nb.source, source_in=start, source_out=start + L)
    r = musync.replan(e, a, clips)
    ch = changed(e, r)
    assert 1 <= len(ch) <= 8
    assert r.metrics["adjacent_repeats"] == 0
    # everything changed lies in the phrases touching the repaired neighbour
    from musync.planner.music import find_phrases

    ph = find_phrases(a, r.fps, r.duration_frames)
    touched = [q for q in ph if q.start < nb.record_out and nb.record_in < q.end]
    lo, hi = min(q.start for q in touched), max(q.end for q in touched)
    assert all(lo <= s.record_in and s.record_out <= hi for s in ch)
    assert any("re-planned" in w for w in r.warnings)


def test_gaps_are_filled_and_short_gaps_merged(setup):
    a, clips, p = setup
    shots = list(p.shots)
    # a deleted shot (a gap placeholder, as import writes it) between two locked shots
    shots[8] = dataclasses.replace(shots[8], locked=True)
    shots[10] = dataclasses.replace(shots[10], locked=True)
    shots[9] = dataclasses.replace(shots[9], reason="gap in the edited timeline: re-plan", scores={})
    e = dataclasses.replace(p, shots=tuple(shots))
    r = musync.replan(e, a, clips)
    filled = [s for s in r.shots if shots[9].record_in <= s.record_in < shots[9].record_out]
    assert filled and all(not s.reason.startswith("gap") for s in filled)
    # a 4-frame gap between two locked shots: merged into a neighbour, never a flash shot
    s20, s21 = p.shots[20], p.shots[21]
    cut = s20.record_out - 4
    shots = list(p.shots)
    shots[20] = dataclasses.replace(s20, record_out=cut, source_out=s20.source_out - 4, locked=True)
    shots[21] = dataclasses.replace(s21, locked=True)
    gap = Shot(0, s20.source, s20.source_out - 4, s20.source_out, cut, s20.record_out,
               reason="gap in the edited timeline: re-plan")
    shots.insert(21, gap)
    shots = [dataclasses.replace(s, index=i) for i, s in enumerate(shots)]
    e = dataclasses.replace(p, shots=tuple(shots))
    for scope in ("phrase", "all"):
        r = musync.replan(e, a, clips, scope=scope)
        mn = round(r.settings.min_shot * 30)
        assert not [s for s in r.shots if s.length < mn]
        assert any("was merged into shot" in w and "4 frame(s)" in w for w in r.warnings)
        grown = [s for s in r.shots if s.locked and s.record_in == s20.record_in]
        assert grown and grown[0].record_out == s20.record_out


def test_close_short_gaps_prefers_an_unlocked_neighbour_and_stays_in_the_clip():
    clips = synthetic_clip_infos(3, seed=0, min_dur=5.0, max_dur=6.0)
    units = source_units(sorted(clips, key=lambda c: c.path), 30)
    by = {}
    for u in units:
        by.setdefault(u.path, []).append(u)
    u0, u1 = units[0], units[1]
    a = Shot(0, u0.path, u0.lo, u0.lo + 30, 0, 30, locked=True)
    b = Shot(1, u1.path, u1.lo + 10, u1.lo + 40, 35, 65, locked=False)
    out, w = close_short_gaps([a, b], 65, 12, by, 30)
    assert out[1].record_in == 30 and out[1].source_in == u1.lo + 5 and out[0] == a
    assert len(w) == 1 and "shot 1" in w[0]
    # neither neighbour can grow: said so
    a2 = Shot(0, u0.path, u0.hi - 30, u0.hi, 0, 30, locked=True)
    b2 = Shot(1, u1.path, u1.lo, u1.lo + 30, 35, 65, locked=True)
    out, w = close_short_gaps([a2, b2], 65, 12, by, 30)
    assert out == [a2, b2] and "filled with a short shot" in w[0]


def test_dirty_shots_finds_what_must_change(setup):
    a, clips, p = setup
    units = source_units(sorted(clips, key=lambda c: c.path), 30)
    by = {}
    for u in units:
        by.setdefault(u.path, []).append(u)
    shots = list(p.shots)
    assert dirty_shots(shots, by, 12) == set()
    shots[3] = dataclasses.replace(shots[3], locked=True, source=shots[4].source,
                                   source_in=shots[4].source_in, source_out=shots[4].source_in + shots[3].length)
    shots[7] = dataclasses.replace(shots[7], reason="gap: deleted")
    d = dirty_shots(shots, by, 12)
    assert 4 in d and 7 in d and 3 not in d


def test_scope_is_checked_and_settings_changes_replan_everything(setup):
    a, clips, p = setup
    with pytest.raises(ParameterError, match="scope"):
        musync.replan(p, a, clips, scope="bars")
    r = musync.replan(lock(p, [4]), a, clips, style="downbeats")
    assert any("scope all" in w for w in r.warnings)
    downs = set(np.round(a.downbeats * 30).astype(int).tolist())
    assert all(s.record_in in downs or s.locked or p.shots[4].record_out == s.record_in for s in r.shots[1:])


def test_replan_keeps_the_editors_notes(setup):
    a, clips, p = setup
    notes = [{"frame": 40, "name": "flash here", "duration": 0, "on": "timeline"},
             {"frame": 300, "name": "slower", "duration": 12, "on": "V1", "color": "RED"},
             {"frame": p.duration_frames + 50, "name": "past the end", "duration": 0, "on": "timeline"}]
    e = dataclasses.replace(lock(p, [3]), markers={**p.markers, "notes": notes})
    for kw in ({}, {"scope": "all"}, {"seed": 4}):
        r = musync.replan(e, a, clips, **kw)
        assert r.markers["notes"] == notes[:2], kw
        assert any("1 editor note(s) past the song's end" in w for w in r.warnings)
        for k in ("beats", "downbeats", "sections", "climax"):
            assert r.markers[k] == p.markers[k]
    # a plan without notes gets none
    assert "notes" not in musync.replan(lock(p, [3]), a, clips).markers
