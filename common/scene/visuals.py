"""The scene model (the seed's VisualizerManager): a pure function from (project, time) to visuals.

``SceneModel.from_project`` sorts each track's notes once; ``SceneModel.at(seconds)`` then
computes every visible object directly from the time, with binary search over the sorted notes
and closed-form envelopes, pulses and particle paths. Nothing is carried from frame to frame, so a
worker can start at any frame and frame N is the same wherever and whenever it is computed.

World space: y is up, the playhead ("now") is the plane x = 0, each track has a lane at its own z.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal

import numpy as np
import numpy.typing as npt

from common.format.effects import FeedbackDelaySpec
from common.format.envelope import Envelope
from common.format.instruments import tone_seconds, voice_envelope, voice_options
from common.format.project import Project, Track
from common.scene.color import hex_to_linear
from common.scene.randomness import hash_uniform
from common.timing.exact import Rational, to_fraction
from common.timing.tempo import TempoMap

FloatArray = npt.NDArray[np.float64]
Kind = Literal["box", "ring", "sphere", "particle"]
KINDS: tuple[Kind, ...] = ("box", "ring", "sphere", "particle")
SILENT = 1.0 / 510.0
"""A level below half an 8-bit step: pulses and echoes weaker than this are not drawn."""


@dataclass(frozen=True, slots=True)
class Layout:
    """Where things go and how they move; one place to tune the look."""

    lane_spacing: float = 2.2
    beat_width: float = 1.5  # world units per beat along x for scrolling bars
    beats_ahead: float = 8.0
    beats_behind: float = 4.0
    bar_height: float = 0.14
    bar_depth: float = 0.5
    pitch_span: float = 3.0  # bars fill y in [0.2, 0.2 + pitch_span]
    bar_glow: float = 0.1  # emission of a bar that is not sounding, relative to a full note
    orb_height: float = 1.6
    orb_radius: float = 0.45
    orb_pulse: float = 0.6
    orb_glow: float = 0.15
    ring_speed: float = 2.5  # world units of radius per second
    ring_start: float = 0.3
    particles_per_note: int = 16
    particle_life: float = 1.2  # seconds
    particle_speed: float = 3.0
    particle_gravity: float = -4.0
    particle_drag: float = 1.5  # 1/s, exponential, closed form
    particle_size: float = 0.06
    max_echoes: int = 8


DEFAULT_LAYOUT = Layout()


@dataclass(frozen=True, slots=True)
class CameraState:
    eye: tuple[float, float, float]
    target: tuple[float, float, float]
    up: tuple[float, float, float]
    fov_degrees: float  # vertical, as three.js PerspectiveCamera


@dataclass(frozen=True, slots=True)
class VisualBatch:
    """All objects of one kind: a 4x4 model matrix (row-major) and linear HDR emission each."""

    kind: Kind
    transforms: npt.NDArray[np.float32]  # (n, 4, 4)
    emission: npt.NDArray[np.float32]  # (n, 3), linear RGB, > 1 blooms
    track_index: npt.NDArray[np.int32]  # (n,)

    def __len__(self) -> int:
        return int(self.transforms.shape[0])

    @property
    def positions(self) -> npt.NDArray[np.float32]:
        return self.transforms[:, :3, 3]


@dataclass(frozen=True, slots=True)
class VisualObject:
    """One object, for tests and inspection; the renderer uses the batches."""

    kind: Kind
    track_id: str
    transform: tuple[tuple[float, ...], ...]
    emission: tuple[float, float, float]


@dataclass(frozen=True, slots=True)
class Scene:
    seconds: float
    beat: float
    camera: CameraState
    background: tuple[float, float, float]  # linear RGB
    batches: tuple[VisualBatch, ...]
    track_ids: tuple[str, ...]

    def batch(self, kind: Kind) -> VisualBatch:
        for batch in self.batches:
            if batch.kind == kind:
                return batch
        raise KeyError(kind)

    def objects(self) -> list[VisualObject]:
        out: list[VisualObject] = []
        for batch in self.batches:
            for i in range(len(batch)):
                out.append(
                    VisualObject(
                        batch.kind,
                        self.track_ids[int(batch.track_index[i])],
                        tuple(tuple(float(v) for v in row) for row in batch.transforms[i]),
                        (
                            float(batch.emission[i, 0]),
                            float(batch.emission[i, 1]),
                            float(batch.emission[i, 2]),
                        ),
                    )
                )
        return out

    def digest(self) -> str:
        """A hash of every number in the scene, for determinism checks."""
        import hashlib

        h = hashlib.sha256()
        h.update(np.array([self.seconds, self.beat], dtype=np.float64).tobytes())
        h.update(repr(self.camera).encode())
        for batch in self.batches:
            h.update(batch.kind.encode())
            h.update(batch.transforms.tobytes())
            h.update(batch.emission.tobytes())
            h.update(batch.track_index.tobytes())
        return h.hexdigest()


@dataclass(frozen=True)
class TrackModel:
    """One audible track's notes, sorted by start, with everything precomputed in seconds."""

    index: int
    track: Track
    colour: FloatArray  # linear RGB * intensity
    lane_z: float
    envelope: Envelope
    start_beat: FloatArray
    length_beats: FloatArray
    start: FloatArray  # seconds
    gate: FloatArray  # seconds the note is held
    pitch: FloatArray
    velocity: FloatArray
    note_id: npt.NDArray[np.int64]  # index in the track's original note list: stable for hashing
    longest_gate: float
    pitch_low: float
    pitch_high: float
    echo_delay: float  # seconds between echoes (0: no FeedbackDelay)
    echo_gains: FloatArray  # gain of echo k = 1..K

    @property
    def reach(self) -> float:
        """How long after its start a note can still be seen or heard (incl. echoes)."""
        echoes = self.echo_delay * len(self.echo_gains)
        return self.longest_gate + self.envelope.tail + echoes

    def window(self, start_from: float, start_to: float) -> slice:
        """Notes whose start lies in [start_from, start_to] (binary search)."""
        low = int(np.searchsorted(self.start, start_from, side="left"))
        high = int(np.searchsorted(self.start, start_to, side="right"))
        return slice(low, high)


