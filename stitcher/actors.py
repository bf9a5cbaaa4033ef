"""The stitch_video actor: assemble a job's frames into its video; permanent errors fail the job."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import dramatiq

from common.broker import AUDIO_ACTOR, STITCH_ACTOR, Bus, Queues
from common.errors import PermanentFailure
from common.jobspec import SpecError
from common.manifest import ManifestError
from common.messages import DecodeError, JobFailed, RenderAudio, StitchVideo, from_wire
from common.storage import ObjectNotFound, ObjectStore
from stitcher.ffmpeg import EncodeError
from stitcher.soundtrack import render_job_audio
from stitcher.stitch import stitch_job

PERMANENT_ERRORS = (DecodeError, SpecError, ManifestError, EncodeError, ObjectNotFound)

STITCH_OPTIONS: dict[str, Any] = {
    "max_retries": 3,
    "min_backoff": 1_000,
    "max_backoff": 15_000,
    "time_limit": 60 * 60 * 1000,  # ffmpeg has its own, tighter timeout; this is a backstop
    "throws": (PermanentFailure,),
}


def register_audio_actor(
    broker: dramatiq.Broker,
    queues: Queues,
    store: ObjectStore,
    bus: Bus,
    workdir: Path | None = None,
) -> dramatiq.Actor[[dict[str, Any]], None]:
    """render_audio: the job's soundtrack, once (CPU work: it runs beside the stitcher)."""

    def render_audio(payload: dict[str, Any]) -> None:
        job_id = payload.get("job_id") if isinstance(payload, dict) else None
        try:
            command = from_wire(payload)
            if not isinstance(command, RenderAudio):
                raise DecodeError(f"expected render_audio, got {type(command).__name__}")
            render_job_audio(store, command.job_id, bus.send, workdir=workdir)
        except PERMANENT_ERRORS as error:
            if isinstance(job_id, str):
                bus.send(JobFailed(job_id, f"soundtrack: {error}", "audio"))
            raise PermanentFailure(str(error)) from error

    decorate = dramatiq.actor(
        broker=broker, actor_name=AUDIO_ACTOR, queue_name=queues.audio, **STITCH_OPTIONS
    )
    return decorate(render_audio)


def register_stitch_actor(
    broker: dramatiq.Broker,
    queues: Queues,
    store: ObjectStore,
    bus: Bus,
    workdir: Path | None = None,
) -> dramatiq.Actor[[dict[str, Any]], None]:
    def stitch_video(payload: dict[str, Any]) -> None:
        job_id = payload.get("job_id") if isinstance(payload, dict) else None
        try:
            command = from_wire(payload)
            if not isinstance(command, StitchVideo):
                raise DecodeError(f"expected stitch_video, got {type(command).__name__}")
            with tempfile.TemporaryDirectory(prefix="framefarm-stitch-", dir=workdir) as scratch:
                stitch_job(store, command.job_id, bus.send, workdir=Path(scratch))
        except PERMANENT_ERRORS as error:
            if isinstance(job_id, str):
                bus.send(JobFailed(job_id, str(error), "stitcher"))
            raise PermanentFailure(str(error)) from error

    decorate = dramatiq.actor(
        broker=broker, actor_name=STITCH_ACTOR, queue_name=queues.stitch, **STITCH_OPTIONS
    )
    return decorate(stitch_video)
