"""musync.clips.features on synthetic frame streams (numpy only, no decoding)."""

from __future__ import annotations

import numpy as np
import pytest

from musync.clips.features import (FrameAccumulator, detect_cuts, measure, motion_curve,
                                   motion_peaks, usable_window)

H, W = 36, 64          # frames as the decoder would hand them over (pooled to 18x32)
RATE = 30.0


def pattern(t: float, seed: int = 0) -> np.ndarray:
    """A smooth colour pattern drifting to the right: moderate, steady motion."""
    rng = np.random.default_rng(seed)
    fx, fy, ph = rng.uniform(1, 3, 3), rng.uniform(1, 3, 3), rng.uniform(0, 6, 3)
    y, x = np.mgrid[0:H, 0:W] / np.array([H, W])[:, None, None]
    chans = [0.5 + 0.4 * np.sin(2 * np.pi * (fx[c] * x + fy[c] * y) + ph[c] + 2.0 * t)
             for c in range(3)]
    return (np.stack(chans, axis=-1) * 255).astype(np.uint8)


def signals(frames, rate=RATE):
    acc = FrameAccumulator(H, W, chunk=7)       # a small chunk exercises the chunk borders
    for i, f in enumerate(frames):
        acc.add(f, i / rate)
    return acc.finish()


def test_chunking_does_not_change_signals():
    frames = [pattern(i / RATE) for i in range(40)]
    a = signals(frames)
    acc = FrameAccumulator(H, W, chunk=64)
    for i, f in enumerate(frames):
        acc.add(f, i / RATE)
    b = acc.finish()
    for name in ("luma", "contrast", "dark", "saturation", "lab", "diffs", "hist_diff"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-6, equal_nan=True)
    assert np.isnan(a.diffs[0]).all() and np.isnan(a.diffs[2, 2:]).all()


def test_simple_values():
    grey = np.full((H, W, 3), 128, np.uint8)
    red = np.zeros((H, W, 3), np.uint8)
    red[..., 0] = 255
    s = signals([grey, grey, red])
    assert s.luma[0] == pytest.approx(128 / 255, abs=1e-3)
    assert s.luma[2] == pytest.approx(0.2126, abs=1e-3)
    assert s.saturation[0] == 0 and s.saturation[2] == pytest.approx(1.0)
    assert s.lab[0, 0] == pytest.approx(53.6, abs=0.5) and abs(s.lab[0, 1]) < 0.5
    assert s.lab[2, 0] == pytest.approx(53.2, abs=0.5) and s.lab[2, 1] == pytest.approx(80.1, abs=1)
    assert s.contrast[0] == pytest.approx(0, abs=1e-6)
    assert s.diffs[1, 0] == 0 and s.hist_diff[2] == pytest.approx(1.0)


def test_cut_flash_and_two_frame_flash():
    frames = [pattern(i / RATE) for i in range(30)] + [pattern(i / RATE, seed=7) for i in range(30, 60)]
    white = np.full((H, W, 3), 255, np.uint8)
    frames[15] = white                           # a one-frame flash
    frames[45] = white
    frames[46] = white                           # a two-frame flash
    s = signals(frames)
    assert detect_cuts(s).tolist() == [30]
    curve = motion_curve(s, [30])
    assert curve[30] == pytest.approx(curve[29])     # the cut is patched out of the curve
    times, strength = motion_peaks(s.times, curve, exclude=[30])
    assert np.allclose(times, [15 / RATE, 45 / RATE])
    assert (strength > 0.5).all()


def test_repeated_frames_do_not_make_the_curve_flicker():
    # film at 2/3 of the frame rate: every third frame repeats the one before
    frames, t = [], 0.0
    for i in range(60):
        if i % 3 != 2:
            t += 1 / RATE
        frames.append(pattern(t))
    s = signals(frames)
    curve = motion_curve(s)
    assert curve[10:].min() > 0.5 * curve[10:].max()
    assert motion_peaks(s.times, curve)[0].size == 0


def test_usable_window_black_fade_frozen():
    black = np.zeros((H, W, 3), np.uint8)
    body = [pattern(i / RATE) for i in range(60)]
    fade = [(body[0] * (k / 10)).astype(np.uint8) for k in range(1, 10)]
    frames = [black] * 5 + fade + body + [body[-1]] * 20
    s = signals(frames)
    win = usable_window(s, rate=RATE)
    kinds = [k for _, _, k in win.regions]
    assert kinds[:2] == ["black", "fade_in"] and "frozen" in kinds
    assert win.lo == pytest.approx(14, abs=1)
    assert win.hi == pytest.approx(74, abs=1)
    m = measure(s, rate=RATE)
    assert m.usable_in == pytest.approx(14 / RATE, abs=1.01 / RATE)
    assert m.usable_out == pytest.approx(74 / RATE, abs=1.01 / RATE)
    assert len(m.subshots) == 1 and m.subshots[0][0] == m.usable_in


def test_static_clip_is_kept_whole_with_a_warning():
    frames = [pattern(0.0)] * 30
    win = usable_window(signals(frames), rate=RATE)
    assert (win.lo, win.hi) == (0, 30) and win.static and win.warnings


def test_black_throughout():
    win = usable_window(signals([np.zeros((H, W, 3), np.uint8)] * 10), rate=RATE)
    assert win.black_throughout and win.hi == win.lo


def test_internal_black_splits_subshots():
    black = np.zeros((H, W, 3), np.uint8)
    frames = ([pattern(i / RATE) for i in range(30)] + [black] * 10
              + [pattern(i / RATE, 3) for i in range(30)])
    m = measure(signals(frames), rate=RATE)
    assert len(m.subshots) == 2
    assert m.subshots[0][1] == pytest.approx(30 / RATE) and m.subshots[1][0] == pytest.approx(40 / RATE)
    assert any(k == "black" for _, _, k in m.regions)
    assert m.cuts.size == 0                        # cuts to and from black are not cuts


def test_odd_sizes_are_refused():
    with pytest.raises(ValueError):
        FrameAccumulator(35, 64)
