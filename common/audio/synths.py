"""One note of each Tone.js instrument, rendered from its note-on: the voices of a track.

Amplitude envelopes come from :func:`common.format.instruments.voice_envelope` and
:meth:`common.format.envelope.Envelope.level`, the code the visuals pulse with. Signal paths
follow Tone.js: ``Synth`` is oscillator x envelope; ``FMSynth`` and ``AMSynth`` are two -10 dB
``Synth``s, the modulator driving the carrier's frequency (f + f * modulationIndex * m) or gain
((m + 1) / 2); ``MembraneSynth`` sweeps its sine from f * 2^octaves (f * octaves before tone
15.3) to f exponentially over ``pitchDecay``; ``MetalSynth`` sums six square FM oscillators at
the TR-808 ratios through a highpass whose cutoff follows the envelope; ``NoiseSynth`` is looped
noise x envelope; ``PluckSynth`` is Karplus-Strong (a pink-noise burst of ``attackNoise``
periods, a one-pole lowpass at ``dampening``, a feedback comb one sample longer than the note's
period, as Tone's DelayLine reads it, whose feedback ``resonance`` ramps to 0 over ``release``
after note-off).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from common.audio.biquad import coefficients
from common.audio.iir import LinearFilter, biquad_lockstep
from common.audio.noise import looped, noise_buffer
from common.audio.oscillators import Wave, nominal, render_oscillator, render_wave
from common.audio.processors import RENDER_QUANTUM
from common.audio.units import FloatArray, cents_to_ratio, db_to_gain, midi_to_hz
from common.format.compat import CURRENT_TONE, Release, parse_release
from common.format.envelope import Envelope
from common.format.instruments import (
    AMSynthOptions,
    FMSynthOptions,
    MembraneSynthOptions,
    MetalSynthOptions,
    NoiseSynthOptions,
    OscillatorOptions,
    PluckSynthOptions,
    SynthOptions,
    VoiceOptions,
    membrane_sweep_top,
    tone_seconds,
    voice_envelope,
)
from common.scene.randomness import hash_uniform

MODULATION_SYNTH_DB = -10.0
"""``ModulationSynth`` builds its carrier and modulator Synths with ``volume: -10``."""
METAL_RATIOS = (1.0, 1.483, 1.932, 2.546, 2.63, 3.897)
SILENT = 1e-5
"""A ringing voice (PluckSynth) is cut once it has decayed below this (-100 dB)."""
MIN_FADE, MAX_FADE = 0.001, 0.05

VelocityUse = Literal["gain", "render", "ignore"]


@dataclass(frozen=True)
class NoteEvent:
    """One note as a voice sees it: pitch, velocity 0..1, seconds held, index in its track.

    A monophonic note-on while the voice still sounds continues from where it is (as Tone.js):
    ``carry`` is the amplitude envelope's level then (velocity included), ``carry_modulation``
    the modulator envelope's (FMSynth, AMSynth), and ``held`` the noise sources of earlier
    notes that a NoiseSynth keeps playing: (their note's index, samples they have played at
    this note-on, samples they still play after it).

    ``lead``: samples from the note-on to the next Web Audio render quantum. In Chromium an
    oscillator that Tone starts mid-quantum plays that stretch with its frequency input delayed
    by its offset in the quantum: first ``lead_hertz`` (the frequency before the note: the
    previous note's, or the synth's initial value), then the note's, on time from the next
    quantum (:meth:`EnvelopedVoice.frequency`). Where not ``lead_delayed`` (a PolySynth's new
    voice) it holds ``lead_hertz`` (0) through the stretch and one sample more, as measured.
    ``phases``: where the voice's oscillators are (cycles) when a re-trigger finds them running,
    as Tone keeps them running; ``filter_state``: likewise the state of a filter in the voice
    (MetalSynth's highpass).
    """

    pitch: int
    velocity: float
    gate: float
    index: int
    carry: float = 0.0
    carry_modulation: float = 0.0
    held: tuple[tuple[int, int, int], ...] = ()
    lead: int = 0
    lead_hertz: float = 0.0
    lead_delayed: bool = True
    phases: tuple[float, ...] = ()
    filter_state: tuple[float, ...] = ()


def _plain(options: OscillatorOptions) -> bool:
    """A basic wave, whose ``phase`` is where it starts (not fat/am/fm/pulse/pwm)."""
    return options.type.startswith(("sine", "square", "sawtooth", "triangle", "custom"))


def _start_phase(note: NoteEvent, index: int, options: OscillatorOptions) -> float:
    """Where oscillator ``index`` of the note starts, in cycles."""
    return note.phases[index] if note.phases else -options.phase / 360.0


def at_phase(note: NoteEvent, index: int, options: OscillatorOptions) -> OscillatorOptions:
    """The oscillator's options, started where a re-trigger found it (plain waves only)."""
    if not note.phases or not _plain(options):
        return options
    return options.model_copy(update={"phase": -360.0 * note.phases[index]})


def envelope_length(envelope: Envelope, gate: float) -> float:
    """Seconds from note-on until ``envelope.level`` is 0 for good."""
    if envelope.decay > 0 and envelope.sustain == 0 and gate >= envelope.attack + envelope.decay:
        return envelope.attack + envelope.decay  # decayed to 0 before the release began
    return gate + envelope.release


class Voice(ABC):
    """Renders notes of one instrument, each from its note-on, as (samples, channels) arrays.

    ``velocity``: "gain" renders at velocity 1 and the caller scales (so notes differing only in
    velocity share one rendering), "render" passes it in (it changes the timbre), "ignore" means
    the instrument has none (Tone.js's PluckSynth).
    """

    channels = 1
    velocity: VelocityUse = "gain"
    initial_hertz = 440.0
    """The value of Tone's frequency signal before the first note (the Oscillator default)."""

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate

    @abstractmethod
    def length(self, note: NoteEvent) -> float:
        """Seconds from note-on until the note is silent."""

    @property
    def fade(self) -> float:
        """Seconds a note fades over when a monophonic instrument's next note cuts it."""
        return MIN_FADE

    def key(self, note: NoteEvent) -> Hashable:
        """Notes with equal keys render identically (before any velocity gain)."""
        continued = (
            note.carry,
            note.carry_modulation,
            note.held,
            note.lead,
            note.lead_hertz,
            note.lead_delayed,
            note.phases,
            note.filter_state,
        )
        if self.velocity == "render" or note.carry > 0:
            return (note.pitch, note.gate, note.velocity, continued)
        return (note.pitch, note.gate, continued)

    def retrigger(self, note: NoteEvent, previous: NoteEvent, elapsed: int) -> NoteEvent:
        """``note`` as it starts ``elapsed`` samples after ``previous`` on the same voice."""
        return note

    def continue_phases(self, note: NoteEvent, previous: NoteEvent, elapsed: int) -> NoteEvent:
        """``note``, its oscillators going on from where ``previous``'s are ``elapsed`` in."""
        return note

    def seamless(self, note: NoteEvent) -> bool:
        """Whether ``note`` (from :meth:`continue_phases`) goes on sample-exactly from the note
        it cuts: then nothing needs cross-fading, and a fade would blunt the new attack."""
        return False

    def count(self, note: NoteEvent) -> int:
        return math.ceil(self.length(note) * self.sample_rate) + 1

    def times(self, count: int) -> FloatArray:
        return np.arange(count) / self.sample_rate

    def render(self, notes: Sequence[NoteEvent], counts: Sequence[int]) -> list[FloatArray]:
        """The first ``counts[i]`` samples (at most :meth:`count`) of each note."""
        return [self.render_one(note, count) for note, count in zip(notes, counts, strict=True)]

    @abstractmethod
    def render_one(self, note: NoteEvent, count: int) -> FloatArray:
        """The note's first ``count`` samples from its note-on, shape (count, channels)."""


class EnvelopedVoice(Voice):
    """A voice whose loudness is one ``Envelope`` (all but PluckSynth)."""

    def __init__(self, options: VoiceOptions, sample_rate: int, seconds_per_beat: float) -> None:
        super().__init__(sample_rate)
        self.envelope = voice_envelope(options, seconds_per_beat)
        self.gain = db_to_gain(options.volume)
        self.tune = cents_to_ratio(getattr(options, "detune", 0.0))

    def length(self, note: NoteEvent) -> float:
        return envelope_length(self.note_envelope(note), note.gate)

    def note_envelope(self, note: NoteEvent) -> Envelope:
        """The amplitude envelope of this note, continued from ``note.carry``."""
        return self.envelope.retriggered(note.carry, note.velocity, self.sample_rate)

    def retrigger(self, note: NoteEvent, previous: NoteEvent, elapsed: int) -> NoteEvent:
        level = self.note_envelope(previous).level(
            np.asarray(elapsed / self.sample_rate), np.asarray(previous.gate)
        )
        return replace(note, carry=float(level) * previous.velocity)

    def hertz(self, note: NoteEvent) -> float:
        return midi_to_hz(note.pitch) * self.tune

    def oscillators(
        self, note: NoteEvent, count: int
    ) -> list[tuple[OscillatorOptions, FloatArray]]:
        """Each oscillator of the note with its frequency at every sample (none: no phases)."""
        return []

    def continue_phases(self, note: NoteEvent, previous: NoteEvent, elapsed: int) -> NoteEvent:
        """``note``, its oscillators going on from where ``previous``'s are ``elapsed`` in."""
        tracks = self.oscillators(previous, elapsed)
        if not tracks:
            return note
        rate = self.sample_rate
        phases = tuple(
            _start_phase(previous, index, options) + float(np.sum(nominal(track, rate))) / rate
            for index, (options, track) in enumerate(tracks)
        )
        return replace(note, phases=tuple(p % 1.0 for p in phases))

    def seamless(self, note: NoteEvent) -> bool:
        """Continued phases, and every oscillator a plain wave that starts at its phase (envelopes
        already go on from their levels): the new rendering is Tone's one signal going on."""
        kinds = [options for options, _ in self.oscillators(note, 1)]
        return bool(note.phases) and all(_plain(options) for options in kinds)

    def frequency(
        self, note: NoteEvent, count: int, hertz: FloatArray | float, scale: float = 1.0
    ) -> FloatArray:
        """The frequency an oscillator started at the note-on plays, from its input ``hertz``
        (a value or one per sample; ``scale`` times the note's own frequency before it).

        Chromium renders the quantum an oscillator starts in with the frequency input from the
        quantum's start (``OscillatorHandler::Process`` reads ``phase_increments`` from index 0
        but writes from the start offset): over the ``lead`` samples to the next quantum it plays
        its input delayed by the start offset, ``lead_hertz * scale`` (the frequency before the
        note, a modulator's output still 0) until the delay has passed. A PolySynth's new
        voice (not ``lead_delayed``) gets its input one sample after the next quantum starts, as
        measured: it holds ``lead_hertz`` for ``lead + 1`` samples, even when it starts on one.
        """
        track = np.array(np.broadcast_to(hertz, (count,)), dtype=np.float64)
        before = note.lead_hertz * self.tune * scale
        if not note.lead_delayed:
            track[: note.lead + 1] = before
        elif note.lead > 0:
            offset, lead = RENDER_QUANTUM - note.lead, min(note.lead, count)
            held = np.full(min(offset, lead), before)
            track[:lead] = np.concatenate([held, track[: max(lead - offset, 0)]])
        return track

    def level(self, note: NoteEvent, count: int) -> FloatArray:
        return self.note_envelope(note).level(self.times(count), np.asarray(note.gate))


class SynthVoice(EnvelopedVoice):
    def __init__(self, options: SynthOptions, sample_rate: int, seconds_per_beat: float) -> None:
        super().__init__(options, sample_rate, seconds_per_beat)
        self.oscillator = options.oscillator

    def oscillators(
        self, note: NoteEvent, count: int
    ) -> list[tuple[OscillatorOptions, FloatArray]]:
        return [(self.oscillator, self.frequency(note, count, self.hertz(note)))]

    def render_one(self, note: NoteEvent, count: int) -> FloatArray:
        [(options, hertz)] = self.oscillators(note, count)
        wave = render_oscillator(at_phase(note, 0, options), hertz, count, self.sample_rate)
        return (wave * self.level(note, count) * self.gain)[:, None]


class ModulationVoice(EnvelopedVoice):
    """``FMSynth`` / ``AMSynth``: the modulator's envelope scales with velocity, so render it."""

    velocity: VelocityUse = "render"

    def __init__(
        self,
        options: FMSynthOptions | AMSynthOptions,
        sample_rate: int,
        seconds_per_beat: float,
    ) -> None:
        super().__init__(options, sample_rate, seconds_per_beat)
        self.options = options
        self.modulation_envelope = options.modulation_envelope.at_tempo(seconds_per_beat)
        self.inner = db_to_gain(MODULATION_SYNTH_DB)

    def modulation_level(self, note: NoteEvent) -> Envelope:
        """The modulator's envelope, which carries on across a re-trigger as the carrier's does."""
        envelope = self.modulation_envelope
        return envelope.retriggered(note.carry_modulation, note.velocity, self.sample_rate)

    def retrigger(self, note: NoteEvent, previous: NoteEvent, elapsed: int) -> NoteEvent:
        level = self.modulation_level(previous).level(
            np.asarray(elapsed / self.sample_rate), np.asarray(previous.gate)
        )
        continued = super().retrigger(note, previous, elapsed)
        return replace(continued, carry_modulation=float(level) * previous.velocity)

    def _modulator(self, note: NoteEvent, count: int) -> tuple[FloatArray, FloatArray]:
        """(the carrier's input frequency, the modulator's output) at every sample."""
        options, rate = self.options, self.sample_rate
        hertz = np.full(count, self.hertz(note))
        modulation = at_phase(note, 1, options.modulation)
        harmonicity = options.harmonicity
        played = self.frequency(note, count, hertz * harmonicity, harmonicity)
        modulator = render_oscillator(modulation, played, count, rate)
        modulator *= self.modulation_level(note).level(self.times(count), np.asarray(note.gate))
        modulator *= note.velocity * self.inner
        if isinstance(options, FMSynthOptions):
            return hertz * (1.0 + options.modulation_index * modulator), modulator
        return hertz, modulator

    def oscillators(
        self, note: NoteEvent, count: int
    ) -> list[tuple[OscillatorOptions, FloatArray]]:
        options = self.options
        carrier, _ = self._modulator(note, count)
        harmonicity = options.harmonicity
        modulator = self.frequency(note, count, self.hertz(note) * harmonicity, harmonicity)
        return [
            (options.oscillator, self.frequency(note, count, carrier)),
            (options.modulation, modulator),
        ]

    def render_one(self, note: NoteEvent, count: int) -> FloatArray:
        options, rate = self.options, self.sample_rate
        carrier, modulator = self._modulator(note, count)
        carrier_level = self.level(note, count) * note.velocity * self.inner * self.gain
        oscillator = at_phase(note, 0, options.oscillator)
        wave = render_oscillator(oscillator, self.frequency(note, count, carrier), count, rate)
        if isinstance(options, FMSynthOptions):
            return (wave * carrier_level)[:, None]
        return (wave * carrier_level * (modulator + 1) / 2)[:, None]


class MembraneVoice(EnvelopedVoice):
    def __init__(
        self,
        options: MembraneSynthOptions,
        sample_rate: int,
        seconds_per_beat: float,
        tone: Release,
    ) -> None:
        super().__init__(options, sample_rate, seconds_per_beat)
        self.options = options
        self.tone = tone
        self.pitch_decay = tone_seconds(options.pitch_decay, seconds_per_beat)

    def sweep(self, hertz: float, count: int) -> FloatArray:
        """top -> f, exponentially over pitchDecay (``exponentialRampToValueAtTime``).

        top is f * 2^octaves from tone 15.3 on, f * octaves before (``compat.tone``).
        """
        t = self.times(count)
        top = max(membrane_sweep_top(self.options, hertz, self.tone), 1e-7)  # Tone clamps at 1e-7
        if self.pitch_decay <= 0:
            return np.full(count, hertz)
        progress = np.minimum(t / self.pitch_decay, 1.0)
        return np.asarray(top * (hertz / top) ** progress, dtype=np.float64)

    def oscillators(
        self, note: NoteEvent, count: int
    ) -> list[tuple[OscillatorOptions, FloatArray]]:
        hertz = self.frequency(note, count, self.sweep(self.hertz(note), count))
        return [(self.options.oscillator, hertz)]

    def render_one(self, note: NoteEvent, count: int) -> FloatArray:
        [(options, hertz)] = self.oscillators(note, count)
        wave = render_oscillator(at_phase(note, 0, options), hertz, count, self.sample_rate)
        return (wave * self.level(note, count) * self.gain)[:, None]


class MetalVoice(EnvelopedVoice):
    """Six square FM pairs, highpassed at resonance..resonance * 2^octaves by the envelope.

    The envelope (velocity included) also drives the filter, so velocity changes the timbre.
    The swept biquad runs sample by sample, all notes of a batch at once. A re-trigger while
    the voice sounds goes on seamlessly, as Tone restarts nothing: the twelve oscillators from
    their phases and the highpass from its state where the cut note left them.
    """

    velocity: VelocityUse = "render"
    initial_hertz = 0.0  # MetalSynth's own frequency Signal starts at 0

    def __init__(self, options: MetalSynthOptions, sample_rate: int, seconds_per_beat: float):
        super().__init__(options, sample_rate, seconds_per_beat)
        self.options = options
        self.square = Wave("square")

    def _square(self, note: NoteEvent, index: int) -> Wave:
        """Oscillator ``index`` (modulator 2i, carrier 2i + 1 of pair i), at its phase."""
        if not note.phases:
            return self.square
        return replace(self.square, phase=-360.0 * note.phases[index])

    def _pairs(
        self, note: NoteEvent, count: int
    ) -> list[tuple[FloatArray, FloatArray, FloatArray]]:
        """(modulator Hz, carrier Hz, carrier wave) of each FM pair at every sample."""
        options, rate = self.options, self.sample_rate
        hertz = self.hertz(note)
        out = []
        for i, ratio in enumerate(METAL_RATIOS):
            scale = ratio * options.harmonicity
            played = self.frequency(note, count, hertz * scale, scale)
            modulator = render_wave(self._square(note, 2 * i), played, count, rate)
            swept = hertz * ratio * (1.0 + options.modulation_index * modulator)
            swept = self.frequency(note, count, swept, ratio)
            carrier = render_wave(self._square(note, 2 * i + 1), swept, count, rate)
            out.append((played, swept, carrier))
        return out

    def _source(self, pairs: list[tuple[FloatArray, FloatArray, FloatArray]]) -> FloatArray:
        """The six carriers summed: what the highpass hears."""
        return np.asarray(np.sum([carrier for _, _, carrier in pairs], axis=0), dtype=np.float64)

    def _cutoff(self, level: FloatArray) -> FloatArray:
        """The highpass's frequency: Tone's Scale from resonance to resonance * 2^octaves."""
        low = self.options.resonance
        return np.asarray(low + level * (low * 2.0**self.options.octaves - low), dtype=np.float64)

    def continue_phases(self, note: NoteEvent, previous: NoteEvent, elapsed: int) -> NoteEvent:
        """``note`` going on from ``previous`` ``elapsed`` samples in: phases and filter state."""
        rate = self.sample_rate
        pairs = self._pairs(previous, elapsed)
        phases = []
        for index in range(2 * len(METAL_RATIOS)):
            start = previous.phases[index] if previous.phases else 0.0
            hertz = pairs[index // 2][index % 2]
            phases.append((start + float(np.sum(nominal(hertz, rate))) / rate) % 1.0)
        source = self._source(pairs)
        level = self.note_envelope(previous).level(self.times(elapsed), np.asarray(previous.gate))
        level = level * previous.velocity
        start_state = np.array(previous.filter_state or (0.0, 0.0))[:, None]
        highpass = coefficients("highpass", self._cutoff(level)[None], 0.0, 0.0, rate)
        _, state = biquad_lockstep(source[None], highpass, (start_state[0], start_state[1]))
        return replace(note, phases=tuple(phases), filter_state=tuple(float(s[0]) for s in state))

    def seamless(self, note: NoteEvent) -> bool:
        """Continued phases and filter state: the note goes on sample-exactly."""
        return bool(note.phases)

    def render_one(self, note: NoteEvent, count: int) -> FloatArray:
        return self.render([note], [count])[0]

    def render(self, notes: Sequence[NoteEvent], counts: Sequence[int]) -> list[FloatArray]:
        if not notes:
            return []
        longest = max(counts)
        source = np.zeros((len(notes), longest))
        level = np.zeros((len(notes), longest))
        s1, s2 = np.zeros(len(notes)), np.zeros(len(notes))
        t = self.times(longest)
        for row, (note, count) in enumerate(zip(notes, counts, strict=True)):
            source[row, :count] = self._source(self._pairs(note, count))
            level[row] = self.note_envelope(note).level(t, np.asarray(note.gate)) * note.velocity
            if note.filter_state:
                s1[row], s2[row] = note.filter_state
        filtered, _ = biquad_lockstep(
            source,
            coefficients("highpass", self._cutoff(level), 0.0, 0.0, self.sample_rate),
            (s1, s2),
        )
        out = filtered * level * self.gain
        return [out[row, :count, None].copy() for row, count in enumerate(counts)]


class NoiseVoice(EnvelopedVoice):
    """Stereo noise from a seeded looped buffer, each note from its own offset."""

    channels = 2

    def __init__(
        self,
        options: NoiseSynthOptions,
        sample_rate: int,
        seconds_per_beat: float,
        seed: tuple[int, int],
    ) -> None:
        super().__init__(options, sample_rate, seconds_per_beat)
        self.options = options
        self.seed = seed
        noise = options.noise
        self.gain *= 0.0 if noise.mute else db_to_gain(noise.volume)
        self.fade_in = tone_seconds(noise.fade_in, seconds_per_beat)
        self.buffer = noise_buffer(noise.type, sample_rate, (*seed, 1))

    def key(self, note: NoteEvent) -> Hashable:
        return note.index  # every note reads its own stretch of the buffer

    def source_samples(self, note: NoteEvent) -> int:
        """How long a note's noise source plays: Tone stops it after attack + decay when the
        sustain is 0, else at the end of the release, whatever later notes do."""
        envelope = self.note_envelope(note)
        if envelope.sustain == 0:
            return round((envelope.attack + envelope.decay) * self.sample_rate)
        return round((note.gate + envelope.release) * self.sample_rate)

    def retrigger(self, note: NoteEvent, previous: NoteEvent, elapsed: int) -> NoteEvent:
        """Tone's Noise restarts without stopping the buffer it plays (its ``_source`` is already
        cleared by the scheduled stop): the earlier notes' sources go on under this envelope."""
        continued = super().retrigger(note, previous, elapsed)
        sources = [(previous.index, 0, self.source_samples(previous)), *previous.held]
        held = tuple(
            (index, since + elapsed, left - elapsed)
            for index, since, left in sources
            if left - elapsed > 0
        )
        return replace(continued, held=held)

    def _source(self, index: int, since: int, count: int) -> FloatArray:
        rate = self.options.noise.playback_rate
        offset = float(hash_uniform(*self.seed, index, 1)) + since * rate / len(self.buffer)
        return looped(self.buffer, offset % 1.0, count, rate)

    def render_one(self, note: NoteEvent, count: int) -> FloatArray:
        noise = self._source(note.index, 0, count)
        for index, since, left in note.held:
            noise[: min(left, count)] += self._source(index, since, min(left, count))
        level = self.level(note, count) * self.gain
        if self.fade_in > 0:
            level *= np.minimum(self.times(count) / self.fade_in, 1.0)
        return noise * level[:, None]


class PluckVoice(Voice):
    """Karplus-Strong as Tone.js wires it: Noise(pink) -> OnePole lowpass -> feedback comb."""

    channels = 2
    velocity: VelocityUse = "ignore"

    def __init__(
        self,
        options: PluckSynthOptions,
        sample_rate: int,
        seconds_per_beat: float,
        seed: tuple[int, int],
    ) -> None:
        super().__init__(sample_rate)
        self.options = options
        self.seed = seed
        self.gain = db_to_gain(options.volume)
        self.release = tone_seconds(options.release, seconds_per_beat)
        self.buffer = noise_buffer("pink", sample_rate, (*seed, 2))
        # Tone.js OnePoleFilter lowpass: y = a0 x + (1 - a0) y[-1], a0 = 2 pi f / sampleRate
        a0 = min(2 * math.pi * options.dampening / sample_rate, 1.999)  # stable below 2
        self.lowpass = LinearFilter([a0], [1.0, a0 - 1.0], self.channels, block=256)

    def key(self, note: NoteEvent) -> Hashable:
        return note.index  # every note has its own noise burst

    def length(self, note: NoteEvent) -> float:
        """Until the feedback has ramped to 0 (or the ring decayed below SILENT), plus a period."""
        period = 1.0 / midi_to_hz(note.pitch)
        burst = period * self.options.attack_noise
        resonance = self.options.resonance
        ring = period * math.log(SILENT) / math.log(resonance) if resonance > 0 else 0.0
        return min(note.gate + self.release, ring) + period + burst

    def render_one(self, note: NoteEvent, count: int) -> FloatArray:
        rate = self.sample_rate
        delay = rate / midi_to_hz(note.pitch)
        # Tone's DelayLine reads floor(d) samples behind its last write, before writing: the
        # loop is floor(d) + 1 samples long, without interpolation (4-14 cents flat, as heard)
        whole = math.floor(delay) + 1
        burst = min(count, max(1, round(delay * self.options.attack_noise)))
        offset = float(hash_uniform(*self.seed, note.index, 2))
        excitation = np.zeros((count, self.channels))
        excitation[:burst] = looped(self.buffer, offset, burst)
        self.lowpass.reset()
        excitation = self.lowpass.process(excitation)
        t = self.times(count)
        feedback = self.options.resonance * np.clip(
            1 - (t - note.gate) / max(self.release, 1e-9), 0.0, 1.0
        )
        return _comb(excitation, feedback, whole) * self.gain


def _comb(x: FloatArray, feedback: FloatArray, delay: int) -> FloatArray:
    """Tone.js FeedbackCombFilter: w = x + g * w[n - delay]; y = w[n - delay].

    Runs ``delay`` samples at a time: every sample of a block reads only earlier blocks.
    """
    count, channels = x.shape
    w = np.zeros((delay + count, channels))
    out = np.empty_like(x)
    for start in range(0, count, delay):
        stop = min(start + delay, count)
        delayed = w[start:stop]
        w[delay + start : delay + stop] = x[start:stop] + feedback[start:stop, None] * delayed
        out[start:stop] = delayed
    return out


def make_voice(
    options: VoiceOptions,
    sample_rate: int,
    seconds_per_beat: float,
    seed: tuple[int, int],
    tone: Release | None = None,
) -> Voice:
    """The voice for an instrument's (or a PolySynth's voice's) options.

    ``seed`` is (project seed, track index): it keys the noise of NoiseSynth and PluckSynth.
    ``tone`` is the tone.js release to match (``compat.tone``; the current one by default).
    """
    if isinstance(options, SynthOptions):
        return SynthVoice(options, sample_rate, seconds_per_beat)
    if isinstance(options, FMSynthOptions | AMSynthOptions):
        return ModulationVoice(options, sample_rate, seconds_per_beat)
    if isinstance(options, MembraneSynthOptions):
        release = parse_release(CURRENT_TONE) if tone is None else tone
        return MembraneVoice(options, sample_rate, seconds_per_beat, release)
    if isinstance(options, MetalSynthOptions):
        return MetalVoice(options, sample_rate, seconds_per_beat)
    if isinstance(options, NoiseSynthOptions):
        return NoiseVoice(options, sample_rate, seconds_per_beat, seed)
    return PluckVoice(options, sample_rate, seconds_per_beat, seed)
