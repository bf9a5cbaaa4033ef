"""Render a project to a video file end to end: embedded (everything in this process) or through
a running distributed farm (RabbitMQ + S3 + `framefarm worker` / `framefarm stitcher`)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common.adapters.storage import LocalStore
from common.config import ServiceSettings
from common.errors import FramefarmError
from common.format.validation import Export
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
) -> JobState:
    """Submit a validated export, follow the job to its end, and copy the video to ``output``."""
    name = file_stem(export.project.name)
    with tempfile.TemporaryDirectory(prefix="framefarm-") as scratch:
        if distributed is not None:
            farm = Farm.distributed(distributed)
        else:
            store = LocalStore(store_dir or Path(scratch) / "store")
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
            return final
