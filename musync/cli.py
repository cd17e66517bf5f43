"""The ``musync`` command line: a thin click layer over the public API.

Each command parses options, calls the same functions a library user would, and prints. Errors
raised by the library become one-line messages and exit codes:
0 ok, 1 runtime error, 2 usage error, 3 bad input. ``--debug`` re-raises instead.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import click

from ._version import __version__
from .errors import MusyncError

log = logging.getLogger("musync")

_STATE = {"debug": False, "verbosity": 0}


def echo_err(msg: str) -> None:
    click.echo(msg, err=True)


def warn(msg: str) -> None:
    if _STATE["verbosity"] >= 0:
        click.echo(f"warning: {msg}", err=True)


def info(msg: str) -> None:
    if _STATE["verbosity"] >= 0:
        click.echo(msg, err=True)


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
    from ._fs import atomic_output

    text = json.dumps(obj, indent=1, sort_keys=False) + "\n"
    if out in (None, "-"):
        click.echo(text, nl=False)
        return
    with atomic_output(out, overwrite=overwrite) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")
    info(f"wrote {out}")


def _print_analysis_summary(a) -> None:
    click.echo(f"{Path(a.audio.path).name}: {a.duration:.2f} s, {a.tempo:.2f} BPM, "
               f"{a.beats_per_bar}/4, {len(a.beats)} beats, {len(a.downbeats)} bars, "
               f"confidence {a.confidence:.2f}")
    click.echo("sections: " + "  ".join(
        f"{s.label}[{s.kind}] {s.start:.1f}-{s.end:.1f}s e={s.energy:.2f}" for s in a.sections))
    click.echo(f"climax: {a.climax:.2f} s")


@cli.command()
@click.argument("song", type=click.Path(dir_okay=False, path_type=str))
@click.option("--json", "json_out", metavar="OUT", help="Write the analysis as JSON ('-' for stdout).")
@click.option("--plot", "plot_out", metavar="OUT.png", help="Write a PNG of waveform, grid, sections, energy.")
@click.option("--no-cache", is_flag=True, help="Ignore and do not write the analysis cache.")
@click.option("--beats-per-bar", type=click.Choice(["auto", "3", "4"]), default="auto", show_default=True,
              help="Force the metre instead of estimating it.")
@click.option("-y", "--overwrite", is_flag=True, help="Replace existing output files.")
def analyze(song: str, json_out, plot_out, no_cache: bool, beats_per_bar: str, overwrite: bool) -> None:
    """Analyse SONG: tempo, beats, downbeats, sections, energy and climax."""
    from . import analyze as _analyze
    from ._fs import check_output

    for out in (json_out, plot_out):
        if out and out != "-":
            check_output(out, overwrite=overwrite)
    bpb = None if beats_per_bar == "auto" else int(beats_per_bar)
    a = _analyze(song, use_cache=not no_cache, beats_per_bar=bpb)
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
@click.argument("folder", default="musync-demo", type=click.Path(file_okay=False, path_type=str))
@click.option("--seconds", default=40.0, show_default=True, help="Length of the example song.")
@click.option("-y", "--overwrite", is_flag=True, help="Replace an existing demo folder's files.")
def demo(folder: str, seconds: float, overwrite: bool) -> None:
    """Make an example song in FOLDER and run the pipeline on it."""
    from .demo import run_demo

    run_demo(folder, seconds=seconds, overwrite=overwrite, echo=click.echo)


def main(argv=None) -> int:
    """Entry point of the console script; returns the exit code."""
    try:
        cli.main(args=argv, prog_name="musync", standalone_mode=False)
        return 0
    except click.exceptions.Abort:
        echo_err("aborted")
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except MusyncError as exc:
        if _STATE["debug"]:
            raise
        echo_err(f"error: {exc}")
        return exc.exit_code
    except KeyboardInterrupt:
        echo_err("interrupted")
        return 130
    except Exception as exc:  # a bug: still one line, unless --debug
        if _STATE["debug"]:
            raise
        echo_err(f"error: unexpected {type(exc).__name__}: {exc} (re-run with --debug for details)")
        return 1


def run() -> None:
    sys.exit(main())
