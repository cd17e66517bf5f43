"""What the scan sees in the picture: content flags, picture area, frame prints, duplicate
groups, quality and the region of interest, on media made here with known content."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from musync import testing as T
from musync.clips import (find_duplicates, frame_thumbnail, frames_match, quality_at, scan_clip,
                          scan_clips, thumb_distance, upscale_factor)
from musync.types import ClipInfo, ScanResult

SIZE = (320, 180)


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    d = tmp_path_factory.mktemp("content")
    m = {}
    m["foot"] = T.make_footage(d / "foot.mp4", seconds=3, size=SIZE, seed=1,
                               subject_start=(0.8, 0.35), subject_end=(0.72, 0.6), pan=(0.01, 0.0))
    m["foot2"] = T.make_footage(d / "foot2.mp4", seconds=2, size=SIZE, seed=5,
                                subject_start=(0.2, 0.5), subject_end=(0.3, 0.5))
    m["bars"] = T.make_test_pattern(d / "bars.mp4", kind="smptebars", seconds=1.5, size=SIZE)
    m["card"] = T.make_text_card(d / "card.mp4", ["WITH OUR LIVES", "coming soon"], seconds=1.5,
                                 size=SIZE, font_size=0.1)
    m["slate"] = T.make_text_card(d / "slate.mp4", T.text_lines(3, seed=3), seconds=1.5,
                                  size=SIZE, background=(235, 230, 210), colour="black",
                                  font_size=0.08)
    m["credits"] = T.make_text_card(d / "credits.mp4", T.text_lines(30, seed=4), seconds=2.5,
                                    size=SIZE, font_size=0.06, scroll=0.3)
    m["flat"] = T.make_flat_clip(d / "flat.mp4", colour=(0, 170, 40), seconds=1.5, size=SIZE)
    m["lbox"] = T.derive_clip(m["foot"].path, d / "lbox.mp4", "letterbox", size=SIZE)
    m["grey"] = T.derive_clip(m["foot"].path, d / "grey.mp4", "grey")
    m["crop"] = T.derive_clip(m["foot"].path, d / "crop.mp4", "crop", crop=0.8)
    m["excerpt"] = T.derive_clip(m["foot"].path, d / "excerpt.mp4", "excerpt", start=1.0,
                                 duration=1.2)
    m["reenc"] = T.derive_clip(m["foot"].path, d / "reenc.mp4", "reencode")
    m["up"] = T.derive_clip(m["foot"].path, d / "up.mp4", "upscale", size=(640, 360),
                            low=(96, 54))
    return m


@pytest.fixture(scope="module")
def scanned(media):
    paths = {k: (v.path if hasattr(v, "path") else v) for k, v in media.items()}
    res = scan_clips(list(paths.values()), use_cache=False, workers=1)
    by = {c.path: c for c in res}
    return {k: by[str(p)] for k, p in paths.items() if str(p) in by}, res


def kinds(c, excluding=True):
    return {f.kind for f in c.flags if (f.excludes or not excluding)}


def covered(c, kind) -> float:
    """Share of the clip's duration inside flags of ``kind``."""
    tot = sum(min(f.end, c.duration) - f.start for f in c.flags if f.kind == kind)
    return tot / c.duration


def test_footage_is_not_flagged(scanned):
    clips, _ = scanned
    for k in ("foot", "foot2", "grey", "crop", "excerpt", "reenc", "up"):
        assert kinds(clips[k]) == set(), (k, clips[k].flags)


@pytest.mark.parametrize("name, kind", [("bars", "test_pattern"), ("card", "text"),
                                        ("slate", "text"), ("credits", "credits"),
                                        ("flat", "flat")])
def test_content_flags(scanned, name, kind):
    c = scanned[0][name]
    assert covered(c, kind) >= 0.9, c.flags
    assert kinds(c) == {kind}, c.flags
    f = next(f for f in c.flags if f.kind == kind)
    assert f.reason and 0 < f.score <= 1


def test_text_on_black_is_not_black_nor_letterboxed(scanned):
    c = scanned[0]["card"]
    assert "black" not in kinds(c) and "letterbox" not in kinds(c, excluding=False)


def test_black_range_inside_a_clip(tmp_path):
    a = T.make_footage(tmp_path / "a.mp4", seconds=1.5, size=SIZE, seed=2).path
    b = T.make_flat_clip(tmp_path / "b.mp4", colour=(3, 3, 3), noise=0.005, seconds=1.0, size=SIZE)
    c = T.make_footage(tmp_path / "c.mp4", seconds=1.5, size=SIZE, seed=3).path
    lst = tmp_path / "list.txt"
    lst.write_text("".join(f"file '{p}'\n" for p in (a, b, c)))
    out = tmp_path / "joined.mp4"
    from musync.media import run_ffmpeg

    run_ffmpeg(["-y", "-f", "concat", "-safe", "0", "-i", str(lst), "-c", "copy", str(out)])
    clip = scan_clip(out)
    black = [f for f in clip.flags if f.kind == "black"]
    assert len(black) == 1
    assert black[0].start == pytest.approx(1.5, abs=0.15)
    assert black[0].end == pytest.approx(2.5, abs=0.15)
    assert clip.flagged(0.0, 1.3) == [] and clip.flagged(1.8, 2.2) == black


