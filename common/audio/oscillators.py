"""Tone.js oscillators as sample arrays: band-limited basic waves, partials, and fm/am/fat/pulse.

Phases are in cycles and start at 0 on the note-on (Tone.js starts a fresh oscillator per note).
Every wave is what a browser plays for Tone.js: the Fourier series of the Web Audio definitions
(square and sawtooth rise from 0, the triangle peaks at a quarter cycle), ``partials`` or a
partial count (``"square4"``), shifted by ``phase`` and normalised to peak 1 like a
PeriodicWave, read as Chromium reads them: from its band-limited single-cycle tables (three per
octave) chosen per sample by the instantaneous frequency, clamped to +-Nyquist, so even a swept
or frequency-modulated wave has no partial above Nyquist. Pulse and PWM waves (thresholded, not
tabulated in Tone.js either) use PolyBLEP.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from common.audio.units import FloatArray, cents_to_ratio, db_to_gain
from common.format.instruments import OscillatorOptions

_TYPE = re.compile(
    r"^(?P<prefix>am|fm|fat)?(?P<base>sine|square|sawtooth|triangle|custom)(?P<count>\d+)?$"
)
MAX_PARTIALS = 2047
OCTAVE_BANDS = 3
"""Chromium's PeriodicWave keeps a band-limited table per third of an octave."""

Frequency = float | FloatArray
"""Hz: a constant, or one value per sample (sweeps, FM)."""


@dataclass(frozen=True)
class Wave:
    """One basic waveform: a Tone.js ``Oscillator`` (type, partials, phase in degrees)."""

    base: str = "sine"
    partial_count: int = 0
    partials: tuple[float, ...] = ()
    phase: float = 0.0

    @classmethod
    def parse(cls, type_name: str, partials: tuple[float, ...] = (), phase: float = 0.0) -> Wave:
        match = _TYPE.match(type_name)
        base = match["base"] if match else "sine"
        count = int(match["count"]) if match and match["count"] else 0
        if partials:
            base = "custom"
        return cls(base, count, tuple(partials), phase)


def nominal(frequency: Frequency, sample_rate: int) -> Frequency:
    """``frequency`` clamped to an OscillatorNode's nominal range, -Nyquist..Nyquist.

    Web Audio clamps every a-rate param's computed value (its own plus what is connected to
    it) to that range, so an FM carrier swung past Nyquist advances half a cycle per sample.
    """
    nyquist = sample_rate / 2
    if isinstance(frequency, float | int):
        return min(max(float(frequency), -nyquist), nyquist)
    return np.clip(np.asarray(frequency, dtype=np.float64), -nyquist, nyquist)


def phase_cycles(frequency: Frequency, count: int, sample_rate: int) -> FloatArray:
    """Accumulated phase in cycles at each sample, 0 at sample 0 (at the clamped frequency)."""
    frequency = nominal(frequency, sample_rate)
    if isinstance(frequency, float | int):
        return np.arange(count, dtype=np.float64) * (frequency / sample_rate)
    steps = np.asarray(frequency, dtype=np.float64)[: count - 1] / sample_rate
    return np.concatenate([[0.0], np.cumsum(steps)])


def _increment(frequency: Frequency, count: int, sample_rate: int) -> FloatArray:
    """|cycles per sample| at each sample (at the clamped frequency)."""
    dt = np.abs(np.asarray(nominal(frequency, sample_rate), dtype=np.float64)) / sample_rate
    return np.broadcast_to(dt, (count,))


def _frac(x: FloatArray) -> FloatArray:
    return x - np.floor(x)


def _blep(t: FloatArray, dt: FloatArray) -> FloatArray:
    """PolyBLEP residual of a step of +2 at t = 0 (t in cycles, 0..1, width dt)."""
    width = np.maximum(dt, 1e-12)
    after = t / width
    before = (t - 1) / width
    out = np.where(t < width, 2 * after - after * after - 1, 0.0)
    return np.where(t > 1 - width, before * before + 2 * before + 1, out)


def pulse(phase: FloatArray, dt: FloatArray, rise: FloatArray, fall: FloatArray) -> FloatArray:
    """A PolyBLEP pulse: +1 from phase ``rise`` to ``fall`` (cycles, mod 1), else -1."""
    t = _frac(phase)
    high = _frac(t - rise) < _frac(fall - rise)
    wave = np.where(high, 1.0, -1.0) + _blep(_frac(t - rise), dt) - _blep(_frac(t - fall), dt)
    return np.where(dt < 0.5, wave, 0.0)


