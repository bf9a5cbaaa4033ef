"""What the cache saved, as clients see it: the job's state folds hits and bytes from the
commits, and the status document, the WebSocket message and the CLI's line say it in numbers
and words."""

from __future__ import annotations

from common.jobs.messages import AudioReady, ChunkCommitted, Event, SegmentEncoded, VideoReady
from common.jobs.state import JobState, advance, new_job
from coordinator.views import reuse_summary, socket_message, status_document

JOB = "job-reuse-0001"


def stitching_job() -> JobState:
    """1,800 frames in 2 chunks, 3 segments; 1,620 frames, 2 segments and the soundtrack reused:
    everything in, the join under way."""
    state = new_job(
        JOB, {0: 900, 1: 900}, 0.0, audio=True, segment_frames={0: 600, 1: 600, 2: 600}, cache=True
    )
    events: list[Event] = [
        ChunkCommitted(JOB, 0, 900, 1.0, "w", frames_reused=900, bytes_reused=9_000_000),
        ChunkCommitted(JOB, 1, 900, 9.0, "w", frames_reused=720, bytes_reused=7_200_000),
        ChunkCommitted(JOB, 1, 900, 9.0, "w", frames_reused=720, bytes_reused=7_200_000),  # twice
        SegmentEncoded(JOB, 0, 600, 0.0, "w", reused=True, size=1_000_000),
        SegmentEncoded(JOB, 1, 600, 0.0, "w", reused=True, size=1_000_000),
        SegmentEncoded(JOB, 2, 600, 3.0, "w", reused=False, size=1_000_000),
        AudioReady(JOB, "cache/audio/x.m4a", 100, 48_000, 0.0, reused=True),
    ]
    for time, event in enumerate(events, 1):
        state = advance(state, event, float(time))
    return state


def finished_job() -> JobState:
    video = VideoReady(JOB, "jobs/x/output/video.mp4", 1800, 60.0, 3_000_000)
    return advance(stitching_job(), video, 9.0)


def test_the_state_counts_each_commit_once() -> None:
    state = finished_job()
    assert (state.frames_reused, state.frames_rendered) == (1620, 180)
    assert state.segments_reused == frozenset({0, 1}) and state.audio_reused
    assert state.bytes_reused == 16_200_000 + 2_000_000


def test_the_status_document_and_the_feed_say_what_was_reused() -> None:
    state = finished_job()
    text = "reused 1,620 of 1,800 frames, 2 of 3 segments and the soundtrack (18.2 MB)"
    assert reuse_summary(state) == text
    cache = status_document(state, 10.0)["cache"]
    assert cache["frames_reused"] == 1620 and cache["frames_rendered"] == 180
    assert cache["segments_reused"] == 2 and cache["segments_encoded"] == 1
    assert cache["summary"] == text
    assert socket_message(stitching_job(), 10.0)["reuse"] == text


def test_a_job_without_the_cache_says_so() -> None:
    state = new_job(JOB, {0: 10}, 0.0)
    assert status_document(state, 1.0)["cache"]["summary"] == "cache off"
    assert socket_message(state, 1.0)["reuse"] is None
