"""ADSR envelopes evaluated in closed form, the way Tone.js's ``Envelope`` schedules them.

Follows Tone.js ``Tone/component/envelope/Envelope.ts``: a linear attack ramps 0 -> 1; an
exponential segment is ``Param.exponentialApproachValueAtTime`` (``setTargetAtTime`` with time
constant ``ln(t + 1) / ln(200)`` until 90 % of the segment, then a linear ramp that lands exactly
on the target); decay runs only when ``decay > 0 and sustain < 1``; release starts from whatever
level the note had reached when its gate closed. Pure numpy, vectorised over notes and times, no
state: the level of any note at any time is computed directly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
Curve = Literal["linear", "exponential", "sine", "cosine", "bounce", "ripple", "step"]
CURVE_NAMES: tuple[Curve, ...] = (
    "linear",
    "exponential",
    "sine",
    "cosine",
    "bounce",
    "ripple",
    "step",
)
_CURVE_LENGTH = 128


def _curve_in(name: Curve) -> FloatArray:
    """The 128-point "In" (attack) curves Tone.js builds once at the bottom of Envelope.ts."""
    k = np.linspace(0.0, 1.0, _CURVE_LENGTH)
    if name == "cosine":
        return np.sin(k * math.pi / 2)
    if name == "sine":
        return 0.5 * (1 - np.cos(math.pi * k))
    if name == "step":
        return np.ceil(5 * k) / 5
    if name == "ripple":
        ripple = (np.sin(2 * math.pi * 6.4 * k - math.pi / 2) + 1) / 10 + 0.83 * k
        ripple[-1] = 1.0
        return ripple
    if name == "bounce":
        return 1 - _bounce_out(k)
    raise ValueError(f"no table for curve {name!r}")


def _bounce_out(k: FloatArray) -> FloatArray:
    return np.abs(np.cos((4 * k**3 + 0.2) * 2 * math.pi * k) * (1 - k))


def _curve_out(name: Curve) -> FloatArray:
    """The "Out" (release) curve: the In curve reversed, except bounce, which has its own."""
    if name == "bounce":
        return _bounce_out(np.linspace(0.0, 1.0, _CURVE_LENGTH))
    return _curve_in(name)[::-1].copy()


def _along(table: FloatArray, progress: FloatArray) -> FloatArray:
    """``setValueCurveAtTime``: linear interpolation through the table over progress 0..1."""
    return np.interp(progress * (_CURVE_LENGTH - 1), np.arange(_CURVE_LENGTH), table)


def approach_time_constant(ramp_seconds: float) -> float:
    """Tone.js ``exponentialApproachValueAtTime``: ``ln(rampTime + 1) / ln(200)``."""
    return math.log(ramp_seconds + 1.0) / math.log(200.0)


def _rise(progress_seconds: FloatArray, length: float, curve: Curve) -> FloatArray:
    """Fraction (0..1) of the way from start to target after ``progress_seconds`` of a segment."""
    if length <= 0:
        return np.ones_like(progress_seconds)
    x = np.clip(progress_seconds, 0.0, length)
    if curve == "linear":
        return x / length
    if curve == "exponential":
        tau = approach_time_constant(length)
        knee = 0.9 * length
        at_knee = 1.0 - math.exp(-knee / tau)
        tail = at_knee + (1.0 - at_knee) * (x - knee) / (length - knee)
        return np.where(x < knee, 1.0 - np.exp(-x / tau), tail)
    return _along(_curve_in(curve), x / length)


def _fall(progress_seconds: FloatArray, length: float, curve: Curve) -> FloatArray:
    """Fraction (1..0) of the starting level left after ``progress_seconds`` of a release."""
    if curve in ("linear", "exponential"):
        return 1.0 - _rise(progress_seconds, length, curve)
    if length <= 0:
        return np.zeros_like(progress_seconds)
    x = np.clip(progress_seconds, 0.0, length)
    fall = _along(_curve_out(curve), x / length)
    return np.where(progress_seconds >= length, 0.0, fall)


@dataclass(frozen=True, slots=True)
class Envelope:
    """Attack/decay/release in seconds, sustain as a level 0..1, and the shape of each segment."""

    attack: float
    decay: float
    sustain: float
    release: float
    attack_curve: Curve = "linear"
    decay_curve: Literal["linear", "exponential"] = "exponential"
    release_curve: Curve = "exponential"
    start: float = 0.0
    """The level the attack starts from (a monophonic re-trigger continues the last level)."""

    def retriggered(self, carry: float, velocity: float, sample_rate: int) -> Envelope:
        """This envelope for a note-on while the voice still sounds at ``carry`` (absolute).

        Tone's ``Envelope.triggerAttack``: from a current value c > 0 the attack lasts
        ``attack * (1 - c)`` and ramps from c to the velocity (set at once when that is under a
        sample); the decay follows as usual. Levels here are before velocity, so the start is
        ``c / velocity``.
        """
        if carry <= 0 or velocity <= 0:
            return self
        attack = self.attack * (1.0 - carry)
        if attack < 1.0 / sample_rate:
            attack = 0.0
        return replace(self, attack=attack, start=carry / velocity)

    def gate_level(self, elapsed: FloatArray) -> FloatArray:
        """Level while the gate is open, ``elapsed`` seconds after note-on (before release)."""
        elapsed = np.asarray(elapsed, dtype=np.float64)
        rise = _rise(elapsed, self.attack, self.attack_curve)
        attack_part = self.start + (1.0 - self.start) * rise if self.start else rise
        if self.decay > 0 and self.sustain < 1:
            into_decay = elapsed - self.attack
            decayed = 1.0 - (1.0 - self.sustain) * _rise(into_decay, self.decay, self.decay_curve)
        else:
            decayed = np.ones_like(elapsed)
        return np.where(elapsed < self.attack, attack_part, decayed)

    def level(self, elapsed: FloatArray, gate: FloatArray) -> FloatArray:
        """Level 0..1 at ``elapsed`` seconds after note-on for notes held ``gate`` seconds.

        Zero before the note and once the release has run out. Broadcasts over arrays.
        """
        elapsed = np.asarray(elapsed, dtype=np.float64)
        gate = np.broadcast_to(np.asarray(gate, dtype=np.float64), elapsed.shape)
        held = self.gate_level(elapsed)
        at_release = self.gate_level(gate)
        released = at_release * _fall(elapsed - gate, self.release, self.release_curve)
        level = np.where(elapsed < gate, held, released)
        return np.where(elapsed < 0, 0.0, level)

    @property
    def tail(self) -> float:
        """Seconds after note-off until the level is exactly 0 (the release length)."""
        return self.release
