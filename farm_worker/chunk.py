"""Render one chunk of a job: frames to the store (uploads overlap rendering), the segments
inside the chunk encoded from memory meanwhile, the manifest last.

Idempotent: a chunk whose manifest exists is announced again, not rendered again; a stopped
(cancelled or failed) job's chunk is skipped, or stopped and its frames and segments removed.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from common.adapters.storage import ObjectStore
from common.cache.store import fetch_cached
from common.errors import FramefarmError, NotRetryable
from common.format.validation import Export
from common.jobs import records
from common.jobs.chunks import ChunkPlan, SegmentPlan, inline_segments
from common.jobs.keys import JobKeys
from common.jobs.manifest import ChunkManifest, FrameRecord, SegmentManifest
from common.jobs.messages import ChunkProgress, Event, RenderChunk
from common.jobs.spec import SpecCache
from farm_worker.cache import ThreadRenderers
from farm_worker.gl import describe
from farm_worker.inline import InlineEncoding
from farm_worker.png import decode_png, encode_png
from farm_worker.renderer import FrameRenderer, as_image
from farm_worker.reuse import ChunkReuse

log = logging.getLogger(__name__)

PROGRESS_INTERVAL = 0.5  # seconds between progress hints
CANCEL_CHECK_FRAMES = 24  # look for the cancel marker this often
UPLOADS_IN_FLIGHT = 8


class ChunkError(NotRetryable):
    """A chunk that does not fit its job's plan: a permanent error."""


class ChunkReturned(FramefarmError):  # noqa: N818
    """The worker is shutting down (SIGTERM): the chunk in hand goes back to the queue unfinished;
    whoever renders it next starts it over (frames are a pure function of their index)."""


class ChunkRenderer:
    """Everything a worker needs to render chunks; one per worker process, shared by threads."""

    def __init__(
        self,
        store: ObjectStore,
        publish: Callable[[Event], None],
        worker_name: str,
        *,
        specs: SpecCache | None = None,
        upload_threads: int = 4,
        draining: threading.Event | None = None,
        workdir: Path | None = None,
    ) -> None:
        self.store = store
        self.publish = publish
        self.worker_name = worker_name
        self.specs = specs or SpecCache(store)
        self.workdir = workdir
        self.renderers = ThreadRenderers()
        self.uploads = ThreadPoolExecutor(upload_threads, thread_name_prefix="upload")
        self.draining = draining or threading.Event()
        """Set on SIGTERM: a chunk under way stops at its next frame (ChunkReturned)."""

    def close(self) -> None:
        self.uploads.shutdown(wait=True)

    def render(self, command: RenderChunk) -> ChunkManifest | None:
        """Render (or re-announce) a chunk; None when the job was cancelled."""
        keys = JobKeys(command.job_id)
        if self.store.exists(keys.stop_marker):
            log.info("job %s stopped: skipping chunk %d", command.job_id, command.chunk_index)
            return None
        manifest_key = keys.chunk_manifest(command.chunk_index)
        if self.store.exists(manifest_key):
            manifest = records.load(ChunkManifest, self.store.get(manifest_key))
            log.info(
                "chunk %d of %s already committed: announcing it again",
                command.chunk_index,
                command.job_id,
            )
            self._announce(manifest)
            return manifest
        spec, export = self.specs.get(command.job_id)
        plan = _check_plan(command, spec.chunks)
        renderer = self.renderers.renderer(command.job_id, export)
        inline = inline_segments(plan, spec.segments)
        started = time.perf_counter()
        reuse = self._look_up(command, renderer, export, plan, inline)
        encoding = InlineEncoding(
            self.store,
            keys,
            export,
            inline,
            self.worker_name,
            workdir=self.workdir,
            cache_keys=reuse.segment_keys if reuse else None,
            cached=reuse.segments if reuse else None,
        )
        stored: list[FrameRecord] = []
        pending: deque[Future[None]] = deque()
        hints = ProgressHints(self.publish, command, self.worker_name)
        try:
            for done, index in enumerate(plan.frames):
                self._return_if_draining(command, done)
                if done and done % CANCEL_CHECK_FRAMES == 0 and self.store.exists(keys.stop_marker):
                    self._abandon(keys, stored, pending, encoding)
                    return None
                record = self._reused(reuse, index, encoding) if reuse else None
                if record is None:
                    record = self._render(keys, renderer, export, reuse, index, encoding, pending)
                stored.append(record)
                while len(pending) >= UPLOADS_IN_FLIGHT:
                    pending.popleft().result()
                hints.frame_done(done + 1)
            while pending:
                pending.popleft().result()
            segments = encoding.finish()
        except BaseException:
            encoding.abort(remove=False)  # a retry re-renders the chunk; its segments stay valid
            raise
        finally:
            for future in pending:
                future.cancel()
        if reuse is not None:  # what this chunk added to the cache is in use too, until the end
            _finish_reuse(self.store, reuse, command, stored, segments)
        manifest = ChunkManifest(
            job_id=command.job_id,
            chunk_index=command.chunk_index,
            first_frame=command.first_frame,
            frames=tuple(stored),
            render_seconds=round(time.perf_counter() - started, 4),
            renderer=describe(renderer.ctx),
            worker=self.worker_name,
            bytes_written=sum(r.size for r in stored if not r.reused),
        )
        self.store.put(manifest_key, records.dump(manifest), "application/json")  # the commit
        if self.store.exists(keys.stop_marker):
            # Cancelled (or failed) since the last check: the orchestrator's clean-up may have run
            # before these objects were stored. Checking after the commit closes that window: a
            # marker written after this check is followed by a clean-up that sees them.
            self.store.delete(manifest_key)
            self._abandon(keys, stored, pending, encoding)
            return None
        for segment in segments:
            self.publish(segment.announcement())
        self._announce(manifest)
        return manifest

    def _return_if_draining(self, command: RenderChunk, done: int) -> None:
        """ChunkReturned once the process is asked to stop: the chunk goes back to the queue."""
        if self.draining.is_set():
            log.info(
                "shutting down: returning chunk %d of %s after %d frames",
                command.chunk_index,
                command.job_id,
                done,
            )
            raise ChunkReturned(f"chunk {command.chunk_index} of {command.job_id}")

    def _look_up(
        self,
        command: RenderChunk,
        renderer: FrameRenderer,
        export: Export,
        plan: ChunkPlan,
        inline: list[SegmentPlan],
    ) -> ChunkReuse | None:
        """The chunk's frames and segments already in the cache (recorded as in use), or None
        when the job bypasses the cache."""
        if not export.settings.cache:
            return None
        reuse = ChunkReuse.look_up(self.store, renderer, export, plan, inline)
        reuse.record(self.store, command.job_id, f"chunk_{command.chunk_index:04d}", [])
        return reuse

    def _reused(
        self, reuse: ChunkReuse, index: int, encoding: InlineEncoding
    ) -> FrameRecord | None:
        """The record of a frame taken from the cache (its pixels go to the encoder when its
        segment is encoded here); None when it must be rendered: not cached, or gone since."""
        hit = reuse.hits.get(index)
        if hit is None:
            return None
        if encoding.needs(index):
            png = fetch_cached(self.store, hit.object_key)
            if png is None or hashlib.sha256(png).hexdigest() != hit.sha256:
                return None  # evicted or damaged since the listing: render it
            encoding.frame(index, decode_png(png).tobytes(), self.uploads)
        key = reuse.keys[index]
        return FrameRecord(index, hit.object_key, hit.sha256, hit.size, key, reused=True)

    def _render(
        self,
        keys: JobKeys,
        renderer: FrameRenderer,
        export: Export,
        reuse: ChunkReuse | None,
        index: int,
        encoding: InlineEncoding,
        pending: deque[Future[None]],
    ) -> FrameRecord:
        """Render a frame, hand it to its segment's encoder, and store its PNG (in the cache
        when the job uses it)."""
        if reuse is not None:
            rgb = renderer.render_scene(reuse.scene(index, renderer, export))
        else:
            rgb = renderer.render_at(export.timeline.time_of(index))
        encoding.frame(index, rgb, self.uploads)
        png = encode_png(as_image(rgb, renderer.width, renderer.height))
        digest = hashlib.sha256(png).hexdigest()
        key = reuse.frame_object(index, digest) if reuse else keys.frame(index)
        pending.append(self.uploads.submit(self.store.put, key, png, "image/png"))
        frame_key = reuse.keys[index] if reuse else ""
        return FrameRecord(index, key, digest, len(png), frame_key)

    def _announce(self, manifest: ChunkManifest) -> None:
        self.publish(manifest.announcement())

    def _abandon(
        self,
        keys: JobKeys,
        stored: list[FrameRecord],
        pending: deque[Future[None]],
        encoding: InlineEncoding,
    ) -> None:
        """Cancelled mid-chunk: finish the uploads in flight, then delete this chunk's frames
        and the segments it encoded."""
        log.info("job %s stopped: stopping after %d frames", keys.job_id, len(stored))
        encoding.abort(remove=True)
        while pending:
            try:
                pending.popleft().result()
            except Exception:  # the frames are being deleted anyway
                log.debug("upload failed while abandoning a cancelled chunk", exc_info=True)
        for record in stored:
            if record.key.startswith(keys.prefix):  # a frame in the cache stays valid
                self.store.delete(record.key)


