"""The render_chunk actor: decode the command, render the chunk, turn permanent errors into a
failed job (no retry) and let transient ones retry with backoff."""

from __future__ import annotations

from typing import Any

import dramatiq

from common.broker import RENDER_ACTOR, Bus, Queues
from common.errors import InvalidInput, PermanentFailure, RenderError
from common.jobspec import SpecError
from common.messages import DecodeError, JobFailed, RenderChunk, from_wire
from common.storage import ObjectNotFound
from farm_worker.chunk import ChunkError, ChunkRenderer

PERMANENT_ERRORS = (DecodeError, SpecError, ChunkError, InvalidInput, RenderError, ObjectNotFound)
"""Retrying cannot help: the spec, the message or the scene is wrong (or the spec is gone)."""

RENDER_OPTIONS: dict[str, Any] = {
    "max_retries": 3,
    "min_backoff": 1_000,  # ms
    "max_backoff": 15_000,
    "time_limit": 20 * 60 * 1000,  # well under RabbitMQ's 30-minute consumer timeout
    "throws": (PermanentFailure,),
}


def register_render_actor(
    broker: dramatiq.Broker, queues: Queues, chunks: ChunkRenderer, bus: Bus
) -> dramatiq.Actor[[dict[str, Any]], None]:
    def render_chunk(payload: dict[str, Any]) -> None:
        job_id = payload.get("job_id") if isinstance(payload, dict) else None
        try:
            command = from_wire(payload)
            if not isinstance(command, RenderChunk):
                raise DecodeError(f"expected render_chunk, got {type(command).__name__}")
            chunks.render(command)
        except PERMANENT_ERRORS as error:
            if isinstance(job_id, str):
                chunk = payload.get("chunk_index")
                bus.send(
                    JobFailed(
                        job_id, str(error), "worker", chunk if isinstance(chunk, int) else None
                    )
                )
            raise PermanentFailure(str(error)) from error

    decorate = dramatiq.actor(
        broker=broker, actor_name=RENDER_ACTOR, queue_name=queues.render, **RENDER_OPTIONS
    )
    return decorate(render_chunk)
