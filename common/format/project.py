"""Project format v1: the JSON the music app posts, as typed, validated, immutable objects.

The contract is ``shared/PROJECT_FORMAT.md``; additions are in ``docs/project-format.md``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from typing import Annotated, Literal, TypeGuard

from pydantic import (
    BeforeValidator,
    Discriminator,
    Field,
    Strict,
    Tag,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from common.errors import Issue
from common.format.compat import Compat
from common.format.effects import EffectSpec
from common.format.instruments import (
    InstrumentSpec,
    MembraneSynthOptions,
    PolySynthSpec,
    membrane_octaves_problem,
)
from common.format.notation import notation_to_beats
from common.format.strict import (
    ArrayOf,
    HexColour,
    NonNegative,
    NoteLength,
    Positive,
    StrictModel,
    Unit,
)
from common.timing.exact import to_fraction
from common.timing.tempo import TempoMap

FORMAT_V1 = "framefarm.project/1"
MAX_BPM = 1000.0

Bpm = Annotated[float, Field(gt=0, le=MAX_BPM)]


class TempoChange(StrictModel):
    beat: Annotated[float, Field(gt=0)]
    bpm: Bpm


class Note(StrictModel):
    beat: NonNegative
    duration: NoteLength
    pitch: Annotated[int, Field(ge=0, le=127)]
    velocity: Unit


class Visual(StrictModel):
    style: Literal["bars", "rings", "particles", "orbs"] = "bars"
    color: HexColour = "#ffffff"
    intensity: Annotated[float, Field(ge=0, le=100)] = 1.0


class Track(StrictModel):
    id: Annotated[str, Field(min_length=1, max_length=100)]
    name: Annotated[str, Field(max_length=200)] = ""
    instrument: InstrumentSpec
    effects: ArrayOf[EffectSpec] = ()
    volume: Annotated[float, Field(ge=-100, le=24)] = 0.0
    pan: Annotated[float, Field(ge=-1, le=1)] = 0.0
    mute: bool = False
    solo: bool = False
    visual: Visual = Visual()
    notes: ArrayOf[Note] = ()


class Camera(StrictModel):
    fov: Annotated[float, Field(gt=1, lt=179)] = 50.0
    distance: Annotated[float, Field(gt=0, le=1000)] = 12.0
    orbit_beats: Annotated[float, Field(ge=0)] = 16.0  # 0 holds the camera still


class PmndrsBloom(StrictModel):
    """``<Bloom>`` of @react-three/postprocessing; defaults of postprocessing >= 6.37.6."""

    mode: Literal["pmndrs"] = "pmndrs"
    intensity: Annotated[float, Field(ge=0, le=100)] = 1.0
    luminance_threshold: Annotated[float, Field(ge=0, le=100)] = 1.0
    luminance_smoothing: Annotated[float, Field(ge=0, le=100)] = 0.03
    mipmap_blur: bool = True
    radius: Unit = 0.85
    levels: Annotated[int, Field(ge=1, le=12)] = 8

    @field_validator("mipmap_blur")
    @classmethod
    def _mipmap_only(cls, value: bool) -> bool:
        if not value:
            raise ValueError(
                "only the mipmap blur (mipmapBlur: true) is supported; the Kawase blur of "
                "postprocessing < 6.37 is not implemented"
            )
        return value


class UnrealBloom(StrictModel):
    """three.js ``UnrealBloomPass(resolution, strength, radius, threshold)``, the seed's bloom."""

    mode: Literal["unreal"]
    strength: Annotated[float, Field(ge=0, le=100)] = 1.0
    radius: Unit = 0.0
    threshold: Annotated[float, Field(ge=0, le=100)] = 0.0


def _bloom_mode(value: object) -> str:
    if isinstance(value, dict):
        return str(value.get("mode", "pmndrs"))
    return str(getattr(value, "mode", "pmndrs"))


Bloom = Annotated[
    Annotated[PmndrsBloom, Tag("pmndrs")] | Annotated[UnrealBloom, Tag("unreal")],
    Discriminator(
        _bloom_mode,
        custom_error_type="bloom_mode",
        custom_error_message="expected mode 'pmndrs' (the default) or 'unreal'",
    ),
]


