"""Small bugs the other tests would let through: timebase ties and limits, safe files, child
processes, plan validation and the command line's exit codes and signal handling.

Each test checks one rule against an oracle outside the code under test: integer arithmetic
written another way, the kernel's view of a process (``/proc``), the file system's own modes,
real signals sent to this process.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import pytest

from musync._fs import atomic_output, check_input_file, check_output, read_bytes, read_json, remove_stale_parts
from musync.errors import Interrupted, MediaError, ParameterError, PlanError
from musync.planfile import load_plan, plan_to_json, save_plan, validate_plan
from musync.timebase import MAX_FPS, parse_fps, to_frame, window_frames
from musync.types import AudioInfo, Plan, PlanClip, PlanSettings, Shot

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


# -- timebase ------------------------------------------------------------------------------------

def _nearest_ties_up(p: int, q: int, a: int, b: int) -> int:
    """Oracle: the frame nearest to p/q seconds at a/b fps, ties up, in integers only:
    floor(p a / (q b) + 1/2) = floor((2 p a + q b) / (2 q b))."""
    return (2 * p * a + q * b) // (2 * q * b)


@pytest.mark.parametrize("p, q, a, b", [(1, 4, 2, 1), (5, 4, 2, 1), (9, 4, 2, 1), (1, 1, 5, 2), (3, 1, 5, 2),
                                        (1001, 60000, 30000, 1001), (7 * 1001, 2 * 24000, 24000, 1001),
                                        (-1, 4, 2, 1), (-5, 4, 2, 1)])
def test_exact_times_on_a_half_frame_go_to_the_later_frame(p, q, a, b):
    """A Fraction or int time is used exactly, and a tie goes up (never to the even frame)."""
    t, fps = Fraction(p, q), Fraction(a, b)
    assert t * fps - math.floor(t * fps) == Fraction(1, 2)      # the case really is a tie
    assert to_frame(t, fps) == _nearest_ties_up(p, q, a, b)
    if q == 1:
        assert to_frame(p, fps) == _nearest_ties_up(p, 1, a, b)


def test_parse_fps_limits_and_float_spellings():
    assert parse_fps(MAX_FPS) == MAX_FPS and parse_fps(str(MAX_FPS)) == MAX_FPS
    assert parse_fps(float(MAX_FPS)) == MAX_FPS
    # a float is read as the decimal it prints as, not as its binary value
    assert parse_fps(29.9) == Fraction(299, 10) and parse_fps(12.5) == Fraction(25, 2)
    assert parse_fps(59.94) == Fraction(60000, 1001)


def test_window_frames_of_a_window_shorter_than_a_frame_is_empty_not_negative():
    # [1.01 s, 1.02 s] at 30 fps: frame 31 starts at 1.0333 s, after the window ends
    lo, hi = window_frames(1.01, 1.02, 30)
    assert (lo, hi) == (31, 31)
    # a partial last frame does not count: [0, 1.02] holds frames 0..29 whole, 30 partly
    assert window_frames(0.0, 1.02, 30) == (0, 30)


# -- safe files ------------------------------------------------------------------------------------

def test_atomic_output_is_beside_the_target_and_has_a_normal_files_mode(tmp_path):
    target = tmp_path / "out.json"
    with atomic_output(target) as tmp:
        assert tmp.parent == target.parent and tmp.name.startswith(".out.musync-")
        tmp.write_text("{}")
    plain = tmp_path / "plain.json"
    with open(plain, "w") as fh:             # what the process's umask gives an ordinary file
        fh.write("{}")
    assert (target.stat().st_mode & 0o777) == (plain.stat().st_mode & 0o777)


def test_output_in_a_missing_folder_or_onto_a_folder_is_a_parameter_error(tmp_path, capsys):
    from musync.cli import main

    with pytest.raises(ParameterError, match="does not exist"):
        check_output(tmp_path / "nowhere" / "x.json")
    with pytest.raises(ParameterError, match="folder"):
        check_output(tmp_path, overwrite=True)
    song = tmp_path / "s.wav"
    song.write_bytes(b"RIFF")                   # never read: the output is checked first
    code = main(["analyze", str(song), "--json", str(tmp_path / "nowhere" / "a.json")])
    assert code == 2 and "nowhere" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [song]


def test_an_empty_input_is_refused_by_name(tmp_path):
    empty = tmp_path / "empty.json"
    empty.write_bytes(b"")
    with pytest.raises(MediaError, match=r"empty.json: is empty \(0 bytes\); give a plan file with content"):
        check_input_file(empty, what="plan file")
    with pytest.raises(MediaError, match="is empty"):
        read_bytes(empty)


def test_input_of_exactly_the_size_limit_is_read(tmp_path):
    f = tmp_path / "limit.json"
    f.write_bytes(b"[" + b" " * 1022 + b"]")
    assert check_input_file(f, max_bytes=1024) == f
    assert read_bytes(f, max_bytes=1024) == f.read_bytes()
    with pytest.raises(MediaError, match="too large"):
        check_input_file(f, max_bytes=1023)


def test_read_json_names_the_file_when_it_is_not_json(tmp_path):
    f = tmp_path / "a.json"
    f.write_text("{not json")
    with pytest.raises(MediaError, match="a.json: is not a readable analysis JSON file .*; make one with"):
        read_json(f, what="analysis JSON file", how="make one with `musync analyze`")


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_stale_sweep_leaves_files_that_are_not_musyncs_own(tmp_path):
    dead = _dead_pid()
    visible = tmp_path / f"take.musync-{dead}-abc.part.mp4"      # no leading dot: a user's file
    visible.write_bytes(b"x")
    stale = tmp_path / f".take.musync-{dead}-abc.part.mp4"
    stale.write_bytes(b"x")
    assert remove_stale_parts(tmp_path) == [stale]
    assert visible.exists()


@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() != 0, reason="needs root to make another user's file")
def test_stale_sweep_leaves_another_users_files(tmp_path):
    theirs = tmp_path / f".x.musync-{_dead_pid()}-abc.part.mp4"
    theirs.write_bytes(b"x")
    os.chown(theirs, 54321, 54321)
    assert remove_stale_parts(tmp_path) == [] and theirs.exists()


@linux
@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() != 0, reason="needs root to run as another user")
def test_stale_sweep_keeps_files_of_a_live_process_it_may_not_signal(tmp_path):
    """Sweep as an unprivileged user (a forked child that drops root): pid 1 is alive, but
    os.kill(1, 0) answers EPERM there. Its file must stay."""
    nobody = 65534
    folder = tmp_path / "shared"
    folder.mkdir()
    os.chmod(tmp_path, 0o755)
    os.chmod(folder, 0o777)
    live = folder / ".y.musync-1-abc.part.mp4"
    live.write_bytes(b"x")
    os.chown(live, nobody, nobody)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:                                   # the child: no exec, only the sweep
        try:
            os.close(r)
            os.setgid(nobody)
            os.setuid(nobody)
            os.write(w, str(len(remove_stale_parts(folder))).encode())
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r) as fh:
        removed = fh.read()
    os.waitpid(pid, 0)
    assert removed == "0" and live.exists()


# -- child processes -------------------------------------------------------------------------------

def _proc_status(pid: int) -> dict[str, str]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        k, _, v = line.partition(":")
        out[k] = v.strip()
    return out


def _mask_has(mask_hex: str, sig: int) -> bool:
    return bool(int(mask_hex, 16) >> (sig - 1) & 1)


_SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


@linux
def test_children_run_in_their_own_group_with_default_signals_and_no_stdin():
    from musync._proc import signals_deferred, spawn, stop

    old = signal.signal(signal.SIGTERM, signal.SIG_IGN)      # as under nohup or a background job
    try:
        with signals_deferred():
            p = spawn(_SLEEPER)
    finally:
        signal.signal(signal.SIGTERM, old)
    try:
        pgrp = int(Path(f"/proc/{p.pid}/stat").read_text().rsplit(")", 1)[1].split()[2])
        assert pgrp == p.pid != os.getpgrp()
        st = _proc_status(p.pid)
        for sig in (signal.SIGINT, signal.SIGTERM):
            assert not _mask_has(st["SigBlk"], sig), st["SigBlk"]
            assert not _mask_has(st["SigIgn"], sig), st["SigIgn"]
        assert os.readlink(f"/proc/{p.pid}/fd/0") == "/dev/null"
    finally:
        stop(p, grace=1.0)


def test_stop_asks_politely_first():
    from musync._proc import spawn, stop

    code = ("import signal, sys, time\n"
            "def bye(*a):\n    open(sys.argv[1], 'w').write('clean'); sys.exit(0)\n"
            "signal.signal(signal.SIGTERM, bye)\nprint('ready', flush=True)\ntime.sleep(60)\n")
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        mark = Path(d) / "mark"
        p = spawn([sys.executable, "-c", code, str(mark)], stdout=subprocess.PIPE)
        assert p.stdout.readline().strip() == b"ready"
        stop(p, grace=5.0)
        p.stdout.close()
        assert p.returncode == 0 and mark.read_text() == "clean"


def test_stop_kills_and_reaps_a_child_that_ignores_sigterm():
    from musync._proc import spawn, stop

    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(60)"
    p = spawn([sys.executable, "-c", code], stdout=subprocess.PIPE)
    assert p.stdout.readline().strip() == b"ready"
    t0 = time.monotonic()
    stop(p, grace=0.3)
    p.stdout.close()
    assert p.returncode == -signal.SIGKILL          # reaped by stop itself, not left a zombie
    assert time.monotonic() - t0 < 5


@pytest.mark.parametrize("other_thread", [False, True])
def test_signals_deferred_holds_a_signal_until_the_block_ends(other_thread):
    """Also with another thread alive (a web server, a Dask client): the kernel may hand the
    signal to that thread, and the handler still must not run inside the block."""
    import threading

    from musync._proc import signals_deferred

    got = []
    stop_thread = threading.Event()
    t = threading.Thread(target=stop_thread.wait, daemon=True)
    if other_thread:
        t.start()
    handler = lambda s, f: got.append(s)  # noqa: E731
    old = signal.signal(signal.SIGTERM, handler)
    try:
        with signals_deferred():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)
            assert got == []
        time.sleep(0.05)
        assert got == [signal.SIGTERM]
        assert signal.getsignal(signal.SIGTERM) is handler
    finally:
        signal.signal(signal.SIGTERM, old)
        stop_thread.set()


def test_signals_deferred_replays_sigterm_when_both_arrived():
    """A handler may end the block's caller as it runs: one replay, and SIGTERM outranks SIGINT."""
    from musync._proc import signals_deferred

    got = []
    old = {s: signal.signal(s, lambda n, f: got.append(n)) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with signals_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)
            assert got == []
        time.sleep(0.05)
        assert got == [signal.SIGTERM]
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def test_signals_deferred_keeps_an_ignored_signal_ignored_and_replays_the_one_handled():
    """Under nohup (SIGHUP ignored) a hang-up then a Ctrl-C inside the block: the Ctrl-C is
    delivered after it (the ignored hang-up is not what gets replayed), SIGHUP stays ignored.
    A hang-up handled from Python outranks a Ctrl-C."""
    from musync._proc import signals_deferred

    got = []
    old_int = signal.signal(signal.SIGINT, lambda n, f: got.append(n))
    old_hup = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        with signals_deferred():
            os.kill(os.getpid(), signal.SIGHUP)
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
            assert got == []
        time.sleep(0.05)
        assert got == [signal.SIGINT]
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
        signal.signal(signal.SIGHUP, lambda n, f: got.append(n))
        with signals_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGHUP)
            time.sleep(0.05)
        time.sleep(0.05)
        assert got == [signal.SIGINT, signal.SIGHUP]
        old_term = signal.signal(signal.SIGTERM, signal.SIG_IGN)      # a host that ignores SIGTERM
        try:
            with signals_deferred():
                os.kill(os.getpid(), signal.SIGTERM)
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.05)
            time.sleep(0.05)
            assert got == [signal.SIGINT, signal.SIGHUP, signal.SIGINT]
            assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
        finally:
            signal.signal(signal.SIGTERM, old_term)
    finally:
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGHUP, old_hup)


