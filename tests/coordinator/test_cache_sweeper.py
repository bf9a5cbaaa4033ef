"""The coordinator's cache sweep: what a live job's use records name stays, whatever its age
and the limit; once the job has ended it is evicted like any other entry."""

from __future__ import annotations

import os
from pathlib import Path

from common.adapters.storage import LocalStore
from common.cache.store import record_use
from common.config import Limits
from common.format.validation import validate_export
from common.jobs.cache_keys import frame_object
from common.jobs.messages import Message
from coordinator.cache_sweeper import CachePolicy, CacheSweeper
from coordinator.orchestrator import Orchestrator
from tests.factories import project_data

NOW = 2_000_000.0


def test_a_running_jobs_cached_frames_survive_the_sweep(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    sent: list[Message] = []
    orchestrator = Orchestrator(store, sent.append, clock=lambda: NOW)
    export = validate_export(project_data(), {"width": 32, "height": 18, "fps": 4}, Limits())
    job = orchestrator.submit(export).job_id
    used, unused = (frame_object("a" * 64, t, str(t) * 64, "f" * 64) for t in (1, 2))
    for key in (used, unused):
        store.put(key, b"x" * 100)
        os.utime(store.local_path(key), (NOW - 7200, NOW - 7200))
    record_use(store, job, "chunk_0000", [used], NOW - 7200)
    sweeper = CacheSweeper(store, orchestrator, CachePolicy(0, 60.0, 60.0), clock=lambda: NOW)

    report = sweeper.sweep()
    assert store.exists(used), "the sweep removed a frame a running job uses"
    assert not store.exists(unused)
    assert (report.evicted, report.pinned) == (1, 1)

    orchestrator.cancel(job)
    sweeper.sweep()
    assert not store.exists(used)
