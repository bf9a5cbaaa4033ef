"""The cache in the object store: which of a chunk's frames are there (one listing of the
chunk's key range), the records of cached segments and soundtracks, and the use records that
keep what a running job references safe from eviction."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from common.adapters.listing import list_range
from common.adapters.storage import ObjectNotFound, ObjectStore, StorageError
from common.errors import DecodeError, FramefarmError
from common.jobs import records
from common.jobs.cache_keys import FRAMES_PREFIX, frame_range, use_record
from common.jobs.cache_records import CachedObject, CacheUse

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CachedFrame:
    """A frame found in the cache: its object, and the PNG's digest and size (from its name
    and the listing: nothing is downloaded to know them)."""

    object_key: str
    sha256: str
    size: int


def frame_name_parts(object_key: str) -> tuple[str, str] | None:
    """(frame key, PNG sha256) from a cached frame's object key, or None if not one."""
    if not object_key.startswith(FRAMES_PREFIX) or not object_key.endswith(".png"):
        return None
    parts = object_key.rsplit("/", 1)[-1][: -len(".png")].split("-")
    if len(parts) != 3 or len(parts[1]) != 64 or len(parts[2]) != 64:
        return None
    return parts[1], parts[2]


def cached_frames(
    store: ObjectStore, look: str, first_seconds: float, last_seconds: float
) -> dict[str, CachedFrame]:
    """Frame key -> cached frame, for every frame of ``look`` cached between two times: one
    listing of that key range, not a request per frame."""
    prefix, first, last = frame_range(look, first_seconds, last_seconds)
    found: dict[str, CachedFrame] = {}
    for info in list_range(store, prefix, first, last):
        parts = frame_name_parts(info.key)
        if parts is not None and info.size > 0:
            found[parts[0]] = CachedFrame(info.key, parts[1], info.size)
    return found


class CacheChanged(FramefarmError):  # noqa: N818 (reads as what happened)
    """A cached object a chunk relied on was evicted before the chunk committed: retrying the
    chunk renders it again (the next lookup does not find it)."""


def missing_objects(
    store: ObjectStore,
    look: str,
    hits: list[CachedFrame],
    others: list[str],
    first_seconds: float,
    last_seconds: float,
) -> list[str]:
    """Which of the cached frames (one listing again) and other cached objects are gone."""
    listed = cached_frames(store, look, first_seconds, last_seconds)
    present = {frame.object_key for frame in listed.values()}
    gone = [hit.object_key for hit in hits if hit.object_key not in present]
    return gone + [key for key in others if not store.exists(key)]


def load_cached(store: ObjectStore, record_key: str) -> CachedObject | None:
    """The record of a cached segment or soundtrack, or None (absent or unreadable: the entry
    is made again)."""
    try:
        return records.load(CachedObject, store.get(record_key))
    except (ObjectNotFound, DecodeError):
        return None


def record_use(store: ObjectStore, job_id: str, what: str, keys: list[str], now: float) -> None:
    """Say that job ``job_id`` uses ``keys`` (before it relies on them)."""
    if keys:
        use = CacheUse(job_id, tuple(sorted(set(keys))), now)
        store.put(use_record(job_id, what), records.dump(use), "application/json")


def fetch_cached(store: ObjectStore, key: str) -> bytes | None:
    """A cached object's bytes, or None when it has gone (evicted since the lookup): the
    caller makes it again."""
    try:
        return store.get(key)
    except ObjectNotFound:
        return None
    except StorageError:
        log.warning("cache read of %s failed", key, exc_info=True)
        raise
