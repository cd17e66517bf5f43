"""Stage 6 of the planner: the shots -- slots, assignment and units become :class:`Shot` records
with a reason a director can read.

Public: :func:`make_shots`.
"""

from __future__ import annotations

import numpy as np

from ..types import Shot
from .assign import Assignment
from .costs import Costs
from .slots import Slots

__all__ = ["make_shots"]

_ROLE_TEXT = {"build": "build-up", "hero": "hero shot on the payoff", "payoff": "payoff section",
              "outro": "outro"}


def _seen(sight, u: int, unit, hero_slot: bool) -> list[str]:
    """What the shot's reason says about the picture."""
    from .seeing import UPSCALE_LIMIT

    out = []
    if hero_slot and sight.hero[u] > 0:
        out.append(f"hero range of {unit.path.rsplit('/', 1)[-1]} (score {sight.hero[u]:.2f})")
    if sight.flagged[u]:
        out.append(f"flagged: {unit.flag_reason}; nothing else fits")
    if sight.upscale[u] > UPSCALE_LIMIT:
        out.append(f"blown up {sight.upscale[u]:.1f}x; nothing sharper fits")
    return out


def make_shots(slots: Slots, assignment: Assignment, units, costs: Costs, *, lock_edges=frozenset(),
               motion_rank=None, sight=None) -> list[Shot]:
    """One :class:`Shot` per slot. Locked slots return their locked shot unchanged (re-indexed);
    kept slots of a stable re-plan keep their reason and scores. With ``sight`` (what the scan
    saw), a hero range, a flagged range or a blown-up source is named in the reason."""
    out = []
    counts: dict[str, int] = {}
    mrank = motion_rank if motion_rank is not None else np.zeros(len(units))
    for k in range(len(slots)):
        u = int(assignment.unit[k])
        unit = units[u]
        a, b = int(slots.record_in[k]), int(slots.record_out[k])
        n_use = counts.get(unit.path, 0)
        counts[unit.path] = n_use + 1
        fixed = slots.fixed[k]
        if fixed is not None:
            out.append(Shot(index=k, source=fixed.source, source_in=fixed.source_in,
                            source_out=fixed.source_out, record_in=a, record_out=b, locked=fixed.locked,
                            reason=fixed.reason, section=fixed.section or slots.section_label[k],
                            energy=fixed.energy, scores=fixed.scores))
            continue
        keep = slots.keep[k]
        src = int(assignment.source_in[k])
        if keep is not None and keep.source == unit.path and keep.source_in == src:
            out.append(Shot(index=k, source=keep.source, source_in=src, source_out=src + (b - a),
                            record_in=a, record_out=b, locked=False, reason=keep.reason,
                            section=slots.section_label[k], energy=float(slots.energy[k]),
                            scores=keep.scores))
            continue
        kind = slots.cut_kind[k] or ("start" if a == 0 else "beat")
        why = [f"cut: {kind}"]
        if a in lock_edges and a != 0:
            why = ["cut: next to a locked shot"]
        role = slots.role[k]
        if role:
            why.append(_ROLE_TEXT.get(role, role))
        why.append(f"energy {slots.energy[k]:.2f}, clip motion {unit.motion:.2f}")
        if assignment.peak_hit[k]:
            why.append("motion peak on the accent")
        if "climax" in costs.terms and slots.in_climax[k] and costs.terms["climax"][k, u] < 0:
            why.append("held back for the climax")
        if sight is not None:
            why.extend(_seen(sight, u, unit, "picture_hero" in costs.terms
                             and costs.terms["picture_hero"][k, u] < 0))
        if n_use:
            why.append(f"reuse #{n_use + 1}")
        L = b - a
        tgt = float(slots.target[k]) if slots.target[k] > 0 else float(L)
        sc = {"motion_fit": 1.0 - abs(float(mrank[u]) - float(slots.energy_rel[k])),
              "target_fit": float(np.clip(1.0 - abs(np.log(L / max(tgt, 1.0))), 0.0, 1.0)),
              "peak_on_accent": 1.0 if assignment.peak_hit[k] else 0.0}
        if sight is not None:
            sc.update(quality=float(sight.quality[u]), subject_fit=float(sight.fit[u]))
        out.append(Shot(index=k, source=unit.path, source_in=src, source_out=src + L, record_in=a,
                        record_out=b, locked=False, reason="; ".join(why),
                        section=slots.section_label[k], energy=float(slots.energy[k]), scores=sc))
    return out
