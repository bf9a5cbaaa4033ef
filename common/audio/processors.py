"""Tone.js effects as streaming processors: each keeps its state between consecutive blocks.

A track's signal goes through its effects block by block (absolute sample positions are
passed along for LFOs), so a long song never needs a whole-song buffer per effect. Effects with
``wet`` mix equal-power like Tone.js's ``CrossFade``: dry * cos(wet * pi/2) + wet * sin(...).
A mono signal stays mono until an effect makes it stereo (Reverb's two-channel impulse
response, Chorus's two delay lines).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from common.audio.biquad import ba
from common.audio.iir import LinearFilter
from common.audio.units import FloatArray, cents_to_ratio, db_to_gain, equal_power
from common.format.effects import (
    ChorusOptions,
    DistortionOptions,
    DistortionSpec,
    EffectSpec,
    FeedbackDelaySpec,
    FilterSpec,
    GainSpec,
    ReverbOptions,
    ReverbSpec,
)
from common.format.envelope import Envelope
from common.format.instruments import tone_seconds

SILENT = 1e-5
"""Tails are counted until a repeat or a ring has decayed below this (-100 dB)."""
RENDER_QUANTUM = 128
"""Web Audio clamps a delay inside a feedback loop to at least one render quantum."""
CASCADE = {-12: 1, -24: 2, -48: 3, -96: 4}
CURVE_LENGTH = 4096


class Effect(ABC):
    """One effect of a track's chain."""

    def __init__(self, channels: int, wet: float = 1.0) -> None:
        self.channels_in = channels
        self.channels_out = channels
        self.tail = 0  # samples the effect keeps sounding after its input falls silent
        self.mix = (0.0, 1.0) if wet == 1 else (1.0, 0.0) if wet == 0 else equal_power(wet)

    def process(self, x: FloatArray, start: int) -> FloatArray:
        """Samples [start, start + len(x)) of the effect's output, shape (len(x), channels_out)."""
        dry, wet = self.mix
        if wet == 0:
            return np.broadcast_to(x, (len(x), self.channels_out)).copy()
        out = self.wet(x, start)
        return out * wet + x * dry if dry else out

    @abstractmethod
    def wet(self, x: FloatArray, start: int) -> FloatArray:
        """The effect's own output (before the dry/wet mix)."""

    def reset(self) -> None:  # noqa: B027 (stateless effects have nothing to forget)
        """Forget all state (the input has been silent for longer than ``tail``)."""


class Gain(Effect):
    def __init__(self, channels: int, factor: float) -> None:
        super().__init__(channels)
        self.factor = factor

    def wet(self, x: FloatArray, start: int) -> FloatArray:
        return x * self.factor


class Filter(Effect):
    """Tone.js ``Filter``: 1-4 identical biquads in series for rolloff -12/-24/-48/-96 dB/oct."""

    def __init__(self, channels: int, options: FilterSpec, sample_rate: int) -> None:
        super().__init__(channels)
        p = options.params
        hertz = p.frequency * cents_to_ratio(p.detune)
        b, a = ba(p.type, hertz, p.q, p.gain, sample_rate)
        self.stages = [LinearFilter(b, a, channels) for _ in range(CASCADE[p.rolloff])]
        self.tail = sum(stage.ring_samples(SILENT) for stage in self.stages)

    def wet(self, x: FloatArray, start: int) -> FloatArray:
        for stage in self.stages:
            x = stage.process(x)
        return x

    def reset(self) -> None:
        for stage in self.stages:
            stage.reset()


