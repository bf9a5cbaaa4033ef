"""The coordinator as deployed: ``framefarm coordinator`` (uvicorn) as a process on a free port of
127.0.0.1, against the local RabbitMQ and a SeaweedFS S3 server, with ``framefarm worker`` and
``framefarm stitcher`` processes; called by a real HTTP client and a real WebSocket client.

Each test has its own queue prefix and bucket. Every process a test starts is stopped when it
ends (SIGTERM, wait, then SIGKILL) and its log printed (pytest shows it if the test failed).
The same API in-process, with bad inputs and the OpenAPI document: tests/coordinator/test_api.py.
"""

from __future__ import annotations

import os
import signal
import socket
import time
import urllib.request
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from sandbox.processes import (
    FarmConfig,
    FramefarmProcess,
    Processes,
    isolated_farm,
    wait_for,
    wait_for_consumers,
)
from sandbox.services import HOST, SeaweedS3, free_ports, tail
from tests.coordinator.api_client import (
    DEMO_FILE_NAME,
    LONGER,
    LONGER_FRAMES,
    TINY,
    TINY_FRAMES,
    Api,
    check_complete_feed,
    check_not_behind,
    check_progress,
    check_same_state,
    demo,
    read_feed,
    receive,
)
from tests.integration.helpers import ffprobe

pytestmark = pytest.mark.integration

TOKEN = "integration-token"
READY_TIMEOUT_S = 30.0


class CoordinatorProcess(FramefarmProcess):
    """``python -m framefarm coordinator`` on ``port``, its output in a log file."""

    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.api = Api(f"http://{HOST}:{port}", env.get("FRAMEFARM_API_TOKEN"))
        command = ["coordinator", "--host", HOST, "--port", str(port)]
        super().__init__(command, {**env, "PYTHONUNBUFFERED": "1"}, log)

    def wait_until_serving(self, timeout: float = READY_TIMEOUT_S) -> None:
        """Until /healthz answers (200 or 503); AssertionError with the log if it exits first."""
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"the coordinator exited\n{self.output()}")
            try:
                if self.api.get("/healthz", auth=False).status in (200, 503):
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"the coordinator did not serve in {timeout} s")
            time.sleep(0.1)

    def output(self, lines: int = 40) -> str:
        return f"--- {self.log.name} (exit {self.process.poll()})\n{tail(self.log, lines)}"


class Coordinators:
    """Start coordinators for one test; all stopped at its end, their logs printed."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.started: list[CoordinatorProcess] = []

    def start(self, env: dict[str, str], port: int | None = None) -> CoordinatorProcess:
        """A coordinator with ``env`` (see ``coordinator_env``), serving on ``port``."""
        port = port or free_ports(1)[0]
        log = self.log_dir / f"coordinator-{port}.log"  # a restart appends to the same log
        coordinator = CoordinatorProcess(env, port, log)
        self.started.append(coordinator)
        coordinator.wait_until_serving()
        return coordinator

    def stop_all(self) -> None:
        for coordinator in reversed(self.started):
            coordinator.stop()
        for coordinator in self.started:
            print(coordinator.output())


def coordinator_env(config: FarmConfig, **settings: str) -> dict[str, str]:
    """The farm's environment with these FRAMEFARM_* ``settings``, and no other FRAMEFARM_*
    variable inherited from the shell (an API token, limits)."""
    farm = {**config.server.env(config.bucket), "FRAMEFARM_AMQP_URL": config.amqp_url}
    farm["FRAMEFARM_QUEUE_PREFIX"] = config.queue_prefix
    env = {k: v for k, v in config.env.items() if not k.startswith("FRAMEFARM_") or k in farm}
    # Browsers (here, urllib) reach this S3 server where the coordinator does.
    env["FRAMEFARM_S3_PUBLIC_ENDPOINT"] = f"http://{config.server.endpoint}"
    return {**env, **{f"FRAMEFARM_{name.upper()}": value for name, value in settings.items()}}


@pytest.fixture
def config(s3_server: SeaweedS3, rabbit_url: str) -> Iterator[FarmConfig]:
    """This test's queue prefix and bucket; the bucket goes (with its objects) afterwards."""
    with isolated_farm(s3_server, rabbit_url, "api") as config:
        yield config


@pytest.fixture
def processes(config: FarmConfig, tmp_path: Path) -> Iterator[Processes]:
    with Processes(config, tmp_path) as started:
        yield started


