"""The review app's JSON API (Starlette's test client), the director's edits, the plan diff,
saving with history, ``musync lock``/``diff``/``report``, and ``--variants`` outputs."""

from __future__ import annotations

import json
import re
import signal
import os
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import musync
from musync.cli import main
from musync.errors import ParameterError, PlanError
from musync.planfile import load_plan, plan_to_json, save_plan, validate_plan
from musync.review import (ReviewSession, alternatives, diff_plans, format_diff, lock_shots, make_app,
                           nudge_cut, save_keeping_previous, set_in_point, swap_clip)
from musync.review import store
from musync.review.edit import usable_frames
from musync.timebase import to_frames

from review_media import fresh_plan, make_review_media

TOKEN = "t0k3n-for-tests"


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    return make_review_media(tmp_path_factory.mktemp("review"))


@pytest.fixture
def session(media, tmp_path):
    s = ReviewSession(fresh_plan(media, tmp_path), load_plan(media["plan_path"]), analysis=media["analysis"],
                      clips=media["clips"])
    yield s
    s.close()


@pytest.fixture
def client(session):
    from starlette.testclient import TestClient

    with TestClient(make_app(session, TOKEN), base_url="http://127.0.0.1:8765") as c:
        c.headers["X-Musync-Token"] = TOKEN
        yield c


def shots_of(resp) -> list[dict]:
    assert resp.status_code == 200, resp.text
    return resp.json()["shots"]


# -- security -------------------------------------------------------------------------------------

def test_every_api_call_needs_the_token(client):
    routes = [("GET", "/api/plan"), ("GET", "/api/state"), ("GET", "/api/song"), ("GET", "/api/clips"),
              ("GET", "/api/thumb?clip=0&frame=0"), ("GET", "/api/alternatives?shot=0"),
              ("GET", "/api/variants"), ("GET", "/api/diff"), ("GET", "/api/audio"), ("GET", "/api/media/draft"),
              ("POST", "/api/lock"), ("POST", "/api/swap"), ("POST", "/api/inpoint"), ("POST", "/api/nudge"),
              ("POST", "/api/replan"), ("POST", "/api/undo"), ("POST", "/api/redo"), ("POST", "/api/save"),
              ("POST", "/api/variants"), ("POST", "/api/adopt"), ("POST", "/api/render")]
    for bad in ({}, {"X-Musync-Token": "wrong"}):
        for method, url in routes:
            r = client.request(method, url, headers={"X-Musync-Token": bad.get("X-Musync-Token", "")},
                               json={"shots": [0], "locked": True} if method == "POST" else None)
            assert r.status_code == 403, (method, url, r.status_code)
            assert "token" in r.json()["error"]
    assert client.get("/", headers={"X-Musync-Token": ""}).status_code == 403
    assert client.get(f"/?token={TOKEN}", headers={"X-Musync-Token": ""}).status_code == 200
    # the token also works as a query parameter (images and video use it that way)
    assert client.get(f"/api/state?token={TOKEN}", headers={"X-Musync-Token": ""}).status_code == 200
    # nothing was changed by the refused calls
    assert not client.get("/api/state").json()["dirty"]


def test_host_header_and_foreign_origin_are_refused(client):
    assert client.get("/api/plan", headers={"host": "evil.example:8765"}).status_code == 400
    assert client.get("/api/plan", headers={"host": "localhost:8765"}).status_code == 200
    r = client.post("/api/lock", json={"shots": [1], "locked": True}, headers={"origin": "http://evil.example"})
    assert r.status_code == 403
    r = client.post("/api/lock", json={"shots": [1], "locked": True}, headers={"origin": "http://127.0.0.1:8765"})
    assert r.status_code == 200


# -- reading ----------------------------------------------------------------------------------------

def test_plan_is_the_plan_file(client, session):
    r = client.get("/api/plan")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert r.text == session.path.read_text()


