"""The clip library: probe, validate and measure every clip (see :mod:`musync.clips.scan`).

Public functions:

- :func:`scan_clips` -- files and folders in, a :class:`~musync.types.ScanResult` out (a list of
  :class:`~musync.types.ClipInfo` with ``.skipped``); parallel, cached, with progress.
- :func:`scan_clip` -- one file in, one ClipInfo out (or a :class:`~musync.errors.MediaError`
  saying why it cannot be used).
- :func:`collect_files` -- which files a folder contributes.
- :func:`save_clips` / :func:`load_clips` -- the clip-library JSON file.
- :func:`find_duplicates` -- group clips that show the same shot.
- :func:`frames_match` / :func:`thumb_distance` / :func:`frame_thumbnail` -- check a decoded
  frame against the clip record's per-second prints.
- :func:`upscale_factor` / :func:`quality_at` -- quality at an output size.
- :func:`format_table` / :func:`format_skipped` / :func:`format_flags` / :func:`format_groups`
  -- the text ``musync scan`` prints.

The measurements themselves live in :mod:`musync.clips.features` (frame signals),
:mod:`musync.clips.content` (content flags), :mod:`musync.clips.fingerprint` (prints and
duplicates), :mod:`musync.clips.quality` (quality, heroes, region of interest) and
:mod:`musync.clips.picture` (all of these composed).
"""

from .features import frame_thumbnail
from .fingerprint import find_duplicates, frames_match, thumb_distance
from .quality import quality_at, upscale_factor
from .scan import (IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, collect_files, decode_floor, load_clips,
                   save_clips, scan_clip, scan_clips)
from .table import format_flags, format_groups, format_skipped, format_table

__all__ = ["scan_clips", "scan_clip", "collect_files", "save_clips", "load_clips", "decode_floor",
           "find_duplicates", "frames_match", "thumb_distance", "frame_thumbnail",
           "upscale_factor", "quality_at", "format_table", "format_skipped", "format_flags",
           "format_groups", "VIDEO_EXTENSIONS", "IMAGE_EXTENSIONS"]
