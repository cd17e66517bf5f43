"""The format registry: one row per format, read by export, import and the CLI."""

from __future__ import annotations

import pytest

from musync.errors import ParameterError
from musync.export import FORMATS, TimelineFormat, format_for_path, get_format
from musync.export import registry


def test_every_format_is_complete():
    assert list(FORMATS) == ["otio", "otioz", "xml", "fcpxml", "edl"]
    for name, f in FORMATS.items():
        assert f.name == name and f.suffix.startswith(".")
        assert format_for_path(f"edit{f.suffix.upper()}") == name
        assert callable(f.write) and callable(f.read) and f.editors and f.summary
        assert set(f.markers) <= set(registry.MARKER_KINDS)
    assert not FORMATS["edl"].audio and FORMATS["otio"].metadata
    assert get_format("fcp7").name == "xml" and get_format(".edl").name == "edl"
    with pytest.raises(ParameterError, match="choose one of"):
        get_format("aaf")


def test_a_new_format_is_one_registration(tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "FORMATS", dict(registry.FORMATS))
    monkeypatch.setattr(registry, "_ALIASES", dict(registry._ALIASES))
    written = []
    registry.register(TimelineFormat(
        name="toy", suffixes=(".toy",), summary="test", editors=("none",), audience="tests",
        write=lambda tl, path, plan: written.append(path), read=lambda path, fps=None: None))
    assert registry.format_for_path("a.toy") == "toy"
    with pytest.raises(ValueError, match="twice"):
        registry.register(registry.FORMATS["toy"])
    with pytest.raises(ValueError, match="taken"):
        registry.register(TimelineFormat(name="toy2", suffixes=(".toy",), summary="", editors=(),
                                         audience="", write=print, read=print))


def test_cli_choices_come_from_the_registry():
    from musync.cli import export_cmd, import_cmd

    for cmd in (export_cmd, import_cmd):
        (opt,) = [p for p in cmd.params if p.name == "fmt"]
        assert list(opt.type.choices) == list(FORMATS)


def test_cli_choices_read_the_library_tables(monkeypatch):
    """A new style, aspect or progress mode is one row in the library, not an edit of the CLI."""
    from musync import cli, geometry, planner, progress
    from musync.render import settings

    def choices(cmd, name):
        (opt,) = [p for p in cmd.params if p.name == name]
        return list(opt.type.choices)

    plan_cmd = cli.cli.commands["plan"]
    render_cmd = cli.cli.commands["render"]
    assert choices(plan_cmd, "style") == list(planner.STYLES)
    assert choices(plan_cmd, "aspect") == list(geometry.ASPECTS)
    assert choices(plan_cmd, "progress") == list(progress.PROGRESS_MODES)
    assert choices(render_cmd, "preset") == list(settings.PRESETS)
    assert choices(render_cmd, "framing") == list(settings.FRAMINGS)
    monkeypatch.setitem(planner.STYLES, "house", dict(planner.STYLES["energy"]))
    assert "house" in choices(plan_cmd, "style")
