"""Plain data that crosses stage boundaries.

Every type here is a frozen dataclass with ``to_dict()`` / ``from_dict()`` giving a JSON-ready
form (lists instead of arrays). Analysis works in float seconds.

Public types: :class:`AudioInfo`, :class:`Section`, :class:`Analysis`; the clip library:
:class:`ClipInfo`, :class:`SubShot`, :class:`ClipRegion`, :class:`SkippedClip`, :class:`ScanResult`,
and what the scan sees in the picture: :class:`ContentFlag`, :class:`Quality`, :class:`HeroRange`,
:class:`FramePrints`, :class:`Fingerprint`, :class:`DuplicateGroup`, :class:`DuplicateMember`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

__all__ = ["AudioInfo", "Section", "Analysis", "ANALYSIS_VERSION",
           "ClipInfo", "ClipRegion", "SubShot", "SkippedClip", "ScanResult", "CLIPS_VERSION",
           "ContentFlag", "Quality", "HeroRange", "FramePrints", "Fingerprint", "DuplicateMember",
           "DuplicateGroup",
           "Shot", "ShotCrop", "PlanClip", "PlanSettings", "Plan", "PLAN_VERSION"]

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
    beat_strength : ndarray (n,) in [0, 1]  onset strength at each beat: the mean of two onset
                             measures (23 ms and 93 ms frames), each over its 95th percentile
    downbeats : ndarray (m,) times of the first beat of each bar (a subset of ``beats``)
    beats_per_bar : int      2, 3 or 4 (2 only in a compound metre: 6/8)
    sections : tuple of Section, tiling ``[0, duration]``
    energy_times, energy : ndarray (k,)  energy curve in [0, 1] at about 10 Hz
    climax : float           the moment the song peaks (a downbeat)
    confidence : float       confidence in the beat grid, [0, 1]
    confidences : dict       per-part confidences (``beats``, ``downbeats``, ``sections``)
    fallback : bool          True when the grid is a fixed fallback (silence, noise, no pulse)
    warnings : tuple of str
    params : dict            the options the analysis ran with
    offbeat_strength : ndarray (n,) or empty
                             onset strength half-way between each beat and the next, on the
                             scale of ``beat_strength`` (the last entry is unused); empty when
                             not measured. The planner cuts on half-beats only where this is
                             strong.
    tempo_alternatives : tuple of dict  the runner-up metrical levels, best first:
                             ``{"bpm": 168.0, "score": 0.3}`` (score = probability among the levels)
    loudness : ndarray (k,) or empty
                             the RMS level (dBFS) at ``energy_times``, averaged over each sample's
                             tenth of a second; empty when not measured (the planner then paces
                             by the energy curve alone)
    beat_division : int      2 when each beat divides in two (simple metre: 2/4, 3/4, 4/4), 3
                             when it divides in three (compound: 6/8, 9/8, 12/8, and triplet
                             swing); see :attr:`metre`
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
    offbeat_strength: np.ndarray = field(default_factory=lambda: np.zeros(0))
    tempo_alternatives: tuple = ()
    loudness: np.ndarray = field(default_factory=lambda: np.zeros(0))
    beat_division: int = 2

    def __post_init__(self):
        if self.beat_division not in (2, 3):
            from .errors import ParameterError

            raise ParameterError(f"beat_division must be 2 or 3, not {self.beat_division!r}")
        for name in ("beats", "beat_strength", "downbeats", "energy_times", "energy",
                     "offbeat_strength", "loudness"):
            object.__setattr__(self, name, _arr(getattr(self, name)))
        object.__setattr__(self, "sections", tuple(self.sections))
        object.__setattr__(self, "warnings", tuple(self.warnings))
        object.__setattr__(self, "tempo_alternatives", tuple(
            {"bpm": float(t["bpm"]), "score": float(t["score"])} for t in self.tempo_alternatives))

    @property
    def sr(self) -> int:
        return self.audio.sample_rate

    @property
    def metre(self) -> str:
        """The time signature: ``"4/4"``, ``"3/4"`` (beats divided in two) or ``"6/8"``,
        ``"9/8"``, ``"12/8"`` (beats divided in three)."""
        if self.beat_division == 3:
            return f"{3 * int(self.beats_per_bar)}/8"
        return f"{int(self.beats_per_bar)}/4"

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
            "tempo_alternatives": [{"bpm": _r(t["bpm"], 3), "score": _r(t["score"], 4)}
                                   for t in self.tempo_alternatives],
            "beats_per_bar": int(self.beats_per_bar),
            "beat_division": int(self.beat_division),
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
            **({"offbeat_strength": _rl(self.offbeat_strength, 4)} if self.offbeat_strength.size else {}),
            **({"loudness": _rl(self.loudness, 2)} if self.loudness.size else {}),
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
            offbeat_strength=d.get("offbeat_strength", []),
            tempo_alternatives=tuple(d.get("tempo_alternatives", ())),
            loudness=d.get("loudness", []),
            beat_division=int(d.get("beat_division", 2)),
        )


# ---------------------------------------------------------------------------------------------
# The clip library (musync.clips). Times are float seconds from the clip's first decodable frame.

#: Version of the clip-library JSON schema (``"version"`` key of :meth:`ScanResult.to_dict`).
CLIPS_VERSION = 1

_FEATURE_NDIGITS = 4  # JSON precision for feature values in [0, 1] and Lab units


def _rt(x: float) -> float:
    """Round a time to microseconds; infinity (a still's duration) stays infinite."""
    x = float(x)
    return x if x == float("inf") else _r(x)


def _time_json(x: float):
    return None if x == float("inf") else _r(x)


def _time_from_json(x) -> float:
    return float("inf") if x is None else float(x)


def _arr_r(a, nd: int) -> np.ndarray:
    out = np.round(np.asarray(a if a is not None else [], dtype=np.float64).reshape(-1), nd)
    out.setflags(write=False)
    return out


def _lab(p) -> tuple[float, float, float]:
    t = tuple(round(float(v), _FEATURE_NDIGITS) for v in p)
    if len(t) != 3:
        raise ValueError(f"a palette is a mean (L, a, b) colour; got {len(t)} values")
    return t  # type: ignore[return-value]


def _fraction_json(f):
    return None if f is None else f"{f.numerator}/{f.denominator}"


def _fraction_from_json(s):
    from fractions import Fraction

    return None if s is None else Fraction(str(s))


@dataclass(frozen=True)
class ClipRegion:
    """A span ``[start, end)`` of a clip with a defect or transition.

    ``kind`` is one of ``"black"``, ``"fade_in"``, ``"fade_out"``, ``"frozen"`` or ``"unstable"``
    (the warping or flicker generated clips often have at their ends).
    """

    start: float
    end: float
    kind: str

    def __post_init__(self):
        object.__setattr__(self, "start", _rt(self.start))
        object.__setattr__(self, "end", _rt(self.end))

    def to_dict(self) -> dict[str, Any]:
        return {"start": _r(self.start), "end": _r(self.end), "kind": self.kind}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ClipRegion":
        return cls(float(d["start"]), float(d["end"]), str(d["kind"]))


@dataclass(frozen=True)
class SubShot:
    """One continuous shot inside a clip's usable window (clips with internal cuts hold several).

    ``brightness`` and ``motion`` are on the same scales as :class:`ClipInfo`'s; ``palette`` is
    the mean CIE Lab colour; ``quality`` is :attr:`Quality.score` over the range and ``interest``
    its visual interest (contrast, colour and detail, [0, 1]); both None when not measured.
    """

    start: float
    end: float
    brightness: float
    motion: float
    palette: tuple[float, float, float]
    quality: float | None = None
    interest: float | None = None

    def __post_init__(self):
        object.__setattr__(self, "start", _rt(self.start))
        object.__setattr__(self, "end", _rt(self.end))
        object.__setattr__(self, "brightness", round(float(self.brightness), _FEATURE_NDIGITS))
        object.__setattr__(self, "motion", round(float(self.motion), _FEATURE_NDIGITS))
        object.__setattr__(self, "palette", _lab(self.palette))
        for name in ("quality", "interest"):
            v = getattr(self, name)
            if v is not None:
                object.__setattr__(self, name, round(float(v), 3))

    @property
    def duration(self) -> float:
        return self.end - self.start

    def to_dict(self) -> dict[str, Any]:
        d = {"start": _r(self.start), "end": _time_json(self.end),
             "brightness": self.brightness, "motion": self.motion,
             "palette": list(self.palette)}
        if self.quality is not None:
            d["quality"] = self.quality
        if self.interest is not None:
            d["interest"] = self.interest
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "SubShot":
        return cls(float(d["start"]), _time_from_json(d["end"]), float(d["brightness"]),
                   float(d["motion"]), tuple(d["palette"]),
                   None if d.get("quality") is None else float(d["quality"]),
                   None if d.get("interest") is None else float(d["interest"]))


@dataclass(frozen=True)
class ContentFlag:
    """A span ``[start, end)`` of a clip that shows something other than footage, and why.

    ``kind`` is one of ``test_pattern``, ``text`` (title cards, slates, captions), ``credits``
    (rolling text), ``black``, ``flat`` (one colour, no picture) or ``letterbox`` (bars around the
    picture: informational, see :attr:`ClipInfo.picture`). ``reason`` says what was seen;
    ``score`` in [0, 1] how clearly. See :mod:`musync.clips.content`.
    """

    start: float
    end: float
    kind: str
    reason: str = ""
    score: float = 1.0

    def __post_init__(self):
        object.__setattr__(self, "start", _rt(self.start))
        object.__setattr__(self, "end", _rt(self.end))
        object.__setattr__(self, "score", round(float(self.score), 3))

    @property
    def excludes(self) -> bool:
        """True for kinds the planner keeps out of the edit while other material exists."""
        return self.kind != "letterbox"

    def to_dict(self) -> dict[str, Any]:
        return {"start": _r(self.start), "end": _time_json(self.end), "kind": self.kind,
                "reason": self.reason, "score": self.score}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ContentFlag":
        return cls(float(d["start"]), _time_from_json(d["end"]), str(d["kind"]),
                   str(d.get("reason", "")), float(d.get("score", 1.0)))


@dataclass(frozen=True)
class Quality:
    """How good a clip (or a range of it) looks, independent of the output size.

    All values in [0, 1]. ``score`` combines the others (see :mod:`musync.clips.quality`);
    resolution enters at plan time through :func:`musync.clips.quality.upscale_factor`.

    Attributes
    ----------
    score : float       overall picture quality (1 best)
    sharpness : float   fine detail against coarse detail (1 crisp, 0 soft)
    detail : float      effective resolution as a share of the picture's pixel size (1 native;
                        0.25 for a picture blown up 4x before it was stored)
    blockiness : float  compression blocks at the 8-pixel grid (0 clean, 1 very blocky)
    shake : float       jitter of the camera (0 steady, 1 violent)
    flicker : float     frame-to-frame brightness flicker (0 none)
    exposure : float    1 well exposed; lower for clipped highlights, crushed or murky pictures
    """

    score: float
    sharpness: float = 1.0
    detail: float = 1.0
    blockiness: float = 0.0
    shake: float = 0.0
    flicker: float = 0.0
    exposure: float = 1.0

    def __post_init__(self):
        for f in dataclasses.fields(self):
            object.__setattr__(self, f.name, round(float(getattr(self, f.name)), 3))

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Quality":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: float(v) for k, v in d.items() if k in known})


@dataclass(frozen=True)
class HeroRange:
    """One of a clip's most striking ranges (quality x visual interest x motion), ``[start, end)``."""

    start: float
    end: float
    score: float
    reason: str = ""

    def __post_init__(self):
        object.__setattr__(self, "start", _rt(self.start))
        object.__setattr__(self, "end", _rt(self.end))
        object.__setattr__(self, "score", round(float(self.score), 3))

    def to_dict(self) -> dict[str, Any]:
        return {"start": _r(self.start), "end": _r(self.end), "score": self.score,
                "reason": self.reason}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "HeroRange":
        return cls(float(d["start"]), float(d["end"]), float(d["score"]), str(d.get("reason", "")))


@dataclass(frozen=True, eq=False)
class FramePrints(_ArrayEq):
    """A tiny fingerprint per second, to check that a decoder returns the right picture.

    ``frames[i]`` is the index (0-based, in presentation order, counting every decoded frame) of
    the first analysed frame at or after ``i`` seconds from the first frame; ``times[i]`` its time
    in seconds from the first frame; ``thumbs[i]`` its 8x8 luma thumbnail as 128 hex digits (row
    by row, two per cell). The thumbnail is defined in
    :func:`musync.clips.features.frame_thumbnail`; compare with
    :func:`musync.clips.fingerprint.thumb_distance`.
    """

    frames: np.ndarray
    times: np.ndarray
    thumbs: tuple[str, ...]

    def __post_init__(self):
        fr = np.asarray(self.frames, dtype=np.int64).reshape(-1)
        fr.setflags(write=False)
        object.__setattr__(self, "frames", fr)
        object.__setattr__(self, "times", _arr_r(self.times, _NDIGITS))
        object.__setattr__(self, "thumbs", tuple(str(t) for t in self.thumbs))
        if not (fr.size == self.times.size == len(self.thumbs)):
            raise ValueError("frame prints need as many frames, times and thumbnails")

    def thumb(self, i: int) -> np.ndarray:
        """Thumbnail ``i`` as a uint8 (8, 8) array."""
        return np.frombuffer(bytes.fromhex(self.thumbs[i]), dtype=np.uint8).reshape(8, 8)

    def at(self, t: float) -> int:
        """Index of the print at or before ``t`` seconds (0 before the first)."""
        return max(0, int(np.searchsorted(self.times, float(t) + 1e-9, side="right")) - 1)

    def to_dict(self) -> dict[str, Any]:
        return {"frames": [int(v) for v in self.frames], "times": _rl(self.times),
                "thumbs": list(self.thumbs)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "FramePrints":
        return cls(d.get("frames", []), d.get("times", []), tuple(d.get("thumbs", ())))


@dataclass(frozen=True, eq=False)
class Fingerprint(_ArrayEq):
    """Perceptual hashes of a clip, about four samples a second (for duplicate groups).

    ``times`` are seconds from the first frame; ``grey[i]`` is the 64-bit DCT hash of the grey
    picture inside any bars (16 hex digits); ``windows[i]`` the hashes of the centred crop windows
    of :data:`musync.clips.fingerprint.WINDOWS` (concatenated, 16 hex digits each); ``colour[i]``
    the opponent colour (R-G, (R+G)/2-B) of the frame's four quarters as 8 signed bytes (16 hex
    digits, value / 254 + ... see :meth:`colour_array`). Samples of flat frames are left out.
    """

    times: np.ndarray
    grey: tuple[str, ...]
    windows: tuple[str, ...]
    colour: tuple[str, ...]

    def __post_init__(self):
        object.__setattr__(self, "times", _arr_r(self.times, 3))
        for name in ("grey", "windows", "colour"):
            object.__setattr__(self, name, tuple(str(v) for v in getattr(self, name)))
        if not (self.times.size == len(self.grey) == len(self.windows) == len(self.colour)):
            raise ValueError("a fingerprint needs as many times, hashes and colours")

    def grey_array(self) -> np.ndarray:
        return np.array([int(h, 16) for h in self.grey], dtype=np.uint64)

    def window_array(self) -> np.ndarray:
        n = len(self.windows[0]) // 16 if self.windows else 0
        return np.array([[int(w[16 * k:16 * k + 16], 16) for k in range(n)] for w in self.windows],
                        dtype=np.uint64).reshape(len(self.windows), n)

    def colour_array(self) -> np.ndarray:
        """(s, 8) float opponent colours in about [-0.5, 0.5]."""
        raw = np.array([np.frombuffer(bytes.fromhex(c), dtype=np.int8) for c in self.colour],
                       dtype=np.float64).reshape(len(self.colour), 8)
        return raw / 254.0

    def to_dict(self) -> dict[str, Any]:
        return {"times": _rl(self.times, 3), "grey": list(self.grey), "windows": list(self.windows),
                "colour": list(self.colour)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Fingerprint":
        return cls(d.get("times", []), tuple(d.get("grey", ())), tuple(d.get("windows", ())),
                   tuple(d.get("colour", ())))


@dataclass(frozen=True)
class DuplicateMember:
    """A clip of a duplicate group: its path, how it relates to the group's longest copy, and the
    share of its fingerprint samples that matched."""

    path: str
    relation: str
    match: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "relation": self.relation, "match": round(float(self.match), 3)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "DuplicateMember":
        return cls(str(d["path"]), str(d.get("relation", "")), float(d.get("match", 1.0)))


@dataclass(frozen=True)
class DuplicateGroup:
    """Clips that show the same shot (re-encodes, greyscale copies, crops, excerpts): one source
    for reuse and adjacency. See :func:`musync.clips.fingerprint.find_duplicates`."""

    members: tuple[DuplicateMember, ...]

    def __post_init__(self):
        object.__setattr__(self, "members", tuple(self.members))

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(m.path for m in self.members)

    def to_dict(self) -> dict[str, Any]:
        return {"members": [m.to_dict() for m in self.members]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "DuplicateGroup":
        return cls(tuple(DuplicateMember.from_dict(m) for m in d.get("members", [])))


@dataclass(frozen=True)
class SkippedClip:
    """A file the scan could not use, and why (the reason says what to do about it)."""

    path: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "reason": self.reason}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "SkippedClip":
        return cls(str(d["path"]), str(d["reason"]))


@dataclass(frozen=True, eq=False)
class ClipInfo(_ArrayEq):
    """Everything musync sees in one clip. Times are float seconds from the first decodable frame.

    Values are rounded on construction (times to microseconds, features to 4 decimals) so that
    ``ClipInfo.from_dict(c.to_dict()) == c``.

    Attributes
    ----------
    path : str                 absolute path of the file
    duration : float           decodable duration; ``inf`` for a still image
    frame_count : int          frames that actually decode (1 for a still)
    fps : Fraction or None     frame rate (e.g. ``Fraction(30000, 1001)``); the mean rate when
                               ``vfr``; None for a still. JSON: ``"30000/1001"``
    vfr : bool                 True when frame intervals vary (variable frame rate)
    size : (int, int)          display (width, height): after rotation and pixel aspect ratio
    rotation : int             degrees clockwise a player turns the stored picture (0, 90, 180,
                               270); the legacy ``rotate`` tag. ffmpeg's display-matrix angle is
                               the negative of this
    pix_fmt : str              decoder pixel format, e.g. ``"yuv420p"``
    codec : str                decoder name, e.g. ``"h264"``
    has_audio : bool
    start_time : float         timestamp of the first frame in the file (seconds)
    is_still : bool            a still image: static, usable for any duration
    usable_in, usable_out : float
                               the span an editor would use: without black, fades from/to black,
                               frozen ends and unstable first/last frames. ``usable_out`` is
                               ``inf`` for a still
    brightness : float         mean luma (Rec. 709 Y') over the usable window, [0, 1]
    contrast : float           mean per-frame standard deviation of luma, [0, 0.5]
    saturation : float         mean HSV saturation, [0, 1]
    palette : (L, a, b)        mean CIE Lab colour (D65), L in [0, 100]
    motion : float             mean of ``motion_curve`` over the usable window, [0, 1]
    motion_times : ndarray (n,)
    motion_curve : ndarray (n,)
                               motion energy at the analysis rate, in [0, 1] on an absolute
                               scale: ``1 - exp(-max(0, d - 0.002) / 0.05)`` where ``d`` is the
                               mean absolute luma change per 1/30 s on the low-resolution frames
                               (0 static, about 0.05 a calm scene, 0.15-0.3 steady action, 0.4
                               and up violent handheld motion). Internal cuts are patched out
    peak_times, peak_strengths : ndarray (k,)
                               motion peaks inside the usable window ("visual beats": flashes,
                               impacts, sudden moves); strength is the jump of the motion curve
                               there, [0, 1]
    cuts : ndarray (c,)        times of internal hard cuts (first frame of the new shot)
    subshots : tuple of SubShot
                               the usable window split at internal cuts (internal black frames
                               left out)
    regions : tuple of ClipRegion
                               black, fade, frozen and unstable spans
    warnings : tuple of str
    coded_size : (int, int)    stored frame size before rotation and pixel aspect ratio
    file_size : int            bytes
    params : dict              the scan options the measurements were made with
    flags : tuple of ContentFlag
                               what is not footage (test patterns, text, credits, black, flat) and
                               letterbox bars, per time range with the reason
    picture : (x, y, w, h)     the real picture inside letterbox/pillarbox bars, display pixels
                               (the whole frame when there are none)
    quality : Quality or None  picture quality of the usable window
    heroes : tuple of HeroRange
                               the most striking ranges, best first
    roi_times : ndarray (r,)   times of the region-of-interest track (about 2 a second)
    roi : ndarray (r, 4)       region of interest ``x, y, w, h`` as fractions of the display frame
                               (where the motion and the detail are)
    prints : FramePrints or None
                               the per-second frame fingerprint (seek verification)
    fingerprint : Fingerprint or None
                               perceptual hashes for duplicate groups
    """

    path: str
    duration: float
    frame_count: int
    fps: Any
    vfr: bool
    size: tuple[int, int]
    rotation: int
    pix_fmt: str
    codec: str
    has_audio: bool
    start_time: float
    is_still: bool
    usable_in: float
    usable_out: float
    brightness: float
    contrast: float
    saturation: float
    palette: tuple[float, float, float]
    motion: float
    motion_times: np.ndarray = field(default_factory=lambda: np.zeros(0))
    motion_curve: np.ndarray = field(default_factory=lambda: np.zeros(0))
    peak_times: np.ndarray = field(default_factory=lambda: np.zeros(0))
    peak_strengths: np.ndarray = field(default_factory=lambda: np.zeros(0))
    cuts: np.ndarray = field(default_factory=lambda: np.zeros(0))
    subshots: tuple[SubShot, ...] = ()
    regions: tuple[ClipRegion, ...] = ()
    warnings: tuple[str, ...] = ()
    coded_size: tuple[int, int] = (0, 0)
    file_size: int = 0
    params: dict = field(default_factory=dict)
    flags: tuple[ContentFlag, ...] = ()
    picture: tuple[int, int, int, int] = ()
    quality: Quality | None = None
    heroes: tuple[HeroRange, ...] = ()
    roi_times: np.ndarray = field(default_factory=lambda: np.zeros(0))
    roi: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    prints: FramePrints | None = None
    fingerprint: Fingerprint | None = None

    def __post_init__(self):
        from fractions import Fraction

        set_ = object.__setattr__
        for name in ("duration", "start_time", "usable_in", "usable_out"):
            set_(self, name, _rt(getattr(self, name)))
        for name in ("brightness", "contrast", "saturation", "motion"):
            set_(self, name, round(float(getattr(self, name)), _FEATURE_NDIGITS))
        for name in ("motion_times", "peak_times", "cuts"):
            set_(self, name, _arr_r(getattr(self, name), _NDIGITS))
        for name in ("motion_curve", "peak_strengths"):
            set_(self, name, _arr_r(getattr(self, name), _FEATURE_NDIGITS))
        if self.fps is not None and not isinstance(self.fps, Fraction):
            set_(self, "fps", Fraction(self.fps))
        set_(self, "palette", _lab(self.palette))
        set_(self, "size", tuple(int(v) for v in self.size))
        set_(self, "coded_size", tuple(int(v) for v in self.coded_size))
        set_(self, "subshots", tuple(self.subshots))
        set_(self, "regions", tuple(self.regions))
        set_(self, "warnings", tuple(self.warnings))
        set_(self, "flags", tuple(self.flags))
        set_(self, "heroes", tuple(self.heroes))
        pic = tuple(int(v) for v in self.picture) or (0, 0, *self.size)
        set_(self, "picture", pic)
        set_(self, "roi_times", _arr_r(self.roi_times, 3))
        roi = np.round(np.asarray(self.roi, dtype=np.float64).reshape(-1, 4), 3)
        roi.setflags(write=False)
        set_(self, "roi", roi)

    @property
    def name(self) -> str:
        """The file name without its folder."""
        import os

        return os.path.basename(self.path)

    @property
    def usable_duration(self) -> float:
        return self.usable_out - self.usable_in

    def flagged(self, start: float, end: float, *, kinds=None) -> list:
        """Content flags that overlap ``[start, end)`` (seconds), excluding ones by default only
        (``kinds`` to choose)."""
        out = []
        for f in self.flags:
            if (f.kind in kinds) if kinds is not None else f.excludes:
                if f.start < end and start < f.end:
                    out.append(f)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "duration": _time_json(self.duration),
            "frame_count": int(self.frame_count),
            "fps": _fraction_json(self.fps),
            "vfr": bool(self.vfr),
            "size": list(self.size),
            "coded_size": list(self.coded_size),
            "rotation": int(self.rotation),
            "pix_fmt": self.pix_fmt,
            "codec": self.codec,
            "has_audio": bool(self.has_audio),
            "start_time": _r(self.start_time),
            "is_still": bool(self.is_still),
            "file_size": int(self.file_size),
            "usable_in": _r(self.usable_in),
            "usable_out": _time_json(self.usable_out),
            "brightness": self.brightness,
            "contrast": self.contrast,
            "saturation": self.saturation,
            "palette": list(self.palette),
            "motion": self.motion,
            "motion_curve": {"times": _rl(self.motion_times),
                             "values": _rl(self.motion_curve, _FEATURE_NDIGITS)},
            "peaks": {"times": _rl(self.peak_times),
                      "strengths": _rl(self.peak_strengths, _FEATURE_NDIGITS)},
            "cuts": _rl(self.cuts),
            "subshots": [s.to_dict() for s in self.subshots],
            "regions": [r.to_dict() for r in self.regions],
            "warnings": list(self.warnings),
            "params": dict(sorted(self.params.items())),
            "flags": [f.to_dict() for f in self.flags],
            "picture": list(self.picture),
            "quality": None if self.quality is None else self.quality.to_dict(),
            "heroes": [h.to_dict() for h in self.heroes],
            "roi": {"times": _rl(self.roi_times, 3),
                    "boxes": [[float(v) for v in row] for row in self.roi]},
            "prints": None if self.prints is None else self.prints.to_dict(),
            "fingerprint": None if self.fingerprint is None else self.fingerprint.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ClipInfo":
        return cls(
            path=str(d["path"]),
            duration=_time_from_json(d["duration"]),
            frame_count=int(d["frame_count"]),
            fps=_fraction_from_json(d.get("fps")),
            vfr=bool(d.get("vfr", False)),
            size=tuple(d["size"]),
            rotation=int(d.get("rotation", 0)),
            pix_fmt=str(d.get("pix_fmt", "")),
            codec=str(d.get("codec", "")),
            has_audio=bool(d.get("has_audio", False)),
            start_time=float(d.get("start_time", 0.0)),
            is_still=bool(d.get("is_still", False)),
            usable_in=float(d["usable_in"]),
            usable_out=_time_from_json(d["usable_out"]),
            brightness=float(d["brightness"]),
            contrast=float(d.get("contrast", 0.0)),
            saturation=float(d.get("saturation", 0.0)),
            palette=tuple(d["palette"]),
            motion=float(d["motion"]),
            motion_times=d.get("motion_curve", {}).get("times", []),
            motion_curve=d.get("motion_curve", {}).get("values", []),
            peak_times=d.get("peaks", {}).get("times", []),
            peak_strengths=d.get("peaks", {}).get("strengths", []),
            cuts=d.get("cuts", []),
            subshots=tuple(SubShot.from_dict(s) for s in d.get("subshots", [])),
            regions=tuple(ClipRegion.from_dict(r) for r in d.get("regions", [])),
            warnings=tuple(d.get("warnings", ())),
            coded_size=tuple(d.get("coded_size", d["size"])),
            file_size=int(d.get("file_size", 0)),
            params=dict(d.get("params", {})),
            flags=tuple(ContentFlag.from_dict(f) for f in d.get("flags", [])),
            picture=tuple(d.get("picture") or ()),
            quality=None if not d.get("quality") else Quality.from_dict(d["quality"]),
            heroes=tuple(HeroRange.from_dict(h) for h in d.get("heroes", [])),
            roi_times=d.get("roi", {}).get("times", []),
            roi=np.asarray(d.get("roi", {}).get("boxes", []), dtype=np.float64).reshape(-1, 4),
            prints=None if not d.get("prints") else FramePrints.from_dict(d["prints"]),
            fingerprint=None if not d.get("fingerprint") else Fingerprint.from_dict(d["fingerprint"]),
        )


class ScanResult(list):
    """The clip library: a ``list`` of :class:`ClipInfo` (in input order) plus what was skipped.

    Attributes
    ----------
    skipped : list of SkippedClip
        files that could not be used, with the reason (and what to do about it).
    groups : list of DuplicateGroup
        clips that show the same shot (see :func:`musync.clips.find_duplicates`).
    """

    def __init__(self, clips=(), skipped=(), groups=()):
        super().__init__(clips)
        self.skipped: list[SkippedClip] = list(skipped)
        self.groups: list[DuplicateGroup] = list(groups)

    def __repr__(self) -> str:
        return f"ScanResult({len(self)} clips, {len(self.skipped)} skipped)"

    def __eq__(self, other):
        if isinstance(other, ScanResult):
            return (list(self) == list(other) and self.skipped == other.skipped
                    and self.groups == other.groups)
        return list.__eq__(self, other)

    __hash__ = None  # type: ignore[assignment]

    def to_dict(self) -> dict[str, Any]:
        return {"version": CLIPS_VERSION, "clips": [c.to_dict() for c in self],
                "skipped": [s.to_dict() for s in self.skipped],
                "groups": [g.to_dict() for g in self.groups]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ScanResult":
        from .errors import ParameterError

        version = d.get("version")
        if version != CLIPS_VERSION:
            raise ParameterError(f"unsupported clip-library version {version!r} (this musync reads "
                                 f"version {CLIPS_VERSION}); re-run `musync scan`")
        return cls([ClipInfo.from_dict(c) for c in d.get("clips", [])],
                   [SkippedClip.from_dict(s) for s in d.get("skipped", [])],
                   [DuplicateGroup.from_dict(g) for g in d.get("groups", [])])


# ---------------------------------------------------------------------------------------------
# The plan: integer frames at a rational frame rate

#: Version of the plan JSON schema (``"version"`` key).
PLAN_VERSION = 1


def _fps_json(f) -> str:
    from fractions import Fraction

    f = Fraction(f)
    return f"{f.numerator}/{f.denominator}"


def _fps_from_json(s):
    from fractions import Fraction

    return Fraction(str(s))


@dataclass(frozen=True)
class ShotCrop:
    """Where the output frame sits in a shot's source picture: the framing that keeps the subject.

    The window is ``w x h`` (fractions of the upright, displayed source frame, the output's
    aspect); its top-left corner is at ``(x[i], y[i])`` (fractions) at the shot's record frame
    ``record_in + frames[i]``, moving linearly between keyframes and held before the first and
    after the last. ``aspect`` is the output aspect (width / height) it was made for; a render at
    another aspect ignores it. See :mod:`musync.framing`.
    """

    frames: tuple[int, ...]
    x: tuple[float, ...]
    y: tuple[float, ...]
    w: float
    h: float
    aspect: float

    def __post_init__(self):
        object.__setattr__(self, "frames", tuple(int(v) for v in self.frames))
        object.__setattr__(self, "x", tuple(round(float(v), 4) for v in self.x))
        object.__setattr__(self, "y", tuple(round(float(v), 4) for v in self.y))
        for name in ("w", "h", "aspect"):
            object.__setattr__(self, name, round(float(getattr(self, name)), 4))
        if not (len(self.frames) == len(self.x) == len(self.y) >= 1):
            raise ValueError("a crop needs as many keyframes, x and y values (at least one)")

    def at(self, offset: float) -> tuple[float, float]:
        """Top-left corner ``(x, y)`` at ``offset`` record frames into the shot."""
        f = np.asarray(self.frames, dtype=np.float64)
        return (float(np.interp(offset, f, self.x)), float(np.interp(offset, f, self.y)))

    def to_dict(self) -> dict[str, Any]:
        return {"frames": list(self.frames), "x": list(self.x), "y": list(self.y), "w": self.w,
                "h": self.h, "aspect": self.aspect}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ShotCrop":
        return cls(tuple(d["frames"]), tuple(d["x"]), tuple(d["y"]), float(d["w"]),
                   float(d["h"]), float(d.get("aspect", 0.0)))


@dataclass(frozen=True)
class Shot:
    """One shot of the edit, in integer frames at the plan's frame rate.

    The shot fills record frames ``[record_in, record_out)`` of the output with source frames
    ``[source_in, source_out)`` of ``source``. Source frame ``k`` is the picture the clip shows at
    ``k / fps`` seconds after its first decodable frame. ``locked`` shots are kept exactly by a
    re-plan. ``scores`` holds the planner's per-shot costs and fits (all in [0, 1]). ``crop`` is
    the framing that keeps the subject at the plan's aspect (:class:`ShotCrop`, or None: centred).
    """

    index: int
    source: str
    source_in: int
    source_out: int
    record_in: int
    record_out: int
    locked: bool = False
    reason: str = ""
    section: str = ""
    energy: float = 0.0
    scores: dict = field(default_factory=dict)
    crop: ShotCrop | None = None

    def __post_init__(self):
        for name in ("index", "source_in", "source_out", "record_in", "record_out"):
            object.__setattr__(self, name, int(getattr(self, name)))
        object.__setattr__(self, "energy", round(float(self.energy), 4))
        object.__setattr__(self, "scores",
                           {k: round(float(v), 4) for k, v in sorted(dict(self.scores).items())})

    @property
    def length(self) -> int:
        return self.record_out - self.record_in

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "source": self.source, "source_in": self.source_in,
                "source_out": self.source_out, "record_in": self.record_in,
                "record_out": self.record_out, "locked": bool(self.locked), "reason": self.reason,
                "section": self.section, "energy": self.energy, "scores": dict(self.scores),
                **({"crop": self.crop.to_dict()} if self.crop is not None else {})}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Shot":
        return cls(int(d["index"]), str(d["source"]), int(d["source_in"]), int(d["source_out"]),
                   int(d["record_in"]), int(d["record_out"]), bool(d.get("locked", False)),
                   str(d.get("reason", "")), str(d.get("section", "")), float(d.get("energy", 0.0)),
                   dict(d.get("scores", {})),
                   ShotCrop.from_dict(d["crop"]) if d.get("crop") else None)


@dataclass(frozen=True)
class PlanClip:
    """What render and export need to know about a source clip (a subset of :class:`ClipInfo`).

    ``picture`` is the real picture inside letterbox bars (``x, y, w, h`` display pixels; empty:
    the whole frame): a ``fill`` render crops the bars away.

    The fingerprint of the file the plan was made from (see :mod:`musync.mediacheck`):
    ``file_size`` bytes (None: a plan older than fingerprints), ``frame_count`` and
    ``content_hash`` (empty: the file was not there when the plan was made)."""

    path: str
    duration: float
    fps: Fraction | None  # None for a still
    size: tuple[int, int]
    rotation: int = 0
    vfr: bool = False
    start_time: float = 0.0
    usable_in: float = 0.0
    usable_out: float = 0.0
    has_audio: bool = False
    is_still: bool = False
    brightness: float = 0.0
    motion: float = 0.0
    picture: tuple = ()
    file_size: int | None = None
    frame_count: int = 0
    content_hash: str = ""

    def __post_init__(self):
        from fractions import Fraction

        if self.fps is not None and not isinstance(self.fps, Fraction):
            object.__setattr__(self, "fps", Fraction(self.fps))
        object.__setattr__(self, "size", tuple(int(v) for v in self.size))
        pic = tuple(int(v) for v in self.picture)
        object.__setattr__(self, "picture", () if pic in ((), (0, 0, *self.size)) else pic)
        for name in ("duration", "start_time", "usable_in", "usable_out"):
            object.__setattr__(self, name, _rt(getattr(self, name)))
        for name in ("brightness", "motion"):
            object.__setattr__(self, name, round(float(getattr(self, name)), 4))

    @classmethod
    def from_clip(cls, c: "ClipInfo") -> "PlanClip":
        return cls(c.path, c.duration, c.fps, c.size, c.rotation, c.vfr, c.start_time, c.usable_in,
                   c.usable_out, c.has_audio, c.is_still, c.brightness, c.motion,
                   tuple(getattr(c, "picture", ()) or ()), int(c.file_size or 0), int(c.frame_count or 0))

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "duration": _time_json(self.duration),
                "fps": _fraction_json(self.fps), "size": list(self.size),
                "rotation": int(self.rotation), "vfr": bool(self.vfr),
                "start_time": _r(self.start_time), "usable_in": _r(self.usable_in),
                "usable_out": _time_json(self.usable_out), "has_audio": bool(self.has_audio),
                "is_still": bool(self.is_still), "brightness": self.brightness,
                "motion": self.motion, **({"picture": list(self.picture)} if self.picture else {}),
                **({} if self.file_size is None else {"file_size": int(self.file_size),
                                                      "frame_count": int(self.frame_count),
                                                      "content_hash": self.content_hash})}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "PlanClip":
        return cls(str(d["path"]), _time_from_json(d["duration"]), _fraction_from_json(d.get("fps")),
                   tuple(d["size"]), int(d.get("rotation", 0)), bool(d.get("vfr", False)),
                   float(d.get("start_time", 0.0)), float(d.get("usable_in", 0.0)),
                   _time_from_json(d.get("usable_out", d["duration"])),
                   bool(d.get("has_audio", False)), bool(d.get("is_still", False)),
                   float(d.get("brightness", 0.0)), float(d.get("motion", 0.0)),
                   tuple(d.get("picture") or ()),
                   None if d.get("file_size") is None else int(d["file_size"]),
                   int(d.get("frame_count", 0)), str(d.get("content_hash", "")))


@dataclass(frozen=True)
class PlanSettings:
    """Everything that steers the planner. A style preset is only a bundle of these values.

    Attributes
    ----------
    style : str           preset the values came from (``energy``, ``downbeats``, ``every-beat``,
                          ``phrase``)
    seed : int            random seed (ties and variety); same inputs + seed -> same plan
    fps : Fraction        output frame rate
    aspect : str          ``16:9``, ``9:16``, ``1:1`` or ``4:5``
    size : (int, int)     output width and height (even numbers)
    anticipation : int    cut this many frames before the beat
    min_shot, max_shot : float
                          shortest and longest shot, seconds
    calm_beats, intense_beats : float
                          target shot length (beats) at energy 0 and at energy 1
    half_beats : bool     allow cuts on half beats
    cut_on : str          ``beats`` (any beat) or ``downbeats`` (bar lines only)
    order : str           ``auto`` (the planner chooses) or ``source`` (clips in file order)
    climax_build : bool   pace up into the climax, hold a breath shot before it
    weights : dict        cost weights of the shot-filling search (``motion``, ``continuity``,
                          ``reuse``, ``peak``, ``climax``)
    """

    style: str = "energy"
    seed: int = 0
    fps: Fraction | None = None  # None: 30
    aspect: str = "16:9"
    size: tuple[int, int] = (1920, 1080)
    anticipation: int = 0
    min_shot: float = 0.3
    max_shot: float = 8.0
    calm_beats: float = 8.0
    intense_beats: float = 2.0
    half_beats: bool = False
    cut_on: str = "beats"
    order: str = "auto"
    climax_build: bool = True
    weights: dict = field(default_factory=dict)

    def __post_init__(self):
        from fractions import Fraction

        object.__setattr__(self, "fps", Fraction(30) if self.fps is None else Fraction(self.fps))
        object.__setattr__(self, "size", tuple(int(v) for v in self.size))
        object.__setattr__(self, "weights",
                           {k: round(float(v), 6) for k, v in sorted(dict(self.weights).items())})

    def to_dict(self) -> dict[str, Any]:
        return {"style": self.style, "seed": int(self.seed), "fps": _fps_json(self.fps),
                "aspect": self.aspect, "size": list(self.size),
                "anticipation": int(self.anticipation), "min_shot": _r(self.min_shot),
                "max_shot": _r(self.max_shot), "calm_beats": _r(self.calm_beats),
                "intense_beats": _r(self.intense_beats), "half_beats": bool(self.half_beats),
                "cut_on": self.cut_on, "order": self.order, "climax_build": bool(self.climax_build),
                "weights": dict(self.weights)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "PlanSettings":
        known = {f.name for f in dataclasses.fields(cls)}
        kw = {k: v for k, v in d.items() if k in known}
        if "fps" in kw:
            kw["fps"] = _fps_from_json(kw["fps"])
        if "size" in kw:
            kw["size"] = tuple(kw["size"])
        return cls(**kw)


@dataclass(frozen=True)
class Plan:
    """The edit, as a proposal: integer frames at a rational frame rate.

    Invariants (checked by :func:`musync.planfile.validate_plan`): shots tile
    ``[0, duration_frames)`` in order; every shot has ``source_out - source_in == record_out -
    record_in >= 1``; every source range lies inside its clip's usable window.

    Attributes
    ----------
    audio : AudioInfo        the song (path and sha256)
    fps : Fraction
    duration_frames : int    the song's length in frames (rounded to the nearest frame)
    size : (int, int)        output width, height
    aspect : str
    settings : PlanSettings
    shots : tuple of Shot
    markers : dict           ``beats``, ``downbeats`` (lists of frames), ``sections`` (list of
                             ``{"frame", "end", "label", "kind"}``), ``climax`` (frame)
    metrics : dict           see the README
    clips : tuple of PlanClip
                             every clip the planner could use, sorted by path
    skipped : tuple of SkippedClip
    warnings : tuple of str
    """

    audio: AudioInfo
    fps: Fraction
    duration_frames: int
    size: tuple[int, int]
    aspect: str
    settings: PlanSettings
    shots: tuple[Shot, ...]
    markers: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    clips: tuple[PlanClip, ...] = ()
    skipped: tuple[SkippedClip, ...] = ()
    warnings: tuple[str, ...] = ()
    version: int = PLAN_VERSION

    def __post_init__(self):
        from fractions import Fraction

        object.__setattr__(self, "fps", Fraction(self.fps))
        object.__setattr__(self, "size", tuple(int(v) for v in self.size))
        for name in ("shots", "clips", "skipped", "warnings"):
            object.__setattr__(self, name, tuple(getattr(self, name)))

    def frame_to_seconds(self, frame: int) -> float:
        return float(Fraction(int(frame)) / self.fps)

    def clip(self, path: str) -> PlanClip | None:
        for c in self.clips:
            if c.path == path:
                return c
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "audio": {"path": self.audio.path, "sha256": self.audio.sha256,
                      "duration": _r(self.audio.duration),
                      "sample_rate": int(self.audio.sample_rate),
                      "channels": int(self.audio.channels)},
            "fps": _fps_json(self.fps),
            "duration_frames": int(self.duration_frames),
            "size": list(self.size),
            "aspect": self.aspect,
            "settings": self.settings.to_dict(),
            "metrics": _json_clean(self.metrics),
            "shots": [s.to_dict() for s in self.shots],
            "markers": _json_clean(self.markers),
            "clips": [c.to_dict() for c in self.clips],
            "skipped": [s.to_dict() for s in self.skipped],
            "warnings": list(self.warnings),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Plan":
        from .errors import PlanError

        version = d.get("version")
        if version != PLAN_VERSION:
            raise PlanError(f"unsupported plan version {version!r} (this musync reads version "
                            f"{PLAN_VERSION}); re-create it with `musync plan`")
        a = d["audio"]
        audio = AudioInfo(str(a["path"]), str(a.get("sha256", "")), float(a.get("duration", 0.0)),
                          int(a.get("sample_rate", 0)), int(a.get("channels", 0)))
        return cls(audio=audio, fps=_fps_from_json(d["fps"]),
                   duration_frames=int(d["duration_frames"]), size=tuple(d["size"]),
                   aspect=str(d.get("aspect", "")),
                   settings=PlanSettings.from_dict(d.get("settings", {})),
                   shots=tuple(Shot.from_dict(s) for s in d["shots"]),
                   markers=dict(d.get("markers", {})), metrics=dict(d.get("metrics", {})),
                   clips=tuple(PlanClip.from_dict(c) for c in d.get("clips", [])),
                   skipped=tuple(SkippedClip.from_dict(s) for s in d.get("skipped", [])),
                   warnings=tuple(d.get("warnings", ())), version=int(version))


def _json_clean(obj):
    """Recursively turn numpy scalars/arrays and tuples into plain JSON values; round floats."""
    if isinstance(obj, dict):
        return {str(k): _json_clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_clean(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [_json_clean(v) for v in obj.tolist()]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        v = float(obj)
        return round(v, 6) if np.isfinite(v) else None
    return obj
