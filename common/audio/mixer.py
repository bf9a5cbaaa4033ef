"""A track's strip and the master bus: effects, volume, pan, and the sum of the audible tracks.

Each track is its voices' dry signal through its effect chain, then its ``volume`` (dB) and
``pan`` (equal power, as Web Audio's StereoPannerNode: a mono signal is spread by cos/sin of
(pan + 1) * pi/4; a stereo one keeps its sides and folds one into the other). Mute and solo
are :attr:`common.format.project.Project.audible_tracks`. An effect chain whose input has been
silent for longer than its tail is skipped (exact zeros) and its state cleared.
"""

from __future__ import annotations

import math

import numpy as np

from common.audio.processors import Effect, build_chain
from common.audio.synths import make_voice
from common.audio.units import FloatArray, db_to_gain
from common.audio.voices import TrackVoices, schedule
from common.format.instruments import voice_options
from common.format.project import Project, Track
from common.timing.exact import to_fraction


def pan_stereo(x: FloatArray, pan: float) -> FloatArray:
    """Web Audio ``StereoPannerNode`` for a (samples, 1 or 2) signal; returns (samples, 2)."""
    if x.shape[1] == 1:
        angle = (pan + 1) * math.pi / 4
        spread: FloatArray = x * np.array([math.cos(angle), math.sin(angle)])
        return spread
    left, right = x[:, 0], x[:, 1]
    if pan <= 0:
        angle = (pan + 1) * math.pi / 2
        return np.stack([left + right * math.cos(angle), right * math.sin(angle)], axis=1)
    angle = pan * math.pi / 2
    return np.stack([left * math.cos(angle), right + left * math.sin(angle)], axis=1)


def seconds_per_beat(project: Project) -> float:
    """Tone.js converts option notation ("8n") at the tempo it starts with (as the visuals do)."""
    return float(60 / to_fraction(project.bpm))


class TrackStrip:
    """One audible track: voices -> effects -> volume and pan, a block at a time."""

    def __init__(
        self, project: Project, track: Track, sample_rate: int, until_beat: float = math.inf
    ) -> None:
        """``until_beat``: notes after it are ignored (they start after the rendered range)."""
        index = project.tracks.index(track)
        seed = (project.visualizer.seed, index)
        beat = seconds_per_beat(project)
        voice = make_voice(
            voice_options(track.instrument), sample_rate, beat, seed, project.compat.tone_release
        )
        self.voices = TrackVoices(voice, schedule(project, track, voice, sample_rate, until_beat))
        self.chain: list[Effect] = build_chain(
            track.effects, voice.channels, sample_rate, beat, seed
        )
        self.tail = sum(effect.tail for effect in self.chain)
        self.gain = db_to_gain(track.volume)
        self.pan = track.pan
        self._quiet_since: int | None = -(1 << 62)  # first sample of the current dry silence

    def first_needed(self, sample: int) -> int:
        """The earliest sample to start rendering from for the output at ``sample`` to be right."""
        return self.voices.first_needed(sample, self.tail)

    def add_to(self, mix: FloatArray, start: int) -> None:
        """Adds this track's samples [start, start + len(mix)) into ``mix`` (samples, 2)."""
        stop = start + len(mix)
        dry = self.voices.render(start, stop)
        if dry is None:
            if self._quiet_since is None:
                self._quiet_since = start
            if start - self._quiet_since >= self.tail:
                for effect in self.chain:
                    effect.reset()
                return  # the chain has rung out: exact silence
            dry = np.zeros((stop - start, self.voices.channels))
        else:
            self._quiet_since = None
        signal = dry
        for effect in self.chain:
            signal = effect.process(signal, start)
        mix += pan_stereo(signal, self.pan) * self.gain
