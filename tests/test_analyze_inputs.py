"""analyze() takes a path, a file-like object or a signal (y, sr) and gives the same answer."""

from __future__ import annotations

import io

import numpy as np
import pytest

import musync
from musync.errors import MediaError, ParameterError
from musync.testing import make_song


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    s = make_song(bpm=100.0, form=[("verse", 2), ("chorus", 2)], tail=0.5)
    return s, s.write(tmp_path_factory.mktemp("song") / "song.wav")


def test_path_stream_and_signal_agree(song):
    s, path = song
    a = musync.analyze(path, use_cache=False)
    with open(path, "rb") as f:
        b = musync.analyze(f, use_cache=False)
        assert not f.closed
    c = musync.analyze(io.BytesIO(path.read_bytes()), use_cache=True)
    d = musync.analyze(s.y, s.sr)
    stereo = musync.analyze(np.stack([s.y, s.y], axis=1), s.sr)
    for other in (b, c):
        assert other.beats.tolist() == a.beats.tolist() and other.audio.sha256 == a.audio.sha256
    assert b.audio.path == str(path) and c.audio.path == "<stream>"
    # the signal skips the file decode but hears the same beats (within 2 ms)
    assert abs(d.tempo - a.tempo) < 0.5 and d.beats.size == a.beats.size
    assert np.max(np.abs(d.beats - a.beats)) < 0.002
    assert stereo.beats.tolist() == d.beats.tolist() and d.audio.path == "<signal>"
    pcm = musync.analyze((s.y * 32767).astype(np.int16), s.sr)
    assert abs(pcm.tempo - d.tempo) < 0.5


def test_bad_inputs(song):
    s, _ = song
    with pytest.raises(ParameterError, match="sample rate"):
        musync.analyze(s.y)
    with pytest.raises(ParameterError, match="only for a signal"):
        musync.analyze(io.BytesIO(b"RIFF"), 22050)
    with pytest.raises(MediaError, match="empty"):
        musync.analyze(io.BytesIO(b""))
    with pytest.raises(MediaError, match="<stream>"):
        musync.analyze(io.BytesIO(b"not audio at all" * 100), use_cache=False)
    with pytest.raises(ParameterError, match="binary"):
        musync.analyze(io.StringIO("text"))