def partial_amplitudes(wave: Wave) -> FloatArray:
    """Sine amplitudes b_n (n = 1..N) of Tone.js ``Oscillator._getRealImaginary``."""
    if wave.base == "custom":
        return np.asarray(wave.partials[:MAX_PARTIALS], dtype=np.float64)
    count = min(wave.partial_count or MAX_PARTIALS, MAX_PARTIALS)
    n = np.arange(1, count + 1, dtype=np.float64)
    odd = n % 2 == 1
    if wave.base == "sine":
        return np.where(n == 1, 1.0, 0.0)
    if wave.base == "square":
        return np.where(odd, 4 / (n * np.pi), 0.0)
    if wave.base == "sawtooth":
        return np.where(odd, 1.0, -1.0) * 2 / (n * np.pi)
    if wave.base == "triangle":
        sign = np.where((n - 1) % 4 == 0, 1.0, -1.0)
        return np.where(odd, 8 / (n * np.pi) ** 2 * sign, 0.0)
    raise ValueError(f"unknown wave {wave.base!r}")


def wave_size(sample_rate: int) -> int:
    """Chromium's ``PeriodicWaveImpl::PeriodicWaveSize``: the table length at a sample rate."""
    if sample_rate <= 24000:
        return 2048
    return 4096 if sample_rate <= 88200 else 16384


@functools.lru_cache(maxsize=64)
def _tables(
    base: str, partial_count: int, partials: tuple[float, ...], size: int
) -> tuple[FloatArray, FloatArray]:
    """Chromium's band-limited tables of a ``PeriodicWave``: 3 pitch ranges per octave.

    Range r keeps partials 1..floor(size/2 * 2^(-r/3)) (none in the top ones); all are scaled
    by the peak of range 0, the full-band wave (Web Audio normalises a PeriodicWave to peak 1).
    Shape (ranges, size + 1): the last sample repeats the first, for interpolation. Returned
    with each sample's step to the next (the interpolation's slope; 0 in the last column).
    """
    half = size // 2
    amplitudes = partial_amplitudes(Wave(base, partial_count, partials))[: half - 1]
    spectrum = np.zeros(half + 1, dtype=np.complex128)
    spectrum[1 : len(amplitudes) + 1] = -0.5j * size * amplitudes
    stack = np.zeros((_ranges(size), size + 1))
    scale = 0.0
    for r in range(len(stack)):
        band = spectrum.copy()
        band[int(2.0 ** (-r / OCTAVE_BANDS) * half) + 1 :] = 0
        cycle = np.fft.irfft(band, size)
        if r == 0:
            peak = float(np.max(np.abs(cycle)))
            scale = 1.0 / peak if peak > 0 else 0.0
        stack[r, :size] = cycle * scale
        stack[r, size] = cycle[0] * scale
    slopes = np.zeros_like(stack)
    slopes[:, :-1] = np.diff(stack, axis=1)
    return stack, slopes


def _ranges(size: int) -> int:
    return int(0.5 + OCTAVE_BANDS * math.log2(size))


