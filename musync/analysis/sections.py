"""Sections: boundaries on downbeats, repeat labels, and roles (intro/verse/chorus/bridge/outro).

Public: :func:`find_sections`.

Each bar gets a vector of timbre (MFCC), harmony (chroma), loudness and busyness. A checkerboard
kernel slid along the bar-level self-similarity matrix gives a novelty curve; its peaks are the
boundaries (always on downbeats). Segments whose mean features are close share a letter (A, B,
A, ...). The first and last segments are an intro/outro when they are quieter than the song and
do not recur in its body; the loudest recurring label is the chorus, other recurring labels
verses, one-off segments in the body bridges.
"""

from __future__ import annotations

import numpy as np

from ..types import Section
from .downbeats import _segment_means
from .features import Features

__all__ = ["find_sections"]


def _bar_features(feat: Features, bar_times: np.ndarray, duration: float) -> np.ndarray:
    fr = np.round(feat.coarse_frame(np.append(bar_times, duration))).astype(np.int64)
    fr = np.clip(fr, 0, feat.chroma.shape[1])
    chroma = _segment_means(feat.chroma, fr)
    chroma = chroma / np.maximum(chroma.sum(axis=0, keepdims=True), 1e-9)
    mfcc = _segment_means(feat.mfcc[1:], fr)
    loud = _segment_means(np.maximum(feat.rms_db, -60.0)[None, :], fr)
    busy = _segment_means(feat.onset_coarse[None, :], fr)

    def z(a):
        a = a - a.mean(axis=1, keepdims=True)
        s = a.std(axis=1, keepdims=True)
        return a / np.where(s > 1e-9, s, 1.0)

    blocks = [(z(mfcc), 1.0), (z(chroma), 0.8), (z(loud), 1.5), (z(busy), 1.0)]
    X = np.concatenate([b * (w / np.sqrt(b.shape[0])) for b, w in blocks], axis=0)
    return X.T  # (bars, dims)


def _distances(X: np.ndarray) -> np.ndarray:
    """Euclidean distances between the rows of ``X`` without the (n, n, dims) difference array
    (an hour-long mix has about 2000 bars)."""
    sq = np.einsum("ij,ij->i", X, X)
    D = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2.0 * (X @ X.T), 0.0))
    np.fill_diagonal(D, 0.0)
    return D


def _novelty(X: np.ndarray, half: int) -> np.ndarray:
    n = X.shape[0]
    D = _distances(X)
    S = np.exp(-D / (np.median(D) + 1e-9))
    g = np.exp(-0.5 * (np.arange(-half, half) + 0.5) ** 2 / (0.5 * half) ** 2)
    sign = np.where(np.arange(-half, half) < 0, -1.0, 1.0)
    K = np.outer(g * sign, g * sign)
    Sp = np.pad(S, half, mode="reflect")
    nov = np.zeros(n)
    for i in range(1, n):
        blk = Sp[i:i + 2 * half, i:i + 2 * half]
        nov[i] = np.sum(K * blk)
    return np.maximum(nov, 0.0)


def _peaks(nov: np.ndarray, min_gap: int) -> list[int]:
    n = nov.size
    if n < 3 or nov.max() <= 0:
        return []
    thr = np.mean(nov) + 0.5 * np.std(nov)
    order = np.argsort(-nov, kind="stable")
    chosen: list[int] = []
    for i in order:
        if nov[i] < thr or i == 0:
            continue
        lo, hi = max(0, i - min_gap), min(n, i + min_gap + 1)
        if nov[i] < nov[lo:hi].max():
            continue
        if all(abs(i - c) >= min_gap for c in chosen):
            chosen.append(int(i))
    return sorted(chosen)


def _letters(k: int) -> str:
    s = ""
    k += 1
    while k:
        k, r = divmod(k - 1, 26)
        s = chr(65 + r) + s
    return s


