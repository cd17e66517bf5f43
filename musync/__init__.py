"""musync: a music-video beat-sync editing engine. The music leads; the picture follows.

Public API (each stage callable alone; each output saveable and loadable):

- :func:`analyze` -- listen to a song: tempo, beats, downbeats, sections, energy, climax.
- :func:`load_analysis` / :func:`save_analysis` -- the analysis JSON file.
- :func:`scan_clips` -- probe, validate and measure clips: a list of :class:`ClipInfo` with
  ``.skipped``; :func:`load_clips` / :func:`save_clips` -- the clip-library JSON file.
- :func:`plan` / :func:`replan` -- cut to the music: an :class:`Analysis` and clips in, a
  :class:`Plan` out; :func:`make_settings` and :data:`STYLES` for the presets.
- :func:`load_plan` / :func:`save_plan` / :func:`validate_plan` -- the plan JSON file.
- :func:`export` -- the plan as a timeline for an editor (.otio, .otioz, .xml, .fcpxml, .edl);
  :func:`import_timeline` -- an edited timeline back into a plan (locked shots, gaps to re-plan).
- :func:`render` -- the plan as a video (frame-exact, the song as soundtrack; draft or final);
  :func:`preview` -- numbered cards, a flash and a click on every cut, no clip decoded.
- :func:`batch` -- many jobs (songs x clip folders x settings) as a Dask task graph, each song
  analysed and each clip scanned once; needs ``musync[batch]``.

Errors derive from :class:`MusyncError`.
"""

from ._env import configure_numba_cache as _configure_numba_cache

_configure_numba_cache()

from ._version import __version__  # noqa: E402
from .analysis import analyze, load_analysis, save_analysis
from .clips import load_clips, save_clips, scan_clips
from .errors import ExportError, MediaError, MusyncError, ParameterError, PlanError
from .types import Analysis, AudioInfo, Section
from .types import ClipInfo, ScanResult
from .types import Plan, PlanClip, PlanSettings, Shot
from .planner import STYLES, make_settings, plan, replan
from .planfile import load_plan, save_plan, validate_plan
from .export import export, import_timeline
from .render import render
from .preview import preview
from .batch import batch

__all__ = [
    "__version__",
    "analyze", "load_analysis", "save_analysis",
    "scan_clips", "load_clips", "save_clips", "ClipInfo", "ScanResult",
    "plan", "replan", "make_settings", "STYLES", "load_plan", "save_plan", "validate_plan",
    "export", "import_timeline",
    "render", "preview",
    "batch",
    "Plan", "PlanClip", "PlanSettings", "Shot",
    "Analysis", "AudioInfo", "Section",
    "MusyncError", "ParameterError", "MediaError", "PlanError", "ExportError",
]
