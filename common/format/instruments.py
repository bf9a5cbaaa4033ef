"""The instruments of the project format, by Tone.js class name, with Tone.js default options.

``INSTRUMENTS`` is the constructor map: class name -> spec model. Every spec can answer, for a
note, its amplitude envelope level at any time, so the visuals pulse with what is heard.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Literal

import numpy as np
from pydantic import AfterValidator, Field, WithJsonSchema

from common.format.compat import Release
from common.format.envelope import Curve, Envelope, FloatArray
from common.format.notation import notation_to_beats
from common.format.strict import (
    ArrayOf,
    NonNegative,
    Positive,
    StrictModel,
    ToneOptions,
    ToneTime,
    Unit,
)

_OSCILLATOR_TYPE = re.compile(
    r"^(am|fm|fat)?(sine|square|sawtooth|triangle|custom)(\d{1,2})?$|^(pulse|pwm)$"
)


def _oscillator_type(value: str) -> str:
    if not _OSCILLATOR_TYPE.match(value):
        raise ValueError(
            "expected a Tone.js oscillator type: sine, square, sawtooth, triangle, custom, pulse "
            "or pwm, optionally prefixed am/fm/fat and suffixed with a partial count (e.g. "
            "'fmsine', 'sawtooth8')"
        )
    return value


OscillatorType = Annotated[str, AfterValidator(_oscillator_type)]


class OscillatorOptions(StrictModel):
    """Tone.js ``OmniOscillator`` options."""

    type: OscillatorType = "triangle"
    partials: ArrayOf[float] = ()
    partial_count: Annotated[int, Field(ge=0, le=64)] = 0
    phase: float = 0.0
    count: Annotated[int, Field(ge=1, le=16)] = 3
    spread: NonNegative = 20.0
    harmonicity: Positive = 1.0
    modulation_type: OscillatorType = "square"
    modulation_index: NonNegative = 2.0
    modulation_frequency: Positive = 0.4
    width: Annotated[float, Field(ge=-1, le=1)] = 0.2
    volume: float = 0.0
    mute: bool = False


def _oscillator(default_type: str) -> OscillatorOptions:
    return OscillatorOptions(type=default_type)


class EnvelopeOptions(StrictModel):
    """Tone.js ``Envelope`` options; numbers are seconds, strings are notation."""

    attack: ToneTime = 0.01
    decay: ToneTime = 0.1
    sustain: Unit = 0.5
    release: ToneTime = 1.0
    attack_curve: Curve = "linear"
    decay_curve: Literal["linear", "exponential"] = "exponential"
    release_curve: Curve = "exponential"

    def at_tempo(self, seconds_per_beat: float) -> Envelope:
        """The envelope in seconds, notation converted at the given tempo."""
        return Envelope(
            attack=tone_seconds(self.attack, seconds_per_beat),
            decay=tone_seconds(self.decay, seconds_per_beat),
            sustain=self.sustain,
            release=tone_seconds(self.release, seconds_per_beat),
            attack_curve=self.attack_curve,
            decay_curve=self.decay_curve,
            release_curve=self.release_curve,
        )


def _envelope(**overrides: float | str) -> EnvelopeOptions:
    return EnvelopeOptions.model_validate(overrides)


def tone_seconds(value: float | str, seconds_per_beat: float) -> float:
    """A Tone.js time option in seconds: numbers are seconds already, notation scales by tempo."""
    if isinstance(value, str):
        return float(notation_to_beats(value)) * seconds_per_beat
    return float(value)


class _Voice(ToneOptions):
    """Options every Tone.js ``Monophonic`` voice takes."""

    volume: float = 0.0
    detune: float = 0.0
    portamento: ToneTime = 0.0


class SynthOptions(_Voice):
    oscillator: OscillatorOptions = _oscillator("triangle")
    envelope: EnvelopeOptions = _envelope(attack=0.005, decay=0.1, sustain=0.3, release=1)


class FMSynthOptions(_Voice):
    harmonicity: Positive = 3.0
    modulation_index: NonNegative = 10.0
    oscillator: OscillatorOptions = _oscillator("sine")
    envelope: EnvelopeOptions = _envelope(attack=0.01, decay=0.01, sustain=1, release=0.5)
    modulation: OscillatorOptions = _oscillator("square")
    modulation_envelope: EnvelopeOptions = _envelope(attack=0.5, decay=0.0, sustain=1, release=0.5)


class AMSynthOptions(_Voice):
    harmonicity: Positive = 3.0
    oscillator: OscillatorOptions = _oscillator("sine")
    envelope: EnvelopeOptions = _envelope(attack=0.01, decay=0.01, sustain=1, release=0.5)
    modulation: OscillatorOptions = _oscillator("square")
    modulation_envelope: EnvelopeOptions = _envelope(attack=0.5, decay=0.0, sustain=1, release=0.5)


MEMBRANE_POWER_SWEEP = (15, 3, 0)
"""From tone 15.3 MembraneSynth sweeps from f * 2^octaves (octaves 0.5..8, default 8).

