"""A coordinator among several replicas: it orchestrates (recovers, then handles the events
queue) only while it holds the broker's lease, and otherwise follows the states the
orchestrating replica publishes, so that every replica's WebSocket clients see every job.

Only the orchestrating replica changes a job's state. Another replica still stores a new job
(its spec and first status) and queues its chunks; it asks for a cancel with a CancelJob on
the events queue. When the orchestrator dies, its lease goes with its connection; the next
replica that takes the lease forgets what it followed, recovers every unfinished job from the
store (the chunk and segment manifests are the durable truth, the stitch is idempotent), and
then consumes the events the dead one left unacknowledged.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

from common.jobs import records
from common.jobs.messages import CancelJob
from common.jobs.state import JobState
from coordinator.orchestrator import Orchestrator

log = logging.getLogger(__name__)

CANCEL_WAIT_S = 5.0


class ReplicaOrchestrator(Orchestrator):
    """An Orchestrator that writes job state only while ``leading`` is set."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.leading = threading.Event()

    def recover(self, *, queue_was_lost: bool = False) -> list[JobState]:
        """Only the orchestrating replica recovers (it does when it takes the lease)."""
        if not self.leading.is_set():
            return []
        return super().recover(queue_was_lost=queue_was_lost)

    def cancel(self, job_id: str) -> JobState:
        """Cancel here while orchestrating; otherwise ask the orchestrator, and wait a moment
        for its answer to come back in the published states."""
        if self.leading.is_set():
            return super().cancel(job_id)
        state = self.state(job_id)
        if state.phase.terminal:
            return state
        done = threading.Event()
        unsubscribe = self.subscribe(
            lambda s: done.set() if s.job_id == job_id and s.phase.terminal else None
        )
        try:
            self.send(CancelJob(job_id))
            done.wait(CANCEL_WAIT_S)
        finally:
            unsubscribe()
        return self.state(job_id)

    def observe(self, state: JobState) -> None:
        """A state the orchestrating replica published: cache it and tell the listeners (the
        WebSockets); nothing is stored. Ignored while this replica orchestrates."""
        if self.leading.is_set():
            return
        with self._lock:
            known = self._states.get(state.job_id)
            if known is not None and known.updated_at > state.updated_at:
                return  # an older state overtaken by a newer one
            self._states[state.job_id] = state
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(state)
            except Exception:
                log.exception("a job listener failed")

    def take_over(self) -> list[JobState]:
        """Start orchestrating: forget what was followed, recover from the store."""
        with self._lock:
            self._states.clear()
            self._saved_at.clear()
            self.leading.set()
        return super().recover()

    def step_down(self) -> None:
        self.leading.clear()


class Replication:
    """Runs a ReplicaOrchestrator's terms: on ``elected`` it takes over and starts consuming
    events (``start_pump``), on ``deposed`` it stops them (``stop_pump``); one thread runs the
    changes in order, so a long recovery never holds up the lease's heartbeats."""

    def __init__(
        self,
        orchestrator: ReplicaOrchestrator,
        start_pump: Callable[[], Callable[[], None]],
        publish: Callable[[bytes], None],
    ) -> None:
        self.orchestrator = orchestrator
        self.start_pump = start_pump
        self.publish = publish
        self._changes: queue.Queue[str | None] = queue.Queue()
        self._stop_pump: Callable[[], None] | None = None
        self._thread = threading.Thread(target=self._run, name="replication", daemon=True)
        self._unsubscribe = orchestrator.subscribe(self._publish)

    def start(self) -> None:
        self._thread.start()

    def elected(self) -> None:
        self._changes.put("elected")

    def deposed(self) -> None:
        self.orchestrator.step_down()  # at once: no more writes from this replica
        self._changes.put("deposed")

    def received(self, body: bytes) -> None:
        """A published state (the fanout subscriber's callback)."""
        try:
            state = records.load(JobState, body)
        except Exception:
            log.exception("replication: an unreadable published state")
            return
        self.orchestrator.observe(state)

    def stop(self) -> None:
        self._changes.put(None)
        self._thread.join(30)
        self._unsubscribe()

    def _publish(self, state: JobState) -> None:
        if self.orchestrator.leading.is_set():
            self.publish(records.dump(state))

    def _run(self) -> None:
        while True:
            change = self._changes.get()
            if change in ("deposed", None):
                self.orchestrator.step_down()  # also after an election that came too late
            if change in ("deposed", None) and self._stop_pump is not None:
                self._stop_pump()
                self._stop_pump = None
                log.info("replica: no longer orchestrating")
            if change is None:
                return
            if change == "elected" and self._stop_pump is None:
                recovered = self.orchestrator.take_over()
                log.info("replica: orchestrating (%d unfinished jobs recovered)", len(recovered))
                self._stop_pump = self.start_pump()
