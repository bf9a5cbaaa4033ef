"""Job state (common/jobs/state.py) as a specification: phases, the events that move between them,
and progress that never goes backwards however events are duplicated or reordered."""

from __future__ import annotations

import dataclasses
import itertools
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from common.errors import DecodeError
from common.jobs import records
from common.jobs.chunks import SegmentPlan, covering_chunks, spans_from_sizes
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
from common.jobs.state import (
    CancelRequested,
    IllegalTransition,
    JobEventKind,
    JobState,
    Phase,
    advance,
    can_apply,
    kind_of,
    new_job,
    segments_to_encode,
    segments_waiting,
    unreadable_job,
)

JOB = "job-00000001"
PLAN = {0: 10, 1: 10, 2: 5}  # 25 frames in three chunks
GRID = {0: 10, 1: 10, 2: 5}  # and three segments: each inside its chunk


def job(phase: Phase = Phase.QUEUED) -> JobState:
    """A segmented job (mp4, webm, mov)."""
    return dataclasses.replace(new_job(JOB, PLAN, now=100.0, segment_frames=GRID), phase=phase)


def one_pass_job(phase: Phase = Phase.QUEUED) -> JobState:
    """A job encoded in one pass over its frames (GIF)."""
    return dataclasses.replace(new_job(JOB, PLAN, now=100.0), phase=phase)


def encoded(segment: int) -> SegmentEncoded:
    return SegmentEncoded(JOB, segment, GRID[segment], 0.5, "w1")


def progress(chunk: int, done: int) -> ChunkProgress:
    return ChunkProgress(JOB, chunk, done, PLAN.get(chunk, 10), "w1")


def commit(chunk: int) -> ChunkCommitted:
    return ChunkCommitted(JOB, chunk, PLAN.get(chunk, 10), 1.5, "w1")


def ready() -> VideoReady:
    return VideoReady(JOB, f"jobs/{JOB}/output/video.mp4", 25, 2.5, 1234)


def failed() -> JobFailed:
    return JobFailed(JOB, "boom", "render_chunk", 1)


def event_of_kind(kind: JobEventKind) -> Event:
    events: dict[JobEventKind, Event] = {
        JobEventKind.CHUNK_PROGRESS: progress(0, 3),
        JobEventKind.CHUNK_COMMITTED: commit(0),
        JobEventKind.SEGMENT_ENCODED: encoded(0),
        JobEventKind.AUDIO_READY: AudioReady(JOB, "jobs/x/audio/soundtrack.wav", 10, 48_000, 0.1),
        JobEventKind.STITCH_PROGRESS: StitchProgress(JOB, 5, 25),
        JobEventKind.VIDEO_READY: ready(),
        JobEventKind.FAILED: failed(),
    }
    return events[kind]


def apply(state: JobState, kind: JobEventKind) -> JobState:
    if kind is JobEventKind.CANCELLED:
        return advance(state, CancelRequested(JOB), now=200.0)
    return advance(state, event_of_kind(kind), now=200.0)


LIVE = (Phase.QUEUED, Phase.RENDERING, Phase.STITCHING)
TRANSITIONS: dict[tuple[Phase, JobEventKind], Phase] = {
    (Phase.QUEUED, JobEventKind.CHUNK_PROGRESS): Phase.RENDERING,
    (Phase.RENDERING, JobEventKind.CHUNK_PROGRESS): Phase.RENDERING,
    (Phase.QUEUED, JobEventKind.CHUNK_COMMITTED): Phase.RENDERING,
    (Phase.RENDERING, JobEventKind.CHUNK_COMMITTED): Phase.RENDERING,
    (Phase.QUEUED, JobEventKind.SEGMENT_ENCODED): Phase.RENDERING,
    (Phase.RENDERING, JobEventKind.SEGMENT_ENCODED): Phase.RENDERING,
    (Phase.QUEUED, JobEventKind.AUDIO_READY): Phase.QUEUED,
    (Phase.RENDERING, JobEventKind.AUDIO_READY): Phase.RENDERING,
    (Phase.STITCHING, JobEventKind.STITCH_PROGRESS): Phase.STITCHING,
    (Phase.STITCHING, JobEventKind.VIDEO_READY): Phase.COMPLETE,
    **{(p, JobEventKind.FAILED): Phase.FAILED for p in LIVE},
    **{(p, JobEventKind.CANCELLED): Phase.CANCELLED for p in LIVE},
}
"""Every legal move: (phase, event kind) -> the phase after it. Anything else is illegal."""

