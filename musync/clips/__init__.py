"""The clip library: probe, validate and measure every clip (see :mod:`musync.clips.scan`).

Public functions:

- :func:`scan_clips` -- files and folders in, a :class:`~musync.types.ScanResult` out (a list of
  :class:`~musync.types.ClipInfo` with ``.skipped``); parallel, cached, with progress.
- :func:`scan_clip` -- one file in, one ClipInfo out (or a :class:`~musync.errors.MediaError`
  saying why it cannot be used).
- :func:`collect_files` -- which files a folder contributes.
- :func:`save_clips` / :func:`load_clips` -- the clip-library JSON file.
- :func:`format_table` / :func:`format_skipped` -- the text ``musync scan`` prints.

The measurements themselves live in :mod:`musync.clips.features`.
"""

from .scan import (IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, collect_files, decode_floor, load_clips,
                   save_clips, scan_clip, scan_clips)
from .table import format_skipped, format_table

__all__ = ["scan_clips", "scan_clip", "collect_files", "save_clips", "load_clips", "decode_floor",
           "format_table", "format_skipped", "VIDEO_EXTENSIONS", "IMAGE_EXTENSIONS"]
