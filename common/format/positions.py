"""Moments in a song as a musician writes them: ``bar:beat`` in the project's meter (counted from
1, the beat in the meter's own unit: eighths in 6/8) or ``m:ss.fff`` on the clock, read into
beats (quarter notes from the start) and written back (pure; the tempo map does the clock)."""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Literal

from common.timing.tempo import TempoMap

Unit = Literal["beats", "bars", "time"]
UNITS: tuple[Unit, ...] = ("beats", "bars", "time")
MAX_TEXT = 32
"""Characters a position may have (``9999:12.125`` needs a dozen)."""

_NUMBER = r"\d+(?:\.\d+)?"
_BAR_BEAT = re.compile(rf"^(?P<bar>\d+)(?::(?P<beat>{_NUMBER}))?$")
_CLOCK = re.compile(rf"^(?:(?P<minutes>\d+):)?(?P<seconds>{_NUMBER})$")
_BEATS = re.compile(rf"^{_NUMBER}$")


class PositionError(ValueError):
    """A position that cannot be read: the message says the form expected."""


def bar_beats(time_signature: tuple[int, int]) -> tuple[Fraction, Fraction]:
    """Quarter-note beats in one bar, and in one beat of the meter (1/2 in 6/8)."""
    numerator, denominator = time_signature
    unit = Fraction(4, denominator)
    return numerator * unit, unit


def read_position(
    text: str, unit: Unit, time_signature: tuple[int, int], tempo: TempoMap
) -> Fraction:
    """The beat ``text`` names in ``unit``; PositionError saying the form expected."""
    text = text.strip()
    if len(text) > MAX_TEXT:
        raise PositionError(f"expected at most {MAX_TEXT} characters")
    if unit == "beats":
        if not _BEATS.match(text):
            raise PositionError("expected a beat number like 16 or 16.5")
        return Fraction(text)
    if unit == "bars":
        numerator = time_signature[0]
        match = _BAR_BEAT.match(text)
        if not match:
            raise PositionError(f"expected bar:beat like 9:1 ({numerator} beats a bar)")
        bar, beat = int(match["bar"]), Fraction(match["beat"] or "1")
        if bar < 1:
            raise PositionError("expected a bar from 1")
        if not 1 <= beat < numerator + 1:
            raise PositionError(f"expected a beat from 1 to {numerator} in the bar")
        per_bar, per_beat = bar_beats(time_signature)
        return (bar - 1) * per_bar + (beat - 1) * per_beat
    match = _CLOCK.match(text)
    if not match:
        raise PositionError("expected minutes:seconds like 1:30 or 0:12.5")
    seconds = Fraction(match["seconds"])
    if match["minutes"] is not None and seconds >= 60:
        raise PositionError("expected seconds below 60 after the minutes")
    return tempo.time_to_beat(int(match["minutes"] or 0) * 60 + seconds)


def write_bar_beat(beat: Fraction, time_signature: tuple[int, int]) -> str:
    """``"8:3"`` for beat 30 in 4/4: the bar and the beat in it, counted from 1."""
    per_bar, per_beat = bar_beats(time_signature)
    bar, rest = divmod(beat, per_bar)
    return f"{int(bar) + 1}:{_short(rest / per_beat + 1)}"


def write_clock(seconds: Fraction) -> str:
    """``"1:05.25"``: minutes and seconds to the millisecond, without trailing zeros."""
    millis = round(seconds * 1000)
    minutes, rest = divmod(millis, 60_000)
    whole, fraction = divmod(rest, 1000)
    tail = f".{fraction:03d}".rstrip("0") if fraction else ""
    return f"{minutes}:{whole:02d}{tail}"


def _short(value: Fraction) -> str:
    """A number with at most 3 decimals, without trailing zeros."""
    text = f"{float(value):.3f}".rstrip("0").rstrip(".")
    return text or "0"