Before, from f * octaves (0..16, default 10); ``compat.tone`` selects the release.
"""


class MembraneSynthOptions(_Voice):
    pitch_decay: ToneTime = 0.05
    # not given (or null, as a dumped project says it): the default of the project's tone
    # release (see ``membrane_octaves_range``)
    octaves: Annotated[
        float | None,
        Field(ge=0, le=16),
        WithJsonSchema(
            {
                "anyOf": [{"type": "number", "minimum": 0, "maximum": 16}, {"type": "null"}],
                "description": "0.5-8 (default 8) for tone >= 15.3; 0-16 (default 10) before; "
                "null or absent: the release's default",
            }
        ),
    ] = None
    oscillator: OscillatorOptions = _oscillator("sine")
    envelope: EnvelopeOptions = _envelope(
        attack=0.001, decay=0.4, sustain=0.01, release=1.4, attackCurve="exponential"
    )


def membrane_octaves_range(tone: Release) -> tuple[float, float, float]:
    """(lowest, highest, default) of MembraneSynth's ``octaves`` in this tone release."""
    return (0.5, 8.0, 8.0) if tone >= MEMBRANE_POWER_SWEEP else (0.0, 16.0, 10.0)


def membrane_sweep_top(options: MembraneSynthOptions, hertz: float, tone: Release) -> float:
    """The frequency a MembraneSynth note sweeps down from, as this tone release computes it."""
    _, _, default = membrane_octaves_range(tone)
    octaves = default if options.octaves is None else options.octaves
    return hertz * 2.0**octaves if tone >= MEMBRANE_POWER_SWEEP else hertz * octaves


def membrane_octaves_problem(options: MembraneSynthOptions, tone: Release) -> str | None:
    """Why ``octaves`` is out of range for this tone release, or None."""
    low, high, _ = membrane_octaves_range(tone)
    if options.octaves is None or low <= options.octaves <= high:
        return None
    release = ".".join(map(str, tone))
    older = "; releases before 15.3 take 0 to 16" if tone >= MEMBRANE_POWER_SWEEP else ""
    return f"expected octaves from {low:g} to {high:g} for tone {release} (compat.tone){older}"


class MetalSynthOptions(_Voice):
    harmonicity: Positive = 5.1
    modulation_index: NonNegative = 32.0
    octaves: NonNegative = 1.5
    resonance: Positive = 4000.0
    envelope: EnvelopeOptions = _envelope(attack=0.001, decay=1.4, release=0.2)


class NoiseOptions(StrictModel):
    type: Literal["white", "pink", "brown"] = "white"
    playback_rate: Positive = 1.0
    fade_in: ToneTime = 0.0
    fade_out: ToneTime = 0.0
    volume: float = 0.0
    mute: bool = False


class NoiseSynthOptions(ToneOptions):
    volume: float = 0.0
    noise: NoiseOptions = NoiseOptions()
    envelope: EnvelopeOptions = _envelope(decay=0.1, sustain=0.0)


class PluckSynthOptions(ToneOptions):
    volume: float = 0.0
    attack_noise: Annotated[float, Field(ge=0.1, le=20)] = 1.0
    dampening: Positive = 4000.0
    resonance: Annotated[float, Field(ge=0, lt=1)] = 0.7
    release: ToneTime = 1.0


VoiceOptions = (
    SynthOptions
    | FMSynthOptions
    | AMSynthOptions
    | MembraneSynthOptions
    | MetalSynthOptions
    | NoiseSynthOptions
    | PluckSynthOptions
)


def voice_envelope(options: VoiceOptions, seconds_per_beat: float) -> Envelope:
    """The amplitude envelope a listener hears for one note of this voice."""
    if isinstance(options, MetalSynthOptions):
        # MetalSynth.ts builds its Envelope with sustain 0 and a linear attack, whatever is given.
        forced = options.envelope.model_copy(update={"sustain": 0.0, "attack_curve": "linear"})
        return forced.at_tempo(seconds_per_beat)
    if isinstance(options, PluckSynthOptions):
        # Karplus-Strong: the string rings down by `resonance` per period; modelled (pitch-free,
        # at A4) as an exponential decay to silence, then Tone's linear release on note-off.
        periods_to_silence = math.log(1 / 510) / math.log(max(options.resonance, 1e-6))
        ring = min(periods_to_silence / 440.0, 8.0)
        return Envelope(
            attack=0.0,
            decay=ring,
            sustain=0.0,
            release=tone_seconds(options.release, seconds_per_beat),
            decay_curve="exponential",
            release_curve="linear",
        )
    return options.envelope.at_tempo(seconds_per_beat)


