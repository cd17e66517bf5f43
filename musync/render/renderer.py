"""The render itself: readers -> framing -> one encoder, the song muxed once.

Public names: :func:`render`, :func:`as_plan` (a plan or a plan file, with the folder relative
paths are looked up in), :func:`check_song`, :func:`use_proxies` and :func:`source_proxies`
(which sources a draft reads from their proxies).
"""

from __future__ import annotations

import os
import time
import warnings
from fractions import Fraction
from pathlib import Path

from .._fs import atomic_output, check_output
from .._proc import signals_deferred
from ..errors import MediaError, ParameterError, RenderError
from ..progress import make_progress
from ..types import Plan
from .encoder import Encoder, check_video_suffix, sigterm_as_interrupt
from .framing import Geometry, geometry, picture_geometry
from .readers import ClipReader, ReaderPool, needed_by, open_sources, resolve_media, shots_by_source
from .seekcheck import SeekMismatch
from .settings import INTERPOLATIONS, RenderResult, render_settings

__all__ = ["render", "as_plan", "check_song", "use_proxies", "source_proxies"]


def as_plan(plan) -> tuple[Plan, Path | None]:
    """``(plan, base)``: a :class:`Plan` as given (``base`` None), or a plan file loaded
    (``base`` its folder, where relative media paths are also looked up)."""
    if isinstance(plan, Plan):
        return plan, None
    if isinstance(plan, (str, os.PathLike)):
        from ..planfile import load_plan

        return load_plan(plan), Path(plan).resolve().parent
    raise ParameterError(f"plan must be a Plan or the path of a plan file, not {type(plan).__name__}")


def check_song(plan: Plan, base: Path | None, warn, *, allow_changed_media: bool = True,
               clips: bool = False) -> Path:
    """The plan's song file, probed; ``warn`` hears if it differs in length. A song that is not
    the file the plan was made from (sha256) raises MediaChangedError unless
    ``allow_changed_media`` (then ``warn`` hears it); with ``clips``, the same check covers
    the clips of the plan's shots (and notes clips without fingerprints when ``base`` is
    given)."""
    from ..media import probe_audio

    song = resolve_media(plan.audio.path, base)
    try:
        stream = probe_audio(song)
    except MediaError as exc:
        raise MediaError(song, f"the plan's song cannot be used: {exc.problem}") from None
    picture = float(Fraction(plan.duration_frames) / Fraction(plan.fps))
    if stream.duration > 0 and abs(stream.duration - picture) > 1.0 / float(plan.fps):
        warn(f"{song.name} lasts {stream.duration:.2f} s but the plan covers {picture:.2f} s; the "
             "video keeps the whole song (re-plan if the song was edited)")
    from ..mediacheck import check_media

    for note in check_media(plan, resolve=lambda p: resolve_media(p, base),
                            sources=None if clips else (), allow_changed=allow_changed_media,
                            note_unstamped=clips and base is not None):
        warn(note)
    return song


def _encode(plan, readers, geoms, settings, song, suffix, tmp, prog) -> None:
    """Encode every frame of ``plan`` into ``tmp`` (one Encoder, reaped whatever happens)."""
    enc = None
    try:        # the encoder is reaped before the temporary file is removed
        with signals_deferred():         # no interrupt between its start and `enc`
            enc = Encoder(tmp, settings, song, container_suffix=suffix)
        step = max(1, int(round(float(settings.fps) / 2)))
        pending = 0
        for label, planes in _plan_frames(plan, readers, geoms, settings.crop):
            enc.write(planes)
            pending += 1
            if pending >= step:
                prog.advance(pending, item=label)
                pending = 0
        if enc.frames != plan.duration_frames:  # pragma: no cover
            raise RenderError(f"wrote {enc.frames} frames, expected {plan.duration_frames}")
        enc.finish(plan.duration_frames)
        if pending:
            prog.advance(pending, item="done")
    finally:
        if enc is not None:
            enc.kill()


def _not_seekable(readers, exc: SeekMismatch, warn) -> None:
    """After a seek that gave a wrong picture: that file is decoded from the start from now on
    (also by later renders: recorded in the cache)."""
    from .seekcheck import mark_seek_unsafe

    for r in readers.values():
        if r.path == exc.path and r.seekable:
            r.seekable = False
            r.release()
            mark_seek_unsafe(r.path, exc.why)
            warn(f"{r.path.name}: {exc.why}; it is decoded from the start instead (slower), "
                 "and the video was encoded again")
            return
    raise RenderError(f"{exc}; and it could not be read without seeking") from None


