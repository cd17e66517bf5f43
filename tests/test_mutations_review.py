"""Small bugs the review tests would let through: the origin check, request validation, the
diff's matching rules, "save as", the recovery file, variants of another length, the edits'
window and beat rules, and the report's inline data.

Plans here are built from the dataclasses (no song analysis, no scan), so every frame is known;
HTTP goes through Starlette's test client, the report is parsed by Python's own HTML parser.
"""

from __future__ import annotations

import dataclasses
import json
from fractions import Fraction
from html.parser import HTMLParser
from pathlib import Path

import pytest

from musync.errors import ParameterError, PlanError
from musync.planfile import load_plan, save_plan
from musync.review import ReviewSession, alternatives, diff_plans, make_app, nudge_cut, set_in_point
from musync.review import store
from musync.types import AudioInfo, Plan, PlanClip, PlanSettings, Shot

TOKEN = "mutations-token"
FPS = Fraction(30)
PATHS = ("/c/a.mp4", "/c/b.mp4", "/c/c.mp4")


def plan_of(shots, *, metrics=None, settings=None, beats=(), clips=None) -> Plan:
    """Shots as (source, source_in, length[, locked]) tiling the song from frame 0."""
    clips = clips or tuple(PlanClip(p, 20.0, FPS, (320, 180), usable_in=0.0, usable_out=20.0,
                                    brightness=0.2 * k, motion=0.3 * k) for k, p in enumerate(PATHS))
    ss, t = [], 0
    for i, (src, a, n, *lk) in enumerate(shots):
        ss.append(Shot(i, src, a, a + n, t, t + n, locked=bool(lk and lk[0]), reason=f"planned {i}",
                       energy=0.5))
        t += n
    return Plan(AudioInfo("/nowhere/song.wav", "", t / 30, 44100, 2), FPS, t, (320, 180), "16:9",
                settings or PlanSettings(fps=FPS), tuple(ss), markers={"beats": list(beats)},
                metrics=metrics or {}, clips=clips)


BASE = [("/c/a.mp4", 0, 30), ("/c/b.mp4", 10, 30), ("/c/c.mp4", 0, 30), ("/c/a.mp4", 100, 30)]


@pytest.fixture
def session(tmp_path):
    path = save_plan(plan_of(BASE), tmp_path / "plan.json")
    s = ReviewSession(path, load_plan(path))
    yield s
    s.close()


@pytest.fixture
def client(session):
    from starlette.testclient import TestClient

    with TestClient(make_app(session, TOKEN), base_url="http://127.0.0.1:8765") as c:
        c.headers["X-Musync-Token"] = TOKEN
        yield c


# -- the server ----------------------------------------------------------------------------------

@pytest.mark.parametrize("origin", ["http://localhost.evil.example", "http://127.0.0.1.evil.example:8765",
                                    "https://evil.example", "null"])
def test_a_post_from_a_look_alike_origin_is_refused(client, origin):
    r = client.post("/api/lock", json={"shots": [1], "locked": True}, headers={"origin": origin})
    assert r.status_code == 403, origin
    assert client.get("/api/state").json()["dirty"] is False
    ok = client.post("/api/lock", json={"shots": [1], "locked": True}, headers={"origin": "http://localhost:8765"})
    assert ok.status_code == 200


@pytest.mark.parametrize("body", [{"shot": True, "source_in": 5}, {"shot": 1, "source_in": 5.0},
                                  {"shot": "1", "source_in": 5}])
def test_an_index_must_be_a_real_integer(client, body):
    r = client.post("/api/inpoint", json=body)
    assert r.status_code == 400 and "integer" in r.json()["error"]
    assert client.get("/api/state").json()["dirty"] is False


@pytest.mark.parametrize("method, url, kw", [
    ("POST", "/api/save", {"content": b"not json", "headers": {"content-type": "application/json"}}),
    ("GET", "/api/diff?against=variant-x", {}),
    ("GET", "/api/diff?against=variant-", {}),
    ("GET", "/api/diff?against=variant--1", {}),
    ("POST", "/api/swap", {"json": {"shot": 1, "clip": True}}),
])
def test_malformed_requests_are_one_line_400s_not_server_errors(client, session, method, url, kw):
    before = session.path.read_text()
    r = client.request(method, url, **kw)
    assert r.status_code == 400, r.text
    assert r.json()["error"] and "\n" not in r.json()["error"]
    assert session.path.read_text() == before and client.get("/api/state").json()["dirty"] is False


# -- the diff ---------------------------------------------------------------------------------------

def kinds(a, b):
    return sorted(((c.kind, c.a, c.b) for c in diff_plans(a, b).changes), key=str)


