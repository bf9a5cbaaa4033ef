"""A farm process stopped as a container engine stops it (SIGTERM), and probed as it probes it
(``framefarm health`` on the heartbeat file), against the real RabbitMQ and S3 server."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from common.jobs.messages import JobFailed
from common.jobs.state import JobState, Phase
from sandbox.processes import FarmConfig, Processes, queue_counts, wait_for, wait_for_consumers
from tests.integration import test_farm
from tests.integration.helpers import frame_hashes, manifests
from tests.integration.test_farm import (
    JOB_TIMEOUT_S,
    Coordinator,
    download,
    embedded_hashes,
    submit,
    watch,
    worker_pid,
)

pytestmark = pytest.mark.integration
config, coordinator, processes = test_farm.config, test_farm.coordinator, test_farm.processes


def health(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "framefarm", "health", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_sigterm_returns_the_chunk_in_hand_and_the_job_gives_the_same_frames(
    config: FarmConfig, coordinator: Coordinator, processes: Processes, tmp_path: Path
) -> None:
    settings = {"width": 320, "height": 180, "fps": 24, "endBeat": 12}  # 144 frames
    heartbeat = tmp_path / "worker1.heartbeat"
    first = processes.start(
        "worker",
        "worker1",
        "--log-format",
        "json",
        env={"FRAMEFARM_HEARTBEAT_FILE": str(heartbeat)},
    )
    processes.start("stitcher", "stitcher")
    wait_for_consumers(config, "render", 1)
    wait_for(heartbeat.exists, 30, "the worker's heartbeat file")
    alive = health("--heartbeat-file", str(heartbeat))
    assert alive.returncode == 0, alive.stderr

    in_flight: list[int] = []
    seen = threading.Event()

    def follow(state: JobState) -> None:
        for chunk, done in state.frames_in_flight.items():
            if chunk not in state.committed and 0 < done < state.chunk_frames[chunk]:
                in_flight.append(chunk)
                seen.set()

    unsubscribe = coordinator.orchestrator.subscribe(follow)
    try:
        state = submit(coordinator, settings, chunk_frames=64)
        watcher = watch(coordinator, state)
        assert seen.wait(60), "no progress from the worker"
        first.terminate()
        assert first.process.wait(60) == 0, first.output()
    finally:
        unsubscribe()
    returned = in_flight[0]
    assert returned not in coordinator.orchestrator.state(state.job_id).committed
    lines = [json.loads(line) for line in first.text().splitlines() if line.startswith("{")]
    back = [line for line in lines if "returning chunk" in line["message"]]
    assert back, first.output()
    assert back[0]["job_id"] == state.job_id
    assert back[0]["chunk"] == returned
    assert back[0]["stage"] == "render_chunk"
    stopped = health("--heartbeat-file", str(heartbeat))  # a stopped worker is not healthy
    assert stopped.returncode == 1
    assert "no heartbeat file" in stopped.stderr

    second = processes.start("worker", "worker2")
    final = watcher.wait(JOB_TIMEOUT_S)
    assert final.phase is Phase.COMPLETE, final.error
    by_chunk = {m.chunk_index: m for m in manifests(coordinator.store, state.job_id)}
    assert worker_pid(by_chunk[returned].worker) == second.pid
    reference, reference_video = embedded_hashes(settings, tmp_path, "reference")
    assert frame_hashes(coordinator.store, state.job_id, final.frame_count) == reference
    assert final.output_key is not None
    video = download(coordinator.store, final.output_key, tmp_path / "after-sigterm.mp4")
    assert video.read_bytes() == reference_video.read_bytes()
    counts = queue_counts(config.vhost)
    assert counts[config.queue("render.XQ")].ready == 0  # returned, not dead-lettered
    assert counts[config.queue("render.DQ")].ready == 0  # and not a delayed retry
    assert not coordinator.events.since(0.0, JobFailed)
