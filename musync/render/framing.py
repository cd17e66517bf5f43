"""How a decoded picture becomes an output frame: scale, turn upright, crop or letterbox.

All work is on limited-range YUV 4:2:0 planes (numpy views where possible), so a frame goes from
the decoder to the encoder without an RGB round trip.

Public names:

- :class:`Geometry` / :func:`geometry` -- the plan for one source at one output size;
  :func:`picture_geometry` -- the same for a letterboxed source whose bars a ``fill`` crops away.
- :func:`finish_planes` -- the output planes of a scaled, upright picture (crop or letterbox).
- :func:`motion_offset` -- where a ``fill`` crop keeps the most motion in the frame.
- :func:`plan_offset` -- where a ``fill`` crop sits at a frame of a shot the plan framed.
- :func:`frame_planes`, :func:`turn` -- planes of a PyAV frame; quarter turns.
- :func:`rgb_to_yuv420` / :func:`yuv420_to_rgb` -- picture conversions (libswscale).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..geometry import even

__all__ = ["Geometry", "geometry", "picture_geometry", "finish_planes", "motion_offset",
           "plan_offset",
           "frame_planes", "turn",
           "rgb_to_yuv420", "yuv420_to_rgb"]


@dataclass(frozen=True)
class Geometry:
    """How a source's decoded picture becomes an output frame.

    The decoder output (storage orientation) is scaled to ``scaled`` (width, height, even), turned
    by ``turns`` quarter turns counter-clockwise (numpy ``rot90``), then cropped at ``offset`` or
    pasted at ``offset`` into a black frame (``fit``).
    """

    out: tuple[int, int]
    scaled: tuple[int, int]        # storage orientation
    turns: int
    kind: str                      # "direct", "crop" or "pad"
    upright: tuple[int, int]       # size after turning (display orientation)
    offset: tuple[int, int]        # centred crop / pad offset, even
    bounds: tuple | None = None    # (x_lo, x_hi, y_lo, y_hi): where a crop may sit (the picture
                                   # inside letterbox bars); None: anywhere in the frame


def geometry(display: tuple[int, int], rotation: int, out: tuple[int, int], framing: str) -> Geometry:
    """The :class:`Geometry` of a source of ``display`` size (upright, square pixels) stored
    turned by ``rotation`` degrees clockwise, into an ``out`` frame with ``framing``."""
    dw, dh = display
    W, H = out
    if framing == "fill":
        s = max(W / dw, H / dh)
        uw, uh = max(W, even(dw * s)), max(H, even(dh * s))
        # within a pixel of the output on both axes: plain scaling
        if abs(uw - W) <= 2 and abs(uh - H) <= 2 and abs(dw * s - W) < 2 and abs(dh * s - H) < 2:
            uw, uh = W, H
    else:
        s = min(W / dw, H / dh)
        uw, uh = min(W, even(dw * s)), min(H, even(dh * s))
        if abs(uw - W) <= 2 and abs(uh - H) <= 2:
            uw, uh = W, H
    turns = (-(rotation // 90)) % 4
    scaled = (uh, uw) if turns % 2 else (uw, uh)
    if (uw, uh) == (W, H):
        kind, offset = "direct", (0, 0)
    elif framing == "fill":
        kind, offset = "crop", (((uw - W) // 2) & ~1, ((uh - H) // 2) & ~1)
    else:
        kind, offset = "pad", (((W - uw) // 2) & ~1, ((H - uh) // 2) & ~1)
    return Geometry((W, H), scaled, turns, kind, (uw, uh), offset)


def picture_geometry(display: tuple[int, int], rotation: int, out: tuple[int, int],
                     picture) -> Geometry:
    """A ``fill`` :class:`Geometry` for a source whose real picture is ``picture`` (``x, y, w, h``
    as fractions of its display frame: inside letterbox or pillarbox bars): the picture, not the
    frame, is scaled to cover the output, and the crop stays inside it (the bars never show)."""
    dw, dh = display
    W, H = out
    fx, fy, fw, fh = (float(v) for v in picture)
    # 4 pixels to spare, so an even crop offset never reaches the soft edge of the bars
    s = max((W + 4) / (fw * dw), (H + 4) / (fh * dh))
    uw, uh = max(W, even(dw * s)), max(H, even(dh * s))
    x0, x1 = fx * uw, (fx + fw) * uw
    y0, y1 = fy * uh, (fy + fh) * uh
    lo_x, hi_x = (int(np.ceil(x0)) + 1) & ~1, max(0, int(np.floor(x1 - W))) & ~1
    lo_y, hi_y = (int(np.ceil(y0)) + 1) & ~1, max(0, int(np.floor(y1 - H))) & ~1
    hi_x, hi_y = max(hi_x, min(lo_x, uw - W)), max(hi_y, min(lo_y, uh - H))
    lo_x, lo_y = min(lo_x, hi_x), min(lo_y, hi_y)
    ox = min(max(int(round((x0 + x1) / 2 - W / 2)) & ~1, lo_x), hi_x)
    oy = min(max(int(round((y0 + y1) / 2 - H / 2)) & ~1, lo_y), hi_y)
    turns = (-(rotation // 90)) % 4
    scaled = (uh, uw) if turns % 2 else (uw, uh)
    return Geometry((W, H), scaled, turns, "crop", (uw, uh), (ox, oy), (lo_x, hi_x, lo_y, hi_y))


def frame_planes(frame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Views of the Y, U and V planes of a yuv420p PyAV frame (the frame must stay alive)."""
    out = []
    for p in frame.planes[:3]:
        a = np.frombuffer(p, np.uint8).reshape(p.height, p.line_size)[:, :p.width]
        out.append(a)
    return out[0], out[1], out[2]


