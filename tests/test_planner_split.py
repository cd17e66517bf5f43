"""Shots longer than any clip can fill (a stretch with no cut point): split into pieces on the
song's pulse, long and short in turn, short enough for two clips to take turns."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

import musync
from musync.planner import make_settings, split_length
from musync.planner.cuts import split_long
from musync.planner.units import source_units
from planner_util import clip, grid_analysis

FPS = Fraction(30)


def test_split_long_makes_the_fewest_pieces_long_and_short_in_turn_on_beats():
    beats = np.arange(0, 1000, 15)                     # a beat every 15 frames
    cuts, added = split_long([0, 100, 700], 240, beats)
    # 600 frames, at most 240 a piece, lengths in the ratio 1 : 0.7 : 1 (two pieces would be 353
    # and 247): shares at 322 and 478, on the nearest beats
    assert (cuts, added) == ([0, 100, 315, 480, 700], 2)
    # a shot short enough stays whole
    assert split_long([0, 240, 480], 240, beats) == ([0, 240, 480], 0)


def test_split_long_keeps_the_pulse_past_the_last_beat():
    beats = np.arange(0, 301, 15)                      # the beats stop at frame 300
    cuts, added = split_long([0, 300, 1500], 300, beats)
    assert (cuts, added) == ([0, 300, 570, 765, 1035, 1230, 1500], 4)
    inner = np.array(cuts[2:-1])
    assert np.all(inner % 15 == 0), inner              # on the grid continued at its period
    # no beats at all: the shares themselves (900 frames as 1 : 0.7 : 1 : 0.7)
    assert split_long([0, 900], 300, np.zeros(0, dtype=np.int64)) == ([0, 265, 450, 715, 900], 3)


def test_split_length_is_what_two_clips_can_fill():
    s = make_settings("energy", fps=FPS, max_shot=8.0)
    units = source_units([clip(0, dur=20.0), clip(1, dur=12.0), clip(2, dur=6.0)], FPS)
    assert split_length(units, s) == 360               # the second clip's 12 s, not the first's 20
    units = source_units([clip(0, dur=20.0), clip(1, dur=5.0)], FPS)
    assert split_length(units, s) == 240               # a second clip shorter than the longest shot
    assert split_length(source_units([clip(0, dur=20.0)], FPS), s) == 600


def test_a_long_silence_after_the_music_takes_turns_and_keeps_the_pulse():
    # the beats stop at 20.5 s of an 80 s song (the rest is silence, no cut point): one clip of
    # 30 s, three of 11 s. The silent stretch is cut into pieces the 11 s clips can fill, long
    # and short in turn, never one file twice in a row, each cut on the grid continued at the
    # song's period
    a = grid_analysis(bpm=120.0, bars=10, duration=80.0, loudness=np.r_[np.full(10, -20.0)])
    clips = [clip(0, dur=30.0, peak=3.0), clip(1, dur=11.0, peak=2.0), clip(2, dur=11.0, peak=4.0),
             clip(3, dur=11.0, peak=5.0)]
    p = musync.plan(a, clips, fps=FPS, seed=0)
    src = [s.source for s in p.shots]
    assert all(x != y for x, y in zip(src[:-1], src[1:])), src
    assert max(s.length for s in p.shots) <= 11 * 30
    last_beat = round(a.beats[-1] * 30)
    tail = [s.record_in for s in p.shots if s.record_in > last_beat + 15]
    assert len(tail) >= 5
    pieces = np.diff(tail + [p.shots[-1].record_out])
    assert np.all(np.abs(np.diff(pieces[:-1])) >= 60), pieces   # long, short, long: 2 beats apart at least
    # anticipation moves the cuts a few frames early; the pulse is every 15 frames from the beats
    off = [(t + p.settings.anticipation - last_beat) % 15 for t in tail]
    assert all(o in (0, 14, 1) for o in off), off
    assert any("two clips can fill" in w for w in p.warnings), p.warnings