def use_proxies(mode: str, proxies) -> bool:
    """Whether a render in ``mode`` reads proxies (``proxies``: None = drafts do)."""
    if proxies is None:
        return mode == "draft"
    if proxies and mode != "draft":
        raise ParameterError("a final render always reads the original clips; use proxies only "
                             "for drafts")
    return bool(proxies)


def source_proxies(plan: Plan, base: Path | None, *, progress=None, warn=None,
                   build: bool = True) -> dict:
    """The proxy of every moving source of ``plan`` (made first where missing, unless not
    ``build``): ``{plan source path: Proxy}``.

    A source that is missing or cannot be decoded raises :class:`MediaError` naming its shots;
    one whose proxy cannot be made for another reason is left out (read from the original) and
    ``warn`` hears why.
    """
    from ..media import check_input_file
    from .proxies import build_proxies, proxy_for

    users = shots_by_source(plan)
    paths: dict[str, Path] = {}
    for src, shots in users.items():
        clip = plan.clip(src)
        if clip is not None and clip.is_still:
            continue
        path = resolve_media(src, base)
        try:
            check_input_file(path)
        except MediaError as exc:
            raise MediaError(path, f"needed by {needed_by(shots)}: {exc.problem}") from None
        paths[src] = path
    if not build:
        found = {src: proxy_for(p, compute_hash=False) for src, p in paths.items()}
        return {src: px for src, px in found.items() if px is not None}
    try:
        report = build_proxies(list(paths.values()), progress=progress, errors="raise")
    except MediaError as exc:
        src = next((s for s, p in paths.items() if str(p) == exc.path), None)
        if src is None:
            raise
        raise MediaError(exc.path, f"needed by {needed_by(users[src])}: {exc.problem}") from None
    for err in report.failed.values():
        if warn is not None:
            warn(f"{err}; the draft reads the original")
    return {src: report.proxies[str(p)] for src, p in paths.items() if str(p) in report.proxies}


def _geometry_of(r, settings):
    """The reader's geometry; a ``fill`` of a letterboxed source crops its bars away."""
    pic = getattr(r.clip, "picture", ()) if r.clip is not None else ()
    if settings.framing == "fill" and pic and r.clip.size[0] and r.clip.size[1] and not r.is_still:
        cw, ch = r.clip.size
        frac = (pic[0] / cw, pic[1] / ch, pic[2] / cw, pic[3] / ch)
        return picture_geometry(r.display, r.rotation, settings.size, frac)
    return geometry(r.display, r.rotation, settings.size, settings.framing)


def _plan_frames(plan: Plan, readers: dict, geoms: dict, crop: str):
    """``(label, planes)`` for every output frame of the plan, in order."""
    for shot in plan.shots:
        label = f"shot {shot.index}"
        for planes in readers[shot.source].shot_frames(shot.source_in, shot.source_out,
                                                       geoms[shot.source], crop, label,
                                                       plan_crop=shot.crop):
            yield label, planes


