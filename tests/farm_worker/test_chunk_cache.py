"""A render worker and the cache: a second job of equal frames renders nothing and encodes
nothing; a cached frame evicted between the lookup and the commit (a sweep that was already
under way) makes the chunk fail retryably, and the retry renders it again."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.adapters.storage import LocalStore
from common.cache.store import CacheChanged
from common.config import UNLIMITED
from common.format.validation import validate_export
from common.jobs import records
from common.jobs.cache_keys import USES_PREFIX
from common.jobs.chunks import plan_chunks, plan_segments
from common.jobs.keys import JobKeys
from common.jobs.manifest import ChunkManifest
from common.jobs.messages import Event, RenderChunk
from common.jobs.spec import JobSpec
from farm_worker.chunk import ChunkRenderer
from tests.factories import note, project_data, track

PROJECT = project_data(
    track("sparks", "particles", [note(b / 2, 0.25) for b in range(8)]),
    track("pad", "orbs", [note(0, 4, 48)]),
)
SETTINGS = {"width": 48, "height": 32, "fps": 10, "endBeat": 2, "crf": 30, "preset": "ultrafast"}
FRAMES = 10


def submit(store: LocalStore, job_id: str) -> RenderChunk:
    """A job of one chunk (10 frames) and two 5-frame segments, as the orchestrator stores it."""
    export = validate_export(PROJECT, SETTINGS, UNLIMITED)
    assert export.frame_count == FRAMES
    chunks = tuple(plan_chunks(FRAMES, FRAMES))
    spec = JobSpec(
        job_id, PROJECT, SETTINGS, FRAMES, chunks, 0.0, segments=tuple(plan_segments(FRAMES, 5))
    )
    store.put(JobKeys(job_id).spec, records.dump(spec), "application/json")
    return RenderChunk(job_id, 0, 0, FRAMES)


class SweptStore(LocalStore):
    """A store where a sweep removes one cached frame just after the job records its use."""

    victim: str = ""

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        super().put(key, data, content_type)
        if key.startswith(USES_PREFIX) and self.victim:
            self.delete(self.victim)
            self.victim = ""


def test_equal_frames_are_reused_and_an_evicted_one_is_rendered_again(tmp_path: Path) -> None:
    store = SweptStore(tmp_path / "store")
    events: list[Event] = []
    chunks = ChunkRenderer(store, events.append, "test-worker")
    try:
        first = chunks.render(submit(store, "job-first-0001"))
        assert first is not None and first.frames_reused == 0

        second = chunks.render(submit(store, "job-second-001"))
        assert second is not None
        assert second.frames_reused == FRAMES and second.bytes_written == 0
        assert [r.key for r in second.frames] == [r.key for r in first.frames]
        assert [r.sha256 for r in second.frames] == [r.sha256 for r in first.frames]
        reused = [e for e in events if getattr(e, "reused", False)]
        assert len(reused) == 2  # both segments, not encoded again

        store.victim = first.frames[7].key  # in segment 1, which is reused: never downloaded
        command = submit(store, "job-third-0001")
        with pytest.raises(CacheChanged, match="evicted"):
            chunks.render(command)
        assert not store.exists(JobKeys(command.job_id).chunk_manifest(0))
        third = chunks.render(command)  # the retry
        assert third is not None
        assert third.frames_reused == FRAMES - 1 and not third.frames[7].reused
        assert third.frames[7].sha256 == first.frames[7].sha256
        assert all(store.exists(r.key) for r in third.frames)
        stored = records.load(ChunkManifest, store.get(JobKeys(command.job_id).chunk_manifest(0)))
        assert stored == third
    finally:
        chunks.close()
        chunks.renderers.release()
