"""Safe output files: write to a temporary name beside the target, rename at the end.

Public: :func:`atomic_output`, :func:`check_output`, :func:`write_text`, :func:`read_json`.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from .errors import MusyncError, ParameterError

__all__ = ["atomic_output", "check_output", "write_text", "read_json"]


def check_output(path, *, overwrite: bool = False) -> Path:
    """Refuse to clobber an existing output unless ``overwrite``; check the folder exists."""
    p = Path(path)
    if p.exists() and not overwrite:
        raise ParameterError(f"{p}: already exists; pass -y/--overwrite to replace it")
    if p.exists() and p.is_dir():
        raise ParameterError(f"{p}: is a folder; give a file name")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise ParameterError(f"{p}: folder {parent} does not exist; create it first")
    return p


@contextlib.contextmanager
def atomic_output(path, *, overwrite: bool = False, suffix: str | None = None):
    """Yield a temporary path in the target's folder; rename it to ``path`` on success.

    On any exception (including KeyboardInterrupt) the temporary file is removed and ``path`` is
    left untouched.
    """
    p = check_output(path, overwrite=overwrite)
    sfx = suffix if suffix is not None else p.suffix
    fd, tmp = tempfile.mkstemp(prefix=f".{p.stem}.", suffix=f".part{sfx}", dir=p.parent or ".")
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if not tmp_path.exists() or tmp_path.stat().st_size == 0:
            raise MusyncError(f"{p}: nothing was written")
        # mkstemp makes the file private; give it the permissions a normal file would get
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)
        os.replace(tmp_path, p)
    finally:
        with contextlib.suppress(OSError):
            tmp_path.unlink()


def write_text(path, text: str, *, overwrite: bool = False) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through :func:`atomic_output`; return the path."""
    with atomic_output(path, overwrite=overwrite) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")
    return Path(path)


def read_json(path, *, what: str, how: str):
    """Parse the JSON file at ``path``; a missing or unparsable file raises MediaError saying it
    is not ``what`` (e.g. "an analysis JSON file") and ``how`` to make one."""
    import json

    from .errors import MediaError

    p = Path(path)
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MediaError(p, "file not found; check the path") from None
    except (OSError, ValueError) as exc:
        raise MediaError(p, f"is not a readable {what} ({exc}); {how}") from None
