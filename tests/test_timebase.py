"""The one seconds <-> frames conversion: exact, one tie rule, NTSC snapping."""

from __future__ import annotations

import math
from decimal import Decimal, ROUND_FLOOR, getcontext
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, strategies as st

from musync.errors import ParameterError
from musync.timebase import (first_frame, frame_time, parse_fps, timecode_rate, to_frame,
                             to_frames, to_seconds, window_frames)

NTSC = Fraction(30000, 1001)


def _oracle_frame(t: float, fps: Fraction) -> int:
    """Nearest frame, ties up, in 60-digit decimal arithmetic (independent of Fraction code)."""
    getcontext().prec = 60
    x = Decimal(t) * Decimal(fps.numerator) / Decimal(fps.denominator) + Decimal("0.5")
    return int(x.to_integral_value(rounding=ROUND_FLOOR))


@pytest.mark.parametrize("text, expect", [
    ("29.97", NTSC), (29.97, NTSC), ("23.976", Fraction(24000, 1001)), ("59.94", Fraction(60000, 1001)),
    ("30000/1001", NTSC), (30, Fraction(30)), ("25", Fraction(25)), (Fraction(24), Fraction(24)),
    ("29.9", Fraction(299, 10)),          # not close enough to be NTSC
])
def test_parse_fps(text, expect):
    assert parse_fps(text) == expect


@pytest.mark.parametrize("bad", ["abc", "0", "-25", "1/0", "241", float("nan"), float("inf"), None])
def test_parse_fps_rejects(bad):
    with pytest.raises(ParameterError):
        parse_fps(bad)


def test_ties_go_up_exactly():
    # 0.5 frame at 30 fps is 1/60 s: not representable in binary, so the exact value decides
    t = 1 / 60
    assert to_frame(t, 30) == _oracle_frame(t, Fraction(30))
    # exact half: 0.05 s at 10 fps... 0.05 is slightly above 1/20 in binary -> frame 1
    assert to_frame(0.05, 10) == _oracle_frame(0.05, Fraction(10))
    # a binary-exact half frame: 0.25 s at 2 fps is 0.5 frame -> 1 (ties up)
    assert to_frame(0.25, 2) == 1 and to_frame(0.75, 2) == 2
    assert to_frame(-0.25, 2) == 0


def test_ntsc_second():
    assert to_frame(1.0, NTSC) == 30
    assert to_frame(1.001, NTSC) == 30
    assert to_frame(60.06, NTSC) == 1800
    assert to_seconds(30, NTSC) == pytest.approx(1.001, abs=1e-12)
    assert frame_time(30, NTSC) == Fraction(1001, 1000)


@given(st.lists(st.floats(min_value=0, max_value=4000, allow_nan=False), min_size=1, max_size=50),
       st.sampled_from([Fraction(24), Fraction(25), Fraction(30), NTSC, Fraction(24000, 1001), Fraction(60)]))
def test_array_matches_scalar_and_oracle(ts, fps):
    arr = to_frames(ts, fps)
    assert arr.dtype == np.int64 and arr.shape == (len(ts),)
    assert arr.tolist() == [to_frame(t, fps) for t in ts] == [_oracle_frame(t, fps) for t in ts]


def test_array_half_frames_exact():
    fps = Fraction(25)
    ts = (np.arange(1000) + 0.5) / 25.0          # every half frame, as floats
    assert to_frames(ts, fps).tolist() == [_oracle_frame(float(t), fps) for t in ts]


def test_round_trip():
    f = np.arange(0, 100000, 7)
    assert np.array_equal(to_frames(to_seconds(f, NTSC), NTSC), f)


def test_window_frames_whole_frames_inside():
    # [0.5 s, 2.0 s] at 30 fps: frames 15 .. 59 (frame 59 ends at exactly 2.0 s)
    assert window_frames(0.5, 2.0, 30) == (15, 60)
    # a window rounded to the microsecond still includes its boundary frames
    assert window_frames(0.033333, 1.0, 30) == (1, 30)
    assert window_frames(0.0334, 1.0, 30) == (2, 30)
    assert window_frames(1.0, 1.01, 30) == (30, 30)       # too short for a whole frame
    with pytest.raises(ParameterError):
        window_frames(0, float("inf"), 30)


def test_first_frame_starts_at_or_after_the_time():
    # 0.5 s at 30 fps is frame 15 exactly; a hair later is frame 16; a microsecond-rounded
    # boundary counts as on it
    assert first_frame(0.5, 30) == 15 and first_frame(0.5001, 30) == 16
    assert first_frame(0.033333, 30) == 1 and first_frame(0.0334, 30) == 2
    assert first_frame(1.001, NTSC) == 30
    assert first_frame(2.25, 30) == window_frames(2.25, 9.0, 30)[0]
    with pytest.raises(ParameterError):
        first_frame(float("nan"), 30)


def test_timecode_rate():
    assert timecode_rate(NTSC) == 30 and timecode_rate(Fraction(24000, 1001)) == 24 and timecode_rate(25) == 25


def test_make_settings_snaps_ntsc():
    from musync import make_settings

    assert make_settings(fps=29.97).fps == NTSC
    assert make_settings(fps="23.976").fps == Fraction(24000, 1001)
    with pytest.raises(ParameterError):
        make_settings(fps=0)


def test_to_frame_rejects_non_finite():
    with pytest.raises(ParameterError):
        to_frame(float("nan"), 30)
    with pytest.raises(ParameterError):
        to_frames([0.0, float("inf")], 30)


@pytest.mark.parametrize("fps", [Fraction(30), Fraction(30000, 1001), Fraction(24000, 1001), Fraction(25)])
def test_frame_windows_match_exact_fractions_at_and_near_every_boundary(fps):
    # the oracle: the definitions in exact rational arithmetic; times on a frame boundary, within
    # a microsecond of one either way, just outside that, and anywhere
    rng = np.random.default_rng(int(fps.numerator))
    micro = Fraction(1, 10**6)
    offsets = [0.0, 1e-7, -1e-7, 1e-6, -1e-6, 0.9e-6, -0.9e-6, 1.1e-6, -1.1e-6, 1e-9, -1e-9]
    for k in rng.integers(0, 500_000, 3000):
        for off in offsets + [float(rng.random()) / float(fps)]:
            t = float(Fraction(int(k)) / fps) + off
            lo = math.ceil(Fraction(t) * fps - fps * micro)
            hi = math.floor(Fraction(t) * fps + fps * micro)
            assert first_frame(t, fps) == lo, (k, off)
            assert window_frames(0.0, t, fps) == (0, max(0, hi)), (k, off)
