"""`musync scan`: the table, the skipped list, --json, exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from musync.cli import main
from musync.media import run_ffmpeg


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("MUSYNC_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("clips")
    run_ffmpeg(["-y", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=1",
                "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(d / "a.mp4")])
    run_ffmpeg(["-y", "-f", "lavfi", "-i", "testsrc2=size=160x120", "-frames:v", "1", str(d / "b.png")])
    (d / "broken.mp4").write_bytes(b"\x00" * 1000)
    (d / "readme.txt").write_text("ignored quietly")
    return d


def test_scan_prints_table_and_skipped(folder, capsys):
    assert main(["scan", str(folder), "--progress", "none"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["clip", "duration", "fps"]
    assert lines[1].startswith("a.mp4") and "160x120" in lines[1] and " 25 " in lines[1]
    assert lines[2].startswith("b.png") and "still" in lines[2]
    assert "skipped 1 file(s):" in out and "broken.mp4:" in out
    assert "readme.txt" not in out


def test_scan_json_file_and_overwrite(folder, tmp_path, capsys):
    out = tmp_path / "clips.json"
    assert main(["scan", str(folder), "--json", str(out), "--progress", "none"]) == 0
    d = json.loads(out.read_text())
    assert d["version"] == 1
    assert [Path(c["path"]).name for c in d["clips"]] == ["a.mp4", "b.png"]
    assert d["clips"][0]["fps"] == "25/1" and d["clips"][1]["duration"] is None
    assert [Path(s["path"]).name for s in d["skipped"]] == ["broken.mp4"]
    capsys.readouterr()
    assert main(["scan", str(folder), "--json", str(out), "--progress", "none"]) == 4
    assert "already exists" in capsys.readouterr().err
    assert main(["scan", str(folder), "--json", str(out), "-y", "--progress", "none"]) == 0


def test_scan_json_to_stdout_keeps_stdout_clean(folder, capsys):
    assert main(["scan", str(folder / "a.mp4"), "--json", "-", "--progress", "json"]) == 0
    cap = capsys.readouterr()
    d = json.loads(cap.out)
    assert len(d["clips"]) == 1
    assert "clip" in cap.err                      # the table went to stderr
    assert any(json.loads(x).get("stage") == "scan" for x in cap.err.splitlines() if x.startswith("{"))


def test_scan_name_starting_with_dash(folder, tmp_path, capsys):
    shutil.copy(folder / "a.mp4", tmp_path / "-x.mp4")
    assert main(["scan", "--progress", "none", "--", str(tmp_path / "-x.mp4")]) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith("-x.mp4")


def test_scan_nothing_usable_exits_3_and_lists_why(tmp_path, capsys):
    (tmp_path / "x.mp4").write_bytes(b"nope")
    (tmp_path / "y.mov").write_bytes(b"")
    assert main(["scan", str(tmp_path), "--progress", "none"]) == 3
    err = capsys.readouterr().err
    assert "skipped 2 file(s):" in err and "x.mp4:" in err and "y.mov: file is empty" in err
    assert "error:" in err and "no usable clips" in err