class FeedbackDelay(Effect):
    """``FeedbackDelay``: wet[n] = x[n - D] + feedback * wet[n - D - 128].

    Tone wires the delay's output back to its input through a gain; Web Audio runs such a cycle
    one render quantum late, so each pass adds 128 samples: echoes at D, 2D + 128, 3D + 256 (as
    heard in the app). A delay inside a cycle is also at least one quantum long.
    """

    def __init__(
        self, channels: int, options: FeedbackDelaySpec, sample_rate: int, seconds_per_beat: float
    ) -> None:
        p = options.params
        super().__init__(channels, p.wet)
        seconds = min(tone_seconds(p.delay_time, seconds_per_beat), p.max_delay)
        delay = max(round(seconds * sample_rate), 1)
        if p.feedback > 0:
            delay = max(delay, RENDER_QUANTUM)
        self.delay, self.feedback = delay, p.feedback
        self.loop = delay + RENDER_QUANTUM  # from one echo to the next
        self.dry_history = np.zeros((delay, channels))
        self.history = np.zeros((self.loop, channels))
        repeats = math.ceil(math.log(SILENT) / math.log(p.feedback)) if p.feedback > 0 else 0
        self.tail = delay + self.loop * repeats

    def wet(self, x: FloatArray, start: int) -> FloatArray:
        loop, count = self.loop, len(x)
        delayed = np.concatenate([self.dry_history, x])  # delayed[n] = x[n - D]
        w = np.concatenate([self.history, np.empty((count, self.channels_in))])
        for begin in range(0, count, loop):
            end = min(begin + loop, count)
            w[loop + begin : loop + end] = delayed[begin:end] + self.feedback * w[begin:end]
        self.dry_history = delayed[count:].copy()
        self.history = w[count:].copy()
        return w[loop:].copy()

    def reset(self) -> None:
        self.dry_history[:] = 0.0
        self.history[:] = 0.0


def reverb_impulse(
    options: ReverbOptions, sample_rate: int, seconds_per_beat: float, seed: Sequence[int]
) -> FloatArray:
    """Tone.js ``Reverb``'s impulse response, normalised like a Web Audio ConvolverNode.

    Two channels of white noise under a gain that is 0 until ``preDelay`` and then falls from 1
    to 0 over ``decay`` (``exponentialApproachValueAtTime``); ``decay + preDelay`` long.
    """
    pre_delay = tone_seconds(options.pre_delay, seconds_per_beat)
    length = max(1, round((options.decay + pre_delay) * sample_rate))
    t = np.arange(length) / sample_rate - pre_delay
    fall = Envelope(attack=0.0, decay=options.decay, sustain=0.0, release=0.0).gate_level(t)
    gain = np.where(t >= 0, fall, 0.0)
    rng = np.random.default_rng(list(seed))
    impulse = (rng.random((length, 2)) * 2 - 1) * gain[:, None]
    # ConvolverNode.normalize (Web Audio spec, "calculateNormalizationScale")
    power = math.sqrt(float(np.sum(impulse**2)) / impulse.size)
    power = max(power, 0.000125)
    return impulse * (0.00125 / power * 44100 / sample_rate)


