"""Frame <-> time for integer or rational frame rates, exact, computed from the index."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction

from common.timing.exact import Rational, to_fraction

FPS_DIGITS = 6
"""Most digits of an fps string's numerator and of its denominator ("120000/1001" fits)."""
FPS_PATTERN = rf"^[0-9]{{1,{FPS_DIGITS}}}(/[0-9]{{1,{FPS_DIGITS}}})?$"
_RATIONAL = re.compile(rf"([0-9]{{1,{FPS_DIGITS}}})(?:/([0-9]{{1,{FPS_DIGITS}}}))?")


def parse_fps(value: int | float | str | Fraction) -> Fraction:
    """``60``, ``29.97``, ``"30000/1001"`` or ``"60"`` as an exact positive rate."""
    if isinstance(value, str):
        match = _RATIONAL.fullmatch(value)
        if not match:
            raise ValueError(
                f"fps must be a number or 'N/D' with at most {FPS_DIGITS} digits each, "
                f"got {value!r}"
            )
        numerator, denominator = int(match[1]), int(match[2] or 1)
        if denominator == 0:
            raise ValueError("fps denominator must not be 0")
        fps = Fraction(numerator, denominator)
    else:
        fps = to_fraction(value)
    if fps <= 0:
        raise ValueError(f"fps must be > 0, got {fps}")
    return fps


@dataclass(frozen=True, slots=True)
class FrameTimeline:
    """Frames ``0..count-1`` of an export: frame i shows the song at ``start + i / fps`` seconds."""

    start: Fraction
    end: Fraction
    fps: Fraction

    @classmethod
    def between(
        cls, start_seconds: Rational, end_seconds: Rational, fps: Rational
    ) -> FrameTimeline:
        start, end = to_fraction(start_seconds), to_fraction(end_seconds)
        if end <= start:
            raise ValueError(f"end ({end}) must be after start ({start})")
        return cls(start, end, parse_fps(fps) if isinstance(fps, str) else to_fraction(fps))

    @property
    def count(self) -> int:
        """Frames needed to cover [start, end): the last one starts before ``end``."""
        return math.ceil((self.end - self.start) * self.fps)

    @property
    def duration(self) -> Fraction:
        """The video's length: ``count / fps`` (may pass ``end`` by less than one frame)."""
        return self.count / self.fps

    def time_of(self, frame: int) -> Fraction:
        """Song time of a frame, from its index: never accumulated, so never drifts."""
        return self.start + frame / self.fps

    def frame_at(self, seconds: Rational) -> int:
        """The frame showing ``seconds`` (the last one starting at or before it)."""
        return math.floor((to_fraction(seconds) - self.start) * self.fps)