@dataclass(frozen=True)
class SceneModel:
    project: Project
    tempo: TempoMap
    tracks: tuple[TrackModel, ...]
    layout: Layout = field(default=DEFAULT_LAYOUT)

    @classmethod
    def from_project(cls, project: Project, layout: Layout = DEFAULT_LAYOUT) -> SceneModel:
        tempo = project.tempo_map
        audible = project.audible_tracks
        count = len(audible)
        models = []
        for lane, track in enumerate(audible):
            index = project.tracks.index(track)
            lane_z = (lane - (count - 1) / 2) * layout.lane_spacing
            models.append(_track_model(project, tempo, index, track, lane_z, layout))
        return cls(project, tempo, tuple(models), layout)

    def at(self, seconds: Rational) -> Scene:
        """Everything visible ``seconds`` after beat 0."""
        exact = to_fraction(seconds)
        beat = self.tempo.time_to_beat(exact)
        t, b = float(exact), float(beat)
        parts: dict[Kind, list[tuple[FloatArray, FloatArray, npt.NDArray[np.int32]]]] = {
            kind: [] for kind in KINDS
        }
        for track in self.tracks:
            style = track.track.visual.style
            if style == "bars":
                parts["box"].append(_bars(track, t, b, self.layout))
            elif style == "rings":
                parts["ring"].append(_rings(track, t, self.layout))
            elif style == "particles":
                parts["particle"].append(
                    _particles(track, t, self.project.visualizer.seed, self.layout)
                )
            else:
                parts["sphere"].append(_orb(track, t, self.layout))
        batches = tuple(_concat(kind, parts[kind]) for kind in KINDS)
        bg = hex_to_linear(self.project.visualizer.background)
        return Scene(
            seconds=t,
            beat=b,
            camera=self.camera_at(beat),
            background=(float(bg[0]), float(bg[1]), float(bg[2])),
            batches=batches,
            track_ids=tuple(track.id for track in self.project.tracks),
        )

    def camera_at(self, beat: Fraction) -> CameraState:
        camera = self.project.visualizer.camera
        turns = float(beat / to_fraction(camera.orbit_beats)) if camera.orbit_beats else 0.0
        angle = 2 * math.pi * (turns % 1.0)
        d = camera.distance
        eye = (d * math.sin(angle) * 0.94, d * 0.34, d * math.cos(angle) * 0.94)
        return CameraState(eye, (0.0, 1.2, 0.0), (0.0, 1.0, 0.0), camera.fov)


def scene_at(project: Project, seconds: Rational) -> Scene:
    """Convenience: the scene of a project at a time (compile once with SceneModel for many)."""
    return SceneModel.from_project(project).at(seconds)


# --- building the model ---------------------------------------------------------------------


