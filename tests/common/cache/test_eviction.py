"""Cache eviction on a real store: least recently used first down to the limit, a segment's
file and record together, never what a running job uses nor anything within the grace period;
and the one-listing lookup of a chunk's frames, on the local store and a real S3 server."""

from __future__ import annotations

import os

import pytest

from common.adapters.listing import list_range
from common.adapters.storage import LocalStore, ObjectStore, S3Store
from common.cache.eviction import evict
from common.cache.store import cached_frames, record_use
from common.jobs.cache_keys import frame_object, segment_object, segment_record

NOW = 1_000_000.0
LOOK = "a" * 64
HOUR = 3600.0


def frame(seconds: float, fill: str) -> str:
    return frame_object(LOOK, seconds, fill * 64, "f" * 64)


def put(store: LocalStore, key: str, size: int, modified: float) -> None:
    store.put(key, b"x" * size)
    os.utime(store.local_path(key), (modified, modified))


def test_least_recently_used_go_first_down_to_the_limit(local_store: LocalStore) -> None:
    old, middle, recent = frame(1, "1"), frame(2, "2"), frame(3, "3")
    put(local_store, old, 100, NOW - 3 * HOUR)
    put(local_store, middle, 100, NOW - 5 * HOUR)  # written long ago, but used since:
    put(local_store, recent, 100, NOW - 2 * HOUR)
    record_use(local_store, "job-finished-1", "chunk_0000", [middle], NOW - HOUR)
    report = evict(local_store, 200, lambda job: False, NOW, grace_seconds=60)
    assert (report.evicted, report.bytes_evicted, report.bytes_after) == (1, 100, 200)
    assert not local_store.exists(old)
    assert local_store.exists(middle) and local_store.exists(recent)


def test_a_segment_goes_with_its_record(local_store: LocalStore) -> None:
    key = "b" * 64
    put(local_store, segment_object(key, "mp4"), 500, NOW - 2 * HOUR)
    put(local_store, segment_record(key), 50, NOW - 2 * HOUR)
    put(local_store, frame(1, "1"), 100, NOW - HOUR)
    evict(local_store, 200, lambda job: False, NOW, grace_seconds=60)
    assert not local_store.exists(segment_object(key, "mp4"))
    assert not local_store.exists(segment_record(key))
    assert local_store.exists(frame(1, "1"))


def test_what_a_running_job_uses_is_never_evicted(local_store: LocalStore) -> None:
    used, unused = frame(1, "1"), frame(2, "2")
    put(local_store, used, 100, NOW - 9 * HOUR)
    put(local_store, unused, 100, NOW - 2 * HOUR)
    record_use(local_store, "job-running-1", "chunk_0003", [used], NOW - 8 * HOUR)
    report = evict(local_store, 0, lambda job: job == "job-running-1", NOW, grace_seconds=60)
    assert local_store.exists(used), "a running job's frame was evicted"
    assert not local_store.exists(unused)
    assert report.pinned == 1
    # Once the job has ended, its frame is one more least recently used entry.
    evict(local_store, 0, lambda job: False, NOW, grace_seconds=60)
    assert not local_store.exists(used)
    assert local_store.list("cache/uses/") == []  # its use record names nothing left


def test_nothing_within_the_grace_period_is_evicted(local_store: LocalStore) -> None:
    fresh = frame(1, "1")
    put(local_store, fresh, 100, NOW - 30)
    assert evict(local_store, 0, lambda job: False, NOW, grace_seconds=60).evicted == 0
    assert local_store.exists(fresh)


@pytest.mark.integration
@pytest.mark.parametrize("kind", ["local", "s3"])
def test_one_listing_finds_the_cached_frames_of_a_time_range(
    kind: str, local_store: LocalStore, request: pytest.FixtureRequest
) -> None:
    store: ObjectStore = local_store if kind == "local" else request.getfixturevalue("s3_store")
    inside = [frame(t, str(t)) for t in (2, 3, 4)]
    outside = [frame(1, "1"), frame(5, "5"), frame_object("c" * 64, 3, "9" * 64, "f" * 64)]
    for key in inside + outside:
        store.put(key, b"png")
    found = cached_frames(store, LOOK, 2.0, 4.0)
    assert sorted(f.object_key for f in found.values()) == sorted(inside)
    assert {k: f.size for k, f in found.items()} == {str(t) * 64: 3 for t in (2, 3, 4)}
    assert all(f.sha256 == "f" * 64 for f in found.values())
    listed = list_range(store, "cache/frames/", inside[1], None)
    assert [i.key for i in listed][:2] == sorted(inside)[1:]
    if isinstance(store, S3Store):
        assert all(i.modified > 0 for i in listed)
