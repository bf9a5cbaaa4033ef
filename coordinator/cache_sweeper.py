"""The cache sweeper, part of the coordinator's housekeeping: a thread that trims the frame,
segment and soundtrack cache to its size limit every few minutes (least recently used first),
leaving alone whatever a running job uses."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from common.adapters.storage import ObjectStore
from common.cache.eviction import Eviction, evict
from common.errors import FramefarmError
from coordinator.orchestrator import Orchestrator, UnknownJob

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CachePolicy:
    """FRAMEFARM_CACHE_MAX_BYTES, _CACHE_SWEEP_SECONDS and _CACHE_GRACE_SECONDS."""

    max_bytes: int
    sweep_seconds: float
    grace_seconds: float


def job_running(orchestrator: Orchestrator) -> Callable[[str], bool]:
    """Whether a job is still live (its cached objects are then pinned)."""

    def running(job_id: str) -> bool:
        try:
            return not orchestrator.state(job_id).phase.terminal
        except (UnknownJob, FramefarmError):
            return False

    return running


class CacheSweeper:
    def __init__(
        self,
        store: ObjectStore,
        orchestrator: Orchestrator,
        policy: CachePolicy,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store, self.policy, self.clock = store, policy, clock
        self.running = job_running(orchestrator)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last: Eviction | None = None

    def sweep(self) -> Eviction:
        """One pass (also what the thread runs)."""
        policy = self.policy
        self.last = evict(
            self.store, policy.max_bytes, self.running, self.clock(), policy.grace_seconds
        )
        return self.last

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="cache-sweeper", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.wait(self.policy.sweep_seconds):
            try:
                self.sweep()
            except Exception:  # the next sweep tries again; exports go on meanwhile
                log.exception("cache sweep failed")
