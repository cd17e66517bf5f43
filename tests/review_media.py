"""A small real review setup shared by the review tests: a generated song, five generated
clips, their analysis and scan, and a plan file made by the planner."""

from __future__ import annotations

import shutil
from pathlib import Path

import musync
from musync.testing import make_clip_files, make_song


def make_review_media(folder: Path) -> dict:
    """Write ``song.wav``, ``clips/`` and ``plan.json`` into ``folder``; return the paths and
    the Analysis and clips used."""
    folder.mkdir(parents=True, exist_ok=True)
    song = make_song(bpm=120, form=[("intro", 2), ("verse", 2), ("chorus", 4), ("outro", 2)],
                     pickup=1, seed=3).write(folder / "song.wav")
    make_clip_files(folder / "clips", 5, seconds=3.0, size=(160, 90), seed=3)
    analysis = musync.analyze(song)
    clips = musync.scan_clips([folder / "clips"], progress="none")
    plan = musync.plan(analysis, clips)
    musync.save_plan(plan, folder / "plan.json")
    return {"folder": folder, "song": song, "plan_path": folder / "plan.json", "analysis": analysis,
            "clips": clips, "plan": plan}


def fresh_plan(media: dict, folder: Path, name: str = "plan.json") -> Path:
    """A copy of the fixture's plan file in ``folder`` (tests change their own copy)."""
    out = folder / name
    shutil.copyfile(media["plan_path"], out)
    return out