ALL_PAIRS = [(p, k) for p in Phase for k in JobEventKind]


@pytest.mark.parametrize(("phase", "kind"), [pair for pair in ALL_PAIRS if pair in TRANSITIONS])
def test_legal_transitions(phase: Phase, kind: JobEventKind) -> None:
    state = job(phase)
    assert can_apply(state, kind)
    after = apply(state, kind)
    assert after.phase is TRANSITIONS[phase, kind]
    assert after.updated_at == 200.0


@pytest.mark.parametrize(("phase", "kind"), [pair for pair in ALL_PAIRS if pair not in TRANSITIONS])
def test_illegal_transitions_are_refused(phase: Phase, kind: JobEventKind) -> None:
    state = job(phase)
    assert not can_apply(state, kind)
    with pytest.raises(IllegalTransition, match=phase.value):
        apply(state, kind)


def test_terminal_phases() -> None:
    assert {p for p in Phase if p.terminal} == {Phase.COMPLETE, Phase.FAILED, Phase.CANCELLED}


@pytest.mark.parametrize("kind", [k for k in JobEventKind if k is not JobEventKind.CANCELLED])
def test_kind_of_names_each_event(kind: JobEventKind) -> None:
    assert kind_of(event_of_kind(kind)) is kind


def test_a_new_job_is_queued_with_nothing_done() -> None:
    state = new_job(JOB, PLAN, now=5.0)
    assert state.phase is Phase.QUEUED
    assert state.frame_count == 25
    assert state.chunk_count == 3
    assert (state.frames_done, state.percent) == (0, 0.0)
    assert (state.created_at, state.updated_at) == (5.0, 5.0)
    assert state.estimated_seconds is None  # nothing measured yet: no estimate
    assert new_job(JOB, PLAN, now=5.0, estimated_seconds=42.5).estimated_seconds == 42.5


def test_progress_counts_frames_in_flight_and_is_clamped_to_the_chunk() -> None:
    state = advance(job(), progress(0, 4), now=1.0)
    assert state.frames_done == 4
    state = advance(state, progress(2, 99), now=2.0)
    assert state.frames_done == 4 + 5
    state = advance(state, progress(0, 2), now=3.0)  # a late, older hint
    assert state.frames_done == 9


def test_a_commit_counts_its_chunk_in_full_and_replaces_its_hint() -> None:
    state = advance(job(), progress(0, 4), now=1.0)
    state = advance(state, commit(0), now=2.0)
    assert state.committed == {0}
    assert state.frames_in_flight == {}
    assert state.frames_done == 10
    assert state.phase is Phase.RENDERING


def test_a_duplicated_commit_changes_nothing() -> None:
    once = advance(job(Phase.RENDERING), commit(1), now=1.0)
    twice = advance(once, commit(1), now=2.0)
    assert twice == once


def test_progress_for_a_committed_chunk_changes_nothing() -> None:
    state = advance(job(), commit(0), now=1.0)
    assert advance(state, progress(0, 3), now=2.0) == state


def test_the_last_commit_moves_a_one_pass_job_to_stitching() -> None:
    state = one_pass_job()
    for chunk in (2, 0):
        state = advance(state, commit(chunk), now=1.0)
        assert state.phase is Phase.RENDERING
    state = advance(state, commit(1), now=2.0)
    assert state.phase is Phase.STITCHING
    assert state.frames_done == 25
    assert state.percent == 60.0  # all rendered, nothing encoded yet


