"""Fingerprints of what a clip shows: per-second frame thumbnails and perceptual hashes.

Two fingerprints are kept in every clip record:

- **Frame prints** (:class:`~musync.types.FramePrints`): for the first analysed frame at or after
  each whole second, its exact index among the decoded frames, its time and its 8x8 luma
  thumbnail (:func:`~musync.clips.features.frame_thumbnail`). A renderer that seeks can
  recompute the thumbnail of the frame it decoded and compare with :func:`thumb_distance`
  (:func:`frames_match`): a decoder that returns the wrong picture after a seek (solid green,
  grey, another frame) is caught.
- **Perceptual hashes** (:class:`~musync.types.Fingerprint`), about four per second: a 64-bit
  DCT hash of the grey picture (inside letterbox bars), the same hash of five centred crop
  windows (80 %, 64 %, 51 % of each side, a 9:16 and a 1:1 window) and a colour signature.
  :func:`find_duplicates` groups clips that show the same shot: re-encodes, greyscale copies,
  crops and excerpts.

Public: :func:`thumb_distance`, :func:`frames_match`, :func:`phash`, :func:`sample_hashes`,
:func:`hamming`, :func:`find_duplicates`, :data:`WINDOWS`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["thumb_distance", "frames_match", "phash", "sample_hashes", "hamming",
           "find_duplicates", "WINDOWS", "MATCH_BITS", "THUMB_MATCH"]

#: Crop windows hashed besides the whole picture: (name, width share, height share).
WINDOWS = (("80%", 0.8, 0.8), ("64%", 0.64, 0.64), ("51%", 0.512, 0.512),
           ("9:16", None, 1.0), ("1:1", None, 1.0))
#: Two hashes show the same picture at or below this many differing bits (of 63).
MATCH_BITS = 10
#: Two thumbnails show the same picture at or below this mean difference (0-1 scale).
THUMB_MATCH = 0.04


def thumb_distance(a, b) -> float:
    """Mean absolute difference of two 8x8 luma thumbnails, on a 0-1 scale.

    The same picture decoded twice (or scaled differently) gives about 0.01 or less; a
    neighbouring frame of a moving shot up to about 0.03; another picture 0.05 and up.
    """
    x = np.asarray(a, dtype=np.float64).reshape(-1)
    y = np.asarray(b, dtype=np.float64).reshape(-1)
    if x.size != 64 or y.size != 64:
        raise ValueError("thumbnails are 8x8 (64 values)")
    return float(np.abs(x - y).mean() / 255.0)


def frames_match(a, b, *, tolerance: float = THUMB_MATCH) -> bool:
    """True when two thumbnails show the same picture (see :func:`thumb_distance`)."""
    return thumb_distance(a, b) <= tolerance


def _area_matrix(n: int, out: int) -> np.ndarray:
    """(out, n) matrix that area-averages a length-``n`` axis to ``out`` values."""
    edges = np.linspace(0.0, n, out + 1)
    idx = np.arange(n)
    lo = np.maximum(idx[None, :], edges[:-1, None])
    hi = np.minimum(idx[None, :] + 1, edges[1:, None])
    w = np.clip(hi - lo, 0.0, None)
    return w / w.sum(axis=1, keepdims=True)


_DCT8 = None


def _dct8() -> np.ndarray:
    """(8, 32) rows of the orthonormal DCT-II basis: the 8 lowest frequencies of 32 samples."""
    global _DCT8
    if _DCT8 is None:
        k = np.arange(8)[:, None]
        x = np.arange(32)[None, :]
        d = np.cos(np.pi * (2 * x + 1) * k / 64.0) * np.sqrt(2.0 / 32)
        d[0] /= np.sqrt(2.0)
        _DCT8 = d
    return _DCT8


def _bits(coeffs: np.ndarray) -> np.ndarray:
    """63-bit hashes from (..., 8, 8) low DCT coefficients (the mean left out)."""
    c = coeffs.reshape(coeffs.shape[:-2] + (64,))[..., 1:]
    bits = c > np.median(c, axis=-1, keepdims=True)
    return (bits.astype(np.uint64) << np.arange(63, dtype=np.uint64)).sum(axis=-1,
                                                                          dtype=np.uint64)


def phash(luma: np.ndarray) -> int:
    """64-bit perceptual hash of a grey picture (any size, values in any range).

    The picture is area-averaged to 32x32; of its 2-D DCT-II the 8x8 lowest frequencies
    without the mean give 63 bits: 1 where the coefficient is above their median. Bit 63 is 0.
    """
    g = np.asarray(luma, dtype=np.float64)
    ry, rx = _area_matrix(g.shape[0], 32), _area_matrix(g.shape[1], 32)
    d = _dct8()
    return int(_bits(d @ (ry @ g @ rx.T) @ d.T))


def _phash_batch(frames: np.ndarray) -> np.ndarray:
    """:func:`phash` of every frame of ``(s, h, w)``, as uint64 (s,)."""
    ry, rx = _area_matrix(frames.shape[1], 32), _area_matrix(frames.shape[2], 32)
    d = _dct8()
    my, mx = d @ ry, d @ rx                            # (8, h), (8, w)
    coeffs = my[None] @ (np.asarray(frames, dtype=np.float64) @ mx.T)     # (s, 8, 8)
    return _bits(coeffs)


def hamming(a, b) -> np.ndarray:
    """Bits that differ between uint64 hashes (broadcasting)."""
    x = np.bitwise_xor(np.asarray(a, dtype=np.uint64), np.asarray(b, dtype=np.uint64))
    return np.bitwise_count(x).astype(np.int64)


def _window(h: int, w: int, spec, aspect: float) -> tuple[int, int, int, int]:
    """Centred crop ``(y0, y1, x0, x1)`` of an ``h x w`` picture whose display aspect is ``aspect``."""
    name, fw, fh = spec
    if fw is None:                                  # an aspect window, full height if it fits
        target = 9 / 16 if name == "9:16" else 1.0
        ww = min(1.0, target / aspect)
        hh = min(1.0, aspect / target) if ww >= 1.0 else 1.0
        fw, fh = ww, hh
    cw, ch = max(2, int(round(w * fw))), max(2, int(round(h * fh)))
    y0, x0 = (h - ch) // 2, (w - cw) // 2
    return y0, y0 + ch, x0, x0 + cw


def sample_hashes(samples: np.ndarray, area, *, aspect: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hashes of the fingerprint samples.

    Parameters
    ----------
    samples : (s, h, w) pooled luma frames
    area : PictureArea in detail-frame pixels (twice the pooled size), or None for the whole frame
    aspect : display width / height of the picture area

    Returns
    -------
    keep : bool (s,)        samples with enough picture to hash (not flat)
    grey : uint64 (s,)      hash of the picture area
    windows : uint64 (s, len(WINDOWS))
    """
    s = samples.shape[0]
    grey = np.zeros(s, dtype=np.uint64)
    wins = np.zeros((s, len(WINDOWS)), dtype=np.uint64)
    keep = np.zeros(s, dtype=bool)
    if s == 0:
        return keep, grey, wins
    if area is not None:
        y0, y1 = area.y0 // 2, max(area.y0 // 2 + 2, area.y1 // 2)
        x0, x1 = area.x0 // 2, max(area.x0 // 2 + 2, area.x1 // 2)
    else:
        y0, y1, x0, x1 = 0, samples.shape[1], 0, samples.shape[2]
    pic = samples[:, y0:y1, x0:x1].astype(np.float64)
    if pic.shape[1] * pic.shape[2] < 16:
        return keep, grey, wins
    keep = pic.reshape(s, -1).std(axis=1) >= 0.02
    if not keep.any():
        return keep, grey, wins
    pic = pic[keep]
    grey[keep] = _phash_batch(pic)
    h, w = pic.shape[1:]
    for k, spec in enumerate(WINDOWS):
        a, b, c, d = _window(h, w, spec, aspect)
        wins[keep, k] = _phash_batch(pic[:, a:b, c:d])
    return keep, grey, wins