def _track_model(
    project: Project, tempo: TempoMap, index: int, track: Track, lane_z: float, layout: Layout
) -> TrackModel:
    notes = sorted(enumerate(track.notes), key=lambda item: (item[1].beat, item[0]))
    start_beats = [to_fraction(n.beat) for _, n in notes]
    lengths = [project.note_beats(n) for _, n in notes]
    starts = [tempo.beat_to_time(b) for b in start_beats]
    gates = [
        tempo.beat_to_time(b + ln) - s
        for b, ln, s in zip(start_beats, lengths, starts, strict=True)
    ]
    pitches = np.array([n.pitch for _, n in notes], dtype=np.float64)
    seconds_per_beat = float(60 / to_fraction(project.bpm))
    envelope = voice_envelope(voice_options(track.instrument), seconds_per_beat)
    delay, gains = _echoes(track, seconds_per_beat, layout.max_echoes)
    return TrackModel(
        index=index,
        track=track,
        colour=hex_to_linear(track.visual.color) * track.visual.intensity,
        lane_z=lane_z,
        envelope=envelope,
        start_beat=np.array([float(b) for b in start_beats], dtype=np.float64),
        length_beats=np.array([float(b) for b in lengths], dtype=np.float64),
        start=np.array([float(s) for s in starts], dtype=np.float64),
        gate=np.array([float(g) for g in gates], dtype=np.float64),
        pitch=pitches,
        velocity=np.array([n.velocity for _, n in notes], dtype=np.float64),
        note_id=np.array([i for i, _ in notes], dtype=np.int64),
        longest_gate=max((float(g) for g in gates), default=0.0),
        pitch_low=float(pitches.min()) if len(pitches) else 60.0,
        pitch_high=float(pitches.max()) if len(pitches) else 60.0,
        echo_delay=delay,
        echo_gains=gains,
    )


def _echoes(track: Track, seconds_per_beat: float, max_echoes: int) -> tuple[float, FloatArray]:
    """The first FeedbackDelay's repeats: echo k arrives k * delay later at wet * feedback^(k-1)."""
    for effect in track.effects:
        if isinstance(effect, FeedbackDelaySpec):
            options = effect.params
            delay = tone_seconds(options.delay_time, seconds_per_beat)
            if delay <= 0 or options.wet <= 0:
                return 0.0, np.zeros(0)
            gains = [options.wet * options.feedback**k for k in range(max_echoes)]
            kept = [g for g in gains if g >= SILENT]
            return delay, np.array(kept, dtype=np.float64)
    return 0.0, np.zeros(0)


# --- the four styles, closed form in time ---------------------------------------------------


def _pulses(
    track: TrackModel, t: float
) -> tuple[FloatArray, FloatArray, npt.NDArray[np.int64], FloatArray]:
    """Every sounding note and echo at time t: (elapsed, strength, note_id, pitch).

    strength = velocity * envelope level * echo gain; only strengths >= SILENT are returned.
    """
    window = track.window(t - track.reach, t)
    start, gate = track.start[window], track.gate[window]
    velocity, note_id, pitch = track.velocity[window], track.note_id[window], track.pitch[window]
    offsets = np.concatenate([[0.0], track.echo_delay * np.arange(1, len(track.echo_gains) + 1)])
    gains = np.concatenate([[1.0], track.echo_gains])
    elapsed = t - start[None, :] - offsets[:, None]
    level = track.envelope.level(elapsed, np.broadcast_to(gate, elapsed.shape))
    strength = level * velocity[None, :] * gains[:, None]
    keep = strength >= SILENT
    ids = np.broadcast_to(note_id, elapsed.shape)
    pitches = np.broadcast_to(pitch, elapsed.shape)
    return elapsed[keep], strength[keep], ids[keep], pitches[keep]


def _bars(
    track: TrackModel, t: float, beat: float, layout: Layout
) -> tuple[FloatArray, FloatArray, npt.NDArray[np.int32]]:
    """Note bars on a piano roll scrolling past the playhead at x = 0."""
    low = beat - layout.beats_behind
    # a bar is visible while any part of it is inside [low, beat + ahead]
    longest_beats = float(track.length_beats.max()) if len(track.length_beats) else 0.0
    first = int(np.searchsorted(track.start_beat, low - longest_beats, side="left"))
    last = int(np.searchsorted(track.start_beat, beat + layout.beats_ahead, side="right"))
    sb, lb = track.start_beat[first:last], track.length_beats[first:last]
    visible = sb + lb >= low
    sb, lb = sb[visible], lb[visible]
    start, gate = track.start[first:last][visible], track.gate[first:last][visible]
    velocity, pitch = track.velocity[first:last][visible], track.pitch[first:last][visible]
    level = track.envelope.level(t - start, gate) * velocity
    glow = layout.bar_glow * velocity + level
    x = ((sb + lb / 2) - beat) * layout.beat_width
    span = max(track.pitch_high - track.pitch_low, 12.0)
    y = 0.2 + (pitch - track.pitch_low) / span * layout.pitch_span
    n = len(sb)
    centres = np.stack([x, y, np.full(n, track.lane_z)], axis=1)
    scales = np.stack(
        [
            lb * layout.beat_width * 0.96,
            np.full(n, layout.bar_height),
            np.full(n, layout.bar_depth),
        ],
        axis=1,
    )
    return _transforms(centres, scales), track.colour[None, :] * glow[:, None], _ids(track, n)


