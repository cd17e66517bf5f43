"""The command line: exit codes, one-line errors, analyze, plan -> edit -> replan."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from musync.cli import main
from musync.testing import make_clip_files, make_song


def run(args, capsys):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_version_and_help(capsys):
    code, out, _ = run(["--version"], capsys)
    assert code == 0 and "musync" in out
    code, out, _ = run(["--help"], capsys)
    assert code == 0 and "analyze" in out and "plan" in out


def test_python_dash_m():
    r = subprocess.run([sys.executable, "-m", "musync", "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and "musync" in r.stdout


def test_exit_codes(tmp_path, capsys):
    code, _, err = run(["analyze", str(tmp_path / "nope.wav")], capsys)
    assert code == 3 and "nope.wav" in err and err.count("\n") == 1
    code, _, err = run(["analyze", "--beats-per-bar", "7", "x.wav"], capsys)
    assert code == 2
    code, _, err = run(["frobnicate"], capsys)
    assert code == 2
    (tmp_path / "t.wav").write_text("hello")
    code, _, err = run(["analyze", str(tmp_path / "t.wav")], capsys)
    assert code == 3 and "t.wav" in err
    with pytest.raises(Exception):
        main(["--debug", "analyze", str(tmp_path / "nope.wav")])


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    song = make_song(bpm=120, form=[("intro", 2), ("verse", 4), ("chorus", 4), ("outro", 2)], pickup=1).write(d / "song.wav")
    make_clip_files(d / "clips", 5, seconds=3.0, size=(160, 90))
    return d, song


def test_analyze_json_plot_and_overwrite(media, capsys):
    d, song = media
    out, png = d / "a.json", d / "a.png"
    code, stdout, err = run(["analyze", str(song), "--json", str(out), "--plot", str(png)], capsys)
    assert code == 0, err
    assert "BPM" in stdout
    data = json.loads(out.read_text())
    assert data["version"] == 1 and abs(data["tempo"] - 120) < 1
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    before = out.read_bytes()
    code, _, err = run(["analyze", str(song), "--json", str(out)], capsys)
    assert code == 4 and "--overwrite" in err and out.read_bytes() == before
    code, _, _ = run(["analyze", str(song), "--json", str(out), "-y"], capsys)
    assert code == 0


def test_plan_edit_replan(media, capsys):
    d, song = media
    plan_path = d / "plan.json"
    code, stdout, err = run(["plan", str(song), str(d / "clips"), "-o", str(plan_path), "--progress", "none",
                             "--seed", "3"], capsys)
    assert code == 0, err
    assert "cuts on a beat" in stdout
    first = plan_path.read_bytes()
    # same inputs and seed: byte-identical
    again = d / "again.json"
    assert run(["plan", str(song), str(d / "clips"), "-o", str(again), "--progress", "none", "--seed", "3"],
               capsys)[0] == 0
    assert again.read_bytes() == first
    # the director locks two shots and swaps the clip of one
    data = json.loads(first)
    shots = data["shots"]
    other = next(c["path"] for c in data["clips"] if c["path"] != shots[2]["source"])
    shots[1]["locked"] = True
    shots[2]["locked"] = True
    shots[2]["source"] = other
    clip = next(c for c in data["clips"] if c["path"] == other)
    n = shots[2]["record_out"] - shots[2]["record_in"]
    lo = int(clip["usable_in"] * 30) + 1
    shots[2]["source_in"], shots[2]["source_out"] = lo, lo + n
    edited = d / "edited.json"
    edited.write_text(json.dumps(data, indent=1))
    new = d / "new.json"
    code, stdout, err = run(["plan", "--replan", str(edited), "-o", str(new), "--progress", "none"], capsys)
    assert code == 0, err
    res = json.loads(new.read_text())
    kept = [s for s in res["shots"] if s["locked"]]
    assert len(kept) == 2
    for want in (shots[1], shots[2]):
        got = next(s for s in kept if s["record_in"] == want["record_in"])
        for k in ("source", "source_in", "source_out", "record_out"):
            assert got[k] == want[k]
    # a broken hand edit: exit 3 naming the shot
    data["shots"][4]["record_in"] += 2
    broken = d / "broken.json"
    broken.write_text(json.dumps(data))
    code, _, err = run(["plan", "--replan", str(broken), "-o", str(d / "x.json"), "--progress", "none"], capsys)
    assert code == 3 and "shot 4" in err and err.count("\n") == 1, err
    assert not (d / "x.json").exists()


def test_plan_variants(media, capsys):
    d, song = media
    out = d / "v.json"
    code, stdout, err = run(["plan", str(song), str(d / "clips"), "-o", str(out), "--variants", "2",
                             "--progress", "none"], capsys)
    assert code == 0, err
    assert (d / "v-1.json").exists() and (d / "v-2.json").exists()
    assert "v-1.json" in stdout and "v-2.json" in stdout
