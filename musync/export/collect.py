"""``--collect``: a folder with the song and every clip in a form the target editor opens.

Public functions:

- :func:`collect_media` -- copy (hard-link when possible) what the editor reads, convert what it
  does not, and return the plan re-pointed at the folder plus what was done per file.
- :data:`COLLECT_CODECS` -- the intermediates: ``h264`` (H.264 High, CRF 12, ``.mp4``) and
  ``prores`` (ProRes 422 HQ, ``.mov``).
- :func:`original_path` -- the source file a collected file stands for (from the folder's
  ``musync-collect.json``), so an edited timeline that points into the folder imports as edits
  of the original clips.

Conversions keep every frame: the same frame count, rate and timestamps (``-fps_mode
passthrough`` and the encoder working in the source's time base, so variable-rate clips keep
their timing), the same display size (rotation applied, as musync plans in display size); the
timeline's frame numbers therefore point at the same pictures in the converted file. The song
becomes PCM WAV at its own sample rate and channel count. Everything is written under temporary
names in a temporary folder beside ``folder`` and renamed at the end; an existing folder is
refused unless ``overwrite``, and then only files musync writes are replaced.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import ExportError, ParameterError
from .editors import editors_for, unsupported_media

__all__ = ["collect_media", "CollectedFile", "COLLECT_CODECS", "MANIFEST", "original_path"]

#: Name of the manifest written into the folder (collected file -> original file).
MANIFEST = "musync-collect.json"

#: Intermediate codecs: name -> (suffix, ffmpeg video arguments, ffmpeg audio arguments).
COLLECT_CODECS = {
    "h264": (".mp4", ["-c:v", "libx264", "-preset", "medium", "-crf", "12", "-pix_fmt", "yuv420p",
                      "-profile:v", "high", "-movflags", "+faststart"],
             ["-c:a", "aac", "-b:a", "256k"]),
    "prores": (".mov", ["-c:v", "prores_ks", "-profile:v", "3", "-pix_fmt", "yuv422p10le",
                        "-vendor", "apl0"],
               ["-c:a", "pcm_s24le"]),
}


@dataclass(frozen=True)
class CollectedFile:
    """One file of a collect: where it came from, where it is now and how it got there."""

    original: str
    collected: str
    action: str   # "linked", "copied", "converted"
    reason: str = ""


def _unique(name: str, taken: set[str]) -> str:
    stem, suffix = os.path.splitext(name)
    k, out = 1, name
    while out.lower() in taken:
        k += 1
        out = f"{stem}-{k}{suffix}"
    taken.add(out.lower())
    return out


def _link_or_copy(src: str, dst: Path) -> str:
    try:
        os.link(src, dst)
        return "linked"
    except OSError:
        shutil.copy2(src, dst)
        return "copied"


def _convert_clip(src: str, dst: Path, codec: str, has_audio: bool) -> None:
    from ..media import run_ffmpeg

    _, vargs, aargs = COLLECT_CODECS[codec]
    # every frame, with its own timestamp: no frame dropped or duplicated (passthrough) and no
    # timestamp rounded to a 1/fps grid by the encoder (its time base is the file's own)
    args = ["-y", "-i", src, "-map", "0:v:0", *vargs, "-fps_mode", "passthrough",
            "-enc_time_base:v", "demux"]
    args += (["-map", "0:a:0?", *aargs] if has_audio else ["-an"])
    args += ["-map_metadata", "-1", "-f", "mp4" if dst.suffix == ".mp4" else "mov", str(dst)]
    run_ffmpeg(args, what=f"converting {Path(src).name} for the editor", path=src)


def _convert_song(src: str, dst: Path) -> None:
    from ..media import run_ffmpeg

    run_ffmpeg(["-y", "-i", src, "-map", "0:a:0", "-vn", "-c:a", "pcm_s24le", "-f", "wav", str(dst)],
               what=f"converting the song {Path(src).name} to WAV", path=src)


def collect_media(plan, folder, format: str, *, editor: str | None = None, codec: str = "h264",
                  overwrite: bool = False, progress=None):
    """Gather the song and the clips ``plan`` uses into ``folder`` for ``format``'s editor(s).

    Parameters
    ----------
    plan : Plan
    folder : str or Path
        Created (with its parents); must not exist unless ``overwrite``.
    format : str
        The timeline format (decides the editors, see :data:`~musync.export.editors.FORMAT_EDITORS`).
    editor : str, optional
        One editor instead (``premiere``, ``resolve``, ``finalcut``, ``kdenlive``).
    codec : {"h264", "prores"}
        The intermediate for files the editor cannot read.
    progress : callable, optional
        Called with ``(done, total, path)`` after each file.

    Returns
    -------
    (Plan, list of CollectedFile)
        The plan with every used clip and the song pointing into ``folder`` (same frames), and
        what happened to each file.
    """
    if codec not in COLLECT_CODECS:
        raise ParameterError(f"collect codec must be one of {', '.join(COLLECT_CODECS)}, not {codec!r}")
    editors_for(format, editor)  # validates the name
    folder = Path(folder).absolute()
    if folder.exists() and not folder.is_dir():
        raise ParameterError(f"{folder}: exists and is not a folder; choose another --collect folder")
    if folder.exists() and any(folder.iterdir()) and not overwrite:
        raise ParameterError(f"{folder}: the collect folder already exists and is not empty; "
                             "choose another one or pass -y to replace the files musync writes")
    bad = dict(unsupported_media(plan, format, editor))
    missing = [p for p, why in bad.items() if why == "file not found"]
    if missing:
        raise ExportError(f"{missing[0]}: file not found; cannot collect it (relink or re-plan)")
    used = list(dict.fromkeys(s.source for s in plan.shots))
    clips = {c.path: c for c in plan.clips}
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{folder.name}.part-", dir=folder.parent))
    done: list[CollectedFile] = []
    taken: set[str] = set()
    try:
        jobs = [(plan.audio.path, True)] + [(p, False) for p in used]
        for k, (src, is_song) in enumerate(jobs):
            name = Path(src).name
            if src in bad:
                suffix = ".wav" if is_song else COLLECT_CODECS[codec][0]
                name = _unique(Path(src).stem + suffix, taken)
                if is_song:
                    _convert_song(src, work / name)
                else:
                    c = clips.get(src)
                    _convert_clip(src, work / name, codec, bool(c is not None and c.has_audio))
                done.append(CollectedFile(src, str(folder / name), "converted", bad[src]))
            else:
                name = _unique(name, taken)
                done.append(CollectedFile(src, str(folder / name), _link_or_copy(src, work / name)))
            if progress is not None:
                progress(k + 1, len(jobs), src)
        manifest = {"version": 1, "format": format, "editor": editor, "codec": codec,
                    "files": {Path(f.collected).name: {"original": f.original, "action": f.action,
                                                       "reason": f.reason} for f in done}}
        (work / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
        if not folder.exists():
            os.replace(work, folder)
        else:
            for f in work.iterdir():
                os.replace(f, folder / f.name)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    from ..media import file_sha256
    from ..mediacheck import stamp_clips

    where = {f.original: f.collected for f in done}
    # the collected plan describes the collected files: their fingerprints are taken anew
    moved = [replace(c, path=where[c.path]) for c in plan.clips if c.path in where]
    moved = [s if c.file_size is not None else replace(s, file_size=None)
             for c, s in zip(moved, stamp_clips(moved))]
    new_clips = tuple(sorted([c for c in plan.clips if c.path not in where] + moved,
                             key=lambda c: c.path))
    new_shots = tuple(replace(s, source=where[s.source]) for s in plan.shots)
    song = where[plan.audio.path]
    sha = plan.audio.sha256 and (file_sha256(song) if song != plan.audio.path else plan.audio.sha256)
    new_plan = replace(plan, shots=new_shots, clips=new_clips,
                       audio=replace(plan.audio, path=song, sha256=sha))
    return new_plan, done


def original_path(path: str) -> str:
    """The original file a collected ``path`` stands for (from the manifest beside it), or
    ``path`` itself."""
    m = os.path.join(os.path.dirname(os.path.abspath(path)), MANIFEST)
    if not os.path.isfile(m):
        return path
    try:
        entry = json.loads(Path(m).read_text(encoding="utf-8")).get("files", {}).get(os.path.basename(path))
    except (OSError, ValueError, AttributeError):
        return path
    return str(entry["original"]) if isinstance(entry, dict) and entry.get("original") else path
