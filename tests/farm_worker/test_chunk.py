"""ChunkRenderer on a local store, without a broker: what a chunk leaves in the store and what it
announces, when it renders, when it is delivered twice, and when its job is stopped before, during
or just after it."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from common.adapters.storage import LocalStore
from common.config import Limits
from common.format.validation import validate_export
from common.jobs import records
from common.jobs.chunks import plan_chunks, plan_segments
from common.jobs.keys import JobKeys
from common.jobs.manifest import ChunkManifest, SegmentManifest
from common.jobs.messages import ChunkCommitted, Event, RenderChunk, SegmentEncoded
from common.jobs.spec import JobSpec
from farm_worker.chunk import ChunkError, ChunkRenderer
from farm_worker.png import decode_png
from tests.factories import note, project_data, track

JOB_ID = "chunktest-0001"
KEYS = JobKeys(JOB_ID)
SETTINGS = {
    "width": 32,
    "height": 18,
    "fps": 12,
    "endBeat": 8,
    "preset": "veryfast",
    "cache": False,
}
PROJECT = project_data(track("lead", "bars", [note(beat, 0.5, 60 + beat) for beat in range(4)]))


class StopAfter(LocalStore):
    """A local store whose job gets its stop marker once ``frames`` frames have been stored (as
    if cancelled at that moment) or right after the chunk's manifest is (``after_commit``)."""

    def __init__(self, root: Path, frames: int | None = None, after_commit: bool = False) -> None:
        super().__init__(root)
        self.frames, self.after_commit = frames, after_commit
        self.stored_frames = 0
        self.puts: list[str] = []

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        super().put(key, data, content_type)
        self.puts.append(key)
        if key.startswith(KEYS.frames_prefix):
            self.stored_frames += 1
            if self.stored_frames == self.frames:
                super().put(KEYS.stop_marker, b"cancelled")
        if self.after_commit and key.startswith(KEYS.chunks_prefix):
            super().put(KEYS.stop_marker, b"cancelled")


def store_spec(store: LocalStore, chunk_frames: int, segment_frames: int = 0) -> JobSpec:
    export = validate_export(PROJECT, SETTINGS, Limits())
    spec = JobSpec(
        JOB_ID,
        PROJECT,
        SETTINGS,
        export.frame_count,
        tuple(plan_chunks(export.frame_count, chunk_frames)),
        0.0,
        segments=tuple(plan_segments(export.frame_count, segment_frames)),
    )
    store.put(KEYS.spec, records.dump(spec), "application/json")
    return spec


@pytest.fixture
def events() -> list[Event]:
    return []


@pytest.fixture
def make_renderer(events: list[Event]) -> Iterator[Callable[[LocalStore], ChunkRenderer]]:
    made: list[ChunkRenderer] = []

    def make(store: LocalStore) -> ChunkRenderer:
        made.append(ChunkRenderer(store, events.append, "test-worker"))
        return made[-1]

    yield make
    for renderer in made:
        renderer.close()


def command(spec: JobSpec, index: int) -> RenderChunk:
    chunk = spec.chunks[index]
    return RenderChunk(JOB_ID, chunk.index, chunk.first_frame, chunk.frame_count)


def job_objects(store: LocalStore, *prefixes: str) -> list[str]:
    return sorted(key for prefix in prefixes for key in store.list(prefix))


def test_a_chunk_stores_its_frames_then_a_manifest_of_their_bytes(
    tmp_path: Path, make_renderer: Callable[[LocalStore], ChunkRenderer], events: list[Event]
) -> None:
    store = StopAfter(tmp_path / "store")
    spec = store_spec(store, chunk_frames=12)
    manifest = make_renderer(store).render(command(spec, 1))

    assert manifest is not None
    assert [record.index for record in manifest.frames] == list(range(12, 24))
    assert store.puts[-1] == KEYS.chunk_manifest(1)  # the commit comes last
    assert records.load(ChunkManifest, store.get(KEYS.chunk_manifest(1))) == manifest
    for record in manifest.frames:
        data = store.get(record.key)
        assert record.key == KEYS.frame(record.index)
        assert (len(data), hashlib.sha256(data).hexdigest()) == (record.size, record.sha256)
        pixels = decode_png(data)
        assert pixels.shape == (18, 32, 3)
    assert job_objects(store, KEYS.frames_prefix) == [KEYS.frame(i) for i in range(12, 24)]
    assert [e for e in events if isinstance(e, ChunkCommitted)] == [manifest.announcement()]


