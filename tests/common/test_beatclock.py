"""The beat clock keeps the seed's NodeTimeManager API with no wall clock behind it."""

from __future__ import annotations

from fractions import Fraction

from common.beatclock import BeatClock
from common.tempo import TempoMap


def test_seek_and_read_position() -> None:
    clock = BeatClock(120)
    clock.seek_to(8)
    assert clock.get_current_beat() == 8
    assert clock.get_current_time() == 4
    assert clock.get_bpm() == 120


def test_set_bpm_keeps_the_beat_and_moves_the_time() -> None:
    clock = BeatClock(120, beat=8)
    clock.set_bpm(60)
    assert clock.get_current_beat() == 8
    assert clock.get_current_time() == 8
    assert clock.get_bpm() == 60


def test_set_bpm_keeps_later_tempo_changes() -> None:
    clock = BeatClock(TempoMap(120, [(16, 90)]))
    clock.set_bpm(100)
    clock.seek_to(20)
    assert clock.get_bpm() == 90
    assert clock.beat_to_time(16) == Fraction(16 * 60, 100)


def test_seek_to_time_is_the_inverse_of_get_current_time() -> None:
    clock = BeatClock(TempoMap(120, [(4, 60)]))
    clock.seek_to_time(Fraction(7, 2))
    assert clock.get_current_beat() == Fraction(11, 2)  # 4 beats in 2 s, then 1.5 beats at 60
    assert clock.get_current_time() == Fraction(7, 2)
    assert clock.time_to_beat(clock.beat_to_time(5)) == 5
