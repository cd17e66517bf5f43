"""Process set-up done once, before numba is imported.

numba's ``cache=True`` writes compiled kernels next to the source files (``__pycache__`` inside
the installed package). pip does not know those files, so uninstalling or switching between a
normal and an editable install leaves a half-deleted ``musync`` folder behind that shadows the new
install. musync therefore points numba's cache at its own cache folder
(``$MUSYNC_CACHE_DIR/numba``, default ``~/.cache/musync/numba``) unless ``NUMBA_CACHE_DIR`` is
already set or numba was imported first, and only when that folder is writable.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def configure_numba_cache() -> None:
    if "NUMBA_CACHE_DIR" in os.environ or "numba" in sys.modules:
        return
    base = os.environ.get("MUSYNC_CACHE_DIR")
    if not base:
        xdg = os.environ.get("XDG_CACHE_HOME")
        base = os.path.join(xdg if xdg else os.path.join(str(Path.home()), ".cache"), "musync")
    target = os.path.join(base, "numba")
    try:
        os.makedirs(target, exist_ok=True)
    except OSError:
        return
    if os.access(target, os.W_OK):
        os.environ["NUMBA_CACHE_DIR"] = target
