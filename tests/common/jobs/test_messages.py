"""Messages (common/jobs/messages.py): every type survives the wire codec (msgpack), and
anything that is not a message this version understands is a DecodeError that says what is wrong."""

from __future__ import annotations

from typing import Any

import msgpack
import pytest

from common.adapters.bus import pack, unpack
from common.errors import DecodeError, FramefarmError
from common.jobs.messages import (
    MESSAGE_TYPES,
    AudioReady,
    CancelJob,
    ChunkCommitted,
    ChunkProgress,
    EncodeSegment,
    JobFailed,
    Message,
    RenderAudio,
    RenderChunk,
    SegmentEncoded,
    StitchProgress,
    StitchVideo,
    VideoReady,
    from_wire,
)


def encode(message: Message) -> bytes:
    return pack(message.to_wire())


def decode(raw: bytes) -> Message:
    return from_wire(unpack(raw))


JOB = "job-00000001"

EXAMPLES: list[Message] = [
    RenderChunk(JOB, 2, 20, 10),
    RenderAudio(JOB),
    EncodeSegment(JOB, 3, 180, 60),
    StitchVideo(JOB),
    SegmentEncoded(JOB, 3, 60, 0.75, "encoder-b"),
    AudioReady(JOB, f"jobs/{JOB}/audio/soundtrack.wav", 96_000, 48_000, 0.4),
    ChunkProgress(JOB, 2, 4, 10, "worker-a"),
    ChunkCommitted(JOB, 2, 10, 3.25, "worker-a"),
    StitchProgress(JOB, 12, 25),
    VideoReady(JOB, f"jobs/{JOB}/output/video.mp4", 25, 2.5, 40_000),
    JobFailed(JOB, "shader failed", "render_chunk", 2),
    JobFailed(JOB, "ffmpeg exited 1", "stitch_video"),
    CancelJob(JOB),
]

WIRE_KEYS: dict[type[Message], set[str]] = {
    RenderChunk: {"chunk_index", "first_frame", "frame_count"},
    StitchVideo: set(),
    RenderAudio: set(),
    EncodeSegment: {"segment_index", "first_frame", "frame_count"},
    SegmentEncoded: {"segment_index", "frame_count", "encode_seconds", "worker", "reused", "size"},
    AudioReady: {"audio_key", "sample_count", "sample_rate", "render_seconds", "reused"},
    ChunkProgress: {"chunk_index", "frames_done", "frame_count", "worker"},
    ChunkCommitted: {
        "chunk_index",
        "frame_count",
        "render_seconds",
        "worker",
        "frames_reused",
        "bytes_reused",
        "bytes_written",
    },
    StitchProgress: {"frames_done", "frame_count"},
    VideoReady: {"output_key", "frame_count", "duration_seconds", "size_bytes"},
    JobFailed: {"error", "component", "chunk_index"},
    CancelJob: set(),
}


def test_the_examples_cover_every_type() -> None:
    assert {type(m) for m in EXAMPLES} == set(MESSAGE_TYPES.values()) == set(WIRE_KEYS)


@pytest.mark.parametrize("message", EXAMPLES, ids=lambda m: type(m).__name__)
def test_every_message_round_trips(message: Message) -> None:
    assert decode(encode(message)) == message
    assert from_wire(message.to_wire()) == message


@pytest.mark.parametrize("message", EXAMPLES, ids=lambda m: type(m).__name__)
def test_wire_keys_are_full_words_with_type_and_version(message: Message) -> None:
    wire = msgpack.unpackb(encode(message), raw=False)
    assert set(wire) == {"type", "version", "job_id"} | WIRE_KEYS[type(message)]
    assert wire["type"] == type(message).TYPE
    assert wire["version"] == type(message).VERSION
    assert MESSAGE_TYPES[wire["type"]] is type(message)


def test_an_optional_field_may_be_left_out() -> None:
    wire = {"type": "job_failed", "version": 1, "job_id": JOB, "error": "x", "component": "c"}
    assert from_wire(wire) == JobFailed(JOB, "x", "c", None)


def test_an_int_is_accepted_for_a_float() -> None:
    wire = VideoReady(JOB, "k", 25, 2.5, 10).to_wire() | {"duration_seconds": 3}
    assert from_wire(wire) == VideoReady(JOB, "k", 25, 3.0, 10)


def test_decode_error_is_a_framefarm_error() -> None:
    assert issubclass(DecodeError, FramefarmError)


def wire(**changes: Any) -> dict[str, Any]:
    return RenderChunk(JOB, 2, 20, 10).to_wire() | changes


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (wire(type="paint_frame"), "unknown message type 'paint_frame'"),
        ({"version": 1, "job_id": JOB}, "unknown message type None"),
        (wire(type=3), "unknown message type 3"),
        (wire(version=2), r"render_chunk: unsupported version 2 \(this build reads 1..1\)"),
        (wire(version=0), "render_chunk: unsupported version 0"),
        (wire(version="1"), "render_chunk: unsupported version '1'"),
        ({k: v for k, v in wire().items() if k != "version"}, "unsupported version None"),
        ({k: v for k, v in wire().items() if k != "first_frame"}, "missing field 'first_frame'"),
        (wire(first_frame=True), r"field 'first_frame' has the wrong type \(True\)"),
        (wire(first_frame="20"), r"field 'first_frame' has the wrong type \('20'\)"),
        (wire(first_frame=2.0), "field 'first_frame' has the wrong type"),
        (wire(job_id=7), "field 'job_id' has the wrong type"),
        (wire(priority=1), r"render_chunk: unknown fields \['priority'\]"),
        ([1, 2], "expected a map, got list"),
        (None, "expected a map, got NoneType"),
    ],
)
def test_what_is_not_a_message_is_a_decode_error(data: Any, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        from_wire(data)
    with pytest.raises(DecodeError, match=message):
        decode(msgpack.packb(data, use_bin_type=True))


def test_bool_is_not_a_float() -> None:
    data = ChunkCommitted(JOB, 0, 10, 1.0, "w").to_wire() | {"render_seconds": False}
    with pytest.raises(DecodeError, match="'render_seconds' has the wrong type"):
        from_wire(data)


def test_a_wrong_optional_field_is_a_decode_error() -> None:
    data = JobFailed(JOB, "x", "c").to_wire() | {"chunk_index": "2"}
    with pytest.raises(DecodeError, match="'chunk_index' has the wrong type"):
        from_wire(data)


def test_bool_is_not_a_version() -> None:
    with pytest.raises(DecodeError, match="unsupported version True"):
        from_wire(wire(version=True))


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\xc1",  # never used in msgpack
        b"\x92\x01",  # an array cut short
        b"\xa2\xff\xfe",  # a string that is not UTF-8
        encode(StitchVideo(JOB)) + b"\x00",  # trailing bytes
    ],
)
def test_bytes_that_are_not_msgpack_are_a_decode_error(raw: bytes) -> None:
    with pytest.raises(DecodeError, match="not msgpack"):
        decode(raw)


def test_decode_error_keeps_its_cause() -> None:
    with pytest.raises(DecodeError) as caught:
        decode(b"\xc1")
    assert caught.value.__cause__ is not None
