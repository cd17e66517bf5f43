"""Stage 3 of the planner: slots -- the shots to fill, each with its musical context.

Public:

- :class:`Slots` -- one entry per shot: record range, section, energy, the strongest accent
  inside it, its role in the arc (build, hero shot on a payoff, payoff section, outro), its
  phrase, and the shot it must keep (locks).
- :func:`make_slots` -- :class:`~musync.planner.cuts.Cuts` + the music in, :class:`Slots` out.
- :func:`strongest_accent` -- the frame offset of the strongest accent inside a span.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..types import Analysis
from .cuts import Cuts
from .music import MusicGrid, energy_at

__all__ = ["Slots", "make_slots", "strongest_accent"]


@dataclass(frozen=True, eq=False)
class Slots:
    """The shots to fill (``S`` of them), in record order.

    Attributes
    ----------
    record_in, record_out : (S,) int64
    cut_kind : tuple of str       why the cut at ``record_in`` is there
    target : (S,) float64         the pace's ideal length (frames), 0 where unknown
    section : (S,) int64          index into ``analysis.sections`` (-1 without sections)
    section_label : tuple of str
    energy : (S,) float64         mean of the song's energy over the shot, [0, 1]
    energy_rel : (S,) float64     the same in the song's own range, [0, 1]
    accent : (S,) int64           offset (frames) of the strongest accent inside the shot (0: the
                                  cut itself)
    role : tuple of str           "" or one of "build", "hero", "payoff", "outro"
    phrase : (S,) int64           index of the phrase the shot starts in
    in_climax, before_climax : (S,) bool
    fixed : tuple                 the Shot a slot must keep exactly (a lock) or None
    keep : tuple                  the Shot a slot should keep if it can (stable re-plans) or None
    """

    record_in: np.ndarray
    record_out: np.ndarray
    cut_kind: tuple
    target: np.ndarray
    section: np.ndarray
    section_label: tuple
    energy: np.ndarray
    energy_rel: np.ndarray
    accent: np.ndarray
    role: tuple
    phrase: np.ndarray
    in_climax: np.ndarray
    before_climax: np.ndarray
    fixed: tuple
    keep: tuple

    def __len__(self) -> int:
        return int(self.record_in.size)

    @property
    def length(self) -> np.ndarray:
        return self.record_out - self.record_in


def strongest_accent(grid: MusicGrid, a: int, b: int) -> int:
    """Offset from ``a`` of the strongest beat accent in ``[a + 2, b - 1)`` (0 when none): where
    a clip's motion peak should land."""
    bf = grid.beat_frames
    i0, i1 = np.searchsorted(bf, [a + 2, b - 1])
    if i1 <= i0:
        return 0
    return int(bf[i0 + int(np.argmax(grid.accent[i0:i1]))]) - a


def make_slots(cuts: Cuts, grid: MusicGrid, analysis: Analysis, *, locked=(), keep=(),
               anticipation: int = 0) -> Slots:
    """The slots of ``cuts``: one per shot, with its musical context.

    ``locked`` shots must be kept exactly (their ``record_in``/``record_out`` are cut edges);
    ``keep`` shots are kept where a slot has exactly their record range. ``anticipation``: cuts
    were moved this many frames early (a payoff's hero shot starts that much before it).
    """
    fps = float(grid.fps)
    spans = cuts.spans
    S = len(spans)
    rin = np.array([a for a, _ in spans], dtype=np.int64)
    rout = np.array([b for _, b in spans], dtype=np.int64)
    secs = list(analysis.sections)
    if secs:
        sec_idx = grid.section_index(rin).astype(np.int64)
        labels = [secs[i].label for i in sec_idx]
    else:
        sec_idx = np.full(S, -1, dtype=np.int64)
        labels = [""] * S
    grid_t = (rin[:, None] + (rout - rin)[:, None] * np.linspace(0.0, 1.0, 5)[None, :]) / fps
    e = energy_at(analysis, grid_t).mean(axis=1)
    er = grid.rel_energy_at(grid_t).mean(axis=1)
    acc = np.array([strongest_accent(grid, a, b) for a, b in spans], dtype=np.int64)
    ci = grid.climax_section() if secs else None
    mid = (rin + rout) // 2
    in_climax = np.zeros(S, dtype=bool)
    before = np.zeros(S, dtype=bool)
    if ci is not None:
        in_climax = grid.section_index(mid) == ci
        before = mid < grid.section_frames[ci]
    hero = np.zeros(S, dtype=bool)
    build = np.zeros(S, dtype=bool)
    for p in grid.payoffs:
        hero |= (p.frame - rin >= 0) & (p.frame - rin <= anticipation)
        build |= (rin >= p.build_start) & (rin < p.frame)
    outro = np.array([secs[i].kind == "outro" if i >= 0 else False for i in sec_idx], dtype=bool)
    roles = np.where(hero, "hero", np.where(build, "build", np.where(in_climax, "payoff",
                                                                         np.where(outro, "outro", ""))))
    roles = [str(r) for r in roles]
    phrase = grid.phrase_at(rin).astype(np.int64)
    by_in = {s.record_in: s for s in locked}
    fixed = tuple(by_in.get(int(a)) if by_in.get(int(a)) is not None and by_in[int(a)].record_out == b
                  else None for a, b in spans)
    keep_in = {(s.record_in, s.record_out): s for s in keep}
    kept = tuple(keep_in.get((int(a), int(b))) for a, b in spans)
    return Slots(record_in=rin, record_out=rout, cut_kind=cuts.kind[:-1] if len(cuts.kind) > S else cuts.kind,
                 target=np.asarray(cuts.target[:S], dtype=np.float64), section=sec_idx,
                 section_label=tuple(labels), energy=e, energy_rel=er, accent=acc, role=tuple(roles),
                 phrase=phrase, in_climax=in_climax, before_climax=before, fixed=fixed, keep=kept)
