"""The fault matrix's rig: the farm reaches RabbitMQ and the S3 server through TCP proxies that a
test cuts and restores (sandbox/proxy.py); retries, backoff, heartbeats and the watchdog are
short by configuration, frames tiny, so that "an outage longer than the retries" takes seconds.

The coordinator (orchestrator, event pump, housekeeping) runs in the test process, through the
proxies too; what a test checks is read from the store directly, past the proxies.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from common.adapters.storage import S3Store
from common.config import CoordinatorSettings, Limits, ServiceSettings
from common.format.validation import validate_export
from common.jobs.keys import JobKeys
from common.jobs.state import JobState, Phase
from coordinator.events import EventPump
from coordinator.housekeeping import Housekeeper
from coordinator.orchestrator import Orchestrator
from framefarm.farm import Farm, JobWatcher
from framefarm.render import render_video
from sandbox.processes import FarmConfig, Processes, isolated_farm, queue_counts, wait_for
from sandbox.proxy import TcpProxy
from sandbox.services import RABBIT_PORT, SeaweedS3
from tests.integration.helpers import EXAMPLES, EventLog

DEMO: dict[str, Any] = json.loads((EXAMPLES / "demo.json").read_text())
SETTINGS: dict[str, Any] = {"width": 32, "height": 18, "fps": 8, "endBeat": 4}  # 16 frames
CHUNK_FRAMES = 4
SEGMENT_SECONDS = 0.5  # 4 frames: each segment inside one chunk
JOB_TIMEOUT_S = 90.0
STALL_SECONDS = 10.0
FAST = {
    "FRAMEFARM_RETRIES": "2",
    "FRAMEFARM_RETRY_MIN_BACKOFF_MS": "300",
    "FRAMEFARM_RETRY_MAX_BACKOFF_MS": "600",
    "FRAMEFARM_SEGMENT_SECONDS": str(SEGMENT_SECONDS),
}
"""Every farm process of the rig: 3 attempts, 0.3-0.6 s apart; segments within chunks."""
INTERMEDIATES = ("frames", "chunks", "segments", "audio")
WORK_QUEUES = ("render", "audio", "encode", "stitch", "events")


@pytest.fixture(scope="session")
def reference_video(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The clean run's video (embedded, in this process): what every recovered job must give."""
    folder = tmp_path_factory.mktemp("reference")
    final = render_video(
        validate_export(DEMO, SETTINGS, Limits()),
        folder / "video.mp4",
        chunk_frames=CHUNK_FRAMES,
        segment_seconds=SEGMENT_SECONDS,
        timeout=JOB_TIMEOUT_S,
    )
    assert final.phase is Phase.COMPLETE, final.error
    return (folder / "video.mp4").read_bytes()


@dataclass
class Rig:
    config: FarmConfig
    broker: TcpProxy
    s3: TcpProxy
    store: S3Store
    """The job's bucket, read directly (past the proxy)."""
    processes: Processes
    scratch: Path
    """The scratch root of every farm process of the rig."""
    log_dir: Path

    def settings(self, **changes: Any) -> ServiceSettings:
        """The settings of a process of this farm, through the proxies."""
        values = {
            **self.config.settings.model_dump(),
            "s3_endpoint": self.s3.address,
            "retries": 2,
            "retry_min_backoff_ms": 300,
            "retry_max_backoff_ms": 600,
            "segment_seconds": SEGMENT_SECONDS,
            "scratch_dir": str(self.scratch),
            **changes,
        }
        return ServiceSettings.model_validate(values)

    def leftovers(self, job_id: str) -> list[str]:
        """Objects of the job that an ended job must not keep."""
        prefix = JobKeys(job_id).prefix
        return [k for part in INTERMEDIATES for k in self.store.list(f"{prefix}{part}/")]

    def busy_queues(self) -> dict[str, tuple[int, int]]:
        """Work queues with messages ready or unacknowledged."""
        counts = queue_counts(self.config.vhost)
        found = {}
        for kind in WORK_QUEUES:
            queue = counts.get(self.config.queue(kind))
            if queue is not None and (queue.ready, queue.unacked) != (0, 0):
                found[kind] = (queue.ready, queue.unacked)
        return found

    def scratch_files(self) -> list[Path]:
        return [p for p in self.scratch.rglob("*") if p.is_file()]

    def wait_until_clean(self, job_id: str, timeout: float = 30.0) -> None:
        """Until no intermediate object and no queued work is left (clean-ups and the sweep
        may run a moment after the job ended)."""
        wait_for(
            lambda: not self.leftovers(job_id) and not self.busy_queues(),
            timeout,
            f"job {job_id} to leave nothing behind: {self.leftovers(job_id)} {self.busy_queues()}",
            interval=0.5,
        )


@pytest.fixture
def rig(s3_server: SeaweedS3, rabbit_url: str, tmp_path: Path) -> Iterator[Rig]:
    with (
        TcpProxy("127.0.0.1", RABBIT_PORT) as broker,
        TcpProxy("127.0.0.1", s3_server.port) as s3,
    ):
        # heartbeat=2: a frozen process's connection is dropped (its message redelivered) in
        # a few seconds instead of the service's 10-15
        url = rabbit_url.replace(f":{RABBIT_PORT}/", f":{broker.port}/").replace(
            "heartbeat=5", "heartbeat=2"
        )
        with isolated_farm(s3_server, url, "fault") as config:
            scratch = tmp_path / "scratch"
            scratch.mkdir()
            env = {
                **FAST,
                "FRAMEFARM_S3_ENDPOINT": s3.address,
                "FRAMEFARM_SCRATCH_DIR": str(scratch),
            }
            store = S3Store(
                s3_server.endpoint, s3_server.access_key, s3_server.secret_key, config.bucket
            )
            with Processes(config, tmp_path, env) as processes:
                yield Rig(config, broker, s3, store, processes, scratch, tmp_path)


@dataclass
class Coordinator:
    farm: Farm
    orchestrator: Orchestrator
    events: EventLog
    housekeeper: Housekeeper

    def submit(
        self, settings: dict[str, Any] | None = None, chunk_frames: int = CHUNK_FRAMES
    ) -> JobState:
        export = validate_export(DEMO, settings or SETTINGS, Limits())
        return self.orchestrator.submit(export, chunk_frames=chunk_frames)

    def watch(self, job_id: str) -> JobWatcher:
        return JobWatcher(self.orchestrator, job_id)


@pytest.fixture
def coordinator(rig: Rig) -> Iterator[Coordinator]:
    with open_coordinator(rig) as opened:
        yield opened


@contextlib.contextmanager
def open_coordinator(rig: Rig, **settings: float) -> Iterator[Coordinator]:
    """The coordinator's side, in this process, through the proxies: orchestrator, event pump
    and housekeeping (watchdog and sweep) with short periods."""
    coordinator_settings = CoordinatorSettings.model_validate(
        {
            "stall_seconds": STALL_SECONDS,
            "sweep_seconds": 1.0,
            "orphan_grace_seconds": 5.0,
            **settings,
        }
    )
    with Farm.distributed(rig.settings(), "coordinator") as farm:
        orchestrator = farm.orchestrator()
        events = EventLog(orchestrator)
        pump = EventPump(farm.broker, farm.queues, events)
        pump.start()
        farm.closers.append(pump.stop)
        housekeeper = Housekeeper(
            orchestrator, coordinator_settings, waiting_work=farm.waiting_work
        )
        housekeeper.start()
        farm.closers.append(housekeeper.stop)
        yield Coordinator(farm, orchestrator, events, housekeeper)
