"""Every job ends and leaves nothing behind (coordinator side): a submit that cannot start
withdraws what it stored, recovery republishes a queued job, the watchdog fails a job no
worker takes (naming the stage), the sweep removes orphans, and ended states are evicted."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from common.adapters.storage import LocalStore, StorageError
from common.config import CoordinatorSettings, Limits
from common.format.validation import validate_export
from common.jobs import records
from common.jobs.keys import JobKeys, new_job_id
from common.jobs.messages import (
    ChunkProgress,
    JobFailed,
    Message,
    RenderAudio,
    RenderChunk,
    VideoReady,
)
from common.jobs.state import JobState, Phase
from coordinator.housekeeping import Housekeeper, stall_error
from coordinator.orchestrator import NotStarted, Orchestrator
from coordinator.sweep import sweep_orphans
from tests.coordinator.test_orchestrator import CHUNKS, PROJECT, SETTINGS, Clock

STALL = 30.0


class Sent(list[Message]):
    """A recorded send that can be made to fail (the broker is down) after ``ok`` messages."""

    def __init__(self) -> None:
        super().__init__()
        self.ok: int | None = None

    def __call__(self, message: Message) -> None:
        if self.ok is not None and len(self) >= self.ok:
            raise ConnectionError("the broker is down")
        self.append(message)


class NoBigListings(LocalStore):
    """A store that refuses to list a whole job (the job list must not list frames)."""

    def list(self, prefix: str) -> list[str]:
        if prefix == "jobs/":
            raise AssertionError("listed every object of every job")
        return super().list(prefix)


class Farm:
    def __init__(self, root: Path) -> None:
        self.store = NoBigListings(root)
        self.clock = Clock()
        self.sent = Sent()
        self.orchestrator = self.restart()

    def restart(self) -> Orchestrator:
        self.orchestrator = Orchestrator(
            self.store, self.sent, clock=self.clock, segment_seconds=1.0, cached_jobs=4
        )
        return self.orchestrator

    def submit(self, *, audio: bool = False) -> JobState:
        export = validate_export(PROJECT, {**SETTINGS, "audio": audio}, Limits())
        return self.orchestrator.submit(export, chunk_frames=10)

    def keys(self) -> list[str]:
        return LocalStore.list(self.store, "")

    def housekeeper(self, **settings: float) -> Housekeeper:
        values = {"stall_seconds": STALL, "orphan_grace_seconds": 100.0, **settings}
        return Housekeeper(
            self.orchestrator, CoordinatorSettings.model_validate(values), clock=self.clock
        )


@pytest.fixture
def farm(tmp_path: Path) -> Farm:
    return Farm(tmp_path / "store")


# --- submit and recover -------------------------------------------------------------------


def test_a_submit_with_the_broker_down_stores_nothing(farm: Farm) -> None:
    farm.sent.ok = 0
    with pytest.raises(NotStarted, match="the message broker is unavailable"):
        farm.submit()
    assert farm.keys() == []
    assert farm.orchestrator.job_ids() == []


@pytest.mark.parametrize("sent", [1, 2])
def test_a_submit_cut_off_half_way_keeps_only_the_stop_marker(farm: Farm, sent: int) -> None:
    """Commands already sent, even one, are dropped by the worker that takes one (the
    marker); the marker itself goes with the orphan sweep."""
    farm.sent.ok = sent
    with pytest.raises(NotStarted):
        farm.submit()
    [key] = farm.keys()
    assert key.endswith("/stopped")
    sweep_orphans(farm.orchestrator, grace_seconds=100.0, now=time.time() + 101.0)
    assert farm.keys() == []


def test_a_submit_with_the_store_down_says_so(farm: Farm, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise StorageError("S3 unreachable")

    monkeypatch.setattr(farm.store, "put", refuse)
    with pytest.raises(NotStarted, match="the object store is unavailable"):
        farm.submit()
    assert farm.sent == []


def test_a_submit_whose_status_the_store_refuses_is_not_started(
    farm: Farm, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without its status no restart would know the job: it must not go out half recorded
    (its spec is withdrawn, no command is sent), and the client hears to try again."""
    put = farm.store.put

    def refuse_status(
        key: str, data: bytes, content_type: str = "application/octet-stream"
    ) -> None:
        if key.endswith("/status.json"):
            raise StorageError("S3 unreachable")
        put(key, data, content_type)

    monkeypatch.setattr(farm.store, "put", refuse_status)
    with pytest.raises(NotStarted, match="the object store is unavailable"):
        farm.submit()
    assert farm.sent == []
    assert farm.keys() == []