def test_song_payload_is_on_the_plan_axis(client, media):
    song = client.get("/api/song").json()
    a = media["analysis"]
    assert song["audio"] is True
    assert np.allclose(song["beats"], a.beats, atol=1e-4)
    assert song["climax"] == pytest.approx(a.climax)
    assert [s["label"] for s in song["sections"]] == [s.label for s in a.sections]
    assert len(song["waveform"]) == 3000 and max(song["waveform"]) == pytest.approx(1.0)
    assert song["duration"] == pytest.approx(media["plan"].duration_frames / 30)


def test_clips_carry_the_scan_records(client, media):
    clips = client.get("/api/clips").json()
    assert [c["path"] for c in clips] == sorted(c.path for c in media["clips"])
    rec = clips[0]["record"]
    full = next(c for c in media["clips"] if c.path == clips[0]["path"]).to_dict()
    from musync.review.server import _HEAVY

    assert rec == {k: v for k, v in full.items() if k not in _HEAVY}
    assert "flags" in rec and "quality" in rec and not clips[0]["missing"]


def test_thumbnail_is_a_jpeg_of_the_clip(client):
    r = client.get("/api/thumb?clip=1&frame=20")
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg" and r.content[:2] == b"\xff\xd8"
    assert client.get("/api/thumb?clip=99&frame=0").status_code == 404
    assert client.get("/api/thumb?clip=1&frame=0&h=5000").status_code == 400


# -- edits ------------------------------------------------------------------------------------------

def test_lock_then_save_writes_exactly_what_the_api_returned(client, session):
    before = session.path.read_text()
    shots = shots_of(client.post("/api/lock", json={"shots": [1, 3], "locked": True}))
    assert [s["index"] for s in shots if s["locked"]] == [1, 3]
    assert client.get("/api/state").json()["dirty"] is True
    assert session.path.read_text() == before           # nothing is written before save
    r = client.post("/api/save")
    assert r.status_code == 200
    saved = json.loads(session.path.read_text())
    assert saved == client.get("/api/plan").json()
    assert [s["index"] for s in saved["shots"] if s["locked"]] == [1, 3]
    prev = Path(r.json()["previous"])
    assert prev.read_text() == before and prev.parent == store.history_dir(session.path)
    assert client.get("/api/state").json()["dirty"] is False
    shots = shots_of(client.post("/api/lock", json={"shots": [3], "locked": False}))
    assert [s["index"] for s in shots if s["locked"]] == [1]


def test_bad_requests_get_one_line_errors(client):
    for url, body in (("/api/lock", {"shots": [999], "locked": True}), ("/api/lock", {"shots": "1"}),
                      ("/api/lock", {"shots": [1], "locked": "yes"}), ("/api/nudge", {"shot": 0, "beats": 1}),
                      ("/api/inpoint", {"shot": 1, "source_in": 10 ** 6}), ("/api/swap", {"shot": 1, "source": "/x.mp4"}),
                      ("/api/adopt", {"variant": 4}), ("/api/variants", {"n": 99})):
        r = client.post(url, json=body)
        assert r.status_code == 400, (url, body, r.text)
        assert r.json()["error"] and "\n" not in r.json()["error"]
    assert client.post("/api/lock", content=b"not json", headers={"content-type": "application/json"}).status_code == 400
    assert client.get("/api/state").json()["dirty"] is False


def test_replan_round_trip_keeps_the_locks(client, session):
    orig = load_plan(session.path)
    keep = [1, 4, len(orig.shots) - 2]
    client.post("/api/lock", json={"shots": keep, "locked": True})
    t0 = time.perf_counter()
    new = shots_of(client.post("/api/replan"))
    assert time.perf_counter() - t0 < 5.0
    kept = {(s.record_in, s.record_out, s.source, s.source_in, s.source_out) for s in orig.shots if s.index in keep}
    got = {(s["record_in"], s["record_out"], s["source"], s["source_in"], s["source_out"]) for s in new if s["locked"]}
    assert got == kept
    validate_plan(load_plan_from(client.get("/api/plan").text))
    assert client.get("/api/state").json()["metrics_stale"] is False