def test_diff_same_clip_in_sync_but_not_overlapping_is_not_a_trim():
    a = plan_of([("/c/a.mp4", 0, 30), ("/c/b.mp4", 40, 30)])
    # B's shot 1 continues A's shot 0 in sync (source 30..60 at record 30..60): it only touches it
    b = plan_of([("/c/c.mp4", 0, 30), ("/c/a.mp4", 30, 30)])
    assert kinds(a, b) == sorted([("re-sourced", 0, 0), ("re-sourced", 1, 1)], key=str)
    c = plan_of([("/c/b.mp4", 0, 30), ("/c/a.mp4", 30, 30)])
    a2 = plan_of([("/c/a.mp4", 0, 30), ("/c/c.mp4", 5, 30)])
    assert ("trimmed", 0, 1) not in kinds(a2, c) and ("trimmed", 1, 0) not in kinds(a2, c)


def test_diff_the_same_in_point_at_another_length_elsewhere_is_not_moved():
    a = plan_of([("/c/a.mp4", 0, 30), ("/c/b.mp4", 10, 30), ("/c/c.mp4", 0, 30)])
    b = plan_of([("/c/c.mp4", 50, 30), ("/c/b.mp4", 10, 30), ("/c/a.mp4", 0, 20), ("/c/b.mp4", 200, 10)])
    # A's shot 0 shares B's shot 2's clip and in-point, not its length: B's shot 2 is new
    assert kinds(a, b) == [("added", None, 2), ("added", None, 3), ("re-sourced", 0, 0), ("removed", 2, None)]


def test_diff_reports_small_metric_changes_and_settings():
    a = plan_of(BASE, metrics={"cuts_on_beat": 0.5, "pace": {"cv": 0.25}},
                settings=PlanSettings(fps=FPS, seed=1))
    b = plan_of(BASE, metrics={"cuts_on_beat": 0.5004, "pace": {"cv": 0.25}},
                settings=PlanSettings(fps=FPS, seed=2))
    d = diff_plans(a, b)
    assert d.metrics == {"cuts_on_beat": (0.5, 0.5004)}
    assert d.settings == {"seed": (1, 2)}
    assert not d.same and d.changes == () and d.unchanged == len(BASE)


def test_diff_unlocking_is_reported_as_unlocked():
    a = plan_of([("/c/a.mp4", 0, 30, True), ("/c/b.mp4", 10, 30)])
    b = plan_of([("/c/a.mp4", 0, 30), ("/c/b.mp4", 10, 30, True)])
    assert kinds(a, b) == [("locked", 1, 1), ("unlocked", 0, 0)]
    assert diff_plans(a, b).unchanged == 2


# -- the session -------------------------------------------------------------------------------------

def test_save_as_another_file_leaves_the_review_unsaved(session, tmp_path):
    before = session.path.read_text()
    session.lock([2])
    out = session.save(tmp_path / "copy.json")
    assert out == {"path": str(tmp_path / "copy.json"), "previous": None}
    assert load_plan(tmp_path / "copy.json").shots[2].locked
    assert session.state()["dirty"] is True and session.path.read_text() == before
    assert session.save()["previous"] == str(store.history_dir(session.path) / "plan-0001.json")
    assert session.state()["dirty"] is False


def test_saving_removes_the_recovery_file(tmp_path):
    path = save_plan(plan_of(BASE), tmp_path / "plan.json")
    s = ReviewSession(path, load_plan(path))
    s.lock([1])
    rec = s.close()
    assert rec == store.recovery_path(path) and rec.exists()
    s = ReviewSession(path, load_plan(rec))             # reopened from the recovery file
    s.save(path)
    assert not rec.exists() and load_plan(path).shots[1].locked
    assert s.close() is None


def test_a_variant_of_another_length_or_rate_cannot_be_adopted(tmp_path):
    path = save_plan(plan_of(BASE), tmp_path / "plan.json")
    longer = plan_of(BASE + [("/c/b.mp4", 300, 15)])
    other_rate = dataclasses.replace(plan_of(BASE), fps=Fraction(25), settings=PlanSettings(fps=Fraction(25)))
    same = plan_of([("/c/c.mp4", 0, 60), ("/c/a.mp4", 0, 60)])
    s = ReviewSession(path, load_plan(path), compare=[("longer", longer), ("pal", other_rate), ("same", same)])
    try:
        for i in (0, 1):
            with pytest.raises(PlanError, match="another song length or frame rate"):
                s.adopt(i)
        assert s.plan == load_plan(path)
        assert s.adopt(2) == same
    finally:
        s.close()


# -- the edits ----------------------------------------------------------------------------------------

def test_set_in_point_takes_the_last_possible_frame_and_no_later():
    short = tuple(PlanClip(p, 2.0, FPS, (320, 180), usable_in=0.0, usable_out=2.0) for p in PATHS)
    p = plan_of(BASE[:3], clips=short)       # 2 s clips: frames 0 .. 59 usable
    last = 60 - p.shots[1].length
    assert set_in_point(p, 1, last).shots[1].source_out == 60
    with pytest.raises(PlanError, match="possible in-points: 0 to 30"):
        set_in_point(p, 1, last + 1)


