"""The whole farm against real services: RabbitMQ, a SeaweedFS S3 server, ffmpeg and EGL.

Render workers and the stitcher run as ``framefarm worker`` / ``framefarm stitcher`` processes;
the orchestrator and its event pump run in the test process. Each test has its own queue prefix
and its own bucket. A missing service fails the tests (sandbox/services.py), it never skips them.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import pika
import pytest

from common.adapters.bus import Bus, MsgpackEncoder, Queues, declare, rabbitmq_broker
from common.adapters.storage import LocalStore, ObjectStore
from common.config import Limits
from common.format.validation import validate_export
from common.jobs.keys import JobKeys, new_job_id
from common.jobs.messages import ChunkCommitted, ChunkProgress, Event, JobFailed
from common.jobs.state import JobState, Phase
from coordinator.events import EventPump
from coordinator.orchestrator import Orchestrator
from framefarm.farm import Farm, JobWatcher
from framefarm.render import render_video
from sandbox.processes import (
    FarmConfig,
    Processes,
    isolated_farm,
    queue_counts,
    wait_for,
    wait_for_consumers,
)
from sandbox.services import SeaweedS3
from tests.integration.helpers import (
    EXAMPLES,
    EventLog,
    ffprobe,
    frame_hashes,
    job_objects,
    manifests,
    stored_frame_hashes,
)
from tests.stitcher.media import frame_times

pytestmark = pytest.mark.integration

JOB_TIMEOUT_S = 90.0
DEMO: dict[str, Any] = json.loads((EXAMPLES / "demo.json").read_text())


# --- fixtures -------------------------------------------------------------------------------------


@pytest.fixture
def config(s3_server: SeaweedS3, rabbit_url: str) -> Iterator[FarmConfig]:
    """This test's queue prefix and bucket; the bucket goes (with its objects) afterwards."""
    with isolated_farm(s3_server, rabbit_url, "it") as config:
        yield config


@dataclass
class Coordinator:
    """The test process's side of a distributed farm: orchestrator, event pump, event log."""

    farm: Farm
    orchestrator: Orchestrator
    events: EventLog

    @property
    def store(self) -> ObjectStore:
        return self.farm.store


@pytest.fixture
def coordinator(config: FarmConfig) -> Iterator[Coordinator]:
    with Farm.distributed(config.settings) as farm:
        orchestrator = farm.orchestrator(keep_intermediates=True)
        events = EventLog(orchestrator)
        pump = EventPump(farm.broker, farm.queues, events)
        pump.start()
        farm.closers.append(pump.stop)
        yield Coordinator(farm, orchestrator, events)


@pytest.fixture
def processes(config: FarmConfig, tmp_path: Path) -> Iterator[Processes]:
    """Farm processes of this test, stopped (SIGTERM, then SIGKILL) when it ends; their logs are
    printed (shown if the test failed)."""
    with Processes(config, tmp_path) as started:
        yield started


def submit(
    coordinator: Coordinator,
    settings: dict[str, Any],
    chunk_frames: int,
    limits: Limits | None = None,
) -> JobState:
    """Validate the demo project with ``settings`` (as a submitter would) and submit it."""
    export = validate_export(DEMO, settings, limits or Limits())
    return coordinator.orchestrator.submit(export, chunk_frames=chunk_frames)


def watch(coordinator: Coordinator, state: JobState) -> JobWatcher:
    return JobWatcher(coordinator.orchestrator, state.job_id)


def embedded_hashes(
    settings: dict[str, Any], tmp_path: Path, name: str, chunk_frames: int | None = None
) -> tuple[list[str], Path]:
    """The frame hashes (and the video) of the same export rendered in this process."""
    store_dir, video = tmp_path / name, tmp_path / f"{name}.mp4"
    final = render_video(
        validate_export(DEMO, settings, Limits()),
        video,
        chunk_frames=chunk_frames,
        store_dir=store_dir,
        keep_intermediates=True,
        timeout=JOB_TIMEOUT_S,
    )
    assert final.phase is Phase.COMPLETE
    return frame_hashes(LocalStore(store_dir), final.job_id, final.frame_count), video


def worker_pid(manifest_worker: str) -> int:
    """The pid in a worker name ``render@host:pid``."""
    return int(manifest_worker.rsplit(":", 1)[1])


def download(store: ObjectStore, key: str, path: Path) -> Path:
    store.get_file(key, path)
    return path


# --- 1. a distributed export equals the embedded one ----------------------------------------------