def test_handlers_are_all_put_back_when_one_fires_on_the_way(monkeypatch):
    """A signal whose handler is already back may fire while the others are still being put
    back: its exception waits until every handler is back."""
    from musync import _proc

    real = signal.signal
    calls = []

    def put_back(sig, h):
        real(sig, h)
        calls.append(sig)
        if len(calls) == 1:
            raise KeyboardInterrupt          # the handler just put back fired
    a, b = (lambda n, f: None), (lambda n, f: None)
    old = {signal.SIGINT: real(signal.SIGINT, signal.default_int_handler),
           signal.SIGHUP: real(signal.SIGHUP, signal.SIG_DFL)}
    try:
        monkeypatch.setattr(_proc.signal, "signal", put_back)
        with pytest.raises(KeyboardInterrupt):
            _proc.restore_handlers({signal.SIGINT: a, signal.SIGHUP: b})
        monkeypatch.undo()
        assert signal.getsignal(signal.SIGINT) is a and signal.getsignal(signal.SIGHUP) is b
    finally:
        monkeypatch.undo()
        for s, h in old.items():
            signal.signal(s, h)


def test_library_calls_leave_sigquit_and_a_handled_sighup_alone():
    """faulthandler's SIGQUIT handler (installed from C, invisible to Python) survives a render's
    signal handling; a host's own SIGHUP handler is neither replaced nor lost."""
    import faulthandler

    from musync._proc import sigterm_as_interrupt

    mine = lambda n, f: None  # noqa: E731
    old = signal.signal(signal.SIGHUP, mine)
    faulthandler.register(signal.SIGQUIT)
    try:
        with sigterm_as_interrupt():
            assert signal.getsignal(signal.SIGHUP) is mine
            assert signal.getsignal(signal.SIGQUIT) is signal.SIG_DFL     # not taken over
        assert signal.getsignal(signal.SIGHUP) is mine
    finally:
        faulthandler.unregister(signal.SIGQUIT)
        signal.signal(signal.SIGHUP, old)


