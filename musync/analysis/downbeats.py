"""Downbeats and metre.

Public: :func:`downbeat_salience`, :func:`estimate_downbeats`, :func:`music_start`,
:func:`choose_metre`, :func:`compound_bar`.

A downbeat is where the harmony tends to change, the bass and kick tend to hit, and the
loudness tends to rise. Each beat gets a salience from those cues; the metre (3 or 4) is the
period whose best phase separates salient from ordinary beats most clearly (:func:`choose_metre`;
where the beats are divided in three, 2 or 4 by the harmonic rhythm: :func:`compound_bar`), and a
Viterbi pass (numba) over bar positions follows the phase through the song, so a pickup
(anacrusis) or a dropped beat does not shift every later bar. Nothing assumes the first beat is a
downbeat; the beat on which the music starts only breaks a near-tie (:data:`START_PRIOR`).
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import uniform_filter1d

from .beats import max_near, robust_z
from .features import Features

__all__ = ["downbeat_salience", "estimate_downbeats", "music_start", "choose_metre", "compound_bar"]

#: Choose 3 beats a bar over 4 only when 3 separates the bars this much more clearly (most
#: popular music is in 4).
TRIPLE_RATIO = 1.25
#: A compound metre (beats divided in three: dotted quarters) has two beats a bar (6/8) or four
#: (12/8, also the shuffle and triplet swing of a "4/4"); the kick and snare alternate every beat
#: in both, so the harmonic rhythm decides (:func:`compound_bar`): two when the chords change on
#: the third beat of a four-beat bar at least :data:`HALF_BAR_CHANGE` as much (above the change at
#: the other beats) as on its first. Measured on synthetic songs: 0.34-0.35 for 6/8 with a chord
#: per bar; -0.12 to 0.07 for 12/8 and swing with a chord per bar of four.
HALF_BAR_CHANGE = 0.2
#: The chords tell only where they change at the bar line by at least this much (1 - cosine of
#: the chroma of consecutive beats above its mean at the other beats; 0.17-0.30 on synthetic
#: songs); where they do not, the bar stays at four beats (12/8), the common case.
HARMONY_CLEAR = 0.03
#: Shortest bar of two beats (s): a two-beat bar faster than this (beats above 120 BPM) is half a
#: bar of a fast swing or shuffle, not a 6/8 bar (bars of popular music last about 1-4 s: 4/4 at
#: 60-240 BPM).
MIN_DUPLE_BAR = 1.0

#: A piece usually begins on a downbeat: a song's first note, an intro's first chord, and the
#: first beat of most generated songs and of audio trimmed to a chart. Where the music starts
#: on a beat (:func:`music_start`), that beat gains this much downbeat evidence (salience
#: units), about one bar of clear evidence: it decides only where the song's own cues leave bar
#: 1 and bar 3 nearly tied (a dense rock mix whose harmony changes every two beats), never
#: against a clear pickup. Songs that start with a pickup of their own need clear cues to win.
START_PRIOR = 8.0
#: Music starts where the loudness first comes within this many dB of the loudest passage.
START_DB = 20.0


def _segment_means(feat2d: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Mean of columns between consecutive integer bounds -> (d, len(bounds) - 1)."""
    n = feat2d.shape[1]
    b = np.clip(bounds, 0, n).astype(np.int64)
    cs = np.concatenate([np.zeros((feat2d.shape[0], 1)), np.cumsum(feat2d, axis=1)], axis=1)
    width = np.maximum(b[1:] - b[:-1], 1)
    return (cs[:, b[1:]] - cs[:, b[:-1]]) / width


def _beat_chroma(feat: Features, beats: np.ndarray) -> np.ndarray:
    """The mean chroma of each beat span (the last as long as the median beat), unit length,
    ``(12, n)``."""
    fr = np.round(feat.coarse_frame(beats)).astype(np.int64)
    ncol = feat.chroma.shape[1]
    bounds = np.concatenate([fr, [min(ncol, fr[-1] + max(1, int(np.median(np.diff(fr)))))]])
    seg = _segment_means(feat.chroma, bounds)
    return seg / np.maximum(np.linalg.norm(seg, axis=0, keepdims=True), 1e-9)