def _relation(a, b, used_window: str | None, grey: str | None) -> str:
    parts = []
    if used_window:
        parts.append("a reframed crop" if used_window == "reframed" else f"a crop ({used_window})")
    if grey:
        parts.append("a greyscale copy")
    da, db = a.duration, b.duration
    if min(da, db) < 0.8 * max(da, db):
        parts.append("an excerpt")
    if not parts:
        parts.append("a re-encode or copy")
    return " and ".join(parts)


class _Prints:
    """The samples of a fingerprint outside a clip's excluding flags (two title cards or two test
    patterns look alike to a hash without being the same shot; neither goes into an edit)."""

    def __init__(self, clip):
        fp = clip.fingerprint
        t = np.asarray(fp.times, dtype=np.float64)
        keep = np.ones(t.size, dtype=bool)
        for f in clip.flags:
            if f.excludes:
                keep &= ~((t >= f.start) & (t < f.end))
        self.times = t[keep]
        self._g = fp.grey_array()[keep] if t.size else np.zeros(0, np.uint64)
        self._w = fp.window_array()[keep] if t.size else np.zeros((0, len(WINDOWS)), np.uint64)
        self._c = fp.colour_array()[keep] if t.size else np.zeros((0, 8))

    def grey_array(self):
        return self._g

    def window_array(self):
        return self._w

    def colour_array(self):
        return self._c


