"""The fastest audition of an edit: the song, a click on every cut, a flash at every cut.

Public function:

- :func:`preview` -- write a preview video of a plan (or of a plan file, or of a song's bar grid)
  without decoding a single original clip: each shot is its clip's picture from the clip's proxy
  (where one exists; see :mod:`musync.render.proxies`) or a plain card, with its number, the
  planner's reason and its section; the first frame of every cut is a white flash and the song
  carries a click at the same instant. A 3-minute song previews in seconds.
"""

from __future__ import annotations

import bisect
import contextlib
import os
import tempfile
import time
import warnings
import zlib
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from ._fs import atomic_output, check_output
from ._proc import signals_deferred
from .errors import MediaError, ParameterError, RenderError
from .geometry import even
from .progress import make_progress
from .render import RenderResult, RenderSettings, render_settings
from .render.encoder import Encoder, check_video_suffix, sigterm_as_interrupt
from .render.framing import rgb_to_yuv420
from .render.readers import resolve_media
from .timebase import to_frame
from .types import Plan

__all__ = ["preview", "PREVIEW_MAX_SIDE"]

#: Longest side of a preview, in pixels.
PREVIEW_MAX_SIDE = 480
_PALETTE = [(38, 70, 83), (42, 157, 143), (233, 196, 106), (244, 162, 97), (231, 111, 81),
            (69, 123, 157), (106, 76, 147), (29, 53, 87), (87, 117, 144), (120, 86, 64)]
_AUDIO_EXTS = {".wav", ".flac", ".ogg", ".oga", ".mp3", ".m4a", ".aac", ".aif", ".aiff", ".opus",
               ".wma", ".mp4", ".mka", ".webm"}


@dataclass(frozen=True)
class _Card:
    start: int          # first frame
    end: int            # frame after the last
    number: int
    reason: str
    section: str
    source: str
    shot: object = None     # the plan's Shot (None for a song's bar grid)


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:               # Pillow < 10.1: a fixed bitmap font
        return ImageFont.load_default()


def _fit_text(d, text: str, font, width: int, *, keep_end: bool = False) -> str:
    """``text`` shortened with '...' until it fits ``width`` pixels (keeping its start, or its
    end for file names)."""
    if d.textlength(text, font=font) <= width or len(text) <= 8:
        return text
    if keep_end:
        while len(text) > 8 and d.textlength("..." + text, font=font) > width:
            text = text[1:]
        return "..." + text
    while len(text) > 8 and d.textlength(text + "...", font=font) > width:
        text = text[:-1]
    return text.rstrip(" ,;:") + "..."


def _wrap(d, text: str, font, width: int, max_lines: int = 3) -> list[str]:
    """Break ``text`` into at most ``max_lines`` lines of ``width`` pixels (at '; ', then at
    spaces); the last line is shortened if needed."""
    words = []
    for part in text.replace("; ", ";\n").split("\n"):
        words.extend((w, i == 0) for i, w in enumerate(part.split(" ")))
    lines: list[str] = []
    cur = ""
    for w, starts_part in words:
        trial = w if not cur else f"{cur} {w}"
        if cur and (starts_part or d.textlength(trial, font=font) > width):
            lines.append(cur)
            cur = w
        else:
            cur = trial
    if cur:
        lines.append(cur)
    if len(lines) > max_lines:
        lines = lines[:max_lines - 1] + [" ".join(lines[max_lines - 1:])]
    return [_fit_text(d, ln, font, width) for ln in lines]


