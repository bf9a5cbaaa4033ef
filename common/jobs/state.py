"""Job state: two closed enums (phases and events) and one function for every transition.

A job's state is an immutable record; ``advance(state, event)`` returns the next state or refuses
an illegal move. Progress never goes backwards: chunk counts only grow, a duplicated event (a
message delivered twice) changes nothing.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from common.errors import FramefarmError
from common.jobs.chunks import ChunkLookup, ChunkPlan, SegmentPlan, spans_from_sizes
from common.jobs.messages import (
    AudioReady,
    ChunkCommitted,
    ChunkProgress,
    Event,
    JobFailed,
    SegmentEncoded,
    StitchProgress,
    VideoReady,
)
from common.jobs.records import STRICT_FIELDS


class Phase(enum.StrEnum):
    QUEUED = "queued"  # accepted, chunks published, nothing rendered yet
    RENDERING = "rendering"  # at least one chunk started
    STITCHING = "stitching"  # every chunk committed, the stitch is queued or running
    COMPLETE = "complete"  # the video is stored
    FAILED = "failed"  # a permanent error ended the job
    CANCELLED = "cancelled"  # stopped on request; intermediates removed

    @property
    def terminal(self) -> bool:
        return self in (Phase.COMPLETE, Phase.FAILED, Phase.CANCELLED)


class JobEventKind(enum.StrEnum):
    CHUNK_PROGRESS = "chunk_progress"  # queued|rendering -> rendering
    CHUNK_COMMITTED = "chunk_committed"  # queued|rendering -> rendering, or -> stitching (last one)
    SEGMENT_ENCODED = "segment_encoded"  # queued|rendering -> rendering, or -> stitching (last one)
    AUDIO_READY = "audio_ready"  # queued|rendering -> same, or -> stitching (frames all done)
    STITCH_PROGRESS = "stitch_progress"  # stitching -> stitching
    VIDEO_READY = "video_ready"  # stitching -> complete
    FAILED = "failed"  # any live phase -> failed
    CANCELLED = "cancelled"  # any live phase -> cancelled


class IllegalTransition(FramefarmError):  # noqa: N818
    """An event that cannot happen in the job's current phase."""


@dataclass(frozen=True, slots=True)
class CancelRequested:
    """Someone asked to stop the job (the API's DELETE, the CLI's Ctrl-C): not a bus message."""

    job_id: str


Transition = Event | CancelRequested
"""Everything ``advance`` folds into a job's state."""


@dataclass(frozen=True)
class JobState:
    """A job as the orchestrator sees it, stored at ``status.json``."""

    TYPE: ClassVar[str] = "job_state"
    VERSION: ClassVar[int] = 4
    READS: ClassVar[frozenset[int]] = frozenset({2, 3})  # only fields added since
    __pydantic_config__ = STRICT_FIELDS

    job_id: str
    frame_count: int
    chunk_frames: Mapping[int, int]  # chunk index -> its frame count (the plan)
    phase: Phase = Phase.QUEUED
    committed: frozenset[int] = frozenset()
    frames_in_flight: Mapping[int, int] = field(default_factory=dict)  # uncommitted chunk -> done
    stitched_frames: int = 0
    output_key: str | None = None
    duration_seconds: float | None = None
    size_bytes: int | None = None
    error: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    rendering_since: float | None = None  # first sign of rendering: the start of the fps clock
    stitching_since: float | None = None
    audio: bool = False  # the video gets a soundtrack: stitching waits for it
    audio_ready: bool = False
    segment_frames: Mapping[int, int] = field(default_factory=dict)
    """Segment index -> its frame count (the grid); empty for a format encoded in one pass."""
    encoded: frozenset[int] = frozenset()
    cache: bool = False  # the job reads and fills the cache (the export's ``cache`` setting)
    frames_reused: int = 0  # frames of committed chunks taken from the cache (hits)
    bytes_reused: int = 0  # their PNG bytes, and the reused segments' bytes
    bytes_written: int = 0  # PNG bytes rendered and stored by committed chunks
    segments_reused: frozenset[int] = frozenset()  # segments taken from the cache
    audio_reused: bool = False
    render_seconds: float = 0.0
    """Worker-seconds the committed chunks took to render (their sum, not wall time): with the
    frames rendered, the farm's cost per frame whatever the number of workers (version 4)."""
    estimated_seconds: float | None = None
    """What the farm estimated at submit (None: nothing measured yet), to say how far off it
    was when the job ends (version 4)."""

    @property
    def frames_rendered(self) -> int:
        """Frames of committed chunks that were rendered (cache misses)."""
        return sum(self.chunk_frames[i] for i in self.committed) - self.frames_reused

    @property
    def chunk_count(self) -> int:
        return len(self.chunk_frames)

    @property
    def segmented(self) -> bool:
        return bool(self.segment_frames)

    @property
    def frames_encoded(self) -> int:
        """Frames in the video's encoded form: encoded segments, or the one pass's progress."""
        if self.phase is Phase.COMPLETE:
            return self.frame_count
        if self.segmented:
            return sum(self.segment_frames[i] for i in self.encoded)
        return self.stitched_frames

    @property
    def frames_done(self) -> int:
        """Frames rendered: committed chunks in full, others as their last progress hint said."""
        committed = sum(self.chunk_frames[i] for i in self.committed)
        return committed + sum(self.frames_in_flight.values())

    @property
    def percent(self) -> float:
        """0-100 over the whole job, from counts that only grow: rendered frames, encoded frames
        and (segmented) the final join, weighted by what each costs."""
        if self.phase is Phase.COMPLETE:
            return 100.0
        total = max(self.frame_count, 1)
        rendered, encoded = self.frames_done / total, self.frames_encoded / total
        if self.segmented:
            joined = self.stitched_frames / total
            return round(min(60.0 * rendered + 35.0 * encoded + 5.0 * joined, 99.99), 2)
        return round(min(60.0 * rendered + 40.0 * encoded, 99.99), 2)


