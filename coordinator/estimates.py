"""The farm's estimate of an export's time: the costs measured on its recent jobs and the render
workers live now (asked of the farm: its own threads, or the broker's consumer count)."""

from __future__ import annotations

import logging
from typing import Any

from common.format.validation import Export
from common.jobs.estimate import Estimate, estimate
from coordinator.orchestrator import Orchestrator

log = logging.getLogger(__name__)


def live_workers(farm: Any) -> int | None:
    """The render workers consuming now; None when the farm cannot say."""
    live = getattr(farm, "live_render_workers", None)
    return live() if callable(live) else None


def farm_estimate(
    orchestrator: Orchestrator, farm: Any, export: Export
) -> tuple[Estimate | None, int | None]:
    """The estimate for ``export`` on the workers live now, shared by no more of them than the
    chunks a submit gives it on that many (blocking: store and broker I/O)."""
    workers = live_workers(farm)
    settings = export.settings
    samples = orchestrator.timing_samples()
    chunks, _ = orchestrator.plan(export, workers=max(workers or 1, 1))
    found = estimate(
        samples, settings.width, settings.height, export.frame_count, workers, len(chunks)
    )
    return found, workers


def estimate_document(
    export: Export, found: Estimate | None, workers: int | None
) -> dict[str, Any]:
    """``POST /api/exports/estimate``'s answer."""
    return {
        "frames": export.frame_count,
        "seconds": None if found is None else found.seconds,
        "secondsPerFrame": None if found is None else round(found.seconds_per_frame, 4),
        "tailSeconds": None if found is None else found.tail_seconds,
        "basedOnJobs": 0 if found is None else found.based_on,
        "sameSize": bool(found and found.same_size),
        "workers": workers,
    }


def submit_facts(
    orchestrator: Orchestrator, farm: Any, export: Export
) -> tuple[float | None, int | None]:
    """At submit: the estimate kept with the job (to say at the end how far off it was; None
    when nothing is measured or the farm cannot be asked: an estimate never stops a submit) and
    the live render workers, whom the job's chunks are planned for (None when unknown)."""
    try:
        found, workers = farm_estimate(orchestrator, farm, export)
    except Exception as error:  # the submit itself reports an unavailable store or broker
        log.warning("no estimate for a new job: %s", error)
        return None, None
    return (None if found is None else found.seconds), workers
