"""The planner on real songs and real footage (../shared/data; skipped where it is absent): the
rules that must hold on every plan, at every seed, measured here from the shots and the song's
analysis (not from the plan's own metrics). Hungarian Dance is the hard case: a string orchestra
with rubato, read on a fallback grid (bar lines and half bars), and few clips long enough for its shots; the
Frets on Fire tutorial holds long shots in a row where one clip alone is long enough for some."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from musync.analysis import analyze
from musync.clips import scan_clips
from musync.planner import plan
from musync.timebase import to_frames

from conftest import SHARED_DATA

pytestmark = pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"shared test data not found at {SHARED_DATA}")

FPS = Fraction(30)
SONGS = ("cc/Hungarian_Dance_number_5_-_Allegro_in_F_sharp_minor_string_orchestra.ogg",
         "cc/Kevin_MacLeod_-_Vibe_Ace.ogg", "annotated/fof_tutorial.ogg")


@pytest.fixture(scope="module")
def material():
    clips = scan_clips([SHARED_DATA / "video"], progress="none")
    return clips, {s: analyze(SHARED_DATA / "audio" / s) for s in SONGS}


@pytest.mark.parametrize("song", SONGS)
@pytest.mark.parametrize("seed", range(5))
def test_real_plans_keep_the_rules_at_every_seed(material, song, seed):
    clips, analyses = material
    a = analyses[song]
    p = plan(a, clips, seed=seed, fps=FPS)
    src = [s.source for s in p.shots]
    assert not any(x == y for x, y in zip(src[:-1], src[1:])), "the same clip twice in a row"
    rin = np.array([s.record_in for s in p.shots])
    rout = np.array([s.record_out for s in p.shots])
    assert rin[0] == 0 and np.all(rin[1:] == rout[:-1])
    cuts = rin[1:]
    grid = np.union1d(to_frames(a.beats, FPS), to_frames(a.downbeats, FPS)) - p.settings.anticipation
    assert np.all(np.min(np.abs(cuts[:, None] - grid[None, :]), axis=1) <= 1), "a cut off the beat grid"
    # every section of eight bars or more varies its shot lengths
    downs = to_frames(a.downbeats, FPS)
    starts = [0] + list(to_frames([s.start for s in a.sections[1:]], FPS)) + [int(rout[-1])]
    for s0, s1 in zip(starts[:-1], starts[1:]):
        if np.sum((downs >= s0) & (downs < s1)) < 8:
            continue
        lens = (rout - rin)[(rin >= s0) & (rin < s1)].astype(float)
        assert lens.std() / lens.mean() >= 0.25, (s0, s1, lens.tolist())
    # cuts on accents: a downbeat, or a beat whose onset is in the song's top half
    if not a.fallback:
        beats = to_frames(a.beats, FPS)
        bs = np.asarray(a.beat_strength)
        heard = np.union1d(downs, beats[bs >= np.median(bs)]) - p.settings.anticipation
        on = np.min(np.abs(cuts[:, None] - heard[None, :]), axis=1) <= 1
        assert on.mean() >= 0.8, on.mean()
