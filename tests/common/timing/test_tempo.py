"""The tempo map converts beats and seconds exactly, invertibly and continuously."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from common.timing.tempo import TempoMap

bpms = st.fractions(min_value=Fraction(20), max_value=Fraction(400), max_denominator=100)
beats = st.fractions(min_value=Fraction(0), max_value=Fraction(10_000), max_denominator=1000)


@st.composite
def tempo_maps(draw: st.DrawFn) -> TempoMap:
    starts = sorted(set(draw(st.lists(beats.filter(lambda b: b > 0), max_size=6))))
    return TempoMap(draw(bpms), [(b, draw(bpms)) for b in starts])


def test_constant_tempo_is_sixty_over_bpm_per_beat() -> None:
    tempo = TempoMap(120)
    assert tempo.beat_to_time(4) == 2
    assert tempo.time_to_beat(Fraction(1, 2)) == 1


def test_a_change_takes_effect_from_its_beat() -> None:
    tempo = TempoMap(120, [(32, 140)])
    assert tempo.beat_to_time(32) == 16
    assert tempo.beat_to_time(46) == 16 + Fraction(14 * 60, 140)  # 14 beats at 140 = 6 s
    assert tempo.bpm_at(31) == 120
    assert tempo.bpm_at(32) == 140


def test_float_inputs_are_read_as_the_decimals_they_print_as() -> None:
    tempo = TempoMap(128.5)
    assert tempo.beat_to_time(0.1) == Fraction(1, 10) * 60 / Fraction(257, 2)


def test_changes_must_strictly_increase() -> None:
    with pytest.raises(ValueError, match="strictly increasing"):
        TempoMap(120, [(8, 100), (8, 90)])


@pytest.mark.parametrize("bpm", [0, -5])
def test_bpm_must_be_positive(bpm: int) -> None:
    with pytest.raises(ValueError, match="bpm must be > 0"):
        TempoMap(bpm)


@given(tempo_maps(), beats)
def test_beat_time_round_trip_is_exact(tempo: TempoMap, beat: Fraction) -> None:
    assert tempo.time_to_beat(tempo.beat_to_time(beat)) == beat


@given(tempo_maps(), beats, beats)
def test_time_is_strictly_monotonic_in_beats(tempo: TempoMap, a: Fraction, b: Fraction) -> None:
    if a < b:
        assert tempo.beat_to_time(a) < tempo.beat_to_time(b)


@given(tempo_maps())
def test_time_is_continuous_at_every_change(tempo: TempoMap) -> None:
    tiny = Fraction(1, 10**9)
    for segment in tempo.segments[1:]:
        before = tempo.beat_to_time(segment.beat - tiny)
        at = tempo.beat_to_time(segment.beat)
        assert at == segment.time
        # just before the change the old tempo rules: the gap is tiny * seconds-per-beat(old)
        previous = tempo.segment_at_beat(segment.beat - tiny)
        assert at - before == tiny * previous.seconds_per_beat


@given(tempo_maps(), st.fractions(min_value=0, max_value=5000, max_denominator=1000))
def test_seconds_round_trip_is_exact(tempo: TempoMap, seconds: Fraction) -> None:
    assert tempo.beat_to_time(tempo.time_to_beat(seconds)) == seconds


def test_before_beat_zero_extrapolates_the_first_tempo() -> None:
    assert TempoMap(60, [(4, 120)]).beat_to_time(-2) == -2
