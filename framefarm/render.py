"""Render a project to a video file end to end: embedded (everything in this process) or through
a running distributed farm (RabbitMQ + S3 + `framefarm worker` / `framefarm stitcher`)."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common.adapters.routed import RoutedStore
from common.adapters.storage import LocalStore, ObjectStore
from common.cache.eviction import evict
from common.config import ServiceSettings
from common.errors import FramefarmError
from common.format.validation import Export
from common.jobs.cache_keys import CACHE_PREFIX
from common.jobs.chunks import DEFAULT_SEGMENT_SECONDS
from common.jobs.spec import file_stem
from common.jobs.state import JobState, Phase
from framefarm.farm import Farm, JobWatcher


class JobFailedError(FramefarmError):
    def __init__(self, state: JobState) -> None:
        super().__init__(f"job {state.job_id} {state.phase.value}: {state.error or 'no output'}")
        self.state = state


def render_video(
    export: Export,
    output: Path,
    *,
    workers: int = 1,
    chunk_frames: int | None = None,
    distributed: ServiceSettings | None = None,
    store_dir: Path | None = None,
    segment_seconds: float = DEFAULT_SEGMENT_SECONDS,
    keep_intermediates: bool = False,
    on_state: Callable[[JobState], Any] | None = None,
    on_submit: Callable[[JobState], Any] | None = None,
    timeout: float | None = None,
    cache_dir: Path | None = None,
    cache_max_bytes: int | None = None,
    cache_grace_seconds: float = 0.0,
) -> JobState:
    """Submit a validated export, follow the job to its end, and copy the video to ``output``.

    Embedded, ``cache_dir`` is where the cache (``cache/`` keys) lasts between runs, while the
    job's own objects live in a scratch store, and the cache is trimmed to ``cache_max_bytes``
    after the job (no coordinator runs here to do it); distributed, the farm's store holds the
    cache and the coordinator trims it."""
    name = file_stem(export.project.name)
    with tempfile.TemporaryDirectory(prefix="framefarm-") as scratch:
        if distributed is not None:
            farm = Farm.distributed(distributed)
        else:
            store: ObjectStore = LocalStore(store_dir or Path(scratch) / "store")
            if cache_dir is not None:
                store = RoutedStore(store, {CACHE_PREFIX: LocalStore(cache_dir)})
            farm = Farm.embedded(store, segment_seconds=segment_seconds)
        with farm:
            if distributed is None:
                farm.start_embedded_workers(workers, Path(scratch))
            orchestrator = farm.orchestrator(keep_intermediates)
            farm.pump(orchestrator)
            state = orchestrator.submit(
                export, chunk_frames=chunk_frames, workers=workers, name=name
            )
            if on_submit is not None:
                on_submit(state)
            final = JobWatcher(orchestrator, state.job_id, on_state).wait(timeout)
            if final.phase is not Phase.COMPLETE or final.output_key is None:
                raise JobFailedError(final)
            partial = output.with_name(f".{output.name}.part")
            output.parent.mkdir(parents=True, exist_ok=True)
            farm.store.get_file(final.output_key, partial)
            os.replace(partial, output)
    if distributed is None and cache_dir is not None and cache_max_bytes is not None:
        evict(
            LocalStore(cache_dir),
            cache_max_bytes,
            _nothing_running,
            time.time(),
            cache_grace_seconds,
        )
    return final


def _nothing_running(job_id: str) -> bool:
    """Embedded, the job that used the cache has ended when it is trimmed."""
    return False
