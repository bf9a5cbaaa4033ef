"""Which notes of a track sound, and when: the track's dry signal over any range of samples.

A ``PolySynth`` gives every note a voice of its own until ``maxPolyphony`` voices are busy; a
note beyond that is dropped, as Tone.js drops it (a voice is busy until its release ends). Any
other instrument is one monophonic voice: a new note-on takes the voice over and continues its
envelopes from their level at that moment (``Voice.retrigger``, as Tone.js's Envelope does) and
its oscillators from their phases. Where that continuation is exact (``Voice.seamless``: plain
waves) the new note's rendering simply replaces the old one at the note-on, so a fast attack keeps
its edge; otherwise the two renderings cross-fade over ``Voice.fade``. Of notes starting together
the last in the track's order sounds, as the last ``triggerAttack`` wins.

Notes start on the nearest sample to their exact time on the tempo map. An oscillator started
mid-quantum plays its frequency input delayed by its offset in the quantum until the next one,
as Chromium renders it; a PolySynth's new voices start theirs at 0 Hz until a sample into the
next render quantum, as measured (see ``NoteEvent.lead``); Tone reuses a finished voice at its
last frequency, which is not followed. Renderings are cached by ``Voice.key`` while later notes
can reuse them, within ``CACHE_SAMPLES`` (beyond it, those not sounding now are dropped and
rendered again if needed: the same input gives the same samples, so this changes nothing but
time).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Hashable
from dataclasses import dataclass, replace

import numpy as np

from common.audio.processors import RENDER_QUANTUM
from common.audio.synths import NoteEvent, Voice
from common.audio.units import FloatArray, midi_to_hz
from common.format.instruments import PolySynthSpec
from common.format.project import Project, Track
from common.timing.exact import to_fraction

CACHE_SAMPLES = 1 << 23
"""Samples of cached renderings one track keeps beyond those sounding now (64 MiB mono)."""


@dataclass(frozen=True)
class Scheduled:
    """A note that sounds: its note-on and end (absolute samples), and any cut by the next."""

    onset: int
    end: int
    cut: int  # from this sample on it fades out (== end when nothing cuts it)
    fade: int
    note: NoteEvent
    key: Hashable
    fade_in: int = 0  # samples it fades in over, when it takes the voice from a sounding note


def note_events(
    project: Project, track: Track, sample_rate: int, until_beat: float = math.inf
) -> list[tuple[int, NoteEvent]]:
    """(note-on sample, note) in play order (by beat, then position in the track).

    Notes after ``until_beat`` are left out: nothing they do reaches an earlier sample.
    """
    tempo = project.tempo_map
    events = []
    for index, note in sorted(enumerate(track.notes), key=lambda item: (item[1].beat, item[0])):
        if note.beat > until_beat:
            break
        beat = to_fraction(note.beat)
        start = tempo.beat_to_time(beat)
        gate = float(tempo.beat_to_time(beat + project.note_beats(note)) - start)
        onset = round(start * sample_rate)
        lead = -onset % RENDER_QUANTUM
        events.append((onset, NoteEvent(note.pitch, note.velocity, gate, index, lead=lead)))
    return events


def schedule(
    project: Project, track: Track, voice: Voice, sample_rate: int, until_beat: float = math.inf
) -> list[Scheduled]:
    """The notes of ``track`` (up to ``until_beat``) that sound, in onset order."""
    poly = isinstance(track.instrument, PolySynthSpec)
    initial = 0.0 if poly else voice.initial_hertz
    events = [
        (onset, replace(note, lead_hertz=initial, lead_delayed=not poly))
        for onset, note in note_events(project, track, sample_rate, until_beat)
    ]
    out: list[Scheduled] = []
    if isinstance(track.instrument, PolySynthSpec):
        limit = track.instrument.params.max_polyphony
        busy: list[int] = []  # end samples of the voices in use
        for onset, note in events:
            while busy and busy[0] <= onset:
                heapq.heappop(busy)
            if len(busy) >= limit:
                continue  # "Max polyphony exceeded. Note dropped."
            end = onset + voice.count(note)
            heapq.heappush(busy, end)
            out.append(Scheduled(onset, end, end, 0, note, voice.key(note)))
        return out
    fade = max(1, round(voice.fade * sample_rate))
    previous: tuple[int, NoteEvent] | None = None
    for position, (onset, given) in enumerate(events):
        following = events[position + 1][0] if position + 1 < len(events) else None
        if following == onset:
            continue  # a later note at the same instant takes the voice
        fade_in, note = 0, given
        if previous is not None:
            note = voice.retrigger(given, previous[1], onset - previous[0])
            if out and out[-1].end > onset:  # the oscillator runs on: its frequency changes now
                note = voice.continue_phases(
                    replace(note, lead=0), previous[1], onset - previous[0]
                )
                if voice.seamless(note):  # the new rendering goes on from the old one's sample
                    out[-1] = replace(out[-1], end=onset, cut=onset)
                else:
                    fade_in = fade
            else:  # it starts again where the last note left its frequency
                note = replace(note, lead_hertz=midi_to_hz(previous[1].pitch))
        previous = (onset, note)
        natural = onset + voice.count(note)
        key = voice.key(note)
        if following is not None and following < natural:
            end = min(natural, following + fade)
            out.append(Scheduled(onset, end, following, fade, note, key, fade_in))
        else:
            out.append(Scheduled(onset, natural, natural, 0, note, key, fade_in))
    return out


class TrackVoices:
    """The dry (pre-effects) signal of one track, rendered range by range in time order."""

    def __init__(self, voice: Voice, scheduled: list[Scheduled]) -> None:
        self.voice = voice
        self.scheduled = scheduled
        self.onsets = np.array([s.onset for s in scheduled], dtype=np.int64)
        self.longest = max((s.end - s.onset for s in scheduled), default=0)
        self.last_end: dict[Hashable, int] = {}
        self.needed: dict[Hashable, int] = {}  # samples a key's rendering must cover
        for s in scheduled:
            self.last_end[s.key] = max(self.last_end.get(s.key, 0), s.end)
            self.needed[s.key] = max(self.needed.get(s.key, 0), s.end - s.onset)
        self._cache: dict[Hashable, FloatArray] = {}

    @property
    def channels(self) -> int:
        return self.voice.channels

    def first_needed(self, sample: int, tail: int) -> int:
        """The earliest note-on whose sound, plus a ``tail`` of effects, reaches ``sample``."""
        starts = [s.onset for s in self.scheduled if s.onset < sample and s.end + tail > sample]
        return min(starts, default=sample)

    def render(self, first: int, stop: int) -> FloatArray | None:
        """Samples [first, stop) of the dry signal, or None when no note sounds there."""
        low = int(np.searchsorted(self.onsets, first - self.longest, side="left"))
        high = int(np.searchsorted(self.onsets, stop, side="left"))
        active = [s for s in self.scheduled[low:high] if s.end > first]
        if not active:
            return None
        missing: dict[Hashable, NoteEvent] = {}
        for s in active:
            if s.key not in self._cache:
                missing.setdefault(s.key, s.note)
        if missing:
            counts = [self.needed[key] for key in missing]
            rendered = self.voice.render(list(missing.values()), counts)
            self._cache.update(zip(missing, rendered, strict=True))
        out = np.zeros((stop - first, self.channels))
        for s in active:
            begin, end = max(first, s.onset), min(stop, s.end)
            piece = self._cache[s.key][begin - s.onset : end - s.onset]
            gain = s.note.velocity if self.voice.velocity == "gain" else 1.0
            if s.cut < end or begin < s.onset + s.fade_in:
                position = np.arange(begin, end)
                ramp = np.clip(1.0 - (position - s.cut) / max(s.fade, 1), 0.0, 1.0)
                if s.fade_in:
                    ramp *= np.clip((position - s.onset + 1) / s.fade_in, 0.0, 1.0)
                out[begin - first : end - first] += piece * (gain * ramp)[:, None]
            else:
                out[begin - first : end - first] += piece * gain
        for key in [k for k in self._cache if self.last_end[k] <= stop]:
            del self._cache[key]
        if sum(v.shape[0] * v.shape[1] for v in self._cache.values()) > CACHE_SAMPLES:
            sounding = {s.key for s in active if s.end > stop}
            for key in [k for k in self._cache if k not in sounding]:
                del self._cache[key]
        return out
