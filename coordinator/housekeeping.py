"""The coordinator's housekeeping thread: the watchdog that ends stalled jobs, the sweep of
orphaned keys, saving states the store refused, and evicting ended jobs from memory.

Every job ends: a job whose messages were dead-lettered is failed by the workers'
``FailureReporter``; a job that no worker takes at all (none running, or none that can reach
the store) has nobody to report it. So when a job made no progress for ``stall_seconds`` and
cannot be waiting in line (the whole farm made none either, or nothing waits in the work
queues: its work was lost, or a worker holding it hangs), the watchdog first sends the job's
remaining work again (a command lost with a broker outage is sent anew), and if another
``stall_seconds`` pass without progress it fails the job, naming the stage it was stuck in and
the likely cause.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from common.config import CoordinatorSettings
from common.jobs.state import JobState, Phase
from coordinator.orchestrator import Orchestrator
from coordinator.sweep import sweep_orphans

log = logging.getLogger(__name__)


def stall_error(state: JobState, seconds: float) -> str:
    """Why a job that made no progress for ``seconds`` is failed: its stage and the cause."""
    waited = f"{seconds:g} s"
    if state.phase is Phase.QUEUED:
        return (
            f"render: no worker took the render chunks for {waited} "
            "(no render worker running, or none that can reach the store)"
        )
    if state.phase is Phase.STITCHING:
        return f"stitch: no progress for {waited} (no stitcher running, or it cannot finish)"
    if len(state.committed) < state.chunk_count:
        return (
            f"render: no progress for {waited} with {len(state.committed)} of "
            f"{state.chunk_count} chunks committed (no render worker is taking the others)"
        )
    missing = sorted(set(state.segment_frames) - state.encoded)
    if missing:
        listed = ", ".join(str(i) for i in missing[:5]) + (", ..." if len(missing) > 5 else "")
        return (
            f"segment encode: segment(s) {listed} not encoded for {waited} "
            "(no encoder or stitcher running)"
        )
    return f"soundtrack: not rendered for {waited} (no stitcher running)"


class Housekeeper:
    """Runs ``tick`` every ``interval`` seconds on a thread of its own until ``stop``."""

    def __init__(
        self,
        orchestrator: Orchestrator,
        settings: CoordinatorSettings,
        *,
        keep_intermediates: bool = False,
        clock: Callable[[], float] = time.time,
        waiting_work: Callable[[], int | None] | None = None,
    ) -> None:
        """``waiting_work`` counts the messages waiting in the work queues (None: unknown);
        without it a job is stalled only when the whole farm is."""
        self.orchestrator = orchestrator
        self.waiting_work = waiting_work
        self.settings = settings
        self.keep_intermediates = keep_intermediates
        self.clock = clock
        self.interval = min(5.0, settings.stall_seconds / 4, settings.sweep_seconds)
        self._swept_at: float | None = None
        self._nudged: dict[str, float] = {}
        """Stalled job -> when its work was sent again (it fails a stall period later)."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="housekeeping", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # the store may be down: try again next time
                log.warning("housekeeping failed; trying again", exc_info=True)
            self._stop.wait(self.interval)

    def tick(self) -> list[JobState]:
        """One round: flush, fail the stalled jobs, sweep when due, evict. Returns the jobs
        it failed."""
        self.orchestrator.flush()
        seconds = self.settings.stall_seconds
        failed = []
        stalled = self.orchestrator.stalled(seconds, work_waiting=self._work_waiting())
        now = self.clock()
        for state in stalled:
            if state.job_id not in self._nudged:
                # First time: its commands may have been lost (a broker outage, a coordinator
                # that died between steps); send its remaining work again and wait once more.
                log.warning(
                    "job %s made no progress for %g s: sending its work again",
                    state.job_id,
                    seconds,
                )
                self._nudged[state.job_id] = now
                self.orchestrator.nudge(state.job_id)
                continue
            if now - self._nudged[state.job_id] < seconds:
                continue
            error = stall_error(state, 2 * seconds)
            log.error("job %s stalled: %s", state.job_id, error)
            ended = self.orchestrator.fail(state.job_id, error)
            if ended is not None and ended.phase is Phase.FAILED:
                failed.append(ended)
        still = {s.job_id for s in stalled}
        self._nudged = {j: t for j, t in self._nudged.items() if j in still}
        if self._swept_at is None or now - self._swept_at >= self.settings.sweep_seconds:
            self._swept_at = now
            sweep_orphans(
                self.orchestrator,
                grace_seconds=self.settings.orphan_grace_seconds,
                now=now,
                keep_intermediates=self.keep_intermediates,
            )
        self.orchestrator.evict(self.settings.cached_jobs)
        return failed

    def _work_waiting(self) -> bool:
        """Whether any work waits in the queues; True when that cannot be told (no count, or
        the broker did not answer), which leaves only the whole-farm rule."""
        if self.waiting_work is None or self._stop.is_set():
            return True
        try:
            waiting = self.waiting_work()
        except Exception:
            log.warning("could not count the waiting work", exc_info=True)
            return True
        return waiting is None or waiting > 0