def test_review_replan_keeps_the_editors_notes(media, tmp_path):
    import dataclasses

    notes = [{"frame": 10, "name": "hold this", "duration": 0, "on": "timeline"}]
    p = load_plan(media["plan_path"])
    p = dataclasses.replace(p, markers={**p.markers, "notes": notes},
                            shots=(dataclasses.replace(p.shots[0], locked=True),) + p.shots[1:])
    path = save_plan(p, tmp_path / "imported.json")
    s = ReviewSession(path, load_plan(path), analysis=media["analysis"], clips=media["clips"])
    try:
        assert s.replan().markers["notes"] == notes
        s.save()
        assert load_plan(path).markers["notes"] == notes
    finally:
        s.close()


def load_plan_from(text: str):
    from musync.types import Plan

    return Plan.from_dict(json.loads(text))


def test_undo_redo(client, session):
    p0 = client.get("/api/plan").text
    p1 = client.post("/api/lock", json={"shots": [2], "locked": True}).text
    p2 = client.post("/api/lock", json={"shots": [5], "locked": True}).text
    st = client.get("/api/state").json()
    assert st["can_undo"] and not st["can_redo"] and st["undo"] == "lock shot 5"
    assert client.post("/api/undo").text == p1
    assert client.post("/api/undo").text == p0
    assert client.post("/api/undo").text == p0          # nothing more to undo
    assert client.get("/api/state").json()["dirty"] is False
    assert client.post("/api/redo").text == p1
    client.post("/api/lock", json={"shots": [7], "locked": True})
    assert client.get("/api/state").json()["can_redo"] is False
    assert p2 != p1


def test_nudge_moves_the_cut_to_the_next_beat_as_a_roll_edit(client, media):
    plan = media["plan"]
    beats = sorted(set(to_frames(media["analysis"].beats, plan.fps).tolist()))
    clips = {c.path: c for c in plan.clips}

    def room(i):  # the next beat after shot i's start, and whether shot i-1's clip can run to it
        s = plan.shots[i]
        t = min(b for b in beats if b > s.record_in)
        lo, hi = usable_frames(clips[plan.shots[i - 1].source], plan.fps)
        return t < s.record_out and hi - lo >= plan.shots[i - 1].length + (t - s.record_in)

    k = next(i for i in range(1, len(plan.shots)) if room(i))
    prev, s = plan.shots[k - 1], plan.shots[k]
    new = shots_of(client.post("/api/nudge", json={"shot": k, "beats": 1}))
    target = min(b for b in beats if b > s.record_in)
    d = target - s.record_in
    assert new[k]["record_in"] == target and new[k - 1]["record_out"] == target
    assert new[k]["locked"] and new[k]["reason"].startswith("by hand: cut moved 1 beat later")
    lo, hi = usable_frames(clips[s.source], plan.fps)
    want_in = min(max(s.source_in + d, lo), hi - (s.length - d))
    assert new[k]["source_in"] == want_in and new[k]["source_out"] - new[k]["source_in"] == s.length - d
    assert new[k - 1]["source_out"] - new[k - 1]["source_in"] == prev.length + d
    back = shots_of(client.post("/api/nudge", json={"shot": k, "beats": -1}))
    earlier = max(b for b in beats if b < target)
    assert back[k]["record_in"] == earlier
    # a cut that would need more picture than the clip has is refused, saying which shot
    j = next((i for i in range(1, len(plan.shots)) if not room(i) and min(b for b in beats if b > plan.shots[i].record_in)
              < plan.shots[i].record_out), None)
    if j is not None:
        r = client.post("/api/nudge", json={"shot": j, "beats": 1})
        assert r.status_code == 400 and f"shot {j - 1}" in r.json()["error"]


