"""The sweep for orphaned keys: what no clean-up removed (a coordinator killed between a job's
end and its clean-up, a worker that wrote after the clean-up, a submit that failed half way).

- A job that ended keeps only its record (spec, status, marker) and, when complete, its video:
  any frames, manifests, segments or soundtrack left are removed (and a failed or cancelled
  job's output).
- Keys of a job with no status (an unknown job) are removed once the newest of them is older
  than the grace period (a submit in progress stores its spec just before its status).
- Unfinished jobs are never touched.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from common.adapters.storage import ObjectStore
from common.errors import FramefarmError
from common.jobs.keys import JOBS_PREFIX, JobKeys, job_id_of
from common.jobs.state import Phase
from coordinator.orchestrator import Orchestrator, UnknownJob

log = logging.getLogger(__name__)


@dataclass
class SweepReport:
    removed: dict[str, int] = field(default_factory=dict)
    """Job id -> how many of its keys the sweep removed."""


def sweep_orphans(
    orchestrator: Orchestrator,
    *,
    grace_seconds: float,
    now: float,
    keep_intermediates: bool = False,
) -> SweepReport:
    store, report = orchestrator.store, SweepReport()
    for folder in store.folders(JOBS_PREFIX):
        job_id = job_id_of(folder)
        if job_id is None:
            continue
        keys = JobKeys(job_id)
        try:
            state = orchestrator.state(job_id)
        except UnknownJob:
            written = store.list_modified(keys.prefix)
            if written and now - max(written.values()) >= grace_seconds:
                report.removed[job_id] = _remove(store, list(written))
            continue
        if not state.phase.terminal:
            continue
        if state.phase is Phase.COMPLETE and keep_intermediates:
            continue  # --keep: its frames and manifests stay on purpose
        leftovers = [k for k in store.list(keys.prefix) if _left_over(keys, k, state.phase)]
        if leftovers:
            report.removed[job_id] = _remove(store, leftovers)
    for job_id, count in report.removed.items():
        log.info("sweep: removed %d orphaned key(s) of job %s", count, job_id)
    return report


def _left_over(keys: JobKeys, key: str, phase: Phase) -> bool:
    if key in (keys.spec, keys.status, keys.stop_marker):
        return False
    if key.startswith(keys.output_prefix):
        return phase is not Phase.COMPLETE
    return True


def _remove(store: ObjectStore, keys: list[str]) -> int:
    removed = 0
    for key in keys:
        try:
            store.delete(key)
            removed += 1
        except FramefarmError:
            log.warning("sweep: could not remove %s", key, exc_info=True)
    return removed