def test_the_stitch_of_a_segmented_job_waits_for_the_last_segment() -> None:
    state = job()
    for chunk in PLAN:
        state = advance(state, commit(chunk), now=1.0)
    state = advance(advance(state, encoded(0), now=2.0), encoded(2), now=2.0)
    assert state.phase is Phase.RENDERING
    assert (state.frames_done, state.frames_encoded) == (25, 15)
    assert state.percent == 60.0 + 35.0 * 15 / 25
    state = advance(state, encoded(1), now=3.0)
    assert state.phase is Phase.STITCHING
    assert state.stitching_since == 3.0
    assert state.percent == 95.0  # only the join is left


def test_a_duplicated_or_foreign_segment_changes_nothing() -> None:
    state = advance(job(), encoded(1), now=1.0)
    assert advance(state, encoded(1), now=2.0) is state
    with pytest.raises(IllegalTransition, match="segment 7 is not part of job"):
        advance(state, SegmentEncoded(JOB, 7, 10, 0.1, "w"), now=2.0)


def test_stitch_progress_fills_the_last_share() -> None:
    state = dataclasses.replace(one_pass_job(Phase.STITCHING), committed=frozenset(PLAN))
    state = advance(state, StitchProgress(JOB, 10, 25), now=1.0)
    assert state.stitched_frames == 10
    assert state.percent == 60.0 + 40.0 * 10 / 25
    assert advance(state, StitchProgress(JOB, 3, 25), now=2.0).stitched_frames == 10
    joined = dataclasses.replace(job(Phase.STITCHING), committed=frozenset(PLAN))
    joined = dataclasses.replace(joined, encoded=frozenset(GRID))
    assert advance(joined, StitchProgress(JOB, 10, 25), now=1.0).percent == 97.0


def test_segments_across_chunks_are_sent_once_their_frames_are_all_committed() -> None:
    chunks = {0: 7, 1: 7, 2: 7, 3: 7, 4: 2}  # 0-6, 7-13, 14-20, 21-27, 28-29
    grid = {0: 10, 1: 10, 2: 10}  # 0-9 needs chunks 0, 1; 10-19: 1, 2; 20-29: 2, 3, 4
    state = new_job(JOB, chunks, now=0.0, segment_frames=grid)
    sent = []
    for chunk in (3, 0, 4, 1, 2):
        after = advance(state, ChunkCommitted(JOB, chunk, chunks[chunk], 0.1, "w"), now=1.0)
        sent.append([s.index for s in segments_to_encode(state, after)])
        state = after
    assert sent == [[], [], [], [0], [1, 2]]
    assert [s.index for s in segments_waiting(state)] == [0, 1, 2]
    state = advance(state, SegmentEncoded(JOB, 1, 10, 0.1, "w"), now=2.0)
    assert [s.index for s in segments_waiting(state)] == [0, 2]


def test_segments_inside_a_chunk_are_never_sent_to_the_encoder() -> None:
    state = job()
    for chunk in PLAN:
        after = advance(state, commit(chunk), now=1.0)
        assert segments_to_encode(state, after) == []
        state = after
    assert segments_waiting(state) == []


def _needs_the_encoder(after: JobState, before: JobState | None = None) -> list[int]:
    """What segments_to_encode and segments_waiting mean, by brute force over every chunk and
    segment: segments that no one chunk holds and that are not encoded yet, whose chunks are all
    committed (after the event, and not before it)."""
    chunks = spans_from_sizes(after.chunk_frames)
    segments, first = [], 0
    for index in sorted(after.segment_frames):
        segments.append(SegmentPlan(index, first, after.segment_frames[index]))
        first += after.segment_frames[index]

    def ready(state: JobState, segment: SegmentPlan) -> bool:
        return all(i in state.committed for i in covering_chunks(segment, chunks))

    return [
        s.index
        for s in segments
        if not any(s.within(c) for c in chunks)
        and s.index not in after.encoded
        and ready(after, s)
        and (before is None or not ready(before, s))
    ]


