"""Write the example projects demo.json, song60.json and dense.json next to this script."""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

Json = dict[str, Any]
Duration = float | str

FORMAT = "framefarm.project/1"
HERE = Path(__file__).resolve().parent

# A minor pop progression, one chord per bar: Am - F - C - G (pad voicings, bass roots).
CHORDS: tuple[tuple[int, ...], ...] = ((57, 60, 64), (57, 60, 65), (55, 60, 64), (55, 59, 62))
ROOTS: tuple[int, ...] = (45, 41, 48, 43)
A_MINOR: tuple[int, ...] = (55, 57, 59, 60, 62, 64, 65, 67, 69, 71, 72, 74, 76)


# --- building blocks -----------------------------------------------------------------------


def r4(value: float) -> float:
    """Round to 4 decimals; whole numbers stay ints so the JSON reads cleanly."""
    rounded = round(value, 4)
    return int(rounded) if rounded == int(rounded) else rounded


def note(beat: float, duration: Duration, pitch: int, velocity: float) -> Json:
    length = duration if isinstance(duration, str) else r4(duration)
    return {"beat": r4(beat), "duration": length, "pitch": pitch, "velocity": r4(velocity)}


def humanize(rng: random.Random, base: float, spread: float = 0.08) -> float:
    """A velocity near ``base``, kept inside 0..1."""
    return min(1.0, max(0.05, base + rng.uniform(-spread, spread)))


def instrument(kind: str, **params: Any) -> Json:
    return {"type": kind, "params": params}


def poly(voice: str, max_polyphony: int = 32, **options: Any) -> Json:
    return instrument("PolySynth", voice=voice, maxPolyphony=max_polyphony, options=options)


def effect(kind: str, **params: Any) -> Json:
    return {"type": kind, "params": params}


def envelope(attack: float, decay: float, sustain: float, release: float) -> Json:
    return {"attack": attack, "decay": decay, "sustain": sustain, "release": release}


def visual(style: str, color: str, intensity: float) -> Json:
    return {"style": style, "color": color, "intensity": intensity}


def track(
    track_id: str,
    inst: Json,
    look: Json,
    notes: Iterable[Json],
    effects: Sequence[Json] = (),
    volume: float = 0.0,
    pan: float = 0.0,
) -> Json:
    return {
        "id": track_id,
        "name": track_id.replace("-", " ").title(),
        "instrument": inst,
        "effects": list(effects),
        "volume": volume,
        "pan": pan,
        "mute": False,
        "solo": False,
        "visual": look,
        "notes": sorted(notes, key=lambda n: (n["beat"], n["pitch"])),
    }


def visualizer(seed: int = 1234) -> Json:
    bloom = {
        "intensity": 1.2,
        "luminanceThreshold": 0.2,
        "luminanceSmoothing": 0.025,
        "mipmapBlur": True,
        "radius": 0.85,
        "levels": 8,
    }
    return {
        "background": "#05010f",
        "camera": {"fov": 50, "distance": 12, "orbitBeats": 16},
        "toneMapping": "none",
        "exposure": 1,
        "seed": seed,
        "bloom": bloom,
    }


def project(
    name: str,
    bpm: float,
    duration_beats: float,
    tracks: list[Json],
    tempo_changes: Sequence[tuple[float, float]] = (),
) -> Json:
    return {
        "format": FORMAT,
        "name": name,
        "bpm": bpm,
        "tempoChanges": [{"beat": beat, "bpm": tempo} for beat, tempo in tempo_changes],
        "timeSignature": [4, 4],
        "durationBeats": duration_beats,
        "tracks": tracks,
        "visualizer": visualizer(),
    }


# --- patterns ------------------------------------------------------------------------------


def steps(start: float, end: float, step: float) -> list[float]:
    """Beats from ``start`` (inclusive) to ``end`` (exclusive) every ``step`` beats."""
    count = round((end - start) / step)
    return [start + i * step for i in range(count) if start + i * step < end]


def hits(
    rng: random.Random,
    beats: Iterable[float],
    pitch: int,
    duration: Duration,
    base: float = 0.9,
) -> list[Json]:
    return [note(b, duration, pitch, humanize(rng, base)) for b in beats]