def fast_size(minimum: int) -> int:
    """The smallest 2^a 3^b 5^c >= minimum: an FFT length pocketfft handles quickly."""
    best = 1 << (minimum - 1).bit_length()
    fives = 1
    while fives < best:
        threes = fives
        while threes < best:
            size = threes << max(0, (minimum - 1) // threes).bit_length()
            best = min(best, size)
            threes *= 3
        fives *= 5
    return best


class Reverb(Effect):
    """Convolution with :func:`reverb_impulse`, overlap-add from block to block."""

    def __init__(
        self,
        channels: int,
        options: ReverbSpec,
        sample_rate: int,
        seconds_per_beat: float,
        seed: Sequence[int],
    ) -> None:
        super().__init__(channels, options.params.wet)
        self.channels_out = 2
        self.impulse = reverb_impulse(options.params, sample_rate, seconds_per_beat, seed)
        self.tail = len(self.impulse)
        self.overlap = np.zeros((len(self.impulse) - 1, 2))
        self._spectra: dict[int, npt.NDArray[np.complex128]] = {}

    def _spectrum(self, size: int) -> npt.NDArray[np.complex128]:
        if size not in self._spectra:
            self._spectra[size] = np.fft.rfft(self.impulse, size, axis=0)
        return self._spectra[size]

    def wet(self, x: FloatArray, start: int) -> FloatArray:
        count, length = len(x), len(self.impulse)
        size = fast_size(count + length - 1)
        spectrum = np.fft.rfft(x, size, axis=0) * self._spectrum(size)
        full = np.fft.irfft(spectrum, size, axis=0)[: count + length - 1]
        full[: length - 1] += self.overlap
        self.overlap = full[count:].copy()
        return full[:count]

    def reset(self) -> None:
        self.overlap[:] = 0.0


class Distortion(Effect):
    """``Distortion``: Tone.js's WaveShaper curve, 4096 points, linear interpolation."""

    def __init__(self, channels: int, options: DistortionOptions) -> None:
        super().__init__(channels, options.wet)
        k = options.distortion * 100
        self.grid = np.linspace(-1.0, 1.0, CURVE_LENGTH)
        deg = math.pi / 180
        shaped = (3 + k) * self.grid * 20 * deg / (math.pi + k * np.abs(self.grid))
        self.curve = np.where(np.abs(self.grid) < 0.001, 0.0, shaped)

    def wet(self, x: FloatArray, start: int) -> FloatArray:
        return np.interp(x, self.grid, self.curve)


def _lfo(kind: str, cycles: FloatArray) -> FloatArray:
    """An LFO waveform (-1..1) at phase ``cycles``, shaped like the audio oscillators."""
    t = cycles - np.floor(cycles)
    if kind == "sine":
        return np.sin(2 * np.pi * t)
    if kind == "square":
        return np.where(t < 0.5, 1.0, -1.0)
    if kind == "sawtooth":
        return 2 * ((t + 0.5) % 1.0) - 1
    return 4 * np.abs((t - 0.25) % 1.0 - 0.5) - 1


class Chorus(Effect):
    """``Chorus``: left and right delay lines swept by two LFOs ``spread`` degrees apart.

    Each delay moves between delayTime * (1 - depth) and delayTime * (1 + depth) at
    ``frequency``; the LFOs run from beat 0 of the song. With feedback, the delay is held at
    least one render quantum, as Web Audio does inside a loop.
    """

    def __init__(self, channels: int, options: ChorusOptions, sample_rate: int) -> None:
        super().__init__(channels, options.wet)
        self.channels_out = 2
        self.options, self.sample_rate = options, sample_rate
        centre = options.delay_time / 1000
        self.low = max(centre - centre * options.depth, 0.0) * sample_rate
        self.high = (centre + centre * options.depth) * sample_rate
        self.floor = float(RENDER_QUANTUM) if options.feedback > 0 else 1.0
        self.phases = np.array([90 - options.spread / 2, 90 + options.spread / 2]) / 360
        self.span = math.ceil(max(self.high, self.floor)) + 2
        self.history = np.zeros((self.span, 2))
        self.tail = self.span

    def wet(self, x: FloatArray, start: int) -> FloatArray:
        count, span = len(x), self.span
        source = np.broadcast_to(x, (count, 2))
        seconds = (start + np.arange(count)) / self.sample_rate
        cycles = seconds[:, None] * self.options.frequency - self.phases[None, :]
        swing = (_lfo(self.options.type, cycles) + 1) / 2
        delay = np.maximum(self.low + (self.high - self.low) * swing, self.floor)
        s = np.concatenate([self.history, np.zeros((count, 2))])
        position = span + np.arange(count)[:, None] - delay
        base = np.floor(position).astype(np.intp)
        weight = position - base
        columns = np.arange(2)[None, :]
        out = np.empty((count, 2))
        if self.options.feedback == 0:
            s[span:] = source
            out[:] = s[base, columns] * (1 - weight) + s[base + 1, columns] * weight
        else:
            for begin in range(0, count, RENDER_QUANTUM):
                end = min(begin + RENDER_QUANTUM, count)
                b, w = base[begin:end], weight[begin:end]
                out[begin:end] = s[b, columns] * (1 - w) + s[b + 1, columns] * w
                s[span + begin : span + end] = (
                    source[begin:end] + self.options.feedback * out[begin:end]
                )
        self.history = s[count:].copy()
        return out

    def reset(self) -> None:
        self.history[:] = 0.0


def build_chain(
    effects: Sequence[EffectSpec],
    channels: int,
    sample_rate: int,
    seconds_per_beat: float,
    seed: tuple[int, int],
) -> list[Effect]:
    """A track's effects in chain order; ``seed`` (project seed, track index) keys reverb noise."""
    chain: list[Effect] = []
    for position, spec in enumerate(effects):
        effect: Effect
        if isinstance(spec, GainSpec):
            p = spec.params
            convert = p.units == "decibels" and p.convert
            effect = Gain(channels, db_to_gain(p.gain) if convert else p.gain)
        elif isinstance(spec, FilterSpec):
            effect = Filter(channels, spec, sample_rate)
        elif isinstance(spec, FeedbackDelaySpec):
            effect = FeedbackDelay(channels, spec, sample_rate, seconds_per_beat)
        elif isinstance(spec, ReverbSpec):
            effect = Reverb(channels, spec, sample_rate, seconds_per_beat, (*seed, position, 3))
        elif isinstance(spec, DistortionSpec):
            effect = Distortion(channels, spec.params)
        else:
            effect = Chorus(channels, spec.params, sample_rate)
        chain.append(effect)
        channels = effect.channels_out
    return chain