class ProgressHints:
    """ChunkProgress for a chunk under way, at most every PROGRESS_INTERVAL seconds (hints: the
    commit is what counts)."""

    def __init__(self, publish: Callable[[Event], None], command: RenderChunk, worker: str) -> None:
        self.publish, self.command, self.worker = publish, command, worker
        self._last = 0.0

    def frame_done(self, done: int) -> None:
        now = time.perf_counter()
        if now - self._last >= PROGRESS_INTERVAL:
            self._last = now
            command = self.command
            self.publish(
                ChunkProgress(
                    command.job_id, command.chunk_index, done, command.frame_count, self.worker
                )
            )


def _finish_reuse(
    store: ObjectStore,
    reuse: ChunkReuse,
    command: RenderChunk,
    stored: list[FrameRecord],
    segments: list[SegmentManifest],
) -> None:
    added = [r.key for r in stored if not r.reused]
    added += [m.key for m in segments if m.cache_key and not m.reused]
    reuse.record(store, command.job_id, f"chunk_{command.chunk_index:04d}", added)
    reuse.check_still_cached(store, stored, segments)


def _check_plan(command: RenderChunk, chunks: tuple[ChunkPlan, ...]) -> ChunkPlan:
    """The message must name a chunk of the stored plan, with the same frames."""
    plan = next((c for c in chunks if c.index == command.chunk_index), None)
    if plan is None:
        raise ChunkError(f"chunk {command.chunk_index} is not in job {command.job_id}'s plan")
    if (plan.first_frame, plan.frame_count) != (command.first_frame, command.frame_count):
        planned = f"{plan.first_frame}+{plan.frame_count}"
        sent = f"{command.first_frame}+{command.frame_count}"
        raise ChunkError(
            f"chunk {command.chunk_index} of job {command.job_id} covers frames {planned}, "
            f"the message says {sent}"
        )
    return plan