# -- plan validation -------------------------------------------------------------------------------

FPS = Fraction(30)


def _plan(shots, n=None, clips=None, fps=FPS) -> Plan:
    """Shots as (source, source_in, record_in, record_out); two 4 s clips, one usable from 0.1 s."""
    clips = clips if clips is not None else (
        PlanClip("/c/a.mp4", 4.0, Fraction(30), (160, 120), usable_in=0.1, usable_out=4.0),
        PlanClip("/c/b.mp4", 4.0, Fraction(30), (160, 120), usable_in=0.0, usable_out=4.0))
    ss = tuple(Shot(i, src, a, a + (r1 - r0), r0, r1) for i, (src, a, r0, r1) in enumerate(shots))
    n = n if n is not None else ss[-1].record_out
    return Plan(AudioInfo("/s.wav", "", n / float(fps), 44100, 2), Fraction(fps), n, (320, 180), "16:9",
                PlanSettings(fps=Fraction(fps)), ss, clips=clips)


GOOD = [("/c/a.mp4", 3, 0, 30), ("/c/b.mp4", 0, 30, 60)]


def test_validate_accepts_a_plan_on_the_edges_of_its_windows():
    # a.mp4 usable 0.1 .. 4.0 s: frames 3 .. 119 whole (0.1 s is frame 3 exactly)
    validate_plan(_plan([("/c/a.mp4", 3, 0, 30), ("/c/a.mp4", 90, 30, 60)]))


