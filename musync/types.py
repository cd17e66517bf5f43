"""Plain data that crosses stage boundaries.

Every type here is a frozen dataclass with ``to_dict()`` / ``from_dict()`` giving a JSON-ready
form (lists instead of arrays). Analysis works in float seconds.

Public types: :class:`AudioInfo`, :class:`Section`, :class:`Analysis`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["AudioInfo", "Section", "Analysis", "ANALYSIS_VERSION"]

#: Version of the analysis JSON schema (``"version"`` key).
ANALYSIS_VERSION = 1

_NDIGITS = 6  # JSON float precision for times (microseconds)


def _r(x: float, nd: int = _NDIGITS) -> float:
    return float(round(float(x), nd))


def _rl(a, nd: int = _NDIGITS) -> list[float]:
    return [float(v) for v in np.round(np.asarray(a, dtype=np.float64), nd)]


def _arr(a) -> np.ndarray:
    out = np.asarray(a if a is not None else [], dtype=np.float64).reshape(-1)
    out.setflags(write=False)
    return out


class _ArrayEq:
    """Value equality for frozen dataclasses that hold numpy arrays."""

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        for f in dataclasses.fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
                a, b = np.asarray(a), np.asarray(b)
                if a.shape != b.shape or not np.array_equal(a, b):
                    return False
            elif a != b:
                return False
        return True

    __hash__ = None  # type: ignore[assignment]


@dataclass(frozen=True)
class AudioInfo:
    """Where the song came from: path, content hash and stream layout."""

    path: str
    sha256: str
    duration: float
    sample_rate: int
    channels: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "sha256": self.sha256,
            "duration": _r(self.duration),
            "sample_rate": int(self.sample_rate),
            "channels": int(self.channels),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "AudioInfo":
        return cls(str(d["path"]), str(d["sha256"]), float(d["duration"]), int(d["sample_rate"]),
                   int(d["channels"]))


@dataclass(frozen=True)
class Section:
    """A span of the song, ``[start, end)`` seconds, with a repeat label and a role.

    ``label`` marks repeats ("A", "B", "A", ...); ``kind`` is one of ``intro``, ``verse``,
    ``chorus``, ``bridge``, ``outro``; ``energy`` is the mean of the energy curve over the span.
    """

    start: float
    end: float
    label: str
    energy: float = 0.0
    kind: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"start": _r(self.start), "end": _r(self.end), "label": self.label,
                "kind": self.kind, "energy": _r(self.energy, 4)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Section":
        return cls(float(d["start"]), float(d["end"]), str(d["label"]), float(d.get("energy", 0.0)),
                   str(d.get("kind", "")))


@dataclass(frozen=True, eq=False)
class Analysis(_ArrayEq):
    """Everything musync hears in a song. All times are float seconds.

    Attributes
    ----------
    audio : AudioInfo
    duration : float
    tempo : float            beats per minute, from the median inter-beat interval
    beats : ndarray (n,)     beat times
    beat_strength : ndarray (n,) in [0, 1]
    downbeats : ndarray (m,) times of the first beat of each bar (a subset of ``beats``)
    beats_per_bar : int      3 or 4
    sections : tuple of Section, tiling ``[0, duration]``
    energy_times, energy : ndarray (k,)  energy curve in [0, 1] at about 10 Hz
    climax : float           the moment the song peaks (a downbeat)
    confidence : float       confidence in the beat grid, [0, 1]
    confidences : dict       per-part confidences (``beats``, ``downbeats``, ``sections``)
    fallback : bool          True when the grid is a fixed fallback (silence, noise, no pulse)
    warnings : tuple of str
    params : dict            the options the analysis ran with
    """

    audio: AudioInfo
    duration: float
    tempo: float
    beats: np.ndarray
    beat_strength: np.ndarray
    downbeats: np.ndarray
    beats_per_bar: int
    sections: tuple[Section, ...]
    energy_times: np.ndarray
    energy: np.ndarray
    climax: float
    confidence: float
    confidences: dict = field(default_factory=dict)
    fallback: bool = False
    warnings: tuple[str, ...] = ()
    params: dict = field(default_factory=dict)

    def __post_init__(self):
        for name in ("beats", "beat_strength", "downbeats", "energy_times", "energy"):
            object.__setattr__(self, name, _arr(getattr(self, name)))
        object.__setattr__(self, "sections", tuple(self.sections))
        object.__setattr__(self, "warnings", tuple(self.warnings))

    @property
    def sr(self) -> int:
        return self.audio.sample_rate

    def section_at(self, t: float) -> Section | None:
        for s in self.sections:
            if s.start <= t < s.end:
                return s
        return self.sections[-1] if self.sections and t >= self.sections[-1].start else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": ANALYSIS_VERSION,
            "audio": self.audio.to_dict(),
            "duration": _r(self.duration),
            "tempo": _r(self.tempo, 3),
            "beats_per_bar": int(self.beats_per_bar),
            "beats": _rl(self.beats),
            "beat_strength": _rl(self.beat_strength, 4),
            "downbeats": _rl(self.downbeats),
            "sections": [s.to_dict() for s in self.sections],
            "energy": {"times": _rl(self.energy_times, 3), "values": _rl(self.energy, 4)},
            "climax": _r(self.climax),
            "confidence": _r(self.confidence, 4),
            "confidences": {k: _r(v, 4) for k, v in sorted(self.confidences.items())},
            "fallback": bool(self.fallback),
            "warnings": list(self.warnings),
            "params": dict(sorted(self.params.items())),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Analysis":
        from .errors import ParameterError

        version = d.get("version")
        if version != ANALYSIS_VERSION:
            raise ParameterError(f"unsupported analysis version {version!r} (this musync reads "
                                 f"version {ANALYSIS_VERSION}); re-run `musync analyze`")
        audio = AudioInfo.from_dict(d["audio"])
        return cls(
            audio=audio,
            duration=float(d.get("duration", audio.duration)),
            tempo=float(d["tempo"]),
            beats=d["beats"],
            beat_strength=d["beat_strength"],
            downbeats=d["downbeats"],
            beats_per_bar=int(d["beats_per_bar"]),
            sections=tuple(Section.from_dict(s) for s in d["sections"]),
            energy_times=d["energy"]["times"],
            energy=d["energy"]["values"],
            climax=float(d["climax"]),
            confidence=float(d["confidence"]),
            confidences={k: float(v) for k, v in d.get("confidences", {}).items()},
            fallback=bool(d.get("fallback", False)),
            warnings=tuple(d.get("warnings", ())),
            params=dict(d.get("params", {})),
        )
