"""The ``musync`` command line: a thin click layer over the public API.

Each command parses options, calls the same functions a library user would, and prints. Errors
raised by the library become one-line messages and exit codes:
0 ok, 1 runtime error, 2 usage error, 3 bad input, 4 output exists (pass -y), 130 interrupted
(SIGINT), 143 terminated (SIGTERM). ``--debug`` re-raises instead. ``-q``, ``-v`` and ``--debug``
may be given before or after the sub-command.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from pathlib import Path

import click

from ._version import __version__
from .errors import MusyncError, ParameterError

log = logging.getLogger("musync")

_STATE = {"debug": False, "verbosity": 0, "json": False}


def _json_line(kind: str, msg: str) -> str:
    return json.dumps({"event": kind, "message": msg})


def echo_err(msg: str) -> None:
    if _STATE.get("json"):              # --progress json: stderr is a stream of JSON objects
        kind = "error" if msg.startswith("error: ") else "status"
        click.echo(_json_line(kind, msg.removeprefix("error: ")), err=True)
        return
    click.echo(msg, err=True)


def warn(msg: str) -> None:
    if _STATE["verbosity"] >= 0:
        click.echo(_json_line("warning", msg) if _STATE.get("json") else f"warning: {msg}", err=True)


def info(msg: str) -> None:
    if _STATE["verbosity"] >= 0:
        click.echo(_json_line("info", msg) if _STATE.get("json") else msg, err=True)


class _TableChoice(click.Choice):
    """A ``click.Choice`` whose values are a library table, read when help or parsing needs them
    (so a new style, aspect, format or mode is a row in the library, not an edit here, and
    ``musync -h`` does not import the planner)."""

    def __init__(self, table, **kw):
        self._table = table
        super().__init__([], **kw)

    @property
    def choices(self):
        return tuple(self._table())

    @choices.setter
    def choices(self, value):  # click's __init__ assigns; the table is the source of truth
        pass





def _table(module: str, name: str):
    """A loader of the library table ``musync.<module>.<name>`` (its keys, for a dict)."""
    def load():
        from importlib import import_module

        return list(getattr(import_module(f"musync.{module}"), name))
    return load

@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="musync")
@click.option("-v", "--verbose", count=True, help="More output (repeat for debug logging).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors.")
@click.option("--debug", is_flag=True, help="Show the full traceback instead of a one-line error.")
def cli(verbose: int, quiet: bool, debug: bool) -> None:
    """musync: cut a music video to the song.

    Typical use: `musync analyze song.wav`, `musync plan song.wav clips/`, `musync demo`.
    """
    _STATE["debug"] = debug
    _STATE["verbosity"] = -1 if quiet else verbose
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    if quiet:
        level = logging.ERROR
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def _write_json(obj, out: str | None, overwrite: bool) -> None:
    from ._fs import write_text

    text = json.dumps(obj, indent=1, sort_keys=False) + "\n"
    if out in (None, "-"):
        click.echo(text, nl=False)
        return
    write_text(out, text, overwrite=overwrite)
    info(f"wrote {out}")


def _print_analysis_summary(a) -> None:
    click.echo(f"{Path(a.audio.path).name}: {a.duration:.2f} s, {a.tempo:.2f} BPM, "
               f"{a.metre}, {len(a.beats)} beats, {len(a.downbeats)} bars, "
               f"confidence {a.confidence:.2f}")
    click.echo("sections: " + "  ".join(
        f"{s.label}[{s.kind}] {s.start:.1f}-{s.end:.1f}s e={s.energy:.2f}" for s in a.sections))
    click.echo(f"climax: {a.climax:.2f} s")
    if a.tempo_alternatives:
        alt = a.tempo_alternatives[0]
        click.echo(f"other tempo: {alt['bpm']:.2f} BPM (score {alt['score']:.2f}; "
                   f"--tempo-octave {'x2' if alt['bpm'] > a.tempo else 'half'} to use it)")


@cli.command()
@click.argument("song", type=click.Path(dir_okay=False, path_type=str))
@click.option("--json", "json_out", metavar="OUT", help="Write the analysis as JSON ('-' for stdout).")
@click.option("--plot", "plot_out", metavar="OUT.png", help="Write a PNG of waveform, grid, sections, energy.")
@click.option("--no-cache", is_flag=True, help="Ignore and do not write the analysis cache.")
@click.option("--beats-per-bar", type=click.Choice(["auto", "2", "3", "4"]), default="auto", show_default=True,
              help="Force the beats per bar instead of estimating them (2: a 6/8 or 2/4 bar).")
@click.option("--tempo-octave", type=_TableChoice(_table("analysis", "TEMPO_OCTAVES")), default=None,
              help="Use twice or half the tempo musync hears (the other metrical level).")
@click.option("--tempo", "tempo_bpm", type=click.FloatRange(20, 360), default=None, metavar="BPM",
              help="Track the beats at this tempo instead of choosing one.")
@click.option("--downbeat", type=click.FloatRange(min=0), default=None, metavar="TIME",
              help="A downbeat (seconds): bars count from it; the grid shifts onto it if needed.")
@click.option("-y", "--overwrite", is_flag=True, help="Replace existing output files.")
def analyze(song: str, json_out, plot_out, no_cache: bool, beats_per_bar: str, tempo_octave, tempo_bpm,
            downbeat, overwrite: bool) -> None:
    """Analyse SONG: tempo, beats, downbeats, sections, energy and climax."""
    from . import analyze as _analyze
    from ._fs import check_output

    for out in (json_out, plot_out):
        if out and out != "-":
            check_output(out, overwrite=overwrite)
    bpb = None if beats_per_bar == "auto" else int(beats_per_bar)
    if tempo_octave and tempo_bpm:
        raise click.UsageError("give either --tempo or --tempo-octave, not both")
    a = _analyze(song, use_cache=not no_cache, beats_per_bar=bpb, tempo=tempo_bpm, tempo_octave=tempo_octave,
                 downbeat=downbeat)
    for w in a.warnings:
        warn(f"{song}: {w}")
    if json_out != "-":
        _print_analysis_summary(a)
    if json_out:
        _write_json(a.to_dict(), json_out, overwrite)
    if plot_out:
        from .report import plot_analysis

        plot_analysis(a, plot_out, overwrite=overwrite)
        info(f"wrote {plot_out}")


@cli.command()
@click.argument("clips", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("--json", "json_out", metavar="OUT", help="Write the clip records as JSON ('-' for stdout).")
@click.option("--progress", type=_TableChoice(_table("progress", "PROGRESS_MODES")), default="auto",
              show_default=True, help="Progress on stderr: a bar on a terminal (auto), lines, JSON lines.")
@click.option("--no-cache", is_flag=True, help="Ignore and do not write the clip cache.")
@click.option("-r", "--recursive", is_flag=True, help="Also scan sub-folders.")
@click.option("-j", "--workers", type=click.IntRange(min=1), default=None,
              help="Clips scanned in parallel (default: one per core).")
@click.option("--proxies", is_flag=True, help="Also make the clips' proxies (small copies drafts decode fast).")
@click.option("-y", "--overwrite", is_flag=True, help="Replace existing output files.")
def scan(clips, json_out, progress: str, no_cache: bool, recursive: bool, workers, proxies: bool,
         overwrite: bool) -> None:
    """Probe, validate and measure CLIPS (files and folders of video and images).

    Prints one row per usable clip and the skipped files with reasons. Names starting with
    '-' need '--' before them (or a './' prefix).
    """
    from . import scan_clips
    from ._fs import check_output
    from .clips import format_flags, format_groups, format_skipped, format_table
    from .errors import MediaError

    if json_out and json_out != "-":
        check_output(json_out, overwrite=overwrite)
    try:
        result = scan_clips(list(clips), progress=progress, use_cache=not no_cache,
                            workers=workers, recursive=recursive)
    except MediaError as exc:
        skipped = getattr(exc, "skipped", None)
        if skipped:
            echo_err(format_skipped(skipped))
        raise
    out = click.echo if json_out != "-" else echo_err
    out(format_table(result))
    for extra in (format_flags(result), format_groups(result.groups)):
        if extra:
            out(extra)
    if result.skipped:
        out(format_skipped(result.skipped))
    for c in result:
        for w in c.warnings:
            warn(f"{c.name}: {w}")
    if json_out:
        _write_json(result.to_dict(), json_out, overwrite)
    if proxies:
        _make_proxies([c.path for c in result if not c.is_still], progress)


def _make_proxies(paths, progress: str) -> None:
    from .render import build_proxies

    rep = build_proxies(paths, progress=progress)
    for path, err in rep.failed.items():
        warn(f"no proxy for {path}: {err}")
    info(f"proxies: {len(rep.built)} made, {len(rep.proxies) - len(rep.built)} up to date "
         f"({rep.frames_built} frames in {rep.seconds:.1f} s)")


#: --allow-changed-media: use a song or clip that changed since planning (a warning, not exit 3)
_allow_changed = click.option("--allow-changed-media", "allow_changed_media", is_flag=True,
                              help="Use a song or clip that changed since the plan was made "
                                   "(replaced, truncated, edited) with a warning instead of refusing.")


def _parse_size(value):
    from .geometry import parse_size

    if value is None:
        return None
    try:
        return parse_size(value)
    except ParameterError as e:
        raise click.BadParameter(str(e)) from None


def _parse_fps(value):
    from .timebase import parse_fps

    try:
        return parse_fps(value)
    except ParameterError as e:
        raise click.BadParameter(str(e)) from None








def _timeline_suffixes(editors: bool = False) -> str:
    from .export import FORMATS

    if not editors:
        return ", ".join(f.suffix for f in FORMATS.values())
    return ", ".join(f"{f.suffix} ({f.audience})" for f in FORMATS.values())


_METRIC_ROWS = [("shots", "shots"), ("cuts_on_beat", "cuts on a beat"), ("cuts_on_downbeat", "cuts on a downbeat"),
                ("section_boundaries_cut", "section boundaries cut"),
                ("pace_energy_correlation", "pace vs energy (rank corr.)"),
                ("pace_loudness_2bar", "pace vs loudness (2 bars)"),
                ("climax_fastest", "climax section fastest"), ("mean_brightness_jump", "mean brightness jump"),
                ("clips_used", "clips used"), ("repeats", "repeats"), ("adjacent_repeats", "adjacent repeats"),
                ("peaks_on_accent", "motion peaks on accents"), ("mean_shot", "mean shot (s)"),
                ("cuts_on_strong_accent", "cuts on strong accents"),
                ("equal_run_max", "longest equal-length run"), ("one_beat_run_max", "longest one-beat run"),
                ("build_ratio", "build into the climax (x)"), ("payoff_hold", "payoff hold (x)")]


def _print_metrics(plans: list, names: list[str]) -> None:
    width = max(len(n) for n in names + ["metric"])
    head = f"{'metric':28s}" + "".join(f"  {n:>{max(width, 8)}s}" for n in names)
    click.echo(head)
    click.echo(f"{'style / seed':28s}" + "".join(
        f"  {p.settings.style + ' / ' + str(p.settings.seed):>{max(width, 8)}s}" for p in plans))
    for key, label in _METRIC_ROWS:
        vals = []
        for p in plans:
            v = p.metrics.get(key)
            vals.append("yes" if v is True else "no" if v is False else
                        f"{v:.3f}" if isinstance(v, float) else str(v))
        click.echo(f"{label:28s}" + "".join(f"  {v:>{max(width, 8)}s}" for v in vals))
    for sec in plans[0].metrics.get("sections", []):
        click.echo(f"  {sec['label']:>3s} {sec['kind']:7s} energy {sec['energy']:.2f}  {sec['shots']:3d} shots  "
                   f"mean {sec['mean_shot']:.2f} s  ({sec['min_shot']:.2f}-{sec['max_shot']:.2f})")
    from .planner.diagnostics import format_report

    for name, p in zip(names, plans):
        diag = p.metrics.get("diagnostics") or []
        if diag:
            bad = sum(not d["ok"] for d in diag)
            click.echo(f"monotony report, {name}: " + (f"{bad} of {len(diag)} checks need a look" if bad
                                                       else f"all {len(diag)} checks pass"))
            for line in format_report(diag):
                click.echo("  " + line)


@cli.command()
@click.argument("inputs", nargs=-1, type=click.Path(path_type=str))
@click.option("-o", "--output", metavar="PLAN.json", help="Where to write the plan [default: plan.json, "
              "or the re-planned file itself with -y; - for standard output].")
@click.option("--style", type=_TableChoice(_table("planner", "STYLES")), default=None,
              help="Pacing preset [default: energy].")
@click.option("--seed", type=int, default=None, help="Random seed (same inputs + seed = same plan).")
@click.option("--fps", "fps", default=None, help="Output frame rate, e.g. 30, 25, 24000/1001 [default: 30].")
@click.option("--aspect", type=_TableChoice(_table("geometry", "ASPECTS")), default=None, help="Output aspect.")
@click.option("--size", default=None, metavar="WxH", help="Output size, e.g. 1280x720 (overrides --aspect's).")
@click.option("--anticipation", type=click.IntRange(0, 12), default=None, help="Cut N frames before the beat.")
@click.option("--order", type=click.Choice(["auto", "source"]), default=None, help="'source' keeps file order.")
@click.option("--min-shot", type=float, default=None, help="Shortest shot in seconds.")
@click.option("--max-shot", type=float, default=None, help="Longest shot in seconds.")
@click.option("--replan", "replan_path", metavar="PLAN.json", default=None,
              help="Keep the locked shots of PLAN.json and re-plan the rest (INPUTS are extra clips).")
@click.option("--scope", type=_TableChoice(_table("planner", "SCOPES")), default="phrase", show_default=True,
              help="With --replan: change only the phrases that must change, or every unlocked shot.")
@click.option("--variants", type=click.IntRange(1, 20), default=1,
              help="Write N plans (PLAN-1.json ...): the chosen style, then the other styles, each with its own seed.")
@click.option("--render", "render_out", metavar="OUT.mp4", default=None,
              help="Also render a draft (one per variant: OUT-1.mp4 ...).")
@click.option("--export", "export_out", metavar="OUT", default=None,
              help=f"Also export a timeline ({_timeline_suffixes()}; one per variant: OUT-1.xml ...).")
@click.option("--progress", type=_TableChoice(_table("progress", "PROGRESS_MODES")), default="auto",
              show_default=True, help="Progress on stderr.")
@click.option("--no-cache", is_flag=True, help="Ignore and do not write the caches.")
@click.option("-y", "--overwrite", is_flag=True, help="Replace existing output files.")
@_allow_changed
def plan(inputs, output, style, seed, fps, aspect, size, anticipation, order, min_shot, max_shot,
         replan_path, scope, variants, render_out, export_out, progress, no_cache, overwrite,
         allow_changed_media) -> None:
    """Plan the edit: `musync plan SONG CLIPS...` (files or folders).

    Cuts land on strong accents of the beat grid, phrases get patterns of lengths, the pace
    follows the song's energy and builds into every payoff, and each shot gets the clip and
    in-point that fit it best. Prints the metrics and a monotony report (runs of equal lengths,
    flat sections, the build, the payoff, weak cuts, one-beat runs). Writes a JSON plan you can
    edit (set "locked": true on shots you like) and re-plan with `musync plan --replan plan.json`
    (only the phrases that must change; `--scope all` for everything unlocked).
    """
    from . import analyze as _analyze
    from . import scan_clips
    from ._fs import check_output
    from .planfile import load_plan, save_plan
    from .planner import STYLES, make_settings, plan as _plan, replan as _replan

    overrides = dict(seed=seed, fps=_parse_fps(fps) if fps else None, aspect=aspect,
                     size=_parse_size(size), anticipation=anticipation, order=order,
                     min_shot=min_shot, max_shot=max_shot)
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if replan_path:
        old = load_plan(replan_path, validate=False)
        out = output or replan_path
        if style:
            overrides["style"] = style
        song = old.audio.path
        clip_paths = sorted({c.path for c in old.clips} | {s.source for s in old.shots if s.locked}) + list(inputs)
    else:
        if len(inputs) < 2:
            raise click.UsageError("give a song and at least one clip file or folder: musync plan SONG CLIPS...")
        song, clip_paths = inputs[0], list(inputs[1:])
        out = output or "plan.json"
    to_stdout = out == "-"
    if to_stdout and variants > 1:
        raise click.UsageError("-o - writes one plan to standard output; give a file name for --variants")
    outs = _variant_names(out, variants, ".json")
    render_outs = _variant_names(render_out, variants, ".mp4") if render_out else []
    export_outs = _variant_names(export_out, variants, "") if export_out else []
    for o in [x for x in outs if not to_stdout] + render_outs + export_outs:
        check_output(o, overwrite=overwrite)
    analysis = _analyze(song, use_cache=not no_cache)
    for w in analysis.warnings:
        warn(f"{song}: {w}")
    clips = scan_clips(clip_paths, progress=None if progress == "none" else progress, use_cache=not no_cache)
    for s in clips.skipped:
        warn(f"skipped {s.path}: {s.reason}")
    plans = []
    for i, o in enumerate(outs):
        if replan_path:
            kw = dict(overrides)
            if i:
                kw["seed"] = old.settings.seed + i if seed is None else seed + i
            p = _replan(old, analysis, clips, scope=scope, allow_changed_media=allow_changed_media, **kw)
        else:
            # variants: the chosen style first, then the other presets, each with its own seed
            first = overrides.get("style") or style or "energy"
            order = [first] + [x for x in STYLES if x != first]
            kw = {k: v for k, v in overrides.items() if k != "style"}
            kw["seed"] = (seed or 0) + i
            p = _plan(analysis, clips, make_settings(order[i % len(order)], **kw))
        if to_stdout:
            from .planfile import plan_to_json

            click.echo(plan_to_json(p), nl=False)
        else:
            save_plan(p, o, overwrite=overwrite or (replan_path is not None and o == replan_path and overwrite))
            info(f"wrote {o}")
        plans.append(p)
    for w in plans[0].warnings:
        warn(w)
    if not to_stdout:                        # with -o -, stdout is the plan (its metrics are in it)
        _print_metrics(plans, [Path(o).name for o in outs])
    if len(plans) > 1 and (export_outs or render_outs):
        info(f"{len(plans)} variants: one " + " and one ".join(
            x for x, on in (("export", export_outs), ("render", render_outs)) if on) + " each")
    if export_outs:
        from .export import format_for_path, media_warnings

        for w in media_warnings(plans[0], format_for_path(export_outs[0])):
            warn(w)
    for p, o, eo in zip(plans, outs, export_outs):
        from .export import export as _export

        _export(p, eo, overwrite=overwrite)
        info(f"wrote {eo}" + (f" (from {o})" if len(plans) > 1 else ""))
    for p, o, ro in zip(plans, outs, render_outs):
        from .render import render as _render

        _render(p, ro, overwrite=overwrite, progress=progress)
        info(f"wrote {ro}" + (f" (from {o})" if len(plans) > 1 else ""))


def _variant_names(path: str, n: int, default_suffix: str) -> list[str]:
    """``path`` for one plan; ``stem-1.ext`` ... ``stem-N.ext`` for N variants."""
    if n == 1:
        return [path]
    p = Path(path)
    return [str(p.with_name(f"{p.stem}-{i + 1}{p.suffix or default_suffix}")) for i in range(n)]


@cli.command("export")
@click.argument("plan_path", metavar="PLAN", type=click.Path(dir_okay=False, path_type=str))
@click.option("-o", "--output", required=True, metavar="OUT",
              help=f"Timeline file: {_timeline_suffixes(editors=True)}.")
@click.option("--format", "fmt", type=_TableChoice(_table("export", "FORMATS")), default=None,
              help="Override the format the suffix implies.")
@click.option("--fcpxml-version", type=_TableChoice(_table("export.formats.fcpxml", "FCPXML_VERSIONS")), default=None,
              help="FCPXML version for .fcpxml [default: 1.8, which every Final Cut Pro since 10.4 "
                   "reads; 1.10 needs 10.6, 1.11 needs 10.7].")
@click.option("--edl-source-rate", type=_TableChoice(_table("export.formats.edl", "SOURCE_RATE_CHOICES")), default=None,
              help="EDL source timecode at each clip's own rate (default) or at the edit's rate.")
@click.option("--collect", "collect", metavar="FOLDER", default=None,
              help="Gather the song (as WAV) and every clip into FOLDER; clips the editor cannot "
                   "read are converted frame for frame, the timeline points at FOLDER.")
@click.option("--editor", type=_TableChoice(_table("export.editors", "EDITORS")), default=None,
              help="The one editor the file is for [default: every editor the format is for].")
@click.option("--collect-codec", type=_TableChoice(_table("export.collect", "COLLECT_CODECS")), default="h264", show_default=True,
              help="Intermediate for converted clips: H.264 .mp4 or ProRes 422 HQ .mov.")
@click.option("-y", "--overwrite", is_flag=True, help="Replace an existing output file.")
@_allow_changed
def export_cmd(plan_path: str, output: str, fmt, fcpxml_version, edl_source_rate, collect, editor,
               collect_codec, overwrite: bool, allow_changed_media: bool) -> None:
    """Write PLAN as a timeline to finish in an editor (see the README's "Finish in your editor").

    Without --collect, each file the editor will not open is named in a warning.
    """
    import warnings

    from ._fs import check_output
    from .export import FORMATS, check_plan_media, export as _export, format_for_path, media_warnings
    from .export.collect import collect_media
    from .planfile import load_plan

    p = load_plan(plan_path)
    name = format_for_path(output, fmt)
    check_output(output, overwrite=overwrite)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")      # printed here
        for w in check_plan_media(p, allow_changed_media, note_unstamped=True,
                                  base=Path(plan_path).resolve().parent):
            warn(w)
    if collect:
        def report(done, total, path):
            info(f"collect {done}/{total}: {Path(path).name}")

        p, files = collect_media(p, collect, name, editor=editor, codec=collect_codec,
                                 overwrite=overwrite, progress=report)
        for f in files:
            info(f"  {f.action:9s} {Path(f.original).name} -> {f.collected}"
                 + (f" ({f.reason})" if f.reason else ""))
    else:
        for w in media_warnings(p, name, editor):
            warn(w)
    _export(p, output, fmt, overwrite=overwrite, fcpxml_version=fcpxml_version,
            edl_source_rate=edl_source_rate, check_media=False)  # the media were checked above
    info(f"wrote {output} ({len(p.shots)} shots; {FORMATS[name].summary})")


@cli.command("import")
@click.argument("edited", type=click.Path(dir_okay=False, path_type=str))
@click.option("--plan", "plan_path", required=True, metavar="PLAN.json",
              help="The plan the timeline was exported from.")
@click.option("-o", "--output", required=True, metavar="NEW.json", help="Where to write the new plan.")
@click.option("--format", "fmt", type=_TableChoice(_table("export", "FORMATS")), default=None,
              help="Override the format the suffix implies.")
@click.option("--lock", type=_TableChoice(_table("export.importer", "LOCK_POLICIES")), default="changed", show_default=True,
              help="changed: lock only the shots the editor trimmed, moved, swapped or added; "
                   "all: lock every clip on the timeline.")
@click.option("-y", "--overwrite", is_flag=True, help="Replace an existing output file.")
def import_cmd(edited: str, plan_path: str, output: str, fmt, lock: str, overwrite: bool) -> None:
    """Read EDITED (a timeline changed in an editor) back into a plan.

    What the editor changed becomes locked shots, untouched shots stay proposals, gaps become
    unlocked shots, the editor's markers become notes. Fill the rest with
    `musync plan --replan NEW.json`.
    """
    from ._fs import check_output
    from .export import import_timeline
    from .planfile import load_plan, save_plan

    check_output(output, overwrite=overwrite)
    new = import_timeline(edited, load_plan(plan_path), fmt, lock=lock)
    save_plan(new, output, overwrite=overwrite)
    info(new.warnings[-1])
    for note in new.markers.get("notes", []):
        info(f"  note at frame {note['frame']}: {note['name']} ({note['on']})")
    info(f"wrote {output}; re-plan the unlocked shots with `musync plan --replan {output}`")


def _report_render(res) -> None:
    for w in res.warnings:
        warn(w)
    st = res.settings
    info(f"wrote {res.path}: {st.width}x{st.height} at {st.fps} fps, {res.frames} frames "
         f"({res.duration:.1f} s) in {res.seconds:.1f} s ({res.realtime:.1f}x realtime)"
         + (f"; {res.proxies} sources from proxies" if res.proxies else ""))


@cli.command("render")
@click.argument("plan_path", metavar="PLAN", type=click.Path(dir_okay=False, path_type=str))
@click.option("-o", "--output", required=True, metavar="OUT.mp4", help="Video file (.mp4, .m4v, .mov, .mkv).")
@click.option("--draft/--final", "draft", default=True, show_default=True,
              help="Draft: at most 640 px, fast to look at. Final: full size, better quality.")
@click.option("--size", default=None, metavar="WxH", help="Output size [default: the plan's].")
@click.option("--aspect", type=_TableChoice(_table("geometry", "ASPECTS")), default=None,
              help="Output aspect (keeps the plan's long side) [default: the plan's].")
@click.option("--framing", type=_TableChoice(_table("render.settings", "FRAMINGS")), default="fill", show_default=True,
              help="fill: crop to the frame; fit: letterbox.")
@click.option("--crop", type=_TableChoice(_table("render.settings", "CROPS")), default="plan", show_default=True,
              help="Where a fill crop sits: the plan's framing (keeps the subject; centred where "
                   "the plan has none), centred, or toward where the motion is.")
@click.option("--crf", type=click.IntRange(0, 51), default=None, help="x264 quality, lower is better "
              "[default: 28 draft, 20 final].")
@click.option("--preset", type=_TableChoice(_table("render.settings", "PRESETS")), default=None,
              help="x264 speed preset [default: ultrafast draft, fast final].")
@click.option("--proxies/--no-proxies", default=None,
              help="Read the clips' proxies, making missing ones once [default: yes for --draft; "
              "--final always reads the originals].")
@click.option("--progress", type=_TableChoice(_table("progress", "PROGRESS_MODES")), default="auto",
              show_default=True, help="Progress on stderr.")
@click.option("-y", "--overwrite", is_flag=True, help="Replace an existing output file.")
@_allow_changed
def render_cmd(plan_path: str, output: str, draft: bool, size, aspect, framing: str, crop: str, crf, preset,
               proxies, progress: str, overwrite: bool, allow_changed_media: bool) -> None:
    """Render PLAN (a plan file) to a video: every shot on its planned frames, the song as the soundtrack."""
    import warnings

    from .render import render as _render

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")      # they are in the result, printed below
        res = _render(plan_path, output, mode="draft" if draft else "final", size=_parse_size(size),
                      aspect=aspect, framing=framing, crop=crop, crf=crf, preset=preset,
                      overwrite=overwrite, progress=progress, proxies=proxies,
                      allow_changed_media=allow_changed_media)
    _report_render(res)


@cli.command("preview")
@click.argument("source", metavar="PLAN|SONG", type=click.Path(dir_okay=False, path_type=str))
@click.option("-o", "--output", required=True, metavar="OUT.mp4", help="Video file (.mp4, .m4v, .mov, .mkv).")
@click.option("--size", default=None, metavar="WxH", help="Output size [default: long side 480 px].")
@click.option("--aspect", type=_TableChoice(_table("geometry", "ASPECTS")), default=None, help="Output aspect.")
@click.option("--fps", "fps", default=None, help="Frame rate for a SONG [default: 30]; a plan keeps its own.")
@click.option("--no-clicks", is_flag=True, help="Leave the song without clicks.")
@click.option("--flash-frames", type=click.IntRange(0, 10), default=1, show_default=True,
              help="White frames at each cut.")
@click.option("--pictures/--cards", default=None,
              help="--pictures: every shot shows its clip (proxies made where missing); --cards: "
              "plain cards [default: pictures where the clip's proxy exists].")
@click.option("--progress", type=_TableChoice(_table("progress", "PROGRESS_MODES")), default="auto",
              show_default=True, help="Progress on stderr.")
@click.option("-y", "--overwrite", is_flag=True, help="Replace an existing output file.")
def preview_cmd(source: str, output: str, size, aspect, fps, no_clicks: bool, flash_frames: int, pictures,
                progress: str, overwrite: bool) -> None:
    """Preview the cuts of PLAN (a plan file) or SONG (its bar grid) without decoding any original clip.

    Each shot is its clip's picture from the clip's proxy (or a plain card) under its number and
    reason; every cut flashes white and clicks.
    """
    from .preview import preview as _preview

    res = _preview(source, output, size=_parse_size(size), aspect=aspect, fps=_parse_fps(fps) if fps else None,
                   clicks=not no_clicks, flash_frames=flash_frames, pictures=pictures, overwrite=overwrite,
                   progress=progress)
    _report_render(res)


@cli.command("review")
@click.argument("plan_path", metavar="PLAN", type=click.Path(dir_okay=False, path_type=str))
@click.argument("clips", nargs=-1, type=click.Path(path_type=str))
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Port on 127.0.0.1 (0: a free one).")
@click.option("--no-browser", is_flag=True, help="Only print the URL; do not open a browser.")
@click.option("--compare", "compare", multiple=True, type=click.Path(dir_okay=False, path_type=str),
              metavar="PLAN2.json", help="Another plan to show beside it (repeatable), e.g. the other variants.")
@click.option("--video", type=click.Path(dir_okay=False, path_type=str), default=None,
              help="A draft already rendered from PLAN, to play from any shot.")
@click.option("--no-cache", is_flag=True, help="Ignore and do not write the caches.")
@_allow_changed
def review_cmd(plan_path: str, clips, port: int, no_browser: bool, compare, video, no_cache: bool,
               allow_changed_media: bool) -> None:
    """Open PLAN in the review page (a local web app): see the edit on the song, lock, swap,
    move cuts, re-plan around the locks, compare variants, save. CLIPS add clips to swap in.

    The page runs on 127.0.0.1 only, guarded by a token in its URL; Ctrl-C stops it (unsaved
    changes are written to PLAN's .unsaved.json, never dropped).
    """
    from .review import ReviewSession, serve
    from .review.store import recovery_path

    rec = recovery_path(plan_path)
    if rec.exists():
        warn(f"{rec} holds unsaved changes from an earlier review; open it with `musync review {rec}`")
    info("loading the plan, the song's analysis and the clips ...")
    session = ReviewSession.open(plan_path, list(clips), compare=list(compare), video=video,
                                 use_cache=not no_cache, progress="none",
                                 allow_changed_media=allow_changed_media)
    for w in session.warnings:
        warn(w)
    serve(session, port=port, open_browser=not no_browser, echo=lambda m: click.echo(m, err=True))


@cli.command("report")
@click.argument("plan_path", metavar="PLAN", type=click.Path(dir_okay=False, path_type=str))
@click.argument("compare", nargs=-1, type=click.Path(dir_okay=False, path_type=str))
@click.option("-o", "--output", required=True, metavar="REPORT.html", help="The HTML file to write.")
@click.option("-y", "--overwrite", is_flag=True, help="Replace an existing output file.")
def report_cmd(plan_path: str, compare, output: str, overwrite: bool) -> None:
    """Write PLAN as one self-contained HTML page (read-only, pictures inline): the song, the
    filmstrip with reasons, metrics and diagnostics; COMPARE plans (e.g. variants) beside it."""
    from .review import write_report

    out = write_report(plan_path, output, compare=list(compare), overwrite=overwrite)
    size = out.stat().st_size
    info(f"wrote {out} ({size / 1e6:.1f} MB, opens in any browser)")


def _shot_indices(values) -> list[int]:
    out = []
    for v in values:
        for part in str(v).split(","):
            part = part.strip()
            if not part:
                continue
            try:
                if "-" in part[1:]:
                    a, b = part.split("-", 1)
                    out += list(range(int(a), int(b) + 1))
                else:
                    out.append(int(part))
            except ValueError:
                raise click.BadParameter(f"{part!r} is not a shot number or range (e.g. 3 15 20-24)") from None
    return out


@cli.command("lock")
@click.argument("plan_path", metavar="PLAN", type=click.Path(dir_okay=False, path_type=str))
@click.argument("shots", nargs=-1, required=True)
@click.option("--unlock", is_flag=True, help="Unlock the shots instead.")
@click.option("-o", "--output", default=None, metavar="OUT.json",
              help="Write the result here instead of changing PLAN (PLAN's previous version is kept otherwise).")
@click.option("-y", "--overwrite", is_flag=True, help="Replace an existing OUT.json.")
def lock_cmd(plan_path: str, shots, unlock: bool, output, overwrite: bool) -> None:
    """Lock SHOTS of PLAN (numbers or ranges: 3 15 20-24) so `musync plan --replan` keeps them.

    Changes PLAN in place and keeps the version it replaces in PLAN.history/.
    """
    from .planfile import load_plan, save_plan
    from .review import lock_shots, save_keeping_previous

    p = load_plan(plan_path)
    idx = _shot_indices(shots)
    new = lock_shots(p, idx, locked=not unlock)
    if output:
        save_plan(new, output, overwrite=overwrite)
        where, prev = output, None
    else:
        where, prev = save_keeping_previous(new, plan_path)
    n = sum(s.locked for s in new.shots)
    info(f"{'unlocked' if unlock else 'locked'} {len(set(idx))} shot(s); {n} of {len(new.shots)} locked in {where}"
         + (f" (previous version: {prev})" if prev else ""))


@cli.command("diff")
@click.argument("a_path", metavar="A.json", type=click.Path(dir_okay=False, path_type=str))
@click.argument("b_path", metavar="B.json", type=click.Path(dir_okay=False, path_type=str))
@click.option("--json", "as_json", is_flag=True, help="Print the diff as JSON.")
def diff_cmd(a_path: str, b_path: str, as_json: bool) -> None:
    """What changed from plan A to plan B: shots added, removed, moved, re-sourced, slipped,
    trimmed, locked; metric and setting changes. Exit code 0 either way."""
    from .planfile import load_plan
    from .review import diff_plans, format_diff

    d = diff_plans(load_plan(a_path, validate=False), load_plan(b_path, validate=False))
    if as_json:
        click.echo(json.dumps(d.to_dict(), indent=1))
    else:
        click.echo(format_diff(d, Path(a_path).name, Path(b_path).name))


@cli.command()
@click.argument("folder", default="musync-demo", type=click.Path(file_okay=False, path_type=str))
@click.option("--seconds", default=48.0, show_default=True, help="Length of the example song.")
@click.option("--no-render", is_flag=True, help="Stop after planning and exporting.")
@click.option("-y", "--overwrite", is_flag=True, help="Replace the outputs of an earlier demo and "
              "re-create the example song and clips.")
def demo(folder: str, seconds: float, no_render: bool, overwrite: bool) -> None:
    """Make an example song and clips in FOLDER and run the whole pipeline on them:
    analyse, scan, plan, export (.otio) and render a draft."""
    from .demo import run_demo

    run_demo(folder, seconds=seconds, overwrite=overwrite, echo=click.echo, render=not no_render)


@cli.command("batch")
@click.argument("jobs", type=click.Path(dir_okay=False, path_type=str))
@click.option("-o", "--outdir", metavar="OUTDIR", default=None,
              help="Output folder: one folder per job and summary.json [default: JOBS-out].")
@click.option("--scheduler", metavar="ADDRESS", default=None,
              help="A Dask scheduler (tcp://host:8786, or a scheduler file) [default: a local cluster].")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Worker processes of the local cluster [default: one per core].")
@click.option("--force", is_flag=True, help="Run finished jobs again too.")
@click.option("--progress", type=click.Choice(["plain", "json", "none"]), default="plain", show_default=True,
              help="Progress on stderr: lines, JSON lines, or nothing.")
@click.option("--json", "json_out", is_flag=True, help="Print the summary as JSON instead of a table.")
@click.option("-y", "--overwrite", is_flag=True, help="Replace job folders that musync batch did not write.")
def batch_cmd(jobs: str, outdir, scheduler, workers, force: bool, progress: str, json_out: bool,
              overwrite: bool) -> None:
    """Run the jobs of JOBS (CSV or JSON lines) as a Dask task graph.

    Each line is a job: song, clips (folders), style/seed/variants/aspect/..., outputs
    (analysis, plan, report, preview, draft, export). Every song is analysed and every clip
    scanned once; finished jobs are skipped on a rerun; a failing job does not stop the others.
    """
    from .batch import BatchInterrupted, batch, format_summary

    try:
        res = batch(jobs, outdir, scheduler=scheduler, workers=workers, force=force, overwrite=overwrite,
                    progress=None if _STATE["verbosity"] < 0 else progress)
    except BatchInterrupted as exc:
        click.echo(format_summary(exc.result))
        echo_err(f"interrupted: {exc.result.count('done')} job(s) finished now; run the same command again "
                 "to make the rest (finished jobs are skipped)")
        raise
    click.echo(json.dumps(res.to_dict(), indent=1) if json_out else format_summary(res))
    if not res.ok:
        raise MusyncError(f"{res.count('failed')} of {len(res.jobs)} job(s) failed (see {res.summary})")


# global options that may also be given after the sub-command (`musync plan ... -q`)
_GLOBAL_FLAGS = {"-q", "--quiet", "--debug", "-v", "-vv", "-vvv", "--verbose"}


def _hoist_global_flags(argv: list[str]) -> list[str]:
    """Move -q/-v/--debug given after the sub-command in front of it (click wants them there)."""
    head, rest = [], list(argv)
    while rest and rest[0].startswith("-") and rest[0] != "--":
        head.append(rest.pop(0))
    if not rest:
        return head
    cmd, tail = rest[0], rest[1:]
    moved, kept = [], []
    for i, tok in enumerate(tail):
        if tok == "--":
            kept.extend(tail[i:])
            break
        (moved if tok in _GLOBAL_FLAGS else kept).append(tok)
    return head + moved + [cmd] + kept


class _CompileNotice:
    """Say within a second that numba is compiling (first run after install), once per process."""

    def __init__(self, delay: float = 0.5):
        self.delay = delay
        self.timer = None
        self.said = False

    def install(self) -> None:
        try:
            from numba.core import event
        except ImportError:                 # pragma: no cover
            return
        notice = self

        class Listener(event.Listener):
            def on_start(self, ev):
                notice._start()

            def on_end(self, ev):
                pass

        self._listener = Listener()
        event.register("numba:compile", self._listener)

    def uninstall(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        lst = getattr(self, "_listener", None)
        if lst is not None:
            from numba.core import event

            try:
                event.unregister("numba:compile", lst)
            except (ValueError, KeyError):
                pass

    def _start(self) -> None:
        import threading

        if self.said or self.timer is not None or _STATE["verbosity"] < 0:
            return
        self.timer = threading.Timer(self.delay, self._say)
        self.timer.daemon = True
        self.timer.start()

    def _say(self) -> None:
        self.said = True
        echo_err("compiling musync's kernels (first run after install only; this can take a minute)...")


def _signal_handlers():
    """SIGINT and SIGTERM raise :class:`~musync.errors.Interrupted` in the main thread, even when
    the parent started musync with them ignored, so every cleanup runs; so do SIGHUP and SIGQUIT
    where they would end musync (not under ``nohup``). A second signal during
    cleanup is ignored (cleanup is bounded by timeouts). Returns a function restoring the old ones."""
    import signal
    import threading

    from .errors import Interrupted

    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    fired = []

    def handler(signum, frame):
        if fired:
            return
        fired.append(signum)
        if signum == getattr(signal, "SIGHUP", None):
            _detach_from_terminal()
        raise Interrupted(signum)

    from ._proc import CLI_ONLY_IF_DEFAULT, restore_handlers, take_signals

    # a closed terminal (SIGHUP) or Ctrl-backslash (SIGQUIT) ends musync as SIGTERM does, with
    # every cleanup; not under nohup (SIGHUP ignored) or a host's own handler
    old = take_signals(handler, (signal.SIGINT, signal.SIGTERM), CLI_ONLY_IF_DEFAULT)
    return lambda: restore_handlers(old)


def _detach_from_terminal() -> None:
    """After a hang-up the terminal is gone and every write to it fails (EIO): point standard
    output and error that were on it at /dev/null, so the cleanup and the exit code are not
    lost to an error while saying goodbye. Output going to a file or a pipe stays."""
    import os
    import stat

    try:
        null = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        return
    try:
        null_dev = os.fstat(null).st_rdev
        for fd in (1, 2):
            with contextlib.suppress(OSError):
                st = os.fstat(fd)
                # a terminal (isatty() is already False on one that hung up): a character
                # device other than /dev/null
                if stat.S_ISCHR(st.st_mode) and st.st_rdev != null_dev:
                    os.dup2(null, fd)
    finally:
        os.close(null)


def _stopped(signum: int) -> str:
    """The line musync ends with when a signal stopped it."""
    import signal

    if signum == signal.SIGINT:
        return "interrupted"
    if signum == signal.SIGTERM:
        return "terminated"
    return f"terminated by {signal.Signals(signum).name}"


def _wants_json(argv: list[str]) -> bool:
    """``--progress json`` anywhere before ``--``: every stderr line becomes a JSON object."""
    for i, tok in enumerate(argv):
        if tok == "--":
            return False
        if tok == "--progress=json" or (tok == "--progress" and i + 1 < len(argv) and argv[i + 1] == "json"):
            return True
    return False


def _path_argument_error(exc) -> bool:
    """A bad file/folder argument (missing, a folder for a file, ...): bad input, not usage."""
    param = getattr(exc, "param", None)
    return isinstance(exc, click.BadParameter) and param is not None and isinstance(param.type, click.Path)


def main(argv=None) -> int:
    """Entry point of the console script; returns the exit code."""
    from .errors import Interrupted

    argv = list(sys.argv[1:] if argv is None else argv)
    _STATE.update(debug=False, verbosity=0, json=_wants_json(argv))    # each call starts afresh
    restore = _signal_handlers()
    notice = _CompileNotice()
    notice.install()
    try:
        cli.main(args=_hoist_global_flags(argv), prog_name="musync", standalone_mode=False)
        return 0
    except click.exceptions.Abort as exc:
        cause = exc.__context__
        if isinstance(cause, Interrupted):          # click turns a KeyboardInterrupt into Abort
            echo_err(_stopped(cause.signum))
            return cause.exit_code
        echo_err("aborted")
        return 130
    except click.ClickException as exc:
        if _path_argument_error(exc):
            echo_err(f"error: {exc.format_message().strip()}")
            return 3
        if _STATE.get("json"):
            echo_err(f"error: {exc.format_message().strip()}")
            return exc.exit_code
        exc.show()
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except MusyncError as exc:
        if _STATE["debug"]:
            raise
        echo_err(f"error: {exc}")
        return exc.exit_code
    except Interrupted as exc:
        echo_err(_stopped(exc.signum))
        return exc.exit_code
    except KeyboardInterrupt:
        echo_err("interrupted")
        return 130
    except Exception as exc:  # a bug: still one line, unless --debug
        if _STATE["debug"]:
            raise
        echo_err(f"error: unexpected {type(exc).__name__}: {exc} (re-run with --debug for details)")
        return 1
    finally:
        notice.uninstall()
        restore()
        _STATE.update(debug=False, verbosity=0, json=False)


def run() -> None:
    sys.exit(main())