def test_swap_and_in_point(client, session, media):
    plan = media["plan"]
    k = 2
    alts = client.get(f"/api/alternatives?shot={k}").json()
    assert sum(a["current"] for a in alts) == 1 and alts[0]["fits"]
    fits = [a for a in alts if a["fits"]]
    assert [a["score"] for a in fits] == sorted((a["score"] for a in fits), reverse=True)
    other = next(a for a in fits if not a["current"])
    new = shots_of(client.post("/api/swap", json={"shot": k, "clip": other["id"]}))
    s = new[k]
    assert s["source"] == other["path"] and s["source_in"] == other["source_in"] and s["locked"]
    assert s["source_out"] - s["source_in"] == plan.shots[k].length
    assert (s["record_in"], s["record_out"]) == (plan.shots[k].record_in, plan.shots[k].record_out)
    lo, hi = other["usable"]
    assert lo <= s["source_in"] and s["source_out"] <= hi
    slipped = shots_of(client.post("/api/inpoint", json={"shot": k, "source_in": lo}))
    assert slipped[k]["source_in"] == lo and slipped[k]["source_out"] == lo + plan.shots[k].length
    assert client.post("/api/inpoint", json={"shot": k, "source_in": hi}).status_code == 400
    d = client.get("/api/diff").json()
    assert d["summary"] == {"re-sourced": 1} and d["changed_b"] == [k]


def test_variants_side_by_side_and_adopt(client, session):
    client.post("/api/lock", json={"shots": [3], "locked": True})
    locked = next(s for s in client.get("/api/plan").json()["shots"] if s["locked"])
    vs = client.post("/api/variants", json={"n": 2}).json()
    assert [v["name"] for v in vs] == ["energy / seed 1", "downbeats / seed 2"]
    for v in vs:
        assert locked in [dict(s, index=locked["index"]) for s in v["plan"]["shots"] if s["locked"]]
    assert client.get("/api/variants").json() == vs
    adopted = client.post("/api/adopt", json={"variant": 1}).json()
    assert adopted == vs[1]["plan"]
    d = client.get("/api/diff?against=variant-1").json()
    assert d["changes"] == [] and d["unchanged"] == len(adopted["shots"])
    assert client.post("/api/undo").json()["settings"]["style"] == "energy"


@pytest.mark.parametrize("kind", ["preview", "draft"])
def test_render_preview_and_play_it(client, session, kind):
    assert client.get(f"/api/media/{kind}").status_code == 404
    st = client.post("/api/render", json={"kind": kind}).json()
    assert st["media"][kind]["status"] in ("running", "done")
    t0 = time.monotonic()
    while client.get("/api/state").json()["media"][kind]["status"] == "running":
        assert time.monotonic() - t0 < 120
        time.sleep(0.2)
    st = client.get("/api/state").json()["media"][kind]
    assert st["status"] == "done" and not st["stale"], st
    if kind != "preview":
        return
    r = client.get("/api/media/preview", headers={"range": "bytes=0-99"})
    assert r.status_code == 206 and len(r.content) == 100
    client.post("/api/lock", json={"shots": [1], "locked": True})
    client.post("/api/replan")
    assert client.get("/api/state").json()["media"]["preview"]["stale"] is True
    assert client.post("/api/render", json={"kind": "movie"}).status_code == 400


def test_closing_with_unsaved_changes_writes_the_recovery_file(media, tmp_path):
    path = fresh_plan(media, tmp_path)
    s = ReviewSession(path, load_plan(path), analysis=media["analysis"], clips=media["clips"])
    assert s.close() is None and not store.recovery_path(path).exists()
    s = ReviewSession(path, load_plan(path), analysis=media["analysis"], clips=media["clips"])
    s.lock([2])
    rec = s.close()
    assert rec == store.recovery_path(path) and load_plan(rec).shots[2].locked
    assert not load_plan(path).shots[2].locked


# -- the library ------------------------------------------------------------------------------------

