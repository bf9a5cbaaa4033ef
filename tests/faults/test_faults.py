"""The fault matrix: the farm's processes killed, frozen, cut off from the broker or the store,
out of disk, without ffmpeg or with bad credentials, and cancelled mid-render. Each job ends
with the clean run's video or a clear error, and leaves no intermediate object, no queued
message and no scratch file behind (the rig is in conftest.py)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from common.jobs import records
from common.jobs.keys import JobKeys
from common.jobs.state import JobState, Phase
from coordinator.orchestrator import NotStarted
from sandbox.processes import REPO, Service, queue_counts, wait_for, wait_for_consumers
from tests.faults.conftest import (
    JOB_TIMEOUT_S,
    Coordinator,
    Rig,
    open_coordinator,
)

pytestmark = pytest.mark.integration

SETTINGS_BIG = {"width": 64, "height": 36, "fps": 24, "endBeat": 8}
"""96 frames: long enough to stop a chunk half way."""
BROKER_OUTAGE_S = 6.0
"""Four times the retries' whole span (3 attempts, 0.3-0.6 s apart) in the rig."""
WHOLE_JOB = 96
"""One chunk for all of SETTINGS_BIG's frames: a worker frozen at its first progress hint is
frozen with 95 frames still to render, so the freeze always lands mid-chunk."""


def first_commit(coordinator: Coordinator) -> tuple[threading.Event, object]:
    seen = threading.Event()

    def follow(state: JobState) -> None:
        if state.committed:
            seen.set()

    return seen, coordinator.orchestrator.subscribe(follow)


def finished_identically(rig: Rig, coordinator: Coordinator, job_id: str, reference: bytes) -> None:
    final = coordinator.watch(job_id).wait(JOB_TIMEOUT_S)
    assert final.phase is Phase.COMPLETE, final.error
    assert final.output_key is not None
    assert rig.store.get(final.output_key) == reference
    rig.wait_until_clean(job_id)


def start_farm(rig: Rig) -> None:
    rig.processes.start("worker", "worker")
    rig.processes.start("stitcher", "stitcher")
    wait_for_consumers(rig.config, "render", 1)
    wait_for_consumers(rig.config, "stitch", 1)


# --- outages ------------------------------------------------------------------------------------


@pytest.mark.parametrize("service", ["broker", "s3"])
def test_a_short_outage_ends_with_the_clean_runs_video(
    rig: Rig, coordinator: Coordinator, reference_video: bytes, service: str
) -> None:
    start_farm(rig)
    proxy = rig.broker if service == "broker" else rig.s3
    committed, _ = first_commit(coordinator)
    job_id = coordinator.submit().job_id
    assert committed.wait(JOB_TIMEOUT_S), "no chunk committed"
    proxy.cut()
    threading.Event().wait(2.0)  # the outage lasts this long: the fault itself, not a sync
    proxy.restore()
    finished_identically(rig, coordinator, job_id, reference_video)
    assert not rig.scratch_files()


def test_a_broker_outage_longer_than_the_retries_still_ends_with_the_clean_video(
    rig: Rig, coordinator: Coordinator, reference_video: bytes
) -> None:
    """Outlasting every retry (3 attempts within ~1.5 s here) costs no attempt: a message in
    hand when the connection drops goes back to its queue, and every process reconnects."""
    start_farm(rig)
    committed, _ = first_commit(coordinator)
    job_id = coordinator.submit().job_id
    assert committed.wait(JOB_TIMEOUT_S), "no chunk committed"
    rig.broker.cut()
    threading.Event().wait(BROKER_OUTAGE_S)  # the fault itself, not a sync
    rig.broker.restore()
    finished_identically(rig, coordinator, job_id, reference_video)
    assert not rig.scratch_files()


def test_an_s3_outage_longer_than_the_retries_fails_the_job_clearly(
    rig: Rig, coordinator: Coordinator
) -> None:
    start_farm(rig)
    job_id = coordinator.submit().job_id
    rig.s3.cut()
    try:
        final = coordinator.watch(job_id).wait(JOB_TIMEOUT_S)
    finally:
        rig.s3.restore()
    assert final.phase is Phase.FAILED
    assert final.error is not None
    assert "failed after 3 attempts" in final.error, final.error
    assert "S3" in final.error, final.error
    # Saved once the store is back (the coordinator retries what the store refused), and
    # what the clean-up could not remove during the outage the sweep does.
    wait_for(
        lambda: b'"failed"' in rig.store.get(JobKeys(job_id).status),
        30,
        "the failed state to be stored",
        interval=0.5,
    )
    rig.wait_until_clean(job_id)


