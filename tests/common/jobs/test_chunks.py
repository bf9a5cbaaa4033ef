"""Chunk planning: every frame in exactly one chunk, in order, and enough chunks to keep each worker
busy without drowning the farm in tiny ones."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from common.jobs.chunks import (
    CHUNKS_PER_WORKER,
    MAX_CHUNK_FRAMES,
    MIN_CHUNK_FRAMES,
    automatic_chunk_frames,
    plan_chunks,
)

frame_counts = st.integers(min_value=1, max_value=20_000)


@given(frame_counts, st.integers(min_value=1, max_value=3_000))
def test_chunks_cover_every_frame_exactly_once_in_order(frame_count: int, size: int) -> None:
    chunks = plan_chunks(frame_count, size)
    frames = [f for chunk in chunks for f in chunk.frames]
    assert frames == list(range(frame_count))
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert all(c.frame_count == size for c in chunks[:-1])
    assert 1 <= chunks[-1].frame_count <= size


@given(frame_counts, st.integers(min_value=1, max_value=64))
def test_automatic_chunks_cover_every_frame_exactly_once(frame_count: int, workers: int) -> None:
    chunks = plan_chunks(frame_count, workers=workers)
    assert [f for c in chunks for f in c.frames] == list(range(frame_count))


def test_the_last_chunk_takes_the_remainder() -> None:
    chunks = plan_chunks(25, 10)
    assert [(c.index, c.first_frame, c.frame_count) for c in chunks] == [
        (0, 0, 10),
        (1, 10, 10),
        (2, 20, 5),
    ]
    assert chunks[2].frames == range(20, 25)


def test_a_chunk_larger_than_the_job_is_one_chunk() -> None:
    chunks = plan_chunks(7, 100)
    assert [(c.first_frame, c.frame_count) for c in chunks] == [(0, 7)]


@given(frame_counts, st.integers(min_value=1, max_value=64))
def test_automatic_size_stays_within_bounds(frame_count: int, workers: int) -> None:
    size = automatic_chunk_frames(frame_count, workers)
    assert MIN_CHUNK_FRAMES <= size <= MAX_CHUNK_FRAMES


@given(frame_counts, st.integers(min_value=1, max_value=64))
def test_automatic_size_aims_for_a_few_chunks_per_worker(frame_count: int, workers: int) -> None:
    size = automatic_chunk_frames(frame_count, workers)
    chunk_count = math.ceil(frame_count / size)
    if size < MAX_CHUNK_FRAMES:  # only the maximum may force more chunks than the target
        assert chunk_count <= workers * CHUNKS_PER_WORKER
    if MIN_CHUNK_FRAMES < size < MAX_CHUNK_FRAMES:  # unclamped: as small as the target allows
        assert size == math.ceil(frame_count / (workers * CHUNKS_PER_WORKER))


def test_automatic_size_examples() -> None:
    assert automatic_chunk_frames(4800, 4) == 300  # 16 chunks of 300 for 4 workers
    assert automatic_chunk_frames(50, 4) == MIN_CHUNK_FRAMES  # tiny jobs: no tiny chunks
    assert automatic_chunk_frames(1_000_000, 1) == MAX_CHUNK_FRAMES  # huge jobs: bounded chunks
    assert len(plan_chunks(4800, workers=4)) == 4 * CHUNKS_PER_WORKER


@pytest.mark.parametrize("frame_count", [0, -1])
def test_a_job_without_frames_is_refused(frame_count: int) -> None:
    with pytest.raises(ValueError, match="frame_count must be >= 1"):
        plan_chunks(frame_count, 10)


@pytest.mark.parametrize("size", [0, -5])
def test_a_chunk_size_below_one_is_refused(size: int) -> None:
    with pytest.raises(ValueError, match="chunk_frames must be >= 1"):
        plan_chunks(100, size)