def test_distributed_export_matches_embedded_frame_for_frame(
    config: FarmConfig, coordinator: Coordinator, processes: Processes, tmp_path: Path
) -> None:
    settings = {"width": 96, "height": 54, "fps": "12000/1001", "endBeat": 6}
    fps = Fraction(12000, 1001)
    frames = 36  # 3 s at 11.988 fps: ceil(35.96)
    workers = [processes.start("worker", f"worker{i}") for i in (1, 2)]
    processes.start("stitcher", "stitcher")
    wait_for_consumers(config, "render", 2)

    state = submit(coordinator, settings, chunk_frames=6)
    assert state.frame_count == frames and state.chunk_count == 6
    final = watch(coordinator, state).wait(JOB_TIMEOUT_S)

    assert final.phase is Phase.COMPLETE, final.error
    assert final.output_key is not None
    assert final.frames_done == frames
    assert final.duration_seconds == pytest.approx(float(frames / fps))
    video = download(coordinator.store, final.output_key, tmp_path / "distributed.mp4")
    assert final.size_bytes == video.stat().st_size
    probe = ffprobe(video)
    assert (probe.frame_count, probe.width, probe.height) == (frames, 96, 54)
    assert probe.fps == fps
    assert probe.duration == pytest.approx(float(frames / fps), abs=1e-3)
    assert probe.codec == "h264"

    distributed = frame_hashes(coordinator.store, state.job_id, frames)
    assert stored_frame_hashes(coordinator.store, state.job_id, frames) == distributed
    embedded, embedded_video = embedded_hashes(settings, tmp_path, "embedded")
    one_chunk, _ = embedded_hashes(settings, tmp_path, "one-chunk", chunk_frames=frames)
    assert distributed == embedded == one_chunk
    assert len(set(distributed)) > 1  # the frames are not all alike
    assert ffprobe(embedded_video).frame_count == frames

    rendered_by = {worker_pid(m.worker) for m in manifests(coordinator.store, state.job_id)}
    assert rendered_by == {w.pid for w in workers}  # 6 chunks, one at a time each: both worked


# --- 1b. the video's bytes depend on the export alone ---------------------------------------------

SEGMENTED = {"width": 96, "height": 54, "fps": 24, "endBeat": 10, "crf": 23, "cache": False}
"""5 s at 24 fps: 120 frames in segments of 48 (2 s), 48 and 24. Without the cache: each export
of the same frames must render and encode them again (reuse is tested in test_incremental)."""


def export_bytes(coordinator: Coordinator, chunk_frames: int, tmp_path: Path) -> bytes:
    state = submit(coordinator, SEGMENTED, chunk_frames=chunk_frames)
    final = watch(coordinator, state).wait(JOB_TIMEOUT_S)
    assert final.phase is Phase.COMPLETE, final.error
    assert final.output_key is not None
    path = download(coordinator.store, final.output_key, tmp_path / f"chunks{chunk_frames}.mp4")
    probe = ffprobe(path)
    assert (probe.frame_count, probe.fps) == (120, Fraction(24))
    return path.read_bytes()


def test_the_video_is_byte_identical_for_any_chunking_and_worker_count(
    config: FarmConfig, coordinator: Coordinator, processes: Processes, tmp_path: Path
) -> None:
    """Chunks of 7 (every segment encoded by the encode actor from stored PNGs), 24 (some inside
    a chunk, some across) and 60 (encoded in the workers' memory), on 1 then 2 workers, and the
    embedded farm: one file, byte for byte, soundtrack included."""
    processes.start("worker", "worker1")
    processes.start("stitcher", "stitcher")
    wait_for_consumers(config, "render", 1)
    one_worker = export_bytes(coordinator, 7, tmp_path)
    processes.start("worker", "worker2")
    wait_for_consumers(config, "render", 2)
    videos = {size: export_bytes(coordinator, size, tmp_path) for size in (7, 24, 60)}
    embedded = tmp_path / "embedded.mp4"
    render_video(validate_export(DEMO, SEGMENTED, Limits()), embedded, timeout=JOB_TIMEOUT_S)
    assert one_worker == videos[7] == videos[24] == videos[60] == embedded.read_bytes()
    times, keys = frame_times(embedded)
    assert times == [Fraction(i, 24) for i in range(120)]
    assert keys == [0, 48, 96]


