"""What the scan sees in a clip's picture, composed: flags, picture area, fingerprints, quality,
hero ranges and the region of interest (the parts live in :mod:`~musync.clips.content`,
:mod:`~musync.clips.fingerprint` and :mod:`~musync.clips.quality`).

Public: :func:`see` -- frame signals in, a :class:`Seen` out (plain data for
:class:`~musync.types.ClipInfo`); :func:`rotate_box` -- a box of the stored frame as a box of the
displayed frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import content, fingerprint, quality

__all__ = ["Seen", "see", "rotate_box", "ROI_STEP"]

#: Seconds between two boxes of the region-of-interest track.
ROI_STEP = 0.5


@dataclass
class Seen:
    """What :func:`see` finds (times in seconds from the first frame; boxes in display pixels or
    fractions of the display frame)."""

    flags: list = field(default_factory=list)          # (start, end, kind, reason, score)
    picture: tuple = ()                                  # x, y, w, h display pixels
    quality: object = None                               # Quality
    sub_quality: list = field(default_factory=list)      # (quality, interest) per sub-shot
    heroes: list = field(default_factory=list)           # (start, end, score, reason)
    roi_times: np.ndarray = field(default_factory=lambda: np.zeros(0))
    roi: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    prints: tuple = ((), (), ())                         # frames, times, thumbs (hex)
    fingerprint: tuple = ((), (), (), ())                # times, grey, windows, colour (hex)


def rotate_box(box, rotation: int):
    """``(x, y, w, h)`` fractions of the stored frame -> fractions of the frame a player shows
    after turning it ``rotation`` degrees clockwise."""
    x, y, w, h = box
    r = int(rotation) % 360
    if r == 90:
        return 1.0 - y - h, x, h, w
    if r == 180:
        return 1.0 - x - w, 1.0 - y - h, w, h
    if r == 270:
        return y, 1.0 - x - w, h, w
    return x, y, w, h


def _snap(flags, cuts, within: float = 0.25):
    """Move flag boundaries onto the internal cuts within ``within`` seconds (the detail frames
    see a card start or end at their own rate; the cut says when it really does)."""
    if not cuts:
        return flags
    c = np.asarray(cuts, dtype=np.float64)
    out = []
    for a, b, *rest in flags:
        if rest[0] != "letterbox":
            ia, ib = np.argmin(np.abs(c - a)), np.argmin(np.abs(c - b))
            a = float(c[ia]) if abs(c[ia] - a) <= within else a
            b = float(c[ib]) if abs(c[ib] - b) <= within else b
        if b > a:
            out.append((a, b, *rest))
    return out


def _hex64(v) -> str:
    return f"{int(v):016x}"


def _colour_hex(c: np.ndarray) -> str:
    q = np.clip(np.round(np.asarray(c, dtype=np.float64).reshape(-1) * 254.0), -127, 127)
    return q.astype(np.int8).tobytes().hex()


def see(sig, probes: np.ndarray, print_frames, *, motion: np.ndarray, rate: float,
        usable: tuple[float, float], subshots, display_size: tuple[int, int],
        rotation: int = 0, still: bool = False) -> Seen:
    """Read the picture of one clip.

    Parameters
    ----------
    sig : FrameSignals with ``detail`` (times from the first frame)
    probes : (q, 5) plane probes (:func:`musync.clips.quality.plane_probe`) with the probed
        frame's time (seconds from the first frame) as a fifth column
    print_frames : (p,) decoded-frame indices of the print frames
    motion : (n,) motion curve of the analysis frames
    rate : analysis frames per second
    usable : (usable_in, usable_out) seconds
    subshots : list of (start, end, ...) sub-shots of the usable window
    display_size : (w, h) after rotation and pixel aspect ratio
    rotation : degrees clockwise
    still : a still image (one frame that lasts forever: flags cover ``[0, inf)``)
    """
    det = sig.detail
    out = Seen()
    if det is None or len(sig) == 0:
        return out
    dw, dh = display_size
    aspect = (dh / dw if rotation in (90, 270) else dw / dh) if dw and dh else None
    sat = sig.saturation[det.idx]
    area, fc = content.settle(det, sat, display_aspect=aspect)
    flags = content.content_flags(sig, det, area, min_duration=0.0 if still else 0.3, fc=fc)
    flags = _snap(flags, [float(ss[0]) for ss in subshots[1:]])
    if still:
        flags = [(0.0, float("inf"), *f[2:]) for f in flags]
    out.flags = flags
    fx, fy, fw, fh = rotate_box(area.fraction(), rotation)
    out.picture = (int(round(fx * dw)), int(round(fy * dh)), int(round(fw * dw)),
                   int(round(fh * dh)))
    t = sig.times
    dtimes = t[det.idx] if det.idx.size else np.zeros(0)
    ptimes = t[det.print_idx] if det.print_idx.size else np.zeros(0)
    probes = np.asarray(probes, dtype=np.float64).reshape(-1, 5)
    qtimes, probes = probes[:, 4], probes[:, :4]
    vel = quality.shift_velocity(det, area)
    u0, u1 = usable

    def span_q(a: float, b: float):
        sel = np.flatnonzero((dtimes >= a) & (dtimes < b))
        psel = np.flatnonzero((qtimes >= a) & (qtimes < b))
        if psel.size == 0 and qtimes.size:
            psel = np.array([int(np.argmin(np.abs(qtimes - 0.5 * (a + b))))])
        return quality.quality_of(sig, det, fc, probes, sel, psel, rate=rate, velocity=vel), sel

    out.quality, _ = span_q(u0, u1 if np.isfinite(u1) else float(sig.end))
    interest = quality.interest_curve(sig, det, fc)
    dmotion = np.zeros(dtimes.size)
    qcurve = np.full(dtimes.size, out.quality.score)
    spans = []
    for ss in subshots:
        a, b = float(ss[0]), min(float(ss[1]), float(sig.end))
        q, sel = span_q(a, b)
        out.sub_quality.append((q.score, float(interest[sel].mean()) if sel.size else None))
        qcurve[sel] = q.score
        spans.append((a, b))
    if len(motion) == len(sig) and det.idx.size:
        dmotion = np.asarray(motion, dtype=np.float64)[det.idx]
    excluded = [(f[0], f[1]) for f in flags if f[2] in content.EXCLUDING]
    if not still:
        out.heroes = quality.hero_ranges(dtimes, interest, dmotion, qcurve, spans,
                                         excluded=excluded)
    rt, boxes = quality.roi_track(det, area, step=ROI_STEP, times=dtimes)
    out.roi_times = rt
    out.roi = np.array([rotate_box(b, rotation) for b in boxes]).reshape(-1, 4)
    # per-second prints
    thumbs = tuple(bytes(th.reshape(-1)).hex() for th in det.thumbs)
    out.prints = (tuple(int(v) for v in print_frames), tuple(float(v) for v in ptimes), thumbs)
    # perceptual hashes, in display orientation
    samples = det.samples
    k = (rotation // 90) % 4
    if k:
        samples = np.rot90(samples, -k, axes=(1, 2))
    sarea = area
    if k % 2:
        # the picture area turned with the frame
        x0, y0, w0, h0 = rotate_box(area.fraction(), rotation)
        H, W = samples.shape[1] * 2, samples.shape[2] * 2
        sarea = content.PictureArea(int(round(y0 * H)), int(round((y0 + h0) * H)),
                                    int(round(x0 * W)), int(round((x0 + w0) * W)), H, W)
    elif k == 2:
        x0, y0, w0, h0 = rotate_box(area.fraction(), rotation)
        sarea = content.PictureArea(int(round(y0 * area.height)),
                                    int(round((y0 + h0) * area.height)),
                                    int(round(x0 * area.width)),
                                    int(round((x0 + w0) * area.width)), area.height, area.width)
    aspect = (fw * dw) / max(1e-6, fh * dh)
    keep, grey, wins = fingerprint.sample_hashes(np.asarray(samples, dtype=np.float32), sarea,
                                                 aspect=aspect)
    stimes = t[det.sample_idx] if det.sample_idx.size else np.zeros(0)
    colour = det.sample_colour
    if k:
        colour = np.rot90(colour, -k, axes=(1, 2))
    out.fingerprint = (tuple(float(v) for v in stimes[keep]),
                       tuple(_hex64(v) for v in grey[keep]),
                       tuple("".join(_hex64(v) for v in row) for row in wins[keep]),
                       tuple(_colour_hex(c) for c in colour[keep]))
    return out