def render(plan, output, *, mode: str = "draft", size=None, aspect=None, framing: str = "fill",
           crop: str = "plan", crf: int | None = None, preset: str | None = None,
           audio_bitrate: str | None = None, overwrite: bool = False, progress=None,
           interpolation: str | None = None, proxies: bool | None = None,
           allow_changed_media: bool = False) -> RenderResult:
    """Render ``plan`` to ``output``: every shot on its planned frames, the song as soundtrack.

    Shot ``k`` fills output frames ``[record_in, record_out)`` with source frames
    ``[source_in, source_out)`` of its clip (rule in :mod:`musync.render`); the song is laid
    once, from its first sample, as one AAC stream. The file is H.264 ``yuv420p`` at the plan's
    exact frame rate.

    Parameters
    ----------
    plan : Plan or path
        A plan, or a plan file (relative media paths are then also looked up beside it).
    output : path
        ``.mp4`` (also ``.m4v``, ``.mov``, ``.mkv``). Written under a temporary name in the same
        folder and renamed at the end; nothing is left behind on failure or interruption.
    mode : {"draft", "final"}
        ``draft`` (default): at most :data:`~musync.render.DRAFT_MAX_SIDE` pixels on the long
        side, sources scaled down as they are decoded, x264 ``ultrafast``. ``final``: full size,
        ``fast``, CRF 20.
    size, aspect, framing, crop, crf, preset, audio_bitrate
        See :func:`~musync.render.render_settings`. ``framing="fill"`` crops the picture to the
        output's aspect: with ``crop="plan"`` (default) following each shot's ``crop`` where the
        plan stores one for this aspect (centred where it does not), with ``"center"`` centred,
        with ``"motion"`` placed once per shot where the first 12 frames change most;
        ``"fit"`` letterboxes it in black.
    overwrite : bool
        Replace an existing ``output`` (otherwise :class:`ParameterError`).
    progress : None, str or callable
        ``None``/``"none"``, ``"auto"``, ``"bar"``, ``"plain"``, ``"json"`` (stderr) or a callable
        receiving :class:`~musync.progress.ProgressEvent` (stage ``"render"``, unit ``frames``;
        before it, stage ``"proxies"`` while missing proxies are made).
    interpolation : {"area", "fast_bilinear", "bilinear", "bicubic", "lanczos"}, optional
        Scaler; default ``area`` for drafts, ``bicubic`` for finals.
    proxies : bool, optional
        Read the sources' proxies (:mod:`musync.render.proxies`), making the missing ones
        first. Default: yes for a draft, and a final always reads the originals (``True`` with
        ``mode="final"`` is a ParameterError). A source whose proxy cannot be made is read
        from the original, with a warning.
    allow_changed_media : bool
        Render a song or clip that is not the file the plan was made from (replaced, truncated,
        edited: :mod:`musync.mediacheck`) with a warning instead of raising MediaChangedError.

    Returns
    -------
    RenderResult

    Raises
    ------
    MediaError
        The song or a source is missing or unreadable (names the shot and the file; raised
        before anything is encoded). MediaChangedError (a MediaError): the song or a source
        changed since planning.
    PlanError
        The plan breaks an invariant.
    ParameterError
        A bad option, or ``output`` exists and ``overwrite`` is False.

    Examples
    --------
    >>> import musync                                              # doctest: +SKIP
    >>> res = musync.render("plan.json", "draft.mp4")              # doctest: +SKIP
    >>> res.frames, round(res.realtime, 1)                         # doctest: +SKIP
    (5400, 9.3)
    """
    from ..planfile import validate_plan

    t_start = time.perf_counter()
    plan, base = as_plan(plan)
    validate_plan(plan)
    settings = render_settings(plan, mode=mode, size=size, aspect=aspect, framing=framing,
                               crop=crop, crf=crf, preset=preset, audio_bitrate=audio_bitrate)
    if interpolation is None:
        interpolation = "area" if mode == "draft" else "bicubic"
    if interpolation not in INTERPOLATIONS:
        raise ParameterError(f"interpolation {interpolation!r} must be one of "
                             f"{', '.join(INTERPOLATIONS)}")
    with_proxies = use_proxies(mode, proxies)
    suffix = check_video_suffix(output)
    check_output(output, overwrite=overwrite)
    notes: list[str] = []

    def warn(msg: str) -> None:
        notes.append(msg)
        warnings.warn(msg, stacklevel=3)

    song = check_song(plan, base, warn, allow_changed_media=allow_changed_media, clips=True)
    pool = ReaderPool()
    readers: dict[str, ClipReader] = {}
    geoms: dict[str, Geometry] = {}
    found: dict = {}
    with sigterm_as_interrupt():
        try:
            found = source_proxies(plan, base, progress=progress, warn=warn) \
                if with_proxies else {}
            readers = open_sources(plan, base, settings.fps, interpolation, pool,
                                   draft_size=settings.size if settings.mode == "draft" else None,
                                   proxies=found)
            for src, r in readers.items():
                geoms[src] = _geometry_of(r, settings)
                if r.clip is not None and not r.is_still and r.clip.rotation != r.source_rotation:
                    warn(f"{r.path.name}: the plan says rotation {r.clip.rotation} but the file "
                         f"says {r.source_rotation}; using the file's")
            with atomic_output(output, overwrite=overwrite, error=RenderError) as tmp, \
                    make_progress(progress, "render", plan.duration_frames, unit="frames") as prog:
                # a file whose seeks give wrong pictures is decoded from the start and the
                # whole video encoded again (at most once per source)
                for _attempt in range(len(readers) + 1):
                    try:
                        _encode(plan, readers, geoms, settings, song, suffix, tmp, prog)
                        break
                    except SeekMismatch as exc:
                        _not_seekable(readers, exc, warn)
        finally:
            for r in readers.values():
                r.close()
    for r in readers.values():
        for w in r.warnings:
            warn(w)
    return RenderResult(Path(output), settings, plan.duration_frames,
                        float(Fraction(plan.duration_frames) / settings.fps),
                        time.perf_counter() - t_start, tuple(notes), len(found))
