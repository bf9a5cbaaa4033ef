"""The render actor's per-thread resources: a worker thread that stops releases its GL context
and renderer on its own thread (a GL context is current on one thread only)."""

from __future__ import annotations

import threading
from typing import cast

import dramatiq

from common.adapters.bus import stub_broker
from farm_worker.actors import ReleaseRenderers
from farm_worker.chunk import ChunkRenderer


class Renderers:
    def __init__(self) -> None:
        self.released_on: list[str] = []

    def release(self) -> None:
        self.released_on.append(threading.current_thread().name)


class Chunks:
    def __init__(self) -> None:
        self.renderers = Renderers()


def test_every_worker_thread_releases_its_renderers_when_it_stops() -> None:
    broker = stub_broker()
    chunks = Chunks()
    broker.add_middleware(ReleaseRenderers(cast(ChunkRenderer, chunks)))
    worker = dramatiq.Worker(broker, worker_threads=2, worker_timeout=50)
    worker.start()
    worker.stop()
    released = chunks.renderers.released_on
    assert len(released) == 2
    assert len(set(released)) == 2  # each on its own thread
    assert threading.current_thread().name not in released
    broker.close()
