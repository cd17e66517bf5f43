"""The director's desk: see the proposal, lock, swap, re-plan and compare variants.

Public API:

- :func:`diff_plans` / :func:`format_diff` -- what changed between two plans (shots added,
  removed, moved, re-sourced, slipped, trimmed; metric and setting changes): one function for the
  review page, ``musync diff`` and the report.
- :func:`lock_shots`, :func:`swap_clip`, :func:`set_in_point`, :func:`nudge_cut`,
  :func:`alternatives` -- a director's edits, each a valid plan in, a valid plan out.
- :func:`save_keeping_previous` -- atomic save that keeps the replaced version.
- :class:`ReviewSession` -- one review: current plan, undo/redo, saved version, variants, renders.
- :func:`make_app` / :func:`serve` -- the local web app (Starlette + uvicorn, 127.0.0.1 only,
  a per-run token); the JSON API is documented in :mod:`musync.review.server`.
- :func:`write_report` -- the same picture as one self-contained, read-only HTML file.
"""

from .diff import PlanDiff, ShotChange, diff_plans, format_diff
from .edit import alternatives, lock_shots, nudge_cut, set_in_point, swap_clip
from .store import save_keeping_previous
from .session import ReviewSession
from .server import make_app, serve
from .report import write_report

__all__ = ["diff_plans", "format_diff", "PlanDiff", "ShotChange", "lock_shots", "swap_clip", "set_in_point",
           "nudge_cut", "alternatives", "save_keeping_previous", "ReviewSession", "make_app", "serve",
           "write_report"]