@st.composite
def segmented_jobs(draw: st.DrawFn) -> tuple[JobState, JobState]:
    """A job with any chunk plan and segment grid over the same frames, before and after some
    commits (any chunks, any order) and with some segments encoded."""
    chunk_sizes = draw(st.lists(st.integers(1, 30), min_size=1, max_size=12))
    frame_count = sum(chunk_sizes)
    cuts = draw(st.sets(st.integers(1, frame_count - 1), max_size=12)) if frame_count > 1 else set()
    edges = [0, *sorted(cuts), frame_count]
    grid = {i: b - a for i, (a, b) in enumerate(itertools.pairwise(edges))}
    plan = dict(enumerate(chunk_sizes))
    before_committed = draw(st.sets(st.sampled_from(sorted(plan))))
    after_committed = before_committed | draw(st.sets(st.sampled_from(sorted(plan))))
    done = frozenset(draw(st.sets(st.sampled_from(sorted(grid)))))
    job = new_job(JOB, plan, now=0.0, segment_frames=grid)
    before = dataclasses.replace(job, committed=frozenset(before_committed), encoded=done)
    return before, dataclasses.replace(before, committed=frozenset(after_committed))


@given(segmented_jobs())
def test_segments_to_encode_are_exactly_those_a_commit_made_ready(
    states: tuple[JobState, JobState],
) -> None:
    before, after = states
    assert [s.index for s in segments_to_encode(before, after)] == _needs_the_encoder(after, before)
    assert [s.index for s in segments_waiting(after)] == _needs_the_encoder(after)
    assert segments_to_encode(after, after) == []  # progress and segment events send none


def test_video_ready_completes_the_job_at_one_hundred_percent() -> None:
    state = dataclasses.replace(job(Phase.STITCHING), committed=frozenset(PLAN))
    state = advance(state, ready(), now=1.0)
    assert state.phase is Phase.COMPLETE
    assert state.percent == 100.0
    assert state.stitched_frames == 25
    assert state.output_key == f"jobs/{JOB}/output/video.mp4"
    assert (state.duration_seconds, state.size_bytes) == (2.5, 1234)


def test_a_failure_keeps_its_error() -> None:
    state = advance(job(Phase.RENDERING), failed(), now=1.0)
    assert state.phase is Phase.FAILED
    assert state.error == "boom"


def test_progress_for_an_unknown_chunk_is_ignored() -> None:
    state = job()
    assert advance(state, progress(7, 3), now=1.0) == state


def test_a_commit_for_an_unknown_chunk_is_refused() -> None:
    with pytest.raises(IllegalTransition, match="chunk 7 is not part of job"):
        advance(job(), commit(7), now=1.0)


events = st.one_of(
    st.builds(progress, st.integers(0, 3), st.integers(-3, 15)),
    st.builds(commit, st.integers(0, 2)),
    st.builds(lambda done: StitchProgress(JOB, done, 25), st.integers(-3, 30)),
    st.builds(ready),
)


@given(st.lists(events, max_size=40))
def test_progress_never_goes_backwards(sequence: list[Event]) -> None:
    state = job()
    for now, event in enumerate(sequence):
        if not can_apply(state, kind_of(event)):
            continue
        after = advance(state, event, now=float(now))
        assert after.frames_done >= state.frames_done
        assert after.percent >= state.percent
        assert 0 <= after.frames_done <= after.frame_count
        assert 0.0 <= after.percent <= 100.0
        state = after


def test_cancel_is_refused_once_the_job_has_ended() -> None:
    for phase in (Phase.COMPLETE, Phase.FAILED, Phase.CANCELLED):
        message = f"cancelled is not allowed while the job is {phase.value}"
        with pytest.raises(IllegalTransition, match=message):
            advance(job(phase), CancelRequested(JOB), now=1.0)


