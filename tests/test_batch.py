"""`musync batch` on Dask: job files, outputs identical to serial runs, reruns, isolation of a
failing job, a worker killed mid-job, Ctrl-C, and a cluster started with Dask's own commands."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed")
psutil = pytest.importorskip("psutil")

import musync  # noqa: E402
import musync.testing as mt  # noqa: E402
from musync.batch import BatchInterrupted, parse_jobs, read_jobs  # noqa: E402
from musync.cli import main  # noqa: E402
from musync.errors import ParameterError  # noqa: E402

FORM = [("intro", 2), ("verse", 2), ("chorus", 2)]
RUN_LAST = True              # Dask leaves a thread in this process (see conftest.py)


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    d = tmp_path_factory.mktemp("batch_media")
    mt.make_song(bpm=100, form=FORM, seed=1).write(d / "slow.wav")
    mt.make_song(bpm=126, form=FORM, seed=2).write(d / "fast.wav")
    mt.make_song(bpm=96, form=[("intro", 2), ("verse", 4), ("chorus", 4), ("outro", 2)], seed=3).write(
        d / "long.wav")
    (d / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot really a song" * 10)
    mt.make_clip_files(d / "clips", 3, seconds=2.5, size=(160, 90), seed=4)
    return d


@pytest.fixture(scope="module")
def client(media, tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        # the workers inherit the tests' private cache (this fixture outlives conftest's per-test one)
        mp.setenv("MUSYNC_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "musync-cache"))
        # compile (or load) the kernels once here, so the workers find them in the cache
        a = musync.analyze(media / "slow.wav")
        musync.plan(a, musync.scan_clips([media / "clips"], workers=1))
        scratch = str(tmp_path_factory.mktemp("dask"))       # not Dask's shared folder in /tmp
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           dashboard_address=None, host="127.0.0.1", local_directory=scratch,
                                           scheduler_kwargs={"local_directory": scratch})
        c = distributed.Client(cluster)
        yield c
        c.close()
        cluster.close()


def _jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


# ------------------------------------------------------------------------------------------------
# the job file (no cluster)


def test_job_file_csv_and_jsonl_agree(tmp_path):
    (tmp_path / "csv").mkdir()
    csv_file = tmp_path / "csv" / "jobs.csv"
    csv_file.write_text("# a comment\n"
                        "name,song,clips,style,seed,variants,aspect,outputs,formats\n"
                        "a,../s.wav,clips;more/x.mp4,phrase,3,2,9:16,\"plan,preview\",xml;edl\n"
                        ",../s.wav,clips,,,,,plan draft,\n"
                        "\n")
    jl = _jsonl(tmp_path / "csv" / "jobs.jsonl", [
        {"name": "a", "song": "../s.wav", "clips": ["clips", "more/x.mp4"], "style": "phrase", "seed": 3,
         "variants": 2, "aspect": "9:16", "outputs": ["plan", "preview"], "formats": ["xml", "edl"]},
        {"song": "../s.wav", "clips": "clips", "outputs": "plan draft"}])
    a, b = read_jobs(csv_file), read_jobs(jl)
    assert [j.to_dict() for j in a] == [j.to_dict() | {"line": j0.line} for j, j0 in zip(b, a)]
    j = a[0]
    assert j.song == str(tmp_path / "s.wav")
    assert j.clips == (str(tmp_path / "csv" / "clips"), str(tmp_path / "csv" / "more" / "x.mp4"))
    assert (j.style, j.seed, j.variants, j.aspect) == ("phrase", 3, 2, "9:16")
    assert j.outputs == ("plan", "preview") and j.formats == ("xml", "edl") and j.error is None
    assert a[1].name == "s" and a[1].outputs == ("plan", "draft") and a[1].line == 4


def test_job_file_errors(tmp_path):
    f = tmp_path / "jobs.csv"
    f.write_text("song,clips,sytle\na.wav,c,energy\n")
    with pytest.raises(ParameterError, match="unknown column.*sytle"):
        read_jobs(f)
    f.write_text("clips\nc\n")
    with pytest.raises(ParameterError, match="include 'song'"):
        read_jobs(f)
    with pytest.raises(ParameterError, match="not found"):
        read_jobs(tmp_path / "nope.csv")
    with pytest.raises(ParameterError, match="used twice"):
        parse_jobs([{"name": "x", "song": "a.wav"}, {"name": "x", "song": "b.wav"}])
    with pytest.raises(ParameterError, match="plain folder name"):
        parse_jobs([{"name": "../x", "song": "a.wav"}])
    # a bad value fails that job only, naming its line
    jobs = parse_jobs([{"song": "a.wav", "clips": "c", "style": "fastest"},
                       {"song": "a.wav", "clips": "c", "outputs": "plan,gif"},
                       {"song": "a.wav", "outputs": "preview"},
                       {"song": "a.wav", "clips": "c", "seed": "1.5"},
                       {"song": "a.wav", "clips": "c", "aspect": "2:1"},
                       {"song": "a.wav", "clips": "c"}])
    errors = [j.error for j in jobs]
    assert "line 1" in errors[0] and "style must be one of" in errors[0]
    assert "unknown output(s) gif" in errors[1]
    assert "need clips" in errors[2]
    assert "whole number" in errors[3]
    assert "aspect" in errors[4]
    assert errors[5] is None
    assert len({j.name for j in jobs}) == len(jobs)          # unique folder names


# ------------------------------------------------------------------------------------------------
# on a local cluster of 2 workers


def _tasks_run(client, fn):
    with distributed.get_task_stream(client) as ts:
        res = fn()
    return res, [t["key"] for t in ts.data]


def test_batch_matches_serial_runs_and_skips_finished_jobs(media, client, tmp_path):
    clips = str(media / "clips")
    jobs = _jsonl(tmp_path / "jobs.jsonl", [
        {"name": "slow", "song": str(media / "slow.wav"), "clips": [clips], "seed": 3,
         "outputs": ["analysis", "plan", "export"], "formats": ["otio", "edl"]},
        {"name": "fast", "song": str(media / "fast.wav"), "clips": [clips], "variants": 2, "aspect": "9:16",
         "fps": "24000/1001", "outputs": ["plan"]},
        {"name": "slow-phrase", "song": str(media / "slow.wav"), "clips": [clips], "style": "phrase",
         "outputs": ["plan", "preview", "report"]},
    ])
    out = tmp_path / "out"
    res, keys = _tasks_run(client, lambda: musync.batch(jobs, out, scheduler=client))
    assert res.ok and [j.state for j in res.jobs] == ["done"] * 3, res.to_dict()
    # each song analysed once, each clip scanned once, one task per job
    assert sorted(k.split("-")[0] for k in keys) == ["analyze"] * 2 + ["job"] * 3 + ["scan"] * 3
    assert len(list((out / ".batch" / "clips").glob("*.json"))) == 3

    # the same jobs one by one with the command line
    serial = tmp_path / "serial"
    serial.mkdir()
    s = str(media / "slow.wav")
    f = str(media / "fast.wav")
    assert main(["plan", s, clips, "--seed", "3", "-o", str(serial / "slow.json")]) == 0
    assert main(["analyze", s, "--json", str(serial / "slow-analysis.json")]) == 0
    assert main(["plan", f, clips, "--variants", "2", "--aspect", "9:16", "--fps", "24000/1001",
                 "-o", str(serial / "fast.json")]) == 0
    assert main(["plan", s, clips, "--style", "phrase", "-o", str(serial / "phrase.json")]) == 0
    same = [(out / "slow" / "plan.json", serial / "slow.json"),
            (out / "slow" / "analysis.json", serial / "slow-analysis.json"),
            (out / "fast" / "plan-1.json", serial / "fast-1.json"),
            (out / "fast" / "plan-2.json", serial / "fast-2.json"),
            (out / "slow-phrase" / "plan.json", serial / "phrase.json")]
    for batch_file, serial_file in same:
        assert batch_file.read_bytes() == serial_file.read_bytes(), batch_file
    assert json.loads((out / "fast" / "plan-2.json").read_text())["settings"]["style"] == "downbeats"
    assert res["slow"].outputs == ("analysis.json", "plan.json", "edit.otio", "edit.edl")
    assert res["slow-phrase"].outputs == ("plan.json", "preview.mp4", "report.html")
    page = (out / "slow-phrase" / "report.html").read_text()
    assert "musync report" in page and str(out / "slow-phrase" / "plan.json") in page and ".part-" not in page
    for j in res.jobs:
        assert all((out / j.name / o).stat().st_size > 0 for o in j.outputs)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["counts"]["done"] == 3 and [j["state"] for j in summary["jobs"]] == ["done"] * 3
    assert not [p for p in out.iterdir() if ".part-" in p.name]

    # a rerun finds everything finished and starts no task
    res2, keys2 = _tasks_run(client, lambda: musync.batch(jobs, out, scheduler=client))
    assert [j.state for j in res2.jobs] == ["skipped"] * 3 and keys2 == [] and res2.cluster == {}
    assert (out / "slow" / "plan.json").read_bytes() == (serial / "slow.json").read_bytes()

    # a changed song re-runs the jobs that use it, and only those
    mt.make_song(bpm=112, form=FORM, seed=9).write(media / "fast-changed.wav")
    os.replace(media / "fast-changed.wav", media / "fast.wav")
    try:
        res3, keys3 = _tasks_run(client, lambda: musync.batch(jobs, out, scheduler=client))
        assert [j.state for j in res3.jobs] == ["skipped", "done", "skipped"]
        assert sorted(k.split("-")[0] for k in keys3) == ["analyze", "job", "scan", "scan", "scan"]
        assert json.loads((out / "fast" / "plan-1.json").read_text())["audio"]["sha256"] == \
            musync.analyze(media / "fast.wav").audio.sha256
    finally:
        mt.make_song(bpm=126, form=FORM, seed=2).write(media / "fast.wav")


def test_failing_job_is_reported_and_others_finish(media, client, tmp_path, capsys):
    clips = str(media / "clips")
    jobs = tmp_path / "jobs.csv"
    jobs.write_text("name,song,clips,style,outputs\n"
                    f"good,{media / 'slow.wav'},{clips},,plan\n"
                    f"broken,{media / 'broken.wav'},{clips},,plan\n"
                    f"noclips,{media / 'fast.wav'},{tmp_path / 'nothing-here'},,plan\n"
                    f"typo,{media / 'fast.wav'},{clips},fastest,plan\n"
                    f"nosong,{tmp_path / 'gone.wav'},{clips},,plan\n")
    out = tmp_path / "out"
    rc = main(["batch", str(jobs), "-o", str(out), "--scheduler", client.scheduler.address])
    cap = capsys.readouterr()
    assert rc == 1 and "4 of 5 job(s) failed" in cap.err
    summary = json.loads((out / "summary.json").read_text())
    state = {j["name"]: j for j in summary["jobs"]}
    assert {n: j["state"] for n, j in state.items()} == {
        "good": "done", "broken": "failed", "noclips": "failed", "typo": "failed", "nosong": "failed"}
    assert "broken.wav" in state["broken"]["error"]
    assert "no usable clips" in state["noclips"]["error"]
    assert "line 5" in state["typo"]["error"] and "style" in state["typo"]["error"]
    assert "gone.wav" in state["nosong"]["error"] and "not found" in state["nosong"]["error"]
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["good", "summary.json"]
    # the table lists every job with its state
    table = {ln.split()[0]: ln.split()[1] for ln in cap.out.splitlines()[1:-1]}
    assert table == {n: j["state"] for n, j in state.items()}
    assert "[5/5]" in cap.err and "failed" in cap.err


def test_worker_killed_mid_job_is_retried_elsewhere(media, client, tmp_path):
    jobs = [{"name": "long", "song": str(media / "long.wav"), "clips": [str(media / "clips")],
             "outputs": ["plan", "preview", "draft"], "variants": 2}]
    killed = []
    events = []

    def on_event(ev):
        events.append(ev)
        if ev.kind == "start" and not killed:
            addr = ev.message.split()[-1]
            pid = client.run(os.getpid, workers=[addr])[addr]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    res = musync.batch(jobs, tmp_path / "out", scheduler=client, progress=on_event)
    j = res["long"]
    assert killed and j.state == "done" and j.attempts == 2, res.to_dict()
    assert [e.kind for e in events if e.job == "long"] == ["start", "retry", "done"]
    assert j.outputs == ("plan-1.json", "plan-2.json", "preview-1.mp4", "preview-2.mp4",
                         "draft-1.mp4", "draft-2.mp4")
    out = tmp_path / "out"
    assert all((out / "long" / o).stat().st_size > 0 for o in j.outputs)
    assert not [p for p in out.iterdir() if ".part-" in p.name]       # the dead attempt's folder too
    assert not psutil.pid_exists(killed[0]) or psutil.Process(killed[0]).status() == psutil.STATUS_ZOMBIE
    client.wait_for_workers(2, timeout=60)                              # the nanny restarted it


# ------------------------------------------------------------------------------------------------
# as a user runs it: separate processes


def _env(tmp=None):
    env = dict(os.environ)
    env.pop("COLUMNS", None)
    if tmp is not None:
        env["TMPDIR"] = str(tmp)
    return env


def _descendants(proc: subprocess.Popen) -> list:
    try:
        return [psutil.Process(proc.pid)] + psutil.Process(proc.pid).children(recursive=True)
    except psutil.Error:
        return []


def _all_gone(procs, timeout=15.0) -> list:
    _, alive = psutil.wait_procs(procs, timeout=timeout)
    return [p for p in alive if p.status() != psutil.STATUS_ZOMBIE]


def _end(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def test_batch_on_a_cluster_started_with_dask_commands(media, tmp_path):
    """`dask scheduler` and two `dask worker` processes, as a user's cluster; then the batch."""
    bindir = Path(sys.executable).parent
    dask_cmd = str(bindir / "dask") if (bindir / "dask").exists() else "dask"
    sched_file = tmp_path / "scheduler.json"
    scratch = tmp_path / "dask"                     # the user's cluster keeps its scratch here
    scratch.mkdir()
    procs = [subprocess.Popen([dask_cmd, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                               "--scheduler-file", str(sched_file)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                              env=_env(scratch))]
    everything = []
    try:
        deadline = time.monotonic() + 60
        while not sched_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        address = json.loads(sched_file.read_text())["address"]
        for _ in range(2):
            procs.append(subprocess.Popen([dask_cmd, "worker", address, "--nworkers", "1", "--nthreads", "1",
                                           "--no-dashboard", "--host", "127.0.0.1"],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                          start_new_session=True, env=_env(scratch)))
        with distributed.Client(address, timeout="30s") as c:
            c.wait_for_workers(2, timeout=90)
        jobs = _jsonl(tmp_path / "jobs.jsonl", [
            {"song": str(media / "slow.wav"), "clips": [str(media / "clips")], "outputs": ["plan", "preview"]},
            {"song": str(media / "fast.wav"), "clips": [str(media / "clips")], "outputs": ["analysis", "plan"]}])
        out = tmp_path / "out"
        run = subprocess.run([sys.executable, "-m", "musync", "batch", str(jobs), "-o", str(out),
                              "--scheduler", address], capture_output=True, text=True, timeout=240, env=_env(scratch))
        assert run.returncode == 0, run.stderr
        summary = json.loads((out / "summary.json").read_text())
        assert summary["cluster"]["scheduler"] == address and summary["cluster"]["workers"] == 2
        assert summary["cluster"]["local"] is False
        assert [j["state"] for j in summary["jobs"]] == ["done", "done"]
        assert (out / "slow" / "preview.mp4").stat().st_size > 0
        assert len({j["worker"] for j in summary["jobs"]}) >= 1
        assert "2 job(s) to run on " + address in run.stderr
        # a scheduler file works as the address too
        run2 = subprocess.run([sys.executable, "-m", "musync", "batch", str(jobs), "-o", str(out),
                               "--scheduler", str(sched_file), "--force"], capture_output=True, text=True,
                              timeout=240, env=_env(scratch))
        assert run2.returncode == 0, run2.stderr
        for p in procs:
            everything += _descendants(p)
    finally:
        for p in reversed(procs):
            _end(p)
    assert all(p.returncode is not None for p in procs)
    assert _all_gone(everything) == []


def test_ctrl_c_stops_the_batch_and_leaves_only_finished_outputs(media, tmp_path):
    clips = str(media / "clips")
    rows = [{"name": f"j{i}", "song": str(media / ("long.wav" if i else "slow.wav")), "clips": [clips],
             "seed": i, "outputs": ["plan", "draft", "preview"], "variants": 1 if i == 0 else 3}
            for i in range(5)]
    jobs = _jsonl(tmp_path / "jobs.jsonl", rows)
    out = tmp_path / "out"
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "musync", "batch", str(jobs), "-o", str(out), "--workers", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            env=_env(tmp),   # SIG_DFL: heard even from a background job's tests
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    lines = []
    seen_running = threading.Event()

    def read_err():
        for ln in proc.stderr:
            lines.append(ln)
            if "done in" in ln:                                   # one finished, others running
                seen_running.set()

    t = threading.Thread(target=read_err, daemon=True)
    t.start()
    try:
        assert seen_running.wait(180), "".join(lines)
        family = _descendants(proc)
        assert len(family) >= 3                                   # musync and its two workers
        os.killpg(proc.pid, signal.SIGINT)                        # what a terminal's Ctrl-C sends
        rc = proc.wait(timeout=60)
    finally:
        _end(proc)
    t.join(5)
    stdout = proc.stdout.read()
    assert rc == 130, "".join(lines)
    assert any("dashboard http://127.0.0.1:" in ln for ln in lines)    # bokeh is in the test extras
    assert _all_gone(family) == []
    assert list(tmp.iterdir()) == []          # the cluster's scratch folder went with it
    summary = json.loads((out / "summary.json").read_text())
    states = {j["name"]: j["state"] for j in summary["jobs"]}
    assert summary["interrupted"] is True
    assert "done" in states.values() and "cancelled" in states.values(), states
    assert set(states.values()) <= {"done", "cancelled"}
    leftovers = [p for p in out.rglob("*") if ".part" in p.name]
    assert leftovers == []
    for name, st in states.items():
        if st == "done":
            m = json.loads((out / name / "job.json").read_text())
            assert all((out / name / o).stat().st_size > 0 for o in m["outputs"])
        else:
            assert not (out / name).exists()
    assert "cancelled" in stdout


def test_workers_only_for_the_local_cluster(media, tmp_path):
    jobs = [{"song": str(media / "slow.wav"), "outputs": ["analysis"]}]
    with pytest.raises(ParameterError, match="--workers is for the local cluster"):
        musync.batch(jobs, tmp_path / "out", scheduler="tcp://127.0.0.1:9", workers=2)
