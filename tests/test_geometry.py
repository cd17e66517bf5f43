"""The one aspect table and size parser shared by the planner and the renderer."""

from __future__ import annotations

import importlib
from fractions import Fraction

import pytest

from musync.errors import ParameterError
from musync.geometry import ASPECTS, aspect_ratio, even, parse_size


def test_every_size_has_exactly_its_named_ratio():
    for name, (w, h) in ASPECTS.items():
        a, b = (int(x) for x in name.split(":"))
        assert Fraction(w, h) == Fraction(a, b), name
        assert aspect_ratio(name) == Fraction(a, b)
        assert w % 2 == 0 and h % 2 == 0


def test_planner_and_renderer_share_the_table_and_the_parser():
    planner = importlib.import_module("musync.planner")
    settings = importlib.import_module("musync.render.settings")
    assert planner.ASPECTS is ASPECTS
    assert settings.ASPECTS is ASPECTS
    assert planner.output_size("4:5") == (1080, 1350)
    assert planner.output_size("16:9", "1281x721") == (1282, 722)
    for bad in ("big", "12x12", (0, 100), "1280x720x3", (9000, 100)):
        with pytest.raises(ParameterError):
            planner.output_size("16:9", bad)
        with pytest.raises(ParameterError):
            parse_size(bad)


def test_parse_size_and_aspect_spellings():
    assert parse_size("1280x720") == parse_size("1280X720") == parse_size("1280×720") == (1280, 720)
    assert parse_size((640, 360)) == (640, 360)
    assert aspect_ratio("2:1") == 2 and aspect_ratio(1.5) == Fraction(3, 2)
    for bad in ("wide", "1:9", "0:1", None):
        with pytest.raises(ParameterError):
            aspect_ratio(bad)
    assert even(641) == 640 and even(643) == 644 and even(0.4) == 2