def test_bad_credentials_on_every_worker_fail_the_job_naming_the_cause(rig: Rig) -> None:
    """A process that cannot use the store refuses to start (one line naming why), so no
    worker takes the job: the watchdog fails it, naming the stage and the likely cause."""
    wrong = {"FRAMEFARM_S3_SECRET_KEY": "not-the-secret"}
    worker = rig.processes.start("worker", "worker", env=wrong)
    stitcher = rig.processes.start("stitcher", "stitcher", env=wrong)
    with open_coordinator(rig, stall_seconds=2.0) as coordinator:
        job_id = coordinator.submit().job_id
        final = coordinator.watch(job_id).wait(JOB_TIMEOUT_S)
    assert final.phase is Phase.FAILED
    assert final.error is not None
    assert final.error.startswith("render: no worker took the render chunks"), final.error
    assert "none that can reach the store" in final.error
    for process in (worker, stitcher):
        assert process.process.wait(JOB_TIMEOUT_S) != 0
        assert "framefarm: S3 refused the request: SignatureDoesNotMatch" in process.text()
    # Its commands wait in the queues until a working farm takes them: they are dropped
    # (the job's stop marker) without a write.
    start_farm(rig)
    rig.wait_until_clean(job_id)
    assert rig.store.list(f"{JobKeys(job_id).prefix}output/") == []


def test_a_submit_with_the_broker_down_is_refused_and_stores_nothing(
    rig: Rig, coordinator: Coordinator
) -> None:
    rig.broker.cut()
    try:
        with pytest.raises(NotStarted, match="the message broker is unavailable"):
            coordinator.submit()
    finally:
        rig.broker.restore()
    assert rig.store.list("jobs/") == []


def test_a_job_no_worker_takes_is_failed_by_the_watchdog(rig: Rig) -> None:
    with open_coordinator(rig, stall_seconds=1.5) as active:
        submitted = active.submit()
        job_id = submitted.job_id
        # every command waits in the queues, counted through the broker (the line it is in;
        # RabbitMQ's counts catch up with a publish a moment later)
        wait_for(
            lambda: active.farm.waiting_work() == submitted.chunk_count + submitted.audio,
            JOB_TIMEOUT_S,
            "the waiting commands to be counted",
            interval=0.1,
        )
        final = active.watch(job_id).wait(JOB_TIMEOUT_S)
    assert final.phase is Phase.FAILED
    assert final.error is not None
    assert final.error.startswith("render: no worker took the render chunks for 3 s"), final.error


# --- processes killed and frozen ------------------------------------------------------------------


def test_a_worker_frozen_past_its_heartbeat_writes_nothing_into_the_finished_job(
    rig: Rig, coordinator: Coordinator, reference_video: bytes
) -> None:
    frozen = rig.processes.start("worker", "frozen")
    rig.processes.start("stitcher", "stitcher")
    wait_for_consumers(rig.config, "render", 1)
    started = threading.Event()

    def follow(state: JobState) -> None:
        if state.frames_in_flight:
            started.set()

    unsubscribe = coordinator.orchestrator.subscribe(follow)
    job_id = coordinator.submit(SETTINGS_BIG, chunk_frames=WHOLE_JOB).job_id
    assert started.wait(JOB_TIMEOUT_S), "the worker never started"
    os.kill(frozen.pid, signal.SIGSTOP)
    unsubscribe()
    try:
        rig.processes.start("worker", "second")
        final = coordinator.watch(job_id).wait(JOB_TIMEOUT_S)
        assert final.phase is Phase.COMPLETE, final.error
    finally:
        os.kill(frozen.pid, signal.SIGCONT)
    # the thawed worker finds the terminal marker and takes back what it wrote
    wait_for(
        lambda: f"job {job_id} stopped: stopping after" in frozen.text(),
        JOB_TIMEOUT_S,
        "the thawed worker to notice the job ended",
        interval=0.5,
    )
    rig.wait_until_clean(job_id)
    assert records.load(JobState, rig.store.get(JobKeys(job_id).status)).phase is Phase.COMPLETE


def test_a_killed_worker_and_stitcher_give_the_clean_video_and_leave_no_scratch(
    rig: Rig, coordinator: Coordinator, reference_video: bytes
) -> None:
    worker = rig.processes.start("worker", "worker")
    stitcher = rig.processes.start("stitcher", "stitcher")
    wait_for_consumers(rig.config, "stitch", 1)
    stale = rig.scratch / next(p.name for p in rig.scratch.iterdir() if "stitcher" in p.name)
    (stale / "soundtrack.wav").write_bytes(b"half a soundtrack")
    stitcher.kill()
    committed, _ = first_commit(coordinator)
    job_id = coordinator.submit().job_id
    assert committed.wait(JOB_TIMEOUT_S), "no chunk committed"
    worker.kill()  # its prefetched and unacknowledged chunks go back to the queue
    rig.processes.start("worker", "worker-again")
    rig.processes.start("stitcher", "stitcher-again")
    finished_identically(rig, coordinator, job_id, reference_video)
    assert not stale.exists()  # the new stitcher swept the dead one's scratch


