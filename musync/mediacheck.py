"""Media fingerprints: what a plan records of its files, and the check that they did not change.

A plan records the song's sha256 and, per clip, its size in bytes, duration, frame count and a
cheap content hash (:func:`quick_hash`: the size, the first and last 64 KiB and six 16 KiB
blocks in between). Render, export and re-plan call :func:`check_media` first: a clip replaced
by another file of the same name, a truncated clip or an edited song raises
:class:`~musync.errors.MediaChangedError` naming the file and what to do, unless
``allow_changed`` (the CLI's ``--allow-changed-media``), when it is a warning.

Plans written before fingerprints existed still work: one warning says changes cannot be
detected. A clip whose file did not exist when the plan was made (``content_hash`` empty) is
not checked.

Public: :func:`quick_hash`, :func:`stamp_clips`, :func:`check_media`.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
from pathlib import Path

from .errors import MediaChangedError, MediaError

__all__ = ["quick_hash", "stamp_clips", "check_media", "HASH_SCHEME"]

#: Prefix of :func:`quick_hash` values (a new sampling scheme gets a new prefix).
HASH_SCHEME = "q1"
_END = 64 * 1024
_BLOCK = 16 * 1024
_BLOCKS = 6


def quick_hash(path) -> str:
    """``"q1:<32 hex>"``: BLAKE2b of the file size, its first and last 64 KiB and six 16 KiB
    blocks evenly spaced in between. Reads at most 224 KiB whatever the file's size."""
    p = Path(path)
    with open(p, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        h = hashlib.blake2b(str(size).encode(), digest_size=16)
        if size <= 2 * _END + _BLOCKS * _BLOCK:
            h.update(fh.read())
        else:
            offsets = [0] + [_END + (size - 2 * _END - _BLOCK) * (i + 1) // (_BLOCKS + 1)
                             for i in range(_BLOCKS)] + [size - _END]
            for off in offsets:
                fh.seek(off)
                h.update(fh.read(_END if off in (0, size - _END) else _BLOCK))
    return f"{HASH_SCHEME}:{h.hexdigest()}"


@functools.lru_cache(maxsize=16384)
def _stamp_hash(path: str, size: int, mtime_ns: int, inode: int) -> str:
    """:func:`quick_hash` of ``path`` as it is at that size, modification time and inode (the
    key: a file written since is hashed again)."""
    return quick_hash(path)


def stamp_clips(plan_clips) -> tuple:
    """The PlanClips with ``file_size`` and ``content_hash`` filled in from the files on disk
    (``frame_count`` stays as the PlanClip carries it: :meth:`PlanClip.from_clip` takes the
    scan's); a clip whose file is not there keeps an empty hash.

    Every plan stamps every clip of its library, so a file's hash is kept for as long as its
    size, modification time and inode stay as they were (2,000 clips cost about 0.8 s to hash
    and 10 ms to stat): a re-plan in the review page does not read the library again.
    :func:`check_media` always reads the files."""
    out = []
    for pc in plan_clips:
        try:
            st = os.stat(pc.path)
            size, digest = st.st_size, _stamp_hash(str(pc.path), st.st_size, st.st_mtime_ns, st.st_ino)
        except OSError:
            size, digest = 0, ""
        out.append(dataclasses.replace(pc, file_size=size, content_hash=digest,
                                       frame_count=pc.frame_count or 0))
    return tuple(out)


def _probe(path: Path) -> str:
    """``"2.10 s, 63 frames"`` of a video file as its container says (no decoding), or ""."""
    try:
        import av

        with av.open(str(path)) as c:
            v = c.streams.video[0] if c.streams.video else None
            dur = float(c.duration or 0) / 1e6
            n = int(v.frames or 0) if v is not None else 0
    except Exception:       # not readable any more: the size and hash say enough
        return ""
    return f"{dur:.2f} s" + (f", {n} frames" if n else "")


def _clip_change(pc, path: Path) -> str | None:
    """What changed in the clip at ``path`` since ``pc`` was recorded, or None."""
    size = path.stat().st_size
    if size == pc.file_size and quick_hash(path) == pc.content_hash:
        return None
    was = f"{pc.duration:.2f} s" + (f", {pc.frame_count} frames" if pc.frame_count else "")
    now = _probe(path)
    if size < pc.file_size:
        what = f"truncated or shortened: {size} bytes, planned {pc.file_size}"
    elif size != pc.file_size:
        what = f"a different file: {size} bytes, planned {pc.file_size}"
    else:
        what = "a different file of the same size"
    return what + (f"; now {now}, planned {was}" if now and now != was else "")


def check_media(plan, *, resolve=None, allow_changed: bool = False, sources=None, song: bool = True,
                remedy: str = "re-plan (`musync plan --replan PLAN`)", note_unstamped: bool = False) -> list[str]:
    """Check that the plan's song and clips are the files the plan was made from.

    Parameters
    ----------
    plan : Plan
    resolve : callable, optional
        ``path -> Path`` of the file a plan path names (e.g. beside the plan file).
    allow_changed : bool
        Warn about changed files instead of raising.
    sources : iterable of str, optional
        The clip paths to check (default: every shot's source).
    song : bool
        Also check the song's sha256.
    remedy : str
        What to do about a changed file, for the message.
    note_unstamped : bool
        Say when clips have no fingerprints (a plan file written by an older musync; a plan
        built by hand has none either, and is not told).

    Returns the warnings (changed files when allowed; a plan without fingerprints). Missing
    files are left to the caller (they have their own errors). Raises
    :class:`~musync.errors.MediaChangedError` on the first changed file unless ``allow_changed``.
    """
    from .media import file_sha256

    resolve = resolve or Path
    notes: list[str] = []
    changed: list[tuple[Path, str | None]] = []  # None: the file cannot be read
    if song and plan.audio.sha256:
        p = resolve(plan.audio.path)
        if p.is_file():
            try:
                if file_sha256(p) != plan.audio.sha256:
                    changed.append((p, "the song has changed since the plan was made (its sha256 differs)"))
            except OSError:
                changed.append((p, None))
    wanted = set(sources) if sources is not None else {s.source for s in plan.shots}
    unstamped = 0
    for pc in plan.clips:
        if pc.path not in wanted:
            continue
        p = resolve(pc.path)
        if not p.is_file():
            continue
        if pc.file_size is None:
            unstamped += 1
            continue
        if not pc.content_hash:
            continue
        try:
            what = _clip_change(pc, p)
        except OSError:
            changed.append((p, None))
            continue
        if what is not None:
            changed.append((p, f"changed since the plan was made ({what})"))
    if unstamped and note_unstamped:
        notes.append(f"the plan records no fingerprints for {unstamped} clip(s) (made by an older "
                     "musync): a clip changed since planning cannot be detected; re-plan to add them")
    for p, what in changed:
        if what is None:
            raise MediaError(p, "cannot be read to check it against the plan; check the file's permissions")
        if not allow_changed:
            raise MediaChangedError(p, f"{what}; put the original back, {remedy}, or pass "
                                       "--allow-changed-media to use it anyway")
        notes.append(f"{p}: {what}; used anyway (--allow-changed-media)")
    return notes
