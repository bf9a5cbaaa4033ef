"""Render a project to a video file end to end: embedded (everything in this process) or through
a running distributed farm (RabbitMQ + S3 + `framefarm worker` / `framefarm stitcher`)."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common.adapters.storage import LocalStore
from common.config import Limits, ServiceSettings
from common.errors import FramefarmError
from common.format.validation import validate_export
from common.jobs.state import JobState, Phase
from framefarm.farm import Farm, JobWatcher


class JobFailedError(FramefarmError):
    def __init__(self, state: JobState) -> None:
        super().__init__(f"job {state.job_id} {state.phase.value}: {state.error or 'no output'}")
        self.state = state


def render_video(
    project: dict[str, Any],
    settings: dict[str, Any],
    output: Path,
    *,
    workers: int = 1,
    chunk_frames: int | None = None,
    distributed: ServiceSettings | None = None,
    store_dir: Path | None = None,
    keep_intermediates: bool = False,
    on_state: Callable[[JobState], Any] | None = None,
    on_submit: Callable[[JobState], Any] | None = None,
    limits: Limits | None = None,
    timeout: float | None = None,
) -> JobState:
    """Validate, submit, follow the job to its end, and copy the video to ``output``."""
    export = validate_export(project, settings, limits or Limits())
    name = file_stem(str(project.get("name", "video")))
    with tempfile.TemporaryDirectory(prefix="framefarm-") as scratch:
        if distributed is not None:
            farm = Farm.distributed(distributed)
        else:
            farm = Farm.embedded(LocalStore(store_dir or Path(scratch) / "store"))
        with farm:
            if distributed is None:
                queues = {
                    farm.register_renderer("embedded"),
                    *farm.register_stitcher(Path(scratch)),
                }
                farm.start_worker(queues, threads=workers + 1)  # + 1: audio and stitch never wait
            orchestrator = farm.orchestrator(keep_intermediates)
            farm.pump(orchestrator)
            state = orchestrator.submit(
                export, project, settings, chunk_frames=chunk_frames, workers=workers, name=name
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


def file_stem(name: str) -> str:
    """A safe download name from the project's name: letters, digits, '-', '_'."""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")
    return stem[:80] or "video"