@pytest.mark.parametrize("shots, n, match", [
    ([("/c/a.mp4", 3, 0, 30), ("/c/b.mp4", 0, 29, 60)], None, r"shot 1: starts at frame 29 .* \(overlap\)"),
    ([("/c/a.mp4", 3, 0, 30), ("/c/b.mp4", 0, 30, 30), ("/c/b.mp4", 0, 30, 60)], None, r"shot 1: record_out 30"),
    ([("/c/a.mp4", 2, 0, 30), ("/c/b.mp4", 0, 30, 60)], None, r"shot 0: source frames \[2, 32\) leave"),
    ([("/c/a.mp4", 3, 0, 30), ("/c/a.mp4", 91, 30, 60)], None, r"shot 1: source frames \[91, 121\) leave"),
    (GOOD, 61, r"shots end at frame 60 but the song is 61"),
    ([("/c/a.mp4", 3, 0, 30), ("/c/z.mp4", 0, 30, 60)], None, r"shot 1: source '/c/z.mp4' is not one"),
])
def test_validate_refuses_each_broken_invariant(shots, n, match):
    with pytest.raises(PlanError, match=match):
        validate_plan(_plan(shots, n=n))


def test_validate_refuses_unequal_ranges_and_impossible_rates():
    p = _plan(GOOD)
    bad = dataclasses.replace(p, shots=(dataclasses.replace(p.shots[0], source_out=34),) + p.shots[1:])
    with pytest.raises(PlanError, match="source range is 31 frames but the record range is 30"):
        validate_plan(bad)
    with pytest.raises(PlanError, match="fps must be in"):
        validate_plan(dataclasses.replace(p, fps=Fraction(MAX_FPS + 1)))


