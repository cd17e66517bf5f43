"""FCPXML: valid against Apple's DTD of each version written, formats that match the media."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from musync.errors import ExportError, ParameterError
from musync.export import export, import_timeline, read_timeline

from test_export import ALL_RATE_IDS, ALL_RATES, CLIP_RATES, make_plan, media, video_clips  # noqa: F401

etree = pytest.importorskip("lxml.etree", reason="lxml validates against the DTD")

DTD_DIR = Path(__file__).parent / "data" / "fcpxml_dtd"
VERSIONS = ("1.8", "1.10", "1.11")


def dtd(version: str):
    with open(DTD_DIR / f"FCPXMLv{version.replace('.', '_')}.dtd", "rb") as f:
        return etree.DTD(f)


def t(s: str) -> Fraction:
    num, _, den = s[:-1].partition("/")
    return Fraction(int(num), int(den or 1))


def test_vendored_dtds_are_apples():
    """The files are Apple's as published (their own first lines and fixed version)."""
    for v, year in (("1.8", "2017"), ("1.10", "2021"), ("1.11", "2023")):
        text = (DTD_DIR / f"FCPXMLv{v.replace('.', '_')}.dtd").read_text(encoding="utf-8")
        assert text.splitlines()[1] == f"<!-- Copyright (c) 2011-{year} Apple Inc. All rights reserved. -->"
        assert f'<!ATTLIST fcpxml version CDATA #FIXED "{v}">' in text
    assert len((DTD_DIR / "FCPXMLv1_11.dtd").read_text(encoding="utf-8")) == 41936


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("fps", ALL_RATES, ids=ALL_RATE_IDS)
def test_fcpxml_is_valid_and_exact(media, tmp_path, fps, version):
    fps = Fraction(fps)
    plan = make_plan(media, fps)
    out = export(plan, tmp_path / "e.fcpxml", fcpxml_version=version)
    doc = etree.parse(str(out))
    validator = dtd(version)
    assert validator.validate(doc), validator.error_log.filter_from_errors()
    root = doc.getroot()
    assert root.get("version") == version
    res = root.find("resources")
    formats = {f.get("id"): f for f in res.findall("format")}
    seq = root.find("library/event/project/sequence")
    sf = formats[seq.get("format")]
    assert t(sf.get("frameDuration")) == 1 / fps
    assert (sf.get("width"), sf.get("height")) == ("1280", "720")
    assert seq.get("tcFormat") == ("DF" if fps.denominator == 1001 and round(fps) % 30 == 0 else "NDF")
    # one format per distinct clip rate and size, none for the audio-only song
    assets = {a.get("id"): a for a in res.findall("asset")}
    video_assets = [a for a in assets.values() if a.get("hasVideo") == "1"]
    rates = {a.get("name"): t(formats[a.get("format")].get("frameDuration")) for a in video_assets}
    assert rates == {k: 1 / CLIP_RATES[k] for k in ("a", "b", "c")}
    assert len(formats) == 1 + len({(r, 160, 120) for r in rates.values()})
    song = [a for a in assets.values() if a.get("hasVideo") == "0"]
    assert len(song) == 1 and song[0].get("format") is None and song[0].get("hasAudio") == "1"
    for a in assets.values():  # where the file is depends on the version
        if version == "1.8":
            assert a.get("src", "").startswith("file://") and a.find("media-rep") is None
        else:
            assert a.get("src") is None and a.find("media-rep").get("src").startswith("file://")
    # the spine: one asset-clip per shot on its frames, every time a whole number of frames
    clips = seq.findall("spine/asset-clip")
    assert len(clips) == len(plan.shots)
    for c, s in zip(clips, plan.shots):
        assert (t(c.get("offset")), t(c.get("duration")), t(c.get("start"))) == \
            (s.record_in / fps, s.length / fps, s.source_in / fps)
        assert assets[c.get("ref")].get("name") == Path(s.source).stem
        (m,) = c.findall("marker")
        assert t(m.get("start")) == s.source_in / fps and m.get("value").startswith(f"shot {s.index}")
    # the song below the first shot, for the whole edit, with the beat grid on it
    (conn,) = clips[0].findall("asset-clip")
    assert conn.get("lane") == "-1" and t(conn.get("offset")) == t(clips[0].get("start"))
    assert t(conn.get("duration")) == plan.duration_frames / fps
    beats = sorted(round(t(m.get("start")) * fps) for m in conn.findall("marker")
                   if m.get("value") == "beat" or m.get("value").startswith("bar "))
    assert beats == sorted(set(plan.markers["beats"]))
    # and back: exact, with musync's markers recognised (no notes)
    tl = read_timeline(out, "fcpxml")
    assert [g[:3] for g in video_clips(tl, fps)] == [(s.record_in, s.record_out, s.source_in) for s in plan.shots]
    back = import_timeline(out, plan)
    assert back.shots == plan.shots and "notes" not in back.markers, back.warnings[-1]


def test_fcpxml_version_is_checked(media, tmp_path):
    plan = make_plan(media, 25)
    with pytest.raises(ExportError, match="1.8, 1.10, 1.11"):
        export(plan, tmp_path / "e.fcpxml", fcpxml_version="1.9")
    with pytest.raises(ParameterError, match="unknown export option"):
        export(plan, tmp_path / "e.fcpxml", fcpx_version="1.10")
    assert not list(tmp_path.iterdir())
    # an option of another format is ignored
    export(plan, tmp_path / "e.xml", fcpxml_version="1.10", edl_source_rate="record")


def test_cli_fcpxml_version(media, tmp_path):
    from musync.cli import main
    from musync.planfile import save_plan

    save_plan(make_plan(media, 30), tmp_path / "plan.json")
    assert main(["export", str(tmp_path / "plan.json"), "-o", str(tmp_path / "e.fcpxml"),
                 "--fcpxml-version", "1.11"]) == 0
    doc = etree.parse(str(tmp_path / "e.fcpxml"))
    assert doc.getroot().get("version") == "1.11" and dtd("1.11").validate(doc)
