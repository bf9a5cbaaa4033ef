"""Split an export's frames into chunks: every frame exactly once, every worker kept busy."""

from __future__ import annotations

import math
from dataclasses import dataclass

MIN_CHUNK_FRAMES = 24
"""Below this, per-chunk overhead (queue, spec load, context warm-up, manifest) dominates."""
MAX_CHUNK_FRAMES = 1200
"""Keeps a chunk far under RabbitMQ's 30-minute consumer timeout even on a CPU renderer."""
CHUNKS_PER_WORKER = 4
"""Enough chunks that a slow or lost worker leaves a small tail, not half the job."""


@dataclass(frozen=True, slots=True)
class ChunkPlan:
    index: int
    first_frame: int
    frame_count: int

    @property
    def frames(self) -> range:
        return range(self.first_frame, self.first_frame + self.frame_count)


def automatic_chunk_frames(frame_count: int, workers: int) -> int:
    """About CHUNKS_PER_WORKER chunks per worker, within [MIN, MAX] frames a chunk."""
    target = math.ceil(frame_count / max(workers * CHUNKS_PER_WORKER, 1))
    return max(MIN_CHUNK_FRAMES, min(MAX_CHUNK_FRAMES, target))


def plan_chunks(
    frame_count: int, chunk_frames: int | None = None, workers: int = 1
) -> list[ChunkPlan]:
    """Consecutive chunks of ``chunk_frames`` (the last may be shorter) covering every frame."""
    if frame_count < 1:
        raise ValueError(f"frame_count must be >= 1, got {frame_count}")
    size = (
        chunk_frames if chunk_frames is not None else automatic_chunk_frames(frame_count, workers)
    )
    if size < 1:
        raise ValueError(f"chunk_frames must be >= 1, got {size}")
    return [
        ChunkPlan(index, first, min(size, frame_count - first))
        for index, first in enumerate(range(0, frame_count, size))
    ]
