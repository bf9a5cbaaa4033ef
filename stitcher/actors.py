"""The CPU-side actors: stitch_video (frames into the video) and render_audio (the soundtrack);
permanent errors fail the job at once."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import dramatiq

from common.adapters.bus import AUDIO_ACTOR, STITCH_ACTOR, Bus, Queues, run_command
from common.adapters.storage import ObjectStore
from common.errors import PermanentFailure
from common.jobs.messages import RenderAudio, StitchVideo
from common.jobs.spec import SpecCache
from stitcher.soundtrack import render_job_audio
from stitcher.stitch import stitch_job

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
    specs: SpecCache,
    workdir: Path | None = None,
) -> dramatiq.Actor[[dict[str, Any]], None]:
    """render_audio: the job's soundtrack, once (CPU work: it runs beside the stitcher)."""

    def run(command: RenderAudio) -> None:
        render_job_audio(store, command.job_id, bus.send, workdir=workdir, specs=specs)

    def render_audio(payload: dict[str, Any]) -> None:
        run_command(payload, RenderAudio, run, bus=bus, component="soundtrack")

    decorate = dramatiq.actor(
        broker=broker, actor_name=AUDIO_ACTOR, queue_name=queues.audio, **STITCH_OPTIONS
    )
    return decorate(render_audio)


def register_stitch_actor(
    broker: dramatiq.Broker,
    queues: Queues,
    store: ObjectStore,
    bus: Bus,
    specs: SpecCache,
    workdir: Path | None = None,
) -> dramatiq.Actor[[dict[str, Any]], None]:
    """stitch_video: the frames (and soundtrack) into the job's video."""

    def run(command: StitchVideo) -> None:
        with tempfile.TemporaryDirectory(prefix="framefarm-stitch-", dir=workdir) as scratch:
            stitch_job(store, command.job_id, bus.send, workdir=Path(scratch), specs=specs)

    def stitch_video(payload: dict[str, Any]) -> None:
        run_command(payload, StitchVideo, run, bus=bus, component="stitcher")

    decorate = dramatiq.actor(
        broker=broker, actor_name=STITCH_ACTOR, queue_name=queues.stitch, **STITCH_OPTIONS
    )
    return decorate(stitch_video)
