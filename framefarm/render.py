"""Render a project to a video file end to end: embedded (everything in this process) or through
a running distributed farm (RabbitMQ + S3 + `framefarm worker` / `framefarm stitcher`)."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common.adapters.routed import RoutedStore
from common.adapters.storage import LocalStore, ObjectStore
from common.cache.eviction import evict
from common.config import ServiceSettings
from common.errors import FramefarmError
from common.format.export_settings import wants_audio
from common.format.validation import Export
from common.jobs.cache_keys import CACHE_PREFIX
from common.jobs.chunks import DEFAULT_SEGMENT_SECONDS
from common.jobs.spec import file_stem
from common.jobs.state import JobState, Phase
from framefarm.farm import Farm, JobWatcher
from framefarm.interrupt import InterruptedByUser, StopRequest
from stitcher.soundtrack import start_audio_process_deaf_to_ctrl_c

STOP_GRACE_SECONDS = 0.5
"""How long a stopped export waits for its workers before the process exits anyway."""


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
    stop: StopRequest | None = None,
) -> JobState:
    """Submit a validated export, follow the job to its end, and copy the video to ``output``.

    Embedded, ``cache_dir`` is where the cache (``cache/`` keys) lasts between runs, while the
    job's own objects live in a scratch store, and the cache is trimmed to ``cache_max_bytes``
    after the job (no coordinator runs here to do it); distributed, the farm's store holds the
    cache and the coordinator trims it. Once ``stop`` is set (the first Ctrl-C) the job is
    cancelled, the workers get a moment to let go, the scratch folder is removed and
    InterruptedByUser is raised.
    """
    name = file_stem(export.project.name)
    scratch = Path(tempfile.mkdtemp(prefix="framefarm-"))
    if stop is not None:
        stop.scratch.append(scratch)
    try:
        if distributed is not None:
            farm = Farm.distributed(distributed)
        else:
            store: ObjectStore = LocalStore(store_dir or scratch / "store")
            if cache_dir is not None:
                store = RoutedStore(store, {CACHE_PREFIX: LocalStore(cache_dir)})
            farm = Farm.embedded(store, segment_seconds=segment_seconds)
        try:
            if distributed is None:
                if stop is not None and wants_audio(export.settings):
                    start_audio_process_deaf_to_ctrl_c()
                farm.start_embedded_workers(workers, scratch)
            orchestrator = farm.orchestrator(keep_intermediates)
            farm.pump(orchestrator)
            if stop is not None:
                stop.check()
            state = orchestrator.submit(
                export, chunk_frames=chunk_frames, workers=workers, name=name
            )
            if on_submit is not None:
                on_submit(state)
            watcher = JobWatcher(orchestrator, state.job_id, on_state)
            final = watcher.wait(timeout, None if stop is None else stop.event)
            if stop is not None and stop.requested:
                orchestrator.cancel(state.job_id)
                raise InterruptedByUser
            if final.phase is not Phase.COMPLETE or final.output_key is None:
                raise JobFailedError(final)
            partial = output.with_name(f".{output.name}.part")
            output.parent.mkdir(parents=True, exist_ok=True)
            farm.store.get_file(final.output_key, partial)
            os.replace(partial, output)
        except InterruptedByUser:
            _close_briefly(farm)
            raise
        except BaseException:
            farm.close()
            raise
        farm.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
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


def _close_briefly(farm: Farm) -> None:
    """Give the workers half a second to let go of a cancelled job; threads still busy after
    that are abandoned (they are daemons, and the process is about to exit)."""
    closer = threading.Thread(target=farm.close, kwargs={"timeout": 0.25}, daemon=True)
    closer.start()
    closer.join(STOP_GRACE_SECONDS)