# --- instrument specs: {"type": <Tone.js class>, "params": {...}} ---------------------------


class SynthSpec(StrictModel):
    type: Literal["Synth"]
    params: SynthOptions = SynthOptions()


class FMSynthSpec(StrictModel):
    type: Literal["FMSynth"]
    params: FMSynthOptions = FMSynthOptions()


class AMSynthSpec(StrictModel):
    type: Literal["AMSynth"]
    params: AMSynthOptions = AMSynthOptions()


class MembraneSynthSpec(StrictModel):
    type: Literal["MembraneSynth"]
    params: MembraneSynthOptions = MembraneSynthOptions()


class MetalSynthSpec(StrictModel):
    type: Literal["MetalSynth"]
    params: MetalSynthOptions = MetalSynthOptions()


class NoiseSynthSpec(StrictModel):
    type: Literal["NoiseSynth"]
    params: NoiseSynthOptions = NoiseSynthOptions()


class PluckSynthSpec(StrictModel):
    type: Literal["PluckSynth"]
    params: PluckSynthOptions = PluckSynthOptions()


class _PolySynthOf(ToneOptions):
    max_polyphony: Annotated[int, Field(ge=1, le=128)] = 32


class PolySynthOfSynth(_PolySynthOf):
    voice: Literal["Synth"]
    options: SynthOptions = SynthOptions()


class PolySynthOfFMSynth(_PolySynthOf):
    voice: Literal["FMSynth"]
    options: FMSynthOptions = FMSynthOptions()


class PolySynthOfAMSynth(_PolySynthOf):
    voice: Literal["AMSynth"]
    options: AMSynthOptions = AMSynthOptions()


class PolySynthOfMembraneSynth(_PolySynthOf):
    voice: Literal["MembraneSynth"]
    options: MembraneSynthOptions = MembraneSynthOptions()


class PolySynthOfMetalSynth(_PolySynthOf):
    voice: Literal["MetalSynth"]
    options: MetalSynthOptions = MetalSynthOptions()


class PolySynthOfNoiseSynth(_PolySynthOf):
    voice: Literal["NoiseSynth"]
    options: NoiseSynthOptions = NoiseSynthOptions()


class PolySynthOfPluckSynth(_PolySynthOf):
    voice: Literal["PluckSynth"]
    options: PluckSynthOptions = PluckSynthOptions()


PolySynthOptions = Annotated[
    PolySynthOfSynth
    | PolySynthOfFMSynth
    | PolySynthOfAMSynth
    | PolySynthOfMembraneSynth
    | PolySynthOfMetalSynth
    | PolySynthOfNoiseSynth
    | PolySynthOfPluckSynth,
    Field(discriminator="voice"),
]


class PolySynthSpec(StrictModel):
    """Tone.js ``new PolySynth(Voice, options)`` as ``{"voice": "FMSynth", "options": {...}}``."""

    type: Literal["PolySynth"]
    params: PolySynthOptions = PolySynthOfSynth(voice="Synth")


MonophonicSpec = (
    SynthSpec
    | FMSynthSpec
    | AMSynthSpec
    | MembraneSynthSpec
    | MetalSynthSpec
    | NoiseSynthSpec
    | PluckSynthSpec
)
InstrumentSpec = Annotated[MonophonicSpec | PolySynthSpec, Field(discriminator="type")]

INSTRUMENTS: dict[str, type[StrictModel]] = {
    "Synth": SynthSpec,
    "FMSynth": FMSynthSpec,
    "AMSynth": AMSynthSpec,
    "MembraneSynth": MembraneSynthSpec,
    "MetalSynth": MetalSynthSpec,
    "NoiseSynth": NoiseSynthSpec,
    "PluckSynth": PluckSynthSpec,
    "PolySynth": PolySynthSpec,
}
"""The constructor map: Tone.js class name -> the spec model that deserialises it."""


def voice_options(instrument: MonophonicSpec | PolySynthSpec) -> VoiceOptions:
    """The options of the voice that plays each note (a PolySynth's voice, or the synth itself)."""
    if isinstance(instrument, PolySynthSpec):
        return instrument.params.options
    return instrument.params


def envelope_levels(
    instrument: MonophonicSpec | PolySynthSpec,
    elapsed: FloatArray,
    gate: FloatArray,
    seconds_per_beat: float,
) -> FloatArray:
    """Amplitude envelope (0..1, before velocity) of notes ``elapsed`` s after their note-on."""
    envelope = voice_envelope(voice_options(instrument), seconds_per_beat)
    return envelope.level(np.asarray(elapsed, dtype=np.float64), np.asarray(gate, dtype=np.float64))
