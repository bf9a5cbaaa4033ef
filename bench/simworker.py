"""Simulated render workers for bench/scale.py: dramatiq threads that take RenderChunk messages off
a real render queue and do what farm_worker/chunk.py does with everything but the GPU and ffmpeg.

A simulated worker sleeps for the modelled frame time instead of rendering, uploads one
ready-made PNG of the job's frame size per frame (encoded once per size, about as large as a real
frame of the demo: 48, 140 and 255 KiB at 360p, 720p and 1080p), stores a small placeholder and a
real SegmentManifest for each segment inside its chunk at the moment a real worker's inline encode
would finish it, writes the real ChunkManifest last, and sends the real ChunkProgress,
SegmentEncoded and ChunkCommitted events through common.adapters.bus.Bus. Each one has its own S3
client, its own four upload threads with at most UPLOADS_IN_FLIGHT frames in flight, its own spec
cache and (dramatiq's connections are per thread) its own AMQP connection: the services see what
N real workers would send them.

What a worker does and when is recorded here, on the side (never in the messages), and handed
back to the benchmark when the host process stops: when each chunk started, when its thread had
become free for it, when it ended, and when each event was sent (``time.monotonic``, the same
clock in every process of one Linux machine).
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import multiprocessing.synchronize
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from multiprocessing.queues import Queue
from typing import Any

import dramatiq
import numpy as np

from common.adapters.bus import RENDER_ACTOR, Bus, run_command
from common.adapters.ffmpeg import SEGMENT_EXTENSIONS
from common.adapters.storage import ObjectStore, make_store
from common.config import ServiceSettings
from common.jobs import records
from common.jobs.chunks import ChunkPlan, SegmentPlan, inline_segments
from common.jobs.keys import JobKeys
from common.jobs.manifest import ChunkManifest, FrameRecord, SegmentManifest
from common.jobs.messages import ChunkCommitted, ChunkProgress, Event, RenderChunk, SegmentEncoded
from common.jobs.spec import SpecCache
from farm_worker.actors import RENDER_OPTIONS
from farm_worker.chunk import (
    CANCEL_CHECK_FRAMES,
    UPLOADS_IN_FLIGHT,
    ChunkError,
    ProgressHints,
)
from farm_worker.png import encode_png
from framefarm.farm import Farm

log = logging.getLogger(__name__)

UPLOAD_THREADS = 4  # ChunkRenderer's default
SEGMENT_PLACEHOLDER_BYTES = 4096
"""What a simulated segment stores instead of its video (a real 2-s 720p segment is ~1-3 MB)."""
RENDERER = "simulated (bench/scale.py: no GL)"
STOP_TIMEOUT_S = 30.0

ChunkRow = tuple[str, int, str, float, float, float, int, float]
"""job, chunk, worker, started, free since, ended (monotonic s), frames, render_seconds."""
SentRow = tuple[str, str, int, int, float]
"""event type, job, chunk or segment index, frames done (0 but for progress), sent at."""


def quiet_pika() -> None:
    """pika's logging off (but for critical errors). A worker thread's publishing connection
    idles once its chunks are done, RabbitMQ drops it when its heartbeats stop (``heartbeat=5``)
    and pika logs a page of tracebacks when it is closed at the end; dramatiq reconnects to
    publish. What goes wrong in a run shows up as a job that fails or never stitches."""
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("pika").setLevel(logging.CRITICAL)


def event_key(event: Event) -> tuple[str, str, int, int]:
    """What identifies an event between its sender and the orchestrator (redeliveries aside)."""
    if isinstance(event, ChunkProgress):
        return event.TYPE, event.job_id, event.chunk_index, event.frames_done
    if isinstance(event, ChunkCommitted):
        return event.TYPE, event.job_id, event.chunk_index, 0
    if isinstance(event, SegmentEncoded):
        return event.TYPE, event.job_id, event.segment_index, 0
    return event.TYPE, event.job_id, -1, 0


@cache
def synthetic_png(width: int, height: int) -> tuple[bytes, str]:
    """A frame-like PNG (dark background, a glow, 24 bars) of this size and its SHA-256, encoded
    once per size with the workers' encoder; about the size of a real frame of the demo."""
    y = np.linspace(0.0, 1.0, height)[:, None]
    x = np.linspace(0.0, 1.0, width)[None, :]
    glow = np.exp(-((x - 0.5) ** 2 * 30 + (y - 0.7) ** 2 * 60)) * 160
    image = np.empty((height, width, 3), np.uint8)
    for channel, (base, gain) in enumerate(((5, 1.0), (1, 0.25), (15, 1.4))):
        image[..., channel] = np.clip(base + glow * gain, 0, 255)
    bars = 24
    for i in range(bars):
        left = i * width // bars + width // (bars * 4)
        right = (i + 1) * width // bars - width // (bars * 4)
        top = height - int(height * (0.15 + 0.6 * ((i * 7) % 11) / 10))
        image[top:, left:right] = ((i * 53) % 176 + 80, (i * 97) % 176 + 80, (i * 31) % 176 + 80)
    png = encode_png(image)
    return png, hashlib.sha256(png).hexdigest()


