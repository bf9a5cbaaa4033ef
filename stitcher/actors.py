"""The CPU-side actors: render_audio (the soundtrack), encode_segment (a segment that crosses a
chunk boundary, from the stored frames) and stitch_video (the join, or GIF's one pass);
permanent errors fail the job at once."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import dramatiq

from common.adapters.bus import (
    AUDIO_ACTOR,
    ENCODE_ACTOR,
    STITCH_ACTOR,
    Bus,
    Queues,
    RetryPolicy,
    run_command,
)
from common.adapters.storage import ObjectStore
from common.jobs.messages import EncodeSegment, Message, RenderAudio, StitchVideo
from common.jobs.spec import SpecCache
from stitcher.encode import encode_segment
from stitcher.soundtrack import render_job_audio
from stitcher.stitch import stitch_job

STITCH_OPTIONS: dict[str, Any] = {
    **RetryPolicy().actor_options(),
    "time_limit": 60 * 60 * 1000,  # ffmpeg has its own, tighter timeout; this is a backstop
}
C = TypeVar("C", bound=Message)


def register_cpu_actors(
    broker: dramatiq.Broker,
    queues: Queues,
    store: ObjectStore,
    bus: Bus,
    specs: SpecCache,
    *,
    worker: str,
    workdir: Path | None = None,
    retry: RetryPolicy | None = None,
) -> None:
    """The three actors on ``broker``; a worker consumes whichever of their queues it is given."""
    options = {**STITCH_OPTIONS, **(retry or RetryPolicy()).actor_options()}

    def audio(command: RenderAudio) -> None:
        render_job_audio(store, command.job_id, bus.send, workdir=workdir, specs=specs)

    def encode(command: EncodeSegment) -> None:
        encode_segment(store, command, bus.send, worker=worker, specs=specs, workdir=workdir)

    def stitch(command: StitchVideo) -> None:
        with tempfile.TemporaryDirectory(prefix="framefarm-stitch-", dir=workdir) as scratch:
            stitch_job(store, command.job_id, bus.send, workdir=Path(scratch), specs=specs)

    _register(broker, AUDIO_ACTOR, queues.audio, RenderAudio, audio, bus, "soundtrack", options)
    _register(broker, ENCODE_ACTOR, queues.encode, EncodeSegment, encode, bus, "encoder", options)
    _register(broker, STITCH_ACTOR, queues.stitch, StitchVideo, stitch, bus, "stitcher", options)


def _register(
    broker: dramatiq.Broker,
    name: str,
    queue: str,
    expected: type[C],
    run: Callable[[C], object],
    bus: Bus,
    component: str,
    options: dict[str, Any],
) -> None:
    def actor(payload: dict[str, Any]) -> None:
        run_command(payload, expected, run, bus=bus, component=component)

    actor.__name__ = name
    dramatiq.actor(broker=broker, actor_name=name, queue_name=queue, **options)(actor)