def test_frames_hold_the_scene_not_a_blank_image(
    tmp_path: Path, make_renderer: Callable[[LocalStore], ChunkRenderer]
) -> None:
    store = StopAfter(tmp_path / "store")
    spec = store_spec(store, chunk_frames=24)
    manifest = make_renderer(store).render(command(spec, 0))
    assert manifest is not None
    brightest = max(float(np.mean(decode_png(store.get(r.key)))) for r in manifest.frames)
    assert brightest > 1.0  # the lead's bars are drawn


def test_a_chunk_delivered_twice_is_announced_again_not_rendered_again(
    tmp_path: Path, make_renderer: Callable[[LocalStore], ChunkRenderer], events: list[Event]
) -> None:
    store = StopAfter(tmp_path / "store")
    spec = store_spec(store, chunk_frames=12)
    renderer = make_renderer(store)
    first = renderer.render(command(spec, 0))
    puts_after_first = len(store.puts)
    second = renderer.render(command(spec, 0))

    assert first is not None and second == first
    assert len(store.puts) == puts_after_first  # nothing rendered or stored again
    assert [e for e in events if isinstance(e, ChunkCommitted)] == [first.announcement()] * 2


def test_the_segments_inside_a_chunk_are_encoded_and_announced_with_it(
    tmp_path: Path, make_renderer: Callable[[LocalStore], ChunkRenderer], events: list[Event]
) -> None:
    store = StopAfter(tmp_path / "store")
    spec = store_spec(store, chunk_frames=24, segment_frames=12)
    assert make_renderer(store).render(command(spec, 0)) is not None

    announced = [e for e in events if isinstance(e, SegmentEncoded)]
    assert sorted(e.segment_index for e in announced) == [0, 1]
    for segment in (0, 1):
        manifest = records.load(SegmentManifest, store.get(KEYS.segment_manifest(segment)))
        data = store.get(manifest.key)
        assert (len(data), hashlib.sha256(data).hexdigest()) == (manifest.size, manifest.sha256)


def test_a_stopped_job_is_skipped_and_nothing_is_stored(
    tmp_path: Path, make_renderer: Callable[[LocalStore], ChunkRenderer], events: list[Event]
) -> None:
    store = StopAfter(tmp_path / "store")
    spec = store_spec(store, chunk_frames=12)
    store.put(KEYS.stop_marker, b"cancelled")
    assert make_renderer(store).render(command(spec, 0)) is None
    assert job_objects(store, KEYS.frames_prefix, KEYS.chunks_prefix) == []
    assert events == []


def test_a_job_stopped_mid_chunk_leaves_no_frame_manifest_or_segment(
    tmp_path: Path, make_renderer: Callable[[LocalStore], ChunkRenderer], events: list[Event]
) -> None:
    store = StopAfter(tmp_path / "store", frames=3)  # stopped while the first frames upload
    spec = store_spec(store, chunk_frames=48, segment_frames=12)
    assert make_renderer(store).render(command(spec, 0)) is None
    assert store.stored_frames < 48  # it stopped at a check, not at the end
    prefixes = (KEYS.frames_prefix, KEYS.chunks_prefix, KEYS.segments_prefix)
    assert job_objects(store, *prefixes) == []
    assert not [e for e in events if isinstance(e, ChunkCommitted | SegmentEncoded)]


def test_a_job_stopped_just_after_the_commit_takes_the_commit_back(
    tmp_path: Path, make_renderer: Callable[[LocalStore], ChunkRenderer], events: list[Event]
) -> None:
    store = StopAfter(tmp_path / "store", after_commit=True)
    spec = store_spec(store, chunk_frames=12, segment_frames=12)
    assert make_renderer(store).render(command(spec, 0)) is None
    prefixes = (KEYS.frames_prefix, KEYS.chunks_prefix, KEYS.segments_prefix)
    assert job_objects(store, *prefixes) == []
    assert not [e for e in events if isinstance(e, ChunkCommitted | SegmentEncoded)]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"chunk_index": 7}, "chunk 7 is not in job"),
        ({"first_frame": 11}, "covers frames 12\\+12, the message says 11\\+12"),
        ({"frame_count": 13}, "covers frames 12\\+12, the message says 12\\+13"),
    ],
)
def test_a_chunk_outside_the_plan_is_a_permanent_error(
    tmp_path: Path,
    make_renderer: Callable[[LocalStore], ChunkRenderer],
    change: dict[str, Any],
    words: str,
) -> None:
    store = StopAfter(tmp_path / "store")
    spec = store_spec(store, chunk_frames=12)
    planned = command(spec, 1)
    fields = {
        "chunk_index": planned.chunk_index,
        "first_frame": planned.first_frame,
        "frame_count": planned.frame_count,
        **change,
    }
    with pytest.raises(ChunkError, match=words):
        make_renderer(store).render(RenderChunk(JOB_ID, **fields))
    assert job_objects(store, KEYS.frames_prefix, KEYS.chunks_prefix) == []
