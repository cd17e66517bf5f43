"""Content-keyed cache of analysis results and clip features (JSON and npz only, never pickle).

The cache lives in ``$MUSYNC_CACHE_DIR``, else the platform's user cache folder (:func:`cache_dir`).
Entries are keyed by a hash of (kind, content key, parameters, musync version); writes are
atomic, and an unreadable entry is treated as a miss.

Public functions: :func:`cache_dir`, :func:`make_key`, :func:`get_json`, :func:`put_json`,
:func:`get_arrays`, :func:`put_arrays`, :func:`entry_path` (for entries written by their owner,
such as proxy videos), :func:`clear`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from ._version import __version__

__all__ = ["cache_dir", "make_key", "get_json", "put_json", "get_arrays", "put_arrays", "entry_path",
           "clear"]


def cache_dir() -> Path:
    """``$MUSYNC_CACHE_DIR`` if set, else the platform's user cache folder for musync
    (``platformdirs``: ``~/.cache/musync`` or ``$XDG_CACHE_HOME/musync`` on Linux,
    ``~/Library/Caches/musync`` on macOS, ``%LOCALAPPDATA%\\musync\\Cache`` on Windows)."""
    env = os.environ.get("MUSYNC_CACHE_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("musync", appauthor=False))


def make_key(kind: str, content: str, params: dict) -> str:
    """A stable key for ``kind`` (e.g. "analysis"), a content key and a parameter dict."""
    blob = json.dumps({"kind": kind, "content": content, "params": params, "v": __version__},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:40]


def _path(kind: str, key: str, ext: str) -> Path:
    return cache_dir() / kind / f"{key}{ext}"


def entry_path(kind: str, key: str, ext: str) -> Path:
    """Where the entry ``key`` of ``kind`` with suffix ``ext`` (e.g. ``".mp4"``) lives; the
    caller writes it atomically (its folder is created here)."""
    p = _path(kind, key, ext)
    p.parent.mkdir(parents=True, exist_ok=True)
    return p


def _atomic_write(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def get_json(kind: str, key: str):
    p = _path(kind, key, ".json")
    try:
        with open(p, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def put_json(kind: str, key: str, obj) -> None:
    data = json.dumps(obj, sort_keys=True).encode()
    try:
        _atomic_write(_path(kind, key, ".json"), lambda fh: fh.write(data))
    except OSError:
        pass  # a read-only cache is not an error


def get_arrays(kind: str, key: str) -> dict[str, np.ndarray] | None:
    p = _path(kind, key, ".npz")
    try:
        with np.load(p, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError, KeyError):
        return None


def put_arrays(kind: str, key: str, arrays: dict[str, np.ndarray]) -> None:
    try:
        _atomic_write(_path(kind, key, ".npz"), lambda fh: np.savez_compressed(fh, **arrays))
    except OSError:
        pass


def clear(kind: str | None = None) -> None:
    """Remove cached entries (of one kind, or all)."""
    target = cache_dir() / kind if kind else cache_dir()
    shutil.rmtree(target, ignore_errors=True)
