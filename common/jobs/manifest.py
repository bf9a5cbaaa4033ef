"""A chunk's manifest: which frames it stored, with their sizes and SHA-256. Written last, after
every frame is stored, so its presence is the chunk's commit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from common.errors import NotRetryable
from common.jobs.messages import ChunkCommitted, SegmentEncoded
from common.jobs.records import STRICT_FIELDS


class ManifestError(NotRetryable):
    """Committed work that does not add up: a gap, a duplicate, or a frame that is not what its
    manifest recorded (an unreadable manifest is a DecodeError)."""


@dataclass(frozen=True, slots=True)
class FrameRecord:
    __pydantic_config__ = STRICT_FIELDS

    index: int
    key: str
    sha256: str
    size: int
    frame_key: str = ""  # the frame's cache key (empty when the job bypasses the cache)
    reused: bool = False  # taken from the cache, not rendered


@dataclass(frozen=True)
class ChunkManifest:
    TYPE: ClassVar[str] = "chunk_manifest"
    VERSION: ClassVar[int] = 3
    READS: ClassVar[frozenset[int]] = frozenset({2})  # only fields added since
    __pydantic_config__ = STRICT_FIELDS

    job_id: str
    chunk_index: int
    first_frame: int
    frames: tuple[FrameRecord, ...]
    render_seconds: float
    renderer: str  # GL renderer string: frames from different drivers differ in bytes
    worker: str
    bytes_written: int = 0  # PNG bytes rendered and stored by this chunk

    @property
    def frame_count(self) -> int:
        return len(self.frames)

    @property
    def frames_reused(self) -> int:
        return sum(1 for record in self.frames if record.reused)

    @property
    def bytes_reused(self) -> int:
        return sum(record.size for record in self.frames if record.reused)

    def announcement(self) -> ChunkCommitted:
        return ChunkCommitted(
            self.job_id,
            self.chunk_index,
            self.frame_count,
            self.render_seconds,
            self.worker,
            frames_reused=self.frames_reused,
            bytes_reused=self.bytes_reused,
            bytes_written=self.bytes_written,
        )


@dataclass(frozen=True)
class SegmentManifest:
    """An encoded segment: where it is and what its bytes are. Written after the segment's file,
    so its presence is the segment's commit."""

    TYPE: ClassVar[str] = "segment_manifest"
    VERSION: ClassVar[int] = 2
    READS: ClassVar[frozenset[int]] = frozenset({1})  # only fields added since
    __pydantic_config__ = STRICT_FIELDS

    job_id: str
    segment_index: int
    first_frame: int
    frame_count: int
    key: str
    sha256: str
    size: int
    encode_seconds: float
    encoded_from: str  # "memory" (by the worker that rendered it), "frames" (stored PNGs)
    # or "cache" (reused: an equal segment was encoded before)
    worker: str
    cache_key: str = ""  # the segment's cache key (empty when the job bypasses the cache)

    @property
    def reused(self) -> bool:
        return self.encoded_from == "cache"

    def announcement(self) -> SegmentEncoded:
        return SegmentEncoded(
            self.job_id,
            self.segment_index,
            self.frame_count,
            self.encode_seconds,
            self.worker,
            reused=self.reused,
            size=self.size,
        )


def ordered_frames(manifests: list[ChunkManifest], frame_count: int) -> list[FrameRecord]:
    """Every frame 0..frame_count-1 exactly once, in order; ManifestError names gaps/duplicates."""
    by_index: dict[int, FrameRecord] = {}
    duplicates: list[int] = []
    for manifest in manifests:
        for record in manifest.frames:
            if record.index in by_index:
                duplicates.append(record.index)
            by_index[record.index] = record
    missing = [i for i in range(frame_count) if i not in by_index]
    extra = sorted(i for i in by_index if not 0 <= i < frame_count)
    if duplicates or missing or extra:
        parts = []
        if missing:
            parts.append(f"missing frames {_ranges(missing)}")
        if duplicates:
            parts.append(f"duplicate frames {_ranges(sorted(set(duplicates)))}")
        if extra:
            parts.append(f"frames outside 0..{frame_count - 1}: {_ranges(extra)}")
        raise ManifestError("; ".join(parts))
    return [by_index[i] for i in range(frame_count)]


def _ranges(indices: list[int]) -> str:
    """``[1, 2, 3, 7]`` -> ``"1-3, 7"`` (at most ten spans)."""
    spans: list[tuple[int, int]] = []
    for i in indices:
        if spans and i == spans[-1][1] + 1:
            spans[-1] = (spans[-1][0], i)
        else:
            spans.append((i, i))
    text = [f"{a}" if a == b else f"{a}-{b}" for a, b in spans[:10]]
    return ", ".join(text) + (" ..." if len(spans) > 10 else "")
