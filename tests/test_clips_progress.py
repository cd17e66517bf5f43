"""musync.progress: the shared progress reporter (bar, plain, json, callback)."""

from __future__ import annotations

import io
import json

import pytest

from musync.errors import ParameterError
from musync.progress import PROGRESS_MODES, ProgressEvent, make_progress


class Tty(io.StringIO):
    def isatty(self):
        return True


def test_callback_gets_events():
    events = []
    with make_progress(events.append, "scan", 3, unit="clips") as p:
        for name in "abc":
            p.advance(item=name, status="ok")
    assert [(e.done, e.total, e.item, e.stage, e.unit) for e in events] == [
        (1, 3, "a", "scan", "clips"), (2, 3, "b", "scan", "clips"), (3, 3, "c", "scan", "clips")]
    assert events[-1].fraction == 1.0
    assert isinstance(events[0], ProgressEvent) and events[0].elapsed >= 0


def test_json_lines():
    buf = io.StringIO()
    with make_progress("json", "scan", 2, stream=buf) as p:
        p.advance(item="x.mp4", status="skipped")
        p.advance(item="y.mp4")
    rows = [json.loads(x) for x in buf.getvalue().splitlines()]
    assert [r["done"] for r in rows] == [1, 2]
    assert rows[0]["item"] == "x.mp4" and rows[0]["status"] == "skipped"


def test_bar_redraws_one_line():
    buf = Tty()
    with make_progress("bar", "scan", 4, stream=buf, unit="clips") as p:
        for _ in range(4):
            p.advance(item="clip.mp4")
    text = buf.getvalue()
    assert "\n" not in text[:-1] and text.endswith("\n")       # redrawn in place, one line at the end
    last = text.rstrip("\n").split("\r")[-1]
    assert last.startswith("scan") and "4/4" in last and "100%" in last and "clip.mp4" in last


def test_plain_is_throttled_but_always_finishes():
    buf = io.StringIO()
    with make_progress("plain", "scan", 100, stream=buf) as p:
        for _ in range(100):
            p.advance()
    lines = buf.getvalue().splitlines()
    assert 1 <= len(lines) <= 3
    assert lines[-1].startswith("scan: 100/100 (100%)")


def test_auto_is_a_bar_on_a_terminal_and_silent_otherwise():
    assert make_progress("auto", "s", 1, stream=Tty()).mode == "bar"
    assert make_progress("auto", "s", 1, stream=io.StringIO()).mode == "none"


def test_none_is_silent_and_bad_modes_raise():
    buf = io.StringIO()
    for prog in (None, "none"):
        with make_progress(prog, "s", 2, stream=buf) as p:
            p.advance()
    assert buf.getvalue() == ""
    with pytest.raises(ParameterError):
        make_progress("fancy", "s", 1)
    with pytest.raises(ParameterError):
        make_progress(3, "s", 1)
    assert "auto" in PROGRESS_MODES


def test_unknown_total():
    buf = io.StringIO()
    with make_progress("plain", "render", 0, stream=buf) as p:
        p.advance(5)
    assert buf.getvalue().startswith("render: 5")
