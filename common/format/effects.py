"""The effects of the project format, by Tone.js class name, with Tone.js default options.

``EFFECTS`` is the constructor map. Effects shape the sound (issue: audio), and a few also shape
the picture: the scene model shows a FeedbackDelay's echoes as fading repeats of each pulse.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from common.format.strict import Positive, StrictModel, ToneTime, Unit


class GainOptions(StrictModel):
    """Tone.js ``Gain``: a factor (units "gain", >= 0) or a level in dB (units "decibels")."""

    units: Literal["gain", "decibels"] = "gain"  # declared first: the gain check reads it
    gain: Annotated[float, Field(ge=-100, le=100)] = 1.0
    convert: bool = True

    @field_validator("gain")
    @classmethod
    def _factor_is_not_negative(cls, gain: float, info: ValidationInfo) -> float:
        if info.data.get("units", "gain") == "gain" and gain < 0:
            raise PydanticCustomError(
                "gain_range",
                "expected gain >= 0 when units is 'gain' (use units 'decibels' for dB)",
            )
        return gain


class FilterOptions(StrictModel):
    type: Literal[
        "lowpass", "highpass", "bandpass", "lowshelf", "highshelf", "notch", "allpass", "peaking"
    ] = "lowpass"
    frequency: Annotated[float, Field(gt=0, le=24000)] = 350.0
    rolloff: Literal[-12, -24, -48, -96] = -12
    q: Annotated[float, Field(ge=0, le=1000, alias="Q")] = 1.0
    gain: float = 0.0
    detune: float = 0.0


class _Wet(StrictModel):
    wet: Unit = 1.0


class FeedbackDelayOptions(_Wet):
    delay_time: ToneTime = 0.25
    feedback: Annotated[float, Field(ge=0, lt=1)] = 0.125
    max_delay: Positive = 1.0


class ReverbOptions(_Wet):
    decay: Annotated[float, Field(gt=0, le=60)] = 1.5
    pre_delay: ToneTime = 0.01


class DistortionOptions(_Wet):
    distortion: Annotated[float, Field(ge=0, le=1)] = 0.4
    oversample: Literal["none", "2x", "4x"] = "none"


class ChorusOptions(_Wet):
    wet: Unit = 0.5
    frequency: Positive = 1.5
    delay_time: Annotated[float, Field(gt=0, le=100)] = 3.5  # milliseconds, as Tone.js reads it
    depth: Unit = 0.7
    type: Literal["sine", "square", "sawtooth", "triangle"] = "sine"
    spread: Annotated[float, Field(ge=0, le=360)] = 180.0
    feedback: Annotated[float, Field(ge=0, lt=1)] = 0.0


class GainSpec(StrictModel):
    type: Literal["Gain"]
    params: GainOptions = GainOptions()


class FilterSpec(StrictModel):
    type: Literal["Filter"]
    params: FilterOptions = FilterOptions()


class FeedbackDelaySpec(StrictModel):
    type: Literal["FeedbackDelay"]
    params: FeedbackDelayOptions = FeedbackDelayOptions()


class ReverbSpec(StrictModel):
    type: Literal["Reverb"]
    params: ReverbOptions = ReverbOptions()


class DistortionSpec(StrictModel):
    type: Literal["Distortion"]
    params: DistortionOptions = DistortionOptions()


class ChorusSpec(StrictModel):
    type: Literal["Chorus"]
    params: ChorusOptions = ChorusOptions()


EffectSpec = Annotated[
    GainSpec | FilterSpec | FeedbackDelaySpec | ReverbSpec | DistortionSpec | ChorusSpec,
    Field(discriminator="type"),
]

EFFECTS: dict[str, type[StrictModel]] = {
    "Gain": GainSpec,
    "Filter": FilterSpec,
    "FeedbackDelay": FeedbackDelaySpec,
    "Reverb": ReverbSpec,
    "Distortion": DistortionSpec,
    "Chorus": ChorusSpec,
}
"""The constructor map: Tone.js class name -> the spec model that deserialises it."""
