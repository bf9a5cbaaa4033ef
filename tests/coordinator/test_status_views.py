"""A job's status document and WebSocket messages (coordinator/views.py), whole, for each phase:
the numbers a client shows (percent, frames, fps, time left, thumbnail) and the error it may see
(no host, address, path or object repr; bounded)."""

from __future__ import annotations

import dataclasses

import pytest

from common.jobs.state import JobState, Phase, new_job
from coordinator.views import (
    MAX_ERROR_CHARS,
    FeedMessages,
    eta_seconds,
    newest_committed_frame,
    public_error,
    render_fps,
    reuse_summary,
    socket_message,
    status_document,
    thumbnail_url,
)

JOB = "job-views-1"


def rendering() -> JobState:
    """100 frames in chunks of 40, 40, 20: chunk 0 in, 10 frames of chunk 1 done; rendering
    since t=100, last news at t=110."""
    return dataclasses.replace(
        new_job(JOB, {0: 40, 1: 40, 2: 20}, 90.0),
        phase=Phase.RENDERING,
        committed=frozenset({0}),
        frames_in_flight={1: 10},
        rendering_since=100.0,
        updated_at=110.0,
    )


def test_the_status_of_a_rendering_job_whole() -> None:
    assert status_document(rendering(), 120.0) == {
        "job_id": JOB,
        "phase": "rendering",
        "message": "Rendering and encoding",
        "percent": 30.0,  # 60 % for rendering: half of the frames
        "frames_done": 50,
        "frames_encoded": 0,
        "frames_total": 100,
        "segments_done": 0,
        "segments_total": 0,
        "chunks_done": 1,
        "chunks_total": 3,
        "render_fps": 5.0,  # 50 frames in 10 s
        "eta_seconds": 46.7,  # 20 s for 30 %: 70 % more
        "error": None,
        "estimated_seconds": None,
        "created_at": 90.0,
        "updated_at": 110.0,
        "duration_seconds": None,
        "size_bytes": None,
        "cache": {
            "enabled": False,
            "frames_reused": 0,
            "frames_rendered": 40,
            "segments_reused": 0,
            "segments_encoded": 0,
            "audio_reused": False,
            "bytes_reused": 0,
            "bytes_written": 0,
            "summary": "cache off",
        },
        "status_url": f"/api/exports/{JOB}",
        "events_url": f"/ws/exports/{JOB}",
        "download_url": None,
    }


def test_the_message_of_a_rendering_job_whole() -> None:
    assert socket_message(rendering(), 120.0) == {
        "type": "progress",
        "percent": 30.0,
        "message": "Rendering and encoding",
        "phase": "rendering",
        "framesDone": 50,
        "framesEncoded": 0,
        "framesTotal": 100,
        "etaSeconds": 46.7,
        "renderFps": 5.0,
        "framesReused": 0,
        "reuse": None,
        "thumbnailUrl": f"/api/exports/{JOB}/thumbnail?frame=39",
    }


def test_a_segmented_job_counts_its_segments_and_has_no_thumbnail_before_rendering() -> None:
    state = dataclasses.replace(
        new_job(JOB, {0: 40, 1: 40, 2: 20}, 90.0, segment_frames={0: 50, 1: 50}),
        encoded=frozenset({1}),
        stitched_frames=20,
    )
    document = status_document(state, 120.0)
    assert (document["segments_done"], document["segments_total"]) == (1, 2)
    assert document["frames_encoded"] == 50
    assert document["percent"] == 18.5  # 35 % x 1/2 + 5 % x 1/5
    message = socket_message(state, 120.0)
    assert (message["phase"], message["message"]) == ("queued", "Waiting for a render worker")
    assert message["thumbnailUrl"] is None
    assert message["framesEncoded"] == 50


def test_a_complete_job_links_its_video() -> None:
    state = dataclasses.replace(
        rendering(),
        phase=Phase.COMPLETE,
        committed=frozenset({0, 1, 2}),
        frames_in_flight={},
        duration_seconds=4.0,
        size_bytes=5000,
    )
    assert socket_message(state, 130.0) == {
        "type": "complete",
        "url": f"/api/exports/{JOB}/download",
        "percent": 100.0,
    }
    signed = "/api/exports/x/download?sig=1"
    assert socket_message(state, 130.0, download_url=signed)["url"] == signed
    document = status_document(state, 130.0)
    assert document["download_url"] == f"/api/exports/{JOB}/download"
    assert status_document(state, 130.0, download_url=signed)["download_url"] == signed
    assert (document["percent"], document["eta_seconds"], document["message"]) == (
        100.0,
        0.0,
        "Done",
    )
    assert (document["duration_seconds"], document["size_bytes"]) == (4.0, 5000)


def test_an_ended_job_s_message_says_why() -> None:
    failed = dataclasses.replace(rendering(), phase=Phase.FAILED, error="ffmpeg exited 1")
    assert socket_message(failed, 0.0) == {
        "type": "error",
        "message": "ffmpeg exited 1",
        "phase": "failed",
    }
    no_reason = dataclasses.replace(failed, error=None)
    assert socket_message(no_reason, 0.0)["message"] == "failed"
    cancelled = dataclasses.replace(rendering(), phase=Phase.CANCELLED, error="ignored")
    assert socket_message(cancelled, 0.0) == {
        "type": "error",
        "message": "the export was cancelled",
        "phase": "cancelled",
    }
    assert status_document(cancelled, 0.0)["message"] == "Cancelled"
    assert status_document(failed, 0.0)["message"] == "Failed"