def _rings(
    track: TrackModel, t: float, layout: Layout
) -> tuple[FloatArray, FloatArray, npt.NDArray[np.int32]]:
    """A flat ring on the lane's floor expanding from each note-on, fading with its envelope."""
    elapsed, strength, _, _ = _pulses(track, t)
    n = len(elapsed)
    radius = layout.ring_start + layout.ring_speed * elapsed
    centres = np.tile([0.0, 0.02, track.lane_z], (n, 1))
    scales = np.stack([radius, np.ones(n), radius], axis=1)
    return _transforms(centres, scales), track.colour[None, :] * strength[:, None], _ids(track, n)


def _particles(
    track: TrackModel, t: float, seed: int, layout: Layout
) -> tuple[FloatArray, FloatArray, npt.NDArray[np.int32]]:
    """A burst of particles per note-on, positions closed-form over a fixed lifetime."""
    life = layout.particle_life
    window = track.window(t - life, t)
    age = t - track.start[window]
    alive = (age >= 0) & (age < life)
    age = age[alive]
    note_id = track.note_id[window][alive]
    velocity = track.velocity[window][alive]
    count = layout.particles_per_note
    k = np.arange(count)
    # three uniforms per particle, keyed by (seed, track, note, particle, channel)
    u = [hash_uniform(seed, track.index, note_id[:, None], k[None, :], c) for c in range(3)]
    azimuth = 2 * math.pi * u[0]
    elevation = np.arcsin(0.2 + 0.8 * u[1])  # mostly upward
    speed = layout.particle_speed * (0.5 + 0.5 * u[2]) * (0.5 + velocity[:, None])
    direction = np.stack(
        [
            np.cos(elevation) * np.cos(azimuth),
            np.sin(elevation),
            np.cos(elevation) * np.sin(azimuth),
        ],
        axis=-1,
    )
    a = age[:, None]
    drag = layout.particle_drag
    travel = (1 - np.exp(-drag * a)) / drag  # integral of exp(-drag t): closed-form damped motion
    origin = np.array([0.0, layout.orb_height, track.lane_z])
    position = origin + direction * (speed * travel)[..., None]
    position[..., 1] += 0.5 * layout.particle_gravity * a**2 * 0.3
    shape = (len(age), count)
    fade = np.broadcast_to((1 - a / life) ** 2 * velocity[:, None], shape)
    size = np.broadcast_to(layout.particle_size * (1.2 - 0.7 * a / life), shape)
    n = len(age) * count
    centres = position.reshape(n, 3)
    scales = np.repeat(size.reshape(n, 1), 3, axis=1)
    emission = track.colour[None, :] * (fade.reshape(n, 1) * 2.0)
    return _transforms(centres, scales), emission, _ids(track, n)


def _orb(
    track: TrackModel, t: float, layout: Layout
) -> tuple[FloatArray, FloatArray, npt.NDArray[np.int32]]:
    """One glowing sphere per track whose size and glow follow the summed envelopes."""
    _, strength, _, _ = _pulses(track, t)
    pulse = min(float(strength.sum()), 1.5)
    radius = layout.orb_radius * (1 + layout.orb_pulse * pulse)
    centre = np.array([[0.0, layout.orb_height, track.lane_z]])
    scale = np.full((1, 3), radius)
    emission = track.colour[None, :] * (layout.orb_glow + pulse)
    return _transforms(centre, scale), emission, _ids(track, 1)


# --- helpers --------------------------------------------------------------------------------


def _transforms(centres: FloatArray, scales: FloatArray) -> FloatArray:
    n = centres.shape[0]
    m = np.zeros((n, 4, 4), dtype=np.float64)
    m[:, 0, 0], m[:, 1, 1], m[:, 2, 2] = scales[:, 0], scales[:, 1], scales[:, 2]
    m[:, :3, 3] = centres
    m[:, 3, 3] = 1.0
    return m


def _ids(track: TrackModel, n: int) -> npt.NDArray[np.int32]:
    return np.full(n, track.index, dtype=np.int32)


def _concat(
    kind: Kind, parts: list[tuple[FloatArray, FloatArray, npt.NDArray[np.int32]]]
) -> VisualBatch:
    if not parts:
        return VisualBatch(
            kind,
            np.zeros((0, 4, 4), np.float32),
            np.zeros((0, 3), np.float32),
            np.zeros(0, np.int32),
        )
    transforms = np.concatenate([p[0] for p in parts]).astype(np.float32)
    emission = np.concatenate([p[1] for p in parts]).astype(np.float32)
    ids = np.concatenate([p[2] for p in parts]).astype(np.int32)
    return VisualBatch(kind, transforms, emission, ids)
