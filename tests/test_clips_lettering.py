"""Large lettering over a picture (a title logo) is flagged as text; bright, high-contrast
pictures that are not lettering are not. Media made here: busy textured footage (specks of
sharp colour in every row, like foliage) with big two-line titles, and the same footage with
big flat white blobs, a white sky, many white dots, a railing of thin dark bars before a white
wall (flat runs of one paint in every row of a tall band, but the same in every row), a shelf
of flat-coloured books (flat strokes in every row, but of many paints)."""

from __future__ import annotations

import numpy as np
import pytest

from musync import testing as T
from musync.clips import _kernels, scan_clips

SIZE = (320, 180)


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    d = tmp_path_factory.mktemp("lettering")
    paths = {
        "title": T.make_title_over_footage(d / "title.mp4", ("BIG TITLE", "LETTERS"), seconds=2,
                                           size=SIZE, seed=7, font_size=0.28),
        "dark": T.make_title_over_footage(d / "dark.mp4", ("DARK", "TITLE"), seconds=2,
                                          size=SIZE, seed=9, colour=(10, 10, 10), font_size=0.25),
        "line": T.make_title_over_footage(d / "line.mp4", ("ONE LINE",), seconds=2, size=SIZE,
                                          seed=10, font_size=0.3),
        "fade": T.make_title_over_footage(d / "fade.mp4", ("Night", "RIVER"), seconds=3,
                                          size=SIZE, seed=8, font_size=0.25, fade=0.6),
        "plain": T.make_title_over_footage(d / "plain.mp4", (), seconds=2, size=SIZE, seed=7),
        "blobs": T.make_bright_shapes(d / "blobs.mp4", seconds=2, size=SIZE, seed=3),
        "sky": T.make_bright_shapes(d / "sky.mp4", seconds=2, size=SIZE, seed=4, sky=True,
                                    count=2),
        "railing": T.make_bright_shapes(d / "railing.mp4", seconds=2, size=SIZE, seed=2,
                                        count=0, railing=True),
        "books": T.make_bright_shapes(d / "books.mp4", seconds=2, size=SIZE, seed=11, count=0,
                                      books=True),
        "dots": T.make_bright_shapes(d / "dots.mp4", seconds=2, size=SIZE, seed=6, count=14,
                                     shape_size=0.06),
    }
    res = scan_clips(list(paths.values()), use_cache=False, workers=1)
    by = {c.path: c for c in res}
    return {k: by[str(p)] for k, p in paths.items()}


def _text(c):
    return [f for f in c.flags if f.kind == "text"]


@pytest.mark.parametrize("name", ["title", "dark", "line"])
def test_title_logo_over_footage_is_text(scanned, name):
    c = scanned[name]
    assert {f.kind for f in c.flags if f.excludes} == {"text"}, c.flags
    cover = sum(min(f.end, c.duration) - f.start for f in _text(c)) / c.duration
    assert cover >= 0.9, c.flags
    f = _text(c)[0]
    assert "lettering" in f.reason and 0 < f.score <= 1
    assert ("dark" in f.reason) == (name == "dark")


def test_fading_title_is_flagged_while_it_shows(scanned):
    c = scanned["fade"]
    text = _text(c)
    assert len(text) == 1, c.flags
    # full strength from 0.6 s to 2.4 s; half-transparent from 0.3 s and until 2.7 s
    assert text[0].start <= 0.6 and text[0].end >= 2.4, text
    assert text[0].start >= 0.15 and text[0].end <= 2.9, text


@pytest.mark.parametrize("name", ["plain", "blobs", "sky", "dots", "railing", "books"])
def test_bright_pictures_are_not_lettering(scanned, name):
    assert scanned[name].flags == (), scanned[name].flags


def _fill_counts(row: np.ndarray) -> np.ndarray:
    """The detail kernel's filled-stroke statistics of one luma row (repeated into a frame)."""
    h, w = 8, row.size
    raw = np.repeat(np.repeat((row * 255 + 0.5).astype(np.uint8)[None, :, None], h, 0), 3, 2)
    rows = np.zeros((1, 17, h), np.float32)
    _kernels.detail_stats(raw[None], np.zeros(1, np.int64), np.zeros((1, h // 2, w // 2), np.float32),
                          0, 2, rows, np.zeros((1, 4, w), np.float32),
                          np.zeros((1, 4, h // 4, w // 4), np.uint8),
                          np.zeros((1, 3, h // 4, w // 8), np.float32))
    return rows[0, 7:17, 3]


def test_filled_strokes_are_counted_exactly():
    w = 96                                   # strokes up to w // 8 = 12 pixels
    row = np.full(w, 0.3)
    row[4:5] = 0.95                          # 1 px: too thin (a speck, a glyph's hairline)
    row[10:12] = 0.95                        # 2 px
    row[20:25] = 0.9                         # 5 px
    row[30:42] = 0.95                        # 12 px: the widest counted
    row[50:63] = 0.95                        # 13 px: too wide (a block, not a stroke)
    row[70:76] = np.linspace(0.6, 0.95, 6)   # a ramp: not flat paint
    row[84:88] = 0.02                        # a dark stroke
    c = _fill_counts(row)
    assert c[0] == 3
    # grey strokes: each of R, G, B is the luma; R^2 + G^2 + B^2 = 3 luma^2
    for k in (1, 2, 3):
        assert c[k] / c[0] == pytest.approx((0.95 + 0.9 + 0.95) / 3, abs=0.01)
    var = c[4] / c[0] - float(np.sum((c[1:4] / c[0]) ** 2))
    assert var == pytest.approx(3 * np.var([0.95, 0.9, 0.95]), abs=2e-3)
    # dark strokes: the 0.3 ground between two sharp steps at 5:10, 12:20, 25:30, 42:50, 63:70
    # and the stroke drawn at 84:88 (76:84 falls twice: no rise closes it at 84)
    assert c[5] == 6
    assert c[6] / c[5] == pytest.approx((5 * 0.3 + 0.02) / 6, abs=0.01)
