"""Safe files: outputs written to a temporary name beside the target and renamed at the end;
inputs checked to be regular files of a sane size before they are read.

Temporary outputs are named ``.<stem>.musync-<pid>-<random>.part<suffix>``: a later call that
writes into the same folder removes such files whose process is gone (a run killed with
SIGKILL cannot clean up after itself).

Public: :func:`atomic_output`, :func:`check_output`, :func:`write_text`, :func:`read_json`,
:func:`check_input_file`, :func:`read_bytes`, :func:`remove_stale_parts`.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from .errors import MusyncError, OutputExistsError, ParameterError

__all__ = ["atomic_output", "check_output", "write_text", "read_json", "check_input_file", "read_bytes",
           "remove_stale_parts", "TEMP_TAG"]

#: The marker in the names of musync's temporary outputs (followed by ``<pid>-``).
TEMP_TAG = ".musync-"
#: The largest JSON or timeline file musync reads (a plan of a 60-minute mix is a few MB).
MAX_TEXT_BYTES = 256 * 2**20


def check_output(path, *, overwrite: bool = False) -> Path:
    """Refuse to clobber an existing output unless ``overwrite``; check the folder exists."""
    p = Path(path)
    if p.exists() and not overwrite:
        raise OutputExistsError(p)
    if p.exists() and p.is_dir():
        raise ParameterError(f"{p}: is a folder; give a file name")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise ParameterError(f"{p}: folder {parent} does not exist; create it first")
    return p


@contextlib.contextmanager
def atomic_output(path, *, overwrite: bool = False, suffix: str | None = None, error=MusyncError):
    """Yield a temporary path in the target's folder; rename it to ``path`` on success.

    On any exception (including KeyboardInterrupt) the temporary file is removed and ``path`` is
    left untouched. A temporary file that is missing or empty at the end is never renamed into
    place: ``error`` (a MusyncError subclass, e.g. RenderError or ExportError) is raised.
    """
    p = check_output(path, overwrite=overwrite)
    sfx = suffix if suffix is not None else p.suffix
    remove_stale_parts(p.parent if str(p.parent) else ".")
    fd, tmp = tempfile.mkstemp(prefix=f".{p.stem}{TEMP_TAG}{os.getpid()}-", suffix=f".part{sfx}",
                               dir=p.parent or ".")
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if not tmp_path.exists() or tmp_path.stat().st_size == 0:
            raise error(f"{p}: nothing was written (the output would be empty); nothing was replaced")
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


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:          # someone else's process: alive
        return True
    except OSError:
        return True
    return True


def remove_stale_parts(folder) -> list[Path]:
    """Remove musync's temporary outputs in ``folder`` whose writing process no longer exists.

    Only files named by :func:`atomic_output` (``.<stem>.musync-<pid>-*.part*``) and owned by the
    current user are touched. Returns the removed paths.
    """
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    uid = os.getuid() if hasattr(os, "getuid") else None
    for e in entries:
        name = e.name
        if not name.startswith(".") or TEMP_TAG not in name or ".part" not in name:
            continue
        pid_txt = name.split(TEMP_TAG, 1)[1].split("-", 1)[0]
        if not pid_txt.isdigit():
            continue
        pid = int(pid_txt)
        if pid == os.getpid() or _pid_alive(pid):
            continue
        try:
            st = e.stat(follow_symlinks=False)
            if uid is not None and st.st_uid != uid:
                continue
            if e.is_dir(follow_symlinks=False):
                import shutil

                shutil.rmtree(e.path)
            else:
                os.unlink(e.path)
            removed.append(Path(e.path))
        except OSError:
            continue
    return removed


def check_input_file(path, *, what: str = "file", max_bytes: int | None = None) -> Path:
    """Check that ``path`` is an existing, readable, non-empty **regular** file; return it.

    Pipes, devices and sockets are refused (reading them can block forever or never end), as
    are files larger than ``max_bytes``. Raises :class:`~musync.errors.MediaError` naming the
    file and what to do.
    """
    import stat

    from .errors import MediaError

    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise MediaError(p, "file not found; check the path") from None
    except OSError as exc:
        raise MediaError(p, f"cannot be read ({exc.strerror or exc}); check the path") from None
    if stat.S_ISDIR(st.st_mode):
        raise MediaError(p, f"is a folder; give a {what}")
    if not stat.S_ISREG(st.st_mode):
        kind = ("a pipe" if stat.S_ISFIFO(st.st_mode) else "a device" if stat.S_ISCHR(st.st_mode)
                or stat.S_ISBLK(st.st_mode) else "a socket" if stat.S_ISSOCK(st.st_mode) else "not a file")
        raise MediaError(p, f"is {kind}, not a regular file; give a {what} saved on disk")
    if not os.access(p, os.R_OK):
        raise MediaError(p, "cannot be read (permission denied)")
    if st.st_size == 0:
        raise MediaError(p, f"is empty (0 bytes); give a {what} with content")
    if max_bytes is not None and st.st_size > max_bytes:
        raise MediaError(p, f"is {st.st_size / 2**20:.0f} MB, too large for a {what} "
                            f"(at most {max_bytes / 2**20:.0f} MB); check that this is the right file")
    return p


def read_bytes(path, *, what: str = "file", max_bytes: int = MAX_TEXT_BYTES) -> bytes:
    """The contents of a regular file checked by :func:`check_input_file` (never blocks on a pipe)."""
    from .errors import MediaError

    p = check_input_file(path, what=what, max_bytes=max_bytes)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(p, flags)
    except OSError as exc:
        raise MediaError(p, f"cannot be read ({exc.strerror or exc})") from None
    with os.fdopen(fd, "rb") as fh:
        import stat

        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):     # swapped since the check
            raise MediaError(p, f"is not a regular file; give a {what} saved on disk")
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise MediaError(p, f"is too large for a {what}; check that this is the right file")
    return data


def read_json(path, *, what: str, how: str):
    """Parse the JSON file at ``path``; a missing, unreadable, non-regular, oversized or
    unparsable file raises MediaError saying it is not ``what`` (e.g. "an analysis JSON file")
    and ``how`` to make one."""
    import json

    from .errors import MediaError

    p = Path(path)
    data = read_bytes(p, what=what.removeprefix("an ").removeprefix("a "))
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise MediaError(p, f"is not a readable {what} ({exc}); {how}") from None