def test_state_round_trips_through_the_record_codec() -> None:
    state = advance(job(), progress(1, 6), now=1.0)
    state = advance(state, commit(0), now=2.0)
    raw = records.dump(state)
    assert json.loads(raw)["type"] == "job_state"
    assert json.loads(raw)["version"] == JobState.VERSION
    assert records.load(JobState, raw) == state
    assert records.dump(records.load(JobState, raw)) == raw  # equal records, equal bytes


def test_committed_chunks_add_up_their_render_seconds_once() -> None:
    """The worker-seconds of the job's rendering (the estimate's cost), not its wall time: a
    commit delivered twice counts once."""
    state = advance(job(), commit(0), now=1.0)
    state = advance(state, commit(0), now=2.0)
    state = advance(state, commit(1), now=3.0)
    assert state.render_seconds == pytest.approx(3.0)  # 1.5 each


def test_a_status_stored_by_version_3_is_read_without_render_seconds() -> None:
    data = json.loads(records.dump(job()))
    del data["render_seconds"], data["estimated_seconds"]
    read = records.load(JobState, json.dumps(data | {"version": 3}).encode())
    assert (read.render_seconds, read.estimated_seconds) == (0.0, None)


def test_a_finished_state_round_trips_through_the_record_codec() -> None:
    state = dataclasses.replace(job(Phase.STITCHING), committed=frozenset(PLAN))
    state = advance(state, ready(), now=3.0)
    assert records.load(JobState, records.dump(state)) == state


def test_a_status_of_another_version_is_refused() -> None:
    data = json.loads(records.dump(job())) | {"version": 1}
    with pytest.raises(DecodeError, match="job state version 1 is not 4"):
        records.load(JobState, json.dumps(data).encode())


@pytest.mark.parametrize(
    "change",
    [
        {"surprise": 1},  # an unknown field
        {"phase": "paused"},  # not a phase
        {"committed": "all"},  # not a set of chunk indices
        {"frame_count": None},
        {"type": "job_spec"},  # another record
    ],
)
def test_a_corrupt_status_is_a_decode_error(change: dict[str, Any]) -> None:
    data = json.loads(records.dump(job())) | change
    with pytest.raises(DecodeError, match="job state"):
        records.load(JobState, json.dumps(data).encode())


@pytest.mark.parametrize("raw", [b"", b"{oops", b"\xff\xfe", b"[]", b"null", b"[" * 100_000])
def test_bytes_that_are_not_a_record_are_a_decode_error(raw: bytes) -> None:
    with pytest.raises(DecodeError, match="job state is corrupt"):
        records.load(JobState, raw)


def test_an_unreadable_job_is_failed_and_says_why() -> None:
    state = unreadable_job(JOB, "not JSON", now=5.0)
    assert state.phase is Phase.FAILED and state.phase.terminal
    assert state.error == "the job's stored state is unreadable: not JSON"
    for kind in JobEventKind:
        assert not can_apply(state, kind)


# --- fields a transition must set, each pinned (mutation testing found them unchecked) ------


SOUNDTRACK = AudioReady(JOB, "jobs/x/audio/soundtrack.wav", 10, 48_000, 0.1)


def test_an_unreadable_job_is_failed_empty_and_dated_now() -> None:
    state = unreadable_job(JOB, "status.json is corrupt", now=123.0)
    assert (state.job_id, state.phase) == (JOB, Phase.FAILED)
    assert state.error == "the job's stored state is unreadable: status.json is corrupt"
    assert (state.frame_count, dict(state.chunk_frames)) == (0, {})
    assert (state.created_at, state.updated_at) == (123.0, 123.0)
    assert state.percent == 0.0