def new_job(
    job_id: str,
    chunk_frames: Mapping[int, int],
    now: float,
    *,
    audio: bool = False,
    segment_frames: Mapping[int, int] | None = None,
    cache: bool = False,
    estimated_seconds: float | None = None,
) -> JobState:
    """A queued job; with ``audio`` its stitch waits for the soundtrack too, with
    ``segment_frames`` for every segment of that grid; ``cache``: it uses the cache;
    ``estimated_seconds``: what the farm expected it to take."""
    return JobState(
        job_id,
        sum(chunk_frames.values()),
        dict(chunk_frames),
        created_at=now,
        updated_at=now,
        audio=audio,
        segment_frames=dict(segment_frames or {}),
        cache=cache,
        estimated_seconds=estimated_seconds,
    )


def unreadable_job(job_id: str, problem: str, now: float) -> JobState:
    """The state of a job whose stored status cannot be read: failed, saying why, so the rest of
    the service goes on (a corrupt record fails only its own job)."""
    return JobState(
        job_id,
        frame_count=0,
        chunk_frames={},
        phase=Phase.FAILED,
        error=f"the job's stored state is unreadable: {problem}",
        created_at=now,
        updated_at=now,
    )


def kind_of(event: Transition) -> JobEventKind:
    if isinstance(event, CancelRequested):
        return JobEventKind.CANCELLED
    if isinstance(event, ChunkProgress):
        return JobEventKind.CHUNK_PROGRESS
    if isinstance(event, ChunkCommitted):
        return JobEventKind.CHUNK_COMMITTED
    if isinstance(event, SegmentEncoded):
        return JobEventKind.SEGMENT_ENCODED
    if isinstance(event, AudioReady):
        return JobEventKind.AUDIO_READY
    if isinstance(event, StitchProgress):
        return JobEventKind.STITCH_PROGRESS
    if isinstance(event, VideoReady):
        return JobEventKind.VIDEO_READY
    return JobEventKind.FAILED


_ALLOWED: dict[JobEventKind, frozenset[Phase]] = {
    JobEventKind.CHUNK_PROGRESS: frozenset({Phase.QUEUED, Phase.RENDERING}),
    JobEventKind.CHUNK_COMMITTED: frozenset({Phase.QUEUED, Phase.RENDERING}),
    JobEventKind.SEGMENT_ENCODED: frozenset({Phase.QUEUED, Phase.RENDERING}),
    JobEventKind.AUDIO_READY: frozenset({Phase.QUEUED, Phase.RENDERING}),
    JobEventKind.STITCH_PROGRESS: frozenset({Phase.STITCHING}),
    JobEventKind.VIDEO_READY: frozenset({Phase.STITCHING}),
    JobEventKind.FAILED: frozenset({Phase.QUEUED, Phase.RENDERING, Phase.STITCHING}),
    JobEventKind.CANCELLED: frozenset({Phase.QUEUED, Phase.RENDERING, Phase.STITCHING}),
}


def can_apply(state: JobState, kind: JobEventKind) -> bool:
    return state.phase in _ALLOWED[kind]


