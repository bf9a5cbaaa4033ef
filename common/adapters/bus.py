"""The message bus: queue and actor names, the msgpack wire encoder, brokers, and sending.

Everything that talks to dramatiq goes through here. Actors are registered on an explicit broker
(never dramatiq's global one), so the embedded mode (StubBroker, in-process) and the distributed
mode (RabbitMQ) run the same code side by side, even in one test process.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import dramatiq
import msgpack
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import Retries

from common.adapters.storage import ObjectNotFound
from common.errors import DecodeError, NotRetryable, PermanentFailure
from common.jobs.messages import (
    EncodeSegment,
    JobFailed,
    Message,
    RenderAudio,
    RenderChunk,
    StitchVideo,
    from_wire,
)

log = logging.getLogger(__name__)
M = TypeVar("M", bound=Message)

RENDER_ACTOR = "render_chunk"
AUDIO_ACTOR = "render_audio"
ENCODE_ACTOR = "encode_segment"
STITCH_ACTOR = "stitch_video"
EVENT_ACTOR = "job_event"  # never run by a worker: the orchestrator consumes the queue itself


def pack(data: dict[str, Any]) -> bytes:
    """The wire codec: a message's map (or dramatiq's envelope) as msgpack bytes."""
    return msgpack.packb(data, use_bin_type=True)  # type: ignore[no-any-return]


def unpack(raw: bytes) -> Any:
    """The inverse of ``pack``; DecodeError for bytes that are not one msgpack value."""
    try:
        return msgpack.unpackb(raw, raw=False)
    except (msgpack.UnpackException, ValueError) as error:
        raise DecodeError(f"not msgpack: {error}") from error


class MsgpackEncoder(dramatiq.Encoder):
    """dramatiq's wire format as msgpack (smaller and faster than its JSON default)."""

    def encode(self, data: dict[str, Any]) -> bytes:
        return pack(data)

    def decode(self, data: bytes) -> dict[str, Any]:
        try:
            return unpack(data)  # type: ignore[no-any-return]
        except DecodeError as error:
            raise dramatiq.DecodeError(str(error), data, error) from error  # type: ignore[no-untyped-call]


def install_encoder() -> None:
    """dramatiq's encoder is process-global: every process of ours sets the same one."""
    dramatiq.set_encoder(MsgpackEncoder())


@dataclass(frozen=True, slots=True)
class Queues:
    prefix: str = "framefarm"

    @property
    def render(self) -> str:
        return f"{self.prefix}.render"

    @property
    def audio(self) -> str:
        return f"{self.prefix}.audio"

    @property
    def encode(self) -> str:
        return f"{self.prefix}.encode"

    @property
    def stitch(self) -> str:
        return f"{self.prefix}.stitch"

    @property
    def events(self) -> str:
        return f"{self.prefix}.events"

    @property
    def leader(self) -> str:
        """The lease that the orchestrating coordinator holds (an exclusive queue)."""
        return f"{self.prefix}.leader"

    @property
    def states(self) -> str:
        """The fanout exchange of job states, from the orchestrating coordinator to all."""
        return f"{self.prefix}.states"

    def all(self) -> tuple[str, ...]:
        return (self.render, self.audio, self.encode, self.stitch, self.events)


def rabbitmq_broker(url: str) -> dramatiq.Broker:
    from dramatiq.brokers.rabbitmq import RabbitmqBroker

    install_encoder()
    return RabbitmqBroker(url=url)


def stub_broker() -> StubBroker:
    install_encoder()
    return StubBroker()


def declare(broker: dramatiq.Broker, queues: Queues) -> None:
    for name in queues.all():
        broker.declare_queue(name)


class Bus:
    """Sends our typed messages as dramatiq messages: commands to workers, events to the
    orchestrator. The payload is the message's wire map, the single positional argument."""

    def __init__(self, broker: dramatiq.Broker, queues: Queues) -> None:
        self.broker = broker
        self.queues = queues

    def send(self, message: Message) -> None:
        if isinstance(message, RenderChunk):
            queue, actor = self.queues.render, RENDER_ACTOR
        elif isinstance(message, RenderAudio):
            queue, actor = self.queues.audio, AUDIO_ACTOR
        elif isinstance(message, EncodeSegment):
            queue, actor = self.queues.encode, ENCODE_ACTOR
        elif isinstance(message, StitchVideo):
            queue, actor = self.queues.stitch, STITCH_ACTOR
        else:
            queue, actor = self.queues.events, EVENT_ACTOR
        envelope: dramatiq.Message[Any] = dramatiq.Message(
            queue_name=queue, actor_name=actor, args=(message.to_wire(),), kwargs={}, options={}
        )
        self.broker.enqueue(envelope)


