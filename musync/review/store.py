"""Saving a reviewed plan without losing anything.

Public: :func:`save_keeping_previous`, :func:`history_dir`, :func:`recovery_path`.

``save_keeping_previous(plan, "plan.json")`` keeps the file it replaces as
``plan.json.history/plan-0001.json`` (numbers grow; the newest :data:`KEEP` are kept), then
writes the new plan under a temporary name and renames it over ``plan.json``: at every moment
either the old or the new plan is complete on disk, and the old one is kept as well.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from ..planfile import plan_to_json, validate_plan
from .._fs import write_text
from ..types import Plan

__all__ = ["save_keeping_previous", "history_dir", "recovery_path", "KEEP"]

#: How many previous versions a plan's history folder keeps.
KEEP = 50


def history_dir(path) -> Path:
    """The folder that keeps the previous versions of the plan file ``path``."""
    p = Path(path)
    return p.with_name(p.name + ".history")


def recovery_path(path) -> Path:
    """Where the review writes unsaved changes when it is stopped: ``plan.json`` ->
    ``plan.unsaved.json``."""
    p = Path(path)
    return p.with_name(f"{p.stem}.unsaved{p.suffix or '.json'}")


def _versions(folder: Path, stem: str) -> list[tuple[int, Path]]:
    pat = re.compile(re.escape(stem) + r"-(\d+)\.json$")
    out = []
    if folder.is_dir():
        for f in folder.iterdir():
            m = pat.match(f.name)
            if m:
                out.append((int(m.group(1)), f))
    return sorted(out)


def save_keeping_previous(plan: Plan, path) -> tuple[Path, Path | None]:
    """Write ``plan`` to ``path`` atomically; an existing file there is kept in
    :func:`history_dir` first. Returns ``(path, where the previous version went or None)``.
    An existing file with the same content is left as it is (no new version)."""
    validate_plan(plan)
    p = Path(path)
    text = plan_to_json(plan)
    previous = None
    if p.exists():
        if p.read_text(encoding="utf-8", errors="replace") == text:
            return p, None
        folder = history_dir(p)
        folder.mkdir(exist_ok=True)
        versions = _versions(folder, p.stem)
        n = versions[-1][0] + 1 if versions else 1
        previous = folder / f"{p.stem}-{n:04d}.json"
        tmp = folder / f".{previous.name}.part"
        shutil.copy2(p, tmp)
        os.replace(tmp, previous)
        for _, old in versions[:max(0, len(versions) + 1 - KEEP)]:
            old.unlink(missing_ok=True)
    write_text(p, text, overwrite=True)
    return p, previous
