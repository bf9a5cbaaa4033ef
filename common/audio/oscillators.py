"""Tone.js oscillators as sample arrays: band-limited basic waves, partials, and fm/am/fat/pulse.

Phases are in cycles and start at 0 on the note-on (Tone.js starts a fresh oscillator per note).
Every wave is what a browser plays for Tone.js: the Fourier series of the Web Audio definitions
(square and sawtooth rise from 0, the triangle peaks at a quarter cycle), ``partials`` or a
partial count (``"square4"``), shifted by ``phase`` and normalised to peak 1 like a
PeriodicWave, read from band-limited single-cycle tables chosen per sample by the instantaneous
frequency, so even a swept or frequency-modulated wave has no partial above Nyquist. Pulse and
PWM waves (thresholded, not tabulated in Tone.js either) use PolyBLEP.
"""

from __future__ import annotations

import functools
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
TABLE = 4096

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


def phase_cycles(frequency: Frequency, count: int, sample_rate: int) -> FloatArray:
    """Accumulated phase in cycles at each sample, 0 at sample 0."""
    if isinstance(frequency, float | int):
        return np.arange(count, dtype=np.float64) * (frequency / sample_rate)
    steps = np.asarray(frequency, dtype=np.float64)[: count - 1] / sample_rate
    return np.concatenate([[0.0], np.cumsum(steps)])


def _increment(frequency: Frequency, count: int, sample_rate: int) -> FloatArray:
    """|cycles per sample| at each sample."""
    dt = np.abs(np.asarray(frequency, dtype=np.float64)) / sample_rate
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


@functools.lru_cache(maxsize=64)
def _tables(
    base: str, partial_count: int, partials: tuple[float, ...]
) -> tuple[FloatArray, FloatArray]:
    """Band-limited single-cycle tables, a few per octave, like a browser's PeriodicWave.

    Returns (partial counts ascending, tables of shape (bands, TABLE + 1)); table j holds the
    partials up to counts[j], and its last sample repeats the first for interpolation. All are
    scaled by the peak of the full-band wave (Web Audio normalises a PeriodicWave to peak 1).
    """
    amplitudes = partial_amplitudes(Wave(base, partial_count, partials))
    counts = np.unique(np.minimum(np.floor(2.0 ** (np.arange(4 * 12) / 4)), TABLE // 2 - 1))
    counts = np.concatenate([[0.0], counts])
    spectrum = np.zeros(TABLE // 2 + 1, dtype=np.complex128)
    usable = amplitudes[: TABLE // 2 - 1]
    spectrum[1 : len(usable) + 1] = -0.5j * TABLE * usable
    full = np.fft.irfft(spectrum, TABLE)
    peak = float(np.max(np.abs(full)))
    scale = 1.0 / peak if peak > 0 else 0.0
    stack = np.zeros((len(counts), TABLE + 1))
    for j, limit in enumerate(counts):
        band = spectrum.copy()
        band[int(limit) + 1 :] = 0
        cycle = np.fft.irfft(band, TABLE) * scale
        stack[j, :TABLE] = cycle
        stack[j, TABLE] = cycle[0]
    return counts, stack


def render_wave(wave: Wave, frequency: Frequency, count: int, sample_rate: int) -> FloatArray:
    """One Tone.js ``Oscillator`` at ``frequency`` for ``count`` samples.

    Reads the band-limited table whose partials all lie below Nyquist at each sample's
    (instantaneous) frequency, with linear interpolation.
    """
    counts, stack = _tables(wave.base, wave.partial_count, wave.partials)
    phase = phase_cycles(frequency, count, sample_rate) - wave.phase / 360.0
    position = _frac(phase) * TABLE
    index = np.minimum(position.astype(np.intp), TABLE - 1)
    weight = position - index
    out: FloatArray
    if isinstance(frequency, float | int):
        row = stack[_band(counts, np.array([abs(frequency) / sample_rate]))[0]]
        out = row[index] * (1 - weight) + row[index + 1] * weight
    else:
        band = _band(counts, _increment(frequency, count, sample_rate))
        out = stack[band, index] * (1 - weight) + stack[band, index + 1] * weight
    return out


def _band(counts: FloatArray, dt: FloatArray) -> npt.NDArray[np.intp]:
    """The table with the most partials that all stay below Nyquist at ``dt`` cycles/sample."""
    with np.errstate(divide="ignore"):
        fits = np.floor(0.5 / dt)
    return np.searchsorted(counts, fits, side="right") - 1


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
