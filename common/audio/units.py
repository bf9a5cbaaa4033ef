"""Unit conversions shared by the audio modules (decibels, MIDI pitch, cents, equal power)."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def db_to_gain(decibels: float) -> float:
    """A level in dB as a gain factor (0 dB = 1)."""
    return float(10.0 ** (decibels / 20.0))


def midi_to_hz(pitch: float) -> float:
    """Equal temperament, A4 (MIDI 69) = 440 Hz, as Tone.js's ``Frequency``."""
    return float(440.0 * 2.0 ** ((pitch - 69.0) / 12.0))


def cents_to_ratio(cents: float) -> float:
    """A detune in cents as a frequency ratio."""
    return float(2.0 ** (cents / 1200.0))


def equal_power(fade: float) -> tuple[float, float]:
    """Tone.js ``CrossFade`` gains (a, b) for fade 0..1: cos and sin of fade * pi/2."""
    angle = fade * math.pi / 2
    return math.cos(angle), math.sin(angle)


def samples(seconds: float, sample_rate: int) -> int:
    """Whole samples covering ``seconds`` (at least 1)."""
    return max(1, math.ceil(seconds * sample_rate))