def test_a_stitcher_frozen_past_its_heartbeat_leaves_the_finished_job_alone(
    rig: Rig, coordinator: Coordinator, reference_video: bytes
) -> None:
    """Frozen while the job's soundtrack and stitch are sent to it: the broker drops it after
    its missed heartbeats and gives them to another stitcher. Thawed, it reconnects; what it
    had in hand finds the job ended and writes nothing (the video stays the clean one)."""
    rig.processes.start("worker", "worker")
    frozen = rig.processes.start("stitcher", "frozen")
    wait_for_consumers(rig.config, "stitch", 1)
    wait_for_consumers(rig.config, "audio", 1)
    os.kill(frozen.pid, signal.SIGSTOP)
    try:
        job_id = coordinator.submit().job_id
        wait_for(
            lambda: consumers(rig, "audio") == 0,
            JOB_TIMEOUT_S,
            "the broker to drop the frozen stitcher",
            interval=0.3,
        )
        rig.processes.start("stitcher", "second")
        final = coordinator.watch(job_id).wait(JOB_TIMEOUT_S)
        assert final.phase is Phase.COMPLETE, final.error
    finally:
        os.kill(frozen.pid, signal.SIGCONT)
    wait_for_consumers(rig.config, "stitch", 2, timeout=JOB_TIMEOUT_S)  # thawed and back
    assert final.output_key is not None
    assert rig.store.get(final.output_key) == reference_video
    rig.wait_until_clean(job_id)
    assert records.load(JobState, rig.store.get(JobKeys(job_id).status)).phase is Phase.COMPLETE
    assert not rig.scratch_files()


def consumers(rig: Rig, kind: str) -> int:
    counts = queue_counts(rig.config.vhost).get(rig.config.queue(kind))
    return 0 if counts is None else counts.consumers


def blocking_join(folder: Path) -> tuple[dict[str, str], Path]:
    """A PATH whose ffmpeg is the real one, except that the join of segments (the concat
    demuxer) writes its pid to a file and then hangs: a stitcher caught mid-stitch."""
    folder.mkdir()
    started = folder / "join-started"
    real = shutil.which("ffmpeg")
    assert real is not None
    ffmpeg = folder / "ffmpeg"
    ffmpeg.write_text(
        "#!/bin/sh\n"
        'for arg in "$@"; do\n'
        f'  if [ "$arg" = concat ]; then echo $$ > {started}; exec sleep 600; fi\n'
        "done\n"
        f'exec {real} "$@"\n'
    )
    ffmpeg.chmod(0o755)
    return {"PATH": f"{folder}:{os.environ['PATH']}"}, started


def test_a_stitcher_killed_mid_stitch_gives_the_clean_video_and_no_scratch(
    rig: Rig, coordinator: Coordinator, reference_video: bytes, tmp_path: Path
) -> None:
    path, started = blocking_join(tmp_path / "hanging-ffmpeg")
    rig.processes.start("worker", "worker")
    stitcher = rig.processes.start("stitcher", "stitcher", env=path)
    wait_for_consumers(rig.config, "stitch", 1)
    job_id = coordinator.submit().job_id
    wait_for(
        lambda: started.exists() and started.read_text().strip() != "",
        JOB_TIMEOUT_S,
        "the stitch to start",
        interval=0.2,
    )
    stitcher.kill()  # mid-stitch: its join hangs, its scratch holds the soundtrack and segments
    os.kill(int(started.read_text()), signal.SIGKILL)  # its ffmpeg, orphaned
    dead = [p for p in rig.scratch.iterdir() if p.is_dir() and any(p.rglob("*"))]
    assert dead, "the killed stitcher left nothing in its scratch to sweep"
    rig.processes.start("stitcher", "stitcher-again")
    finished_identically(rig, coordinator, job_id, reference_video)
    assert not rig.scratch_files()  # the new stitcher swept the dead one's scratch


# --- the machine ----------------------------------------------------------------------------------