@pytest.fixture
def coordinators(tmp_path: Path) -> Iterator[Coordinators]:
    started = Coordinators(tmp_path)
    try:
        yield started
    finally:
        started.stop_all()


def start_farm(config: FarmConfig, processes: Processes) -> int:
    """One render worker and one stitcher, consuming; the worker's pid."""
    worker = processes.start("worker", "worker")
    processes.start("stitcher", "stitcher")
    wait_for_consumers(config, "render", 1)
    wait_for_consumers(config, "stitch", 1)
    return worker.pid


def download(api: Api, job_id: str, path: Path, name: str = DEMO_FILE_NAME) -> Path:
    """Follow the 307 to the presigned S3 URL with plain urllib; the file, named as expected."""
    reply = api.get(f"/api/exports/{job_id}/download")
    assert reply.status == 307, (reply.status, reply.body)
    location = reply.headers["location"]
    assert location.startswith(f"http://{HOST}:"), location
    assert "X-Amz-Signature=" in location and "X-Amz-Expires=300" in location, location
    with urllib.request.urlopen(location, timeout=30) as response:  # no API token: S3's URL
        assert response.status == 200
        disposition = response.headers["Content-Disposition"]
        assert disposition == f'attachment; filename="{name}.mp4"', disposition
        path.write_bytes(response.read())
    assert path.stat().st_size == api.status(job_id)["size_bytes"]
    return path


def feed_until_rendering(socket_messages: list[dict[str, Any]], feed: Any) -> None:
    """Read the feed until a progress message shows rendered frames."""
    while socket_messages[-1]["type"] == "progress" and socket_messages[-1]["framesDone"] == 0:
        socket_messages.append(receive(feed, 30))
    assert socket_messages[-1]["type"] == "progress", socket_messages


# --- exports over HTTP and WebSocket, cancelling, downloading from S3 -------------------------


def test_exports_run_are_cancelled_and_download_from_s3_through_the_api(
    config: FarmConfig, processes: Processes, coordinators: Coordinators, tmp_path: Path
) -> None:
    coordinator = coordinators.start(coordinator_env(config, api_token=TOKEN))
    api = coordinator.api
    start_farm(config, processes)
    health = api.get("/healthz", auth=False)
    assert (health.status, health.json()) == (200, {"status": "ok", "store": "ok", "broker": "ok"})
    assert api.get("/api/exports", auth=False).status == 401
    assert api.get(f"/api/exports?token={TOKEN}", auth=False).status == 400  # not in URLs
    assert api.get("/api/exports").json() == {"exports": []}

    doomed = api.submit_ok(demo(), LONGER)["job_id"]  # one worker renders its chunks first
    first = api.submit_ok(demo(), TINY)["job_id"]
    second = api.submit_ok(demo(name="Other Song"), TINY)["job_id"]
    with pytest.raises(InvalidStatus) as refused:
        api.connect(first, token="")  # no token: the handshake is refused
    assert refused.value.response.status_code == 403

    with api.connect(first) as first_feed, api.connect(doomed) as doomed_feed:
        opening = receive(first_feed)  # queued behind the other job's chunks
        check_same_state(opening, api.status(first))
        doomed_messages = [receive(doomed_feed)]
        feed_until_rendering(doomed_messages, doomed_feed)
        cancelled = api.delete(f"/api/exports/{doomed}")
        assert (cancelled.status, cancelled.json()["phase"]) == (200, "cancelled")
        doomed_messages += read_feed(doomed_feed)
        first_messages = [opening, *read_feed(first_feed)]
    *progress, last = doomed_messages
    check_progress(progress, LONGER_FRAMES)
    assert last == {"type": "error", "message": "the export was cancelled", "phase": "cancelled"}
    check_complete_feed(first_messages, first, TINY_FRAMES, signed=True)
    assert opening["phase"] == "queued"

    probe = ffprobe(download(api, first, tmp_path / "first.mp4"))
    assert (probe.frame_count, probe.width, probe.height, probe.fps) == (
        TINY_FRAMES,
        96,
        54,
        Fraction(10),
    )
    assert probe.codec == "h264"

    api.wait_for_phase(second, ("complete",))
    with api.connect(second, ticket=api.ticket(second)) as feed:  # as a browser follows
        (complete,) = read_feed(feed)  # after completion: complete at once
    assert complete["type"] == "complete", complete
    link = api.get(complete["url"], auth=False)  # signed: a browser's plain link, no header
    assert link.status == 307 and "X-Amz-Signature=" in link.headers["location"], link
    assert ffprobe(download(api, second, tmp_path / "second.mp4", "Other-Song")).frame_count == 20

    assert api.status(doomed)["phase"] == "cancelled"
    late = api.get(f"/api/exports/{doomed}/download")
    assert (late.status, late.error) == (409, f"export {doomed} is cancelled, not complete")
    exports = api.get("/api/exports").json()["exports"]
    assert [(e["job_id"], e["phase"]) for e in exports] == [
        (second, "complete"),
        (first, "complete"),
        (doomed, "cancelled"),
    ]
    coordinator.stop()
    log = coordinator.log.read_text()
    assert f"/ws/exports/{second}?ticket=[redacted]" in log  # the access log is on...
    assert TOKEN not in log  # ...and holds no token