def test_edits_return_new_valid_plans_and_leave_the_input_alone(media):
    plan = media["plan"]
    text = plan_to_json(plan)
    locked = lock_shots(plan, [0, 2])
    assert [s.locked for s in locked.shots[:3]] == [True, False, True]
    assert plan_to_json(plan) == text
    with pytest.raises(ParameterError):
        lock_shots(plan, [len(plan.shots)])
    with pytest.raises(ParameterError):
        nudge_cut(plan, 0, 1)
    with pytest.raises(PlanError):
        set_in_point(plan, 1, -1)
    other = next(c.path for c in plan.clips if c.path != plan.shots[1].source)
    swapped = swap_clip(plan, 1, other)
    validate_plan(swapped)
    assert swapped.shots[1].source == other and plan.shots[1].source != other


def test_alternatives_mark_adjacent_repeats_and_too_short_clips(media):
    plan = media["plan"]
    k = 3
    alts = alternatives(plan, k)
    neighbours = {plan.shots[k - 1].source, plan.shots[k + 1].source}
    for a in alts:
        assert a["adjacent_repeat"] == (a["path"] in neighbours)
        lo, hi = a["usable"]
        assert a["fits"] == (hi - lo >= plan.shots[k].length)


def _plan_with(shots, fps=30, metrics=None):
    from musync.types import AudioInfo, Plan, PlanClip, PlanSettings, Shot

    clips = tuple(PlanClip(p, 20.0, Fraction(30), (320, 180), usable_in=0.0, usable_out=20.0)
                  for p in ("/c/a.mp4", "/c/b.mp4", "/c/c.mp4"))
    ss, t = [], 0
    for i, (src, a, n, *lk) in enumerate(shots):
        ss.append(Shot(i, src, a, a + n, t, t + n, locked=bool(lk and lk[0])))
        t += n
    return Plan(AudioInfo("/s.wav", "", t / fps, 44100, 2), Fraction(fps), t, (320, 180), "16:9",
                PlanSettings(fps=Fraction(fps)), tuple(ss), metrics=metrics or {}, clips=clips)


def test_diff_names_each_kind_of_change():
    a = _plan_with([("/c/a.mp4", 0, 30), ("/c/b.mp4", 10, 30), ("/c/c.mp4", 0, 30), ("/c/a.mp4", 100, 30),
                    ("/c/b.mp4", 200, 30), ("/c/c.mp4", 300, 30)],
                   metrics={"cuts_on_beat": 1.0, "shots": 6, "hypnosis": {"longest_run": 4}, "sections": [1]})
    b = _plan_with([("/c/a.mp4", 0, 30, True),     # 0: the same shot, now locked
                    ("/c/c.mp4", 10, 30),           # 1: same slot, another clip
                    ("/c/c.mp4", 0, 40),            # 2: same start and sync, ends 10 frames later
                    ("/c/a.mp4", 110, 20),          # 3: in sync with A's shot 3, starts 10 frames later
                    ("/c/c.mp4", 300, 30),          # 4: A's shot 5, one slot earlier
                    ("/c/b.mp4", 999, 30)],         # 5: new material (A's shot 4 is gone)
                   metrics={"cuts_on_beat": 0.9, "shots": 6, "hypnosis": {"longest_run": 2}, "sections": [2]})
    d = diff_plans(a, b)
    assert sorted(((c.kind, c.a, c.b) for c in d.changes), key=str) == sorted([
        ("locked", 0, 0), ("re-sourced", 1, 1), ("trimmed", 2, 2), ("trimmed", 3, 3), ("moved", 5, 4),
        ("removed", 4, None), ("added", None, 5)], key=str)
    assert d.metrics == {"cuts_on_beat": (1.0, 0.9), "hypnosis.longest_run": (4, 2)}
    assert d.unchanged == 1 and d.changed_b == (1, 2, 3, 4, 5)
    assert d.summary() == {"re-sourced": 1, "trimmed": 2, "moved": 1, "removed": 1, "added": 1, "locked": 1}
    text = format_diff(d, "a.json", "b.json")
    assert "re-sourced shot 1: b.mp4 -> c.mp4" in text and "hypnosis.longest_run: 4 -> 2" in text
    assert "moved      shot 5 -> 4" in text
    assert diff_plans(a, a).same and "the plans are the same" in format_diff(diff_plans(a, a))