def downbeat_salience(feat: Features, beats: np.ndarray) -> np.ndarray:
    """How much each beat sounds like the first beat of a bar (z-score units, ``(n,)``).

    Cues: harmonic change (chroma over the beat after vs the beat before), low-frequency onset
    (kick, bass), loudness and overall onset strength at the beat, each weighted by how clearly
    it recurs once per bar.
    """
    n = beats.size
    if n < 3:
        return np.zeros(n)
    fr = np.round(feat.coarse_frame(beats)).astype(np.int64)
    seg = _beat_chroma(feat, beats)
    # harmonic change entering beat i: two beats after vs two beats before
    after = seg + np.concatenate([seg[:, 1:], seg[:, -1:]], axis=1)
    before = np.concatenate([seg[:, :1], seg[:, :-1]], axis=1)
    before = before + np.concatenate([before[:, :1], before[:, :-1]], axis=1)
    after /= np.maximum(np.linalg.norm(after, axis=0, keepdims=True), 1e-9)
    before /= np.maximum(np.linalg.norm(before, axis=0, keepdims=True), 1e-9)
    harm = 1.0 - np.sum(after * before, axis=0)
    harm[0] = np.median(harm)
    # onsets at the beat (fine grid), low band and all bands
    ff = np.round(feat.fine_frame(beats)).astype(np.int64)
    r = max(1, int(round(0.015 * feat.fps_fine)))
    lo = max_near(feat.oenv_low, ff, r)
    on = max_near(feat.oenv, ff, r)
    # each cue counts in proportion to how clearly it repeats once a bar: a click track has
    # no harmony, a string quartet no kick
    # loudness just after the beat: accents are louder
    rd = feat.rms_db
    w = max(1, int(round(0.08 * feat.fps)))
    loud = np.array([rd[f:f + w].max() if f < rd.size else rd[-1] for f in np.clip(fr, 0, rd.size - 1)])
    cues = [(robust_z(harm), 1.0), (robust_z(lo), 0.7), (robust_z(loud), 0.7), (robust_z(on), 0.5)]
    d = np.zeros(n)
    for z, prior in cues:
        clear = max(_phase_contrast(z, m)[0] for m in (3, 4))
        d += prior * max(clear, 0.0) * z
    return d


def music_start(feat: Features, beats: np.ndarray, *, tol: float = 0.05) -> int | None:
    """Index of the beat on which the music starts, or None.

    The music starts at the first frame whose loudness comes within :data:`START_DB` of the
    loudest passage (0.1 s average): after a silent or quiet lead-in, or at the first sample.
    It starts on a beat only if one falls within ``tol`` seconds of that moment. An excerpt cut
    from the middle of a song begins on whatever was playing; its first beat lands anywhere in
    the first beat period, within ``tol`` of the start in about one case in five at 120 BPM, and
    then the prior is right one time in four -- which is why it only breaks near-ties.
    """
    rd = feat.rms_db
    if beats.size == 0 or rd.size == 0:
        return None
    w = max(1, int(round(0.1 * feat.fps)))
    level = uniform_filter1d(rd, w, mode="nearest")
    thr = float(level.max()) - START_DB
    first = int(np.flatnonzero(level >= thr)[0])
    # the first frame whose own level is up there (the rise, not the blurred average)
    lo = max(0, first - w)
    up = rd[lo:first + w + 1] >= thr
    k = lo + int(np.argmax(up)) if up.any() else first
    # a frame is centred on k * hop and hears the sound half a window before it begins: the
    # music starts at the strongest fine onset in the 0.1 s from there
    f0 = int(max(0.0, np.floor(feat.fine_frame(k * feat.hop / feat.sr - 0.02))))
    f1 = min(feat.oenv.size, f0 + max(1, int(round(0.1 * feat.fps_fine))))
    start = float(feat.fine_time(f0 + int(np.argmax(feat.oenv[f0:f1])))) if f1 > f0 else k * feat.hop / feat.sr
    i = int(np.argmin(np.abs(beats - start)))
    return i if abs(float(beats[i]) - start) <= tol else None


def _phase_contrast(d: np.ndarray, m: int) -> tuple[float, int]:
    best, arg = -np.inf, 0
    for p in range(m):
        mask = np.zeros(d.size, dtype=bool)
        mask[p::m] = True
        c = d[mask].mean() - d[~mask].mean()
        if c > best:
            best, arg = c, p
    return float(best), arg


def choose_metre(contrasts: dict[int, float]) -> int:
    """3 or 4 beats a bar from the bar contrast of each (:func:`_phase_contrast`): 3 where it
    beats 4 by :data:`TRIPLE_RATIO`, else 4. A single candidate is returned as it is."""
    if len(contrasts) == 1:
        return next(iter(contrasts))
    return 3 if contrasts[3] > TRIPLE_RATIO * contrasts[4] else 4


def _chord_change(feat: Features, beats: np.ndarray) -> np.ndarray:
    """1 - cosine similarity of the chroma of each beat span and the one before (0 for the
    first beat)."""
    seg = _beat_chroma(feat, beats)
    h = np.zeros(beats.size)
    h[1:] = 1.0 - np.sum(seg[:, 1:] * seg[:, :-1], axis=0)
    return h