def test_recovery_republishes_a_queued_job(farm: Farm) -> None:
    job_id = farm.submit(audio=True).job_id
    farm.sent.clear()  # the broker lost them
    farm.restart().recover()
    assert farm.sent == [
        RenderAudio(job_id),
        RenderChunk(job_id, 0, 0, 10),
        RenderChunk(job_id, 1, 10, 10),
        RenderChunk(job_id, 2, 20, 5),
    ]


def test_recovery_leaves_an_ended_job_alone(farm: Farm) -> None:
    job_id = farm.submit().job_id
    farm.orchestrator.cancel(job_id)
    farm.sent.clear()
    farm.restart().recover()
    assert farm.sent == []


# --- the watchdog ---------------------------------------------------------------------------


def test_a_job_no_worker_takes_fails_naming_the_stage(farm: Farm) -> None:
    job_id = farm.submit().job_id
    housekeeper = farm.housekeeper()
    farm.clock.now += STALL - 1
    assert housekeeper.tick() == []
    farm.sent.clear()
    farm.clock.now += 1
    assert housekeeper.tick() == []  # first its work is sent again (lost with a broker?)
    assert [type(m) for m in farm.sent] == [RenderChunk] * 3
    farm.clock.now += STALL - 1
    assert housekeeper.tick() == []
    farm.clock.now += 1
    [failed] = housekeeper.tick()
    assert failed.job_id == job_id and failed.phase is Phase.FAILED
    assert failed.error == (
        "render: no worker took the render chunks for 60 s "
        "(no render worker running, or none that can reach the store)"
    )
    stored = records.load(JobState, farm.store.get(JobKeys(job_id).status))
    assert stored.phase is Phase.FAILED
    assert farm.store.get(JobKeys(job_id).stop_marker) == b"failed"


def test_a_job_waiting_in_line_behind_a_busy_farm_is_not_failed(farm: Farm) -> None:
    waiting = farm.submit().job_id
    busy = farm.submit().job_id
    housekeeper = farm.housekeeper()
    for step in range(1, 5):
        farm.clock.now += STALL / 2
        farm.orchestrator.handle(ChunkProgress(busy, 0, step, 10, "w"))
        assert housekeeper.tick() == []
    assert farm.orchestrator.state(waiting).phase is Phase.QUEUED


def test_a_job_whose_work_was_lost_fails_while_other_jobs_progress(farm: Farm) -> None:
    """Nothing waits in the queues, so the silent job cannot be in line behind the busy one:
    its work was lost (or a worker holding it hangs). Sent again first, then failed."""
    lost = farm.submit().job_id
    busy = farm.submit().job_id
    waiting: list[int | None] = [0]
    housekeeper = farm.housekeeper()
    housekeeper.waiting_work = lambda: waiting[0]
    farm.sent.clear()
    failed: list[JobState] = []
    for step in range(1, 5):
        farm.clock.now += STALL / 2
        farm.orchestrator.handle(ChunkProgress(busy, 0, step, 10, "w"))
        failed += housekeeper.tick()
    assert [m.job_id for m in farm.sent if isinstance(m, RenderChunk)] == [lost] * 3
    assert [s.job_id for s in failed] == [lost]
    assert farm.orchestrator.state(busy).phase is Phase.RENDERING


@pytest.mark.parametrize("count", [1, None, "broken"])
def test_while_work_waits_or_cannot_be_counted_a_busy_farm_fails_no_job(
    farm: Farm, count: int | str | None
) -> None:
    waiting = farm.submit().job_id
    busy = farm.submit().job_id
    housekeeper = farm.housekeeper()

    def counted() -> int | None:
        if count == "broken":
            raise ConnectionError("the broker is down")
        return count if isinstance(count, int) else None

    housekeeper.waiting_work = counted
    for step in range(1, 5):
        farm.clock.now += STALL / 2
        farm.orchestrator.handle(ChunkProgress(busy, 0, step, 10, "w"))
        assert housekeeper.tick() == []
    assert farm.orchestrator.state(waiting).phase is Phase.QUEUED


