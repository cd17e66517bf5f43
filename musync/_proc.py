"""Child processes (ffmpeg) that never outlive musync, whatever signal arrives.

Every child musync starts goes through :func:`spawn`:

- it runs in **its own process group**, so a terminal's Ctrl-C (or a SIGINT sent to musync's
  process group by a script) reaches only musync, which then ends the child in order, instead of
  the child stopping on its own while musync blocks writing to its pipe;
- on Linux it gets a **parent-death signal** (``PR_SET_PDEATHSIG``, SIGKILL): if musync itself is
  killed with SIGKILL, the kernel ends the child too;
- its stdin is a pipe only when the caller feeds it, otherwise ``/dev/null``.

:func:`stop` ends a child: close its stdin, SIGTERM to its group, wait, then SIGKILL, then reap.
:func:`write_all` writes to a child's stdin with a timeout, so a child that stops reading can
never hang musync.

Public: :func:`spawn`, :func:`stop`, :func:`write_all`, :func:`die_with_parent`,
:func:`signals_deferred`, :func:`sigterm_as_interrupt`, :func:`take_signals` /
:func:`restore_handlers`.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import signal
import subprocess
import sys
import time

__all__ = ["spawn", "stop", "write_all", "die_with_parent", "signals_deferred", "sigterm_as_interrupt",
           "take_signals", "restore_handlers", "PipeTimeout", "ONLY_IF_DEFAULT", "CLI_ONLY_IF_DEFAULT"]

_PR_SET_PDEATHSIG = 1


class PipeTimeout(OSError):
    """A child did not read its stdin for longer than the timeout."""


def _libc():
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:            # pragma: no cover
        return None


_LIBC = _libc()


#: Signals that are interrupts only where they would end the process (their handler is the
#: default one): a closed terminal's SIGHUP, where POSIX has it (``nohup`` ignores it, and a
#: host may have its own use for it). The command line takes SIGQUIT (Ctrl-backslash) too
#: (:data:`CLI_ONLY_IF_DEFAULT`); a library call leaves it alone, since a handler installed
#: from C (``faulthandler.register``) looks like the default one from Python and would be lost.
ONLY_IF_DEFAULT = tuple(getattr(signal, n) for n in ("SIGHUP",) if hasattr(signal, n))
CLI_ONLY_IF_DEFAULT = ONLY_IF_DEFAULT + tuple(getattr(signal, n) for n in ("SIGQUIT",) if hasattr(signal, n))
#: What :func:`signals_deferred` may hold back, in the order it replays them: end now (SIGTERM,
#: a hang-up, a quit) outranks Ctrl-C.
_DEFERRED = (signal.SIGTERM,) + CLI_ONLY_IF_DEFAULT + (signal.SIGINT,)


def take_signals(handler, always, if_default=()) -> dict:
    """Install ``handler`` for the signals ``always`` and for those of ``if_default`` whose
    handler is the default one (not ignored, not the host's); returns the handlers it replaced
    (signal -> handler) for :func:`restore_handlers`. A signal that cannot be taken here (an
    embedded interpreter, ...) is left as it is."""
    old = {}
    for sig in tuple(always) + tuple(if_default):
        if sig in if_default and signal.getsignal(sig) is not signal.SIG_DFL:
            continue
        try:
            old[sig] = signal.signal(sig, handler)
        except (ValueError, OSError):
            pass
    return old


def restore_handlers(saved: dict) -> None:
    """Put every handler of ``saved`` (signal -> handler) back, even if a handler already put
    back fires on the way (its exception is raised once all are back: no signal is left with a
    temporary handler). A handler that was not installed from Python (None) cannot be put back
    from Python and is skipped."""
    todo = [(sig, h) for sig, h in saved.items() if h is not None]
    pending = None
    while todo:
        try:
            while todo:
                sig, h = todo[0]
                with contextlib.suppress(ValueError, OSError):
                    signal.signal(sig, h)
                todo.pop(0)            # (setting one twice after an interruption is harmless)
        except (KeyboardInterrupt, SystemExit) as exc:   # a handler put back fired (Interrupted)
            pending = pending or exc
    if pending is not None:
        raise pending


@contextlib.contextmanager
def signals_deferred():
    """Hold SIGINT and SIGTERM (and SIGHUP and SIGQUIT where musync handles them) back for the
    duration of the block (main thread, POSIX).

    Use it around "start a child and keep its handle" (``enc = Encoder(...)``), so that an
    interrupt cannot arrive after the child started but before the caller can end it; a signal
    that came meanwhile is delivered as soon as the block ends (one: the one that ends the
    process soonest). An ignored signal stays ignored; SIGHUP and SIGQUIT are held only where a
    handler from Python is installed (:func:`sigterm_as_interrupt`, the command line).
    """
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    # Python runs signal handlers in the main thread whichever thread the kernel picked, so a
    # thread mask alone does not hold a signal back once the host has other threads (a Dask
    # client, a web server): swap the handlers for a recorder instead and replay afterwards
    held: list[int] = []
    saved = {}
    for sig in _DEFERRED:
        h = signal.getsignal(sig)
        if h is None or h is signal.SIG_IGN:    # None: a handler not installed from Python
            continue
        if sig in CLI_ONLY_IF_DEFAULT and not callable(h):
            continue
        saved[sig] = h
        signal.signal(sig, lambda s, f: held.append(s))
    try:
        yield
    finally:
        restore_handlers(saved)
        if held:
            # one replay: the first handler may raise and end the block's caller, so a second
            # would be lost
            signal.raise_signal(min(held, key=_DEFERRED.index))


@contextlib.contextmanager
def sigterm_as_interrupt(*, only_if_unhandled: bool = False):
    """Within the block, the first SIGTERM raises :class:`~musync.errors.Interrupted` (a
    ``KeyboardInterrupt``) so that cleanup runs as for Ctrl-C; so does SIGHUP (the terminal was
    closed) where it would end the process (:data:`ONLY_IF_DEFAULT`: not under ``nohup``, not
    where the host handles it). Main thread only. With ``only_if_unhandled`` nothing changes
    where the host already handles SIGTERM (the command line installs its own handlers)."""
    import threading

    from .errors import Interrupted

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    if only_if_unhandled and signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, None):
        yield
        return
    fired = []

    def handler(signum, frame):
        if not fired:
            fired.append(signum)
            raise Interrupted(signum)

    old = take_signals(handler, (signal.SIGTERM,), ONLY_IF_DEFAULT)
    try:
        yield
    finally:
        restore_handlers(old)


def _child_setup(parent_pid: int):
    def setup():             # runs in the child between fork and exec: keep it tiny
        if hasattr(signal, "pthread_sigmask"):      # a child of signals_deferred() starts unblocked
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _DEFERRED)
        if _LIBC is not None:
            _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            if os.getppid() != parent_pid:     # the parent died before prctl took effect
                os._exit(1)
        # a child must not inherit an "ignore SIGINT/SIGTERM" from a parent started with nohup
        # or as a background job: musync decides when it ends, through stop()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    return setup


def die_with_parent() -> None:
    """In a worker process (e.g. a process pool's initializer): have the kernel end this process
    when its parent dies (Linux; a no-op elsewhere)."""
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def spawn(cmd: list[str], *, stdin=None, stdout=None, stderr=None, **kw) -> subprocess.Popen:
    """Start ``cmd`` as a child that cannot outlive musync (see the module docstring).

    ``stdin``/``stdout``/``stderr`` are as for :class:`subprocess.Popen` (``None`` for stdin
    means ``/dev/null``).
    """
    if stdin is None:
        stdin = subprocess.DEVNULL
    return subprocess.Popen(cmd, stdin=stdin, stdout=stdout, stderr=stderr,
                            process_group=0, preexec_fn=_child_setup(os.getpid()), **kw)


def stop(proc: subprocess.Popen, *, grace: float = 3.0) -> None:
    """End ``proc`` (if still running) and reap it; safe to call twice."""
    with contextlib.suppress(Exception):
        if proc.stdin:
            proc.stdin.close()
    if proc.poll() is None:
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        proc.wait(timeout=10)


def write_all(proc: subprocess.Popen, data, *, timeout: float = 60.0) -> None:
    """Write ``data`` (bytes-like) to ``proc.stdin``; raise :class:`PipeTimeout` if the child
    reads nothing for ``timeout`` seconds, ``BrokenPipeError`` if it has gone."""
    fd = proc.stdin.fileno()
    view = memoryview(data).cast("B")
    os.set_blocking(fd, False)
    try:
        while view:
            try:
                n = os.write(fd, view)
                view = view[n:]
                continue
            except BlockingIOError:
                pass
            deadline = time.monotonic() + timeout
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise PipeTimeout(f"the child process read nothing for {timeout:.0f} s")
                _, writable, _ = select.select([], [fd], [], min(left, 1.0))
                if writable:
                    break
                if proc.poll() is not None:
                    raise BrokenPipeError("the child process has ended")
    finally:
        with contextlib.suppress(OSError, ValueError):
            os.set_blocking(fd, True)