def test_a_stitcher_without_ffmpeg_refuses_to_start(rig: Rig) -> None:
    env = {**rig.config.env, "PATH": str(Path(sys.executable).parent.parent / "nothing")}
    done = subprocess.run(
        [sys.executable, "-m", "framefarm", "stitcher"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        "framefarm: ffmpeg and ffprobe not found on PATH: install ffmpeg; not consuming messages"
    ]
    counts = queue_counts(rig.config.vhost).get(rig.config.queue("stitch"))
    assert counts is None or counts.consumers == 0


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs (needs root): a full disk for the stitcher's scratch."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
        check=False,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs (root needed): {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_fails_the_job_saying_so(
    rig: Rig, coordinator: Coordinator, tiny_disk: Path
) -> None:
    rig.processes.start("worker", "worker")
    rig.processes.start("stitcher", "stitcher", env={"FRAMEFARM_SCRATCH_DIR": str(tiny_disk)})
    job_id = coordinator.submit().job_id
    final = coordinator.watch(job_id).wait(JOB_TIMEOUT_S)
    assert final.phase is Phase.FAILED
    assert final.error is not None and "no space left on device" in final.error, final.error
    rig.wait_until_clean(job_id)


def test_cancel_mid_render_leaves_nothing_not_even_the_soundtrack(
    rig: Rig, coordinator: Coordinator
) -> None:
    start_farm(rig)
    committed, _ = first_commit(coordinator)
    job_id = coordinator.submit(SETTINGS_BIG).job_id
    assert committed.wait(JOB_TIMEOUT_S), "no chunk committed"
    assert coordinator.orchestrator.cancel(job_id).phase is Phase.CANCELLED
    rig.wait_until_clean(job_id)
    assert rig.store.list(f"{JobKeys(job_id).prefix}output/") == []


# --- the coordinator process ----------------------------------------------------------------------


def http(port: int, method: str, path: str, body: dict[str, object] | None = None) -> object:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=data,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as reply:
        return json.loads(reply.read())


def start_coordinator(rig: Rig, name: str, port: int) -> Service:
    service = rig.processes.start(
        "coordinator",
        name,
        "--port",
        str(port),
        env={
            "FRAMEFARM_STALL_SECONDS": "20",
            "FRAMEFARM_SWEEP_SECONDS": "1",
            "FRAMEFARM_ORPHAN_GRACE_SECONDS": "2",
        },
    )

    def answers() -> bool:
        try:
            http(port, "GET", "/healthz")
        except OSError:
            return False
        return True

    wait_for(answers, JOB_TIMEOUT_S, f"{name} to answer on port {port}", interval=0.3)
    return service


def test_a_coordinator_frozen_then_killed_finishes_the_job_after_a_restart(
    rig: Rig, reference_video: bytes
) -> None:
    from sandbox.services import free_ports
    from tests.faults.conftest import DEMO, SETTINGS

    start_farm(rig)
    [port] = free_ports(1)
    first = start_coordinator(rig, "coordinator", port)
    accepted = http(port, "POST", "/api/exports", {"project": DEMO, "settings": SETTINGS})
    assert isinstance(accepted, dict)
    job_id = str(accepted["job_id"])
    os.kill(first.pid, signal.SIGSTOP)
    threading.Event().wait(5.0)  # frozen past its heartbeat: the fault itself, not a sync
    os.kill(first.pid, signal.SIGCONT)
    first.kill()
    start_coordinator(rig, "coordinator-again", port)

    def complete() -> bool:
        status = http(port, "GET", f"/api/exports/{job_id}")
        assert isinstance(status, dict)
        assert status["phase"] not in ("failed", "cancelled"), status
        return bool(status["phase"] == "complete")

    wait_for(complete, JOB_TIMEOUT_S, f"job {job_id} to complete", interval=0.5)
    video = rig.store.list(f"{JobKeys(job_id).prefix}output/video.mp4")
    assert [rig.store.get(key) for key in video] == [reference_video]
    rig.wait_until_clean(job_id)

    rig.broker.cut()  # a submit with the broker down: 503 JSON, and no job is kept
    try:
        with pytest.raises(urllib.error.HTTPError) as refused:
            http(port, "POST", "/api/exports", {"project": DEMO, "settings": SETTINGS})
    finally:
        rig.broker.restore()
    assert refused.value.code == 503
    assert refused.value.headers["Retry-After"] == "10"
    assert json.loads(refused.value.read()) == {
        "error": "the job could not be started: the message broker is unavailable"
    }
    # What a half-published submit keeps (its stop marker, for a worker that took a command)
    # goes with the orphan sweep (a grace of 2 s here).
    wait_for(  # keys, not folders: SeaweedFS lists an emptied folder until it is gone
        lambda: all(k.startswith(JobKeys(job_id).prefix) for k in rig.store.list("jobs/")),
        JOB_TIMEOUT_S,
        "the refused job's keys to be swept",
        interval=0.5,
    )
