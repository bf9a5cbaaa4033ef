"""The strict base model and small value types shared by the project and settings schemas."""

from __future__ import annotations

import math
import re
from typing import Annotated, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    Strict,
    WithJsonSchema,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from common.format.notation import NOTATION_HELP, NOTATION_PATTERN, is_notation


class StrictModel(BaseModel):
    """Unknown keys are errors, types are not coerced, and JSON keys are the app's camelCase.

    Construct models in Python with ``model_validate({...camelCase...})``.
    """

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        frozen=True,
        alias_generator=to_camel,
        validate_by_alias=True,
        validate_by_name=False,  # the app writes camelCase; snake_case keys are unknown fields
        allow_inf_nan=False,  # Python's json module accepts Infinity and NaN; the format does not
    )


def deep_merge(base: dict[str, object], given: dict[str, object]) -> dict[str, object]:
    """``given`` over ``base``, dicts merged key by key at every depth (Tone.js's ``deepMerge``)."""
    merged = dict(base)
    for key, value in given.items():
        below = merged.get(key)
        if isinstance(value, dict) and isinstance(below, dict):
            merged[key] = deep_merge(below, value)
        else:
            merged[key] = value
    return merged


class ToneOptions(StrictModel):
    """Options of a Tone.js class: nested options given in part fill in from this class's defaults.

    Tone.js deep-merges what it is given into the class's own ``getDefaults()`` (a Synth's
    envelope keeps sustain 0.3 when only its attack is given, an FMSynth's oscillator stays a
    sine when only its phase is). A nested field's default here is that class's default, so a
    partial dict is merged into it before validation, at every depth.
    """

    @model_validator(mode="before")
    @classmethod
    def _merge_into_defaults(cls, data: object) -> object:
        if not isinstance(data, dict):
            return data
        merged = dict(data)
        for name, field in cls.model_fields.items():
            key = field.alias or name
            given, default = merged.get(key), field.default
            if isinstance(given, dict) and isinstance(default, BaseModel):
                merged[key] = deep_merge(
                    default.model_dump(by_alias=True, exclude_unset=True), given
                )
        return merged


_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


def _hex_colour(value: str) -> str:
    if not _HEX.match(value):
        raise ValueError("expected an sRGB hex colour like '#ff2fd6'")
    return value.lower()


def _time_value(minimum_exclusive: bool, unit: str) -> PlainValidator:
    """A number (``unit``) >= 0 (or > 0), or a Tone.js notation string, with one clear error."""

    def validate(value: object) -> float | str:
        if isinstance(value, str):
            if is_notation(value):
                return value
        elif isinstance(value, int | float) and not isinstance(value, bool):
            in_range = value > 0 or (value == 0 and not minimum_exclusive)
            if in_range and math.isfinite(value):
                return float(value)
            bound = "> 0" if minimum_exclusive else ">= 0"
            raise PydanticCustomError("time_range", f"expected a number of {unit} {bound}")
        raise PydanticCustomError("time_type", f"expected {NOTATION_HELP}")

    return PlainValidator(validate)


def _time_schema(minimum_exclusive: bool, unit: str) -> WithJsonSchema:
    number: dict[str, object] = {"type": "number", "description": unit}
    number["exclusiveMinimum" if minimum_exclusive else "minimum"] = 0
    return WithJsonSchema(
        {"anyOf": [number, {"type": "string", "pattern": NOTATION_PATTERN}]}, mode="validation"
    )


HexColour = Annotated[str, AfterValidator(_hex_colour)]
Unit = Annotated[float, Field(ge=0, le=1)]
NonNegative = Annotated[float, Field(ge=0)]
Positive = Annotated[float, Field(gt=0)]
# An instrument or effect time, as Tone.js reads it: a number is seconds, a string is notation.
ToneTime = Annotated[float | str, _time_value(False, "seconds"), _time_schema(False, "seconds")]
# A note length: a number is beats, a string is notation.
NoteLength = Annotated[float | str, _time_value(True, "beats"), _time_schema(True, "beats")]

T = TypeVar("T")
# A JSON array read into an immutable tuple; its items stay strictly typed.
ArrayOf = Annotated[tuple[T, ...], Strict(False)]