def test_letterbox_and_picture_area(scanned):
    c = scanned[0]["lbox"]
    assert kinds(c, excluding=False) == {"letterbox"}
    x, y, w, h = c.picture
    ph = int(round(SIZE[0] / 2.39 / 2)) * 2                  # what derive_clip made
    assert x == 0 and w == SIZE[0]
    assert h == pytest.approx(ph, abs=4) and y == pytest.approx((SIZE[1] - ph) / 2, abs=3)
    assert scanned[0]["foot"].picture == (0, 0, *SIZE)


def test_frame_prints_recomputed_from_full_frames(media, scanned):
    """The per-second thumbnail of the record matches the full-size decoded frame at its index,
    and a wrong picture (solid green, another second) does not."""
    import av

    c = scanned[0]["foot"]
    pr = c.prints
    assert list(pr.times) == pytest.approx([0.0, 1.0, 2.0], abs=0.05)
    want = {int(i): k for k, i in enumerate(pr.frames)}
    got = {}
    with av.open(str(media["foot"].path)) as cont:
        for i, fr in enumerate(cont.decode(video=0)):
            if i in want:
                got[want[i]] = frame_thumbnail(fr.to_ndarray(format="rgb24"))
    assert sorted(got) == [0, 1, 2]
    for k, th in got.items():
        assert frames_match(pr.thumb(k), th), thumb_distance(pr.thumb(k), th)
    green = np.zeros((180, 320, 3), np.uint8)
    green[..., 1] = 135
    assert not frames_match(pr.thumb(1), frame_thumbnail(green))
    assert thumb_distance(pr.thumb(0), got[2]) > thumb_distance(pr.thumb(2), got[2])
    assert pr.at(1.5) == 1 and pr.at(0.0) == 0


def test_thumbnail_definition():
    img = np.zeros((16, 24, 3), np.uint8)
    img[:8, :, :] = 255                               # top half white
    th = frame_thumbnail(img)
    assert th.shape == (8, 8) and th.dtype == np.uint8
    assert (th[:4] == 255).all() and (th[4:] == 0).all()
    with pytest.raises(ValueError):
        frame_thumbnail(np.zeros((4, 4, 3), np.uint8))


def test_duplicate_groups(scanned):
    clips, res = scanned
    groups = find_duplicates(list(res))
    assert res.groups == groups
    foot = {clips[k].path for k in ("foot", "grey", "crop", "excerpt", "reenc", "lbox", "up")}
    mine = [g for g in groups if clips["foot"].path in g.paths]
    assert len(mine) == 1
    assert set(mine[0].paths) == foot
    rel = {m.path: m.relation for m in mine[0].members}
    assert "greyscale" in rel[clips["grey"].path]
    assert "excerpt" in rel[clips["excerpt"].path]
    assert "crop" in rel[clips["crop"].path]
    others = {clips[k].path for k in ("foot2", "bars", "card", "slate", "credits", "flat")}
    assert not any(others & set(g.paths) for g in groups if clips["foot"].path in g.paths)


def test_quality_and_upscale(scanned):
    clips, _ = scanned
    foot, up = clips["foot"], clips["up"]
    assert foot.quality is not None and 0 <= foot.quality.score <= 1
    assert up.quality.sharpness < foot.quality.sharpness
    assert upscale_factor(foot, (1920, 1080)) == pytest.approx(6.0, rel=0.05)
    lb = clips["lbox"]
    assert upscale_factor(lb, (1920, 1080)) > upscale_factor(foot, (1920, 1080))
    assert quality_at(foot, (320, 180)) > quality_at(foot, (1920, 1080))
    assert all(s.quality is not None for s in foot.subshots)


def test_region_of_interest_follows_the_subject(media, scanned):
    truth = media["foot"]
    c = scanned[0]["foot"]
    assert c.roi.shape[0] == c.roi_times.shape[0] >= 5
    W, H = truth.size
    hits = 0
    for t, (x, y, w, h) in zip(c.roi_times, c.roi):
        i = min(int(t * truth.fps), len(truth.boxes) - 1)
        bx, by, bw, bh = truth.boxes[i]
        cx, cy = (bx + bw / 2) / W, (by + bh / 2) / H
        hits += (x <= cx <= x + w) and (y <= cy <= y + h) and w < 0.9
    assert hits / c.roi.shape[0] >= 0.9


def test_heroes(scanned):
    c = scanned[0]["foot"]
    assert 1 <= len(c.heroes) <= 3
    h = c.heroes[0]
    assert c.usable_in <= h.start < h.end <= c.usable_out + 1e-6 and h.reason
    assert scanned[0]["bars"].heroes == ()                   # never inside a flagged range


def test_records_round_trip(scanned):
    _, res = scanned
    d = json.loads(json.dumps(res.to_dict()))
    back = ScanResult.from_dict(d)
    assert back == res and back.groups == res.groups
    for c in res:
        assert ClipInfo.from_dict(c.to_dict()) == c


def test_scan_cli_prints_flags_and_groups(media, tmp_path):
    from click.testing import CliRunner

    from musync.cli import cli

    files = [str(media["bars"]), str(media["foot"].path), str(media["grey"])]
    r = CliRunner().invoke(cli, ["scan", *files, "--progress", "none", "--no-cache"])
    assert r.exit_code == 0, r.output
    assert "test_pattern" in r.output and "content flags:" in r.output
    assert "duplicate groups (1)" in r.output and "greyscale copy" in r.output