# --- a coordinator restarted mid-job ----------------------------------------------------------


def test_a_restarted_coordinator_picks_the_job_up_and_its_feed_goes_on(
    config: FarmConfig, processes: Processes, coordinators: Coordinators, tmp_path: Path
) -> None:
    old = coordinators.start(coordinator_env(config))
    api = old.api
    worker = start_farm(config, processes)
    job_id = api.submit_ok(demo(), LONGER)["job_id"]

    with api.connect(job_id) as feed:
        messages = [receive(feed)]
        feed_until_rendering(messages, feed)
        os.kill(worker, signal.SIGSTOP)  # the job stays where it is while the coordinator is away
        try:
            # A clean stop, with this feed open (uvicorn re-raises SIGTERM once it has shut down).
            assert old.stop() in (0, -signal.SIGTERM)
            with pytest.raises(ConnectionClosed):
                while True:  # the server closed the feed
                    receive(feed, 10)
            check_progress(messages, LONGER_FRAMES)

            new = coordinators.start(coordinator_env(config), old.api.port)
            state = api.status(job_id)

            def settled() -> bool:  # events sent before the stop are folded in
                nonlocal state
                previous, state = state, api.status(job_id)
                return previous == state

            wait_for(settled, 10, "the job's state to settle", interval=0.5)
        finally:
            os.kill(worker, signal.SIGCONT)
    assert state["phase"] == "rendering" and state["frames_done"] > 0, state

    with new.api.connect(job_id) as feed:
        opening = receive(feed)
        # first the state as it is now (the resumed worker may already have moved it on)...
        check_not_behind(opening, state)
        resumed = [opening, *read_feed(feed)]  # ...then on to the end
    check_complete_feed(resumed, job_id, LONGER_FRAMES)

    status = api.status(job_id)
    assert (status["phase"], status["frames_done"]) == ("complete", LONGER_FRAMES)
    probe = ffprobe(download(api, job_id, tmp_path / "resumed.mp4"))
    assert (probe.frame_count, probe.width, probe.height) == (LONGER_FRAMES, 320, 180)
    assert probe.fps == 24


# --- health with a service down ---------------------------------------------------------------


def test_health_is_503_naming_the_broker_or_the_store_that_is_down(
    config: FarmConfig, coordinators: Coordinators
) -> None:
    closed = socket.socket()
    closed.bind((HOST, 0))  # bound, never listening: connections are refused
    port = closed.getsockname()[1]
    try:
        no_broker = coordinators.start(
            coordinator_env(config, amqp_url=f"amqp://guest:guest@{HOST}:{port}/%2F")
        )
        reply = no_broker.api.get("/healthz")
    finally:
        closed.close()
    assert reply.status == 503
    assert reply.json() == {"status": "unhealthy", "store": "ok", "broker": "unavailable"}
    assert str(port) not in reply.body.decode()  # the reason is in the log only

    with SeaweedS3() as own_s3:  # an S3 server of this test's own, to stop
        env = {**coordinator_env(config), **own_s3.env(config.bucket)}
        no_store = coordinators.start(env)
        assert no_store.api.get("/healthz").status == 200
        s3_port = own_s3.endpoint.split(":")[1]
    reply = no_store.api.get("/healthz")
    assert reply.status == 503
    assert reply.json() == {"status": "unhealthy", "store": "unavailable", "broker": "ok"}
    assert s3_port not in reply.body.decode()  # no host:port shown
    assert "healthz: the store" in no_store.output(lines=200)  # the log says why