def _pitch_ranges(
    frequency: Frequency, count: int, sample_rate: int, size: int
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], FloatArray]:
    """``WaveDataForFundamentalFrequency``: per sample, the tables with more and fewer partials
    and the weight of the latter. The range is rounded up by one, so a partial fades out over
    the third of an octave before it would reach Nyquist (a clamped carrier is silent)."""
    hertz = np.abs(np.broadcast_to(np.asarray(nominal(frequency, sample_rate)), (count,)))
    lowest = sample_rate / 2 / (size // 2)
    with np.errstate(divide="ignore"):
        ratio = np.where(hertz > 0, hertz / lowest, 0.5)
    top = _ranges(size) - 1
    pitch = np.clip(1 + OCTAVE_BANDS * np.log2(ratio), 0.0, top)
    higher = pitch.astype(np.intp)
    return higher, np.minimum(higher + 1, top), pitch - higher


def _pitch_range(hertz: float, sample_rate: int, size: int) -> tuple[int, int, float]:
    """:func:`_pitch_ranges` for one frequency."""
    hertz = abs(float(nominal(hertz, sample_rate)))
    ratio = hertz / (sample_rate / 2 / (size // 2)) if hertz > 0 else 0.5
    top = _ranges(size) - 1
    pitch = min(max(1 + OCTAVE_BANDS * math.log2(ratio), 0.0), float(top))
    higher = int(pitch)
    return higher, min(higher + 1, top), pitch - higher


def render_wave(wave: Wave, frequency: Frequency, count: int, sample_rate: int) -> FloatArray:
    """One Tone.js ``Oscillator`` at ``frequency`` for ``count`` samples, as Chromium plays it.

    Reads the two band-limited tables of each sample's (instantaneous) pitch range, each with
    linear interpolation, and blends them by where the pitch lies in its range. Stretches of
    constant frequency (most notes) read one blended row; swept or modulated ones, per sample.
    """
    size = wave_size(sample_rate)
    stack, slopes = _tables(wave.base, wave.partial_count, wave.partials, size)
    phase = phase_cycles(frequency, count, sample_rate) - wave.phase / 360.0
    position = _frac(phase) * size
    index = np.minimum(position.astype(np.intp), size - 1)
    weight = position - index
    if isinstance(frequency, float | int):
        return _read_row(stack, frequency, sample_rate, index, weight)
    hertz = np.asarray(frequency, dtype=np.float64)[:count]
    changes = np.flatnonzero(hertz[1:] != hertz[:-1]) + 1
    if len(changes) <= count // _RUN:
        out = np.empty(count)
        bounds = [0, *changes.tolist(), count]
        for start, stop in itertools.pairwise(bounds):
            run = slice(start, stop)
            out[run] = _read_row(stack, float(hertz[start]), sample_rate, index[run], weight[run])
        return out
    higher, lower, blend = _pitch_ranges(hertz, count, sample_rate, size)
    flat, slope = stack.ravel(), slopes.ravel()
    rich = higher * (size + 1) + index
    poor = lower * (size + 1) + index
    rich_value = flat[rich] + weight * slope[rich]
    poor_value = flat[poor] + weight * slope[poor]
    return np.asarray(rich_value + blend * (poor_value - rich_value), dtype=np.float64)


_RUN = 256
"""Average samples per stretch of constant frequency above which stretches are read row-wise."""


def _read_row(
    stack: FloatArray,
    hertz: float,
    sample_rate: int,
    index: npt.NDArray[np.intp],
    weight: FloatArray,
) -> FloatArray:
    """Samples at one frequency: its two tables blended once, then read with interpolation."""
    size = stack.shape[1] - 1
    higher, lower, blend = _pitch_range(hertz, sample_rate, size)
    row = stack[higher]
    if blend > 0:
        row = row + blend * (stack[lower] - row)
    return np.asarray(row[index] + weight * (row[index + 1] - row[index]), dtype=np.float64)


def render_oscillator(
    options: OscillatorOptions, frequency: Frequency, count: int, sample_rate: int
) -> FloatArray:
    """Tone.js ``OmniOscillator``: the type's prefix picks FM, AM, fat, pulse or PWM."""
    if options.mute:
        return np.zeros(count)
    gain = db_to_gain(options.volume)
    kind = options.type
    if kind in ("pulse", "pwm"):
        return gain * _pulse_family(options, frequency, count, sample_rate)
    match = _TYPE.match(kind)
    prefix = match["prefix"] if match else None
    wave = Wave.parse(kind.removeprefix(prefix or ""), options.partials, options.phase)
    if prefix == "fat":
        return gain * _fat(options, wave, frequency, count, sample_rate)
    if prefix in ("fm", "am"):
        modulation = Wave.parse(_strip_prefix(options.modulation_type), phase=options.phase)
        modulator_hz = np.asarray(frequency, dtype=np.float64) * options.harmonicity
        modulator = render_wave(modulation, modulator_hz, count, sample_rate)
        if prefix == "fm":
            carrier_hz = frequency * (1.0 + options.modulation_index * modulator)
            return gain * render_wave(wave, carrier_hz, count, sample_rate)
        return gain * render_wave(wave, frequency, count, sample_rate) * (modulator + 1) / 2
    return gain * render_wave(wave, frequency, count, sample_rate)


def _strip_prefix(type_name: str) -> str:
    match = _TYPE.match(type_name)
    if match and match["prefix"]:
        return type_name.removeprefix(match["prefix"])
    return type_name


def _fat(
    options: OscillatorOptions, wave: Wave, frequency: Frequency, count: int, sample_rate: int
) -> FloatArray:
    """``FatOscillator``: ``count`` copies detuned evenly across ``spread`` cents."""
    voices = options.count
    level = db_to_gain(-6 - voices * 1.1)
    out = np.zeros(count)
    for i in range(voices):
        cents = -options.spread / 2 + options.spread / (voices - 1) * i if voices > 1 else 0.0
        copy = Wave(wave.base, wave.partial_count, wave.partials, wave.phase + i / voices * 360)
        out += render_wave(copy, frequency * cents_to_ratio(cents), count, sample_rate)
    return out * level


def _pulse_family(
    options: OscillatorOptions, frequency: Frequency, count: int, sample_rate: int
) -> FloatArray:
    """``PulseOscillator`` (fixed width) and ``PWMOscillator`` (width swept by a slow sine)."""
    phase = phase_cycles(frequency, count, sample_rate) - options.phase / 360.0
    dt = _increment(frequency, count, sample_rate)
    if options.type == "pulse":
        # sawtooth + width through a sign: high where the sawtooth exceeds -width
        rise = np.full(count, -options.width / 2)
        return pulse(phase, dt, rise, np.full(count, 0.5))
    # PWMOscillator: sign(2 sin(2 pi f t) + sin(2 pi f_mod t)): high where sin > -m/2
    slow = np.sin(2 * np.pi * options.modulation_frequency * np.arange(count) / sample_rate)
    edge = np.arcsin(np.clip(-slow / 2, -1, 1)) / (2 * math.pi)
    return pulse(phase, dt, edge, 0.5 - edge)
