"""Envelope shapes follow Tone.js's Envelope scheduling, measured at chosen times."""

from __future__ import annotations

import math

import numpy as np
import pytest

from common.format.envelope import CURVE_NAMES, Curve, Envelope, approach_time_constant
from common.format.instruments import (
    MetalSynthSpec,
    PluckSynthSpec,
    SynthSpec,
    envelope_levels,
    voice_envelope,
    voice_options,
)


def level(envelope: Envelope, elapsed: float, gate: float = 10.0) -> float:
    return float(envelope.level(np.array([elapsed]), np.array([gate]))[0])


def test_time_constant_matches_tone() -> None:
    # ln(r + 1) / ln(200), values computed from Tone.js Param.exponentialApproachValueAtTime
    assert approach_time_constant(1.0) == pytest.approx(0.130824, abs=1e-6)
    assert approach_time_constant(0.1) == pytest.approx(0.017989, abs=1e-6)


def test_linear_attack_then_exponential_decay_to_sustain() -> None:
    env = Envelope(attack=0.1, decay=0.2, sustain=0.5, release=0.4)
    assert level(env, 0.0) == 0.0
    assert level(env, 0.05) == pytest.approx(0.5)
    assert level(env, 0.1) == pytest.approx(1.0)
    tau = approach_time_constant(0.2)
    assert level(env, 0.15) == pytest.approx(0.5 + 0.5 * math.exp(-0.05 / tau))
    assert level(env, 0.3) == pytest.approx(0.5)  # lands exactly at attack + decay
    assert level(env, 5.0) == pytest.approx(0.5)


def test_release_starts_from_the_level_reached_and_lasts_the_full_release() -> None:
    env = Envelope(attack=0.2, decay=0.1, sustain=0.5, release=0.4, release_curve="linear")
    # gate closes halfway through the attack: release starts at 0.5, not at sustain
    assert level(env, 0.1, gate=0.1) == pytest.approx(0.5)
    assert level(env, 0.3, gate=0.1) == pytest.approx(0.25)
    assert level(env, 0.5, gate=0.1) == 0.0
    assert level(env, 0.49, gate=0.1) > 0.0


def test_exponential_release_lands_on_zero_at_its_end() -> None:
    env = Envelope(attack=0.0, decay=0.0, sustain=1.0, release=1.0)
    tau = approach_time_constant(1.0)
    assert level(env, 1.5, gate=1.0) == pytest.approx(math.exp(-0.5 / tau))
    assert level(env, 2.0, gate=1.0) == 0.0
    assert level(env, 9.0, gate=1.0) == 0.0


def test_nothing_before_note_on() -> None:
    env = Envelope(attack=0.0, decay=0.1, sustain=0.3, release=1.0)
    assert level(env, -0.001) == 0.0
    assert level(env, 0.0) == 1.0  # zero attack jumps straight to the peak


def test_decay_is_skipped_when_sustain_is_full() -> None:
    env = Envelope(attack=0.01, decay=0.5, sustain=1.0, release=0.5)
    assert level(env, 0.3) == 1.0


@pytest.mark.parametrize("curve", CURVE_NAMES)
def test_every_curve_rises_from_zero_to_one_and_falls_back(curve: Curve) -> None:
    env = Envelope(
        attack=0.1, decay=0.0, sustain=1.0, release=0.1, attack_curve=curve, release_curve=curve
    )
    assert level(env, 0.0) == pytest.approx(0.0, abs=1e-9)
    assert level(env, 0.1) == pytest.approx(1.0)
    assert level(env, 1.0, gate=1.0) == pytest.approx(1.0)
    assert level(env, 1.1, gate=1.0) == pytest.approx(0.0, abs=1e-9)
    samples = env.level(np.linspace(0, 1.2, 500), np.full(500, 1.0))
    assert samples.min() >= 0.0
    assert samples.max() <= 1.0 + 1e-12


def test_synth_uses_tone_defaults() -> None:
    env = voice_envelope(voice_options(SynthSpec(type="Synth")), 0.5)
    assert (env.attack, env.decay, env.sustain, env.release) == (0.005, 0.1, 0.3, 1.0)
    assert (env.attack_curve, env.decay_curve, env.release_curve) == (
        "linear",
        "exponential",
        "exponential",
    )


def test_notation_times_follow_the_tempo() -> None:
    synth = SynthSpec.model_validate({"type": "Synth", "params": {"envelope": {"attack": "8n"}}})
    assert voice_envelope(voice_options(synth), 0.5).attack == 0.25  # an eighth at 120 bpm


def test_metal_synth_forces_sustain_zero_and_linear_attack() -> None:
    metal = MetalSynthSpec.model_validate(
        {"type": "MetalSynth", "params": {"envelope": {"sustain": 0.8, "attackCurve": "sine"}}}
    )
    env = voice_envelope(voice_options(metal), 0.5)
    assert env.sustain == 0.0
    assert env.attack_curve == "linear"


def test_pluck_rings_down_to_silence_and_releases_linearly() -> None:
    env = voice_envelope(voice_options(PluckSynthSpec(type="PluckSynth")), 0.5)
    assert env.sustain == 0.0
    assert env.release_curve == "linear"
    assert level(env, 0.0) == 1.0
    assert level(env, env.decay + 0.01) == pytest.approx(0.0, abs=1e-9)


def test_envelope_levels_vectorise_over_notes() -> None:
    levels = envelope_levels(
        SynthSpec(type="Synth"), np.array([0.0025, 0.005, 5.0]), np.full(3, 10.0), 0.5
    )
    assert levels == pytest.approx([0.5, 1.0, 0.3])
