"""Robustness: hostile inputs, signals, stale temporary files, child processes, exit codes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from musync._fs import atomic_output, check_input_file, read_bytes, remove_stale_parts
from musync.cli import _hoist_global_flags, main
from musync.errors import Interrupted, MediaError, OutputExistsError

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="POSIX signals and /proc")


def _children_of(pid: int) -> list[int]:
    kids = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            kids.append(int(d.name))
    return kids


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _musync(args, **kw):
    return subprocess.Popen([sys.executable, "-m", "musync", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, **kw)


# -- input files ---------------------------------------------------------------------------------

def test_fifo_device_folder_and_empty_inputs_are_refused_fast(tmp_path, capsys):
    fifo = tmp_path / "plan.json"
    os.mkfifo(fifo)
    empty = tmp_path / "empty.json"
    empty.write_bytes(b"")
    for bad, what in [(fifo, "pipe"), (Path("/dev/zero"), "device"), (Path("/dev/urandom"), "device"),
                      (empty, "empty"), (tmp_path, "folder")]:
        t0 = time.monotonic()
        code = main(["export", str(bad), "-o", str(tmp_path / "e.otio")])
        err = capsys.readouterr().err
        assert time.monotonic() - t0 < 10
        assert code == 3, (bad, err)
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: ") and str(bad) in lines[0], err
        if what != "folder":
            assert what in lines[0]
    assert not (tmp_path / "e.otio").exists()


def test_check_input_file_limits(tmp_path):
    big = tmp_path / "big.json"
    big.write_bytes(b" " * 2048)
    with pytest.raises(MediaError, match="too large"):
        check_input_file(big, max_bytes=1024)
    assert read_bytes(big, max_bytes=4096) == b" " * 2048
    with pytest.raises(MediaError, match="not found"):
        check_input_file(tmp_path / "nope")


def test_song_folder_is_a_one_line_bad_input(tmp_path, capsys):
    code = main(["analyze", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 3 and len(err.strip().splitlines()) == 1 and err.startswith("error: ")


# -- outputs ------------------------------------------------------------------------------------

def test_output_exists_has_its_own_exit_code(tmp_path, capsys):
    from musync.testing import make_song

    song = tmp_path / "s.wav"
    make_song(bpm=120, form=[("verse", 4)], seed=1).write(song)
    out = tmp_path / "a.json"
    out.write_text("keep")
    code = main(["analyze", str(song), "--json", str(out)])
    assert code == 4 and out.read_text() == "keep"
    assert OutputExistsError.exit_code == 4


def test_empty_output_is_not_renamed_into_place(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(Exception, match="nothing was written"):
        with atomic_output(target):
            pass
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_stale_parts_of_dead_processes_are_removed(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".draft.musync-{dead.pid}-abc123.part.mp4"
    stale.write_bytes(b"x")
    live = tmp_path / f".draft.musync-{os.getppid()}-def456.part.mp4"     # our parent is alive
    live.write_bytes(b"x")
    other = tmp_path / ".notes.part.txt"
    other.write_bytes(b"x")
    with atomic_output(tmp_path / "draft.txt") as tmp:
        assert ".musync-" in tmp.name and str(os.getpid()) in tmp.name
        tmp.write_text("ok")
    assert not stale.exists() and live.exists() and other.exists()
    assert (tmp_path / "draft.txt").read_text() == "ok"
    assert remove_stale_parts(tmp_path) == []


# -- CLI details --------------------------------------------------------------------------------

def test_global_flags_after_the_subcommand():
    assert _hoist_global_flags(["plan", "a", "b", "-q"]) == ["-q", "plan", "a", "b"]
    assert _hoist_global_flags(["-v", "scan", "x", "--debug", "--", "-q"]) == ["-v", "--debug", "scan", "x",
                                                                              "--", "-q"]
    assert _hoist_global_flags(["--version"]) == ["--version"]


def test_quiet_after_subcommand_silences(tmp_path, capsys):
    code = main(["analyze", str(tmp_path / "missing.wav"), "-q"])
    assert code == 3


def test_import_musync_leaves_the_environment_alone(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["MUSYNC_CACHE_DIR"] = str(tmp_path)
    code = ("import os, musync, numba\n"
            "assert 'NUMBA_CACHE_DIR' not in os.environ\n"
            "from musync.planner import _kernels\n"
            "import numpy as np\n"
            "@numba.njit(cache=True)\n"
            "def other(x):\n    return x + 1\n"
            "other(1)\n"
            "from numba.core import caching\n"
            "loc = caching.CacheImpl._locator_classes[0]\n"
            "print(loc.__name__)\n")
    script = tmp_path / "probe.py"
    script.write_text(code)
    r = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "MusyncCacheLocator"
    # the host's own cached function went to numba's usual place (beside the script), not musync's
    assert any((tmp_path / "__pycache__").glob("probe.other-*.nbi"))
    assert not any(p.name.startswith("probe") for p in (tmp_path / "numba").rglob("*"))


def test_compile_notice_fires_on_a_compile(capsys):
    import numba

    from musync.cli import _CompileNotice

    n = _CompileNotice(delay=0.0)
    n.install()
    try:
        @numba.njit(cache=False)
        def f(x):
            return x * 2

        f(3)
        if n.timer is not None:
            n.timer.join(5)
    finally:
        n.uninstall()
    assert "compiling musync's kernels" in capsys.readouterr().err


# -- signals ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def slow_render_inputs(tmp_path_factory):
    """A 40 s song with clips and a plan: long enough to interrupt a render in the middle."""
    from musync import analyze, plan, save_plan, scan_clips
    from musync.testing import make_clip_files, make_song

    root = tmp_path_factory.mktemp("sig")
    song = root / "song.wav"
    make_song(bpm=120, form=[("verse", 8), ("chorus", 8), ("outro", 4)], seed=3).write(song)
    clips = make_clip_files(root / "clips", 6, seconds=4.0, size=(640, 360), seed=3)
    p = plan(analyze(song), scan_clips([root / "clips"], progress="none"))
    save_plan(p, root / "plan.json")
    return root


def _wait_for_part(folder: Path, proc, timeout=120.0) -> bool:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if any(".part" in p.name for p in folder.iterdir()):
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("sig, ignore_in_parent", [(signal.SIGTERM, False), (signal.SIGINT, True)])
def test_render_ends_cleanly_on_signals(slow_render_inputs, tmp_path, sig, ignore_in_parent):
    """SIGTERM, and SIGINT to the whole process group of a musync started with SIGINT ignored
    (a script's background job): musync ends, ffmpeg ends, nothing is left behind."""
    out_dir = tmp_path / "out"
    out_dir.mkdir()

    def ignore():
        if ignore_in_parent:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        os.setpgrp()

    proc = _musync(["render", str(slow_render_inputs / "plan.json"), "-o", str(out_dir / "d.mp4"),
                    "--final", "--progress", "none"], preexec_fn=ignore)
    try:
        assert _wait_for_part(out_dir, proc), proc.communicate()[1]
        time.sleep(0.3)
        kids = _children_of(proc.pid)
        if sig == signal.SIGINT:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 128 + sig, err
    assert list(out_dir.iterdir()) == [], list(out_dir.iterdir())
    time.sleep(0.2)
    assert not [k for k in kids if _alive(k)]


def test_scan_sigterm_ends_its_workers(tmp_path):
    from musync.testing import make_clip_files

    make_clip_files(tmp_path / "clips", 16, seconds=6.0, size=(640, 360), seed=5)
    env = dict(os.environ, MUSYNC_CACHE_DIR=str(tmp_path / "cache"))
    proc = _musync(["scan", str(tmp_path / "clips"), "-j", "2", "--progress", "none", "--no-cache"], env=env)
    try:
        kids = []
        t0 = time.monotonic()
        while time.monotonic() - t0 < 120 and proc.poll() is None:
            kids = [k for k in _children_of(proc.pid) if _alive(k)]
            if len(kids) >= 2:
                break
            time.sleep(0.05)
        if proc.poll() is not None:
            pytest.skip("the scan finished before it could be interrupted")
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 143, err
    time.sleep(0.3)
    assert not [k for k in kids if _alive(k)]


def test_children_die_with_a_killed_musync(tmp_path):
    """SIGKILL of musync itself: the kernel ends its ffmpeg child (parent-death signal)."""
    code = ("import sys, time\n"
            "from musync._proc import spawn\n"
            "from musync.media import ffmpeg_exe\n"
            "p = spawn([ffmpeg_exe(), '-nostdin', '-f', 'lavfi', '-i', 'anullsrc', '-f', 'null', '-'])\n"
            "print(p.pid, flush=True)\n"
            "time.sleep(60)\n")
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        child = int(parent.stdout.readline())
        assert _alive(child)
        parent.kill()
        parent.wait()
        t0 = time.monotonic()
        while _alive(child) and time.monotonic() - t0 < 10:
            time.sleep(0.05)
        assert not _alive(child)
    finally:
        if parent.poll() is None:
            parent.kill()


def test_write_all_times_out_on_a_child_that_stops_reading():
    from musync._proc import PipeTimeout, spawn, stop, write_all

    p = spawn([sys.executable, "-c", "import time; time.sleep(30)"], stdin=subprocess.PIPE)
    try:
        with pytest.raises(PipeTimeout):
            write_all(p, b"\0" * (8 << 20), timeout=0.5)
    finally:
        stop(p, grace=0.5)
    assert p.poll() is not None


def test_interrupted_is_a_keyboard_interrupt():
    e = Interrupted(signal.SIGTERM)
    assert isinstance(e, KeyboardInterrupt) and e.exit_code == 143


def test_progress_json_is_only_json(tmp_path):
    import json as _json

    from musync.testing import make_song

    song = tmp_path / "s.wav"
    make_song(bpm=120, form=[("verse", 4)], seed=2).write(song)
    r = subprocess.run([sys.executable, "-m", "musync", "preview", str(song), "-o", str(tmp_path / "p.mp4"),
                        "--progress", "json"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    events = [_json.loads(line) for line in r.stderr.splitlines() if line.strip()]
    kinds = {e["event"] for e in events}
    assert "progress" in kinds and "info" in kinds
    r = subprocess.run([sys.executable, "-m", "musync", "preview", str(song), "-o", str(tmp_path / "p.mp4"),
                        "--progress", "json"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 4
    events = [_json.loads(line) for line in r.stderr.splitlines() if line.strip()]
    assert events[-1]["event"] == "error" and "already exists" in events[-1]["message"]


@pytest.fixture(scope="module")
def small_plan_file(tmp_path_factory):
    from musync import analyze, plan as make_plan, save_plan
    from musync.testing import make_song, synthetic_clip_infos

    root = tmp_path_factory.mktemp("small")
    make_song(bpm=120, form=[("verse", 4), ("chorus", 4)], seed=4).write(root / "s.wav")
    p = make_plan(analyze(root / "s.wav"), synthetic_clip_infos(6, seed=4))
    return save_plan(p, root / "plan.json")


@pytest.mark.parametrize("size", [[0, 0], [100000, 100000], [-2, 720], [1280]])
def test_impossible_plan_sizes_are_refused(small_plan_file, tmp_path, capsys, size):
    import json as _json

    d = _json.loads(Path(small_plan_file).read_text())
    d["size"] = size
    (tmp_path / "plan.json").write_text(_json.dumps(d))
    code = main(["export", str(tmp_path / "plan.json"), "-o", str(tmp_path / "e.otio")])
    err = capsys.readouterr().err
    assert code == 3 and "size" in err and not (tmp_path / "e.otio").exists(), err
    assert main(["export", str(small_plan_file), "-o", str(tmp_path / "ok.otio")]) == 0


def test_plan_to_stdout(tmp_path, capsys):
    import json as _json

    from musync.testing import make_clip_files, make_song

    make_song(bpm=120, form=[("verse", 4)], seed=6).write(tmp_path / "s.wav")
    make_clip_files(tmp_path / "clips", 3, seconds=3.0, seed=6)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        code = main(["plan", "s.wav", "clips", "-o", "-", "--progress", "none"])
    finally:
        os.chdir(cwd)
    out = capsys.readouterr().out
    assert code == 0 and not (tmp_path / "-").exists()
    d = _json.loads(out)
    assert d["shots"] and d["version"] >= 1
