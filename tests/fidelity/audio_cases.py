"""The clips the audio reference tests play in both Tone.js and ``framefarm audio``.

Each case is a small project (the app's JSON), the seconds to render, its note-ons in seconds,
a steady window to read the pitch in (None where the sound has no single pitch), whether it is
driven by noise (compared with Tone's own run-to-run spread), and the Tone package to play it
with (``tone``, or an aliased older release for a ``compat`` case).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.factories import note, project_data, track

BPM = 120
SECONDS_PER_BEAT = 60 / BPM
VOLUME = -12.0
"""Every track plays 12 dB down: the mix stays under the master limiter (the app has none)."""


@dataclass(frozen=True)
class Case:
    name: str
    data: dict[str, Any]
    seconds: float
    note_ons: tuple[float, ...]
    pitch_window: tuple[float, float] | None = (0.35, 0.5)
    pitch_hz: float = 220.0  # the note sounding in the pitch window
    noise: bool = False
    package: str = "tone"


def _two_notes(instrument: dict[str, Any], effects: list[dict[str, Any]] | None = None) -> Any:
    """A3 at 0.25 s (0.25 s long, velocity 0.8) and E4 at 0.75 s (velocity 0.6)."""
    notes = [note(0.5, 0.5, pitch=57, velocity=0.8), note(1.5, 0.5, pitch=64, velocity=0.6)]
    return project_data(
        track("a", notes=notes, instrument=instrument, effects=effects or [], volume=VOLUME),
        durationBeats=4,
    )


def _case(name: str, instrument: dict[str, Any], **options: Any) -> Case:
    effects = options.pop("effects", None)
    seconds = options.pop("seconds", 1.5)
    return Case(name, _two_notes(instrument, effects), seconds, (0.25, 0.75), **options)


SINE = {"type": "Synth", "params": {"oscillator": {"type": "sine"}}}

INSTRUMENTS = [
    _case("Synth", {"type": "Synth"}),
    _case("Synth, partial envelope", {"type": "Synth", "params": {"envelope": {"attack": 0.05}}}),
    _case("FMSynth", {"type": "FMSynth"}),
    _case(
        "FMSynth, partial oscillator", {"type": "FMSynth", "params": {"oscillator": {"phase": 0}}}
    ),
    _case(
        "FMSynth, partial modulationEnvelope",
        {"type": "FMSynth", "params": {"modulationEnvelope": {"attack": 0.05}}},
    ),
    _case("AMSynth", {"type": "AMSynth"}),
    _case("MembraneSynth", {"type": "MembraneSynth"}, pitch_window=(0.4, 0.5)),
    _case(
        "MembraneSynth, octaves 6",
        {"type": "MembraneSynth", "params": {"octaves": 6}},
        pitch_window=(0.4, 0.5),
    ),
    _case(
        "MembraneSynth, partial envelope",
        {"type": "MembraneSynth", "params": {"envelope": {"decay": 0.2}}},
        pitch_window=(0.3, 0.4),
    ),
    _case("MetalSynth", {"type": "MetalSynth"}, pitch_window=None),
    _case(
        "MetalSynth, partial envelope",
        {"type": "MetalSynth", "params": {"envelope": {"decay": 0.3}}},
        pitch_window=None,
    ),
    _case(
        "PolySynth of Synth",
        {"type": "PolySynth", "params": {"voice": "Synth", "options": {"envelope": {"decay": 1}}}},
    ),
    _case("NoiseSynth", {"type": "NoiseSynth"}, pitch_window=None, noise=True),
    _case("PluckSynth", {"type": "PluckSynth"}, pitch_window=(0.27, 0.45), noise=True),
]

EFFECTS = [
    _case("Gain", SINE, effects=[{"type": "Gain", "params": {"gain": 0.5}}]),
    _case(
        "Filter",
        {"type": "Synth", "params": {"oscillator": {"type": "sawtooth"}}},
        effects=[{"type": "Filter", "params": {"frequency": 800, "rolloff": -24, "Q": 2}}],
    ),
    _case(
        "FeedbackDelay",
        SINE,
        effects=[{"type": "FeedbackDelay", "params": {"delayTime": 0.1, "feedback": 0.5}}],
    ),
    _case("Distortion", SINE, effects=[{"type": "Distortion", "params": {"distortion": 0.8}}]),
    _case("Chorus", SINE, effects=[{"type": "Chorus", "params": {"wet": 0.5}}]),
    _case(
        "Reverb",
        SINE,
        effects=[{"type": "Reverb", "params": {"decay": 0.5, "wet": 0.5}}],
        noise=True,
    ),
]


def _retrigger(name: str, instrument: dict[str, Any], noise: bool = False) -> Case:
    """Three short notes, each starting while the previous one is in its release."""
    notes = [
        note(0.5, 0.25, pitch=57, velocity=0.8),
        note(0.8, 0.25, pitch=60, velocity=0.8),
        note(1.1, 0.25, pitch=64, velocity=0.8),
    ]
    data = project_data(
        track("a", notes=notes, instrument=instrument, volume=VOLUME), durationBeats=4
    )
    ons = tuple(b * SECONDS_PER_BEAT for b in (0.5, 0.8, 1.1))
    return Case(name, data, 1.5, ons, pitch_window=None, noise=noise)


RETRIGGERS = [
    _retrigger("re-trigger, Synth", {"type": "Synth"}),
    _retrigger("re-trigger, AMSynth", {"type": "AMSynth"}),
    _retrigger("re-trigger, FMSynth", {"type": "FMSynth"}),
    _retrigger("re-trigger, MetalSynth", {"type": "MetalSynth"}),
    _retrigger(
        "re-trigger, NoiseSynth",
        {"type": "NoiseSynth", "params": {"envelope": {"sustain": 0.5, "release": 0.3}}},
        noise=True,
    ),
]


def _tempo_map() -> Case:
    notes = [note(beat, 0.25, pitch=69, velocity=0.8) for beat in (0, 1, 2, 3, 4, 5)]
    data = project_data(
        track("a", notes=notes, instrument=SINE, volume=VOLUME),
        durationBeats=8,
        tempoChanges=[{"beat": 2, "bpm": 180}, {"beat": 4, "bpm": 90}],
    )
    seconds_of = [0, 0.5, 1.0, 1 + 1 / 3, 1 + 2 / 3, 1 + 2 / 3 + 2 / 3]
    return Case(
        "tempo map", data, 2.6, tuple(seconds_of), pitch_window=(0.05, 0.12), pitch_hz=440.0
    )


def _compat() -> Case:
    data = _two_notes({"type": "MembraneSynth", "params": {"octaves": 6}})
    data["compat"] = {"tone": "15.2.7"}
    return Case(
        "MembraneSynth, compat tone 15.2.7",
        data,
        1.5,
        (0.25, 0.75),
        pitch_window=(0.4, 0.5),
        package="tone-15.2.7",
    )


CASES = [*INSTRUMENTS, *EFFECTS, *RETRIGGERS, _tempo_map(), _compat()]
