"""Split an export's frames into render chunks and encode segments: every frame exactly once in
each, every worker kept busy, and segments that depend on the export alone.

Chunks are the unit of rendering (a queue message each). Segments are the unit of encoding: a
fixed grid of frames, each encoded on its own starting with a keyframe, then joined without
re-encoding. The grid never depends on the chunk size or the number of workers, so the video's
bytes do not either. A segment that lies inside one chunk is encoded by the worker that renders
it, from the frames in memory; one that crosses a chunk boundary is encoded from the stored
frames once every chunk it needs is committed.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from common.jobs.records import STRICT_FIELDS

MIN_CHUNK_FRAMES = 24
"""Below this, per-chunk overhead (queue, spec load, context warm-up, manifest) dominates."""
MAX_CHUNK_FRAMES = 1200
"""Keeps a chunk far under RabbitMQ's 30-minute consumer timeout even on a CPU renderer."""
CHUNKS_PER_WORKER = 4
"""Enough chunks that a slow or lost worker leaves a small tail, not half the job."""
DEFAULT_SEGMENT_SECONDS = 2.0
"""Long enough that a keyframe per segment costs little, short enough that the last segment's
encode (the only encode after the last frame) is short."""
MAX_SEGMENT_FRAMES = MAX_CHUNK_FRAMES


@dataclass(frozen=True, slots=True)
class FrameSpan:
    """Consecutive frames of an export: a chunk or a segment."""

    __pydantic_config__ = STRICT_FIELDS

    index: int
    first_frame: int
    frame_count: int

    @property
    def frames(self) -> range:
        return range(self.first_frame, self.first_frame + self.frame_count)

    def within(self, other: FrameSpan) -> bool:
        return other.first_frame <= self.first_frame and self.frames[-1] <= other.frames[-1]

    def overlaps(self, other: FrameSpan) -> bool:
        return self.first_frame < other.first_frame + other.frame_count and (
            other.first_frame < self.first_frame + self.frame_count
        )


ChunkPlan = FrameSpan
SegmentPlan = FrameSpan


def automatic_chunk_frames(frame_count: int, workers: int, align: int = 1) -> int:
    """About CHUNKS_PER_WORKER chunks per worker, within [MIN, MAX] frames a chunk, rounded up to
    a multiple of ``align`` (the segment grid: then every segment is encoded in memory)."""
    target = math.ceil(frame_count / max(workers * CHUNKS_PER_WORKER, 1))
    size = max(MIN_CHUNK_FRAMES, min(MAX_CHUNK_FRAMES, target))
    if align > 1:
        size = max(align, min(math.ceil(size / align), MAX_CHUNK_FRAMES // align) * align)
    return size


def spans(frame_count: int, size: int) -> list[FrameSpan]:
    """Consecutive spans of ``size`` frames (the last may be shorter) covering every frame."""
    if frame_count < 1:
        raise ValueError(f"frame_count must be >= 1, got {frame_count}")
    if size < 1:
        raise ValueError(f"the span size must be >= 1, got {size}")
    return [
        FrameSpan(index, first, min(size, frame_count - first))
        for index, first in enumerate(range(0, frame_count, size))
    ]


def plan_chunks(
    frame_count: int, chunk_frames: int | None = None, workers: int = 1, align: int = 1
) -> list[ChunkPlan]:
    """The render chunks: ``chunk_frames`` each, or an automatic size aligned to ``align``."""
    size = (
        chunk_frames
        if chunk_frames is not None
        else automatic_chunk_frames(frame_count, workers, align)
    )
    return spans(frame_count, size)


def segment_frames_for(fps: Fraction, seconds: float = DEFAULT_SEGMENT_SECONDS) -> int:
    """Frames per segment: ``seconds`` of video at ``fps``, at least 1, at most the maximum."""
    return max(1, min(MAX_SEGMENT_FRAMES, round(fps * Fraction(seconds))))


def plan_segments(frame_count: int, segment_frames: int) -> list[SegmentPlan]:
    """The segment grid; empty when ``segment_frames`` is 0 (a format encoded in one pass)."""
    return spans(frame_count, segment_frames) if segment_frames > 0 else []


def inline_segments(chunk: ChunkPlan, segments: Iterable[SegmentPlan]) -> list[SegmentPlan]:
    """The segments that lie wholly inside ``chunk``: its worker encodes them from memory."""
    return [s for s in segments if s.within(chunk)]


def covering_chunks(segment: SegmentPlan, chunks: Iterable[ChunkPlan]) -> list[int]:
    """The chunks whose frames ``segment`` needs."""
    return [c.index for c in chunks if c.overlaps(segment)]


class ChunkLookup:
    """The chunks of a plan (consecutive, in order) found by frame: the chunks a segment needs in
    O(log chunks), where ``covering_chunks`` scans them all (the orchestrator asks for every
    segment of a job, and a long job on many workers has hundreds of each)."""

    def __init__(self, chunks: Sequence[ChunkPlan]) -> None:
        self.chunks = list(chunks)
        self._starts = [c.first_frame for c in self.chunks]

    def covering(self, segment: SegmentPlan) -> list[ChunkPlan]:
        """The chunks whose frames ``segment`` needs, in order (``covering_chunks``'s answer)."""
        last = segment.first_frame + segment.frame_count - 1
        low = max(bisect.bisect_right(self._starts, segment.first_frame) - 1, 0)
        high = bisect.bisect_right(self._starts, last)
        return [c for c in self.chunks[low:high] if c.overlaps(segment)]


def spans_from_sizes(sizes: Mapping[int, int]) -> list[FrameSpan]:
    """A plan (chunks or segments) back from index -> frame count: spans are consecutive, in
    index order, as planned."""
    plan, first = [], 0
    for index in sorted(sizes):
        plan.append(FrameSpan(index, first, sizes[index]))
        first += sizes[index]
    return plan


def segments_from_frames(segments: Iterable[SegmentPlan]) -> dict[int, int]:
    """Segment index -> frame count."""
    return {s.index: s.frame_count for s in segments}
