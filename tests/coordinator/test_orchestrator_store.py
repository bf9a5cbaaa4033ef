"""What the orchestrator keeps in the store and in memory when the store misbehaves, and what it
tells the operator: a status the store refused is saved again and then forgotten like any other,
an unreadable status fails only its job, records carry their content types, and a job read back
after a restart is timed for the watchdog from that moment."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from common.adapters.storage import LocalStore, StorageError
from common.jobs.keys import JobKeys
from common.jobs.messages import JobFailed
from common.jobs.state import JobState, Phase
from coordinator.orchestrator import Orchestrator
from tests.coordinator.test_orchestrator import Clock, export, progress
from tests.factories import TypedStore

OCTETS = "application/octet-stream"


class FlakyStatusStore(LocalStore):
    """A store that refuses status writes while ``refusing``."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.refusing = False

    def put(self, key: str, data: bytes, content_type: str = OCTETS) -> None:
        if self.refusing and key.endswith("/status.json"):
            raise StorageError(f"refused {key}")
        super().put(key, data, content_type)


def orchestrator_on(store: LocalStore, clock: Clock) -> Orchestrator:
    return Orchestrator(store, lambda _: None, clock=clock)


def test_a_status_the_store_refused_is_saved_later_and_the_job_can_then_be_forgotten(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Until its status is stored a job is held in memory (evicting it would lose it); once a
    later save lands, it is an ordinary ended job again."""
    store = FlakyStatusStore(tmp_path)
    orchestrator = orchestrator_on(store, Clock())
    job_id = orchestrator.submit(export(), chunk_frames=10).job_id
    store.refusing = True
    with caplog.at_level(logging.WARNING, logger="coordinator.orchestrator"):
        orchestrator.handle(progress(job_id, 0, 1))  # queued -> rendering: saved at once
    assert caplog.messages == [f"job {job_id}: status not saved (retried later)"]
    assert orchestrator.evict(keep=0) == 0
    store.refusing = False
    orchestrator.handle(JobFailed(job_id, "shader failed", "render_chunk", 1))
    assert orchestrator.evict(keep=0) == 1


def test_a_job_whose_stored_status_is_unreadable_fails_saying_why(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = LocalStore(tmp_path)
    job_id = orchestrator_on(store, Clock()).submit(export(), chunk_frames=10).job_id
    store.put(JobKeys(job_id).status, b"{")
    with caplog.at_level(logging.ERROR, logger="coordinator.orchestrator"):
        state = orchestrator_on(store, Clock()).state(job_id)
    assert state.phase is Phase.FAILED
    assert state.error is not None
    problem = state.error.removeprefix("the job's stored state is unreadable: ")
    assert problem != state.error and "JSON" in problem
    assert caplog.messages == [f"job {job_id}: {problem}"]


def test_every_record_is_stored_as_json_and_the_stop_marker_as_text(tmp_path: Path) -> None:
    """An operator opening them in the S3 console (or a browser) reads them as what they are:
    the marker of a failed job and of a cancelled one alike."""
    store = TypedStore(tmp_path)
    orchestrator = orchestrator_on(store, Clock())
    failed = orchestrator.submit(export(), chunk_frames=10).job_id
    orchestrator.handle(JobFailed(failed, "shader failed", "render_chunk", 1))
    cancelled = orchestrator.submit(export(), chunk_frames=10).job_id
    orchestrator.cancel(cancelled)
    keys = JobKeys(failed)
    assert store.types[keys.status] == "application/json"
    assert store.types[keys.spec] == "application/json"
    assert store.types[keys.stop_marker] == "text/plain"
    assert store.types[JobKeys(cancelled).stop_marker] == "text/plain"


def test_a_job_read_back_after_a_restart_is_timed_from_that_moment(tmp_path: Path) -> None:
    """A coordinator that restarts must not call a job stalled for the time it was down."""
    store, clock = LocalStore(tmp_path), Clock()
    job_id = orchestrator_on(store, clock).submit(export(), chunk_frames=10).job_id
    clock.now += 3600.0
    restarted = orchestrator_on(store, clock)
    restarted.state(job_id)
    clock.now += 5.0
    assert restarted.stalled(10.0, work_waiting=False) == []
    clock.now += 6.0
    assert [s.job_id for s in restarted.stalled(10.0, work_waiting=False)] == [job_id]


def test_a_listener_that_fails_is_logged_and_the_job_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    orchestrator = orchestrator_on(LocalStore(tmp_path), Clock())
    heard: list[JobState] = []

    def broken(state: JobState) -> None:
        raise RuntimeError("listener bug")

    orchestrator.subscribe(broken)
    orchestrator.subscribe(heard.append)
    with caplog.at_level(logging.ERROR, logger="coordinator.orchestrator"):
        state = orchestrator.submit(export(), chunk_frames=10)
    assert heard == [state]
    assert caplog.messages == ["a job listener failed"]
    assert isinstance(caplog.records[0].exc_info and caplog.records[0].exc_info[1], RuntimeError)