def test_nudge_earlier_by_two_beats_and_the_unlocked_neighbour_keeps_its_reason():
    # beats every 10 frames; shot 2 starts at frame 60
    p = plan_of([("/c/a.mp4", 0, 30), ("/c/b.mp4", 100, 30), ("/c/c.mp4", 100, 30)], beats=range(0, 90, 10))
    q = nudge_cut(p, 2, -2)
    assert (q.shots[1].record_out, q.shots[2].record_in) == (40, 40)
    assert q.shots[2].locked and q.shots[2].source_in == 80      # in sync: 20 frames earlier
    assert not q.shots[1].locked and q.shots[1].reason == "planned 1"
    assert q.shots[1].source_out - q.shots[1].source_in == 10
    locked = dataclasses.replace(p, shots=(p.shots[0], dataclasses.replace(p.shots[1], locked=True), p.shots[2]))
    r = nudge_cut(locked, 2, -1)
    assert r.shots[1].reason.startswith("by hand: end: cut moved 1 beat earlier")


def test_alternatives_score_is_the_documented_blend():
    p = plan_of([("/c/a.mp4", 0, 30), ("/c/b.mp4", 10, 30), ("/c/a.mp4", 100, 30)])
    for a in alternatives(p, 1):
        sc = a["scores"]
        want = 0.5 * sc["motion_fit"] + 0.3 * sc["continuity"] + 0.2 * sc["freshness"] \
            - (0.2 if a["adjacent_repeat"] else 0.0) - (0.3 if a["flags"] else 0.0)
        assert a["score"] == pytest.approx(max(0.0, want), abs=2e-4), a
        assert a["adjacent_repeat"] == (a["path"] == "/c/a.mp4")


# -- the report ------------------------------------------------------------------------------------

class _Scripts(HTMLParser):
    def __init__(self):
        super().__init__()
        self.scripts, self._in = [], False

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self._in = True
            self.scripts.append("")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in = False

    def handle_data(self, data):
        if self._in:
            self.scripts[-1] += data


def _report_data(html: str) -> dict:
    p = _Scripts()
    p.feed(html)
    blobs = [s for s in p.scripts if s.startswith("window.MUSYNC_REPORT = ")]
    assert len(blobs) == 1, [s[:60] for s in p.scripts]
    return json.loads(blobs[0].removeprefix("window.MUSYNC_REPORT = ").rstrip().rstrip(";"))


def test_report_keeps_a_closing_script_tag_in_the_plan_as_text(tmp_path):
    from musync.review.report import report_html

    evil = "</script><script>document.title='x'</script>"
    p = plan_of(BASE)
    p = dataclasses.replace(p, shots=(dataclasses.replace(p.shots[0], reason=evil),) + p.shots[1:])
    path = save_plan(p, tmp_path / "plan.json")
    s = ReviewSession(path, load_plan(path))
    try:
        data = _report_data(report_html(s))
    finally:
        s.close()
    assert data["plan"]["shots"][0]["reason"] == evil


def test_report_thumbnail_is_the_shots_middle_frame(tmp_path, monkeypatch):
    import base64
    import io

    import numpy as np
    from PIL import Image

    from musync.media import run_ffmpeg
    from musync.review.report import report_html

    monkeypatch.setenv("MUSYNC_CACHE_DIR", str(tmp_path / "cache"))
    clip = tmp_path / "ramp.mp4"          # frame n has luma 16 + 6 n (40 frames)
    run_ffmpeg(["-y", "-f", "lavfi", "-i", "nullsrc=s=64x36:r=30:d=1.3334,geq=lum='16+6*N':cb=128:cr=128",
                "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-g", "10", "-pix_fmt", "yuv420p", str(clip)])

    def ffmpeg_grey(k):
        raw = run_ffmpeg(["-i", str(clip), "-vf", f"select=eq(n\\,{k})", "-frames:v", "1", "-f", "rawvideo",
                          "-pix_fmt", "gray", "pipe:1"])
        return float(np.frombuffer(raw, np.uint8).mean())

    pc = (PlanClip(str(clip), 4 / 3, FPS, (64, 36), usable_in=0.0, usable_out=4 / 3),)
    p = plan_of([(str(clip), 6, 20), (str(clip), 26, 10)], clips=pc)
    path = save_plan(p, tmp_path / "plan.json")
    s = ReviewSession(path, load_plan(path))
    try:
        thumbs = _report_data(report_html(s))["thumbs"]
    finally:
        s.close()
    for shot in p.shots:
        mid = (shot.source_in + shot.source_out - 1) // 2          # 15 and 30
        (key,) = [k for k in thumbs if k.endswith(f":{mid}")] or [None]
        assert key is not None, (mid, sorted(thumbs))
        jpeg = base64.b64decode(thumbs[key].split(",", 1)[1])
        grey = float(np.asarray(Image.open(io.BytesIO(jpeg)).convert("L")).mean())
        near = {k: abs(grey - ffmpeg_grey(k)) for k in (shot.source_in, mid - 1, mid, mid + 1)}
        assert min(near, key=near.get) == mid and near[mid] < 3, near
