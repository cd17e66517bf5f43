"""`musync render` and `musync preview`: outputs, exit codes, messages."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

from musync.cli import main
from musync.planfile import save_plan

from test_render_media import decode_output, make_coded_clip, make_plan, write_song


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli_project")
    a = make_coded_clip(d / "a.mp4", clip_id=1, fps=30)
    b = make_coded_clip(d / "b.mp4", clip_id=2, fps=25)
    song = write_song(d / "song.wav", 1.0)
    plan = make_plan(song, [a, b], [(a, 0, 12), (b, 4, 18)], fps=Fraction(30), size=(640, 360))
    save_plan(plan, d / "plan.json")
    return d


def test_render_command(project, tmp_path, capsys):
    out = tmp_path / "draft.mp4"
    assert main(["render", str(project / "plan.json"), "-o", str(out), "--progress", "none"]) == 0
    err = capsys.readouterr().err
    assert "wrote" in err and "30 frames" in err
    lumas, _, info = decode_output(out)
    assert len(lumas) == 30 and (info["width"], info["height"]) == (640, 360)
    # refuses to overwrite; -y replaces
    assert main(["render", str(project / "plan.json"), "-o", str(out), "--progress", "none"]) == 4
    assert "overwrite" in capsys.readouterr().err
    assert main(["render", str(project / "plan.json"), "-o", str(out), "--final", "--size", "320x180",
                 "--framing", "fit", "--crf", "30", "--preset", "ultrafast", "--progress", "none",
                 "-y"]) == 0
    _, _, info = decode_output(out)
    assert (info["width"], info["height"]) == (320, 180)


def test_render_progress_json(project, tmp_path, capsys):
    out = tmp_path / "p.mp4"
    assert main(["render", str(project / "plan.json"), "-o", str(out), "--progress", "json",
                 "--aspect", "9:16"]) == 0
    events = [json.loads(x) for x in capsys.readouterr().err.splitlines() if x.strip()]   # all JSON
    lines = [e for e in events if e["event"] == "progress"]
    assert lines[-1]["done"] == lines[-1]["total"] == 30 and lines[-1]["stage"] == "render"
    assert events[-1]["event"] == "info" and "wrote" in events[-1]["message"]
    _, _, info = decode_output(out)
    assert (info["width"], info["height"]) == (360, 640)


def test_render_missing_source_exit_code(project, tmp_path, capsys):
    import shutil

    d = tmp_path / "copy"
    shutil.copytree(project, d)
    plan = json.loads((project / "plan.json").read_text())
    for s in plan["shots"]:
        s["source"] = s["source"].replace(str(project), str(d))
    for c in plan["clips"]:
        c["path"] = c["path"].replace(str(project), str(d))
    (d / "plan.json").write_text(json.dumps(plan))
    (d / "b.mp4").unlink()
    out = tmp_path / "x.mp4"
    assert main(["render", str(d / "plan.json"), "-o", str(out), "--progress", "none"]) == 3
    err = capsys.readouterr().err
    assert "b.mp4" in err and "shot 1" in err
    assert not out.exists()


def test_preview_command(project, tmp_path, capsys):
    out = tmp_path / "preview.mp4"
    assert main(["preview", str(project / "plan.json"), "-o", str(out), "--progress", "none"]) == 0
    assert "wrote" in capsys.readouterr().err
    lumas, _, info = decode_output(out)
    assert len(lumas) == 30
    assert [i for i, y in enumerate(lumas) if y.mean() > 200] == [12]
    from musync.testing import make_song

    song = make_song(bpm=120, form=[("verse", 2)], seed=1).write(tmp_path / "song.wav")
    assert main(["preview", str(song), "-o", str(tmp_path / "song.mp4"),
                 "--fps", "25", "--no-clicks", "--progress", "none"]) == 0
    _, _, info = decode_output(tmp_path / "song.mp4")
    assert info["rate"] == 25
    # --pictures makes the clips' proxies and shows them; --cards never opens a clip
    out = tmp_path / "pictures.mp4"
    assert main(["preview", str(project / "plan.json"), "-o", str(out), "--pictures",
                 "--progress", "none"]) == 0
    assert "2 sources from proxies" in capsys.readouterr().err
    assert main(["preview", str(project / "plan.json"), "-o", str(out), "--cards", "-y",
                 "--progress", "none"]) == 0
    assert "from proxies" not in capsys.readouterr().err
