"""Every message between components: typed, versioned, immutable.

Commands (render a chunk, stitch) travel to workers; events (progress, commits, failures, the
finished video) travel back to the orchestrator. On the wire each is a map with full-word keys,
its ``type`` and its ``version``; nothing but ids, ranges, numbers and object keys, never pixels.
The bytes on the wire are msgpack, made in one place: the bus's encoder (common/adapters/bus.py).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from typing import Any, ClassVar, Union

from common.errors import DecodeError


@dataclass(frozen=True, slots=True)
class Message:
    TYPE: ClassVar[str] = ""
    VERSION: ClassVar[int] = 1

    job_id: str

    def to_wire(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        return {"type": self.TYPE, "version": self.VERSION, **data}


# --- commands -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RenderChunk(Message):
    """Render frames ``first_frame .. first_frame + frame_count - 1`` of a job."""

    TYPE: ClassVar[str] = "render_chunk"
    chunk_index: int
    first_frame: int
    frame_count: int


@dataclass(frozen=True, slots=True)
class RenderAudio(Message):
    """Render the job's soundtrack once (never split across chunks) and store it."""

    TYPE: ClassVar[str] = "render_audio"


@dataclass(frozen=True, slots=True)
class EncodeSegment(Message):
    """Encode segment ``segment_index`` (frames ``first_frame ..``) from the stored frames: sent
    for a segment that crosses a chunk boundary, once every chunk it needs is committed."""

    TYPE: ClassVar[str] = "encode_segment"
    segment_index: int
    first_frame: int
    frame_count: int


@dataclass(frozen=True, slots=True)
class StitchVideo(Message):
    """Every segment (or, for GIF, every chunk) and the soundtrack are stored: make the video."""

    TYPE: ClassVar[str] = "stitch_video"


# --- events ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChunkProgress(Message):
    """A hint: a worker has rendered ``frames_done`` of its chunk (may be lost, never trusted)."""

    TYPE: ClassVar[str] = "chunk_progress"
    chunk_index: int
    frames_done: int
    frame_count: int
    worker: str


@dataclass(frozen=True, slots=True)
class ChunkCommitted(Message):
    """A chunk's frames and manifest are stored (also re-sent for an already committed chunk)."""

    TYPE: ClassVar[str] = "chunk_committed"
    VERSION: ClassVar[int] = 2
    chunk_index: int
    frame_count: int
    render_seconds: float
    worker: str
    frames_reused: int = 0  # of frame_count, taken from the cache (version 2)
    bytes_reused: int = 0  # their PNG bytes
    bytes_written: int = 0  # PNG bytes rendered and stored


@dataclass(frozen=True, slots=True)
class SegmentEncoded(Message):
    """A segment's video and manifest are stored (also re-sent for an already encoded one)."""

    TYPE: ClassVar[str] = "segment_encoded"
    VERSION: ClassVar[int] = 2
    segment_index: int
    frame_count: int
    encode_seconds: float
    worker: str
    reused: bool = False  # an equal segment from the cache, not encoded (version 2)
    size: int = 0  # its bytes


@dataclass(frozen=True, slots=True)
class AudioReady(Message):
    """The soundtrack is stored at ``audio_key`` (also re-sent when it already was)."""

    TYPE: ClassVar[str] = "audio_ready"
    VERSION: ClassVar[int] = 2
    audio_key: str
    sample_count: int
    sample_rate: int
    render_seconds: float
    reused: bool = False  # an equal soundtrack from the cache (version 2)


@dataclass(frozen=True, slots=True)
class StitchProgress(Message):
    TYPE: ClassVar[str] = "stitch_progress"
    frames_done: int
    frame_count: int


@dataclass(frozen=True, slots=True)
class VideoReady(Message):
    """The video is stored at ``output_key``."""

    TYPE: ClassVar[str] = "video_ready"
    output_key: str
    frame_count: int
    duration_seconds: float
    size_bytes: int


@dataclass(frozen=True, slots=True)
class JobFailed(Message):
    """A permanent failure (retrying cannot help): the job ends with ``error``."""

    TYPE: ClassVar[str] = "job_failed"
    error: str
    component: str
    chunk_index: int | None = None


# --- between coordinators ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CancelJob(Message):
    """A coordinator that does not orchestrate asks the one that does (over the events queue)
    to cancel a job: only the orchestrator changes a job's state."""

    TYPE: ClassVar[str] = "cancel_job"


Command = RenderChunk | RenderAudio | EncodeSegment | StitchVideo
Event = (
    ChunkProgress
    | ChunkCommitted
    | SegmentEncoded
    | AudioReady
    | StitchProgress
    | VideoReady
    | JobFailed
)
EVENT_TYPES = (
    ChunkProgress,
    ChunkCommitted,
    SegmentEncoded,
    AudioReady,
    StitchProgress,
    VideoReady,
    JobFailed,
)

MESSAGE_TYPES: dict[str, type[Message]] = {
    cls.TYPE: cls
    for cls in (RenderChunk, RenderAudio, EncodeSegment, StitchVideo, *EVENT_TYPES, CancelJob)
}


def from_wire(data: Any) -> Message:
    """A message from its wire map; DecodeError says what is wrong with it."""
    if not isinstance(data, dict):
        raise DecodeError(f"expected a map, got {type(data).__name__}")
    kind = data.get("type")
    cls = MESSAGE_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise DecodeError(f"unknown message type {kind!r}")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= cls.VERSION:
        raise DecodeError(
            f"{kind}: unsupported version {version!r} (this build reads 1..{cls.VERSION})"
        )
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for field in dataclasses.fields(cls):
        if field.name in data:
            value = data[field.name]
        elif field.default is not dataclasses.MISSING:
            value = field.default
        else:
            raise DecodeError(f"{kind}: missing field {field.name!r}")
        if not _has_type(value, hints[field.name]):
            raise DecodeError(f"{kind}: field {field.name!r} has the wrong type ({value!r})")
        values[field.name] = value
    unknown = set(data) - {"type", "version"} - set(values)
    if unknown:
        raise DecodeError(f"{kind}: unknown fields {sorted(map(str, unknown))}")
    return cls(**values)


def _has_type(value: Any, hint: Any) -> bool:
    if typing.get_origin(hint) in (Union, types.UnionType):
        return any(_has_type(value, option) for option in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)
