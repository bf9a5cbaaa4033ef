"""Chunk manifests (common/jobs/manifest.py): stored as JSON, read back exactly, and checked
together so a stitch never runs over a gap, a duplicate or a stray frame."""

from __future__ import annotations

import json

import pytest

from common.errors import DecodeError
from common.jobs import records
from common.jobs.manifest import ChunkManifest, FrameRecord, ManifestError, ordered_frames
from common.jobs.messages import ChunkCommitted

JOB = "job-00000001"


def record(index: int) -> FrameRecord:
    return FrameRecord(index, f"jobs/{JOB}/frames/frame_{index:06d}.png", f"{index:064x}", 100)


def manifest(chunk: int, frames: range | list[int]) -> ChunkManifest:
    first = frames[0] if len(frames) else 0
    return ChunkManifest(
        JOB, chunk, first, tuple(record(i) for i in frames), 2.5, "llvmpipe", "worker-a"
    )


def changed(**fields: object) -> bytes:
    """A stored manifest with ``fields`` replaced."""
    return json.dumps(json.loads(records.dump(manifest(0, range(2)))) | fields).encode()


def test_a_manifest_round_trips() -> None:
    original = manifest(1, range(10, 20))
    assert records.load(ChunkManifest, records.dump(original)) == original
    assert original.frame_count == 10


def test_the_stored_form_is_versioned_json() -> None:
    data = json.loads(records.dump(manifest(0, range(2))))
    assert (data["type"], data["version"]) == ("chunk_manifest", 3)
    assert data["frames"][1] == {
        "index": 1,
        "key": record(1).key,
        "sha256": record(1).sha256,
        "size": 100,
        "frame_key": "",
        "reused": False,
    }


def test_frames_come_back_in_order_across_chunks() -> None:
    chunks = [manifest(2, range(20, 25)), manifest(0, range(10)), manifest(1, range(10, 20))]
    assert ordered_frames(chunks, 25) == [record(i) for i in range(25)]


def test_missing_frames_are_named_as_spans() -> None:
    chunks = [manifest(0, [0, 1, 2, 6, 7, 9])]
    with pytest.raises(ManifestError, match=r"^missing frames 3-5, 8$"):
        ordered_frames(chunks, 10)


def test_a_missing_chunk_is_one_span() -> None:
    with pytest.raises(ManifestError, match="missing frames 10-19"):
        ordered_frames([manifest(0, range(10)), manifest(2, range(20, 25))], 25)


def test_duplicate_frames_are_named() -> None:
    chunks = [manifest(0, range(6)), manifest(1, range(4, 10))]
    with pytest.raises(ManifestError, match=r"^duplicate frames 4-5$"):
        ordered_frames(chunks, 10)


def test_frames_outside_the_job_are_named() -> None:
    with pytest.raises(ManifestError, match=r"^frames outside 0\.\.9: 10-11$"):
        ordered_frames([manifest(0, range(12))], 10)


def test_every_problem_is_reported_at_once() -> None:
    chunks = [manifest(0, [0, 1, 1, 12])]
    with pytest.raises(ManifestError) as caught:
        ordered_frames(chunks, 4)
    assert str(caught.value) == ("missing frames 2-3; duplicate frames 1; frames outside 0..3: 12")


def test_many_spans_are_cut_short() -> None:
    with pytest.raises(ManifestError, match=r"missing frames 1, 3, 5, .*, 19 \.\.\.$"):
        ordered_frames([manifest(0, list(range(0, 40, 2)))], 40)


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b"\xff\xfe",
        b'{"type": "chunk_manifest", "version": 3}',
        changed(frames=[{"index": 0, "key": "k"}]),
        changed(first_frame="x"),
        changed(worker=None),
        changed(extra=1),
    ],
)
def test_a_corrupt_manifest_is_a_decode_error(raw: bytes) -> None:
    with pytest.raises(DecodeError, match="chunk manifest is corrupt"):
        records.load(ChunkManifest, raw)


def test_a_manifest_of_another_version_is_refused() -> None:
    with pytest.raises(DecodeError, match="chunk manifest version 1 is not 3"):
        records.load(ChunkManifest, changed(version=1))


@pytest.mark.parametrize("raw", [b"[]", b"null"])
def test_json_that_is_not_an_object_is_a_decode_error(raw: bytes) -> None:
    with pytest.raises(DecodeError):
        records.load(ChunkManifest, raw)


@pytest.mark.parametrize(
    ("gaps", "named"),
    [
        (10, "missing frames 1, 3, 5, 7, 9, 11, 13, 15, 17, 19$"),  # ten spans: all named
        (11, "missing frames 1, 3, 5, 7, 9, 11, 13, 15, 17, 19 \\.\\.\\.$"),  # the rest elided
    ],
)
def test_an_error_names_at_most_ten_spans_of_missing_frames(gaps: int, named: str) -> None:
    present = [i for i in range(2 * gaps) if i % 2 == 0]  # every odd frame is missing
    manifest = ChunkManifest("job", 0, 0, tuple(record(i) for i in present), 0.1, "gl", "w")
    with pytest.raises(ManifestError, match=named):
        ordered_frames([manifest], 2 * gaps)


def test_a_manifest_stored_by_the_previous_build_is_read_as_rendered_frames() -> None:
    """Version 2 had no cache fields: its frames were all rendered, none reused."""
    stored = json.loads(records.dump(manifest(0, range(2)))) | {"version": 2}
    del stored["bytes_written"]
    for frame in stored["frames"]:
        del frame["frame_key"], frame["reused"]
    loaded = records.load(ChunkManifest, json.dumps(stored).encode())
    assert loaded == manifest(0, range(2))
    assert not any(frame.reused for frame in loaded.frames)


def test_a_commit_announces_what_the_chunk_reused_and_wrote() -> None:
    """The job's counts of reused and written bytes come from these announcements alone."""
    frames = (
        FrameRecord(0, "jobs/x/frames/frame_000000.png", "0" * 64, 120, "k0", reused=True),
        FrameRecord(1, "jobs/x/frames/frame_000001.png", "1" * 64, 130),
        FrameRecord(2, "jobs/x/frames/frame_000002.png", "2" * 64, 150, "k2", reused=True),
    )
    chunk = ChunkManifest(JOB, 4, 0, frames, 1.5, "llvmpipe", "worker-a", bytes_written=130)
    assert chunk.announcement() == ChunkCommitted(
        JOB, 4, 3, 1.5, "worker-a", frames_reused=2, bytes_reused=270, bytes_written=130
    )
