"""Listings with sizes and times, and listings of one key range: what the cache's lookups and
its eviction need, in one request per page where the store allows it (S3's ListObjectsV2 with
start-after; a directory walk for the local store)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from common.adapters.routed import RoutedStore
from common.adapters.storage import LocalStore, ObjectStore, S3Store, _wrap


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    key: str
    size: int
    modified: float  # seconds since the epoch


def list_info(store: ObjectStore, prefix: str) -> list[ObjectInfo]:
    """Every object under ``prefix`` with its size and last modification, sorted by key."""
    return list_range(store, prefix, prefix, None)


def list_range(store: ObjectStore, prefix: str, first: str, last: str | None) -> list[ObjectInfo]:
    """The objects under ``prefix`` whose keys lie in [first, last] (``last`` None: no end)."""
    if isinstance(store, RoutedStore):
        return list_range(store.route(prefix), prefix, first, last)
    if isinstance(store, S3Store):
        return _s3_range(store, prefix, first, last)
    if isinstance(store, LocalStore):
        return _local_range(store, prefix, first, last)
    keys = [k for k in store.list(prefix) if first <= k and (last is None or k <= last)]
    return [ObjectInfo(k, store.size(k), 0.0) for k in keys]


def _s3_range(store: S3Store, prefix: str, first: str, last: str | None) -> list[ObjectInfo]:
    found: list[ObjectInfo] = []
    before = first[:-1]  # start-after is exclusive: every key >= first sorts after this
    try:
        objects = store.client.list_objects(
            store.bucket, prefix=prefix, recursive=True, start_after=before or None
        )
        for item in objects:
            name = item.object_name
            if name is None or name < first:
                continue
            if last is not None and name > last:
                break  # listed in key order
            modified = item.last_modified.timestamp() if item.last_modified else 0.0
            found.append(ObjectInfo(name, int(item.size or 0), modified))
    except Exception as error:
        raise _wrap(error) from error
    return found


def _local_range(store: LocalStore, prefix: str, first: str, last: str | None) -> list[ObjectInfo]:
    found = []
    for key in store.list(prefix):
        if key < first or (last is not None and key > last):
            continue
        try:
            stat = os.stat(store.local_path(key))
        except FileNotFoundError:
            continue  # removed since the listing
        found.append(ObjectInfo(key, stat.st_size, stat.st_mtime))
    return found
