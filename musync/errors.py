"""Exception hierarchy.

Library code raises these; only :mod:`musync.cli` turns them into exit codes.

- :class:`MusyncError` -- root of everything musync raises on purpose.
- :class:`ParameterError` -- a bad option or argument (CLI exit code 2).
- :class:`MediaError` -- an input file that is missing, unreadable or unusable (exit code 3).
- :class:`PlanError` -- a plan that breaks an invariant (exit code 3).
- :class:`ExportError` -- a timeline that cannot be written or read back (exit code 1).
"""

from __future__ import annotations

__all__ = ["MusyncError", "ParameterError", "MediaError", "PlanError", "ExportError"]


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


class PlanError(MusyncError):
    """A plan (usually hand-edited) breaks an invariant; the message names the shot."""

    exit_code = 3


class ExportError(MusyncError):
    """A timeline could not be written or read back."""

    exit_code = 1