def compound_bar(feat: Features, beats: np.ndarray, d: np.ndarray) -> tuple[int, float]:
    """2 (6/8) or 4 (12/8) beats a bar for beats divided in three, ``d`` their downbeat salience.

    The bars of four are phased where ``d`` separates them best; then the mean chord change
    (:func:`_chord_change`) at each of the four positions: two beats a bar when the change at the
    third reaches :data:`HALF_BAR_CHANGE` of the change at the first (both above the mean at the
    second and fourth), provided the chords change clearly at the first
    (:data:`HARMONY_CLEAR`). Four without chord changes, and where two-beat bars would be shorter
    than :data:`MIN_DUPLE_BAR`.

    Returns ``(beats_per_bar, confidence)``, the confidence in [0, 1] from how far the ratio is
    from its threshold (0 when too few beats, too fast or no chord changes to decide).
    """
    if beats.size < 16 or 2.0 * float(np.median(np.diff(beats))) < MIN_DUPLE_BAR:
        return 4, 0.0
    _, p = _phase_contrast(d, 4)
    h = _chord_change(feat, beats)
    idx = (np.arange(beats.size) - p) % 4
    f = np.array([h[1:][idx[1:] == k].mean() for k in range(4)])
    other = 0.5 * (f[1] + f[3])
    if f[0] - other < HARMONY_CLEAR:
        return 4, 0.0
    ratio = (f[2] - other) / (f[0] - other)
    conf = float(np.tanh(2.0 * abs(ratio - HALF_BAR_CHANGE) / max(abs(HALF_BAR_CHANGE), 1e-9)))
    return (2 if ratio >= HALF_BAR_CHANGE else 4), conf


def estimate_downbeats(feat: Features, beats: np.ndarray, *, beats_per_bar: int | None = None,
                       switch_penalty: float = 16.0, downbeat: float | None = None,
                       division: int = 2) -> tuple[np.ndarray, int, float, np.ndarray, float]:
    """Find downbeats among ``beats``.

    Parameters
    ----------
    feat : Features of the song
    beats : ndarray (n,) beat times in seconds
    beats_per_bar : force 2, 3 or 4; None estimates it
    switch_penalty : cost (salience units) of a bar-phase jump in the Viterbi pass: about two bars
        of clear evidence (a song rarely changes its bar phase; at 8 a breakdown whose accents move
        was enough to shift every later bar of a real track)
    downbeat : a time (s) the user knows is a downbeat: bars are counted from the beat nearest
        to it, with no phase jumps
    division : 2 or 3, how each beat is divided (:func:`.beats.beat_division`); with 3 a bar may
        also have two beats (6/8)

    Returns
    -------
    downbeats : ndarray (m,) times (a subset of ``beats``)
    beats_per_bar : int
    confidence : float in [0, 1]
    position : ndarray (n,) bar position of every beat (0 = downbeat)
    metre_confidence : float in [0, 1], how clearly the chosen metre beats the other (1 if forced)
    """
    n = beats.size
    if n < 4:
        m = beats_per_bar or 4
        pos = np.arange(n) % m
        return beats[pos == 0], m, 0.0, pos, 0.0
    d = downbeat_salience(feat, beats)
    cands = (beats_per_bar,) if beats_per_bar else (3, 4)
    contrasts = {m: _phase_contrast(d, m)[0] for m in cands}
    m = choose_metre(contrasts)
    compound_conf = None
    if division == 3 and m == 4 and not beats_per_bar:
        m, compound_conf = compound_bar(feat, beats, d)
    loglik = np.zeros((n, m))
    loglik[:, 0] = d
    loglik[:, 1:] = -d[:, None] / (m - 1)
    i_start = music_start(feat, beats)
    if i_start is not None:
        loglik[i_start, 0] += START_PRIOR
    if downbeat is not None:
        i0 = int(np.argmin(np.abs(beats - float(downbeat))))
        pos = (np.arange(n) - i0) % m
    else:
        from ._kernels import _bar_viterbi  # compiled on first use, not on `import musync`

        pos = _bar_viterbi(np.ascontiguousarray(loglik), -float(switch_penalty))
    down = beats[pos == 0]
    # a 6/8 bar was chosen as half of a bar of four: the contrasts judge that bar against 3
    key = 4 if m == 2 and not beats_per_bar else m
    c = contrasts[key]
    others = [v for k, v in contrasts.items() if k != key]
    margin = c - max(others) if others else c
    conf = float(np.clip(0.5 * np.tanh(c / 2.0) + 0.5 * np.tanh(max(margin, 0.0)), 0.0, 1.0))
    metre_conf = 1.0 if not others else float(np.clip(np.tanh(max(margin, 0.0) / max(abs(c), 1e-9) * 2.0), 0.0, 1.0))
    if compound_conf is not None:  # 3 against 4 as above, then 2 against 4 by the harmonic rhythm
        metre_conf = min(metre_conf, compound_conf)
    return down, m, conf, pos, metre_conf