def _pair(fa, fb):
    """Compare two fingerprints. Returns None or (share matched, offset, window used, which
    side is the crop, matched indices in a, in b)."""
    if len(fa.times) == 0 or len(fb.times) == 0:
        return None
    ga, gb = fa.grey_array(), fb.grey_array()
    wa, wb = fa.window_array(), fb.window_array()
    # a's whole picture against b's whole picture and b's windows, and the other way round
    cand = [(hamming(ga[:, None], gb[None, :]), None, "ab")]
    for k, spec in enumerate(WINDOWS):
        cand.append((hamming(ga[:, None], wb[None, :, k]), spec[0], "b"))   # a is a crop of b
        cand.append((hamming(wa[:, None, k], gb[None, :]), spec[0], "a"))   # b is a crop of a
    best = None
    na, nb = ga.size, gb.size
    for dist, win, who in cand:
        ok = dist <= MATCH_BITS
        # the shorter clip's samples must find partners, at one consistent time offset
        if na <= nb:
            hit = ok.any(axis=1)
            j = np.where(hit, np.argmin(np.where(ok, dist, 99), axis=1), -1)
            offs = np.array([fb.times[j[i]] - fa.times[i] for i in range(na) if hit[i]])
            n_short = na
        else:
            hit = ok.any(axis=0)
            j = np.where(hit, np.argmin(np.where(ok, dist, 99), axis=0), -1)
            offs = np.array([fb.times[i] - fa.times[j[i]] for i in range(nb) if hit[i]])
            n_short = nb
        if offs.size == 0:
            continue
        med = float(np.median(offs))
        good = np.abs(offs - med) <= 0.6
        consistent = int(good.sum())
        share = consistent / n_short
        if consistent >= min(2, n_short) and share >= 0.5 and (best is None or share > best[0]):
            # the matched sample pairs (index in a, index in b)
            if na <= nb:
                ia = np.flatnonzero(hit)[good]
                ib = j[ia]
            else:
                ib = np.flatnonzero(hit)[good]
                ia = j[ib]
            best = (share, med, win, who, ia, ib)
    return best


def _colours_agree(fa, fb, ia, ib) -> bool:
    """The matched samples agree in colour (most pairs), or one side of a pair is grey."""
    ca, cb = fa.colour_array()[ia], fb.colour_array()[ib]
    grey = (np.abs(ca).max(axis=1) < 0.03) | (np.abs(cb).max(axis=1) < 0.03)
    close = np.abs(ca - cb).mean(axis=1) <= 0.08
    return bool(np.mean(grey | close) >= 0.6)


def _motion_match(a, b) -> float | None:
    """Time offset at which two clips' motion curves agree (a crop or reframe the hashes miss),
    or None: normalised cross-correlation >= 0.9 on a 10 Hz grid over >= 4 s of overlap, both
    curves moving (standard deviation >= 0.03)."""
    def grid(c):
        t, v = np.asarray(c.motion_times), np.asarray(c.motion_curve)
        if t.size < 20:
            return None
        g = np.arange(c.usable_in, c.usable_out, 0.1)
        return np.interp(g, t, v) if g.size >= 40 else None

    ga, gb = grid(a), grid(b)
    if ga is None or gb is None or ga.std() < 0.03 or gb.std() < 0.03:
        return None
    if ga.size > gb.size:
        res = _motion_match(b, a)
        return None if res is None else -res
    win = np.lib.stride_tricks.sliding_window_view(gb, ga.size)      # (lags, L)
    za = (ga - ga.mean()) / ga.std()
    mu = win.mean(axis=1, keepdims=True)
    sd = win.std(axis=1)
    r = ((win - mu) @ za) / (ga.size * np.maximum(sd, 1e-9))
    r[sd < 0.03] = -1.0
    arg = int(np.argmax(r))
    if r[arg] >= 0.9:
        return float(b.usable_in + 0.1 * arg - a.usable_in)
    return None


