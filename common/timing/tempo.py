"""The tempo map: exact, invertible beat <-> seconds conversion across piecewise-constant tempo."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

from common.timing.exact import Rational, to_fraction

SECONDS_PER_MINUTE = Fraction(60)


@dataclass(frozen=True, slots=True)
class TempoSegment:
    """A stretch of constant tempo starting at ``beat`` (and, equivalently, at ``time`` seconds)."""

    beat: Fraction
    bpm: Fraction
    time: Fraction

    @property
    def seconds_per_beat(self) -> Fraction:
        return SECONDS_PER_MINUTE / self.bpm


class TempoMap:
    """Beat 0 plays at ``bpm``; each change sets a new tempo from its beat on.

    Every conversion is exact (``Fraction``), so ``time_to_beat(beat_to_time(b)) == b`` holds for
    every b and nothing accumulates error over a long song. Positions before beat 0 extrapolate
    the first tempo (useful for pre-roll).
    """

    __slots__ = ("_beats", "_segments", "_times")

    def __init__(self, bpm: Rational, changes: Iterable[tuple[Rational, Rational]] = ()) -> None:
        first_bpm = _positive_bpm(bpm)
        segments = [TempoSegment(Fraction(0), first_bpm, Fraction(0))]
        for raw_beat, raw_bpm in changes:
            beat, new_bpm = to_fraction(raw_beat), _positive_bpm(raw_bpm)
            last = segments[-1]
            if beat <= last.beat:
                raise ValueError(
                    f"tempo changes must be at strictly increasing beats > 0, got {beat} "
                    f"after {last.beat}"
                )
            time = last.time + (beat - last.beat) * last.seconds_per_beat
            segments.append(TempoSegment(beat, new_bpm, time))
        self._segments = tuple(segments)
        self._beats = tuple(s.beat for s in segments)
        self._times = tuple(s.time for s in segments)

    @property
    def segments(self) -> tuple[TempoSegment, ...]:
        return self._segments

    def segment_at_beat(self, beat: Rational) -> TempoSegment:
        index = max(bisect_right(self._beats, to_fraction(beat)) - 1, 0)
        return self._segments[index]

    def segment_at_time(self, seconds: Rational) -> TempoSegment:
        index = max(bisect_right(self._times, to_fraction(seconds)) - 1, 0)
        return self._segments[index]

    def bpm_at(self, beat: Rational) -> Fraction:
        return self.segment_at_beat(beat).bpm

    def beat_to_time(self, beat: Rational) -> Fraction:
        """Seconds from beat 0 to ``beat``."""
        b = to_fraction(beat)
        segment = self.segment_at_beat(b)
        return segment.time + (b - segment.beat) * segment.seconds_per_beat

    def time_to_beat(self, seconds: Rational) -> Fraction:
        """The beat playing ``seconds`` after beat 0; the exact inverse of :meth:`beat_to_time`."""
        t = to_fraction(seconds)
        segment = self.segment_at_time(t)
        return segment.beat + (t - segment.time) / segment.seconds_per_beat

    def with_initial_bpm(self, bpm: Rational) -> TempoMap:
        """The same changes with a different tempo from beat 0."""
        return TempoMap(bpm, ((s.beat, s.bpm) for s in self._segments[1:]))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TempoMap) and self._segments == other._segments

    def __hash__(self) -> int:
        return hash(self._segments)

    def __repr__(self) -> str:
        changes = ", ".join(f"{s.beat}:{s.bpm}" for s in self._segments[1:])
        return f"TempoMap(bpm={self._segments[0].bpm}, changes=[{changes}])"


def _positive_bpm(value: Rational) -> Fraction:
    bpm = to_fraction(value)
    if bpm <= 0:
        raise ValueError(f"bpm must be > 0, got {bpm}")
    return bpm
