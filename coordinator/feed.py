"""Job states from the orchestrator's thread to the event loop, for WebSockets.

The orchestrator calls listeners on whatever thread handled the event; each watcher keeps only
the latest state (states are snapshots: a slow client skips intermediate ones, never falls
behind) and wakes its coroutine with call_soon_threadsafe.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from common.jobs.state import JobState
from coordinator.orchestrator import Orchestrator


class JobFeed:
    def __init__(self, orchestrator: Orchestrator, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._watchers: dict[str, set[StateWatcher]] = {}
        self._unsubscribe: Callable[[], None] = orchestrator.subscribe(self._on_state)

    def watch(self, job_id: str) -> StateWatcher:
        watcher = StateWatcher(self, job_id)
        self._watchers.setdefault(job_id, set()).add(watcher)
        return watcher

    def _forget(self, watcher: StateWatcher) -> None:
        watchers = self._watchers.get(watcher.job_id)
        if watchers is not None:
            watchers.discard(watcher)
            if not watchers:
                del self._watchers[watcher.job_id]

    def _on_state(self, state: JobState) -> None:  # any thread
        self.loop.call_soon_threadsafe(self._deliver, state)

    def _deliver(self, state: JobState) -> None:  # the event loop
        for watcher in list(self._watchers.get(state.job_id, ())):
            watcher.offer(state)

    def close(self) -> None:
        self._unsubscribe()


class StateWatcher:
    """The latest state of one job, awaited by one WebSocket."""

    def __init__(self, feed: JobFeed, job_id: str) -> None:
        self.feed = feed
        self.job_id = job_id
        self.latest: JobState | None = None
        self._changed = asyncio.Event()

    def offer(self, state: JobState) -> None:
        self.latest = state
        self._changed.set()

    async def next(self) -> JobState:
        await self._changed.wait()
        self._changed.clear()
        assert self.latest is not None
        return self.latest

    def close(self) -> None:
        self.feed._forget(self)
