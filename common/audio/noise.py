"""Tone.js ``Noise``: seeded 5-second stereo buffers of white, pink or brown noise, looped.

Tone.js fills each buffer once with ``Math.random()`` and starts every note at a random offset;
here the buffer's numbers come from a generator seeded by the project's seed and the track,
and each note's offset from :func:`common.scene.randomness.hash_uniform`, so renders repeat exactly.
Pink is Paul Kellet's refined filter and brown a leaky integrator, with Tone.js's gains.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from common.audio.iir import LinearFilter
from common.audio.units import FloatArray

NoiseType = Literal["white", "pink", "brown"]
BUFFER_SECONDS = 5.0
CHANNELS = 2

_PINK_POLES = (
    (0.99886, 0.0555179),
    (0.99332, 0.0750759),
    (0.96900, 0.1538520),
    (0.86650, 0.3104856),
    (0.55000, 0.5329522),
    (-0.7616, -0.0168980),
)


def noise_buffer(kind: NoiseType, sample_rate: int, seed: tuple[int, ...]) -> FloatArray:
    """``BUFFER_SECONDS`` of noise, shape (samples, 2), the same for the same seed."""
    length = round(BUFFER_SECONDS * sample_rate)
    rng = np.random.default_rng(list(seed))
    white = rng.random((length, CHANNELS)) * 2 - 1
    if kind == "white":
        return white
    if kind == "brown":
        # lastOut = (lastOut + 0.02 * white) / 1.02; out = lastOut * 3.5
        leaky = LinearFilter([0.02 / 1.02], [1.0, -1 / 1.02], CHANNELS)
        return leaky.process(white) * 3.5
    pink = white * 0.5362
    for pole, gain in _PINK_POLES:
        pink += LinearFilter([gain], [1.0, -pole], CHANNELS).process(white)
    pink[1:] += white[:-1] * 0.115926  # b6 holds the previous white sample
    return pink * 0.11


def looped(buffer: FloatArray, offset: float, count: int, rate: float = 1.0) -> FloatArray:
    """``count`` samples read from ``offset`` (0..1 of the buffer) at ``rate``, wrapping around."""
    length = len(buffer)
    position = offset * length + np.arange(count) * rate
    if rate == 1.0:
        index = position.astype(np.intp) % length
        return buffer[index]
    base = np.floor(position)
    weight = (position - base)[:, None]
    first = base.astype(np.intp) % length
    out: FloatArray = buffer[first] * (1 - weight) + buffer[(first + 1) % length] * weight
    return out