def find_duplicates(clips) -> list:
    """Group clips that show the same shot (re-encodes, greyscale copies, crops, excerpts).

    Two clips are linked when at least half of the shorter one's fingerprint samples (and at
    least two) have a partner in the other within :data:`MATCH_BITS` bits -- whole picture
    against whole picture or against one of its centred crop windows -- at one consistent time
    offset (within 0.6 s), and the matched samples agree in colour unless one of them is grey;
    failing that, when their motion curves agree over at least 4 s (a crop the windows do not
    cover). Samples inside a clip's excluding content flags (text, test patterns, black, flat)
    are not compared. Groups are the connected clips.

    Parameters
    ----------
    clips : list of ClipInfo

    Returns
    -------
    list of :class:`~musync.types.DuplicateGroup`, largest first; clips without a partner are in
    no group.
    """
    from ..types import DuplicateGroup, DuplicateMember

    n = len(clips)
    parent = list(range(n))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    links: dict[tuple[int, int], tuple] = {}
    prints = [_Prints(c) if c.fingerprint is not None else None for c in clips]
    for i in range(n):
        fa = prints[i]
        if fa is None or len(fa.times) == 0:
            continue
        for j in range(i + 1, n):
            fb = prints[j]
            if fb is None or len(fb.times) == 0:
                continue
            res = _pair(fa, fb)
            if res is not None:
                share, off, win, who, ia, ib = res
                if not _colours_agree(fa, fb, ia, ib):
                    continue
                links[(i, j)] = (share, off, win, who)
                parent[find(i)] = find(j)
                continue
            off = _motion_match(clips[i], clips[j])
            if off is not None:
                links[(i, j)] = (0.5, off, "reframed", "a" if clips[i].duration <= clips[j].duration
                                 else "b")
                parent[find(i)] = find(j)
    comps: dict[int, list[int]] = {}
    for i in range(n):
        comps.setdefault(find(i), []).append(i)
    groups = []
    for members in comps.values():
        if len(members) < 2:
            continue
        # the reference is the longest member; the others are described against it
        ref = max(members, key=lambda k: (clips[k].duration, -k))
        out = []
        for k in sorted(members, key=lambda k: clips[k].path):
            if k == ref:
                out.append(DuplicateMember(clips[k].path, "the longest copy", 1.0))
                continue
            key = (min(k, ref), max(k, ref))
            info = links.get(key)
            if info is None:                             # linked through another member
                out.append(DuplicateMember(clips[k].path, "the same shot (through another copy)",
                                           0.5))
                continue
            share, off, win, who = info
            crop = win if ((who == "b" and k < ref) or (who == "a" and k > ref)) else None
            grey = "grey" if float(np.abs(np.median(clips[k].fingerprint.colour_array(),
                                                    axis=0)).max()) < 0.03 and float(
                np.abs(np.median(clips[ref].fingerprint.colour_array(), axis=0)).max()) >= 0.03 \
                else None
            rel = _relation(clips[k], clips[ref], crop, grey)
            boxed_k = any(f.kind == "letterbox" for f in clips[k].flags)
            boxed_r = any(f.kind == "letterbox" for f in clips[ref].flags)
            if boxed_k != boxed_r:
                rel = ("a letterboxed copy" if boxed_k else "an unboxed copy") + (
                    "" if rel == "a re-encode or copy" else f", {rel}")
            out.append(DuplicateMember(clips[k].path, rel, round(share, 3)))
        groups.append(DuplicateGroup(tuple(out)))
    groups.sort(key=lambda g: (-len(g.members), g.members[0].path))
    return groups