def find_sections(feat: Features, downbeats: np.ndarray, duration: float, energy_times: np.ndarray,
                  energy: np.ndarray, *, kernel_bars: int = 4, min_bars: int = 2,
                  label_threshold: float = 0.25) -> tuple[tuple[Section, ...], float]:
    """Segment the song into sections.

    Parameters
    ----------
    feat : Features
    downbeats : ndarray (m,) seconds
    duration : seconds
    energy_times, energy : the energy curve (for section energy and roles)
    kernel_bars : half-width of the checkerboard kernel, in bars
    min_bars : shortest section, in bars
    label_threshold : segments closer than this fraction of the median distance between
        segments (kept within 0.3 to 0.8 standard deviations) share a label

    Returns
    -------
    sections : tuple of Section tiling ``[0, duration]``; boundaries are downbeats
    confidence : float in [0, 1] (mean boundary prominence)
    """
    def mean_energy(a, b):
        m = (energy_times >= a) & (energy_times < b)
        return float(energy[m].mean()) if m.any() else 0.0

    db = np.asarray(downbeats, dtype=np.float64)
    db = db[(db > 0.0) & (db < duration)]
    if db.size < 2 * min_bars + 1:
        return (Section(0.0, float(duration), "A", mean_energy(0, duration), "verse"),), 0.0
    # bar 0 absorbs any pickup before the first downbeat
    bar_starts = np.concatenate([[0.0], db[1:]])
    X = _bar_features(feat, bar_starts, duration)
    half = max(1, min(kernel_bars, X.shape[0] // 2))
    nov = _novelty(X, half)
    if half >= 2:
        nov = nov + 0.5 * _novelty(X, max(1, half // 2))
    peaks = _peaks(nov, min_bars)
    conf = 0.0
    if peaks:
        prominence = np.mean(nov[peaks]) / (np.mean(nov) + np.std(nov) + 1e-9)
        conf = float(np.clip(prominence - 0.5, 0.0, 1.0))
    idx = [0] + peaks + [X.shape[0]]
    segs = [(idx[k], idx[k + 1]) for k in range(len(idx) - 1)]
    # labels by clustering segment means
    means = np.stack([X[a:b].mean(axis=0) for a, b in segs])
    nseg = len(segs)
    D = _distances(means)
    off = D[np.triu_indices(nseg, 1)]
    scale = np.median(off) if off.size else 1.0
    thr = float(np.clip(label_threshold * scale, 0.3, 0.8))
    labels = [-1] * nseg
    nxt = 0
    for i in range(nseg):
        if labels[i] >= 0:
            continue
        labels[i] = nxt
        for j in range(i + 1, nseg):
            if labels[j] < 0 and D[i, j] < thr:
                # join if close to every member already in the cluster
                members = [k for k in range(nseg) if labels[k] == nxt]
                if all(D[k, j] < thr for k in members):
                    labels[j] = nxt
        nxt += 1
    starts = [float(bar_starts[a]) for a, _ in segs]
    ends = starts[1:] + [float(duration)]
    energies = [mean_energy(s, e) for s, e in zip(starts, ends)]
    med_e = float(np.median(energies))
    kinds = [""] * nseg
    if nseg >= 3:
        body = set(labels[1:-1])
        if labels[0] not in body and energies[0] <= med_e:
            kinds[0] = "intro"
        if labels[-1] not in body and energies[-1] <= med_e:
            kinds[-1] = "outro"
    body_idx = [i for i in range(nseg) if not kinds[i]]
    rep = [lab for lab in set(labels[i] for i in body_idx)
           if sum(1 for i in body_idx if labels[i] == lab) >= 2]
    if rep:
        lab_e = {lab: np.mean([energies[i] for i in body_idx if labels[i] == lab]) for lab in rep}
        chorus = max(rep, key=lambda lab: (lab_e[lab], -lab))
        for i in body_idx:
            kinds[i] = ("chorus" if labels[i] == chorus else
                        "verse" if labels[i] in rep else "bridge")
    else:
        for i in body_idx:
            kinds[i] = "chorus" if energies[i] > med_e else "verse"
    # letters in order of first appearance
    order: dict[int, str] = {}
    for lab in labels:
        if lab not in order:
            order[lab] = _letters(len(order))
    secs = tuple(Section(s, e, order[lab], en, k)
                 for s, e, lab, en, k in zip(starts, ends, labels, energies, kinds))
    return secs, conf