def chord_at(beat: float, bar_beats: int = 4) -> int:
    """Index of the progression chord playing at ``beat`` (one chord per bar)."""
    return int(beat // bar_beats) % len(CHORDS)


def pad_chords(rng: random.Random, start: float, end: float, length: Duration) -> list[Json]:
    notes: list[Json] = []
    for bar in steps(start, end, 4):
        for pitch in CHORDS[chord_at(bar)]:
            notes.append(note(bar, length, pitch, humanize(rng, 0.6, 0.05)))
    return notes


def bassline(rng: random.Random, start: float, end: float) -> list[Json]:
    """Driving eighths on the root, an octave jump on the last eighth of each bar."""
    notes: list[Json] = []
    for beat in steps(start, end, 0.5):
        root = ROOTS[chord_at(beat)]
        pitch = root + 12 if beat % 4 == 3.5 else root
        notes.append(note(beat, "8n", pitch, humanize(rng, 0.85 if beat % 1 == 0 else 0.7)))
    return notes


def arpeggio(
    rng: random.Random, start: float, end: float, step: float, duration: Duration, octave: int = 12
) -> list[Json]:
    """Up-down chord-tone arpeggio over the progression."""
    notes: list[Json] = []
    for index, beat in enumerate(steps(start, end, step)):
        tones = CHORDS[chord_at(beat)]
        cycle = [*tones, tones[0] + 12, *reversed(tones[1:])]
        pitch = cycle[index % len(cycle)] + octave
        notes.append(note(beat, duration, pitch, humanize(rng, 0.75, 0.12)))
    return notes


def melody(rng: random.Random, start: float, end: float) -> list[Json]:
    """A stepwise lead line that lands on a chord tone at each bar line."""
    rhythm: tuple[tuple[float, Duration], ...] = ((1, "4n"), (0.5, "8n"), (0.5, "8n"), (2, 1.75))
    notes: list[Json] = []
    beat, position = start, 4
    while beat < end:
        for length, duration in rhythm:
            if beat >= end:
                break
            if beat % 4 == 0:
                position = A_MINOR.index(rng.choice(CHORDS[chord_at(beat)]))
            else:
                position = min(max(position + rng.choice((-2, -1, 1, 2)), 0), len(A_MINOR) - 1)
            notes.append(note(beat, duration, A_MINOR[position] + 12, humanize(rng, 0.8)))
            beat += length
    return notes


# --- demo ----------------------------------------------------------------------------------


def demo() -> Json:
    """The "Neon Drive" demo: 16 beats at 120 bpm (8 s), one track per visual style."""
    rng = random.Random(1234)
    lead = track(
        "lead",
        instrument(
            "Synth",
            oscillator={"type": "sawtooth"},
            envelope=envelope(0.01, 0.2, 0.6, 0.4),
        ),
        visual("bars", "#ff2fd6", 1.6),
        melody(rng, 0, 16),
        [
            effect("FeedbackDelay", delayTime="8n", feedback=0.35, wet=0.25),
            effect("Reverb", decay=2.0, wet=0.3),
        ],
        volume=-6,
    )
    kick = track(
        "kick",
        instrument("MembraneSynth", pitchDecay=0.05, octaves=6),
        visual("rings", "#00e5ff", 2.2),
        hits(rng, steps(0, 16, 1), 36, "16n", 0.95),
        volume=-3,
    )
    plucks = track(
        "plucks",
        instrument("PluckSynth", attackNoise=1.5, dampening=5000, resonance=0.8),
        visual("particles", "#ffd400", 2.5),
        arpeggio(rng, 0.5, 16, 1, "16n", octave=12),
        volume=-8,
        pan=0.3,
    )
    pad = track(
        "pad",
        poly(
            "FMSynth",
            harmonicity=2,
            modulationIndex=4,
            envelope=envelope(0.4, 0.3, 0.7, 1.2),
        ),
        visual("orbs", "#7a5cff", 1.8),
        pad_chords(rng, 0, 16, 3.5),
        [effect("Reverb", decay=3.5, wet=0.45)],
        volume=-10,
        pan=-0.2,
    )
    return project("Neon Drive", 120, 16, [lead, kick, plucks, pad])


# --- song60 --------------------------------------------------------------------------------

# 40 beats at 120 bpm (20 s) + 64 beats at 128 bpm (30 s) + 16 beats at 96 bpm (10 s) = 60 s.
SONG_TEMPO: tuple[tuple[float, float], ...] = ((40, 128), (104, 96))
SONG_BEATS = 120


def song_drums(rng: random.Random) -> list[Json]:
    kick = track(
        "kick",
        instrument("MembraneSynth", pitchDecay=0.04, octaves=8),
        visual("rings", "#00e5ff", 2.4),
        hits(rng, steps(8, 112, 1), 36, "16n", 0.95),
        [effect("Distortion", distortion=0.2, wet=0.3), effect("Gain", gain=1.2)],
        volume=-2,
    )
    snare = track(
        "snare",
        instrument("NoiseSynth", noise={"type": "pink"}, envelope=envelope(0.001, 0.18, 0, 0.1)),
        visual("particles", "#ffffff", 2.0),
        hits(rng, [b + 1 for b in steps(16, 112, 2)], 38, "16n", 0.85),
        [
            effect("Filter", type="highpass", frequency=800, Q=0.8),
            effect("Reverb", decay=1.2, wet=0.25),
        ],
        volume=-8,
    )
    hats = track(
        "hats",
        instrument(
            "MetalSynth", harmonicity=5.1, resonance=5000, envelope=envelope(0.001, 0.08, 0, 0.05)
        ),
        visual("particles", "#ffd400", 1.6),
        hits(rng, steps(16, 112, 0.5), 42, "32n", 0.55),
        [effect("Filter", type="highpass", frequency=6000)],
        volume=-18,
        pan=0.25,
    )
    return [kick, snare, hats]


def song_harmony(rng: random.Random) -> list[Json]:
    bass = track(
        "bass",
        instrument(
            "FMSynth",
            harmonicity=1,
            modulationIndex=6,
            envelope=envelope(0.005, 0.2, 0.4, 0.2),
        ),
        visual("bars", "#ff5a1f", 1.5),
        bassline(rng, 8, 112),
        [
            effect("Filter", type="lowpass", frequency=900, rolloff=-24),
            effect("Distortion", distortion=0.3, wet=0.4),
        ],
        volume=-6,
    )
    pad = track(
        "pad",
        poly(
            "Synth",
            oscillator={"type": "fatsawtooth", "count": 3, "spread": 30},
            envelope=envelope(0.6, 0.5, 0.7, 2.0),
        ),
        visual("orbs", "#7a5cff", 1.8),
        pad_chords(rng, 0, SONG_BEATS, "1m"),
        [
            effect("Chorus", frequency=1.5, delayTime=3.5, depth=0.7, wet=0.5),
            effect("Reverb", decay=4.0, wet=0.4),
        ],
        volume=-14,
    )
    bell = track(
        "bell",
        instrument("AMSynth", harmonicity=2.5, envelope=envelope(0.01, 0.6, 0.2, 1.5)),
        visual("orbs", "#3dffb8", 2.2),
        [
            note(b, "2n", CHORDS[chord_at(b)][-1] + 12, humanize(rng, 0.6))
            for b in steps(16, 104, 2)
        ],
        [effect("FeedbackDelay", delayTime="4n", feedback=0.3, wet=0.3)],
        volume=-16,
        pan=-0.35,
    )
    return [bass, pad, bell]


def song_top(rng: random.Random) -> list[Json]:
    arp = track(
        "arp",
        instrument("PluckSynth", attackNoise=1.2, dampening=4500, resonance=0.85),
        visual("particles", "#ff2fd6", 2.6),
        arpeggio(rng, 16, 104, 0.25, "16n"),
        [effect("FeedbackDelay", delayTime="8n.", feedback=0.25, wet=0.2)],
        volume=-10,
        pan=0.4,
    )
    lead = track(
        "lead",
        instrument("Synth", oscillator={"type": "square"}, envelope=envelope(0.02, 0.2, 0.6, 0.5)),
        visual("bars", "#00b3ff", 1.7),
        melody(rng, 40, 104) + melody(rng, 104, 116),
        [
            effect("Gain", gain=0.7),
            effect("FeedbackDelay", delayTime="8n", feedback=0.35, wet=0.25),
            effect("Reverb", decay=2.5, wet=0.3),
        ],
        volume=-7,
    )
    return [arp, lead]


def song60() -> Json:
    """A 120-beat, 60-second song: intro, verse, faster chorus, slow outro."""
    rng = random.Random(60)
    tracks = song_drums(rng) + song_harmony(rng) + song_top(rng)
    return project("Sixty Seconds", 120, SONG_BEATS, tracks, SONG_TEMPO)


# --- dense ---------------------------------------------------------------------------------

DENSE_BEATS = 280  # 2 minutes at 140 bpm


def dense_arps(rng: random.Random) -> list[Json]:
    styles = (
        ("bars", "#ff2fd6"),
        ("particles", "#ffd400"),
        ("rings", "#00e5ff"),
        ("orbs", "#3dffb8"),
    )
    tracks: list[Json] = []
    for index, (style, color) in enumerate(styles):
        duration: Duration = "32n" if index % 2 == 0 else 0.125
        tracks.append(
            track(
                f"arp-{index + 1}",
                instrument(
                    "Synth",
                    oscillator={"type": "triangle"},
                    envelope=envelope(0.002, 0.05, 0.2, 0.1),
                ),
                visual(style, color, 2.0),
                arpeggio(rng, 0, DENSE_BEATS, 0.125, duration, octave=12 * (index - 1)),
                [effect("FeedbackDelay", delayTime="16n", feedback=0.2, wet=0.15)],
                volume=-14,
                pan=r4(-0.6 + 0.4 * index),
            )
        )
    return tracks


def dense_rhythm(rng: random.Random) -> list[Json]:
    kick = track(
        "kick",
        instrument("MembraneSynth"),
        visual("rings", "#ffffff", 2.4),
        hits(rng, steps(0, DENSE_BEATS, 1), 36, "16n", 0.95),
    )
    roll = track(
        "snare-roll",
        instrument("NoiseSynth", envelope=envelope(0.001, 0.05, 0, 0.03)),
        visual("particles", "#ff5a1f", 1.8),
        hits(rng, steps(0, DENSE_BEATS, 0.25), 38, "16n", 0.6),
        [effect("Filter", type="bandpass", frequency=2500, Q=1.5)],
        volume=-12,
    )
    hats = track(
        "hats",
        instrument("MetalSynth", envelope=envelope(0.001, 0.04, 0, 0.02)),
        visual("particles", "#c0c0ff", 1.4),
        hits(rng, steps(0, DENSE_BEATS, 0.125), 42, "32n", 0.5),
        volume=-20,
    )
    pad = track(
        "pad",
        poly("FMSynth", envelope=envelope(0.3, 0.2, 0.8, 1.0)),
        visual("orbs", "#7a5cff", 1.6),
        pad_chords(rng, 0, DENSE_BEATS, 4),
        [effect("Reverb", decay=3.0, wet=0.4)],
        volume=-12,
    )
    return [kick, roll, hats, pad]


def dense() -> Json:
    """A benchmark load: about 12,800 notes over 2 minutes at 140 bpm."""
    rng = random.Random(140)
    return project("Dense Benchmark", 140, DENSE_BEATS, dense_arps(rng) + dense_rhythm(rng))


# --- output --------------------------------------------------------------------------------


def write(name: str, data: Json, compact: bool = False) -> Path:
    path = HERE / name
    separators = (",", ":") if compact else None
    text = json.dumps(data, indent=None if compact else 1, separators=separators)
    path.write_text(text + "\n", encoding="utf-8")
    return path


def note_count(data: Json) -> int:
    return sum(len(t["notes"]) for t in data["tracks"])


def main() -> None:
    for name, data, compact in (
        ("demo.json", demo(), False),
        ("song60.json", song60(), False),
        ("dense.json", dense(), True),
    ):
        path = write(name, data, compact)
        print(f"{path.name}: {len(data['tracks'])} tracks, {note_count(data)} notes")


if __name__ == "__main__":
    main()
