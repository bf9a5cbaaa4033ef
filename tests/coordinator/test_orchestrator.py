"""The orchestrator (coordinator/orchestrator.py) over a local store and a recorded send: it submits
jobs, folds worker events into their state, stitches once, cancels, and picks up where the store
says a job is after a restart."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import pytest

from common.adapters.storage import LocalStore, StorageError
from common.config import Limits
from common.format.validation import Export, validate_export
from common.jobs import records
from common.jobs.chunks import inline_segments, plan_segments, spans_from_sizes
from common.jobs.estimate import Sample
from common.jobs.keys import JobKeys
from common.jobs.manifest import ChunkManifest, FrameRecord, SegmentManifest
from common.jobs.messages import (
    AudioReady,
    ChunkCommitted,
    ChunkProgress,
    EncodeSegment,
    JobFailed,
    Message,
    RenderAudio,
    RenderChunk,
    SegmentEncoded,
    StitchProgress,
    StitchVideo,
    VideoReady,
)
from common.jobs.state import JobState, Phase, Transition
from coordinator.orchestrator import PROGRESS_SAVE_INTERVAL, NotStarted, Orchestrator, UnknownJob
from tests.factories import project_data

SETTINGS: dict[str, Any] = {"width": 64, "height": 36, "fps": 10, "audio": False}
PROJECT = project_data(durationBeats=5)  # 2.5 s at 120 bpm: 25 frames at 10 fps
CHUNKS = {0: 10, 1: 10, 2: 5}


SEGMENT_SECONDS = 1.0  # 10 frames a segment: chunks of 10 hold whole segments


class InlineEncodingOrchestrator(Orchestrator):
    """As a render worker does, a chunk's commit comes after the commits of the segments inside
    it (here chunk i of 10 frames holds segment i), so these tests can speak of chunks alone."""

    def handle(self, event: Transition) -> JobState | None:
        if isinstance(event, ChunkCommitted) and event.job_id in self._states:
            state = self._states[event.job_id]
            chunks = spans_from_sizes(state.chunk_frames)
            segments = plan_segments(state.frame_count, 10 if state.segmented else 0)
            chunk = next((c for c in chunks if c.index == event.chunk_index), None)
            for segment in inline_segments(chunk, segments) if chunk else []:
                encoded = SegmentEncoded(event.job_id, segment.index, segment.frame_count, 0.1, "w")
                super().handle(encoded)
        return super().handle(event)


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Farm:
    """An orchestrator with its store, clock and everything it sent."""

    def __init__(self, root: Path, *, keep_intermediates: bool = False) -> None:
        self.root = root
        self.store = LocalStore(root)
        self.clock = Clock()
        self.sent: list[Message] = []
        self.orchestrator = self.restart(keep_intermediates=keep_intermediates)

    def restart(self, *, keep_intermediates: bool = False) -> Orchestrator:
        """A new orchestrator on the same store (the old one's memory is gone)."""
        self.orchestrator = InlineEncodingOrchestrator(
            self.store,
            self.sent.append,
            clock=self.clock,
            keep_intermediates=keep_intermediates,
            segment_seconds=SEGMENT_SECONDS,
        )
        return self.orchestrator

    def submit(self, chunk_frames: int | None = 10, *, audio: bool = False) -> JobState:
        settings = {**SETTINGS, "audio": audio}
        state = self.orchestrator.submit(
            validate_export(PROJECT, settings, Limits()),
            chunk_frames=chunk_frames,
            name="song",
        )
        self.clock.now += 1.0
        return state

    def stored_state(self, job_id: str) -> JobState:
        return records.load(JobState, self.store.get(JobKeys(job_id).status))

    def stitches(self) -> list[Message]:
        return [m for m in self.sent if isinstance(m, StitchVideo)]

    def store_chunk(self, job_id: str, index: int) -> None:
        """What a worker leaves behind for a committed chunk: its frames, then its manifest."""
        keys = JobKeys(job_id)
        first = index * 10
        frame_records = []
        for frame in range(first, first + CHUNKS[index]):
            self.store.put(keys.frame(frame), b"png")
            frame_records.append(FrameRecord(frame, keys.frame(frame), "0" * 64, 3))
        segment = SegmentManifest(
            job_id,
            index,
            first,
            CHUNKS[index],
            keys.segment(index, "mp4"),
            "0" * 64,
            3,
            0.1,
            "memory",
            "w",
        )  # the segment inside the chunk, committed before it
        self.store.put(segment.key, b"mp4")
        self.store.put(keys.segment_manifest(index), records.dump(segment))
        manifest = ChunkManifest(job_id, index, first, tuple(frame_records), 1.0, "llvmpipe", "w")
        self.store.put(keys.chunk_manifest(index), records.dump(manifest))


def export() -> Export:
    return validate_export(PROJECT, SETTINGS, Limits())


def commit(job_id: str, index: int) -> ChunkCommitted:
    return ChunkCommitted(job_id, index, CHUNKS[index], 1.0, "w")


def progress(job_id: str, index: int, done: int) -> ChunkProgress:
    return ChunkProgress(job_id, index, done, CHUNKS[index], "w")


def ready(job_id: str) -> VideoReady:
    return VideoReady(job_id, JobKeys(job_id).output("mp4"), 25, 2.5, 4096)


@pytest.fixture
def farm(tmp_path: Path) -> Farm:
    return Farm(tmp_path)


def render_all(farm: Farm, job_id: str) -> JobState | None:
    state = None
    for index in CHUNKS:
        farm.store_chunk(job_id, index)
        state = farm.orchestrator.handle(commit(job_id, index))
    return state


# --- submitting ---------------------------------------------------------------------------------


def test_submit_stores_the_spec_and_status_and_sends_one_command_per_chunk(farm: Farm) -> None:
    state = farm.submit(chunk_frames=10)
    keys = JobKeys(state.job_id)
    assert farm.store.exists(keys.spec)
    assert farm.store.exists(keys.status)
    assert farm.stored_state(state.job_id) == state
    assert state.phase is Phase.QUEUED
    assert (state.frame_count, dict(state.chunk_frames)) == (25, CHUNKS)
    assert farm.sent == [
        RenderChunk(state.job_id, 0, 0, 10),
        RenderChunk(state.job_id, 1, 10, 10),
        RenderChunk(state.job_id, 2, 20, 5),
    ]


def test_the_stored_spec_rebuilds_the_export(farm: Farm) -> None:
    state = farm.submit()
    spec = farm.orchestrator.spec(state.job_id)
    assert (spec.job_id, spec.name, spec.frame_count) == (state.job_id, "song", 25)
    assert spec.project == PROJECT
    assert spec.settings == SETTINGS
    assert [c.first_frame for c in spec.chunks] == [0, 10, 20]
    assert spec.export().frame_count == 25


def test_submit_without_a_chunk_size_plans_automatically(farm: Farm) -> None:
    state = farm.submit(chunk_frames=None)
    assert state.chunk_count == 1  # 25 frames: at least 24 a chunk, in whole segments of 10
    assert [m for m in farm.sent if isinstance(m, RenderChunk)] == [
        RenderChunk(state.job_id, 0, 0, 25),
    ]


def long_export(seconds: int, **settings: Any) -> Export:
    """``seconds`` of PROJECT's song (2 beats a second) at 10 fps: ten frames a second."""
    project = project_data(durationBeats=2 * seconds)
    return validate_export(project, {**SETTINGS, **settings}, Limits())


def test_an_automatic_plan_gives_each_worker_about_four_chunks(farm: Farm) -> None:
    """A slow or lost worker then leaves a small tail; a submit that does not say how many
    workers there are plans for one."""
    orchestrator = farm.orchestrator
    alone = orchestrator.submit(long_export(40), chunk_frames=None)
    shared = orchestrator.submit(long_export(40), chunk_frames=None, workers=2)
    assert dict(alone.chunk_frames) == {i: 100 for i in range(4)}
    assert dict(shared.chunk_frames) == {i: 50 for i in range(8)}


def test_a_gif_is_planned_without_segments_in_chunks_of_any_length(farm: Farm) -> None:
    """A GIF is encoded in one pass (one palette): no segment grid, so nothing to align the
    chunks to; 100 frames on one worker are 4 chunks of exactly 25."""
    state = farm.orchestrator.submit(long_export(10, format="gif"), chunk_frames=None)
    assert dict(state.chunk_frames) == {i: 25 for i in range(4)}
    assert not state.segmented
    assert farm.orchestrator.spec(state.job_id).segments == ()


def test_the_submitter_and_the_farms_estimate_are_stored_with_the_job(farm: Farm) -> None:
    """The owner decides who may see the job, the estimate is what the page shows before any
    progress: both must outlive the orchestrator's memory."""
    state = farm.orchestrator.submit(export(), owner="alice", estimated_seconds=12.5)
    assert state.estimated_seconds == 12.5
    restarted = farm.restart()
    assert restarted.state(state.job_id).estimated_seconds == 12.5
    assert restarted.spec(state.job_id).owner == "alice"


def test_a_job_submitted_without_a_name_downloads_as_video(farm: Farm) -> None:
    state = farm.orchestrator.submit(export())
    assert farm.orchestrator.spec(state.job_id).name == "video"


def test_each_job_gets_its_own_id(farm: Farm) -> None:
    assert farm.submit().job_id != farm.submit().job_id


def test_unknown_jobs_are_an_error_for_queries_and_cancel(farm: Farm) -> None:
    missing = "0" * 32
    for call in (farm.orchestrator.state, farm.orchestrator.spec, farm.orchestrator.cancel):
        with pytest.raises(UnknownJob, match=f"no job {missing}") as caught:
            call(missing)
        assert caught.value.job_id == missing  # for a caller that handles several jobs


# --- events -------------------------------------------------------------------------------------


def test_progress_moves_the_job_to_rendering(farm: Farm) -> None:
    job_id = farm.submit().job_id
    state = farm.orchestrator.handle(progress(job_id, 1, 4))
    assert state is not None
    assert state.phase is Phase.RENDERING
    assert state.frames_done == 4
    assert farm.orchestrator.state(job_id) == state


def test_progress_is_saved_at_most_every_few_seconds(farm: Farm) -> None:
    job_id = farm.submit().job_id
    farm.orchestrator.handle(progress(job_id, 0, 3))
    assert farm.stored_state(job_id).frames_done == 3  # the first save for this job is due
    farm.clock.now += PROGRESS_SAVE_INTERVAL / 4
    farm.orchestrator.handle(progress(job_id, 0, 6))
    assert farm.stored_state(job_id).frames_done == 3  # a hint: not worth a write yet
    farm.clock.now += PROGRESS_SAVE_INTERVAL
    farm.orchestrator.handle(progress(job_id, 0, 8))
    assert farm.stored_state(job_id).frames_done == 8


def test_commits_are_saved_with_the_progress_and_a_phase_change_at_once(farm: Farm) -> None:
    job_id = farm.submit().job_id
    farm.orchestrator.handle(progress(job_id, 0, 3))  # queued -> rendering: saved
    farm.orchestrator.handle(commit(job_id, 0))
    farm.orchestrator.handle(commit(job_id, 1))
    assert farm.stored_state(job_id).committed == set()  # the manifests are the record
    farm.clock.now += PROGRESS_SAVE_INTERVAL
    farm.orchestrator.handle(progress(job_id, 2, 1))
    assert farm.stored_state(job_id).committed == {0, 1}
    farm.orchestrator.handle(commit(job_id, 2))  # rendering -> stitching: saved at once
    assert farm.stored_state(job_id) == farm.orchestrator.state(job_id)
    assert farm.stored_state(job_id).phase is Phase.STITCHING


def test_commits_not_saved_yet_are_recovered_from_their_manifests(farm: Farm) -> None:
    job_id = farm.submit().job_id
    farm.orchestrator.handle(progress(job_id, 0, 3))
    for index in (0, 1):
        farm.store_chunk(job_id, index)
        farm.orchestrator.handle(commit(job_id, index))
    assert farm.stored_state(job_id).committed == set()  # then the orchestrator stops
    farm.sent.clear()
    restarted = farm.restart()
    [state] = restarted.recover()
    assert state.committed == {0, 1}
    assert farm.stitches() == []
    farm.store_chunk(job_id, 2)
    restarted.handle(commit(job_id, 2))
    restarted.handle(commit(job_id, 1))  # redelivered: no second stitch
    assert farm.stitches() == [StitchVideo(job_id)]
    assert farm.stored_state(job_id).phase is Phase.STITCHING


def test_all_commits_send_exactly_one_stitch_even_when_the_last_is_redelivered(
    farm: Farm,
) -> None:
    job_id = farm.submit().job_id
    state = render_all(farm, job_id)
    assert state is not None
    assert state.phase is Phase.STITCHING
    again = farm.orchestrator.handle(commit(job_id, 2))
    assert again == state
    assert farm.stitches() == [StitchVideo(job_id)]
    assert farm.stored_state(job_id).phase is Phase.STITCHING


def test_no_stitch_before_every_chunk_is_committed(farm: Farm) -> None:
    job_id = farm.submit().job_id
    farm.orchestrator.handle(commit(job_id, 0))
    farm.orchestrator.handle(commit(job_id, 0))
    farm.orchestrator.handle(commit(job_id, 2))
    assert farm.stitches() == []


def test_late_progress_after_stitching_is_ignored(farm: Farm) -> None:
    job_id = farm.submit().job_id
    state = render_all(farm, job_id)
    assert farm.orchestrator.handle(progress(job_id, 0, 1)) == state


def test_a_commit_for_a_chunk_outside_the_plan_is_ignored(farm: Farm) -> None:
    state = farm.submit()
    assert farm.orchestrator.handle(ChunkCommitted(state.job_id, 9, 10, 1.0, "w")) == state


def test_stitch_progress_is_tracked(farm: Farm) -> None:
    job_id = farm.submit().job_id
    render_all(farm, job_id)
    state = farm.orchestrator.handle(StitchProgress(job_id, 20, 25))
    assert state is not None
    assert state.stitched_frames == 20
    assert state.percent == 99.0  # rendered 60 % + encoded 35 % + 4/5 of the join's 5 %


def test_video_ready_completes_the_job_and_removes_intermediates(farm: Farm) -> None:
    job_id = farm.submit().job_id
    keys = JobKeys(job_id)
    render_all(farm, job_id)
    farm.store.put(keys.output("mp4"), b"video")
    state = farm.orchestrator.handle(ready(job_id))
    assert state is not None
    assert state.phase is Phase.COMPLETE
    assert state.percent == 100.0
    assert state.output_key == keys.output("mp4")
    assert farm.stored_state(job_id) == state
    assert farm.store.list(keys.frames_prefix) == []
    assert farm.store.list(keys.chunks_prefix) == []
    assert farm.store.exists(keys.output("mp4"))
    assert farm.store.exists(keys.spec)


def test_intermediates_can_be_kept(tmp_path: Path) -> None:
    farm = Farm(tmp_path, keep_intermediates=True)
    job_id = farm.submit().job_id
    keys = JobKeys(job_id)
    render_all(farm, job_id)
    state = farm.orchestrator.handle(ready(job_id))
    assert state is not None
    assert state.phase is Phase.COMPLETE
    assert len(farm.store.list(keys.frames_prefix)) == 25
    assert len(farm.store.list(keys.chunks_prefix)) == 3


def test_a_failure_fails_the_job_and_tells_workers_to_stop(farm: Farm) -> None:
    job_id = farm.submit().job_id
    keys = JobKeys(job_id)
    farm.store_chunk(job_id, 0)
    farm.orchestrator.handle(commit(job_id, 0))
    state = farm.orchestrator.handle(JobFailed(job_id, "shader failed", "render_chunk", 1))
    assert state is not None
    assert state.phase is Phase.FAILED
    assert state.error == "shader failed"
    assert farm.stored_state(job_id).phase is Phase.FAILED
    assert farm.store.exists(keys.stop_marker)
    assert farm.store.list(keys.frames_prefix) == []
    assert farm.store.list(keys.chunks_prefix) == []
    assert farm.orchestrator.handle(commit(job_id, 1)) == state  # later events change nothing


def test_a_failure_while_stitching_fails_the_job(farm: Farm) -> None:
    job_id = farm.submit().job_id
    render_all(farm, job_id)
    state = farm.orchestrator.handle(JobFailed(job_id, "ffmpeg exited 1", "stitch_video"))
    assert state is not None
    assert state.phase is Phase.FAILED
    assert farm.orchestrator.handle(ready(job_id)) == state


def test_events_for_unknown_jobs_return_none(farm: Farm) -> None:
    farm.submit()
    assert farm.orchestrator.handle(progress("f" * 32, 0, 1)) is None
    assert farm.orchestrator.handle(commit("f" * 32, 0)) is None


def test_events_with_a_malformed_job_id_return_none(farm: Farm) -> None:
    assert farm.orchestrator.handle(JobFailed("../escape", "x", "render_chunk")) is None


# --- what an operator reads in the log --------------------------------------------------------


def test_an_event_for_an_unknown_job_is_logged_with_the_job_and_the_event(
    farm: Farm, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="coordinator.orchestrator"):
        assert farm.orchestrator.handle(commit("f" * 32, 0)) is None
    assert caplog.messages == [f"event for unknown job {'f' * 32}: ChunkCommitted"]


def test_an_event_the_job_cannot_take_is_logged_with_the_job_and_why(
    farm: Farm, caplog: pytest.LogCaptureFixture
) -> None:
    state = farm.submit()
    with caplog.at_level(logging.WARNING, logger="coordinator.orchestrator"):
        assert farm.orchestrator.handle(ChunkCommitted(state.job_id, 9, 10, 1.0, "w")) == state
    assert caplog.messages == [f"job {state.job_id}: chunk 9 is not part of job {state.job_id}"]


def test_late_progress_while_stitching_is_no_warning(
    farm: Farm, caplog: pytest.LogCaptureFixture
) -> None:
    """A chunk's last progress hint often arrives after its commit: routine, not a problem."""
    job_id = farm.submit().job_id
    render_all(farm, job_id)
    with caplog.at_level(logging.WARNING, logger="coordinator.orchestrator"):
        farm.orchestrator.handle(progress(job_id, 0, 1))
    assert caplog.messages == []


def test_a_job_folder_without_a_status_does_not_hide_the_jobs_after_it(farm: Farm) -> None:
    """A job being removed (its status gone first) is passed over, not the end of the list."""
    jobs = [farm.submit().job_id for _ in range(2)]
    farm.store.put(f"jobs/{'0' * 32}/spec.json", b"{}")  # listed first, no status
    assert sorted(farm.restart().job_ids()) == sorted(jobs)


def test_a_late_event_is_logged_at_debug_level_except_stitch_progress(
    farm: Farm, caplog: pytest.LogCaptureFixture
) -> None:
    """A redelivered commit after the job ended is worth a line when debugging; the stitch's
    own progress after its end is routine and would flood the log."""
    job_id = farm.submit().job_id
    render_all(farm, job_id)
    farm.orchestrator.handle(ready(job_id))
    late = commit(job_id, 0)
    with caplog.at_level(logging.DEBUG, logger="coordinator.orchestrator"):
        farm.orchestrator.handle(late)
        farm.orchestrator.handle(StitchProgress(job_id, 5, 25))
    assert caplog.messages[-1] == f"job {job_id} is complete: ignoring late {late}"
    assert not any("StitchProgress" in message for message in caplog.messages)


def test_a_started_job_is_logged_with_its_frames_chunks_and_segments(
    farm: Farm, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="coordinator.orchestrator"):
        job_id = farm.submit(chunk_frames=5).job_id
    assert caplog.messages == [f"job {job_id}: 25 frames in 5 chunks, 3 segments"]


def test_a_submit_that_cannot_start_is_logged_with_the_job_and_the_cause(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The client hears only that the broker is unavailable; the operator reads which job
    and the broker's own error, with its traceback."""
    tried: list[Message] = []

    def broker_down(message: Message) -> None:
        tried.append(message)
        raise ConnectionError("connection refused")

    orchestrator = Orchestrator(LocalStore(tmp_path), broker_down, clock=Clock())
    with (
        caplog.at_level(logging.WARNING, logger="coordinator.orchestrator"),
        pytest.raises(NotStarted),
    ):
        orchestrator.submit(export(), chunk_frames=10)
    job_id = tried[0].job_id
    assert caplog.messages == [f"job {job_id} could not be started: connection refused"]
    [record] = caplog.records
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None and isinstance(record.exc_info[1], ConnectionError)


OCTETS = "application/octet-stream"


class _Refusing(LocalStore):
    """A store that refuses to write the stop marker and to remove folders."""

    def put(self, key: str, data: bytes, content_type: str = OCTETS) -> None:
        if key.endswith("/stopped"):
            raise StorageError(f"refused {key}")
        super().put(key, data, content_type)

    def delete_prefix(self, prefix: str) -> int:
        raise StorageError(f"refused {prefix}")


def test_a_stop_marker_or_a_removal_the_store_refuses_is_logged_with_its_cause(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A failure still ends the job; the operator learns which job and which folder, and why."""
    orchestrator = Orchestrator(_Refusing(tmp_path), lambda _: None, clock=Clock())
    job_id = orchestrator.submit(export(), chunk_frames=10).job_id
    with caplog.at_level(logging.WARNING, logger="coordinator.orchestrator"):
        state = orchestrator.handle(JobFailed(job_id, "shader failed", "render_chunk", 1))
    assert state is not None and state.phase is Phase.FAILED
    keys = JobKeys(job_id)
    assert caplog.messages == [
        f"job {job_id}: could not store its stop marker",
        *(f"job {job_id}: could not remove {prefix}" for prefix in keys.intermediate_prefixes),
    ]
    assert all(isinstance(r.exc_info and r.exc_info[1], StorageError) for r in caplog.records)


# --- cancelling ---------------------------------------------------------------------------------


def test_cancel_stops_the_job_and_removes_its_files(farm: Farm) -> None:
    job_id = farm.submit().job_id
    keys = JobKeys(job_id)
    farm.store_chunk(job_id, 0)
    farm.orchestrator.handle(commit(job_id, 0))
    farm.store.put(keys.output("mp4"), b"partial")
    state = farm.orchestrator.cancel(job_id)
    assert state.phase is Phase.CANCELLED
    assert farm.stored_state(job_id).phase is Phase.CANCELLED
    assert farm.store.exists(keys.stop_marker)
    assert farm.store.list(keys.frames_prefix) == []
    assert farm.store.list(keys.chunks_prefix) == []
    assert farm.store.list(keys.output_prefix) == []


def test_events_after_cancel_are_ignored(farm: Farm) -> None:
    job_id = farm.submit().job_id
    cancelled = farm.orchestrator.cancel(job_id)
    for event in (
        progress(job_id, 0, 5),
        commit(job_id, 0),
        commit(job_id, 1),
        commit(job_id, 2),
        ready(job_id),
        JobFailed(job_id, "late", "render_chunk", 1),
    ):
        assert farm.orchestrator.handle(event) == cancelled
    assert farm.stitches() == []
    assert farm.stored_state(job_id).phase is Phase.CANCELLED


def test_cancelling_a_finished_job_changes_nothing(farm: Farm) -> None:
    job_id = farm.submit().job_id
    render_all(farm, job_id)
    farm.store.put(JobKeys(job_id).output("mp4"), b"video")
    complete = farm.orchestrator.handle(ready(job_id))
    assert farm.orchestrator.cancel(job_id) == complete
    assert farm.store.exists(JobKeys(job_id).output("mp4"))
    # the terminal marker of completion, not a cancel's
    assert farm.store.get(JobKeys(job_id).stop_marker) == b"complete"


# --- listeners ----------------------------------------------------------------------------------


def test_listeners_hear_every_state_change(farm: Farm) -> None:
    heard: list[JobState] = []
    farm.orchestrator.subscribe(heard.append)
    job_id = farm.submit().job_id
    farm.orchestrator.handle(progress(job_id, 0, 2))
    farm.orchestrator.handle(progress(job_id, 0, 2))  # no change: not announced
    farm.orchestrator.handle(commit(job_id, 0))  # after its segment's commit
    farm.orchestrator.cancel(job_id)
    assert [s.phase for s in heard] == [
        Phase.QUEUED,
        Phase.RENDERING,
        Phase.RENDERING,
        Phase.RENDERING,
        Phase.CANCELLED,
    ]
    assert [len(s.encoded) for s in heard] == [0, 0, 1, 1, 1]
    assert heard[-1] == farm.orchestrator.state(job_id)


def test_unsubscribed_listeners_hear_nothing_and_failing_ones_do_not_break_others(
    farm: Farm,
) -> None:
    heard: list[JobState] = []

    def broken(state: JobState) -> None:
        raise RuntimeError("listener bug")

    farm.orchestrator.subscribe(broken)
    unsubscribe = farm.orchestrator.subscribe(heard.append)
    job_id = farm.submit().job_id
    unsubscribe()
    farm.orchestrator.handle(progress(job_id, 0, 2))
    assert [s.phase for s in heard] == [Phase.QUEUED]


# --- restart and recovery -----------------------------------------------------------------------


def test_state_survives_a_restart(farm: Farm) -> None:
    job_id = farm.submit().job_id
    farm.store_chunk(job_id, 1)
    farm.orchestrator.handle(commit(job_id, 1))
    before = farm.orchestrator.state(job_id)
    restarted = farm.restart()
    assert restarted.recover() == [before]
    state = restarted.handle(commit(job_id, 0))
    assert state is not None
    assert state.committed == {0, 1}


def test_recover_stitches_a_job_whose_last_commits_were_lost(farm: Farm) -> None:
    job_id = farm.submit().job_id
    farm.store_chunk(job_id, 0)
    farm.orchestrator.handle(commit(job_id, 0))
    farm.store_chunk(job_id, 1)  # these two commit events never arrive
    farm.store_chunk(job_id, 2)
    assert farm.stored_state(job_id).phase is Phase.RENDERING
    farm.sent.clear()
    [state] = farm.restart().recover()
    assert state.phase is Phase.STITCHING
    assert state.committed == {0, 1, 2}
    assert farm.stored_state(job_id) == state
    assert farm.sent == [StitchVideo(job_id)]


def test_recover_counts_partial_progress_from_manifests(farm: Farm) -> None:
    job_id = farm.submit().job_id
    farm.store_chunk(job_id, 2)
    [state] = farm.restart().recover()
    assert state.phase is Phase.RENDERING
    assert state.committed == {2}
    assert farm.stitches() == []


def test_recover_skips_finished_jobs_and_ignores_unreadable_manifests(farm: Farm) -> None:
    done = farm.submit().job_id
    farm.orchestrator.cancel(done)
    live = farm.submit().job_id
    farm.store.put(JobKeys(live).chunk_manifest(0), b"{truncated")
    [state] = farm.restart().recover()
    assert state.job_id == live
    assert state.phase is Phase.QUEUED


def test_recover_resends_the_stitch_of_a_stitching_job(farm: Farm) -> None:
    job_id = farm.submit().job_id
    render_all(farm, job_id)
    farm.sent.clear()
    farm.restart().recover()
    assert farm.sent == [StitchVideo(job_id)]


def test_recovered_commits_replace_their_progress_hints(farm: Farm) -> None:
    job_id = farm.submit().job_id
    farm.orchestrator.handle(progress(job_id, 1, 5))
    farm.store_chunk(job_id, 0)
    farm.orchestrator.handle(commit(job_id, 0))  # saved with chunk 1's hint of 5 frames
    farm.store_chunk(job_id, 1)  # chunk 1 and 2 commit events are lost
    farm.store_chunk(job_id, 2)
    [state] = farm.restart().recover()
    assert state.phase is Phase.STITCHING
    assert state.frames_done == 25
    assert state.percent == 95.0  # rendered and encoded: only the join is left


def test_job_ids_lists_newest_first(farm: Farm) -> None:
    first = farm.submit().job_id
    second = farm.submit().job_id
    third = farm.submit().job_id
    assert farm.orchestrator.job_ids() == [third, second, first]
    assert farm.restart().job_ids() == [third, second, first]


@pytest.mark.parametrize(
    "corrupt",
    [b'{"version": 99}', b"{not json", b"[]", b'{"type": "job_state", "version": 2}'],
)
def test_an_unreadable_status_fails_only_its_own_job(farm: Farm, corrupt: bytes) -> None:
    good = farm.submit().job_id
    bad = "a" * 32
    farm.store.put(JobKeys(bad).status, corrupt)
    orchestrator = farm.restart()
    assert set(orchestrator.job_ids()) == {good, bad}
    failed = orchestrator.state(bad)
    assert failed.phase is Phase.FAILED
    assert failed.error is not None and "stored state is unreadable" in failed.error
    assert farm.stored_state(bad) == failed  # saved: it stays failed after another restart
    assert farm.store.get(JobKeys(bad).stop_marker) == b"failed"
    assert orchestrator.state(good).phase is Phase.QUEUED
    assert [s.job_id for s in orchestrator.recover()] == [good]


# --- the soundtrack -----------------------------------------------------------------------------


def audio_ready(job_id: str) -> AudioReady:
    return AudioReady(job_id, JobKeys(job_id).audio("m4a"), 120_000, 48_000, 0.2)


def test_a_job_with_audio_sends_the_soundtrack_first(farm: Farm) -> None:
    state = farm.submit(audio=True)
    assert state.audio and not state.audio_ready
    assert farm.sent[0] == RenderAudio(state.job_id)
    assert sum(isinstance(m, RenderChunk) for m in farm.sent) == len(CHUNKS)


def test_the_stitch_waits_for_the_soundtrack(farm: Farm) -> None:
    job_id = farm.submit(audio=True).job_id
    state = render_all(farm, job_id)
    assert state is not None and state.phase is Phase.RENDERING  # frames done, audio not
    assert farm.stitches() == []
    state = farm.orchestrator.handle(audio_ready(job_id))
    assert state is not None and state.phase is Phase.STITCHING
    assert farm.stitches() == [StitchVideo(job_id)]
    farm.orchestrator.handle(audio_ready(job_id))  # delivered twice
    assert farm.stitches() == [StitchVideo(job_id)]


def test_a_soundtrack_ready_before_the_frames_stitches_on_the_last_commit(farm: Farm) -> None:
    job_id = farm.submit(audio=True).job_id
    farm.orchestrator.handle(audio_ready(job_id))
    state = render_all(farm, job_id)
    assert state is not None and state.phase is Phase.STITCHING
    assert farm.stitches() == [StitchVideo(job_id)]


def test_recover_finds_a_stored_soundtrack_whose_event_was_lost(farm: Farm) -> None:
    job_id = farm.submit(audio=True).job_id
    for index in CHUNKS:
        farm.store_chunk(job_id, index)
    farm.store.put(JobKeys(job_id).audio("m4a"), b"RIFF")
    farm.store.put(JobKeys(job_id).audio_metadata, records.dump(audio_ready(job_id)))
    [state] = farm.restart().recover()
    assert state.audio_ready and state.phase is Phase.STITCHING
    assert farm.stitches() == [StitchVideo(job_id)]


# --- what a restart or a nudge sends again --------------------------------------------------------


def encodes(farm: Farm) -> list[EncodeSegment]:
    return [m for m in farm.sent if isinstance(m, EncodeSegment)]


def test_a_crossing_segment_whose_encode_was_lost_is_asked_for_again(farm: Farm) -> None:
    """Chunks of 5 frames, segments of 10: segment 0 needs chunks 0 and 1. Its encode is sent
    when both are in, and again by each reconcile until it is encoded; then no more."""
    job_id = farm.submit(chunk_frames=5).job_id
    farm.orchestrator.handle(ChunkCommitted(job_id, 0, 5, 1.0, "w"))
    assert encodes(farm) == []
    farm.orchestrator.handle(ChunkCommitted(job_id, 1, 5, 1.0, "w"))
    assert encodes(farm) == [EncodeSegment(job_id, 0, 0, 10)]
    farm.orchestrator.reconcile(job_id)
    assert encodes(farm) == [EncodeSegment(job_id, 0, 0, 10)] * 2
    farm.orchestrator.handle(SegmentEncoded(job_id, 0, 10, 0.1, "w"))
    farm.orchestrator.reconcile(job_id)
    assert len(encodes(farm)) == 2


def test_a_half_written_soundtrack_record_is_not_an_error_on_recovery(farm: Farm) -> None:
    """The audio actor writes its record last; one cut short is work not done yet, and the
    soundtrack is asked for again."""
    job_id = farm.submit(audio=True).job_id
    farm.store.put(JobKeys(job_id).audio_metadata, b'{"type": "audio_re')
    farm.sent.clear()
    [state] = farm.restart().recover()
    assert state.phase is Phase.QUEUED and not state.audio_ready
    assert farm.sent[0] == RenderAudio(job_id)


def test_after_losing_the_queue_a_running_job_gets_its_missing_work_again(farm: Farm) -> None:
    """An in-memory broker died with the process: the soundtrack and the chunks not stored are
    commanded again, the committed ones are not."""
    job_id = farm.submit(audio=True).job_id
    farm.store_chunk(job_id, 1)
    farm.orchestrator.handle(commit(job_id, 1))
    farm.sent.clear()
    farm.restart().recover(queue_was_lost=True)
    assert farm.sent == [
        RenderAudio(job_id),
        RenderChunk(job_id, 0, 0, 10),
        RenderChunk(job_id, 2, 20, 5),
    ]


def test_after_losing_the_queue_a_running_job_with_its_soundtrack_gets_only_frames(
    farm: Farm,
) -> None:
    job_id = farm.submit(audio=True).job_id
    farm.orchestrator.handle(audio_ready(job_id))
    farm.orchestrator.handle(progress(job_id, 0, 3))
    farm.sent.clear()
    farm.restart().recover(queue_was_lost=True)
    assert farm.sent == [RenderChunk(job_id, i, i * 10, CHUNKS[i]) for i in CHUNKS]


def test_without_losing_the_queue_a_running_job_is_left_to_its_workers(farm: Farm) -> None:
    job_id = farm.submit().job_id
    farm.orchestrator.handle(progress(job_id, 0, 3))
    farm.sent.clear()
    [state] = farm.restart().recover()
    assert state.phase is Phase.RENDERING
    assert farm.sent == []


def test_a_running_job_whose_plan_is_gone_fails_when_its_work_is_asked_for_again(
    farm: Farm,
) -> None:
    job_id = farm.submit().job_id
    farm.orchestrator.handle(progress(job_id, 0, 3))
    farm.store.delete(JobKeys(job_id).spec)
    farm.sent.clear()
    farm.restart().recover(queue_was_lost=True)
    state = farm.stored_state(job_id)
    assert state.phase is Phase.FAILED
    assert state.error == "its stored plan is gone"
    assert not any(isinstance(m, RenderChunk) for m in farm.sent)


# --- memory -----------------------------------------------------------------------------------


def test_evict_drops_ended_and_saved_jobs_oldest_first_down_to_what_is_kept(
    tmp_path: Path,
) -> None:
    """Running jobs and ended ones whose status the store has not taken yet stay in memory
    (they would be lost); the count says how many went."""
    clock = Clock()
    store = LocalStore(tmp_path)
    orchestrator = Orchestrator(store, lambda _: None, clock=clock, cached_jobs=100)
    ended = []
    for _ in range(3):
        ended.append(orchestrator.submit(export(), chunk_frames=10).job_id)
        clock.now += 1.0
        orchestrator.cancel(ended[-1])
    running = orchestrator.submit(export(), chunk_frames=10).job_id
    unsaved = orchestrator.submit(export(), chunk_frames=10).job_id
    orchestrator.handle(JobFailed(unsaved, "shader failed", "render_chunk", 1))
    orchestrator._unsaved.add(unsaved)  # as after a refused save
    assert orchestrator.evict(keep=5) == 0  # nothing over: nothing goes
    assert orchestrator.evict(keep=4) == 1
    assert ended[0] not in orchestrator._states
    assert orchestrator.evict(keep=0) == 2  # only the two other ended jobs can go
    assert set(orchestrator._states) == {running, unsaved}


def test_evicted_jobs_leave_no_bookkeeping_behind(tmp_path: Path) -> None:
    """The cache of states is bounded, and so is everything kept per job beside it."""
    clock = Clock()
    orchestrator = Orchestrator(LocalStore(tmp_path), lambda _: None, clock=clock, cached_jobs=2)
    for _ in range(5):
        job_id = orchestrator.submit(export(), chunk_frames=10).job_id
        clock.now += 1.0
        orchestrator.cancel(job_id)
    assert len(orchestrator._states) == 2
    assert set(orchestrator._saved_at) <= set(orchestrator._states)
    assert set(orchestrator._progress_at) <= set(orchestrator._states)


# --- what finished jobs took (the estimate's samples) -------------------------------------------


def complete(farm: Farm, tail: float) -> str:
    """A job whose 3 chunks took a worker-second each, and whose join took ``tail`` seconds."""
    job_id = farm.submit().job_id
    render_all(farm, job_id)
    farm.clock.now += tail
    farm.orchestrator.handle(ready(job_id))
    return job_id


def sample(tail: float) -> Sample:
    return Sample(64, 36, 25, 3.0, 25, tail)


def test_timing_samples_are_the_newest_finished_jobs_with_their_size_and_time(
    farm: Farm,
) -> None:
    complete(farm, 30.0)
    complete(farm, 20.0)
    farm.submit()  # not finished: no sample
    complete(farm, 10.0)
    samples = farm.orchestrator.timing_samples()
    assert samples == [sample(10.0), sample(20.0), sample(30.0)]
    assert farm.orchestrator.timing_samples(limit=2) == samples[:2]
    assert farm.restart().timing_samples(limit=1) == samples[:1]


def test_a_finished_job_whose_spec_cannot_be_read_gives_no_sample(farm: Farm) -> None:
    """Passed over, not the end of the list: older jobs still give theirs."""
    complete(farm, 7.0)
    gone, corrupt = complete(farm, 5.0), complete(farm, 6.0)
    farm.store.delete(JobKeys(gone).spec)
    farm.store.put(JobKeys(corrupt).spec, b"{")
    assert farm.restart().timing_samples() == [sample(7.0)]


def _restore(farm: Farm, job_id: str, **fields: Any) -> None:
    """Store the job's state again with ``fields`` changed (as an older or odd job left it)."""
    state = dataclasses.replace(farm.stored_state(job_id), **fields)
    farm.store.put(JobKeys(job_id).status, records.dump(state))


@pytest.mark.parametrize(
    ("fields", "sampled"),
    [
        ({}, True),
        ({"frames_reused": 24}, True),  # one frame of 25 rendered is a measurement
        ({"frames_reused": 25}, False),  # every frame came from the cache
        ({"render_seconds": 0.5}, True),  # a fast job is a measurement
        ({"render_seconds": 0.0}, False),  # stored before version 4: nothing measured
        ({"phase": Phase.FAILED}, False),  # rendered frames, but never finished
    ],
)
def test_a_job_gives_a_sample_only_when_it_finished_and_measured_a_render(
    farm: Farm, fields: dict[str, Any], sampled: bool
) -> None:
    """The job in question is the newest: a job passed over must not end the list either."""
    complete(farm, 7.0)
    job_id = complete(farm, 5.0)
    _restore(farm, job_id, **fields)
    samples = farm.restart().timing_samples()
    assert samples[-1] == sample(7.0)
    assert len(samples) == (2 if sampled else 1)
    if sampled:
        state = farm.stored_state(job_id)
        assert samples[0] == Sample(64, 36, state.frames_rendered, state.render_seconds, 25, 5.0)


def test_timing_samples_are_the_last_twenty_by_default(farm: Farm) -> None:
    for seconds in range(1, 22):
        complete(farm, float(seconds))
    samples = farm.orchestrator.timing_samples()
    assert [s.tail_seconds for s in samples] == [float(s) for s in range(21, 1, -1)]
