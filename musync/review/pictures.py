"""What the review page and the report show: shot thumbnails and the song's waveform.

Public functions:

- :func:`thumbnail` -- a JPEG of one source frame of a clip (PyAV; cached in musync's cache).
- :func:`waveform` -- the song's peak envelope in ``bins`` bins (cached by content).

Thumbnails are keyed by the file's path, size and modification time, the frame time and the
height, and live in ``<cache>/thumbs``: a changed clip never shows a stale picture. They are
decoded from the clip's proxy when one has been made (``musync scan --proxies`` or the first
draft render), else from the clip itself.
"""

from __future__ import annotations

import io
import math
import threading
from pathlib import Path

import numpy as np

from .. import cache
from ..errors import MediaError, MusyncError

__all__ = ["thumbnail", "waveform", "THUMB_HEIGHT"]

#: Default thumbnail height in pixels (the filmstrip shows them at about half of that).
THUMB_HEIGHT = 108

# decoding several 1080p streams at once only thrashes two cores
_DECODE = threading.Semaphore(2)


def _thumb_path(path: Path, t: float, height: int) -> Path:
    st = path.stat()
    key = cache.make_key("thumb", f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}",
                         {"t": round(float(t), 4), "h": int(height)})
    return cache.cache_dir() / "thumbs" / f"{key}.jpg"


def _encode(img, height: int) -> bytes:
    from PIL import Image

    if img.height != height:
        w = max(2, int(round(img.width * height / img.height)))
        img = img.resize((w, height), Image.BILINEAR)
    buf = io.BytesIO()
    img.convert("RGB").save(buf, format="JPEG", quality=82)
    return buf.getvalue()


def _decode_still(path: Path, height: int):
    from PIL import Image, ImageOps

    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im)
        im.draft("RGB", (height * 4, height))
        return im.convert("RGB")


def _decode_video(path: Path, t: float, height: int, display):
    import av

    from ..media import frame_rotation_cw

    with av.open(str(path)) as c:
        if not c.streams.video:
            raise MediaError(path, "has no video stream")
        st = c.streams.video[0]
        st.thread_type = "AUTO"
        tb = st.time_base
        first = float(st.start_time * tb) if st.start_time is not None else 0.0
        rate = float(st.average_rate or st.guessed_rate or 30)
        target = first + max(0.0, t)
        c.seek(max(0, int(target / tb)), stream=st, backward=True, any_frame=False)
        chosen = None
        for frame in c.decode(st):
            if frame.time is None:
                continue
            chosen = frame
            if frame.time >= target - 0.5 / rate:
                break
        if chosen is None:
            raise MediaError(path, f"no frame decodes at {t:.2f} s")
        rot = frame_rotation_cw(chosen)
        dw, dh = display if display and display[0] and display[1] else (chosen.width, chosen.height)
        tw = max(2, int(round(height * dw / dh)))
        coded = (height, tw) if rot in (90, 270) else (tw, height)
        img = chosen.reformat(width=coded[0], height=coded[1], format="rgb24").to_image()
        if rot:
            img = img.rotate(-rot, expand=True)
        return img


def _proxy(path: Path):
    """The clip's proxy when one has been made (see :mod:`musync.render.proxies`), else None."""
    try:
        from ..render.proxies import proxy_for

        return proxy_for(path, compute_hash=False)
    except (ImportError, MusyncError, OSError):
        return None


def thumbnail(path, t: float = 0.0, *, height: int = THUMB_HEIGHT, display=None, still: bool = False) -> bytes:
    """JPEG bytes of the frame of ``path`` shown ``t`` seconds after its first frame.

    Parameters
    ----------
    path : the clip (video or still image)
    t : seconds after the clip's first decodable frame
    height : picture height in pixels
    display : (width, height) the clip is displayed at (after rotation and pixel aspect); the
        decoded size when None
    still : the file is a still image

    Raises
    ------
    MediaError  the file is missing or no frame decodes there.
    """
    p = Path(path)
    if not p.is_file():
        raise MediaError(p, "clip not found; was it moved?")
    out = _thumb_path(p, t, height)
    try:
        return out.read_bytes()
    except OSError:
        pass
    src, shown = p, display
    if not still:
        px = _proxy(p)
        if px is not None:   # frame k of a proxy is frame k of the source, upright, square pixels
            src, shown = px.path, px.size
    with _DECODE:
        try:
            img = _decode_still(p, height) if still else _decode_video(src, t, height, shown)
        except MediaError:
            raise
        except Exception as exc:
            raise MediaError(p, f"cannot decode a thumbnail ({type(exc).__name__}: {exc})") from None
    data = _encode(img, height)
    _store(out, data)
    return data


def _store(out: Path, data: bytes) -> None:
    import os
    import tempfile

    tmp = None
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=out.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, out)
        tmp = None
    except OSError:
        pass  # a read-only cache is not an error
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def waveform(path, *, bins: int = 3000, sha256: str = "") -> np.ndarray:
    """Peak envelope of the song at ``path``: ``bins`` values in [0, 1] (the loudest bin is 1),
    each the largest absolute sample in its slice of the song. Cached by ``sha256`` when given
    (else by path, size and modification time)."""
    from ..media import load_audio

    p = Path(path)
    if sha256:
        content = sha256
    else:
        st = p.stat()
        content = f"{p.resolve()}|{st.st_size}|{st.st_mtime_ns}"
    key = cache.make_key("waveform", content, {"bins": int(bins)})
    hit = cache.get_arrays("waveform", key)
    if hit is not None and "peaks" in hit:
        return hit["peaks"]
    y, _ = load_audio(p, sr=8000)
    n = y.size
    edges = np.linspace(0, n, int(bins) + 1).astype(np.int64)
    starts = np.minimum(edges[:-1], max(n - 1, 0))
    peaks = np.maximum.reduceat(np.abs(y), starts) if n else np.zeros(bins)
    peaks[edges[1:] <= edges[:-1]] = 0.0
    top = float(peaks.max()) if peaks.size else 0.0
    peaks = (peaks / top if top > 0 and math.isfinite(top) else peaks).astype(np.float32)
    cache.put_arrays("waveform", key, {"peaks": peaks})
    return peaks
