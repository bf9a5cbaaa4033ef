"""The offline audio renderer, checked on the signal: spectra, envelopes, delays, levels."""

from __future__ import annotations

import json
import math
import tracemalloc
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from common.audio import render_soundtrack, soundtrack_blocks
from common.audio.biquad import ba, coefficients
from common.audio.iir import LinearFilter, biquad_lockstep
from common.audio.oscillators import Wave, render_wave
from common.audio.render import BLOCK
from common.audio.units import FloatArray
from common.audio.wav import pcm_bytes, write_wav, write_wav_blocks
from common.format.instruments import EnvelopeOptions
from common.format.project import Project
from common.format.validation import load_project_file
from framefarm.cli import main
from tests.factories import note, project, track

RATE = 48000
ROOT = Path(__file__).resolve().parents[2]


def synth(oscillator: str = "sine", **envelope: float) -> dict[str, Any]:
    params: dict[str, Any] = {"oscillator": {"type": oscillator}}
    if envelope:
        params["envelope"] = envelope
    return {"type": "Synth", "params": params}


def render(p: Project, start: float, end: float, rate: int = RATE) -> FloatArray:
    return render_soundtrack(p, start, end, rate).astype(np.float64)


def peak_hz(signal: FloatArray, rate: int = RATE, lowest: float = 50.0) -> float:
    """The strongest frequency above ``lowest`` (AM and Karplus-Strong also carry some DC)."""
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(len(signal))))
    spectrum[np.fft.rfftfreq(len(signal), 1 / rate) < lowest] = 0
    return float(np.argmax(spectrum) * rate / len(signal))


def band_power(signal: FloatArray, low: float, high: float, rate: int = RATE) -> float:
    spectrum = np.abs(np.fft.rfft(signal)) ** 2
    hz = np.fft.rfftfreq(len(signal), 1 / rate)
    return float(spectrum[(hz >= low) & (hz < high)].sum())


def zero_crossing_hz(signal: FloatArray, rate: int = RATE) -> float:
    rising = np.count_nonzero((signal[:-1] < 0) & (signal[1:] >= 0))
    return rising * rate / len(signal)


# --- pitch and waveforms --------------------------------------------------------------------