def advance(state: JobState, event: Transition, now: float) -> JobState:
    """The state after ``event``; IllegalTransition if the phase does not allow it.

    Late hints are not errors for the caller to crash on: the orchestrator asks ``can_apply``
    first and drops stale progress (a chunk's progress arriving after the job moved on).
    """
    kind = kind_of(event)
    if not can_apply(state, kind):
        raise IllegalTransition(f"{kind.value} is not allowed while the job is {state.phase.value}")
    if isinstance(event, ChunkProgress):
        if event.chunk_index in state.committed or event.chunk_index not in state.chunk_frames:
            return state
        previous = state.frames_in_flight.get(event.chunk_index, 0)
        done = min(max(previous, event.frames_done), state.chunk_frames[event.chunk_index])
        in_flight = {**state.frames_in_flight, event.chunk_index: done}
        return dataclasses.replace(
            state,
            phase=Phase.RENDERING,
            frames_in_flight=in_flight,
            updated_at=now,
            rendering_since=state.rendering_since or now,
        )
    if isinstance(event, ChunkCommitted):
        if event.chunk_index not in state.chunk_frames:
            raise IllegalTransition(f"chunk {event.chunk_index} is not part of job {state.job_id}")
        if event.chunk_index in state.committed:
            return state  # delivered twice, or re-announced by an idempotent worker
        committed = state.committed | {event.chunk_index}
        in_flight = {k: v for k, v in state.frames_in_flight.items() if k != event.chunk_index}
        return _ready_to_stitch(
            dataclasses.replace(
                state,
                phase=Phase.RENDERING,
                committed=committed,
                frames_in_flight=in_flight,
                updated_at=now,
                rendering_since=state.rendering_since or now,
                frames_reused=state.frames_reused + event.frames_reused,
                bytes_reused=state.bytes_reused + event.bytes_reused,
                bytes_written=state.bytes_written + event.bytes_written,
                render_seconds=state.render_seconds + event.render_seconds,
            ),
            now,
        )
    if isinstance(event, SegmentEncoded):
        if event.segment_index not in state.segment_frames:
            raise IllegalTransition(
                f"segment {event.segment_index} is not part of job {state.job_id}"
            )
        if event.segment_index in state.encoded:
            return state  # delivered twice, or re-announced by an idempotent encoder
        encoded = state.encoded | {event.segment_index}
        reused = state.segments_reused | ({event.segment_index} if event.reused else set())
        return _ready_to_stitch(
            dataclasses.replace(
                state,
                phase=Phase.RENDERING,
                encoded=encoded,
                segments_reused=reused,
                bytes_reused=state.bytes_reused + (event.size if event.reused else 0),
                updated_at=now,
                rendering_since=state.rendering_since or now,
            ),
            now,
        )
    if isinstance(event, AudioReady):
        if state.audio_ready:
            return state  # delivered twice
        ready = dataclasses.replace(
            state, audio_ready=True, audio_reused=event.reused, updated_at=now
        )
        return _ready_to_stitch(ready, now)
    if isinstance(event, StitchProgress):
        done = min(max(state.stitched_frames, event.frames_done), state.frame_count)
        return dataclasses.replace(state, stitched_frames=done, updated_at=now)
    if isinstance(event, VideoReady):
        return dataclasses.replace(
            state,
            phase=Phase.COMPLETE,
            stitched_frames=state.frame_count,
            output_key=event.output_key,
            duration_seconds=event.duration_seconds,
            size_bytes=event.size_bytes,
            updated_at=now,
        )
    if isinstance(event, CancelRequested):
        return dataclasses.replace(state, phase=Phase.CANCELLED, updated_at=now)
    assert isinstance(event, JobFailed)
    return dataclasses.replace(state, phase=Phase.FAILED, error=event.error, updated_at=now)


def _ready_to_stitch(state: JobState, now: float) -> JobState:
    """Every chunk committed, every segment encoded and the soundtrack (if wanted) stored: on to
    stitching (the join of the segments, or GIF's one pass over the frames)."""
    frames_done = len(state.committed) == state.chunk_count
    segments_done = len(state.encoded) == len(state.segment_frames)
    if frames_done and segments_done and (state.audio_ready or not state.audio):
        return dataclasses.replace(state, phase=Phase.STITCHING, stitching_since=now)
    return state


def segments_to_encode(before: JobState, after: JobState) -> list[SegmentPlan]:
    """Segments that cross a chunk boundary and whose chunks are all committed in ``after`` but
    were not in ``before``: the encoder's work that this transition made possible (a segment
    inside one chunk is encoded by that chunk's worker)."""
    if after.committed == before.committed:
        return []  # only a commit readies frames: progress and segment events have none to send
    chunks = ChunkLookup(spans_from_sizes(before.chunk_frames))
    return [s for s in _unencoded_crossing(after) if not _frames_ready(before, s, chunks)]


def segments_waiting(state: JobState) -> list[SegmentPlan]:
    """Every crossing segment whose frames are all committed but that is not encoded yet (for a
    restarted orchestrator: sending them again is harmless, the encoder is idempotent)."""
    return list(_unencoded_crossing(state))


def _unencoded_crossing(state: JobState) -> Iterator[SegmentPlan]:
    if not state.segmented:
        return
    chunks = ChunkLookup(spans_from_sizes(state.chunk_frames))
    for segment in spans_from_sizes(state.segment_frames):
        if segment.index in state.encoded:
            continue
        needed = chunks.covering(segment)  # a chunk that holds the segment is among them
        inside_one = any(segment.within(chunk) for chunk in needed)
        if not inside_one and _committed(state, needed):
            yield segment


def _frames_ready(state: JobState, segment: SegmentPlan, chunks: ChunkLookup) -> bool:
    return _committed(state, chunks.covering(segment))


def _committed(state: JobState, chunks: Iterable[ChunkPlan]) -> bool:
    return all(chunk.index in state.committed for chunk in chunks)
