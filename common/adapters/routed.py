"""One object store made of two: keys under a prefix go to another store. The embedded mode
keeps its jobs in a scratch directory and its cache (``cache/``) in the lasting local store, and
every actor still sees one store, so a manifest may name a cached object as it names any other."""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

from common.adapters.storage import ObjectStore


class RoutedStore:
    """``routes`` maps key prefixes to stores; every other key goes to ``default``."""

    def __init__(self, default: ObjectStore, routes: dict[str, ObjectStore]) -> None:
        self.default = default
        self.routes = dict(routes)

    def route(self, key: str) -> ObjectStore:
        for prefix, store in self.routes.items():
            if key.startswith(prefix):
                return store
        return self.default

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        self.route(key).put(key, data, content_type)

    def put_file(
        self, key: str, path: Path, content_type: str = "application/octet-stream"
    ) -> None:
        self.route(key).put_file(key, path, content_type)

    def get(self, key: str) -> bytes:
        return self.route(key).get(key)

    def get_file(self, key: str, path: Path) -> None:
        self.route(key).get_file(key, path)

    def stream(self, key: str) -> Iterator[bytes]:
        return self.route(key).stream(key)

    def exists(self, key: str) -> bool:
        return self.route(key).exists(key)

    def size(self, key: str) -> int:
        return self.route(key).size(key)

    def list(self, prefix: str) -> list[str]:
        keys = set(self.route(prefix).list(prefix))
        for route, store in self.routes.items():
            if route.startswith(prefix) and store is not self.route(prefix):
                keys.update(store.list(route))
        return sorted(keys)

    def folders(self, prefix: str) -> builtins.list[str]:
        names = set(self.route(prefix).folders(prefix))
        for route, store in self.routes.items():
            if route.startswith(prefix) and store is not self.route(prefix):
                names.update(store.folders(prefix))
        return sorted(names)

    def list_modified(self, prefix: str) -> dict[str, float]:
        found = dict(self.route(prefix).list_modified(prefix))
        for route, store in self.routes.items():
            if route.startswith(prefix) and store is not self.route(prefix):
                found.update(store.list_modified(route))
        return found

    def delete(self, key: str) -> None:
        self.route(key).delete(key)

    def delete_prefix(self, prefix: str) -> int:
        keys = self.list(prefix)
        for key in keys:
            self.delete(key)
        return len(keys)

    def presigned_url(
        self, key: str, expires: timedelta, filename: str | None = None
    ) -> str | None:
        return self.route(key).presigned_url(key, expires, filename)

    def ping(self) -> None:
        self.default.ping()
        for store in self.routes.values():
            store.ping()

    def local_file(self, key: str) -> Path | None:
        return self.route(key).local_file(key)
