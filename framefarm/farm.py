"""Wiring: the same actors, orchestrator and event pump, embedded (in-process broker, local
directory) or distributed (RabbitMQ, S3). The composition root of every process."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dramatiq

from common.adapters.bus import (
    Bus,
    FailureReporter,
    Queues,
    RetryPolicy,
    declare,
    rabbitmq_broker,
    stub_broker,
)
from common.adapters.scratch import Scratch
from common.adapters.storage import ObjectStore, make_store
from common.config import ServiceSettings
from common.errors import FramefarmError
from common.jobs.chunks import DEFAULT_SEGMENT_SECONDS
from common.jobs.messages import Event
from common.jobs.spec import SpecCache
from common.jobs.state import JobState
from coordinator.events import EventPump
from coordinator.orchestrator import Orchestrator
from coordinator.replica import ReplicaOrchestrator, Replication

log = logging.getLogger(__name__)


def worker_name(role: str) -> str:
    return f"{role}@{socket.gethostname()}:{os.getpid()}"


@dataclass
class Farm:
    """A broker, a store, the bus over them, and optionally workers running actors."""

    broker: dramatiq.Broker
    queues: Queues
    store: ObjectStore
    bus: Bus
    specs: SpecCache
    """One cache for every actor of this process: a stored spec is validated once here."""
    segment_seconds: float = DEFAULT_SEGMENT_SECONDS
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    workdir: Path | None = None
    """This process's scratch folder (None: the system's temporary directory)."""
    workers: list[dramatiq.Worker] = field(default_factory=list)
    closers: list[Callable[[], None]] = field(default_factory=list)
    replicated_url: str | None = None
    """The broker of a coordinator that runs beside other replicas (``Farm.distributed(...,
    replicated=True)``): its orchestrator orchestrates only while it holds the lease."""
    event_observers: list[Callable[[Event], None]] = field(default_factory=list)
    """Told of every event the pump handles, before the orchestrator (the metrics)."""
    draining: threading.Event = field(default_factory=threading.Event)
    """Set when the process is asked to stop: render actors return the chunk in hand."""

    @classmethod
    def embedded(
        cls,
        store: ObjectStore,
        queue_prefix: str = "framefarm",
        segment_seconds: float = DEFAULT_SEGMENT_SECONDS,
    ) -> Farm:
        broker, queues = stub_broker(), Queues(queue_prefix)
        return cls._assemble(broker, queues, store, segment_seconds)

    @classmethod
    def distributed(
        cls, settings: ServiceSettings, role: str = "farm", *, replicated: bool = False
    ) -> Farm:
        """The farm of the configured broker and store; its scratch folder is made (after
        removing those of this host's dead processes) and removed on ``close``. ``replicated``:
        a coordinator that may run beside others."""
        broker, queues = rabbitmq_broker(settings.amqp_url), Queues(settings.queue_prefix)
        retry = RetryPolicy(
            settings.retries, settings.retry_min_backoff_ms, settings.retry_max_backoff_ms
        )
        farm = cls._assemble(broker, queues, make_store(settings), settings.segment_seconds, retry)
        farm.replicated_url = settings.amqp_url if replicated else None
        scratch = Scratch.open(settings.scratch_dir, role)
        farm.workdir = scratch.path
        farm.closers.append(scratch.close)
        return farm

    @classmethod
    def _assemble(
        cls,
        broker: dramatiq.Broker,
        queues: Queues,
        store: ObjectStore,
        segment_seconds: float,
        retry: RetryPolicy | None = None,
    ) -> Farm:
        declare(broker, queues)
        bus = Bus(broker, queues)
        FailureReporter.install(broker, bus)
        retry = retry or RetryPolicy()
        return cls(broker, queues, store, bus, SpecCache(store), segment_seconds, retry)

    def live_render_workers(self) -> int | None:
        """Render threads consuming now: this process's (embedded), or the consumers RabbitMQ
        counts on the render queue (distributed); None when the broker cannot say."""
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        if isinstance(self.broker, RabbitmqBroker):
            try:
                declared = self.broker.channel.queue_declare(queue=self.queues.render, passive=True)
            except Exception:  # an estimate only loses its worker count
                return None
            return int(declared.method.consumer_count)
        return sum(
            worker.worker_threads
            for worker in self.workers
            if not worker.consumer_whitelist or self.queues.render in worker.consumer_whitelist
        )

    @property
    def queue_is_in_memory(self) -> bool:
        """True for the embedded farm: its commands die with the process (a restart resends)."""
        from dramatiq.brokers.stub import StubBroker

        return isinstance(self.broker, StubBroker)

    def register_renderer(self, name: str | None = None) -> str:
        """The render_chunk actor on this farm's broker; returns its queue."""
        from farm_worker.actors import register_render_actor
        from farm_worker.chunk import ChunkRenderer

        chunks = ChunkRenderer(
            self.store,
            self.bus.send,
            name or worker_name("render"),
            specs=self.specs,
            draining=self.draining,
            workdir=self.workdir,
        )
        register_render_actor(self.broker, self.queues, chunks, self.bus, self.retry)
        self.closers.append(chunks.close)
        return self.queues.render

    def register_stitcher(self, workdir: Path | None = None) -> set[str]:
        """The CPU-side actors (soundtrack, segment encodes, the stitch); returns their queues
        (an ``encoder`` process consumes only ``queues.encode`` of them)."""
        from stitcher.actors import register_cpu_actors

        register_cpu_actors(
            self.broker,
            self.queues,
            self.store,
            self.bus,
            self.specs,
            worker=worker_name("encode"),
            workdir=workdir or self.workdir,
            retry=self.retry,
        )
        return {self.queues.stitch, self.queues.audio, self.queues.encode}

    def start_embedded_workers(self, render_threads: int, workdir: Path | None = None) -> None:
        """Every actor in this process: ``render_threads`` threads that only render (one GL
        context each) and one thread for the CPU side (soundtrack, encodes, the join), so a
        render never waits behind a join and the CPU side never takes a second render slot."""
        render = self.register_renderer("embedded")
        self.start_worker({render}, threads=render_threads)
        # Two dramatiq workers on one broker, each consuming only its own queues; dramatiq warns
        # about the second one's internal middleware, which is by design here.
        broker_log = logging.getLogger(f"dramatiq.broker.{type(self.broker).__name__}")
        quiet = _DropLines("You're adding a middleware of the same type twice")
        broker_log.addFilter(quiet)
        try:
            self.start_worker(self.register_stitcher(workdir), threads=1)
        finally:
            broker_log.removeFilter(quiet)

    def start_worker(self, queues: set[str], threads: int) -> None:
        """One dramatiq worker for these queues. A render thread gets its own GL context; each
        thread prefetches one message, so a busy worker never hoards chunks (acks are late:
        a worker killed mid-chunk has its chunk redelivered)."""
        # worker_timeout: how often idle threads look for a stop; dramatiq's 1 s default made
        # every embedded export wait a second or two at shutdown.
        worker = dramatiq.Worker(
            self.broker, queues=queues, worker_threads=threads, worker_timeout=100
        )
        worker.queue_prefetch = threads
        worker.start()
        self.workers.append(worker)

    def alive(self) -> bool:
        """Every thread of every dramatiq worker of this process is running (the heartbeat)."""
        return all(
            thread.is_alive()
            for worker in self.workers
            for thread in (*worker.workers, *worker.consumers.values())
        )

    def orchestrator(self, keep_intermediates: bool = False) -> Orchestrator:
        kind = Orchestrator if self.replicated_url is None else ReplicaOrchestrator
        return kind(
            self.store,
            self.bus.send,
            keep_intermediates=keep_intermediates,
            segment_seconds=self.segment_seconds,
        )

    def pump(self, orchestrator: Orchestrator) -> EventPump | Replication:
        """Consume the events queue for ``orchestrator``; a replicated coordinator's does so
        only while it holds the lease, and follows the published states otherwise."""
        if isinstance(orchestrator, ReplicaOrchestrator) and self.replicated_url is not None:
            return self._replicate(orchestrator, self.replicated_url)
        pump = EventPump(self.broker, self.queues, self._observed(orchestrator))
        pump.start()
        self.closers.append(pump.stop)
        return pump

    def _observed(self, orchestrator: Orchestrator) -> Callable[[Event], JobState | None]:
        def handle(event: Event) -> JobState | None:
            for observe in self.event_observers:
                try:
                    observe(event)
                except Exception:
                    log.exception("an event observer failed")
            return orchestrator.handle(event)

        return handle

    def queue_depths(self) -> dict[str, int]:
        """Messages waiting in each queue and its dead-letter queue (RabbitMQ only)."""
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        if not isinstance(self.broker, RabbitmqBroker):
            return {}
        depths = {}
        for name in self.queues.all():
            ready, _delayed, dead = self.broker.get_queue_message_counts(name)
            depths[name], depths[f"{name}.XQ"] = ready, dead
        return depths

    def waiting_work(self) -> int | None:
        """Messages waiting in the work queues (render, audio, encode, stitch) and their delay
        queues, not yet taken by any worker; the watchdog's test that a job cannot be waiting
        in line. None when the broker cannot say."""
        from dramatiq.brokers.rabbitmq import RabbitmqBroker
        from dramatiq.brokers.stub import StubBroker
        from dramatiq.common import dq_name

        work = (self.queues.render, self.queues.audio, self.queues.encode, self.queues.stitch)
        if isinstance(self.broker, RabbitmqBroker):
            try:
                counts = [self.broker.get_queue_message_counts(name) for name in work]
            except Exception:  # the broker is away: the watchdog keeps its whole-farm rule
                return None
            return sum(ready + delayed for ready, delayed, _dead in counts)
        if isinstance(self.broker, StubBroker):
            queues = self.broker.queues
            names = [name for q in work for name in (q, dq_name(q)) if name in queues]
            return sum(int(queues[name].qsize()) for name in names)
        return None

    def _replicate(self, orchestrator: ReplicaOrchestrator, url: str) -> Replication:
        from common.adapters.replicas import ExclusiveLease, FanoutPublisher, FanoutSubscriber

        def start_pump() -> Callable[[], None]:
            pump = EventPump(
                self.broker,
                self.queues,
                self._observed(orchestrator),
                cancel=lambda message: orchestrator.cancel(message.job_id),
            )
            pump.start()
            return pump.stop

        publisher = FanoutPublisher(url, self.queues.states)
        replication = Replication(orchestrator, start_pump, publisher.publish)
        subscriber = FanoutSubscriber(url, self.queues.states, replication.received)
        lease = ExclusiveLease(url, self.queues.leader, replication.elected, replication.deposed)
        for part in (publisher, subscriber, replication, lease):
            part.start()
            self.closers.append(part.stop)
        return replication

    def ping_broker(self) -> None:
        """Raise unless the broker answers (declaring a known queue is a cheap round trip)."""
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        if not isinstance(self.broker, RabbitmqBroker):
            return
        if not self.broker.channel.is_open:  # a failed ping closed this thread's channel
            del self.broker.channel
        # The queue exists even before this replica consumes it (a replica that does not
        # orchestrate never does): a passive declare of a missing one would close the channel.
        self.broker.declare_queue(self.queues.events, ensure=True)
        self.broker.channel.queue_declare(queue=self.queues.events, passive=True)

    def close(self, timeout: float | None = None) -> None:
        """Stop the workers (waiting ``timeout`` seconds at most for the messages in hand; by
        default until they finish), then the rest."""
        for worker in self.workers:
            if timeout is None:
                worker.stop()
            else:
                worker.stop(timeout=max(1, int(timeout * 1000)))
        for closer in reversed(self.closers):
            try:
                closer()
            except Exception:
                log.exception("closing failed")
        self.broker.close()

    def __enter__(self) -> Farm:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _DropLines(logging.Filter):
    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.prefix)


class JobWatcher:
    """Wait for a job to end while following its state (for progress bars and tests)."""

    def __init__(
        self,
        orchestrator: Orchestrator,
        job_id: str,
        on_state: Callable[[JobState], Any] | None = None,
    ) -> None:
        self.job_id = job_id
        self.on_state = on_state
        self._done = threading.Event()
        self.last: JobState = orchestrator.state(job_id)
        self._unsubscribe = orchestrator.subscribe(self._seen)
        self._seen(orchestrator.state(job_id))

    def _seen(self, state: JobState) -> None:
        if state.job_id != self.job_id:
            return
        self.last = state
        if self.on_state is not None:
            self.on_state(state)
        if state.phase.terminal:
            self._done.set()

    def wait(self, timeout: float | None = None, stop: threading.Event | None = None) -> JobState:
        """The job's final state; returns early (not final) once ``stop`` is set."""
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while not self._done.wait(0.1 if stop is not None else timeout):
                if stop is not None and stop.is_set():
                    return self.last
                if deadline is not None and time.monotonic() >= deadline:
                    raise FramefarmError(
                        f"job {self.job_id} did not finish within {timeout} s ({self.last.phase})"
                    )
            return self.last
        finally:
            self._unsubscribe()