def test_validate_takes_an_hour_long_plan():
    """The 24-hour limit is in frames at the plan's rate: an hour at 30 fps (108000 frames) is fine."""
    n = 3600 * 30
    long = (PlanClip("/c/long.mp4", 3700.0, Fraction(30), (160, 120), usable_in=0.0, usable_out=3700.0),)
    validate_plan(_plan([("/c/long.mp4", 0, 0, n)], clips=long))
    with pytest.raises(PlanError, match="more than 24 hours"):
        validate_plan(_plan([("/c/long.mp4", 0, 0, 30)], n=25 * 3600 * 30, clips=long))


def test_validate_against_another_clip_list():
    p = _plan(GOOD)
    only_b = [c for c in p.clips if c.path == "/c/b.mp4"]
    with pytest.raises(PlanError, match="a.mp4"):
        validate_plan(p, clips=only_b)
    wider = p.clips + (PlanClip("/c/z.mp4", 4.0, Fraction(30), (160, 120), usable_out=4.0),)
    validate_plan(_plan([("/c/a.mp4", 3, 0, 30), ("/c/z.mp4", 0, 30, 60)]), clips=wider)


def test_a_still_fills_any_length():
    still = (PlanClip("/c/card.png", math.inf, None, (320, 180), usable_in=0.0, usable_out=math.inf, is_still=True),)
    validate_plan(_plan([("/c/card.png", 0, 0, 9000)], clips=still))
    finite = (PlanClip("/c/card.png", 5.0, None, (320, 180), usable_in=0.0, usable_out=5.0, is_still=True),)
    validate_plan(_plan([("/c/card.png", 0, 0, 9000)], clips=finite))


def test_load_plan_validates_and_the_json_is_strict(tmp_path):
    p = _plan(GOOD)
    text = plan_to_json(p)
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    d = json.loads(text)
    d["shots"][1]["record_in"] = 31
    (tmp_path / "hand.json").write_text(json.dumps(d))
    with pytest.raises(PlanError, match="hand.json: shot 1"):
        load_plan(tmp_path / "hand.json")
    assert load_plan(tmp_path / "hand.json", validate=False).shots[1].record_in == 31
    nan = dataclasses.replace(p, shots=(dataclasses.replace(p.shots[0], energy=math.nan),) + p.shots[1:])
    with pytest.raises(ValueError):
        plan_to_json(nan)                     # never NaN in a file other tools must parse
    assert not (tmp_path / "nan.json").exists()


# -- the command line: exit codes and signals -------------------------------------------------------

def test_an_unexpected_error_is_one_line_and_exit_1(tmp_path, capsys, monkeypatch):
    import importlib

    from musync.cli import main

    ex = importlib.import_module("musync.export")     # the package (musync.export is also a function)

    save_plan(_plan(GOOD), tmp_path / "plan.json")

    def broken(*a, **k):
        raise RuntimeError("boom")

    monkeypatch.setattr(ex, "export", broken)
    monkeypatch.setattr(ex, "check_plan_media", lambda *a, **k: [])   # its media are made up
    code = main(["export", str(tmp_path / "plan.json"), "-o", str(tmp_path / "e.otio")])
    err = capsys.readouterr().err
    errors = [ln for ln in err.splitlines() if ln.startswith("error")]
    assert code == 1 and errors == ["error: unexpected RuntimeError: boom (re-run with --debug for details)"]


def test_main_restores_the_signal_handlers_it_replaced():
    from musync.cli import main

    before = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))
    assert main(["--version"]) == 0
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


def test_a_second_signal_does_not_interrupt_the_cleanup():
    from musync.cli import _signal_handlers

    restore = _signal_handlers()
    cleaned = False
    try:
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.5)
            pytest.fail("SIGTERM did not raise")
        except Interrupted as exc:
            assert exc.signum == signal.SIGTERM and exc.exit_code == 143
            os.kill(os.getpid(), signal.SIGINT)       # during cleanup: ignored
            time.sleep(0.05)
            cleaned = True
    finally:
        restore()
    assert cleaned


@pytest.mark.parametrize("sig, code, word", [(signal.SIGTERM, 143, "terminated"), (signal.SIGINT, 130, "interrupted")])
def test_a_signal_before_the_command_starts_gives_its_exit_code(monkeypatch, capsys, sig, code, word):
    import musync.cli as cli

    real = cli._hoist_global_flags

    def signalled(argv):
        os.kill(os.getpid(), sig)
        time.sleep(0.05)
        return real(argv)

    monkeypatch.setattr(cli, "_hoist_global_flags", signalled)
    assert cli.main(["--version"]) == code
    assert capsys.readouterr().err.strip() == word
