"""Exception hierarchy.

Library code raises these; only :mod:`musync.cli` turns them into exit codes.

- :class:`MusyncError` -- root of everything musync raises on purpose.
- :class:`ParameterError` -- a bad option or argument (CLI exit code 2).
- :class:`MediaError` -- an input file that is missing, unreadable or unusable (exit code 3).
- :class:`MediaChangedError` -- a song or clip differs from the file the plan was made from
  (exit code 3; pass ``--allow-changed-media`` or ``allow_changed_media=True`` to use it anyway).
- :class:`PlanError` -- a plan that breaks an invariant (exit code 3).
- :class:`ExportError` -- a timeline that cannot be written or read back (exit code 1).
- :class:`RenderError` -- the encoder or a decoder failed while rendering (exit code 1).
- :class:`OutputExistsError` -- an output file exists and overwriting was not asked for
  (exit code 4; pass ``-y/--overwrite`` or ``overwrite=True``).
- :class:`Interrupted` -- SIGINT or SIGTERM (or SIGHUP, SIGQUIT) arrived; raised by the CLI's signal
  handlers so every ``finally`` runs (exit code 128 + the signal: 130 for SIGINT, 143 for SIGTERM,
  129 for SIGHUP). A ``KeyboardInterrupt``.

Exit codes of the ``musync`` command: 0 ok, 1 runtime error, 2 usage error, 3 bad input,
4 output exists, 128 + the signal when one stopped it (130 SIGINT, 143 SIGTERM, 129 SIGHUP).
"""

from __future__ import annotations

__all__ = ["MusyncError", "ParameterError", "MediaError", "MediaChangedError", "PlanError", "ExportError", "RenderError",
           "OutputExistsError", "Interrupted"]


class MusyncError(Exception):
    """Root of all errors raised by musync."""

    exit_code = 1


class ParameterError(MusyncError, ValueError):
    """An option or argument is out of range or inconsistent."""

    exit_code = 2


class MediaError(MusyncError):
    """An input media file is missing, unreadable, corrupt or unusable.

    The message always names the file and says what to do.
    """

    exit_code = 3

    def __init__(self, path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class MediaChangedError(MediaError):
    """A song or clip is not the file the plan was made from (replaced, truncated, edited)."""


class PlanError(MusyncError):
    """A plan (usually hand-edited) breaks an invariant; the message names the shot."""

    exit_code = 3


class ExportError(MusyncError):
    """A timeline could not be written or read back."""

    exit_code = 1


class RenderError(MusyncError):
    """The encoder (ffmpeg) or a decoder failed while rendering; the message says which and why."""

    exit_code = 1


class OutputExistsError(MusyncError, FileExistsError):
    """An output file already exists and ``overwrite`` was not given."""

    exit_code = 4

    def __init__(self, path):
        self.path = str(path)
        super().__init__(f"{self.path}: already exists; pass -y/--overwrite to replace it")


class Interrupted(KeyboardInterrupt):
    """A signal (SIGINT, SIGTERM, SIGHUP or SIGQUIT) asked musync to stop; cleanup runs as for Ctrl-C."""

    def __init__(self, signum: int):
        import signal

        self.signum = int(signum)
        self.exit_code = 128 + self.signum
        super().__init__(f"interrupted by {signal.Signals(self.signum).name}")
