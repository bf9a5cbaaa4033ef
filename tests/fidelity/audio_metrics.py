"""How close two renderings of one clip are, in the terms the fidelity targets are written in.

- onsets: when each note that starts from silence first reaches 1 % of its peak;
- envelope: Pearson correlation of the 10 ms RMS envelopes;
- level: overall RMS difference in dB;
- spectrum: RMS difference (dB) of 1/3-octave band powers, 40 Hz to 16 kHz, over the bands within
  60 dB of the loudest (log-spectral distance);
- pitch: the strongest spectral peak within a semitone of the note, in a window (parabolic
  interpolation), in cents.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from common.audio.units import FloatArray

RATE = 48000
FLOOR = 1e-12
AUDIBLE = 1e-4  # -80 dBFS: below it nothing starts


def mono(x: FloatArray) -> FloatArray:
    return np.asarray(x.mean(axis=1) if x.ndim == 2 else x, dtype=np.float64)


def rms_envelope(x: FloatArray, frame_seconds: float) -> FloatArray:
    frame = max(1, round(frame_seconds * RATE))
    signal = mono(x)
    count = len(signal) // frame
    power = (signal[: count * frame].reshape(count, frame) ** 2).mean(axis=1)
    return np.asarray(np.sqrt(power), dtype=np.float64)


def onset(x: FloatArray, note_on: float) -> float | None:
    """When a note that starts from silence first reaches 1 % of its peak (seconds).

    None when something already sounds in the 10 ms before the note-on (a note over a ringing
    one: the envelope correlation judges those), or nothing audible starts within 30 ms.
    """
    signal = np.abs(np.concatenate([np.zeros(round(0.01 * RATE)), mono(x)]))  # room before 0
    start = round((note_on + 0.01) * RATE)
    window = signal[start - round(0.001 * RATE) : start + round(0.03 * RATE)]
    before = signal[start - round(0.01 * RATE) : start - round(0.001 * RATE)]
    peak = window.max()
    if peak < AUDIBLE or before.max() > 1e-3 * peak:
        return None
    return note_on - 0.001 + int(np.argmax(window >= 0.01 * peak)) / RATE


def third_octave_bands(x: FloatArray) -> FloatArray:
    signal = mono(x)
    power = np.abs(np.fft.rfft(signal * np.hanning(len(signal)))) ** 2
    hz = np.fft.rfftfreq(len(signal), 1 / RATE)
    centres = 1000 * 2.0 ** (np.arange(-14, 13) / 3)  # 62.5 Hz .. 16 kHz
    edges = [(c * 2 ** (-1 / 6), c * 2 ** (1 / 6)) for c in centres if c * 2 ** (1 / 6) >= 40]
    return np.array([power[(hz >= lo) & (hz < hi)].sum() for lo, hi in edges])


def peak_hz(x: FloatArray, start: float, stop: float, near_hz: float) -> float:
    """The strongest spectral peak within a semitone of ``near_hz`` in the window (Hz)."""
    signal = mono(x)[round(start * RATE) : round(stop * RATE)]
    size = 1 << (8 * len(signal) - 1).bit_length()  # zero-padded: fine bins
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(len(signal)), size))
    hz = np.fft.rfftfreq(size, 1 / RATE)
    spectrum[(hz < near_hz / 1.06) | (hz > near_hz * 1.06)] = 0
    k = int(np.argmax(spectrum))
    left, mid, right = np.log(spectrum[k - 1 : k + 2] + FLOOR)
    shift = 0.5 * (left - right) / (left - 2 * mid + right)
    return float((k + shift) * RATE / size)


def cents(a_hz: float, b_hz: float) -> float:
    return 1200 * math.log2(a_hz / b_hz)


@dataclass(frozen=True)
class Reading:
    """What the distances need from one rendering, computed once: a noise case compares each of
    its many runs with every other, and the FFTs behind these would otherwise repeat per pair."""

    onsets: tuple[float | None, ...]
    envelope: FloatArray
    power: float
    bands: FloatArray
    pitch_hz: float | None


def read(
    x: FloatArray,
    note_ons: Sequence[float],
    pitch_window: tuple[float, float] | None,
    near_hz: float,
) -> Reading:
    return Reading(
        onsets=tuple(onset(x, on) for on in note_ons),
        envelope=rms_envelope(x, 0.01),
        power=float(np.mean(x**2)),
        bands=third_octave_bands(x),
        pitch_hz=None if pitch_window is None else peak_hz(x, *pitch_window, near_hz),
    )


def onset_lag(a: Reading, b: Reading) -> float:
    """The largest onset difference (seconds) over the notes that start from silence in ``b``."""
    worst = 0.0
    for found, expected in zip(a.onsets, b.onsets, strict=True):
        if expected is not None:
            worst = max(worst, math.inf if found is None else abs(found - expected))
    return worst


def envelope_correlation(a: Reading, b: Reading) -> float:
    return float(np.corrcoef(a.envelope, b.envelope)[0, 1])


def level_db(a: Reading, b: Reading) -> float:
    """How much louder ``a`` is than ``b`` overall (dB)."""
    return 10 * math.log10((a.power + FLOOR) / (b.power + FLOOR))


def spectral_distance_db(a: Reading, b: Reading) -> float:
    """RMS dB difference of 1/3-octave band powers where either is within 60 dB of its peak."""
    loud = (a.bands > a.bands.max() * 1e-6) | (b.bands > b.bands.max() * 1e-6)
    diff = 10 * np.log10((a.bands[loud] + FLOOR) / (b.bands[loud] + FLOOR))
    return float(np.sqrt(np.mean(diff**2)))
