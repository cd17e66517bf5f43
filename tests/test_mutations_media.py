"""Small bugs the other tests would let through: the analysis cache key, the energy curve's
smoothing, and outputs that are empty or short but would be renamed into place as success.

Oracles from outside the code under test: a Gaussian's rise time (10 % to 90 % of a smoothed
step is 2 x 1.2816 sigma), the container's own frame count read by PyAV, the file system.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

import musync
from musync.cli import main
from musync.errors import ExportError, RenderError


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    """A 6 s song, three real clips and a plan of them (the clips are scanned for real)."""
    from musync.testing import make_clip_files, make_song

    root = tmp_path_factory.mktemp("media")
    song = make_song(bpm=120, form=[("verse", 2), ("chorus", 1)], seed=2).write(root / "song.wav")
    make_clip_files(root / "clips", 3, seconds=3.0, size=(160, 90), seed=2)
    p = musync.plan(musync.analyze(song, use_cache=False),
                    musync.scan_clips([root / "clips"], progress="none", use_cache=False),
                    size=(160, 90))
    return {"root": root, "song": Path(song), "plan": p,
            "plan_path": musync.save_plan(p, root / "plan.json")}


# -- the analysis cache ------------------------------------------------------------------------

def test_the_analysis_cache_keeps_forced_metres_apart(tmp_path):
    from musync.testing import make_song

    p = make_song(bpm=120, form=[("verse", 4)], seed=5).write(tmp_path / "s.wav")
    a = musync.analyze(p)                        # cached with the metre estimated
    assert a.beats_per_bar == 4
    b = musync.analyze(p, beats_per_bar=3)       # a forced metre is another entry
    assert b.beats_per_bar == 3
    assert musync.analyze(p, beats_per_bar=3) == b
    assert musync.analyze(p) == a


def test_the_analysis_cache_key_holds_every_option():
    from musync.analysis import _cache_opts
    from musync.cache import make_key

    base = {"tempo": None, "tempo_octave": None, "downbeat": None}
    keys = {make_key("analysis", "sha", _cache_opts(bpb, {**base, **over}))
            for bpb, over in [(None, {}), (3, {}), (4, {}), (None, {"tempo": 90.0}),
                              (None, {"tempo_octave": "x2"}), (None, {"tempo_octave": "half"}),
                              (None, {"downbeat": 1.5})]}
    assert len(keys) == 7


# -- the energy curve --------------------------------------------------------------------------

def _step_features(seconds: float, step_at: float):
    from musync.analysis.features import Features

    sr, hop = 22050, 512
    n = int(seconds * sr / hop)
    t = np.arange(n) * hop / sr
    rms = np.where(t < step_at, -40.0, -10.0)
    z = np.zeros(n)
    return Features(sr=sr, hop_fine=64, n_fft_fine=1024, oenv=z, oenv_low=z, oenv_body=z, hop=hop,
                    chroma=np.zeros((12, n)), mfcc=np.zeros((13, n)), rms_db=rms,
                    centroid=np.full(n, 1000.0), onset_coarse=z)


def _rise_time(times, e) -> float:
    return float(times[np.argmax(e >= 0.9)] - times[np.argmax(e >= 0.1)])


@pytest.mark.parametrize("smooth", [1.0, 2.0])
def test_energy_is_smoothed_over_about_a_second(smooth):
    """A loudness step comes out as a Gaussian edge whose width is the documented smoothing
    (sigma ``smooth`` s) on top of the loudness's own quarter second."""
    from musync.analysis.energy import energy_curve

    times, e = energy_curve(_step_features(60.0, 30.0), 60.0, smooth=smooth)
    sigma = np.hypot(smooth, 0.25)
    assert _rise_time(times, e) == pytest.approx(2 * 1.2816 * sigma, abs=0.25)
    assert np.abs(np.diff(e)).max() < 0.1 / (sigma * np.sqrt(2 * np.pi)) * 1.2


# -- outputs that would be empty or short ------------------------------------------------------

def test_an_export_that_writes_nothing_fails_and_keeps_the_old_file(media, tmp_path, monkeypatch):
    from musync.export.registry import FORMATS

    out = tmp_path / "edit.otio"
    out.write_text("old")
    monkeypatch.setitem(FORMATS, "otio", dataclasses.replace(FORMATS["otio"],
                                                             write=lambda tl, path, plan, **kw: None))
    with pytest.raises(ExportError, match="nothing was written"):
        musync.export(media["plan"], out, overwrite=True)
    assert out.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["edit.otio"]


def test_a_render_whose_encoder_writes_nothing_fails(media, tmp_path, monkeypatch, capsys):
    from musync.render import encoder

    real = encoder.Encoder.__init__

    def nowhere(self, out_path, *a, **kw):          # ffmpeg writes somewhere else: tmp stays empty
        real(self, Path(str(out_path) + ".elsewhere.mp4"), *a, **kw)

    monkeypatch.setattr(encoder.Encoder, "__init__", nowhere)
    out = tmp_path / "d.mp4"
    code = main(["render", str(media["plan_path"]), "-o", str(out), "--progress", "none", "--no-proxies"])
    err = capsys.readouterr().err
    assert code == RenderError.exit_code and "nothing was written" in err, err
    assert not out.exists()


def test_a_render_with_frames_lost_on_the_way_fails(media, tmp_path, monkeypatch):
    from musync.render import encoder

    real = encoder.Encoder.write

    def lossy(self, planes):
        if self.frames % 7 == 3:                     # counted but never sent to ffmpeg
            self.frames += 1
            return
        real(self, planes)

    monkeypatch.setattr(encoder.Encoder, "write", lossy)
    out = tmp_path / "d.mp4"
    with pytest.raises(RenderError, match="expected"):
        musync.render(media["plan_path"], out, proxies=False, progress="none")
    assert list(tmp_path.iterdir()) == []


def test_a_good_render_passes_the_frame_count_check(media, tmp_path):
    import av

    res = musync.render(media["plan_path"], tmp_path / "d.mkv", proxies=False, progress="none")
    with av.open(str(res.path)) as c:
        n = sum(1 for _ in c.decode(video=0))
    assert n == media["plan"].duration_frames == res.frames