def test_diff_slipped_and_removed():
    a = _plan_with([("/c/a.mp4", 0, 30), ("/c/b.mp4", 10, 30), ("/c/c.mp4", 0, 30)])
    b = _plan_with([("/c/a.mp4", 0, 30), ("/c/b.mp4", 50, 60)])
    # b's shot 1 covers A's shots 1 and 2 with the same clip out of sync: one removed, one added
    assert {(c.kind, c.a, c.b) for c in diff_plans(a, b).changes} == {
        ("removed", 1, None), ("removed", 2, None), ("added", None, 1)}
    a2 = _plan_with([("/c/a.mp4", 0, 30), ("/c/b.mp4", 10, 30)])
    b2 = _plan_with([("/c/a.mp4", 0, 30), ("/c/b.mp4", 70, 30)])
    assert [(c.kind, c.a, c.b) for c in diff_plans(a2, b2).changes] == [("slipped", 1, 1)]


def test_save_keeping_previous(media, tmp_path, monkeypatch):
    path = fresh_plan(media, tmp_path)
    first = path.read_text()
    plan = load_plan(path)
    out, prev = save_keeping_previous(plan, path)
    assert prev is None and path.read_text() == first           # same content: no new version
    monkeypatch.setattr(store, "KEEP", 3)
    texts = [first]
    for i in range(5):
        plan = lock_shots(plan, [i])
        out, prev = save_keeping_previous(plan, path)
        assert prev.read_text() == texts[-1]
        texts.append(path.read_text())
    kept = sorted(p.name for p in store.history_dir(path).iterdir())
    assert kept == ["plan-0003.json", "plan-0004.json", "plan-0005.json"]
    assert not [p for p in tmp_path.rglob("*.part*")]


# -- the command line -------------------------------------------------------------------------------

def run(args, capsys):
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_lock_and_diff(media, tmp_path, capsys):
    path = fresh_plan(media, tmp_path)
    before = path.read_text()
    code, _, err = run(["lock", path, "1", "3-4"], capsys)
    assert code == 0, err
    p = load_plan(path)
    assert [s.index for s in p.shots if s.locked] == [1, 3, 4]
    assert (store.history_dir(path) / "plan-0001.json").read_text() == before
    code, _, err = run(["lock", path, "3", "--unlock"], capsys)
    assert code == 0 and [s.index for s in load_plan(path).shots if s.locked] == [1, 4]
    code, _, err = run(["lock", path, "999"], capsys)
    assert code == 2 and "999" in err
    code, _, err = run(["lock", path, "x"], capsys)
    assert code == 2
    out2 = tmp_path / "other.json"
    code, _, err = run(["lock", path, "0", "-o", out2], capsys)
    assert code == 0 and load_plan(out2).shots[0].locked and not load_plan(path).shots[0].locked
    code, out, err = run(["diff", media["plan_path"], path], capsys)
    assert code == 0 and "2 locked" in out and f"{len(p.shots)} unchanged" in out
    code, out, err = run(["diff", media["plan_path"], path, "--json"], capsys)
    assert json.loads(out)["summary"] == {"locked": 2}


def test_cli_plan_variants_write_one_export_each(media, tmp_path, capsys):
    out = tmp_path / "v.json"
    code, _, err = run(["plan", media["song"], media["folder"] / "clips", "-o", out, "--variants", "2",
                        "--export", tmp_path / "edit.otio", "--progress", "none"], capsys)
    assert code == 0, err
    for i in (1, 2):
        assert (tmp_path / f"v-{i}.json").exists() and (tmp_path / f"edit-{i}.otio").exists()
    assert "2 variants: one export each" in err
    assert f"wrote {tmp_path / 'edit-2.otio'} (from {tmp_path / 'v-2.json'})" in err
    # an existing output is never replaced without -y, for any of the variants
    code, _, err = run(["plan", media["song"], media["folder"] / "clips", "-o", tmp_path / "w.json", "--variants", "2",
                        "--export", tmp_path / "edit.otio"], capsys)
    assert code == 4 and "edit-1.otio" in err and not (tmp_path / "w-1.json").exists()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=["ctrl-c", "sigterm", "hang-up"])
