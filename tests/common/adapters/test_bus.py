"""The bus (common/adapters/bus.py): dramatiq messages as msgpack, and each of our messages routed
to its queue and actor with its wire map as the one argument."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dramatiq
import pytest
from dramatiq.brokers.stub import StubBroker

from common.adapters.bus import (
    ENCODE_ACTOR,
    EVENT_ACTOR,
    RENDER_ACTOR,
    STITCH_ACTOR,
    Bus,
    MsgpackEncoder,
    Queues,
    declare,
    stub_broker,
)
from common.jobs.messages import (
    ChunkCommitted,
    ChunkProgress,
    EncodeSegment,
    JobFailed,
    Message,
    RenderChunk,
    SegmentEncoded,
    StitchProgress,
    StitchVideo,
    VideoReady,
)

JOB = "job-00000001"


@pytest.fixture
def broker() -> Iterator[StubBroker]:
    previous = dramatiq.get_encoder()
    broker = stub_broker()  # installs the msgpack encoder, process-wide
    declare(broker, Queues())
    yield broker
    broker.close()
    dramatiq.set_encoder(previous)


def sent(broker: StubBroker, queue: str) -> list[dramatiq.Message[Any]]:
    messages = []
    while not broker.queues[queue].empty():
        messages.append(dramatiq.Message.decode(broker.queues[queue].get_nowait()))
    return messages


def test_the_encoder_round_trips_a_dramatiq_message() -> None:
    encoder = MsgpackEncoder()
    message: dramatiq.Message[Any] = dramatiq.Message(
        queue_name="framefarm.render",
        actor_name=RENDER_ACTOR,
        args=(RenderChunk(JOB, 1, 10, 10).to_wire(),),
        kwargs={},
        options={"retries": 2},
    )
    data = message.asdict()
    decoded = encoder.decode(encoder.encode(data))
    assert decoded == data | {"args": list(data["args"])}  # msgpack has arrays, not tuples


def test_the_encoder_refuses_what_is_not_msgpack() -> None:
    with pytest.raises(dramatiq.DecodeError):
        MsgpackEncoder().decode(b"\xc1")


def test_stub_broker_installs_the_msgpack_encoder(broker: StubBroker) -> None:
    assert isinstance(dramatiq.get_encoder(), MsgpackEncoder)


def test_queue_names_share_a_prefix() -> None:
    assert Queues().all() == (
        "framefarm.render",
        "framefarm.audio",
        "framefarm.encode",
        "framefarm.stitch",
        "framefarm.events",
    )
    assert Queues("test").render == "test.render"


def test_declare_creates_every_queue(broker: StubBroker) -> None:
    assert set(Queues().all()) <= set(broker.queues)


def test_a_render_command_goes_to_the_render_queue(broker: StubBroker) -> None:
    queues = Queues()
    message = RenderChunk(JOB, 2, 20, 5)
    Bus(broker, queues).send(message)
    [envelope] = sent(broker, queues.render)
    assert envelope.queue_name == queues.render
    assert envelope.actor_name == RENDER_ACTOR == "render_chunk"
    assert envelope.args[0] == message.to_wire()
    assert len(envelope.args) == 1
    assert envelope.kwargs == {}
    assert sent(broker, queues.stitch) == sent(broker, queues.events) == []


def test_an_encode_command_goes_to_the_encode_queue(broker: StubBroker) -> None:
    queues = Queues()
    message = EncodeSegment(JOB, 3, 180, 60)
    Bus(broker, queues).send(message)
    [envelope] = sent(broker, queues.encode)
    assert envelope.actor_name == ENCODE_ACTOR == "encode_segment"
    assert envelope.args[0] == message.to_wire()
    assert sent(broker, queues.render) == sent(broker, queues.stitch) == []


def test_a_stitch_command_goes_to_the_stitch_queue(broker: StubBroker) -> None:
    queues = Queues()
    Bus(broker, queues).send(StitchVideo(JOB))
    [envelope] = sent(broker, queues.stitch)
    assert envelope.actor_name == STITCH_ACTOR
    assert envelope.args[0] == StitchVideo(JOB).to_wire()
    assert sent(broker, queues.render) == sent(broker, queues.events) == []


@pytest.mark.parametrize(
    "event",
    [
        ChunkProgress(JOB, 0, 3, 10, "w"),
        ChunkCommitted(JOB, 0, 10, 1.0, "w"),
        SegmentEncoded(JOB, 1, 60, 0.5, "w"),
        StitchProgress(JOB, 4, 25),
        VideoReady(JOB, "k", 25, 2.5, 99),
        JobFailed(JOB, "boom", "render_chunk", 0),
    ],
    ids=lambda m: type(m).__name__,
)
def test_events_go_to_the_events_queue(broker: StubBroker, event: Message) -> None:
    queues = Queues()
    Bus(broker, queues).send(event)
    [envelope] = sent(broker, queues.events)
    assert envelope.actor_name == EVENT_ACTOR
    assert envelope.args[0] == event.to_wire()
    assert sent(broker, queues.render) == sent(broker, queues.stitch) == []


def test_messages_keep_their_order(broker: StubBroker) -> None:
    queues = Queues()
    bus = Bus(broker, queues)
    commands = [RenderChunk(JOB, i, i * 10, 10) for i in range(3)]
    for command in commands:
        bus.send(command)
    assert [e.args[0] for e in sent(broker, queues.render)] == [c.to_wire() for c in commands]


def test_a_message_whose_retries_run_out_fails_its_job(broker: StubBroker) -> None:
    """FailureReporter sits before Retries, so it sees the message marked failed (dramatiq runs
    after-hooks in reverse order): one JobFailed naming the stage, the attempts and the cause."""
    from common.adapters.bus import FailureReporter, RetryPolicy, run_command
    from common.adapters.storage import StorageError

    queues = Queues()
    bus = Bus(broker, queues)
    FailureReporter.install(broker, bus)

    def always_down(payload: dict[str, Any]) -> None:
        def run(command: RenderChunk) -> None:
            raise StorageError("S3 unreachable")

        run_command(payload, RenderChunk, run, bus=bus, component="worker")

    options = RetryPolicy(retries=2, min_backoff_ms=1, max_backoff_ms=2).actor_options()
    dramatiq.actor(broker=broker, actor_name=RENDER_ACTOR, queue_name=queues.render, **options)(
        always_down
    )
    bus.send(RenderChunk(JOB, 3, 30, 10))
    worker = dramatiq.Worker(broker, queues={queues.render}, worker_timeout=50)
    worker.start()
    try:
        broker.join(queues.render, fail_fast=False)
        worker.join()
    finally:
        worker.stop()
    failures = [m.args[0] for m in sent(broker, queues.events)]
    assert len(failures) == 1
    assert failures[0]["type"] == "job_failed"
    assert failures[0]["chunk_index"] == 3
    assert failures[0]["error"] == (
        "render (chunk 3) failed after 3 attempts: StorageError: S3 unreachable"
    )


def test_a_full_disk_is_said_in_plain_words() -> None:
    import errno

    from common.adapters.bus import describe_error
    from common.adapters.ffmpeg import DiskFull

    assert describe_error(OSError(errno.ENOSPC, "No space left on device")) == (
        "no space left on device"
    )
    assert describe_error(DiskFull("ffmpeg")) == "no space left on device"
