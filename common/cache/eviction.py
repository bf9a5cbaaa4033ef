"""Least-recently-used eviction of the cache, down to a size limit: a frame, a segment (its file
and record) or a soundtrack is one entry; its last use is the latest of its write and the use
records that name it. What a running job's use records name, and anything written or used within
the grace period (a lookup that has not recorded its use yet), is never removed."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from common.adapters.listing import ObjectInfo, list_info
from common.adapters.storage import ObjectNotFound, ObjectStore
from common.errors import DecodeError
from common.jobs import records
from common.jobs.cache_keys import AUDIO_PREFIX, CACHE_PREFIX, SEGMENTS_PREFIX, USES_PREFIX
from common.jobs.cache_records import CacheUse

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Entry:
    """One cached thing: its objects (a record last, so it is deleted first), size, last use."""

    name: str
    keys: tuple[str, ...]
    size: int
    last_used: float


@dataclass(frozen=True, slots=True)
class Eviction:
    """What a sweep found and did."""

    entries: int
    bytes_before: int
    evicted: int
    bytes_evicted: int
    pinned: int  # entries a running job uses

    @property
    def bytes_after(self) -> int:
        return self.bytes_before - self.bytes_evicted


def entry_name(key: str) -> str:
    """Objects of one entry share a name: a segment's or soundtrack's file and its record."""
    if key.startswith((SEGMENTS_PREFIX, AUDIO_PREFIX)):
        return key.rsplit(".", 1)[0]
    return key


def entries(objects: Iterable[ObjectInfo], uses: Iterable[CacheUse]) -> list[Entry]:
    """Group the cache's objects into entries, each with its last use."""
    last_use: dict[str, float] = {}
    for use in uses:
        for key in use.keys:
            name = entry_name(key)
            last_use[name] = max(last_use.get(name, 0.0), use.at)
    grouped: dict[str, list[ObjectInfo]] = {}
    for info in objects:
        grouped.setdefault(entry_name(info.key), []).append(info)
    found = []
    for name, infos in grouped.items():
        ordered = sorted(infos, key=lambda i: not i.key.endswith(".json"))  # record first
        used = max([last_use.get(name, 0.0), *(i.modified for i in infos)])
        found.append(Entry(name, tuple(i.key for i in ordered), sum(i.size for i in infos), used))
    return found


def plan_eviction(
    cached: list[Entry], pinned: set[str], limit_bytes: int, now: float, grace_seconds: float
) -> list[Entry]:
    """The least recently used entries to remove so that the rest fit in ``limit_bytes``,
    never one in ``pinned`` (names) or used within ``grace_seconds``."""
    total = sum(e.size for e in cached)
    chosen = []
    for entry in sorted(cached, key=lambda e: (e.last_used, e.name)):
        if total <= limit_bytes:
            break
        if entry.name in pinned or now - entry.last_used < grace_seconds:
            continue
        chosen.append(entry)
        total -= entry.size
    return chosen


def evict(
    store: ObjectStore,
    limit_bytes: int,
    is_running: Callable[[str], bool],
    now: float,
    grace_seconds: float,
) -> Eviction:
    """One sweep: list the cache and the use records, remove the least recently used entries
    beyond the limit, and the use records of finished jobs that name nothing left."""
    uses = _load_uses(store)
    objects = [i for i in list_info(store, CACHE_PREFIX) if not i.key.startswith(USES_PREFIX)]
    cached = entries(objects, (use for _, use in uses))
    running = {use.job_id for _, use in uses if is_running(use.job_id)}
    pinned = {entry_name(k) for _, use in uses if use.job_id in running for k in use.keys}
    chosen = plan_eviction(cached, pinned, limit_bytes, now, grace_seconds)
    for entry in chosen:
        for key in entry.keys:
            store.delete(key)
    left = {e.name for e in cached} - {e.name for e in chosen}
    for key, use in uses:
        stale = use.job_id not in running and now - use.at >= grace_seconds
        if stale and not any(entry_name(k) in left for k in use.keys):
            store.delete(key)
    evicted = sum(e.size for e in chosen)
    report = Eviction(
        len(cached),
        sum(e.size for e in cached),
        len(chosen),
        evicted,
        sum(1 for e in cached if e.name in pinned),
    )
    if chosen:
        log.info(
            "cache: evicted %d of %d entries (%d bytes), %d bytes left",
            report.evicted,
            report.entries,
            report.bytes_evicted,
            report.bytes_after,
        )
    return report


def _load_uses(store: ObjectStore) -> list[tuple[str, CacheUse]]:
    found = []
    for key in store.list(USES_PREFIX):
        try:
            found.append((key, records.load(CacheUse, store.get(key))))
        except (DecodeError, ObjectNotFound):
            log.warning("cache: skipping unreadable use record %s", key)
    return found