def test_review_command_serves_and_stops_cleanly(media, tmp_path, sig):
    import httpx2 as httpx

    path = fresh_plan(media, tmp_path)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "musync", "review", str(path), "--no-browser"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, TMPDIR=str(tmp)),
                            # SIGHUP as a terminal delivers it, even when the tests run under nohup
                            preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_DFL))
    try:
        url = None
        t0 = time.monotonic()
        while url is None and time.monotonic() - t0 < 120:
            line = proc.stderr.readline()
            m = re.search(r"(http://127\.0\.0\.1:\d+/\?token=\S+)", line)
            url = m.group(1) if m else None
            assert line or proc.poll() is None
        assert url, "no URL printed"
        base, token = url.split("/?token=")
        assert httpx.get(f"{base}/api/state").status_code == 403
        assert httpx.get(f"{base}/api/state", headers={"X-Musync-Token": token}).json()["dirty"] is False
        r = httpx.post(f"{base}/api/lock", json={"shots": [2], "locked": True}, headers={"X-Musync-Token": token})
        assert r.status_code == 200
        proc.send_signal(sig)
        assert proc.wait(timeout=20) == 0
        rest = proc.stderr.read()
        rec = store.recovery_path(path)
        assert str(rec) in rest and load_plan(rec).shots[2].locked
        assert not load_plan(path).shots[2].locked
        assert list(tmp.iterdir()) == []             # no temporary folder or file left behind
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_session_dropped_without_close_stops_its_renders_and_removes_their_folder(media, tmp_path):
    import gc

    path = fresh_plan(media, tmp_path)
    s = ReviewSession(path, load_plan(path), analysis=media["analysis"], clips=media["clips"])
    s.render("preview")
    folder, proc = s._render_dir(), s._jobs["preview"].proc
    assert folder.is_dir() and proc is not None
    del s
    gc.collect()
    assert not folder.exists()
    assert proc.poll() is not None                # stopped, not left writing into a removed folder


def test_review_refuses_a_busy_port(media, tmp_path, capsys, monkeypatch):
    import socket
    import tempfile

    from musync.review import serve

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    try:
        code, _, err = run(["review", fresh_plan(media, tmp_path), "--no-browser", "--port", s.getsockname()[1]], capsys)
        assert code == 2 and "not free" in err
        assert list(tmp.iterdir()) == []             # nothing left behind by the refused review
        # the library's serve() closes the session it was given even when it cannot start:
        # renders stop, their folder goes, unsaved changes reach the recovery file
        path = fresh_plan(media, tmp_path)
        session = ReviewSession(path, load_plan(path), analysis=media["analysis"], clips=media["clips"])
        session.lock([1])
        rendered = session._render_dir()
        with pytest.raises(ParameterError, match="not free"):
            serve(session, port=s.getsockname()[1], open_browser=False, echo=lambda m: None)
    finally:
        s.close()
    assert load_plan(store.recovery_path(path)).shots[1].locked and not rendered.exists()


# -- pictures ---------------------------------------------------------------------------------------

