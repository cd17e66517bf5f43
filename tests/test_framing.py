"""Framing that keeps the subject: crop windows from the region of interest, stored per shot in
the plan and followed by the renderer."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from musync import framing
from musync import testing as T
from musync.clips import scan_clip
from musync.types import Plan, Shot, ShotCrop

W, H, FPS = 320, 180, 30


@pytest.fixture(scope="module")
def footage(tmp_path_factory):
    d = tmp_path_factory.mktemp("framing")
    out = {}
    for name, s0, s1 in (("right", (0.85, 0.35), (0.76, 0.6)), ("left", (0.12, 0.3), (0.3, 0.7)),
                         ("across", (0.2, 0.5), (0.85, 0.45))):
        truth = T.make_footage(d / f"{name}.mp4", seconds=3, size=(W, H), seed=len(name),
                               subject_start=s0, subject_end=s1, pan=(0.01, 0.0))
        out[name] = (truth, scan_clip(truth.path))
    return out


def _boxes(truth):
    return truth.boxes / np.array([W, H, W, H])


@pytest.mark.parametrize("aspect", [9 / 16, 1.0])
@pytest.mark.parametrize("name", ["right", "left", "across"])
def test_crop_keeps_an_off_centre_subject(footage, name, aspect):
    truth, clip = footage[name]
    n = len(truth.boxes)
    crop = framing.shot_crop(clip, 0, n, FPS, aspect)
    assert crop is not None and crop.aspect == pytest.approx(aspect, abs=1e-3)
    assert crop.w == pytest.approx(aspect / (W / H), abs=1e-3) and crop.h == 1.0
    inside = framing.subject_inside(crop, _boxes(truth), np.arange(n))
    assert inside >= 0.95
    # the window moves smoothly: at most MAX_SPEED window widths a second between keyframes
    x = np.asarray(crop.x)
    f = np.asarray(crop.frames)
    speed = np.abs(np.diff(x)) / np.maximum(np.diff(f) / FPS, 1e-9)
    assert speed.max() <= framing.MAX_SPEED * crop.w + 1e-3


def test_centred_crop_loses_the_subject(footage):
    truth, clip = footage["right"]
    n = len(truth.boxes)
    centre = framing.centred_crop(clip, n, 9 / 16)
    assert framing.subject_inside(centre, _boxes(truth), np.arange(n)) < 0.2


def test_no_crop_when_the_aspects_agree(footage):
    _, clip = footage["right"]
    assert framing.shot_crop(clip, 0, 30, FPS, W / H) is None
    assert framing.subject_fit(clip, W / H) == 1.0


def test_subject_fit_prefers_subjects_that_fit(footage):
    _, clip = footage["right"]
    fit = framing.subject_fit(clip, 9 / 16)
    assert 0.0 < fit <= 1.0


def test_shot_crop_round_trips_in_the_plan():
    c = ShotCrop((0, 6, 12), (0.1, 0.2, 0.3), (0.0, 0.0, 0.0), 0.3164, 1.0, 0.5625)
    s = Shot(0, "/a.mp4", 0, 13, 0, 13, crop=c)
    assert Shot.from_dict(s.to_dict()) == s
    assert "crop" not in Shot(0, "/a.mp4", 0, 13, 0, 13).to_dict()
    assert c.at(3) == pytest.approx((0.15, 0.0))
    assert c.at(100) == pytest.approx((0.3, 0.0))


def test_render_follows_the_plan_crop(footage, tmp_path):
    """Every output frame is the source window the plan's crop names (found by searching the
    scaled source frame for the output), and differs from the centred crop."""
    import av

    from musync.media import file_sha256
    from musync.render import render
    from musync.render.framing import geometry, plan_offset
    from musync.types import AudioInfo, PlanClip, PlanSettings

    truth, clip = footage["right"]
    n = int(clip.usable_out * FPS) - 1                 # inside the usable window
    assert clip.usable_in == 0.0 and n >= 60
    crop = framing.shot_crop(clip, 0, n, FPS, 9 / 16)
    song = T.write_wav(tmp_path / "song.wav", np.zeros(n * 22050 // FPS, np.float32) + 1e-4, 22050)
    size = (90, 160)
    plan = Plan(AudioInfo(str(song), file_sha256(song), n / FPS, 22050, 1), Fraction(FPS), n, size,
                "9:16", PlanSettings(fps=Fraction(FPS), size=size, aspect="9:16"),
                (Shot(0, clip.path, 0, n, 0, n, crop=crop),), clips=(PlanClip.from_clip(clip),))
    out = tmp_path / "followed.mp4"
    render(plan, out, mode="final")
    geom = geometry(clip.size, 0, size, "fill")
    uw, uh = geom.upright
    with av.open(str(clip.path)) as a, av.open(str(out)) as b:
        src = [f.to_ndarray(format="gray").astype(np.float64) for f in a.decode(video=0)]
        dst = [f.to_ndarray(format="gray").astype(np.float64) for f in b.decode(video=0)]
    assert len(dst) == n
    from PIL import Image

    errs, moved = [], 0
    for k in (0, n // 3, 2 * n // 3, n - 1):
        scaled = np.asarray(Image.fromarray(src[k].astype(np.uint8)).resize((uw, uh),
                                                                            Image.BILINEAR),
                            dtype=np.float64)
        d = dst[k][:, :size[0]]
        cost = [np.abs(scaled[:size[1], x:x + size[0]] - d).mean() for x in range(uw - size[0] + 1)]
        best = int(np.argmin(cost))
        want = plan_offset(crop, geom, k)[0]
        errs.append(abs(best - want))
        moved += abs(want - geom.offset[0]) > 10
    assert max(errs) <= 4, errs
    assert moved >= 3                          # the subject is off centre: not the centred crop


def _framed_plan(clip, tmp_path, aspect="9:16", size=(1080, 1920)):
    from musync.media import file_sha256
    from musync.types import AudioInfo, PlanClip, PlanSettings

    n = int(clip.usable_out * FPS) - 1
    a = 9 / 16 if aspect == "9:16" else 1.0
    crop = framing.shot_crop(clip, 0, n, FPS, a)
    song = T.write_wav(tmp_path / "song.wav", np.zeros(n * 22050 // FPS, np.float32) + 1e-4, 22050)
    return Plan(AudioInfo(str(song), file_sha256(song), n / FPS, 22050, 1), Fraction(FPS), n, size,
                aspect, PlanSettings(fps=Fraction(FPS), size=size, aspect=aspect),
                (Shot(0, clip.path, 0, n, 0, n, crop=crop),), clips=(PlanClip.from_clip(clip),))


@pytest.mark.parametrize("version", ["1.8", "1.10", "1.11"])
def test_fcpxml_carries_the_framing_as_a_transform(footage, tmp_path, version):
    from pathlib import Path

    from musync.export import export

    etree = pytest.importorskip("lxml.etree", reason="lxml validates against the DTD")
    _, clip = footage["right"]
    plan = _framed_plan(clip, tmp_path)
    out = export(plan, tmp_path / "e.fcpxml", fcpxml_version=version)
    doc = etree.parse(str(out))
    dtd_path = Path(__file__).parent / "data" / "fcpxml_dtd" / f"FCPXMLv{version.replace('.', '_')}.dtd"
    with open(dtd_path, "rb") as f:
        dtd = etree.DTD(f)
    assert dtd.validate(doc), dtd.error_log.filter_from_errors()
    ac = doc.getroot().find("library/event/project/sequence/spine/asset-clip")
    assert ac.find("adjust-conform").get("type") == "fill"
    dx, dy = (float(v) for v in ac.find("adjust-transform").get("position").split())
    # the subject is right of centre: the picture moves left; percent of the frame height
    crop = plan.shots[0].crop
    k = len(crop.frames) // 2
    cx = crop.x[k] + crop.w / 2
    s = 1920 / clip.size[1]
    assert dx == pytest.approx(100 * (0.5 - cx) * clip.size[0] * s / 1920, rel=1e-3)
    assert dx < -10 and dy == pytest.approx(0, abs=1e-6)


def test_formats_that_cannot_carry_the_framing_say_so(footage, tmp_path):
    import opentimelineio as otio

    from musync.export import export, media_warnings

    _, clip = footage["right"]
    plan = _framed_plan(clip, tmp_path)
    w_edl = media_warnings(plan, "edl")
    assert any("cannot carry a position" in w and "centre" in w for w in w_edl)
    assert not any("framed" in w for w in media_warnings(plan, "fcpxml"))
    assert any("metadata only" in w for w in media_warnings(plan, "otio"))
    out = export(plan, tmp_path / "e.otio")
    tl = otio.adapters.read_from_file(str(out))
    meta = tl.video_tracks()[0][0].metadata["musync"]["crop"]
    assert meta["w"] == plan.shots[0].crop.w and len(meta["frames"]) == len(plan.shots[0].crop.frames)


@pytest.mark.parametrize("aspect, size", [("9:16", (90, 160)), ("16:9", (320, 180))])
def test_fill_crops_letterbox_bars_away(footage, tmp_path, aspect, size):
    """A letterboxed source filled into 9:16 or 16:9 shows its picture, never its bars."""
    import av

    from musync.media import file_sha256
    from musync.render import render
    from musync.types import AudioInfo, PlanClip, PlanSettings

    truth, _ = footage["right"]
    boxed = T.derive_clip(truth.path, tmp_path / "boxed.mp4", "letterbox", size=(W, H))
    clip = scan_clip(boxed)
    assert clip.picture[3] < 0.8 * H and PlanClip.from_clip(clip).picture == clip.picture
    j0 = int(np.ceil(clip.usable_in * FPS))
    n = 45
    a = 9 / 16 if aspect == "9:16" else W / H
    crop = framing.shot_crop(clip, j0, j0 + n, FPS, a)
    if crop is not None:                      # the window lies inside the picture
        y_top = clip.picture[1] / H
        assert min(crop.y) >= y_top - 1e-3
    song = T.write_wav(tmp_path / "s.wav", np.zeros(n * 22050 // FPS, np.float32) + 1e-4, 22050)
    plan = Plan(AudioInfo(str(song), file_sha256(song), n / FPS, 22050, 1), Fraction(FPS), n, size,
                aspect, PlanSettings(fps=Fraction(FPS), size=size, aspect=aspect),
                (Shot(0, clip.path, j0, j0 + n, 0, n, crop=crop),), clips=(PlanClip.from_clip(clip),))
    out = tmp_path / "filled.mp4"
    render(plan, out, mode="final")
    with av.open(str(out)) as c:
        frames = [f.to_ndarray(format="gray") for f in c.decode(video=0)]
    top = np.mean([f[:3].mean() for f in frames])
    bottom = np.mean([f[-3:].mean() for f in frames])
    assert top > 40 and bottom > 40, (top, bottom)       # picture rows, not black bars