def turn(planes, turns: int):
    """``planes`` turned ``turns`` quarter turns counter-clockwise (views)."""
    if not turns:
        return planes
    return tuple(np.rot90(p, k=turns) for p in planes)


def _crop(planes, x: int, y: int, w: int, h: int):
    Y, U, V = planes
    return (Y[y:y + h, x:x + w], U[y // 2:(y + h) // 2, x // 2:(x + w) // 2],
            V[y // 2:(y + h) // 2, x // 2:(x + w) // 2])


def _black(w: int, h: int):
    return (np.full((h, w), 16, np.uint8), np.full((h // 2, w // 2), 128, np.uint8),
            np.full((h // 2, w // 2), 128, np.uint8))


def _pad(planes, canvas, x: int, y: int):
    Yc, Uc, Vc = canvas
    Y, U, V = planes
    h, w = Y.shape
    Yc[y:y + h, x:x + w] = Y
    Uc[y // 2:y // 2 + U.shape[0], x // 2:x // 2 + U.shape[1]] = U
    Vc[y // 2:y // 2 + V.shape[0], x // 2:x // 2 + V.shape[1]] = V
    return canvas


def finish_planes(planes, geom: Geometry, offset):
    """The output planes of scaled, upright ``planes``: as they are, cropped at ``offset``, or
    letterboxed at ``offset`` in black."""
    if geom.kind == "direct":
        return planes
    W, H = geom.out
    if geom.kind == "crop":
        return _crop(planes, offset[0], offset[1], W, H)
    return _pad(planes, _black(W, H), offset[0], offset[1])


def motion_offset(lumas: list[np.ndarray], out: tuple[int, int], centred: tuple[int, int]):
    """Crop offset (even) that keeps the most frame-to-frame change inside the output window.

    ``lumas`` are upright, uncropped luma planes of the first frames of a shot. Falls back to the
    centred crop when there is too little motion to judge.
    """
    W, H = out
    h, w = lumas[0].shape
    if len(lumas) < 2:
        return centred
    acc = np.zeros((h, w), np.float32)
    for a, b in zip(lumas, lumas[1:]):
        acc += np.abs(a.astype(np.int16) - b.astype(np.int16))
    horizontal = w > W
    prof = acc.sum(axis=0) if horizontal else acc.sum(axis=1)
    span = W if horizontal else H
    total = float(prof.sum())
    if total < 2.0 * prof.size * (len(lumas) - 1):     # under ~2 grey levels of change a pixel
        return centred
    csum = np.concatenate([[0.0], np.cumsum(prof, dtype=np.float64)])
    win = csum[span:] - csum[:-span]
    centre_pos = centred[0] if horizontal else centred[1]
    best = int(np.argmax(win))
    # only move when clearly better than the centred crop
    if win[best] < 1.15 * win[centre_pos]:
        return centred
    pos = best & ~1
    return (pos, centred[1]) if horizontal else (centred[0], pos)


def plan_offset(crop, geom: Geometry, k: int) -> tuple[int, int]:
    """Crop offset (even) at frame ``k`` of a shot whose plan stores ``crop``
    (:class:`musync.types.ShotCrop`): the output window centred where the plan's window is.
    A crop made for another aspect gives the centred offset."""
    W, H = geom.out
    if abs(crop.aspect - W / H) > 0.01 * (W / H):
        return geom.offset
    uw, uh = geom.upright
    x, y = crop.at(k)
    ox = int(round((x + crop.w / 2) * uw - W / 2)) & ~1
    oy = int(round((y + crop.h / 2) * uh - H / 2)) & ~1
    lo_x, hi_x, lo_y, hi_y = geom.bounds or (0, (uw - W) & ~1, 0, (uh - H) & ~1)
    return (min(max(ox, lo_x), hi_x), min(max(oy, lo_y), hi_y))


def yuv420_to_rgb(planes) -> np.ndarray:
    """4:2:0 planes (limited range) to an ``(h, w, 3)`` uint8 RGB array (libswscale)."""
    import av

    Y, U, V = planes
    h, w = Y.shape
    frame = av.VideoFrame(w, h, "yuv420p")
    for plane, data in zip(frame.planes, (Y, U, V)):
        rows, cols = data.shape
        dst = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
        dst[:rows, :cols] = data
    return frame.to_ndarray(format="rgb24")


def rgb_to_yuv420(rgb: np.ndarray):
    """An ``(h, w, 3)`` uint8 RGB array (even h, w) to limited-range Y, U, V planes (libswscale)."""
    import av

    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb, dtype=np.uint8), format="rgb24")
    yuv = frame.reformat(format="yuv420p", dst_color_range=1)
    return tuple(np.array(p) for p in frame_planes(yuv))
