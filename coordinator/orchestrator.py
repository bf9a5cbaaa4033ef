"""The orchestrator: submits jobs, folds worker events into job state, enqueues the stitch once,
cancels, and recovers unfinished jobs after a restart.

State lives in the object store (``status.json``), chunk manifests are the durable truth about
what is rendered, and events are hints that make the state advance sooner. Every change of a
job's state goes through ``common.jobs.state.advance``; events for one job are handled one at a
time (a lock), so "all chunks committed" enqueues exactly one stitch. A job whose stored records
cannot be read is failed on its own; the other jobs go on.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

from common.adapters.storage import ObjectNotFound, ObjectStore, StorageError
from common.errors import DecodeError, FramefarmError, InvalidInput
from common.format.export_settings import SEGMENTED_FORMATS, wants_audio
from common.format.validation import Export
from common.jobs import records
from common.jobs.chunks import (
    DEFAULT_SEGMENT_SECONDS,
    ChunkPlan,
    SegmentPlan,
    plan_chunks,
    plan_segments,
    segment_frames_for,
    segments_from_frames,
    spans_from_sizes,
)
from common.jobs.estimate import Sample
from common.jobs.keys import JOBS_PREFIX, JobKeys, job_id_of, new_job_id
from common.jobs.manifest import ChunkManifest, SegmentManifest
from common.jobs.messages import (
    AudioReady,
    EncodeSegment,
    JobFailed,
    Message,
    RenderAudio,
    RenderChunk,
    StitchProgress,
    StitchVideo,
)
from common.jobs.spec import JobSpec
from common.jobs.state import (
    CancelRequested,
    IllegalTransition,
    JobState,
    Phase,
    Transition,
    advance,
    can_apply,
    kind_of,
    new_job,
    segments_to_encode,
    segments_waiting,
    unreadable_job,
)

log = logging.getLogger(__name__)

PROGRESS_SAVE_INTERVAL = 2.0
"""Seconds: a job's progress and commits are saved at most this often (a phase change at once).
The chunk manifests are the durable record of commits (``recover`` recounts them), so a save per
commit bought nothing but a store round trip on the event thread for every chunk."""

Listener = Callable[[JobState], None]
R = TypeVar("R", ChunkManifest, SegmentManifest)


class UnknownJob(FramefarmError):  # noqa: N818
    def __init__(self, job_id: str) -> None:
        super().__init__(f"no job {job_id}")
        self.job_id = job_id


class NotStarted(FramefarmError):  # noqa: N818 (reads as what happened)
    """A job could not be started (the broker or the store is unreachable); nothing of it is
    left behind, so submitting again is safe."""


DEFAULT_CACHED_JOBS = 1000
"""Job states kept in memory at most; ended jobs are evicted first, oldest first."""


class Orchestrator:
    def __init__(
        self,
        store: ObjectStore,
        send: Callable[[Message], None],
        *,
        clock: Callable[[], float] = time.time,
        keep_intermediates: bool = False,
        segment_seconds: float = DEFAULT_SEGMENT_SECONDS,
        cached_jobs: int = DEFAULT_CACHED_JOBS,
    ) -> None:
        self.store = store
        self.send = send
        self.clock = clock
        self.keep_intermediates = keep_intermediates
        self.segment_seconds = segment_seconds
        self.cached_jobs = cached_jobs
        self._states: dict[str, JobState] = {}
        self._samples: dict[str, Sample] = {}
        self._saved_at: dict[str, float] = {}
        self._progress_at: dict[str, float] = {}
        """Job -> when it last changed (or was loaded): the watchdog's clock of each job."""
        self._active_at = clock()
        """When any event last arrived: the farm is at work (a queued job may be in line)."""
        self._unsaved: set[str] = set()
        """Jobs whose latest state the store refused: saved again by ``flush``."""
        self._lock = threading.RLock()
        self._listeners: list[Listener] = []

    # --- observing ----------------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with every new state; returns a function that unsubscribes."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def state(self, job_id: str) -> JobState:
        """The job's state; UnknownJob if there is none. A stored state that cannot be read
        fails that job (saved, so it stays failed) instead of failing the caller."""
        keys = JobKeys(job_id)
        with self._lock:
            if job_id in self._states:
                return self._states[job_id]
            try:
                state = records.load(JobState, self.store.get(keys.status))
            except ObjectNotFound:
                raise UnknownJob(job_id) from None
            except DecodeError as error:
                log.error("job %s: %s", job_id, error)
                state = unreadable_job(job_id, str(error), self.clock())
                self._save(state, force=True)
                self._stop_work(state)
                return state
            self._progress_at.setdefault(job_id, self.clock())
            self._states[job_id] = state
            self._evict_if_full()
            return state

    def spec(self, job_id: str) -> JobSpec:
        try:
            return records.load(JobSpec, self.store.get(JobKeys(job_id).spec))
        except ObjectNotFound:
            raise UnknownJob(job_id) from None

    def timing_samples(self, limit: int = 20) -> list[Sample]:
        """What the last ``limit`` completed jobs that rendered frames cost (size, frames
        rendered, their worker-seconds, the tail after rendering), for estimates. A finished
        job never changes, so each is read from the store once."""
        samples = []
        for job_id in self.job_ids():
            state = self.state(job_id)
            if state.phase is not Phase.COMPLETE or state.frames_rendered < 1:
                continue  # a job stored before version 4 measured no render seconds: skipped
            if state.render_seconds <= 0:
                continue
            if job_id not in self._samples:
                try:
                    settings = self.spec(job_id).settings
                    width, height = int(settings["width"]), int(settings["height"])
                except (UnknownJob, DecodeError, KeyError, TypeError, ValueError):
                    continue
                tail = state.updated_at - (state.stitching_since or state.updated_at)
                self._samples[job_id] = Sample(
                    width,
                    height,
                    state.frames_rendered,
                    state.render_seconds,
                    state.frame_count,
                    tail,
                )
            samples.append(self._samples[job_id])
            if len(samples) >= limit:
                break
        return samples

    def job_ids(self) -> list[str]:
        """Every job in the store, newest first by status time. Lists the jobs' folders, not
        their objects (a job's frames would make the listing grow with its length)."""
        ids = {job_id_of(folder) for folder in self.store.folders(JOBS_PREFIX)}
        states = []
        for job_id in sorted(i for i in ids if i is not None):
            try:
                states.append(self.state(job_id))
            except UnknownJob:  # removed since the listing
                continue
        return [s.job_id for s in sorted(states, key=lambda s: s.created_at, reverse=True)]

    # --- commands -----------------------------------------------------------------------------

    def plan(
        self, export: Export, *, chunk_frames: int | None = None, workers: int
    ) -> tuple[tuple[ChunkPlan, ...], tuple[SegmentPlan, ...]]:
        """The chunks and segments ``submit`` gives ``export``: ``chunk_frames`` a chunk, or
        about CHUNKS_PER_WORKER chunks for each of ``workers``, aligned to the segment grid."""
        grid = 0
        if export.settings.format in SEGMENTED_FORMATS:
            grid = segment_frames_for(export.timeline.fps, self.segment_seconds)
        segments = tuple(plan_segments(export.frame_count, grid))
        chunks = tuple(plan_chunks(export.frame_count, chunk_frames, workers, align=grid or 1))
        return chunks, segments

    def submit(
        self,
        export: Export,
        *,
        chunk_frames: int | None = None,
        workers: int = 1,
        name: str = "video",
        owner: str | None = None,
        estimated_seconds: float | None = None,
    ) -> JobState:
        """Store the spec (with the submitting principal, ``owner``) and status (with the
        farm's estimate of its time), then publish one render command per chunk.

        NotStarted when the store or the broker fails on the way; what was stored is removed
        again (and, if some commands went out, the job is marked stopped so that a worker
        that took one drops it), so the client's refusal leaves no job behind."""
        job_id = new_job_id()
        keys = JobKeys(job_id)
        chunks, segments = self.plan(export, chunk_frames=chunk_frames, workers=workers)
        now = self.clock()
        spec = JobSpec(
            job_id,
            export.project_json,
            export.settings_json,
            export.frame_count,
            chunks,
            now,
            name,
            segments,
            owner,
        )
        audio = wants_audio(export.settings)
        state = new_job(
            job_id,
            {c.index: c.frame_count for c in chunks},
            now,
            audio=audio,
            segment_frames=segments_from_frames(segments),
            cache=export.settings.cache,
            estimated_seconds=estimated_seconds,
        )
        sent = 0
        try:
            self.store.put(keys.spec, records.dump(spec), "application/json")
            self._save(state, force=True, strict=True)
            for command in _commands(state):
                self.send(command)
                sent += 1
        except Exception as error:
            self._withdraw(keys, published=sent > 0)
            what = "the object store" if sent == 0 and isinstance(error, StorageError) else None
            what = what or "the message broker"
            log.error("job %s could not be started: %s", job_id, error, exc_info=True)
            raise NotStarted(f"the job could not be started: {what} is unavailable") from error
        log.info(
            "job %s: %d frames in %d chunks, %d segments",
            job_id,
            export.frame_count,
            len(chunks),
            len(segments),
        )
        return state

    def cancel(self, job_id: str) -> JobState:
        """Stop a job: workers skip its queued chunks and stop running ones; intermediates go."""
        with self._lock:
            state = self.state(job_id)
            if state.phase.terminal:
                return state
            self.store.put(JobKeys(job_id).stop_marker, b"cancelled", "text/plain")
            state = self._apply(state, CancelRequested(job_id))
        keys = JobKeys(job_id)
        for prefix in (*keys.intermediate_prefixes, keys.output_prefix):
            self.store.delete_prefix(prefix)
        return state

    def handle(self, event: Transition) -> JobState | None:
        """Fold one event into its job's state; None for events of unknown jobs."""
        with self._lock:
            self._active_at = self.clock()
            try:
                state = self.state(event.job_id)
            except (UnknownJob, InvalidInput):
                log.warning("event for unknown job %s: %s", event.job_id, type(event).__name__)
                return None
            if not can_apply(state, kind_of(event)):
                if not isinstance(event, StitchProgress):
                    log.debug("job %s is %s: ignoring late %s", state.job_id, state.phase, event)
                return state
            before, new = state, self._apply(state, event)
        self._after(before, new)
        return new

    def recover(self, *, queue_was_lost: bool = False) -> list[JobState]:
        """After a restart: bring every unfinished job up to date with what is stored. A job
        still queued gets its commands again (they may have been lost with a broker, or with a
        coordinator that died while submitting); with ``queue_was_lost`` (an in-memory broker:
        the embedded farm) the commands of a running job died with the process too, so the work
        not yet stored is asked for again. Commands are idempotent (a chunk already committed is
        only announced)."""
        recovered = []
        for job_id in self.job_ids():
            state = self.state(job_id)
            if state.phase.terminal:
                continue
            state = self.reconcile(job_id)
            if state.phase is Phase.QUEUED:
                for command in _commands(state):
                    self.send(command)
            elif queue_was_lost:
                self._resend_unstored_work(state)
            recovered.append(state)
        return recovered

    def reconcile(self, job_id: str) -> JobState:
        """Fold what is stored (chunk manifests, the soundtrack's record) into the job's state as
        the events that announced them would have; stitch if all is there (idempotent)."""
        keys = JobKeys(job_id)
        with self._lock:
            before = state = self.state(job_id)
            for event in self._stored_events(keys, state):
                if can_apply(state, kind_of(event)):
                    state = self._apply(state, event)
        self._after(before, state)
        if state.phase is Phase.STITCHING and before.phase is Phase.STITCHING:
            self.send(StitchVideo(job_id))  # the stitch is idempotent: a duplicate costs nothing
        if state.phase in (Phase.QUEUED, Phase.RENDERING):
            for segment in segments_waiting(state):  # their command may have been lost
                self.send(EncodeSegment(job_id, segment.index, *_span(segment)))
        return state

    # --- housekeeping (the coordinator's watchdog calls these on a schedule) ------------------

    def stalled(self, seconds: float, *, work_waiting: bool) -> list[JobState]:
        """Unfinished jobs that made no progress for ``seconds`` and cannot be waiting in line:
        either the whole farm made none either (no event at all: no worker is taking work), or
        nothing waits in the work queues (``work_waiting`` False), so no job's work is ahead of
        theirs and theirs was lost or is held by a worker that hangs. A queued job waiting
        behind other jobs' chunks is not stalled while those jobs progress."""
        now = self.clock()
        with self._lock:
            if work_waiting and now - self._active_at < seconds:
                return []
            return [
                state
                for job_id, state in self._states.items()
                # Every job held in _states has its time of progress (state() and _save).
                if not state.phase.terminal and now - self._progress_at[job_id] >= seconds
            ]

    def nudge(self, job_id: str) -> JobState:
        """Send a stalled job's remaining work again: what is stored is folded in (and the
        stitch or crossing encodes re-sent, as after a restart), and every chunk not committed
        yet and a missing soundtrack are commanded again. Commands are idempotent; this undoes
        a command lost with a broker, or with a coordinator that died between steps."""
        state = self.reconcile(job_id)
        if state.phase in (Phase.QUEUED, Phase.RENDERING):
            for command in _commands(state):
                self.send(command)
        return state

    def fail(self, job_id: str, error: str, component: str = "coordinator") -> JobState | None:
        """End a job as failed with ``error`` (the watchdog's verdict), with the usual stop
        marker and clean-up; a job that ended meanwhile is left as it is."""
        return self.handle(JobFailed(job_id, error, component))

    def flush(self) -> int:
        """Save again the states the store refused earlier; returns how many are still unsaved."""
        with self._lock:
            pending = [self._states[j] for j in self._unsaved if j in self._states]
        for state in pending:
            with contextlib.suppress(FramefarmError), self._lock:
                if self._states.get(state.job_id) is state:
                    self._put_status(state)
                    self._unsaved.discard(state.job_id)
        with self._lock:
            return len(self._unsaved)

    def evict(self, keep: int | None = None) -> int:
        """Drop ended jobs from memory, oldest first, until at most ``keep`` states are held
        (they are read from the store again when asked for); returns how many went."""
        keep = self.cached_jobs if keep is None else keep
        with self._lock:
            over = len(self._states) - keep
            if over <= 0:
                return 0
            ended = sorted(
                (
                    s
                    for s in self._states.values()
                    if s.phase.terminal and s.job_id not in self._unsaved
                ),
                key=lambda s: s.updated_at,
            )
            for state in ended[:over]:
                self._forget(state.job_id)
            return min(over, len(ended))

    # --- internals ----------------------------------------------------------------------------

    def _evict_if_full(self) -> None:
        if len(self._states) > self.cached_jobs:
            self.evict()

    def _forget(self, job_id: str) -> None:
        self._states.pop(job_id, None)
        self._saved_at.pop(job_id, None)
        self._progress_at.pop(job_id, None)
        self._unsaved.discard(job_id)

    def _withdraw(self, keys: JobKeys, *, published: bool) -> None:
        """Take back a job that could not be started: the status first (so that no
        ``recover`` republishes it), then the rest; the stop marker stays if commands went out
        (a worker that took one drops it; the orphan sweep removes the marker later)."""
        with self._lock:
            self._forget(keys.job_id)
        try:
            if published:
                self.store.put(keys.stop_marker, b"failed", "text/plain")
            self.store.delete(keys.status)
            for key in self.store.list(keys.prefix):
                if key != keys.stop_marker or not published:
                    self.store.delete(key)
        except FramefarmError:
            log.warning(
                "job %s: could not remove what its failed submit stored (the orphan sweep will)",
                keys.job_id,
                exc_info=True,
            )

    def _resend_unstored_work(self, state: JobState) -> None:
        if state.phase not in (Phase.QUEUED, Phase.RENDERING):
            return
        try:
            spec = self.spec(state.job_id)
        except UnknownJob:
            self.handle(JobFailed(state.job_id, "its stored plan is gone", "coordinator"))
            return
        if state.audio and not state.audio_ready:
            self.send(RenderAudio(state.job_id))
        for chunk in spec.chunks:
            if chunk.index not in state.committed:
                self.send(
                    RenderChunk(state.job_id, chunk.index, chunk.first_frame, chunk.frame_count)
                )
        log.info("job %s: its lost commands were sent again after a restart", state.job_id)

    def _stored_events(self, keys: JobKeys, state: JobState) -> list[Transition]:
        """The commits that the stored manifests and soundtrack record stand for."""
        events: list[Transition] = []
        for chunk in self._stored(keys, keys.chunks_prefix, ChunkManifest):
            if chunk.chunk_index in state.chunk_frames:
                events.append(chunk.announcement())
        for segment in self._stored(keys, keys.segments_prefix, SegmentManifest):
            if segment.segment_index in state.segment_frames:
                events.append(segment.announcement())
        if state.audio and not state.audio_ready:
            # Absent or half written: not rendered yet, and the audio actor will announce it.
            with contextlib.suppress(DecodeError, ObjectNotFound):
                events.append(records.load(AudioReady, self.store.get(keys.audio_metadata)))
        return events

    def _stored(self, keys: JobKeys, prefix: str, kind: type[R]) -> Iterator[R]:
        """Every readable ``kind`` record under ``prefix``; the unreadable ones are skipped
        (their work is done again, and committed again, by an idempotent actor)."""
        for key in self.store.list(prefix):
            if not key.endswith(".json"):
                continue
            try:
                yield records.load(kind, self.store.get(key))
            except (DecodeError, ObjectNotFound) as error:
                log.warning("job %s: skipping %s: %s", keys.job_id, key, error)

    def _apply(self, state: JobState, event: Transition) -> JobState:
        """``advance`` and save; an illegal move is logged and changes nothing."""
        try:
            new = advance(state, event, self.clock())
        except IllegalTransition as error:
            log.warning("job %s: %s", state.job_id, error)
            return state
        if new != state:
            self._save(new, force=new.phase != state.phase)
        return new

    def _after(self, before: JobState, new: JobState) -> None:
        """The side effects of a transition: segments to encode, and of a phase change the
        stitch, the stop marker and the clean-up."""
        if not new.phase.terminal:
            for segment in segments_to_encode(before, new):
                self.send(EncodeSegment(new.job_id, segment.index, *_span(segment)))
        if new.phase is before.phase:
            return
        if new.phase is Phase.STITCHING:
            self.send(StitchVideo(new.job_id))
        if new.phase is Phase.FAILED:
            self._stop_work(new)
        if new.phase is Phase.COMPLETE and not self.keep_intermediates:
            # The terminal marker: a late worker (one paused past its heartbeat, whose chunk
            # another finished) drops what it wrote instead of leaving it in a finished job.
            # With --keep the frames stay, and a late worker's frames are the same bytes.
            self._stop_work(new, b"complete")
        if new.phase.terminal and not self.keep_intermediates:
            self._remove_intermediates(new)

    def _stop_work(self, state: JobState, reason: bytes = b"failed") -> None:
        """Workers skip an ended job's remaining work and stop (and take back) running work."""
        try:
            self.store.put(JobKeys(state.job_id).stop_marker, reason, "text/plain")
        except FramefarmError:
            log.warning("job %s: could not store its stop marker", state.job_id, exc_info=True)

    def _save(self, state: JobState, *, force: bool, strict: bool = False) -> None:
        """Keep ``state`` and store it (a phase change at once, progress at most every
        PROGRESS_SAVE_INTERVAL). A store that refuses is retried by ``flush``, unless
        ``strict`` (a submit), where the error propagates."""
        now = self.clock()
        with self._lock:
            self._states[state.job_id] = state
            self._progress_at[state.job_id] = now
            due = now - self._saved_at.get(state.job_id, 0.0) >= PROGRESS_SAVE_INTERVAL
            if force or due or state.job_id in self._unsaved:
                try:
                    self._put_status(state)
                    self._unsaved.discard(state.job_id)
                except FramefarmError:
                    if strict:
                        raise
                    log.warning("job %s: status not saved (retried later)", state.job_id)
                    self._unsaved.add(state.job_id)
            self._evict_if_full()
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(state)
            except Exception:
                log.exception("a job listener failed")

    def _put_status(self, state: JobState) -> None:
        self.store.put(JobKeys(state.job_id).status, records.dump(state), "application/json")
        self._saved_at[state.job_id] = self.clock()

    def _remove_intermediates(self, state: JobState) -> None:
        keys = JobKeys(state.job_id)
        for prefix in keys.intermediate_prefixes:
            try:
                self.store.delete_prefix(prefix)
            except FramefarmError:
                log.warning("job %s: could not remove %s", state.job_id, prefix, exc_info=True)


def _commands(state: JobState) -> list[Message]:
    """The commands that start a job's remaining work: its soundtrack first (short, it runs
    beside the frames), then every chunk not committed yet."""
    commands: list[Message] = []
    if state.audio and not state.audio_ready:
        commands.append(RenderAudio(state.job_id))
    for chunk in spans_from_sizes(state.chunk_frames):
        if chunk.index not in state.committed:
            commands.append(
                RenderChunk(state.job_id, chunk.index, chunk.first_frame, chunk.frame_count)
            )
    return commands


def _span(segment: SegmentPlan) -> tuple[int, int]:
    return segment.first_frame, segment.frame_count