STAGES = {
    RENDER_ACTOR: "render",
    AUDIO_ACTOR: "soundtrack",
    ENCODE_ACTOR: "segment encode",
    STITCH_ACTOR: "stitch",
}
"""The stage of a job each actor does, as a job's error names it."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how soon a message is retried after a transient error (an S3 or broker
    outage); once they are spent the message is dead-lettered and its job failed."""

    retries: int = 3
    min_backoff_ms: int = 1_000
    max_backoff_ms: int = 15_000

    def actor_options(self) -> dict[str, Any]:
        return {
            "max_retries": self.retries,
            "min_backoff": self.min_backoff_ms,
            "max_backoff": max(self.max_backoff_ms, self.min_backoff_ms),
            "throws": (PermanentFailure,),
        }


class FailureReporter(dramatiq.Middleware):
    """When an actor gives up on a message (retries exhausted), tell the job it failed.

    Without this a chunk whose retries ran out would sit in the dead-letter queue while its job
    waited forever. Permanent failures are reported by the actor itself before it raises.

    dramatiq runs ``after_*`` hooks in reverse order of the middleware list, and ``Retries``
    marks a message failed in its ``after_process_message``: so this one must sit *before*
    ``Retries`` in the list (``install``), or it would run first and never see the failure.
    """

    def __init__(self, bus: Bus) -> None:
        self.bus = bus

    @classmethod
    def install(cls, broker: dramatiq.Broker, bus: Bus) -> FailureReporter:
        reporter = cls(bus)
        if any(isinstance(m, Retries) for m in broker.middleware):
            broker.add_middleware(reporter, before=Retries)
        else:
            broker.add_middleware(reporter)
        return reporter

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: dramatiq.MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        if exception is None or not message.failed or isinstance(exception, PermanentFailure):
            return
        payload = message.args[0] if message.args else None
        job_id = payload.get("job_id") if isinstance(payload, dict) else None
        if not isinstance(job_id, str):
            log.error("message %s failed and names no job: %r", message.message_id, exception)
            return
        attempts = max(int(message.options.get("retries", 0)), 1)  # Retries counted this one
        chunk = payload.get("chunk_index") if isinstance(payload, dict) else None
        index = chunk if isinstance(chunk, int) and not isinstance(chunk, bool) else None
        stage = STAGES.get(message.actor_name, message.actor_name)
        where = f"{stage} (chunk {index})" if index is not None else stage
        error = f"{where} failed after {attempts} attempts: {describe_error(exception)}"
        log.error("job %s: %s", job_id, error)
        try:
            self.bus.send(JobFailed(job_id, error, message.actor_name, index))
        except Exception:  # the broker is gone too: the coordinator's watchdog ends the job
            log.exception("job %s: could not report its failure", job_id)


def describe_error(error: BaseException) -> str:
    """An exception as a job's error shows it: a full disk says so in plain words."""
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        return "no space left on device"
    return f"{type(error).__name__}: {error}"


PERMANENT_ERRORS: tuple[type[BaseException], ...] = (NotRetryable, ObjectNotFound)
"""What no retry can fix, for every actor: a NotRetryable (bad input, an unreadable record, a
spec or frames that do not add up, a scene that cannot render, an encoder that refuses), or an
object the job needs that is gone."""


def run_command(
    payload: Any,
    expected: type[M],
    run: Callable[[M], object],
    *,
    bus: Bus,
    component: str,
) -> None:
    """The body every actor shares: decode ``payload`` as ``expected`` and run it; a permanent
    error (PERMANENT_ERRORS) fails the job (one JobFailed) and raises PermanentFailure, so
    dramatiq dead-letters the message without retrying. Other errors propagate and are retried."""
    job_id = payload.get("job_id") if isinstance(payload, dict) else None
    try:
        command = from_wire(payload)
        if not isinstance(command, expected):
            raise DecodeError(f"expected {expected.TYPE}, got {type(command).__name__}")
        run(command)
    except PERMANENT_ERRORS as error:
        if isinstance(job_id, str):
            chunk = payload.get("chunk_index")
            index = chunk if isinstance(chunk, int) and not isinstance(chunk, bool) else None
            bus.send(JobFailed(job_id, f"{component}: {error}", component, index))
        raise PermanentFailure(str(error)) from error