class Visualizer(StrictModel):
    background: HexColour = "#000000"
    camera: Camera = Camera()
    tone_mapping: Literal["none", "aces", "agx", "neutral", "reinhard", "cineon", "linear"] = "none"
    exposure: Annotated[float, Field(gt=0, le=100)] = 1.0
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)] = 0
    bloom: Bloom = PmndrsBloom()


def _two_numbers(value: object) -> object:
    if isinstance(value, list | tuple) and len(value) != 2:
        raise PydanticCustomError(
            "time_signature", "expected [numerator, denominator], e.g. [4, 4] or [6, 8]"
        )
    return value


class Project(StrictModel):
    """A whole project; cross-field rules (sorted tempo changes, unique ids) checked here."""

    format: Literal["framefarm.project/1"]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    bpm: Bpm
    tempo_changes: ArrayOf[TempoChange] = ()
    time_signature: Annotated[
        tuple[Annotated[int, Field(ge=1, le=32)], Literal[1, 2, 4, 8, 16, 32]],
        Strict(False),
        BeforeValidator(_two_numbers),
    ] = (4, 4)
    duration_beats: Positive
    tracks: ArrayOf[Track] = ()
    visualizer: Visualizer = Visualizer()
    compat: Compat = Compat()

    @model_validator(mode="after")
    def _cross_field_rules(self) -> Project:
        problems = cross_field_problems(self)
        if problems:
            raise CrossFieldError(problems)
        return self

    @property
    def tempo_map(self) -> TempoMap:
        return TempoMap(self.bpm, ((c.beat, c.bpm) for c in self.tempo_changes))

    def note_beats(self, note: Note) -> Fraction:
        """A note's length in beats (numbers are beats, notation follows the time signature)."""
        if isinstance(note.duration, str):
            return notation_to_beats(note.duration, self.time_signature)
        return to_fraction(note.duration)

    @property
    def audible_tracks(self) -> ArrayOf[Track]:
        """Tracks that sound: not muted, and soloed if any track is soloed."""
        soloing = any(t.solo for t in self.tracks)
        return tuple(t for t in self.tracks if not t.mute and (t.solo or not soloing))


class CrossFieldError(ValueError):
    """Rules that span fields; carries each problem's own JSON path for the error report."""

    def __init__(self, problems: list[Issue]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


def cross_field_problems(project: Project) -> list[Issue]:
    """Tempo changes strictly increasing; track ids unique; MembraneSynth octaves in range."""
    return order_and_identity_problems(
        [c.beat for c in project.tempo_changes], [t.id for t in project.tracks]
    ) + release_problems(project)


def release_problems(project: Project) -> list[Issue]:
    """Options whose range depends on the release ``compat`` selects (MembraneSynth octaves)."""
    problems: list[Issue] = []
    tone = project.compat.tone_release
    for index, track in enumerate(project.tracks):
        params = track.instrument.params
        where = f"tracks[{index}].instrument.params"
        if isinstance(track.instrument, PolySynthSpec):
            params, where = track.instrument.params.options, f"{where}.options"
        if isinstance(params, MembraneSynthOptions):
            problem = membrane_octaves_problem(params, tone)
            if problem is not None:
                problems.append(Issue(f"{where}.octaves", problem, params.octaves))
    return problems


def order_and_identity_problems(
    tempo_beats: Sequence[object], track_ids: Sequence[object]
) -> list[Issue]:
    """The cross-field rules on the values alone, so that they also run on JSON whose other
    fields are wrong (one pass reports every problem): a beat that is not a finite number, or
    an id that is not a string, is skipped (its own field's issue names it)."""
    problems: list[Issue] = []
    previous = 0.0
    for index, beat in enumerate(tempo_beats):
        if not _finite_number(beat):
            continue
        if beat <= previous:
            problems.append(
                Issue(
                    f"tempoChanges[{index}].beat",
                    f"expected a beat after {previous:g} (changes must be sorted, strictly "
                    "increasing)",
                    beat,
                )
            )
        previous = max(previous, beat)
    seen: dict[str, int] = {}
    for index, track_id in enumerate(track_ids):
        if not isinstance(track_id, str):
            continue
        if track_id in seen:
            problems.append(
                Issue(
                    f"tracks[{index}].id",
                    f"expected a unique id, already used by tracks[{seen[track_id]}]",
                    track_id,
                )
            )
        seen.setdefault(track_id, index)
    return problems


def _finite_number(value: object) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
