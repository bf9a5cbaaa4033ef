"""A segment's commit record (common/adapters/segments.py) without an encoder: a segment reused
from the cache is committed by its manifest alone, found again after a restart while its cached
file lasts, and taken back without touching the cached file."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.adapters.segments import remove_segment, reuse_segment, stored_segment
from common.adapters.storage import LocalStore
from common.jobs import records
from common.jobs.cache_keys import segment_object
from common.jobs.cache_records import CachedObject
from common.jobs.chunks import SegmentPlan
from common.jobs.keys import JobKeys
from common.jobs.manifest import SegmentManifest
from tests.factories import TypedStore

KEYS = JobKeys("job-reuse")
SEGMENT = SegmentPlan(3, 24, 8)
CACHE_KEY = "c" * 64
CACHED = CachedObject(segment_object(CACHE_KEY, "mp4"), "d" * 64, 1234)


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    store = LocalStore(tmp_path / "store")
    store.put(CACHED.object_key, b"cached segment bytes")
    return store


def test_a_reused_segment_is_committed_by_a_manifest_naming_the_cached_file(
    store: LocalStore,
) -> None:
    manifest = reuse_segment(store, KEYS, SEGMENT, CACHE_KEY, CACHED, "worker-7")
    assert manifest == SegmentManifest(
        job_id="job-reuse",
        segment_index=3,
        first_frame=24,
        frame_count=8,
        key=CACHED.object_key,
        sha256="d" * 64,
        size=1234,
        encode_seconds=0.0,
        encoded_from="cache",
        worker="worker-7",
        cache_key=CACHE_KEY,
    )
    assert manifest.reused
    stored = store.get(KEYS.segment_manifest(3))
    assert records.load(SegmentManifest, stored) == manifest
    assert store.get(CACHED.object_key) == b"cached segment bytes"  # nothing encoded or copied
    assert store.list(KEYS.segments_prefix) == [KEYS.segment_manifest(3)]


def test_a_reused_segment_is_found_again_while_its_cached_file_lasts(
    store: LocalStore,
) -> None:
    manifest = reuse_segment(store, KEYS, SEGMENT, CACHE_KEY, CACHED, "worker-7")
    assert stored_segment(store, KEYS, 3) == manifest
    assert stored_segment(store, KEYS, 4) is None
    store.delete(CACHED.object_key)  # evicted since
    assert stored_segment(store, KEYS, 3) is None


def test_a_manifest_of_another_job_or_segment_is_not_this_segment(store: LocalStore) -> None:
    manifest = reuse_segment(store, KEYS, SEGMENT, CACHE_KEY, CACHED, "worker-7")
    other_job = SegmentManifest(**{**vars(manifest), "job_id": "job-other"})
    store.put(KEYS.segment_manifest(3), records.dump(other_job))
    assert stored_segment(store, KEYS, 3) is None
    other_index = SegmentManifest(**{**vars(manifest), "segment_index": 5})
    store.put(KEYS.segment_manifest(3), records.dump(other_index))
    assert stored_segment(store, KEYS, 3) is None
    store.put(KEYS.segment_manifest(3), b"{not json")
    assert stored_segment(store, KEYS, 3) is None


def test_taking_back_a_reused_segment_leaves_the_cached_file(store: LocalStore) -> None:
    manifest = reuse_segment(store, KEYS, SEGMENT, CACHE_KEY, CACHED, "worker-7")
    remove_segment(store, KEYS, manifest)
    assert not store.exists(KEYS.segment_manifest(3))
    assert store.exists(CACHED.object_key)


def test_taking_back_a_segment_of_the_job_removes_its_file(store: LocalStore) -> None:
    key = KEYS.segment(3, "mp4")
    store.put(key, b"encoded")
    manifest = SegmentManifest("job-reuse", 3, 24, 8, key, "e" * 64, 7, 0.5, "frames", "worker-7")
    store.put(KEYS.segment_manifest(3), records.dump(manifest))
    assert stored_segment(store, KEYS, 3) == manifest
    remove_segment(store, KEYS, manifest)
    assert not store.exists(KEYS.segment_manifest(3))
    assert not store.exists(key)


def test_a_reused_segment_s_manifest_is_stored_as_json(tmp_path: Path) -> None:
    store = TypedStore(tmp_path / "typed")
    reuse_segment(store, KEYS, SEGMENT, CACHE_KEY, CACHED, "worker-7")
    assert store.types == {KEYS.segment_manifest(3): "application/json"}
