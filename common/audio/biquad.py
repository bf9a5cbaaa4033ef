"""Biquad coefficients as the Web Audio ``BiquadFilterNode`` computes them (Tone.js's Filter).

The Audio EQ Cookbook (Robert Bristow-Johnson) formulas in the Web Audio spec's variant: for
lowpass and highpass, Q is a resonance in dB; for the other types it is the linear quality
factor; shelves use slope S = 1. Vectorised: the frequency may be an array (swept filters).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from common.audio.units import FloatArray

FilterType = Literal[
    "lowpass", "highpass", "bandpass", "lowshelf", "highshelf", "notch", "allpass", "peaking"
]
Coefficients = tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]
"""b0, b1, b2, a1, a2, normalised so that a0 = 1."""

_LOWEST_HZ = 1e-2
_MIN_Q = 1e-4


def coefficients(
    kind: FilterType,
    frequency: float | FloatArray,
    q: float,
    gain_db: float,
    sample_rate: int,
) -> Coefficients:
    """The normalised biquad for ``kind`` at ``frequency`` Hz (clamped inside 0..Nyquist)."""
    nyquist = sample_rate / 2
    f0 = np.clip(np.asarray(frequency, dtype=np.float64), _LOWEST_HZ, nyquist * 0.9999)
    w0 = 2 * np.pi * f0 / sample_rate
    cos, sin = np.cos(w0), np.sin(w0)
    amp = 10.0 ** (gain_db / 40)
    alpha_db = sin / (2 * 10.0 ** (q / 20))
    alpha = sin / (2 * max(q, _MIN_Q))
    alpha_shelf = sin / 2 * np.sqrt(2.0)
    one = np.ones_like(w0)
    if kind == "lowpass":
        b = ((1 - cos) / 2, 1 - cos, (1 - cos) / 2)
        a = (1 + alpha_db, -2 * cos, 1 - alpha_db)
    elif kind == "highpass":
        b = ((1 + cos) / 2, -(1 + cos), (1 + cos) / 2)
        a = (1 + alpha_db, -2 * cos, 1 - alpha_db)
    elif kind == "bandpass":
        b = (alpha, 0 * one, -alpha)
        a = (1 + alpha, -2 * cos, 1 - alpha)
    elif kind == "notch":
        b = (one, -2 * cos, one)
        a = (1 + alpha, -2 * cos, 1 - alpha)
    elif kind == "allpass":
        b = (1 - alpha, -2 * cos, 1 + alpha)
        a = (1 + alpha, -2 * cos, 1 - alpha)
    elif kind == "peaking":
        b = (1 + alpha * amp, -2 * cos, 1 - alpha * amp)
        a = (1 + alpha / amp, -2 * cos, 1 - alpha / amp)
    elif kind == "lowshelf":
        root = 2 * np.sqrt(amp) * alpha_shelf
        b = (
            amp * ((amp + 1) - (amp - 1) * cos + root),
            2 * amp * ((amp - 1) - (amp + 1) * cos),
            amp * ((amp + 1) - (amp - 1) * cos - root),
        )
        a = (
            (amp + 1) + (amp - 1) * cos + root,
            -2 * ((amp - 1) + (amp + 1) * cos),
            (amp + 1) + (amp - 1) * cos - root,
        )
    elif kind == "highshelf":
        root = 2 * np.sqrt(amp) * alpha_shelf
        b = (
            amp * ((amp + 1) + (amp - 1) * cos + root),
            -2 * amp * ((amp - 1) + (amp + 1) * cos),
            amp * ((amp + 1) + (amp - 1) * cos - root),
        )
        a = (
            (amp + 1) - (amp - 1) * cos + root,
            2 * ((amp - 1) - (amp + 1) * cos),
            (amp + 1) - (amp - 1) * cos - root,
        )
    else:
        raise ValueError(f"unknown filter type {kind!r}")
    a0 = a[0]
    return (b[0] / a0, b[1] / a0, b[2] / a0, a[1] / a0, a[2] / a0)


def ba(
    kind: FilterType, frequency: float, q: float, gain_db: float, sample_rate: int
) -> tuple[list[float], list[float]]:
    """One fixed biquad as (b, a) lists for :class:`common.audio.iir.LinearFilter`."""
    b0, b1, b2, a1, a2 = (float(c) for c in coefficients(kind, frequency, q, gain_db, sample_rate))
    return [b0, b1, b2], [1.0, a1, a2]
