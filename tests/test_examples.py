"""Every script in examples/ runs on media musync generates, and does what it says."""

from __future__ import annotations

import runpy
from pathlib import Path

import opentimelineio as otio
import pytest

import musync

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run_example(name: str, *argv: str) -> None:
    mod = runpy.run_path(str(EXAMPLES / f"{name}.py"), run_name=f"example_{name}")
    assert mod["main"](list(argv)) == 0


def test_every_example_is_tested():
    scripts = {p.stem for p in EXAMPLES.glob("*.py") if not p.stem.startswith("_")}
    assert scripts == {"embed_in_editor", "custom_style", "read_back_edit", "render_variant"}


def test_embed_in_editor_writes_only_the_result(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    run_example("embed_in_editor", "edit.otio")
    assert [p.name for p in tmp_path.iterdir()] == ["edit.otio"]
    tl = otio.adapters.read_from_file(str(tmp_path / "edit.otio"))
    assert tl.name == "my song - take 1" and len(tl.video_tracks()[0]) >= 3
    assert tl.metadata["musync"]["fps"] == "24000/1001"
    assert "BPM" in capsys.readouterr().out


def test_custom_style_changes_the_pace(tmp_path, capsys):
    run_example("custom_style", str(tmp_path / "plan.json"))
    plan = musync.load_plan(tmp_path / "plan.json")
    assert plan.settings.weights["continuity"] == 2.5 and plan.settings.cut_on == "downbeats"
    rows = {ln.split()[0]: ln.split()[1:] for ln in capsys.readouterr().out.splitlines()[1:6]}
    shots = [int(v) for v in rows["shots"]]
    assert shots[1] > shots[0] > shots[2]  # every-beat fastest, the slow house style slowest


def test_read_back_edit_keeps_the_decisions(tmp_path, capsys):
    run_example("read_back_edit", str(tmp_path))
    out = capsys.readouterr().out
    assert "2 trimmed, 1 swapped, 1 gap; 3 locked" in out
    final = musync.load_plan(tmp_path / "final-plan.json")
    assert [s.index for s in final.shots if s.locked][:3] == [0, 1, 2]
    assert (tmp_path / "final.xml").is_file()


def test_render_variant(tmp_path, capsys):
    import av

    run_example("render_variant", str(tmp_path / "variant.mp4"))
    with av.open(str(tmp_path / "variant.mp4")) as c:
        v = c.streams.video[0]
        assert (v.codec_context.width, v.codec_context.height) == (320, 180)
        assert c.streams.audio
    assert "wrote" in capsys.readouterr().out
