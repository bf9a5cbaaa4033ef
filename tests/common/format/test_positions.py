"""Positions as a musician writes them: bar:beat in the meter, m:ss through the tempo map, read
into beats and written back."""

from __future__ import annotations

from fractions import Fraction

import pytest

from common.format.positions import PositionError, read_position, write_bar_beat, write_clock
from common.timing.tempo import TempoMap

# 120 bpm for 8 beats (4 s), then 60 bpm: beat 10 is at 6 s.
TEMPO = TempoMap(120, [(8, 60)])


@pytest.mark.parametrize(
    ("text", "meter", "beat"),
    [
        ("1:1", (4, 4), 0),
        ("9:1", (4, 4), 32),
        ("8:3", (4, 4), 30),
        ("3", (4, 4), 8),  # a bar alone is its first beat
        ("2:2.5", (4, 4), Fraction(11, 2)),
        ("2:1", (6, 8), 3),  # a bar of 6/8 is three quarter notes
        ("1:4", (6, 8), Fraction(3, 2)),  # its beats are eighths
        ("2:1", (3, 4), 3),
    ],
)
def test_bar_beat_counts_from_one_in_the_meter(
    text: str, meter: tuple[int, int], beat: Fraction
) -> None:
    assert read_position(text, "bars", meter, TEMPO) == beat
    assert read_position(write_bar_beat(Fraction(beat), meter), "bars", meter, TEMPO) == beat


@pytest.mark.parametrize(
    ("text", "beat"), [("0:02", 4), ("0:04", 8), ("0:06", 10), ("1:00", 64), ("5", 9)]
)
def test_minutes_and_seconds_go_through_the_tempo_map(text: str, beat: int) -> None:
    assert read_position(text, "time", (4, 4), TEMPO) == beat


def test_clocks_are_written_to_the_millisecond() -> None:
    assert write_clock(Fraction(65)) == "1:05"
    assert write_clock(Fraction(1, 4)) == "0:00.25"
    assert write_clock(Fraction(180180, 30000)) == "0:06.006"


@pytest.mark.parametrize(
    ("text", "unit", "message"),
    [
        ("9.1", "bars", "expected bar:beat like 9:1 (4 beats a bar)"),
        ("0:1", "bars", "expected a bar from 1"),
        ("2:5", "bars", "expected a beat from 1 to 4 in the bar"),
        ("1:75", "time", "expected seconds below 60 after the minutes"),
        ("1:3:0", "time", "expected minutes:seconds like 1:30 or 0:12.5"),
        ("-1", "beats", "expected a beat number like 16 or 16.5"),
        ("1" * 40, "beats", "expected at most 32 characters"),
    ],
)
def test_a_position_that_cannot_be_read_says_the_form_expected(
    text: str, unit: str, message: str
) -> None:
    with pytest.raises(PositionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_position(text, unit, (4, 4), TEMPO)  # type: ignore[arg-type]