def test_an_encoder_killed_mid_segment_still_gives_the_identical_file(
    config: FarmConfig, coordinator: Coordinator, processes: Processes, tmp_path: Path
) -> None:
    processes.start("worker", "worker1")
    processes.start("stitcher", "stitcher", "--no-encode")  # segments go to the encoder alone
    settings = {**SEGMENTED, "width": 320, "height": 180}  # segments that take a while to encode
    state = submit(coordinator, settings, chunk_frames=7)  # every segment crosses chunks
    watcher = watch(coordinator, state)
    wait_for(
        lambda: len(coordinator.orchestrator.state(state.job_id).committed) == state.chunk_count,
        JOB_TIMEOUT_S,
        "every chunk to be committed (every segment then waits for an encoder)",
    )
    doomed = processes.start("encoder", "encoder1")

    def encoding() -> bool:
        counts = queue_counts(config.vhost).get(config.queue("encode"))
        return counts is not None and counts.unacked > 0

    def frozen_with_a_segment_in_hand() -> bool:
        """Stop the encoder where it is; keep it stopped only if it holds a segment."""
        os.kill(doomed.pid, signal.SIGSTOP)
        if encoding():
            return True
        os.kill(doomed.pid, signal.SIGCONT)
        return False

    wait_for(frozen_with_a_segment_in_hand, JOB_TIMEOUT_S, "the encoder to take a segment")
    doomed.kill()  # with the segment's message in hand: RabbitMQ gives it to the next one
    processes.start("encoder", "encoder2")
    final = watcher.wait(JOB_TIMEOUT_S)
    assert final.phase is Phase.COMPLETE, final.error
    assert final.output_key is not None
    video = download(coordinator.store, final.output_key, tmp_path / "after-kill.mp4")
    reference = tmp_path / "reference.mp4"
    render_video(validate_export(DEMO, settings, Limits()), reference, timeout=JOB_TIMEOUT_S)
    assert video.read_bytes() == reference.read_bytes()
    assert not coordinator.events.since(0.0, JobFailed)


# --- 2. a worker killed mid-chunk -----------------------------------------------------------------


def test_a_chunk_of_a_killed_worker_is_rendered_again_by_another(
    config: FarmConfig, coordinator: Coordinator, processes: Processes, tmp_path: Path
) -> None:
    settings = {"width": 320, "height": 180, "fps": 24, "endBeat": 12}  # 144 frames
    first = processes.start("worker", "worker1")
    processes.start("stitcher", "stitcher")
    wait_for_consumers(config, "render", 1)

    in_flight: list[tuple[int, int]] = []  # (chunk, frames done) of a chunk under way
    seen = threading.Event()

    def follow(state: JobState) -> None:
        for chunk, done in state.frames_in_flight.items():
            if chunk not in state.committed and 0 < done < state.chunk_frames[chunk]:
                in_flight.append((chunk, done))
                seen.set()

    unsubscribe = coordinator.orchestrator.subscribe(follow)
    try:
        state = submit(coordinator, settings, chunk_frames=64)
        watcher = watch(coordinator, state)
        assert seen.wait(30), "no progress from the worker"
        first.kill()
    finally:
        unsubscribe()
    killed_chunk = in_flight[0][0]
    assert killed_chunk not in coordinator.orchestrator.state(state.job_id).committed
    second = processes.start("worker", "worker2")

    final = watcher.wait(JOB_TIMEOUT_S)
    assert final.phase is Phase.COMPLETE, final.error
    by_chunk = {m.chunk_index: m for m in manifests(coordinator.store, state.job_id)}
    assert worker_pid(by_chunk[killed_chunk].worker) == second.pid
    reference, reference_video = embedded_hashes(settings, tmp_path, "reference")
    assert frame_hashes(coordinator.store, state.job_id, final.frame_count) == reference
    assert stored_frame_hashes(coordinator.store, state.job_id, final.frame_count) == reference
    assert final.output_key is not None  # and the video, segments and all, is the same file
    video = download(coordinator.store, final.output_key, tmp_path / "after-kill.mp4")
    assert video.read_bytes() == reference_video.read_bytes()
    counts = queue_counts(config.vhost)
    assert counts[config.queue("render.XQ")].ready == 0  # a kill is not a failure
    assert not coordinator.events.since(0.0, JobFailed)


# --- 3. a chunk no worker can render --------------------------------------------------------------


def dead_letters(config: FarmConfig, queue: str) -> list[dict[str, Any]]:
    """The dramatiq messages in a dead-letter queue (read, then put back)."""
    connection = pika.BlockingConnection(pika.URLParameters(config.amqp_url))
    try:
        channel = connection.channel()
        messages: list[dict[str, Any]] = []
        while True:
            method, _properties, body = channel.basic_get(queue, auto_ack=False)
            if method is None:
                break
            messages.append(MsgpackEncoder().decode(body))
        channel.close()  # unacknowledged: back to the queue
    finally:
        connection.close()
    return messages


