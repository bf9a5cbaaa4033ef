"""Two ``framefarm coordinator`` processes on one farm: one orchestrates, both serve. The
orchestrating one is SIGKILLed mid-job; the other takes over, the job completes with one
stitch, and WebSocket clients of the survivor (one connected throughout, one reconnecting)
reach ``complete``."""

from __future__ import annotations

import re
import urllib.request
from pathlib import Path

import pytest

from sandbox.processes import FarmConfig, Processes, wait_for
from sandbox.services import HOST, free_ports
from tests.coordinator.api_client import (
    LONGER,
    LONGER_FRAMES,
    check_complete_feed,
    demo,
    read_feed,
    receive,
)
from tests.integration import test_coordinator
from tests.integration.test_coordinator import (
    CoordinatorProcess,
    Coordinators,
    coordinator_env,
    feed_until_rendering,
)

pytestmark = pytest.mark.integration
config, processes, coordinators = (
    test_coordinator.config,
    test_coordinator.processes,
    test_coordinator.coordinators,
)
ORCHESTRATING = "replica: orchestrating"


def orchestrating(coordinator: CoordinatorProcess) -> bool:
    return ORCHESTRATING in coordinator.log.read_text(errors="replace")


def metric(port: int, name: str, labels: str) -> float:
    with urllib.request.urlopen(f"http://{HOST}:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    match = re.search(rf"^{name}\{{{labels}\}} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def test_a_killed_orchestrator_is_replaced_and_every_client_sees_the_job_complete(
    config: FarmConfig, processes: Processes, coordinators: Coordinators, tmp_path: Path
) -> None:
    env = coordinator_env(config)
    first = coordinators.start(env)
    wait_for(lambda: orchestrating(first), 30, "the first coordinator to orchestrate")
    second = coordinators.start(env)
    processes.start("worker", "worker")
    (stitcher_metrics,) = free_ports(1)
    processes.start("stitcher", "stitcher", env={"FRAMEFARM_METRICS_PORT": str(stitcher_metrics)})
    assert not orchestrating(second)  # one orchestrator at a time

    doomed = second.api.submit_ok(demo(), LONGER)["job_id"]
    cancelled = second.api.delete(f"/api/exports/{doomed}")  # passed on to the orchestrator
    assert (cancelled.status, cancelled.json()["phase"]) == (200, "cancelled")
    assert first.api.status(doomed)["phase"] == "cancelled"

    job = second.api.submit_ok(demo(), LONGER)["job_id"]  # stored by the one that follows
    with second.api.connect(job) as on_survivor, first.api.connect(job) as on_victim:
        survivor = [receive(on_survivor)]
        feed_until_rendering(survivor, on_survivor)  # the orchestrator's progress, fanned out
        assert receive(on_victim)["type"] == "progress"
        assert survivor[-1]["phase"] == "rendering", survivor
        first.kill()
        wait_for(lambda: orchestrating(second), 60, "the second coordinator to take over")
        with second.api.connect(job) as reconnected:
            again = read_feed(reconnected)
        survivor += read_feed(on_survivor)
    check_complete_feed(survivor, job, LONGER_FRAMES)
    check_complete_feed(again, job, LONGER_FRAMES)
    status = second.api.status(job)
    assert (status["phase"], status["frames_done"]) == ("complete", LONGER_FRAMES)
    stitches = metric(
        stitcher_metrics, "framefarm_actor_messages_total", 'actor="stitch_video",outcome="ok"'
    )
    assert stitches == 1  # not lost, not doubled
