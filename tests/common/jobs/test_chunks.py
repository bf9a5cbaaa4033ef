"""Chunk and segment planning: every frame in exactly one chunk and one segment, in order, enough
chunks to keep each worker busy without drowning the farm in tiny ones, and a segment grid that
depends on the export alone."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from common.jobs.chunks import (
    CHUNKS_PER_WORKER,
    MAX_CHUNK_FRAMES,
    MAX_SEGMENT_FRAMES,
    MIN_CHUNK_FRAMES,
    ChunkLookup,
    SegmentPlan,
    automatic_chunk_frames,
    covering_chunks,
    inline_segments,
    plan_chunks,
    plan_segments,
    segment_frames_for,
    spans_from_sizes,
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
    with pytest.raises(ValueError, match="the span size must be >= 1"):
        plan_chunks(100, size)


# --- the segment grid ---------------------------------------------------------------------------


@given(
    frame_count=st.integers(1, 3000),
    chunk_frames=st.one_of(st.none(), st.integers(5, 700)),
    workers=st.integers(1, 100),
    seconds=st.sampled_from([1.0, 2.0, 4.5]),
    fps=st.sampled_from([Fraction(24), Fraction(30000, 1001), Fraction(60)]),
)
def test_the_grid_depends_on_the_export_alone(
    frame_count: int, chunk_frames: int | None, workers: int, seconds: float, fps: Fraction
) -> None:
    size = segment_frames_for(fps, seconds)
    segments = plan_segments(frame_count, size)
    assert [f for s in segments for f in s.frames] == list(range(frame_count))
    assert all(s.frame_count == size for s in segments[:-1])
    chunks = plan_chunks(frame_count, chunk_frames, workers, align=size)
    assert [f for c in chunks for f in c.frames] == list(range(frame_count))
    for segment in segments:  # inside exactly one chunk, or encoded from the frames of several
        holders = [c for c in chunks if segment.within(c)]
        needed = covering_chunks(segment, chunks)
        assert (len(holders) == 1 and needed == [holders[0].index]) or len(needed) > 1
    if chunk_frames is None:  # automatic chunks hold whole segments: all encoded in memory
        assert sum(len(inline_segments(c, segments)) for c in chunks) == len(segments)


def test_segment_length_is_seconds_of_video_at_the_rate() -> None:
    assert segment_frames_for(Fraction(30), 2.0) == 60
    assert segment_frames_for(Fraction(30000, 1001), 2.0) == 60
    assert segment_frames_for(Fraction(1), 0.25) == 1
    assert segment_frames_for(Fraction(240), 20.0) == MAX_SEGMENT_FRAMES


def test_a_format_in_one_pass_has_no_segments() -> None:
    assert plan_segments(100, 0) == []


def test_segments_inside_a_chunk_and_those_across_chunks() -> None:
    chunks = plan_chunks(30, 7)  # 0-6, 7-13, 14-20, 21-27, 28-29
    segments = plan_segments(30, 10)  # 0-9, 10-19, 20-29
    assert [inline_segments(c, segments) for c in chunks] == [[], [], [], [], []]
    assert [covering_chunks(s, chunks) for s in segments] == [[0, 1], [1, 2], [2, 3, 4]]
    chunks = plan_chunks(30, 20)  # 0-19, 20-29
    assert [[s.index for s in inline_segments(c, segments)] for c in chunks] == [[0, 1], [2]]
    assert spans_from_sizes({c.index: c.frame_count for c in chunks}) == chunks


@given(
    chunk_sizes=st.lists(st.integers(1, 50), min_size=1, max_size=30),
    first=st.integers(0, 1600),
    count=st.integers(1, 200),
)
def test_the_chunk_lookup_finds_what_a_scan_of_every_chunk_finds(
    chunk_sizes: list[int], first: int, count: int
) -> None:
    chunks = spans_from_sizes(dict(enumerate(chunk_sizes)))
    segment = SegmentPlan(0, first, count)  # inside the frames, across their end, or past it
    found = ChunkLookup(chunks).covering(segment)
    assert [c.index for c in found] == covering_chunks(segment, chunks)


def test_automatic_chunks_hold_whole_segments() -> None:
    assert automatic_chunk_frames(240, 2, align=60) == 60
    assert automatic_chunk_frames(25, 1, align=10) == 30  # at least 24 frames, whole segments
    assert automatic_chunk_frames(100_000, 1, align=60) == MAX_CHUNK_FRAMES
    assert automatic_chunk_frames(100_000, 1, align=70) % 70 == 0
