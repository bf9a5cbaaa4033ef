"""The seed's NodeTimeManager without a browser or wall clock: a transport position on a tempo map.

The renderer never asks "what time is it now"; it asks "where is frame N", so the clock is a
position you seek, not a timer that runs.
"""

from __future__ import annotations

from fractions import Fraction

from common.exact import Rational, to_fraction
from common.tempo import TempoMap


class BeatClock:
    """A seekable song position (in beats) over a :class:`TempoMap`."""

    __slots__ = ("_beat", "_tempo")

    def __init__(self, tempo: TempoMap | Rational = 120, beat: Rational = 0) -> None:
        self._tempo = tempo if isinstance(tempo, TempoMap) else TempoMap(tempo)
        self._beat = to_fraction(beat)

    @property
    def tempo_map(self) -> TempoMap:
        return self._tempo

    def set_bpm(self, bpm: Rational) -> None:
        """Set the tempo from beat 0 (later tempo changes stay); the position stays on its beat."""
        self._tempo = self._tempo.with_initial_bpm(bpm)

    def get_bpm(self) -> Fraction:
        """The tempo in force at the current position."""
        return self._tempo.bpm_at(self._beat)

    def seek_to(self, beat: Rational) -> None:
        self._beat = to_fraction(beat)

    def seek_to_time(self, seconds: Rational) -> None:
        self._beat = self._tempo.time_to_beat(seconds)

    def get_current_beat(self) -> Fraction:
        return self._beat

    def get_current_time(self) -> Fraction:
        """Seconds from beat 0 to the current position."""
        return self._tempo.beat_to_time(self._beat)

    def beat_to_time(self, beat: Rational) -> Fraction:
        return self._tempo.beat_to_time(beat)

    def time_to_beat(self, seconds: Rational) -> Fraction:
        return self._tempo.time_to_beat(seconds)