def test_a_chunk_that_always_fails_fails_the_job_once_and_is_dead_lettered(
    config: FarmConfig, coordinator: Coordinator, processes: Processes, tmp_path: Path
) -> None:
    # Valid for this submitter (its limits allow it) but wider than any GL render target.
    settings = {"width": 100_000, "height": 16, "fps": 12, "endBeat": 1}
    limits = Limits(max_width=1 << 20, max_pixels=1 << 30)
    worker = processes.start("worker", "worker")
    state = submit(coordinator, settings, chunk_frames=6, limits=limits)
    assert state.chunk_count == 1

    final = watch(coordinator, state).wait(30)
    assert final.phase is Phase.FAILED
    assert final.error is not None
    for words in ("width", "100000", "largest render target"):
        assert words in final.error, final.error

    def dead_lettered() -> bool:
        return queue_counts(config.vhost)[config.queue("render.XQ")].ready == 1

    wait_for(dead_lettered, 30, "the chunk to be dead-lettered", interval=0.3)
    # With the only message dead-lettered and the queues empty, nothing more can come.
    assert len(coordinator.events.since(0.0, JobFailed)) == 1
    assert not coordinator.events.since(0.0, ChunkCommitted)
    counts = queue_counts(config.vhost)
    for queue in ("render", "render.DQ"):
        assert (counts[config.queue(queue)].ready, counts[config.queue(queue)].unacked) == (0, 0)
    assert counts[config.queue("render.XQ")].ready == 1
    [letter] = dead_letters(config, config.queue("render.XQ"))
    assert letter["args"][0]["job_id"] == state.job_id
    assert letter["actor_name"] == "render_chunk"
    assert letter["options"].get("retries", 0) == 0  # permanent: never retried with backoff
    assert worker.process.poll() is None  # a bad job does not take the worker down
    assert coordinator.orchestrator.state(state.job_id).phase is Phase.FAILED


def test_a_corrupt_spec_fails_the_job_naming_the_problem(
    config: FarmConfig, coordinator: Coordinator, processes: Processes, tmp_path: Path
) -> None:
    settings = {"width": 96, "height": 54, "fps": 12, "endBeat": 1}
    state = submit(coordinator, settings, chunk_frames=6)
    # Damage the stored spec while its chunk waits in the queue, then let a worker take it.
    coordinator.store.put(JobKeys(state.job_id).spec, b"{not json", "application/json")
    processes.start("worker", "worker")
    final = watch(coordinator, state).wait(30)
    assert final.phase is Phase.FAILED
    assert final.error is not None and "job spec is corrupt" in final.error, final.error


# --- 4. cancel mid-render -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "chunk_frames",
    [
        pytest.param(20, id="chunk-shorter-than-a-cancel-check"),
        pytest.param(60, id="chunk-stopped-midway"),
    ],
)
def test_cancel_mid_render_stops_the_job_and_leaves_nothing(
    config: FarmConfig,
    coordinator: Coordinator,
    processes: Processes,
    tmp_path: Path,
    chunk_frames: int,
) -> None:
    settings = {"width": 160, "height": 90, "fps": 24, "endBeat": 12}  # 144 frames
    worker = processes.start("worker", "worker")
    wait_for_consumers(config, "render", 1)

    committed = threading.Event()

    def follow(state: JobState) -> None:
        if state.committed:
            committed.set()

    unsubscribe = coordinator.orchestrator.subscribe(follow)
    try:
        state = submit(coordinator, settings, chunk_frames=chunk_frames)
        assert committed.wait(30), "no chunk was committed"
    finally:
        unsubscribe()
    cancelled_at = time.monotonic()
    cancelled = coordinator.orchestrator.cancel(state.job_id)
    assert cancelled.phase is Phase.CANCELLED
    committed_before = len(cancelled.committed)
    assert committed_before < state.chunk_count - 1  # chunks were left to skip

    def drained() -> bool:
        counts = queue_counts(config.vhost)[config.queue("render")]
        return (counts.ready, counts.unacked) == (0, 0)

    wait_for(drained, 20, "the worker to drain the render queue", interval=0.3)
    store = coordinator.store
    for part in ("frames", "chunks", "segments", "output"):
        assert job_objects(store, state.job_id, part) == [], part
    late = coordinator.events.since(cancelled_at, ChunkCommitted)
    assert len(late) <= 1, late  # at most the chunk in progress finished
    after = [*late, *coordinator.events.since(cancelled_at, ChunkProgress)]
    worked_on = {e.chunk_index for e in after if isinstance(e, ChunkCommitted | ChunkProgress)}
    assert len(worked_on) <= 1, after  # the chunk in progress at most: the rest were skipped
    skipped = {
        int(m.group(1))
        for m in re.finditer(rf"job {state.job_id} stopped: skipping chunk (\d+)", worker.text())
    }
    assert not skipped & cancelled.committed
    assert len(skipped) >= state.chunk_count - committed_before - 1, skipped
    assert coordinator.orchestrator.state(state.job_id).phase is Phase.CANCELLED
    stored = Orchestrator(store, coordinator.farm.bus.send).state(state.job_id)
    assert stored.phase is Phase.CANCELLED
    counts = queue_counts(config.vhost)
    stitch = counts.get(config.queue("stitch"))
    assert stitch is None or stitch.ready == 0  # never stitched
    assert counts[config.queue("render.XQ")].ready == 0


