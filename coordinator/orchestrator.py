"""The orchestrator: submits jobs, folds worker events into job state, enqueues the stitch once,
cancels, and recovers unfinished jobs after a restart.

State lives in the object store (``status.json``), chunk manifests are the durable truth about
what is rendered, and events are hints that make the state advance sooner. Events for one job are
handled one at a time (a lock), so "all chunks committed" enqueues exactly one stitch.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from common.adapters.storage import ObjectNotFound, ObjectStore
from common.errors import FramefarmError, InvalidInput
from common.format.export_settings import wants_audio
from common.format.validation import Export
from common.jobs.chunks import plan_chunks
from common.jobs.keys import JOBS_PREFIX, JobKeys, job_id_of, new_job_id
from common.jobs.manifest import ChunkManifest
from common.jobs.messages import (
    Event,
    Message,
    RenderAudio,
    RenderChunk,
    StitchProgress,
    StitchVideo,
)
from common.jobs.spec import JobSpec
from common.jobs.state import (
    IllegalTransition,
    JobState,
    Phase,
    advance,
    can_apply,
    cancel,
    kind_of,
    new_job,
)

log = logging.getLogger(__name__)

PROGRESS_SAVE_INTERVAL = 2.0  # seconds: progress hints are saved at most this often per job

Listener = Callable[[JobState], None]


class UnknownJob(FramefarmError):  # noqa: N818
    def __init__(self, job_id: str) -> None:
        super().__init__(f"no job {job_id}")
        self.job_id = job_id


class Orchestrator:
    def __init__(
        self,
        store: ObjectStore,
        send: Callable[[Message], None],
        *,
        clock: Callable[[], float] = time.time,
        keep_intermediates: bool = False,
    ) -> None:
        self.store = store
        self.send = send
        self.clock = clock
        self.keep_intermediates = keep_intermediates
        self._states: dict[str, JobState] = {}
        self._saved_at: dict[str, float] = {}
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
        keys = JobKeys(job_id)
        with self._lock:
            if job_id in self._states:
                return self._states[job_id]
        try:
            state = JobState.from_json(json.loads(self.store.get(keys.status)))
        except ObjectNotFound:
            raise UnknownJob(job_id) from None
        with self._lock:
            return self._states.setdefault(job_id, state)

    def spec(self, job_id: str) -> JobSpec:
        try:
            return JobSpec.from_bytes(self.store.get(JobKeys(job_id).spec))
        except ObjectNotFound:
            raise UnknownJob(job_id) from None

    def job_ids(self) -> list[str]:
        """Every job in the store, newest first by status time."""
        ids = {job_id_of(k) for k in self.store.list(JOBS_PREFIX) if k.endswith("/status.json")}
        states = []
        for job_id in ids - {None}:
            assert job_id is not None
            try:
                states.append(self.state(job_id))
            except (UnknownJob, FramefarmError, ValueError):
                log.warning("skipping unreadable job %s", job_id)
        return [s.job_id for s in sorted(states, key=lambda s: s.created_at, reverse=True)]

    # --- commands -----------------------------------------------------------------------------

    def submit(
        self,
        export: Export,
        project: dict[str, Any],
        settings: dict[str, Any],
        *,
        chunk_frames: int | None = None,
        workers: int = 1,
        name: str = "video",
    ) -> JobState:
        """Store the spec and status, then publish one render command per chunk."""
        job_id = new_job_id()
        keys = JobKeys(job_id)
        chunks = tuple(plan_chunks(export.frame_count, chunk_frames, workers))
        now = self.clock()
        spec = JobSpec(job_id, project, settings, export.frame_count, chunks, now, name)
        self.store.put(keys.spec, spec.to_bytes(), "application/json")
        audio = wants_audio(export.settings)
        state = new_job(job_id, {c.index: c.frame_count for c in chunks}, now, audio=audio)
        self._save(state)
        if audio:
            self.send(RenderAudio(job_id))  # first: it is short and runs beside the frames
        for chunk in chunks:
            self.send(RenderChunk(job_id, chunk.index, chunk.first_frame, chunk.frame_count))
        log.info("job %s: %d frames in %d chunks", job_id, export.frame_count, len(chunks))
        return state

    def cancel(self, job_id: str) -> JobState:
        """Stop a job: workers skip its queued chunks and stop running ones; intermediates go."""
        keys = JobKeys(job_id)
        with self._lock:
            state = self.state(job_id)
            if state.phase.terminal:
                return state
            self.store.put(keys.cancelled, b"", "text/plain")
            state = cancel(state, self.clock())
            self._save(state)
        for prefix in (*keys.intermediate_prefixes, keys.output_prefix):
            self.store.delete_prefix(prefix)
        return state

    def handle(self, event: Event) -> JobState | None:
        """Fold one event into its job's state; None for events of unknown jobs."""
        with self._lock:
            try:
                state = self.state(event.job_id)
            except (UnknownJob, InvalidInput):
                log.warning("event for unknown job %s: %s", event.job_id, event.TYPE)
                return None
            if not can_apply(state, kind_of(event)):
                if not isinstance(event, StitchProgress):
                    log.debug(
                        "job %s is %s: ignoring late %s", state.job_id, state.phase, event.TYPE
                    )
                return state
            try:
                new = advance(state, event, self.clock())
            except IllegalTransition as error:
                log.warning("job %s: %s", state.job_id, error)
                return state
            if new == state:
                return state
            self._save(new, force=new.phase != state.phase or new.committed != state.committed)
        if new.phase is Phase.STITCHING and state.phase is not Phase.STITCHING:
            self.send(StitchVideo(new.job_id))
        if new.phase is Phase.FAILED:
            # The same marker as a cancel: workers skip or stop the job's remaining chunks.
            self.store.put(JobKeys(new.job_id).cancelled, b"failed", "text/plain")
        if new.phase.terminal and not self.keep_intermediates:
            self._remove_intermediates(new)
        return new

    def recover(self) -> list[JobState]:
        """After a restart: bring every unfinished job up to date with what is stored."""
        recovered = []
        for job_id in self.job_ids():
            state = self.state(job_id)
            if state.phase.terminal:
                continue
            recovered.append(self.reconcile(job_id))
        return recovered

    def reconcile(self, job_id: str) -> JobState:
        """Count committed chunks from their manifests; stitch if all are there (idempotent)."""
        keys = JobKeys(job_id)
        with self._lock:
            state = self.state(job_id)
            committed = set(state.committed)
            for key in self.store.list(keys.chunks_prefix):
                try:
                    committed.add(ChunkManifest.from_bytes(self.store.get(key)).chunk_index)
                except FramefarmError:
                    log.warning("unreadable manifest %s", key)
            committed &= set(state.chunk_frames)
            audio_ready = state.audio_ready or (state.audio and self.store.exists(keys.audio))
            live = state.phase in (Phase.QUEUED, Phase.RENDERING)
            if live and (committed != state.committed or audio_ready != state.audio_ready):
                frames_done = len(committed) == state.chunk_count
                stitch = frames_done and (audio_ready or not state.audio)
                in_flight = {k: v for k, v in state.frames_in_flight.items() if k not in committed}
                state = replace(
                    state,
                    committed=frozenset(committed),
                    frames_in_flight=in_flight,
                    audio_ready=audio_ready,
                    phase=Phase.STITCHING if stitch else Phase.RENDERING,
                    updated_at=self.clock(),
                )
                self._save(state)
        if state.phase is Phase.STITCHING:
            self.send(StitchVideo(job_id))  # the stitch is idempotent: a duplicate costs nothing
        return state

    # --- internals ----------------------------------------------------------------------------

    def _save(self, state: JobState, force: bool = True) -> None:
        now = self.clock()
        with self._lock:
            self._states[state.job_id] = state
            due = now - self._saved_at.get(state.job_id, 0.0) >= PROGRESS_SAVE_INTERVAL
            if force or due:
                self.store.put(JobKeys(state.job_id).status, state.to_bytes(), "application/json")
                self._saved_at[state.job_id] = now
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(state)
            except Exception:
                log.exception("a job listener failed")

    def _remove_intermediates(self, state: JobState) -> None:
        keys = JobKeys(state.job_id)
        for prefix in keys.intermediate_prefixes:
            try:
                self.store.delete_prefix(prefix)
            except FramefarmError:
                log.warning("job %s: could not remove %s", state.job_id, prefix, exc_info=True)