class Journal:
    """What the simulated workers of one process did, for the benchmark (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.chunks: list[ChunkRow] = []
        self.sent: list[SentRow] = []

    def chunk(self, row: ChunkRow) -> None:
        with self._lock:
            self.chunks.append(row)

    def sending(self, event: Event) -> None:
        with self._lock:
            self.sent.append((*event_key(event), time.monotonic()))


class SimulatedWorker:
    """One render worker: chunk after chunk on one dramatiq thread, as ChunkRenderer.render."""

    def __init__(
        self,
        name: str,
        store: ObjectStore,
        send: Callable[[Event], None],
        journal: Journal,
        frame_s: float,
        free_since: float,
        upload_frames: bool = True,
    ) -> None:
        self.name, self.store, self._send, self.journal = name, store, send, journal
        self.frame_s = frame_s
        self.upload_frames = upload_frames
        self.free_since = free_since
        self.specs = SpecCache(store)
        self.uploads = ThreadPoolExecutor(UPLOAD_THREADS, thread_name_prefix=f"{name}-upload")

    def close(self) -> None:
        self.uploads.shutdown(wait=True)

    def publish(self, event: Event) -> None:
        self.journal.sending(event)
        self._send(event)

    def render(self, command: RenderChunk) -> None:
        began = time.monotonic()
        try:
            self._render(command, began)
        finally:
            ended = time.monotonic()
            self.free_since = ended

    def _render(self, command: RenderChunk, began: float) -> None:
        keys = JobKeys(command.job_id)
        if self.store.exists(keys.stop_marker):
            return
        manifest_key = keys.chunk_manifest(command.chunk_index)
        if self.store.exists(manifest_key):
            self._announce(records.load(ChunkManifest, self.store.get(manifest_key)))
            return
        spec, export = self.specs.get(command.job_id)
        plan = _check_plan(command, spec.chunks)
        png, digest = synthetic_png(export.settings.width, export.settings.height)
        extension = SEGMENT_EXTENSIONS[export.settings.format]
        segment_ends = {s.frames[-1]: s for s in inline_segments(plan, spec.segments)}
        started = time.perf_counter()
        segment_started = started
        stored: list[FrameRecord] = []
        pending: deque[Future[None]] = deque()
        finishing: list[Future[SegmentManifest]] = []
        hints = ProgressHints(self.publish, command, self.name)
        try:
            for done, index in enumerate(plan.frames):
                if done and done % CANCEL_CHECK_FRAMES == 0 and self.store.exists(keys.stop_marker):
                    return
                # The modelled frame (render + PNG): its time is exact, whatever the uploads do.
                time.sleep(max(0.0, started + (done + 1) * self.frame_s - time.perf_counter()))
                segment = segment_ends.get(index)
                if segment is not None:
                    seconds = time.perf_counter() - segment_started
                    finishing.append(
                        self.uploads.submit(self._segment, keys, segment, extension, seconds)
                    )
                    segment_started = time.perf_counter()
                key = keys.frame(index)
                stored.append(FrameRecord(index, key, digest, len(png)))
                if self.upload_frames:
                    pending.append(self.uploads.submit(self.store.put, key, png, "image/png"))
                while len(pending) >= UPLOADS_IN_FLIGHT:
                    pending.popleft().result()
                hints.frame_done(done + 1)
            while pending:
                pending.popleft().result()
            segments = [future.result() for future in finishing]
        finally:
            for future in pending:
                future.cancel()
        manifest = ChunkManifest(
            job_id=command.job_id,
            chunk_index=command.chunk_index,
            first_frame=command.first_frame,
            frames=tuple(stored),
            render_seconds=round(time.perf_counter() - started, 4),
            renderer=RENDERER,
            worker=self.name,
        )
        self.store.put(manifest_key, records.dump(manifest), "application/json")  # the commit
        if self.store.exists(keys.stop_marker):  # as ChunkRenderer: a stop since the last check
            self.store.delete(manifest_key)
            return
        for committed in segments:
            self.publish(committed.announcement())
        self._announce(manifest)
        self.journal.chunk(
            (
                command.job_id,
                command.chunk_index,
                self.name,
                began,
                self.free_since,
                time.monotonic(),
                manifest.frame_count,
                manifest.render_seconds,
            )
        )

    def _segment(
        self, keys: JobKeys, segment: SegmentPlan, extension: str, seconds: float
    ) -> SegmentManifest:
        """What SegmentWriter.finish stores: the segment (a placeholder), then its manifest."""
        data = bytes(SEGMENT_PLACEHOLDER_BYTES)
        key = keys.segment(segment.index, extension)
        self.store.put(key, data, "application/octet-stream")
        manifest = SegmentManifest(
            job_id=keys.job_id,
            segment_index=segment.index,
            first_frame=segment.first_frame,
            frame_count=segment.frame_count,
            key=key,
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
            encode_seconds=round(seconds, 4),
            encoded_from="memory",
            worker=self.name,
        )
        self.store.put(keys.segment_manifest(segment.index), records.dump(manifest))
        return manifest

    def _announce(self, manifest: ChunkManifest) -> None:
        self.publish(manifest.announcement())


def _check_plan(command: RenderChunk, chunks: tuple[ChunkPlan, ...]) -> ChunkPlan:
    plan = next((c for c in chunks if c.index == command.chunk_index), None)
    if plan is None or (plan.first_frame, plan.frame_count) != (
        command.first_frame,
        command.frame_count,
    ):
        raise ChunkError(f"chunk {command.chunk_index} does not match job {command.job_id}'s plan")
    return plan


class Workers:
    """The simulated workers of one process: one per dramatiq thread, made on its first chunk."""

    def __init__(
        self,
        settings: ServiceSettings,
        bus: Bus,
        prefix: str,
        frame_s: float,
        ready_at: float,
        upload_frames: bool,
    ) -> None:
        self.settings, self.bus, self.prefix, self.frame_s = settings, bus, prefix, frame_s
        self.ready_at = ready_at
        self.upload_frames = upload_frames
        self.journal = Journal()
        self._local = threading.local()
        self._lock = threading.Lock()
        self._numbers = itertools.count(1)
        self.started: list[SimulatedWorker] = []

    def render(self, command: RenderChunk) -> None:
        worker: SimulatedWorker | None = getattr(self._local, "worker", None)
        if worker is None:
            with self._lock:
                name = f"{self.prefix}-{next(self._numbers)}"
            worker = SimulatedWorker(
                name,
                make_store(self.settings),
                self.bus.send,
                self.journal,
                self.frame_s,
                self.ready_at,
                self.upload_frames,
            )
            self._local.worker = worker
            with self._lock:
                self.started.append(worker)
        worker.render(command)

    def close(self) -> None:
        for worker in self.started:
            worker.close()


@dataclass(frozen=True)
class HostPlan:
    """What one host process runs (picklable: it crosses into a spawned process)."""

    service: dict[str, Any]  # ServiceSettings.model_dump()
    name: str
    workers: int
    frame_ms: float
    max_seconds: float
    upload_frames: bool = True
    """False: the frames are listed in the manifests but not stored (the control plane alone)."""


def host(
    plan: HostPlan,
    ready: multiprocessing.synchronize.Event,
    stop: multiprocessing.synchronize.Event,
    results: Queue[dict[str, Any]],
) -> None:
    """A process of ``plan.workers`` simulated workers on the render queue, until ``stop`` is set
    (or ``plan.max_seconds`` pass); then its journal goes to ``results``."""
    quiet_pika()
    settings = ServiceSettings.model_validate(plan.service)
    with Farm.distributed(settings) as farm:
        workers = Workers(
            settings,
            farm.bus,
            plan.name,
            plan.frame_ms / 1000.0,
            ready_at=time.monotonic(),
            upload_frames=plan.upload_frames,
        )

        def render_chunk(payload: dict[str, Any]) -> None:
            run_command(payload, RenderChunk, workers.render, bus=farm.bus, component="worker")

        dramatiq.actor(
            broker=farm.broker,
            actor_name=RENDER_ACTOR,
            queue_name=farm.queues.render,
            **RENDER_OPTIONS,
        )(render_chunk)
        synthetic_png(16, 16)  # numpy and fpng warm
        farm.start_worker({farm.queues.render}, threads=plan.workers)
        workers.ready_at = time.monotonic()
        ready.set()
        stop.wait(plan.max_seconds)
        for worker in farm.workers:
            worker.stop(timeout=int(STOP_TIMEOUT_S * 1000))
        farm.workers.clear()
        workers.close()
    results.put(
        {
            "name": plan.name,
            "chunks": workers.journal.chunks,
            "sent": workers.journal.sent,
            "workers": len(workers.started),
        }
    )