def test_the_feed_passes_an_ended_job_s_message_as_it_is() -> None:
    feed = FeedMessages()
    assert feed.message(rendering(), 120.0)["percent"] == 30.0
    failed = dataclasses.replace(rendering(), phase=Phase.FAILED, error="boom")
    assert feed.message(failed, 120.0) == {"type": "error", "message": "boom", "phase": "failed"}


# --- rates and time left ----------------------------------------------------------------------


def test_render_fps_needs_a_start_frames_and_time() -> None:
    assert render_fps(rendering()) == 5.0
    assert render_fps(dataclasses.replace(rendering(), rendering_since=None)) is None
    nothing = dataclasses.replace(rendering(), committed=frozenset(), frames_in_flight={})
    assert render_fps(nothing) is None
    assert render_fps(dataclasses.replace(rendering(), updated_at=100.0)) is None  # no time yet
    # once stitching, the rate is of the rendering alone
    assert render_fps(dataclasses.replace(rendering(), stitching_since=102.0)) == 25.0


def test_render_fps_is_shown_to_a_hundredth_even_after_under_a_second() -> None:
    """50 frames in 3 s is 16.67 frames a second (not 17, nor 16.667); in half a second it is
    100: a fast start is a rate, not "no rate yet"."""
    assert render_fps(dataclasses.replace(rendering(), updated_at=103.0)) == 16.67
    assert render_fps(dataclasses.replace(rendering(), updated_at=100.5)) == 100.0


def segmented_joined(stitched: int) -> JobState:
    """A segmented job of 100 frames with nothing but ``stitched`` frames joined: 5 % x
    stitched / 100 of the work done."""
    return dataclasses.replace(
        new_job(JOB, {0: 100}, 0.0, segment_frames={0: 100}),
        phase=Phase.RENDERING,
        rendering_since=100.0,
        stitched_frames=stitched,
    )


def test_time_left_needs_a_start_time_and_one_percent_done() -> None:
    assert eta_seconds(rendering(), 120.0) == 46.7
    assert eta_seconds(dataclasses.replace(rendering(), rendering_since=None), 120.0) is None
    assert eta_seconds(rendering(), 100.0) is None  # no time has passed
    assert eta_seconds(rendering(), 99.0) is None  # a clock that went back
    assert eta_seconds(rendering(), 100.5) == 1.2  # half a second for 30 %: a time already
    assert segmented_joined(20).percent == 1.0
    assert eta_seconds(segmented_joined(20), 110.0) == 990.0  # 1 %: 99 times the time so far
    assert segmented_joined(19).percent == 0.95
    assert eta_seconds(segmented_joined(19), 110.0) is None


@pytest.mark.parametrize("phase", [Phase.COMPLETE, Phase.FAILED, Phase.CANCELLED])
def test_an_ended_job_has_no_time_left(phase: Phase) -> None:
    assert eta_seconds(dataclasses.replace(rendering(), phase=phase), 120.0) == 0.0


# --- the newest picture -----------------------------------------------------------------------


def test_the_thumbnail_is_the_last_frame_of_the_highest_committed_chunk() -> None:
    assert newest_committed_frame(dataclasses.replace(rendering(), committed=frozenset())) is None
    assert thumbnail_url(dataclasses.replace(rendering(), committed=frozenset())) is None
    assert newest_committed_frame(rendering()) == 39
    both = dataclasses.replace(rendering(), committed=frozenset({0, 2}))
    assert newest_committed_frame(both) == 99
    middle = dataclasses.replace(rendering(), committed=frozenset({1}))
    assert thumbnail_url(middle) == f"/api/exports/{JOB}/thumbnail?frame=79"


# --- errors as clients see them ---------------------------------------------------------------


def test_a_public_error_hides_where_the_servers_and_files_are() -> None:
    error = (
        "S3 at http://10.0.0.5:9000/bucket refused (host=minio.internal, port=9000); "
        "then 192.168.1.7:5672 and rabbit.local:5672 timed out; "
        "cannot open /var/lib/framefarm/jobs/x/soundtrack.wav in <common.Foo object at 0xdeadbeef>"
    )
    assert public_error(error) == (
        "S3 at <server> refused (<server>, <server>); "
        "then <server> and <server> timed out; "
        "cannot open …/soundtrack.wav in <object>"
    )
    assert public_error(None) is None


def test_a_public_error_is_bounded() -> None:
    exact = "x" * MAX_ERROR_CHARS
    assert public_error(exact) == exact
    longer = public_error(exact + "y")
    assert longer == "x" * (MAX_ERROR_CHARS - 1) + "…"
    assert len(longer) == MAX_ERROR_CHARS


def test_a_folder_in_an_error_is_hidden_whole() -> None:
    assert public_error("cannot write /var/lib/framefarm/ (full)") == "cannot write … (full)"


def test_the_bytes_reused_are_said_in_decimal_megabytes() -> None:
    """50,000 bytes is 0.05 MB: shown as 0.1 (rounded half up here), not 0.0."""
    state = dataclasses.replace(rendering(), cache=True, frames_reused=40, bytes_reused=50_000)
    assert reuse_summary(state) == "reused 40 of 40 frames (0.1 MB)"