def _draw_lines(d, lines, w: int, h: int, colour) -> None:
    """Draw ``(text, font)`` lines centred horizontally, the block centred vertically."""
    gap = max(3, h // 40)
    laid = []
    for text, font, *how in lines:
        if not text:
            continue
        if how and how[0] == "wrap":
            parts = _wrap(d, text, font, w - 8)
        else:
            parts = [_fit_text(d, text, font, w - 8, keep_end=bool(how and how[0] == "end"))]
        for part in parts:
            laid.append((part, font, d.textbbox((0, 0), part, font=font)))
    total = sum(b[3] - b[1] for _, _, b in laid) + gap * max(0, len(laid) - 1)
    y = max(0, (h - total) // 2)
    for text, font, box in laid:
        x = (w - (box[2] - box[0])) // 2 - box[0]
        d.text((x, y - box[1]), text, fill=colour, font=font)
        y += (box[3] - box[1]) + gap


def _card_image(card: _Card, w: int, h: int, fps: Fraction, colour, total: int) -> np.ndarray:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (w, h), tuple(int(c * 0.55) for c in colour))
    d = ImageDraw.Draw(img)
    big = _font(max(12, min(w, h) // 4))
    small = _font(max(9, min(w, h) // 16))
    seconds = float(Fraction(card.start) / fps)
    m, s = divmod(seconds, 60)
    _draw_lines(d, [(f"{card.number}", big), (card.reason or "cut", small, "wrap"),
                    (f"section {card.section}" if card.section else "", small),
                    (card.source, small, "end"),
                    (f"{int(m)}:{s:05.2f}   frame {card.start}   {card.end - card.start} frames",
                     small)], w, h, (240, 240, 240))
    # where the shot sits in the song
    bar_h = max(2, h // 60)
    x0 = int(w * card.start / max(total, 1))
    x1 = max(x0 + 1, int(w * card.end / max(total, 1)))
    d.rectangle([0, h - bar_h, w, h], fill=(0, 0, 0))
    d.rectangle([x0, h - bar_h, x1, h], fill=(240, 240, 240))
    return np.asarray(img)


def _flash_image(w: int, h: int, number: int) -> np.ndarray:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (w, h), (250, 250, 250))
    _draw_lines(ImageDraw.Draw(img), [(str(number), _font(max(12, min(w, h) // 4)))], w, h, (20, 20, 20))
    return np.asarray(img)


def _yuv_bytes(rgb: np.ndarray) -> bytes:
    return b"".join(np.ascontiguousarray(p).tobytes() for p in rgb_to_yuv420(rgb))


def _cards_from_plan(plan: Plan) -> list[_Card]:
    return [_Card(s.record_in, s.record_out, s.index, s.reason, s.section, Path(s.source).name, s)
            for s in plan.shots]


def _cards_from_song(song: Path, fps: Fraction):
    """Cuts on every downbeat of the song's analysis (section starts named)."""
    from .analysis import analyze

    a = analyze(song)
    total = to_frame(a.duration, fps)
    marks: dict[int, str] = {}
    for t in a.downbeats:
        marks[to_frame(float(t), fps)] = "downbeat"
    for sec in a.sections:
        marks[to_frame(sec.start, fps)] = f"section {sec.label}" + (f" ({sec.kind})" if sec.kind else "")
    cuts = sorted(f for f in marks if 0 < f < total)
    starts = [0] + cuts
    ends = cuts + [total]
    cards = []
    sec_frames = [to_frame(sec.start, fps) for sec in a.sections]
    for i, (s, e) in enumerate(zip(starts, ends)):
        # the section by its start frame (its start in seconds may lie a fraction of a frame later)
        k = bisect.bisect_right(sec_frames, s) - 1
        sec = a.sections[k] if a.sections and k >= 0 else None
        label = f"{sec.label} {sec.kind}".strip() if sec is not None else ""
        cards.append(_Card(s, e, i, marks.get(s, "start"), label, f"bar grid of {song.name}"))
    return cards, total, a


def _click_track(cut_frames, fps: Fraction, sr: int, n: int) -> np.ndarray:
    y = np.zeros(n, np.float32)
    m = int(0.012 * sr)
    t = np.arange(m) / sr
    burst = (0.6 * np.sin(2 * np.pi * 1800.0 * t) * np.exp(-t / 0.003)).astype(np.float32)
    for f in cut_frames:
        i = int(round(float(Fraction(f) / fps) * sr))
        if 0 <= i < n:
            k = min(m, n - i)
            y[i:i + k] += burst[:k]
    return np.clip(y, -1.0, 1.0)


def _band(card: _Card, w: int, h: int):
    """The label laid over a shot's picture: Y, U, V planes of a strip for the bottom of the
    frame and its opacity per pixel (one value per 2x2 block for the chroma planes)."""
    from PIL import Image, ImageDraw

    bh = even(max(16, h // 5))
    img = Image.new("RGB", (w, bh), (0, 0, 0))
    alpha = Image.new("L", (w, bh), 150)
    d = ImageDraw.Draw(img)
    font = _font(max(9, min(w, h) // 16))
    text = f"{card.number}  {card.reason or 'cut'}"
    if card.section:
        text += f"  [{card.section}]"
    text += f"  {card.source}"
    line = _fit_text(d, text, font, w - 8)
    box = d.textbbox((0, 0), line, font=font)
    d.text((4 - box[0], (bh - (box[3] - box[1])) // 2 - box[1]), line, fill=(245, 245, 245),
           font=font)
    ImageDraw.Draw(alpha).text((4 - box[0], (bh - (box[3] - box[1])) // 2 - box[1]), line,
                               fill=255, font=font)
    planes = rgb_to_yuv420(np.asarray(img))
    a = np.asarray(alpha, np.float32) / 255.0
    a2 = a.reshape(bh // 2, 2, w // 2, 2).mean(axis=(1, 3))
    return [np.asarray(p, np.float32) for p in planes], (a, a2, a2)


def _with_band(planes, band):
    """A copy of ``planes`` with ``band`` blended over their bottom rows."""
    strip, alphas = band
    out = []
    for p, b, a in zip(planes, strip, alphas):
        q = np.array(p)                        # never write into a decoder's frame
        rows = b.shape[0]
        q[-rows:] = (q[-rows:] * (1.0 - a) + b * a + 0.5).astype(np.uint8)
        out.append(q)
    return out


def _picture_readers(plan: Plan, base, pictures, size, progress, warn) -> dict:
    """Readers of the shots whose picture the preview shows: ``{source: (reader, geometry)}``.

    ``pictures`` None: the sources whose proxy exists (nothing else is opened, nothing made);
    True: every source, its proxy made first where missing (stills read as they are).
    """
    from .render.framing import geometry
    from .render.proxies import proxy_for
    from .render.readers import ReaderPool, open_sources
    from .render.renderer import source_proxies

    if pictures is False:
        return {}
    if pictures:
        found = source_proxies(plan, base, progress=progress, warn=warn)
        stills = {s.source for s in plan.shots
                  if plan.clip(s.source) is not None and plan.clip(s.source).is_still}
        only = set(found) | stills
    else:
        found = {}
        for src in {s.source for s in plan.shots}:
            path = resolve_media(src, base)
            clip = plan.clip(src)
            if (clip is not None and clip.is_still) or not path.is_file():
                continue
            try:
                px = proxy_for(path, compute_hash=False)
            except MediaError:
                px = None
            if px is not None:
                found[src] = px
        only = set(found)
    if not only:
        return {}
    readers = open_sources(plan, base, Fraction(plan.fps), "area", ReaderPool(), proxies=found,
                           only=only)
    return {src: (r, geometry(r.display, r.rotation, size, "fill")) for src, r in readers.items()}


def _resolve(source, fps):
    """``(plan, base, song, rate, cards, total, shape)`` of a plan, plan file or song."""
    from .planfile import load_plan, validate_plan

    plan = base = None
    if isinstance(source, Plan):
        plan = source
    elif isinstance(source, (str, os.PathLike)):
        p = Path(source)
        if p.suffix.lower() == ".json":
            plan = load_plan(p)
            base = p.resolve().parent
        elif p.suffix.lower() in _AUDIO_EXTS or not p.suffix:
            song = p
        else:
            raise ParameterError(f"{p}: give a plan (.json) or a song (.wav, .mp3, .m4a, ...)")
    else:
        raise ParameterError(f"source must be a Plan, a plan file or a song, not {type(source).__name__}")
    if plan is not None:
        validate_plan(plan)
        if fps is not None and Fraction(fps) != Fraction(plan.fps):
            raise ParameterError(f"the plan's frame rate is {plan.fps}; a preview keeps it")
        return (plan, base, resolve_media(plan.audio.path, base), Fraction(plan.fps),
                _cards_from_plan(plan), plan.duration_frames, plan)
    rate = Fraction(30) if fps is None else Fraction(fps)
    if rate <= 0:
        raise ParameterError("fps must be positive")
    cards, total, _a = _cards_from_song(song, rate)
    if not cards or total <= 0:
        raise MediaError(song, "is too short to preview")
    return None, None, song, rate, cards, total, _SongShape(rate)


@contextlib.contextmanager
def _click_file(output, cut_frames, rate, stream):
    """A temporary WAV of a click at every cut beside ``output`` (None without cuts); removed
    at the end whatever happens."""
    if not cut_frames:
        yield None
        return
    import soundfile as sf

    from ._fs import TEMP_TAG

    out_dir = Path(output).parent if str(Path(output).parent) else Path(".")
    sr = int(stream.sample_rate) or 48000
    n = int(round(stream.duration * sr)) + sr
    fd, name = tempfile.mkstemp(prefix=f".{Path(output).stem}{TEMP_TAG}{os.getpid()}-",
                                suffix=".part.clicks.wav", dir=out_dir)
    os.close(fd)
    path = Path(name)
    try:
        sf.write(str(path), _click_track(cut_frames, rate, sr, n), sr, subtype="PCM_16")
        yield path
    finally:
        with contextlib.suppress(OSError):
            path.unlink()


def _write_cards(enc, cards, settings, total, flash_frames, pictures, prog) -> None:
    """Every frame of the preview: a card, or the shot's picture under its label; flashes."""
    W, H = settings.size
    rate = settings.fps
    for i, card in enumerate(cards):
        n = card.end - card.start
        nflash = min(flash_frames, n) if card.start > 0 else 0
        flash = _yuv_bytes(_flash_image(W, H, card.number)) if nflash else None
        picture = pictures.get(card.shot.source) if card.shot is not None else None
        if picture is None:
            colour = _PALETTE[zlib.crc32(card.section.encode()) % len(_PALETTE)] \
                if card.section else _PALETTE[i % len(_PALETTE)]
            frame = _yuv_bytes(_card_image(card, W, H, rate, colour, total))
            for k in range(n):
                enc.write_bytes(flash if k < nflash else frame)
        else:
            reader, geom = picture
            band = _band(card, W, H)
            shot = card.shot
            frames = reader.shot_frames(shot.source_in, shot.source_out, geom, "center",
                                        f"shot {shot.index}")
            for k, planes in enumerate(frames):
                if k < nflash:
                    enc.write_bytes(flash)
                else:
                    enc.write(_with_band(planes, band))
        prog.advance(n, item=f"shot {card.number}")


def preview(source, output, *, size=None, aspect=None, fps=None, clicks: bool = True,
            flash_frames: int = 1, pictures: bool | None = None, overwrite: bool = False,
            progress=None) -> RenderResult:
    """Write a preview of ``source``: numbered shots, a flash and a click at every cut.

    Cut ``k`` (the start of every shot but the first) shows ``flash_frames`` white frames at
    exactly its first frame(s) and the song carries a short click at exactly that instant, so
    one can hear and see whether the cuts land on the music. A shot is its clip's picture (from
    the clip's proxy, frame for frame as in a draft) under a label with its number, reason and
    section, or, without a proxy, a plain card with the same text.

    Parameters
    ----------
    source : Plan, plan file path, or song path
        With a song, the cards follow its analysis: a cut on every downbeat, sections named.
    output : path
        ``.mp4`` (or ``.m4v``, ``.mov``, ``.mkv``); temporary name, then renamed.
    size : (int, int) or "WxH", optional
        Default: the plan's aspect with the long side :data:`PREVIEW_MAX_SIDE` (480 px).
    aspect : str, optional
        e.g. ``"9:16"``.
    fps : Fraction, optional
        Only for a song (default 30); a plan keeps its own rate.
    clicks : bool
        Mix a click into the song at every cut (default True).
    flash_frames : int
        White frames at each cut (0 for none).
    pictures : bool, optional
        None (default): pictures for the shots whose clip has a proxy already (no clip is
        opened, nothing is made: as fast as cards); True: make the missing proxies first (with
        progress) and show every shot's picture; False: cards only.
    overwrite : bool
    progress : None, str or callable
        See :func:`musync.render`.

    Returns
    -------
    RenderResult
        ``settings.mode`` is ``"preview"``; ``proxies`` counts the sources shown as pictures.

    Examples
    --------
    >>> import musync                                      # doctest: +SKIP
    >>> musync.preview("plan.json", "preview.mp4")         # doctest: +SKIP
    """
    from .media import probe_audio

    t_start = time.perf_counter()
    if flash_frames < 0 or int(flash_frames) != flash_frames:
        raise ParameterError("flash_frames must be a whole number >= 0")
    suffix = check_video_suffix(output)
    check_output(output, overwrite=overwrite)
    notes: list[str] = []

    def warn(msg: str) -> None:
        notes.append(msg)

    plan, base, song, rate, cards, total, shape_from = _resolve(source, fps)
    try:
        stream = probe_audio(song)
    except MediaError as exc:
        raise MediaError(song, f"the song cannot be used: {exc.problem}") from None
    if size is None:
        base_settings = render_settings(shape_from, mode="final", aspect=aspect)
        w, h = base_settings.size
        k = min(1.0, PREVIEW_MAX_SIDE / max(w, h))
        size = (even(w * k), even(h * k))
    rs = render_settings(shape_from, mode="final", size=size, aspect=aspect, crf=30,
                         preset="ultrafast", audio_bitrate="192k")
    settings = RenderSettings("preview", rs.width, rs.height, rate, crf=30, preset="ultrafast",
                              audio_bitrate="192k")
    cut_frames = [c.start for c in cards if c.start > 0] if clicks else []
    shown: dict = {}
    with sigterm_as_interrupt():
        try:
            if plan is not None:
                shown = _picture_readers(plan, base, pictures, settings.size, progress, warn)
            with _click_file(output, cut_frames, rate, stream) as click_path, \
                    atomic_output(output, overwrite=overwrite, error=RenderError) as tmp, \
                    make_progress(progress, "preview", total, unit="frames") as prog:
                mix = None if click_path is None else [
                    "[1:a][2:a]amix=inputs=2:duration=first:dropout_transition=0:normalize=0[a]",
                    "[a]"]
                enc = None
                try:
                    with signals_deferred():         # no interrupt between its start and `enc`
                        enc = Encoder(tmp, settings, song, container_suffix=suffix,
                                      audio_filter=mix,
                                      extra_inputs=[click_path] if click_path else [])
                    _write_cards(enc, cards, settings, total, flash_frames, shown, prog)
                    enc.finish(total)
                finally:
                    if enc is not None:
                        enc.kill()
        finally:
            for reader, _ in shown.values():
                reader.close()
    for reader, _ in shown.values():
        notes.extend(reader.warnings)
    for msg in notes:
        warnings.warn(msg, stacklevel=2)
    return RenderResult(Path(output), settings, total, float(Fraction(total) / rate),
                        time.perf_counter() - t_start, tuple(notes),
                        sum(1 for r, _ in shown.values() if r.proxy is not None))


class _SongShape:
    """The few plan attributes :func:`render_settings` reads, for a song without a plan."""

    def __init__(self, fps: Fraction):
        self.fps = fps
        self.size = (1920, 1080)
        self.aspect = "16:9"