def test_thumbnail_shows_the_right_frame_and_is_cached(tmp_path, monkeypatch):
    import io

    from musync.review import pictures

    from PIL import Image

    from musync import cache
    from musync.media import run_ffmpeg
    from musync.review.pictures import thumbnail

    clip = tmp_path / "ramp.mp4"   # frame n has luma 16 + 3 n: every frame a different grey
    run_ffmpeg(["-y", "-f", "lavfi", "-i", "nullsrc=s=96x54:r=30:d=2,geq=lum='16+3*N':cb=128:cr=128",
                "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-g", "12", "-pix_fmt", "yuv420p", str(clip)])

    def ffmpeg_grey(k):   # the oracle: ffmpeg's own decode of frame k, by number
        raw = run_ffmpeg(["-i", str(clip), "-vf", f"select=eq(n\\,{k})", "-frames:v", "1", "-f", "rawvideo",
                          "-pix_fmt", "gray", "pipe:1"])
        return float(np.frombuffer(raw, np.uint8).mean())

    monkeypatch.setenv("MUSYNC_CACHE_DIR", str(tmp_path / "cache"))
    made = {}
    for k in (0, 17, 45):
        made[k] = data = thumbnail(clip, k / 30, height=54)
        grey = float(np.asarray(Image.open(io.BytesIO(data)).convert("L")).mean())
        assert abs(grey - ffmpeg_grey(k)) < 1.5, k
        assert abs(grey - ffmpeg_grey(k + 1)) > 2.0     # an off-by-one frame would show
    assert len(list((cache.cache_dir() / "thumbs").glob("*.jpg"))) == 3

    def no_decode(*a, **k):
        raise AssertionError("decoded again")

    monkeypatch.setattr(pictures, "_decode_video", no_decode)
    assert thumbnail(clip, 17 / 30, height=54) == made[17]
    with pytest.raises(musync.MediaError):
        thumbnail(tmp_path / "missing.mp4", 0.0)


def test_waveform_is_the_peak_envelope(tmp_path):
    from musync.review.pictures import waveform
    from musync.testing import write_wav

    sr = 8000
    y = np.concatenate([np.zeros(sr), 0.5 * np.sin(2 * np.pi * 440 * np.arange(sr) / sr)])
    peaks = waveform(write_wav(tmp_path / "s.wav", y, sr), bins=100)
    assert peaks.shape == (100,)
    assert np.all(peaks[:48] < 0.01) and np.all(peaks[52:] > 0.95)


def test_thumbnail_reads_the_proxy_when_there_is_one(tmp_path, monkeypatch):
    import io

    from PIL import Image

    from musync.media import run_ffmpeg
    from musync.render import proxies
    from musync.review.pictures import thumbnail

    monkeypatch.setenv("MUSYNC_CACHE_DIR", str(tmp_path / "cache"))
    for name, grey in (("src", 60), ("proxy", 200)):
        run_ffmpeg(["-y", "-f", "lavfi", "-i", f"color=c=0x{grey:02x}{grey:02x}{grey:02x}:s=64x36:r=30:d=1",
                    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(tmp_path / f"{name}.mp4")])
    fake = proxies.Proxy(tmp_path / "proxy.mp4", tmp_path / "src.mp4", "0" * 64, (64, 36), (64, 36), 0, 30)
    monkeypatch.setattr(proxies, "proxy_for", lambda path, compute_hash=True: fake)
    grey = float(np.asarray(Image.open(io.BytesIO(thumbnail(tmp_path / "src.mp4", 0.5, height=36))).convert("L")).mean())
    assert abs(grey - 200) < 6


def test_alternatives_name_and_rank_down_flagged_ranges(media):
    import dataclasses

    from musync.types import ContentFlag

    plan = media["plan"]
    k = 3
    clean = [dataclasses.replace(c, flags=()) for c in media["clips"]]
    base = {a["path"]: a for a in alternatives(plan, k, clean)}
    victim = next(p for p, a in base.items() if a["fits"] and not a["current"])
    info = next(c for c in clean if c.path == victim)
    flag = ContentFlag(0.0, info.duration, "test_pattern", "bars", 0.9)
    box = ContentFlag(0.0, info.duration, "letterbox", "bars above and below", 0.9)
    clips = [dataclasses.replace(c, flags=(flag,)) if c.path == victim else dataclasses.replace(c, flags=(box,))
             for c in clean]
    alts = {a["path"]: a for a in alternatives(plan, k, clips)}
    assert alts[victim]["flags"] == ["test_pattern"]
    assert alts[victim]["score"] == pytest.approx(max(0.0, base[victim]["score"] - 0.3), abs=1e-4)
    assert all(a["flags"] == [] and a["score"] == base[p]["score"] for p, a in alts.items() if p != victim)