def test_a_new_job_remembers_whether_it_waits_for_a_soundtrack() -> None:
    assert new_job(JOB, PLAN, now=1.0, audio=True).audio is True
    assert new_job(JOB, PLAN, now=1.0).audio is False


def test_a_first_progress_hint_of_zero_frames_counts_zero() -> None:
    state = advance(job(), progress(0, 0), now=101.0)
    assert (dict(state.frames_in_flight), state.frames_done) == ({0: 0}, 0)


@pytest.mark.parametrize(
    "first", [progress(0, 3), commit(0), encoded(0)], ids=["progress", "commit", "segment"]
)
def test_the_first_sign_of_rendering_starts_the_clock_and_later_ones_keep_it(
    first: Event,
) -> None:
    started = advance(job(), first, now=101.0)
    assert started.rendering_since == 101.0
    later = advance(advance(started, progress(1, 2), now=102.0), commit(1), now=103.0)
    assert later.rendering_since == 101.0
    assert advance(later, encoded(1), now=104.0).rendering_since == 101.0


def test_the_soundtrack_arriving_last_starts_the_stitch_at_that_moment() -> None:
    state = dataclasses.replace(job(), audio=True)
    for chunk in PLAN:
        state = advance(state, commit(chunk), now=101.0)
    for segment in GRID:
        state = advance(state, encoded(segment), now=102.0)
    assert (state.phase, state.audio_ready) == (Phase.RENDERING, False)  # waits for the sound
    state = advance(state, SOUNDTRACK, now=103.0)
    assert (state.phase, state.audio_ready, state.stitching_since) == (Phase.STITCHING, True, 103.0)


def test_the_soundtrack_arriving_first_is_remembered_until_the_frames_are_done() -> None:
    state = advance(dataclasses.replace(job(), audio=True), SOUNDTRACK, now=101.0)
    assert (state.phase, state.audio_ready, state.updated_at) == (Phase.QUEUED, True, 101.0)
    assert advance(state, SOUNDTRACK, now=102.0) == state  # delivered twice: nothing changes
    for chunk in PLAN:
        state = advance(state, commit(chunk), now=102.0)
    for segment in GRID:
        state = advance(state, encoded(segment), now=103.0)
    assert (state.phase, state.stitching_since) == (Phase.STITCHING, 103.0)


def test_a_status_stored_by_the_previous_build_is_read_without_cache_figures() -> None:
    """Version 2 had every field but the cache's: a job in flight across an upgrade goes on."""
    cache_fields = {"cache", "frames_reused", "bytes_reused", "bytes_written", "segments_reused"}
    stored = json.loads(records.dump(job())) | {"version": 2}
    for name in cache_fields | {"audio_reused"}:
        stored.pop(name, None)
    assert records.load(JobState, json.dumps(stored).encode()) == job()


def test_the_last_chunk_of_a_one_pass_job_starts_the_stitch_at_that_moment() -> None:
    """A GIF has no segments: its last commit is what moves it on, and the stitch's clock (the
    render rate stops there) starts then."""
    state = advance(
        new_job("gif", {0: 10, 1: 5}, 100.0), ChunkCommitted("gif", 0, 10, 1.0, "w"), 101.0
    )
    assert (state.phase, state.stitching_since) == (Phase.RENDERING, None)
    state = advance(state, ChunkCommitted("gif", 1, 5, 1.0, "w"), now=104.0)
    assert (state.phase, state.stitching_since) == (Phase.STITCHING, 104.0)


def test_the_bytes_written_by_each_commit_add_up_once() -> None:
    state = new_job("job", {0: 10, 1: 5}, 100.0)
    first = ChunkCommitted("job", 0, 10, 1.0, "w", bytes_written=1000)
    state = advance(state, first, 101.0)
    state = advance(state, first, 102.0)  # delivered twice: counted once
    state = advance(state, ChunkCommitted("job", 1, 5, 1.0, "w", bytes_written=300), 103.0)
    assert state.bytes_written == 1300
