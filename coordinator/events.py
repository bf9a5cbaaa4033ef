"""The event pump: consume the events queue on a thread and hand each event to the orchestrator,
acknowledging only after it is handled (a crash before that redelivers it)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import dramatiq

from common import logcontext
from common.adapters.bus import Queues
from common.errors import DecodeError
from common.jobs.messages import EVENT_TYPES, CancelJob, Event, from_wire
from common.jobs.state import JobState

log = logging.getLogger(__name__)


def event_of(message: dramatiq.MessageProxy) -> Event | CancelJob:
    """Our event (or a coordinator's CancelJob) inside a dramatiq message; DecodeError if it is
    anything else."""
    payload = message.args[0] if message.args else None
    event = from_wire(payload)
    if not isinstance(event, (*EVENT_TYPES, CancelJob)):
        raise DecodeError(f"expected an event, got {event.TYPE}")
    return event


class EventPump:
    def __init__(
        self,
        broker: dramatiq.Broker,
        queues: Queues,
        handle: Callable[[Event], JobState | None],
        *,
        poll_ms: int = 200,
        cancel: Callable[[CancelJob], object] | None = None,
    ) -> None:
        self.broker = broker
        self.queues = queues
        self.handle = handle
        self.cancel = cancel
        """What to do with another coordinator's CancelJob (replicated coordinators only)."""
        self.poll_ms = poll_ms
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.handled = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="event-pump", daemon=True)
        self._thread.start()

    @property
    def stopping(self) -> bool:
        """True from the moment ``stop`` is called."""
        return self._stop.is_set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run(self) -> None:
        """Consume until stopped; reconnects after broker errors."""
        while not self._stop.is_set():
            try:
                self._consume()
            except Exception:
                if self._stop.is_set():
                    return
                log.exception("event consumer failed; reconnecting in 1 s")
                self._stop.wait(1.0)

    def _consume(self) -> None:
        consumer = self.broker.consume(self.queues.events, prefetch=64, timeout=self.poll_ms)
        try:
            for message in consumer:
                if self._stop.is_set():
                    # A message in hand is left unacknowledged: closing the consumer returns it
                    # to the queue for the next consumer (a nack would dead-letter it).
                    return
                if message is None:
                    continue
                try:
                    event = event_of(message)
                except DecodeError as error:
                    log.error(
                        "dropping undecodable event %s to the dead-letter queue: %s",
                        message.message_id,
                        error,
                    )
                    consumer.nack(message)
                    continue
                chunk = getattr(event, "chunk_index", getattr(event, "segment_index", None))
                with logcontext.log_context(event.job_id, chunk, "orchestrate"):
                    if not isinstance(event, CancelJob):
                        self.handle(event)
                    elif self.cancel is not None:
                        self.cancel(event)
                    else:
                        log.error("job %s: a CancelJob, but no replicas here", event.job_id)
                consumer.ack(message)
                self.handled += 1
        finally:
            consumer.close()