# --- 5. the command line, embedded ----------------------------------------------------------------


def framefarm(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "framefarm", *args],
        cwd=cwd,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_render_command_writes_the_video(tmp_path: Path) -> None:
    output = tmp_path / "OUT.mp4"
    result = framefarm(
        "render",
        str(EXAMPLES / "demo.json"),
        "-o",
        str(output),
        *("--width", "160", "--height", "90", "--fps", "10", "--end-beat", "4"),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "20 frames" in result.stdout
    probe = ffprobe(output)
    assert (probe.frame_count, probe.width, probe.height, probe.fps) == (20, 160, 90, Fraction(10))
    assert probe.duration == pytest.approx(2.0, abs=1e-3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["OUT.mp4"]  # nothing left beside it


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["--fps", "0"], "--fps"),
        (["--fps", "ten"], "--fps"),
        (["--width", "161"], "--width"),
        (["--end-beat", "400"], "--end-beat"),
        (["--chunk-frames", "0"], "--chunk-frames"),
        (["--workers", "0"], "--workers"),
        (["--crf", "99"], "--crf"),
    ],
)
def test_render_command_refuses_bad_flags_in_one_line(
    tmp_path: Path, flags: list[str], named: str
) -> None:
    output = tmp_path / "OUT.mp4"
    base = ["--width", "160", "--height", "90", "--fps", "10", "--end-beat", "4"]
    result = framefarm(
        "render", str(EXAMPLES / "demo.json"), "-o", str(output), *base, *flags, cwd=tmp_path
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [result.stderr.strip()]  # one line
    assert result.stderr.startswith(f"framefarm: {named}: "), result.stderr
    assert "Traceback" not in result.stderr
    assert not output.exists()


def test_render_command_names_a_missing_project_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    result = framefarm("render", str(missing), "-o", str(tmp_path / "OUT.mp4"), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == f"framefarm: cannot read {missing}: No such file or directory"


def test_frames_command_refuses_a_range_beyond_the_export(tmp_path: Path) -> None:
    result = framefarm(
        "frames",
        str(EXAMPLES / "demo.json"),
        *("--out", str(tmp_path / "frames"), "--width", "96", "--height", "54"),
        *("--fps", "10", "--end-beat", "2", "--range", "5:50"),
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        'framefarm: --range: expected 0 <= A < B <= 10 (the export has 10 frames) (got "5:50")'
    )
    assert not (tmp_path / "frames").exists()


# --- 6. the event pump loses nothing when it stops ---------------------------------------------


def test_an_event_in_hand_when_the_pump_stops_is_left_for_the_next_pump(
    config: FarmConfig,
) -> None:
    broker, queues = rabbitmq_broker(config.amqp_url), Queues(config.queue_prefix)
    try:
        declare(broker, queues)
        bus = Bus(broker, queues)
        job_id = new_job_id()
        sent = [ChunkProgress(job_id, 0, done, 10, "w") for done in (1, 2)]
        for event in sent:
            bus.send(event)
        handled: list[Event] = []
        stopping: list[threading.Thread] = []

        def stop_while_handling(event: Event) -> None:
            handled.append(event)
            if len(handled) == 1:  # the second event is prefetched: stop before taking it
                stopping.append(threading.Thread(target=pump.stop))
                stopping[0].start()
                wait_for(lambda: pump.stopping, 10, "the stop to begin")

        pump = EventPump(broker, queues, stop_while_handling)
        pump.start()
        wait_for(lambda: bool(stopping), 10, "the first event")
        stopping[0].join(15)
        assert handled == sent[:1]
        counts = queue_counts(config.vhost)
        assert counts[config.queue("events.XQ")].ready == 0  # not dead-lettered
        assert counts[config.queue("events")].ready == 1  # back in the queue

        later: list[Event] = []
        second = EventPump(broker, queues, later.append)
        second.start()
        try:
            wait_for(lambda: bool(later), 10, "the next pump to get the event")
        finally:
            second.stop()
        assert later == sent[1:]
    finally:
        broker.close()