def test_the_stall_error_names_each_stage(farm: Farm) -> None:
    state = farm.submit(audio=True)
    rendering = farm.orchestrator.handle(ChunkProgress(state.job_id, 0, 3, 10, "w"))
    assert rendering is not None
    assert stall_error(rendering, 60).startswith("render: no progress for 60 s with 0 of 3")
    render_all_but_audio = _commit_all(farm, state.job_id)
    assert stall_error(render_all_but_audio, 60).startswith("soundtrack: not rendered for 60 s")


def _commit_all(farm: Farm, job_id: str) -> JobState:
    from common.jobs.messages import ChunkCommitted, SegmentEncoded

    state = farm.orchestrator.state(job_id)
    for index, frames in CHUNKS.items():
        farm.orchestrator.handle(SegmentEncoded(job_id, index, frames, 0.1, "w"))
        state = farm.orchestrator.handle(ChunkCommitted(job_id, index, frames, 0.1, "w")) or state
    return state


def test_a_status_the_store_refused_is_saved_later(farm: Farm) -> None:
    job_id = farm.submit().job_id
    put = farm.store.put

    def down(*args: object, **kwargs: object) -> None:
        raise StorageError("S3 unreachable")

    farm.store.put = down  # type: ignore[method-assign]
    failed = farm.orchestrator.handle(JobFailed(job_id, "boom", "worker"))
    assert failed is not None and failed.phase is Phase.FAILED
    assert farm.orchestrator.flush() == 1
    farm.store.put = put  # type: ignore[method-assign]
    assert farm.orchestrator.flush() == 0
    stored = records.load(JobState, farm.store.get(JobKeys(job_id).status))
    assert stored.phase is Phase.FAILED


# --- leftovers --------------------------------------------------------------------------------


def test_the_sweep_removes_leftovers_of_ended_and_unknown_jobs_only(farm: Farm) -> None:
    done = farm.submit().job_id
    _commit_all(farm, done)
    farm.store.put(JobKeys(done).output("mp4"), b"video")
    farm.orchestrator.handle(VideoReady(done, JobKeys(done).output("mp4"), 25, 2.5, 5))
    live = farm.submit().job_id
    late = JobKeys(done).frame(3)  # a late worker's frame, written after the clean-up
    farm.store.put(late, b"png")
    farm.store.put(JobKeys(live).frame(0), b"png")
    unknown, young = JobKeys(new_job_id()), JobKeys(new_job_id())
    farm.store.put(unknown.frame(0), b"png")
    farm.store.put(young.spec, b"{}")  # a submit in progress
    now = time.time() + 100.0
    os.utime(farm.store.local_path(young.spec), (now, now))

    report = sweep_orphans(farm.orchestrator, grace_seconds=100.0, now=now)
    assert set(report.removed) == {done, unknown.job_id}
    keys = set(farm.keys())
    assert late not in keys and unknown.frame(0) not in keys
    assert {JobKeys(done).output("mp4"), JobKeys(live).frame(0), young.spec} <= keys


def test_ended_jobs_are_evicted_from_memory_live_ones_kept(farm: Farm) -> None:
    ended = [farm.submit().job_id for _ in range(4)]
    for job_id in ended:
        farm.orchestrator.cancel(job_id)
    live = [farm.submit().job_id for _ in range(3)]
    held = set(farm.orchestrator._states)
    assert len(held) <= 4 and set(live) <= held
    assert farm.orchestrator.state(ended[0]).phase is Phase.CANCELLED  # read back from the store


def test_the_job_list_does_not_list_objects(farm: Farm) -> None:
    first = farm.submit().job_id
    farm.clock.now += 1
    second = farm.submit().job_id
    assert farm.orchestrator.job_ids() == [second, first]