def test_a_sine_note_peaks_at_its_pitch() -> None:
    p = project(track("a", notes=[note(0, 4, pitch=69)], instrument=synth("sine")))
    audio = render(p, 0.0, 2.0)
    window = audio[RATE // 2 : RATE // 2 + RATE, 0]  # one second: 1 Hz bins
    assert abs(peak_hz(window) - 440.0) <= 1.0


@pytest.mark.parametrize(
    "kind", ["triangle", "square", "sawtooth", "amsine", "fatsawtooth", "sine8"]
)
def test_other_waves_keep_their_fundamental(kind: str) -> None:
    p = project(track("a", notes=[note(0, 4, pitch=57)], instrument=synth(kind)))
    window = render(p, 0.5, 1.5)[:, 0]
    assert abs(peak_hz(window) - 220.0) <= 1.5


@pytest.mark.parametrize("base", ["square", "sawtooth", "triangle"])
def test_waves_are_band_limited(base: str) -> None:
    """A 3777 Hz wave has no energy between its harmonics (no aliases folded back)."""
    hertz, count = 3777.0, 2 * RATE
    signal = render_wave(Wave(base), hertz, count, RATE)
    spectrum = np.abs(np.fft.rfft(signal * np.blackman(count))) ** 2
    harmonic = np.fft.rfftfreq(count, 1 / RATE) / hertz
    near = np.abs(harmonic - np.round(harmonic)) * hertz < 8
    assert 10 * math.log10(spectrum[~near].sum() / spectrum[near].sum()) < -90


def test_the_top_third_octave_below_nyquist_fades_as_in_chromium() -> None:
    """Chromium keeps 2048 * 2^(-r/3) partials in table r and blends the two tables of a
    pitch's range: at 7 kHz (range 28.67) a square keeps its 3rd partial (21 kHz) at a third."""
    hertz, count = 7000.0, RATE
    spectrum = np.abs(np.fft.rfft(render_wave(Wave("square"), hertz, count, RATE)))  # 1 Hz bins
    blend = 1 + 3 * math.log2(hertz / (RATE / 4096)) - 28
    assert spectrum[21000] / spectrum[7000] == pytest.approx((1 - blend) / 3, rel=1e-3)


def test_a_frequency_past_nyquist_is_clamped_and_silent() -> None:
    """Web Audio clamps an oscillator's frequency to +-Nyquist: there it plays nothing and moves
    half a cycle per sample, so 11 samples swung far past it flip the phase of what follows."""
    swung = np.concatenate([np.full(100, 1000.0), np.full(11, 90000.0), np.full(200, 1000.0)])
    wave = render_wave(Wave("sine"), swung, len(swung), RATE)
    assert np.abs(wave[101:111]).max() < 1e-9
    after = np.arange(111, 311)
    expected = np.sin(2 * np.pi * ((after - 11) * 1000.0 / RATE + 5.5))
    assert np.allclose(wave[111:], expected, atol=1e-3)


def _rising_zero_crossings(x: FloatArray) -> list[int]:
    return [i for i in range(1, len(x)) if (x[i - 1] < 0) != (x[i] < 0)]


@pytest.mark.parametrize(
    ("poly", "crossings"), [(False, [44, 71, 98, 126]), (True, [125])], ids=["Synth", "PolySynth"]
)
def test_an_oscillator_started_mid_quantum_plays_its_input_late(
    poly: bool, crossings: list[int]
) -> None:
    """As measured in Chromium (Tone 15.5, a sine at 880 Hz started 32 samples into a quantum):
    a Synth plays its earlier frequency (440 Hz) for those 32 samples, then the note's; a
    PolySynth's new voice stays at 0 Hz until a sample into the next quantum (sign changes as
    measured)."""
    flat = {"attack": 0.0, "decay": 0.0, "sustain": 1.0, "release": 0.001}
    instrument: dict[str, Any] = synth("sine", **flat)
    if poly:
        instrument = {"type": "PolySynth", "params": {"voice": "Synth", **instrument}}
        instrument["params"]["options"] = instrument["params"].pop("params")
        del instrument["params"]["type"]
    notes = [note(1.5, 0.25, pitch=81)]  # 0.75 s: sample 36000, 32 into its quantum
    audio = render(project(track("a", notes=notes, instrument=instrument, volume=-12)), 0.75, 0.8)
    assert _rising_zero_crossings(audio[:128, 0])[:4] == crossings


def test_partial_count_and_phase_follow_tone() -> None:
    sine4 = render_wave(Wave.parse("sine4"), 1000.0, 480, RATE)
    assert np.allclose(sine4, np.sin(2 * np.pi * 1000 * np.arange(480) / RATE), atol=1e-3)
    square3 = render_wave(Wave.parse("square3"), 100.0, 480, RATE)  # partials 1 and 3 only
    spectrum = np.abs(np.fft.rfft(square3))  # 100 Hz bins
    assert spectrum[3] > 0.2 * spectrum[1]
    assert spectrum[5] < 1e-6 * spectrum[1] and spectrum[2] < 1e-6 * spectrum[1]
    assert np.max(np.abs(square3)) == pytest.approx(1.0, abs=0.01)  # normalised like Web Audio


def test_pluck_synth_rings_at_its_pitch() -> None:
    instrument = {"type": "PluckSynth", "params": {"resonance": 0.98}}
    p = project(track("a", notes=[note(0, 2, pitch=57)], instrument=instrument))
    window = render(p, 0.05, 0.55)[:, 0]
    window -= window.mean()

    def similarity(lag: int) -> float:  # normalised autocorrelation
        return float(np.dot(window[:-lag], window[lag:]) / np.dot(window, window))

    # Tone's comb reads floor(d) + 1 samples back: 219 for A3 (218.2), 6.5 cents flat
    lags = range(205, 235)
    assert max(lags, key=similarity) == 219
    assert similarity(219) > 0.9
    assert similarity(round(219 * 1.06)) < 0.5  # a semitone away


def test_membrane_synth_pitch_falls_to_the_note() -> None:
    p = project(track("kick", notes=[note(0, 1, pitch=36)], instrument={"type": "MembraneSynth"}))
    audio = render(p, 0.0, 0.5)[:, 0]
    early = zero_crossing_hz(audio[: int(0.01 * RATE)])
    middle = zero_crossing_hz(audio[int(0.02 * RATE) : int(0.05 * RATE)])
    late = zero_crossing_hz(audio[int(0.1 * RATE) : int(0.4 * RATE)])
    c2 = 65.406
    assert early > 3 * c2  # starts high ...
    assert early > middle > late  # ... falls ...
    assert late == pytest.approx(c2, rel=0.05)  # ... and settles on the note


@pytest.mark.parametrize(("tone", "top"), [("15.5.44", 65.406 * 2**6), ("15.2.7", 65.406 * 6)])
def test_membrane_synth_sweeps_from_the_top_of_its_tone_release(tone: str, top: float) -> None:
    """From tone 15.3 the sweep starts at f * 2^octaves; before, at f * octaves."""
    kick = {"type": "MembraneSynth", "params": {"octaves": 6, "pitchDecay": 2.0}}
    p = project(track("kick", notes=[note(0, 1, pitch=36)], instrument=kick))
    p = p.model_copy(update={"compat": p.compat.model_validate({"tone": tone})})
    audio = render(p, 0.0, 0.02)[:, 0]
    # over the first 20 ms the pitch falls by 4 % at most (the other release is 10x off)
    assert zero_crossing_hz(audio) == pytest.approx(top, rel=0.15)


# --- time: silence, envelope, tempo ----------------------------------------------------------


def test_silence_before_the_first_note_and_after_the_last_release() -> None:
    # 120 bpm: the note sounds from 1.0 s, is released at 1.5 s, silent from 2.5 s (release 1)
    p = project(track("a", notes=[note(2, 1, pitch=60)], instrument=synth("sawtooth")))
    audio = render(p, 0.0, 4.0)
    onset, silent = RATE, int(2.5 * RATE) + 1
    assert not audio[:onset].any()
    assert np.abs(audio[onset : onset + 100]).max() > 0
    assert np.abs(audio[silent:]).max() < 1e-6


def test_silence_after_effect_tails() -> None:
    effects = [
        {"type": "FeedbackDelay", "params": {"delayTime": 0.1, "feedback": 0.3}},
        {"type": "Reverb", "params": {"decay": 0.5, "preDelay": 0.01}},
    ]
    instrument = synth("sine", release=0.05)
    p = project(track("a", notes=[note(0, 0.5)], instrument=instrument, effects=effects))
    audio = render(p, 0.0, 6.0)
    assert np.abs(audio[: int(1.5 * RATE)]).max() > 1e-3
    assert np.abs(audio[int(2.5 * RATE) :]).max() < 1e-6


def test_rms_follows_the_shared_envelope() -> None:
    """What the visuals pulse with (Envelope.level) is what is heard."""
    shape = {"attack": 0.1, "decay": 0.2, "sustain": 0.5, "release": 0.3}
    p = project(
        track("a", notes=[note(0, 1, pitch=69, velocity=0.8)], instrument=synth("sine", **shape))
    )
    audio = render(p, 0.0, 1.0)[:, 0]
    envelope = EnvelopeOptions.model_validate(shape).at_tempo(0.5)
    hop = 1200  # 25 ms = 11 periods of 440 Hz
    t = np.arange(len(audio)) / RATE
    level = envelope.level(t, np.full(len(t), 0.5)) * 0.8 * math.cos(math.pi / 4)
    for start in range(0, len(audio) - hop, hop):
        measured = math.sqrt(np.mean(audio[start : start + hop] ** 2))
        expected = math.sqrt(np.mean(level[start : start + hop] ** 2) / 2)
        assert measured == pytest.approx(expected, abs=0.01)


def test_notes_follow_the_tempo_map() -> None:
    # 120 bpm to beat 4 (2 s), then 60 bpm: beat 6 plays at 4 s
    p = project(
        track("a", notes=[note(6, 1)], instrument=synth()),
        tempoChanges=[{"beat": 4, "bpm": 60}],
    )
    audio = render(p, 0.0, 5.0)
    first = int(np.flatnonzero(audio[:, 0])[0])
    assert abs(first - 4 * RATE) <= 1


def test_exact_sample_count() -> None:
    p = project(track("a", notes=[note(0, 1)], instrument=synth()))
    assert render_soundtrack(p, 0.1, 0.35, 44100).shape == (round(0.25 * 44100), 2)
    assert render_soundtrack(p, 1.0, 1.0).shape == (0, 2)


def test_a_sub_range_includes_notes_that_started_before_it() -> None:
    long = synth("triangle", release=3.0)
    effects = [{"type": "Reverb", "params": {"decay": 2.0, "wet": 0.5}}]
    p = project(
        track("a", notes=[note(0, 2, pitch=60), note(5, 1, pitch=64)], instrument=long),
        track("b", notes=[note(1, 1, pitch=48)], instrument=synth("sine"), effects=effects),
    )
    full = render(p, 0.0, 4.0)
    part = render(p, 2.2, 4.0)
    assert np.abs(part[:100]).max() > 1e-3  # still ringing at the start of the range
    assert np.allclose(part, full[round(2.2 * RATE) :], atol=1e-6)


# --- effects ---------------------------------------------------------------------------------


def _correlation_lag(signal: FloatArray, reference: FloatArray, low: int, high: int) -> int:
    size = 1 << (2 * len(signal)).bit_length()
    cross = np.fft.irfft(np.fft.rfft(signal, size) * np.conj(np.fft.rfft(reference, size)), size)
    return low + int(np.argmax(cross[low:high]))


def test_feedback_delay_echo_arrives_at_the_delay_time() -> None:
    click = synth("sine", attack=0.001, decay=0.02, sustain=0.0, release=0.01)
    notes = [note(0, 0.05, pitch=72)]
    delay = [{"type": "FeedbackDelay", "params": {"delayTime": 0.3, "feedback": 0.4, "wet": 0.5}}]
    dry = render(project(track("a", notes=notes, instrument=click)), 0.0, 2.0)[:, 0]
    wet = render(project(track("a", notes=notes, instrument=click, effects=delay)), 0.0, 2.0)[:, 0]
    lag = _correlation_lag(wet, dry, int(0.1 * RATE), int(0.5 * RATE))
    assert abs(lag - round(0.3 * RATE)) <= 1
    echo = np.abs(wet[round(0.3 * RATE) : round(0.4 * RATE)]).max()
    second = np.abs(wet[round(0.6 * RATE) : round(0.7 * RATE)]).max()
    assert second == pytest.approx(echo * 0.4, rel=0.02)  # each repeat x feedback
    # Web Audio runs the feedback cycle a render quantum (128 samples) late: 2D + 128, 3D + 256
    for repeat in (2, 3):
        expected = repeat * round(0.3 * RATE) + (repeat - 1) * 128
        window = (expected - 64, expected + 64)
        assert _correlation_lag(wet, dry, *window) == expected


def test_filter_attenuates_above_its_cutoff() -> None:
    noise = {"type": "NoiseSynth", "params": {"envelope": {"sustain": 1.0}}}
    lowpass = [{"type": "Filter", "params": {"frequency": 1000, "rolloff": -24}}]
    plain = render(project(track("n", notes=[note(0, 4)], instrument=noise)), 0.2, 1.2)[:, 0]
    cut = render(
        project(track("n", notes=[note(0, 4)], instrument=noise, effects=lowpass)), 0.2, 1.2
    )[:, 0]
    passband = band_power(cut, 100, 500) / band_power(plain, 100, 500)
    stopband = band_power(cut, 4000, 8000) / band_power(plain, 4000, 8000)
    assert 10 * math.log10(passband) == pytest.approx(0.0, abs=1.5)
    assert 10 * math.log10(stopband) < -40  # two octaves above at 24 dB/octave


def _last_audible(audio: FloatArray, threshold: float = 1e-10) -> float:
    return float(np.flatnonzero(np.abs(audio).max(axis=1) > threshold)[-1] / RATE)


def test_reverb_tail_scales_with_decay() -> None:
    blip = synth("sine", attack=0.001, decay=0.05, sustain=0.0, release=0.01)
    ends = {}
    for decay in (1.0, 3.0):
        effects = [{"type": "Reverb", "params": {"decay": decay, "preDelay": 0.01}}]
        p = project(track("a", notes=[note(0, 0.1)], instrument=blip, effects=effects))
        ends[decay] = _last_audible(render(p, 0.0, 5.0))
    # the sound ends at 0.051 s; the impulse response lasts preDelay + decay
    assert ends[1.0] == pytest.approx(0.051 + 1.01, abs=0.02)
    assert ends[3.0] == pytest.approx(0.051 + 3.01, abs=0.06)


INSTRUMENTS: list[dict[str, Any]] = [
    {"type": "Synth", "params": {"oscillator": {"type": "pwm"}}},
    {"type": "Synth", "params": {"oscillator": {"type": "pulse"}}},
    {"type": "Synth", "params": {"oscillator": {"type": "amtriangle"}}},
    {"type": "Synth", "params": {"oscillator": {"type": "custom", "partials": [1, 0.5]}}},
    {"type": "FMSynth"},
    {"type": "AMSynth"},
    {"type": "MembraneSynth"},
    {"type": "MetalSynth"},
    {"type": "NoiseSynth", "params": {"noise": {"type": "brown"}}},
    {"type": "PluckSynth"},
    {"type": "PolySynth", "params": {"voice": "MetalSynth"}},
]
EFFECTS: list[dict[str, Any]] = [
    {"type": "Gain", "params": {"gain": -6, "units": "decibels"}},
    {"type": "Filter", "params": {"type": "peaking", "gain": 6, "rolloff": -48}},
    {"type": "Distortion", "params": {"distortion": 0.8}},
    {"type": "Chorus", "params": {"feedback": 0.3}},
    {"type": "FeedbackDelay", "params": {"delayTime": "8n"}},
    {"type": "Reverb", "params": {"decay": 0.5}},
]


def _label(instrument: dict[str, Any]) -> str:
    oscillator = instrument.get("params", {}).get("oscillator", {}).get("type")
    voice = instrument.get("params", {}).get("voice")
    return str(instrument["type"]) + (f"-{oscillator or voice}" if oscillator or voice else "")


@pytest.mark.parametrize("instrument", INSTRUMENTS, ids=_label)
def test_every_instrument_sounds_while_its_note_is_on(instrument: dict[str, Any]) -> None:
    p = project(track("a", notes=[note(1, 0.5, pitch=50)], instrument=instrument))
    audio = render(p, 0.0, 1.0)
    assert not audio[: RATE // 2].any()
    assert np.abs(audio[RATE // 2 : RATE // 2 + 2400]).max() > 1e-3
    assert np.isfinite(audio).all() and np.abs(audio).max() <= 1.0


def test_every_effect_in_one_chain() -> None:
    p = project(track("fx", notes=[note(0, 2)], instrument=synth("sawtooth"), effects=EFFECTS))
    audio = render(p, 0.0, 3.0)
    assert np.isfinite(audio).all()
    assert 1e-3 < np.abs(audio).max() <= 1.0
    assert not np.allclose(audio[:, 0], audio[:, 1])  # the chorus and reverb are stereo


# --- mixer -----------------------------------------------------------------------------------


def test_pan_moves_energy_between_channels() -> None:
    def at(pan: float) -> FloatArray:
        p = project(track("a", notes=[note(0, 2)], instrument=synth(), pan=pan))
        return render(p, 0.0, 1.0)

    left, centre, right = at(-1.0), at(0.0), at(1.0)
    assert np.abs(left[:, 1]).max() < 1e-6 < np.abs(left[:, 0]).max()
    assert np.abs(right[:, 0]).max() < 1e-6 < np.abs(right[:, 1]).max()
    assert np.allclose(centre[:, 0], centre[:, 1])
    # equal power: the centre's two channels together carry what one side carries alone
    assert np.sum(centre**2) == pytest.approx(np.sum(left[:, 0] ** 2), rel=1e-4)


def test_stereo_signals_pan_like_a_stereo_panner() -> None:
    reverb = [{"type": "Reverb", "params": {"decay": 1.0, "wet": 1.0}}]
    p = project(track("a", notes=[note(0, 1)], instrument=synth(), effects=reverb, pan=-1.0))
    audio = render(p, 0.0, 1.0)
    assert np.abs(audio[:, 1]).max() < 1e-6 < np.abs(audio[:, 0]).max()


def test_mute_and_solo_silence_tracks() -> None:
    a = track("a", notes=[note(0, 2, pitch=60)], instrument=synth())
    b = track("b", notes=[note(0, 2, pitch=67)], instrument=synth())
    only_b = render(project(dict(a, notes=[]), b), 0.0, 1.0)
    assert np.array_equal(render(project(dict(a, mute=True), b), 0.0, 1.0), only_b)
    assert np.array_equal(render(project(a, dict(b, solo=True)), 0.0, 1.0), only_b)
    assert not render(project(dict(a, mute=True), dict(b, mute=True)), 0.0, 1.0).any()


def test_volume_is_in_decibels() -> None:
    loud = render(project(track("a", notes=[note(0, 2)], instrument=synth())), 0.2, 0.8)
    quiet = render(
        project(track("a", notes=[note(0, 2)], instrument=synth(), volume=-20)), 0.2, 0.8
    )
    assert np.abs(quiet).max() == pytest.approx(np.abs(loud).max() / 10, rel=1e-4)


def test_no_sample_beyond_full_scale_in_a_dense_loud_project() -> None:
    dense = load_project_file(ROOT / "examples" / "dense.json")
    audio = render(dense, 0.0, 3.0)
    assert np.abs(audio).max() <= 1.0
    shouting = [
        track(f"t{i}", notes=[note(0, 4, pitch=40 + 3 * i)], instrument=synth("square"), volume=12)
        for i in range(6)
    ]
    loud = render(project(*shouting), 0.0, 2.0)
    peak = np.abs(loud).max()
    assert 0.9 < peak <= 1.0  # limited, not silenced


def test_poly_synth_drops_notes_beyond_max_polyphony() -> None:
    chord = [note(0, 2, pitch=p) for p in (57, 64, 69)]  # A3, E4, A4
    instrument = {"type": "PolySynth", "params": {"voice": "Synth", "maxPolyphony": 2}}
    audio = render(project(track("a", notes=chord, instrument=instrument)), 0.5, 1.5)[:, 0]
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))  # 1 Hz bins
    assert spectrum[220] > 100 * spectrum[440]  # A4, the third note, was dropped
    assert spectrum[330] > 100 * spectrum[440] or spectrum[329] > 100 * spectrum[440]


def test_a_monophonic_synth_cuts_the_previous_note() -> None:
    notes = [note(0, 4, pitch=57), note(1, 1, pitch=69)]  # the second note takes the voice
    audio = render(project(track("a", notes=notes, instrument=synth())), 0.7, 0.95)[:, 0]
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    bin_hz = RATE / len(audio)
    assert spectrum[round(440 / bin_hz)] > 100 * spectrum[round(220 / bin_hz)]


def _rms(x: FloatArray) -> float:
    return float(np.sqrt(np.mean(x**2)))


def test_a_monophonic_retrigger_continues_the_envelope_from_its_level() -> None:
    """Tone's Envelope re-attacks from where it is: no drop to silence at the second note-on."""
    slow = synth("sine", attack=0.2, decay=0.1, sustain=0.5, release=1.0)
    notes = [note(0, 0.5, pitch=69), note(1, 1, pitch=69)]  # the second during the release
    audio = render(project(track("a", notes=notes, instrument=slow)), 0.4, 0.6)[:, 0]
    onset = round(0.1 * RATE)  # 0.5 s
    frame = round(RATE * 2 / 440)  # two periods of A4
    before = _rms(audio[onset - frame : onset])
    after = [_rms(audio[at : at + frame]) for at in range(onset, onset + round(0.04 * RATE), 48)]
    assert before > 0.01
    # it only rises towards the velocity; a restart from 0 would dip (to ~0 without a fade)
    assert min(after) >= 0.95 * before


def test_a_monophonic_retrigger_keeps_the_edge_of_a_fast_attack() -> None:
    """The new note goes on from the old one's phase and level, so nothing is cross-faded: a
    0.2 ms attack is at full level 0.5 ms in, as in Tone (a 1 ms fade-in would still be rising)."""
    fast = synth("sine", attack=0.0002, decay=0.1, sustain=1.0, release=1.0)
    notes = [note(0, 0.25, pitch=107), note(1, 1, pitch=107)]  # ~3.95 kHz; 2nd in the release
    audio = render(project(track("a", notes=notes, instrument=fast)), 0.4, 0.6)[:, 0]
    onset = round(0.1 * RATE)  # 0.5 s
    before = _rms(audio[onset - 48 : onset])
    early = _rms(audio[onset + 24 : onset + 48])  # 0.5-1 ms in: two periods
    held = _rms(audio[onset + 480 : onset + 960])
    assert before < 0.2 * held  # the first note had faded: the second really attacks
    assert early >= 0.97 * held


def test_a_noise_synth_retriggered_in_its_release_keeps_the_old_noise() -> None:
    """Tone's Noise restarts without stopping the buffer it plays: two sources add (+3 dB)."""
    hits = {"type": "NoiseSynth", "params": {"envelope": {"sustain": 1.0, "release": 0.5}}}
    one = [note(0, 0.25, pitch=60)]
    two = [note(0, 0.25, pitch=60), note(0.3, 0.25, pitch=60)]  # 0.15 s: in the release
    # both windows hold the envelope at its sustain (1): one source, then two
    alone = render(project(track("a", notes=one, instrument=hits, volume=-12)), 0.02, 0.12)
    both = render(project(track("a", notes=two, instrument=hits, volume=-12)), 0.17, 0.27)
    level = 20 * math.log10(_rms(both) / _rms(alone))
    assert 2.0 < level < 4.0


def test_renders_are_deterministic_and_seeded() -> None:
    tracks = [
        track("noise", notes=[note(0, 0.5), note(1, 0.5)], instrument=INSTRUMENTS[8]),
        track("pluck", notes=[note(0.5, 0.5, pitch=64)], instrument=INSTRUMENTS[9]),
        track("pad", notes=[note(0, 2, pitch=57)], instrument=synth(), effects=EFFECTS),
    ]
    first = render_soundtrack(project(*tracks), 0.0, 1.5)
    assert np.array_equal(first, render_soundtrack(project(*tracks), 0.0, 1.5))
    reseeded = project(*tracks, visualizer={"seed": 8})
    assert not np.array_equal(first, render_soundtrack(reseeded, 0.0, 1.5))  # noise moved


# --- building blocks -------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "hertz", "q"), [("lowpass", 350, 1), ("bandpass", 2500, 1.5)])
def test_block_filter_equals_the_direct_recursion(kind: Any, hertz: float, q: float) -> None:
    b, a = ba(kind, hertz, q, 0.0, RATE)
    x = np.random.default_rng(1).standard_normal((3000, 2))
    blocked = LinearFilter(b, a, 2, block=256)
    y = np.concatenate(
        [blocked.process(x[:700]), blocked.process(x[700:701]), blocked.process(x[701:])]
    )
    direct = np.zeros_like(x)
    s1 = np.zeros(2)
    s2 = np.zeros(2)
    for n in range(len(x)):
        direct[n] = b[0] * x[n] + s1
        s1, s2 = b[1] * x[n] - a[1] * direct[n] + s2, b[2] * x[n] - a[2] * direct[n]
    assert np.allclose(y, direct, atol=1e-12)


def test_a_swept_biquad_goes_on_from_its_state() -> None:
    """What a re-triggered MetalSynth relies on: two calls, the state carried, equal one."""
    x = np.random.default_rng(2).standard_normal((2, 900))
    cutoff = np.linspace(300.0, 9000.0, 900)[None].repeat(2, axis=0)

    def highpass(part: slice) -> Any:
        return coefficients("highpass", cutoff[:, part], 0.0, 0.0, RATE)

    whole, _ = biquad_lockstep(x, highpass(slice(None)))
    first, state = biquad_lockstep(x[:, :400], highpass(slice(None, 400)))
    rest, _ = biquad_lockstep(x[:, 400:], highpass(slice(400, None)), state)
    fresh, _ = biquad_lockstep(x[:, 400:], highpass(slice(400, None)))
    assert np.allclose(np.concatenate([first, rest], axis=1), whole, atol=1e-12)
    assert not np.allclose(rest, fresh)  # the state matters


def test_wav_files_hold_the_samples(tmp_path: Path) -> None:
    samples = np.array([[0.0, 1.0], [-1.0, 0.5], [2.0, -2.0]], dtype=np.float32)
    for bits in (16, 24):
        path = tmp_path / f"out{bits}.wav"
        write_wav(path, samples, 44100, bits)
        with wave.open(str(path), "rb") as wav:
            layout = (wav.getnchannels(), wav.getsampwidth(), wav.getframerate())
            assert layout == (2, bits // 8, 44100)
            assert wav.getnframes() == 3
            data = wav.readframes(3)
        assert data == pcm_bytes(samples, bits)
    full = (1 << 15) - 1
    expected = [0, full, -full, full // 2 + 1, full, -full]  # interleaved, clipped
    assert np.frombuffer(pcm_bytes(samples, 16), "<i2").tolist() == expected


# --- the command -----------------------------------------------------------------------------


def test_the_audio_command_writes_a_wav(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo.wav"
    demo = str(ROOT / "examples" / "demo.json")
    flags = ["--start-beat", "2", "--end-beat", "4", "--sample-rate", "22050"]
    assert main(["audio", demo, "-o", str(out), *flags]) == 0
    with wave.open(str(out), "rb") as wav:
        assert wav.getframerate() == 22050
        assert wav.getnframes() == 22050  # beats 2..4 at 120 bpm: one second
    assert main(["audio", demo, "-o", str(out), "--end-beat", "99"]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith("framefarm: --end-beat:")


def test_the_benchmark_reports_speed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from bench import audio as bench

    out = tmp_path / "audio.json"
    bench.main(["--seconds", "0.5", "--repeats", "1", "--json", str(out)])
    assert "| examples/dense.json |" in capsys.readouterr().out
    results = json.loads(out.read_text(encoding="utf-8"))["results"]
    assert [r["project"] for r in results] == ["examples/dense.json", "examples/song60.json"]
    assert all(r["realtime_factor"] > 0 and r["share_of_frames_time"] > 0 for r in results)


# --- bounded memory ---------------------------------------------------------------------------


def _sparse_song(minutes: float) -> Project:
    """Delayed notes at the start, the middle and the end of a song, silence between."""
    beats = minutes * 60 * 2  # 120 bpm
    notes = [note(beat, 1, pitch=60) for beat in (0, 1, beats / 2, beats - 4)]
    delay = [{"type": "FeedbackDelay", "params": {"delayTime": 0.3, "feedback": 0.5}}]
    return project(
        track("a", notes=notes, instrument=synth("sawtooth"), effects=delay),
        durationBeats=beats,
    )


def test_blocks_write_the_same_wav_as_the_whole_render(tmp_path: Path) -> None:
    p = _sparse_song(0.2)  # 12 s: several blocks
    whole = render_soundtrack(p, 0.5, 11.5)
    blocks = list(soundtrack_blocks(p, 0.5, 11.5))
    assert len(blocks) > 2 and all(len(b) <= BLOCK for b in blocks)
    write_wav(tmp_path / "whole.wav", whole, RATE)
    written = write_wav_blocks(tmp_path / "blocks.wav", blocks, RATE)
    assert written == len(whole)
    assert (tmp_path / "blocks.wav").read_bytes() == (tmp_path / "whole.wav").read_bytes()


def _peak_bytes_writing(p: Project, path: Path) -> int:
    tracemalloc.start()
    try:
        write_wav_blocks(path, soundtrack_blocks(p, 0.0, p.duration_beats / 2), RATE)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_writing_a_soundtrack_does_not_grow_with_the_song(tmp_path: Path) -> None:
    """Two songs, 1 and 4 minutes, the same notes: writing either peaks under one block budget.

    The whole 4-minute render alone would be 92 MB of float32 (46 MB for 1 minute).
    """
    budget = 24 * BLOCK * 2 * 8  # two dozen float64 stereo blocks: 50 MB
    short = _peak_bytes_writing(_sparse_song(1), tmp_path / "short.wav")
    long = _peak_bytes_writing(_sparse_song(4), tmp_path / "long.wav")
    whole_long = 4 * 60 * RATE * 2 * 4
    assert short < budget and long < budget
    assert long < whole_long / 2
    assert long < short * 1.5  # four times the song, not four times the memory
